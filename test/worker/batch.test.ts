import { describe, expect, it } from "vitest";
import { DEMO_TASK_EVENTS_JSON } from "../../src/demo/allocation.ts";
import { allocationJson, call, createAllocation, indexOf, newAllocId, TOKEN, write } from "../support/worker.ts";

interface Result {
  ID: string;
  Index?: number;
  Stale?: boolean;
  Status?: number;
  Error?: string;
}

function batch(changes: unknown[] | string, query = "", headers: Record<string, string> = { "X-Nomad-Token": TOKEN }) {
  const body =
    typeof changes === "string"
      ? changes
      : `{"Changes":[${changes.map((c) => (typeof c === "string" ? c : JSON.stringify(c))).join(",")}]}`;
  return call(`/v1/allocations/batch${query}`, { method: "POST", headers, body });
}

async function results(response: Response): Promise<Result[]> {
  expect(response.status).toBe(200);
  expect(response.headers.get("Content-Type")).toBe("application/json");
  return ((await response.json()) as { Results: Result[] }).Results;
}

/** A put change whose Allocation is the demo allocation re-keyed (raw JSON, so int64 stay exact). */
function putChange(id: string, extra: Record<string, string> = {}, overrides: Record<string, string> = {}): string {
  const fields = Object.entries(extra)
    .map(([k, v]) => `,${JSON.stringify(k)}:${JSON.stringify(v)}`)
    .join("");
  return `{"Op":"put","ID":${JSON.stringify(id)}${fields},"Allocation":${allocationJson(id, overrides)}}`;
}

describe("POST /v1/allocations/batch", () => {
  it("applies each change on its own and answers every outcome in request order", async () => {
    const created = newAllocId();
    const { id: doomed } = await createAllocation();
    const ghost = newAllocId();
    const mismatch = newAllocId();
    const out = await results(
      await batch([
        putChange(created),
        { Op: "delete", ID: doomed },
        { Op: "delete", ID: ghost },
        putChange("not-a-uuid"),
        putChange(mismatch, {}, { ID: `"${newAllocId()}"` }),
        putChange(newAllocId(), {}, { Job: '{"Priority":"high"}' }),
        { Op: "upsert", ID: ghost },
        `{"Op":"put","ID":${JSON.stringify(newAllocId())}}`,
      ]),
    );
    expect(out).toHaveLength(8);
    expect(out[0]).toEqual({ ID: created, Index: expect.any(Number) });
    expect(out[1]).toEqual({ ID: doomed, Index: expect.any(Number) });
    expect(out[2]).toEqual({ ID: ghost, Status: 404, Error: "alloc not found" });
    expect(out[3]).toEqual({ ID: "not-a-uuid", Status: 400, Error: "alloc lookup failed: index error: UUID must be 36 characters" });
    expect(out[4]).toEqual({ ID: mismatch, Status: 400, Error: `invalid field Allocation.ID: does not match the path ID ${mismatch}` });
    expect(out[5]).toMatchObject({ Status: 400, Error: "invalid field Allocation.Job.Priority: expected integer (int64), got string" });
    expect(out[6]).toEqual({ ID: ghost, Status: 400, Error: 'invalid field BatchRequest.Changes[6].Op: expected "put" or "delete"' });
    expect(out[7]).toMatchObject({ Status: 400, Error: "invalid field Allocation: expected object" });

    // The single write's texts, for the same inputs.
    const single = await write("PUT", `/v1/allocation/${mismatch}`, allocationJson(mismatch, { ID: `"${newAllocId()}"` }));
    expect(await single.text()).toBe(out[4]?.Error);

    // Read-your-writes once the batch answered: the allocation and the region's list reflect it.
    const read = await call(`/v1/allocation/${created}`);
    expect(read.status).toBe(200);
    expect(indexOf(read)).toBe(out[0]?.Index);
    expect((await call(`/v1/allocation/${doomed}`)).status).toBe(404);
    const listed = await call(`/v1/allocations?prefix=${created}`);
    expect(((await listed.json()) as Array<{ ID: string }>).map((a) => a.ID)).toEqual([created]);
    expect(indexOf(listed)).toBeGreaterThanOrEqual(out[0]?.Index as number);
    expect(await (await call(`/v1/allocations?prefix=${doomed}`)).text()).toBe("[]");
  });

  it("answers the byte shape of the contract: keys sorted, Stale only when stale", async () => {
    const seen = newAllocId();
    const fresh = newAllocId();
    const [first] = await results(await batch([putChange(seen, { SourceIndex: "3" })]));
    const r = await batch([putChange(seen, { SourceIndex: "3" }), putChange(fresh, { SourceIndex: "3" }), { Op: "delete", ID: "x" }]);
    expect(r.status).toBe(200);
    const text = await r.text();
    const index = /"ID":"[^"]+","Index":(\d+)\},\{"Error"/.exec(text)?.[1];
    expect(text).toBe(
      `{"Results":[{"ID":"${seen}","Index":${first?.Index},"Stale":true},{"ID":"${fresh}","Index":${index}},` +
        '{"Error":"alloc lookup failed: index error: UUID must be 36 characters","ID":"x","Status":400}]}',
    );
  });

  it("honours source indexes: stale puts and deletes are skipped, a tombstone is not resurrected", async () => {
    const id = newAllocId();
    const [first] = await results(await batch([putChange(id, { SourceIndex: "50" }, { Name: '"v50"' })]));
    const [stale] = await results(await batch([putChange(id, { SourceIndex: "49" }, { Name: '"v49"' })]));
    expect(stale).toEqual({ ID: id, Index: first?.Index, Stale: true });
    const [gone] = await results(await batch([{ Op: "delete", ID: id, SourceIndex: "60" }]));
    expect(gone?.Stale).toBeUndefined();
    const [late] = await results(await batch([putChange(id, { SourceIndex: "55" })]));
    expect(late).toEqual({ ID: id, Index: gone?.Index, Stale: true });
    expect((await call(`/v1/allocation/${id}`)).status).toBe(404);
    // The single write sees the same stored source index.
    const single = await call(`/v1/allocation/${id}`, {
      method: "PUT",
      headers: { "X-Nomad-Token": TOKEN, "X-Source-Index": "60" },
      body: allocationJson(id),
    });
    expect(await single.text()).toBe(`{"Index":${gone?.Index},"Stale":true}`);
    const [bad] = await results(await batch([putChange(id, { SourceIndex: "-2" })]));
    expect(bad).toEqual({ ID: id, Status: 400, Error: 'Invalid SourceIndex "-2": expected a decimal uint64' });
  });

  it("keeps task states when a put has no TaskStates, as the single PUT does", async () => {
    const { id } = await createAllocation();
    expect((await write("POST", `/v1/allocation/${id}/task-events`, DEMO_TASK_EVENTS_JSON)).status).toBe(200);
    const noStates = JSON.parse(allocationJson(id)) as Record<string, unknown>;
    delete noStates.TaskStates;
    await results(await batch([{ Op: "put", ID: id, Allocation: { ...noStates, DesiredStatus: "stop" } }]));
    const alloc = (await (await call(`/v1/allocation/${id}`)).json()) as {
      DesiredStatus: string;
      TaskStates: Record<string, { State: string }>;
    };
    expect(alloc.DesiredStatus).toBe("stop");
    expect(alloc.TaskStates.redis?.State).toBe("running");
  });

  it("replays a change retried with its IdempotencyKey and refuses the key for another change", async () => {
    const id = newAllocId();
    const change = putChange(id, { IdempotencyKey: "load-1" });
    const [first] = await results(await batch([change]));
    const [again] = await results(await batch([change]));
    expect(again).toEqual(first);
    expect(indexOf(await call(`/v1/allocation/${id}`))).toBe(first?.Index);
    const [reused] = await results(await batch([putChange(id, { IdempotencyKey: "load-1" }, { Name: '"other"' })]));
    expect(reused).toEqual({ ID: id, Status: 422, Error: "Idempotency-Key was already used for a different request" });
    const [badKey] = await results(await batch([putChange(id, { IdempotencyKey: "has space" })]));
    expect(badKey).toMatchObject({ Status: 400, Error: "Invalid Idempotency-Key: 1 to 255 printable ASCII characters, no spaces" });
  });

  it("a malformed envelope is a 400 for the whole request and writes nothing", async () => {
    const id = newAllocId();
    for (const [body, text] of [
      ["[]", "invalid field BatchRequest: expected object"],
      ['{"Changes":{}}', "invalid field BatchRequest.Changes: expected array"],
      [`{"Changes":[${putChange(id)},{"Op":"put"}]}`, "invalid field BatchRequest.Changes[1].ID: expected string"],
      [`{"Changes":[${putChange(id)}`, "failed to decode body: "],
    ] as const) {
      const r = await batch(body);
      expect(r.status).toBe(400);
      const answer = await r.text();
      if (text.endsWith(": ")) expect(answer.startsWith(text)).toBe(true);
      else expect(answer).toBe(text);
    }
    const many = await batch(Array.from({ length: 501 }, () => ({ Op: "delete", ID: id })));
    expect(many.status).toBe(400);
    expect((await call(`/v1/allocation/${id}`)).status).toBe(404);
    const keyed = await batch([putChange(id)], "", { "X-Nomad-Token": TOKEN, "Idempotency-Key": "k" });
    expect(keyed.status).toBe(400);
    expect(await keyed.text()).toBe("Idempotency-Key is not taken by a batch: give each change its own IdempotencyKey");
    expect((await batch([putChange(id)], "?region=mars")).status).toBe(400);
    expect((await call(`/v1/allocation/${id}`)).status).toBe(404);
  });

  it("needs node:write, and takes only POST", async () => {
    const id = newAllocId();
    const anonymous = await batch([putChange(id)], "", {});
    expect(anonymous.status).toBe(403);
    expect(await anonymous.text()).toBe("Permission denied");
    const get = await call("/v1/allocations/batch");
    expect(get.status).toBe(405);
    expect((await call(`/v1/allocation/${id}`)).status).toBe(404);
  });

  it("writes into the region named by ?region", async () => {
    const id = newAllocId();
    await results(await batch([putChange(id)], "?region=europe"));
    expect((await call(`/v1/allocation/${id}?region=europe`)).status).toBe(200);
    expect((await call(`/v1/allocation/${id}`)).status).toBe(404);
  });

  it("applies a full batch of 200 changes, every one listed afterwards", async () => {
    const prefix = crypto.randomUUID().slice(0, 8);
    const ids = Array.from({ length: 200 }, () => `${prefix}${crypto.randomUUID().slice(8)}`).sort();
    const out = await results(await batch(ids.map((id, i) => putChange(id, { SourceIndex: String(i + 1) }))));
    expect(out.map((r) => r.ID)).toEqual(ids);
    expect(out.every((r) => typeof r.Index === "number" && r.Stale === undefined)).toBe(true);
    const listed = (await (await call(`/v1/allocations?prefix=${prefix}`)).json()) as Array<{ ID: string }>;
    expect(listed.map((a) => a.ID)).toEqual(ids);
  });

  it("applies the changes of one allocation in request order, whatever the spelling of its ID", async () => {
    // 16 allocations, each put, put, delete, put (the last with its ID in upper case), interleaved
    // so that they share the lanes: in parallel across allocations, one allocation's changes in turn.
    const ids = Array.from({ length: 16 }, () => newAllocId());
    const steps = ["first", "second", "delete", "last"] as const;
    const changes = steps.flatMap((step) =>
      ids.map((id) =>
        step === "delete"
          ? { Op: "delete", ID: id }
          : putChange(step === "last" ? id.toUpperCase() : id, {}, { DesiredDescription: JSON.stringify(step) }),
      ),
    );
    const out = await results(await batch(changes));
    for (const [n, id] of ids.entries()) {
      const mine = steps.map((_, s) => out[s * ids.length + n] as Result);
      expect(mine.map((r) => r.Status)).toEqual([undefined, undefined, undefined, undefined]);
      const indexes = mine.map((r) => r.Index as number);
      expect(indexes).toEqual([...indexes].sort((a, b) => a - b));
      expect(new Set(indexes).size).toBe(4);
      const read = await call(`/v1/allocation/${id}`);
      expect(read.status).toBe(200);
      expect(((await read.json()) as { DesiredDescription: string }).DesiredDescription).toBe("last");
      expect(indexOf(read)).toBe(indexes[3]);
    }
    // A put then a delete leaves the allocation deleted, in the list as well.
    const gone = newAllocId();
    const pair = await results(await batch([putChange(gone), { Op: "delete", ID: gone }]));
    expect((pair[1] as Result).Index).toBeGreaterThan((pair[0] as Result).Index as number);
    expect((await call(`/v1/allocation/${gone}`)).status).toBe(404);
    expect(await (await call(`/v1/allocations?prefix=${gone}`)).text()).toBe("[]");
  });
});
