import { listDurableObjectIds, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { DEMO_TASK_EVENTS_JSON } from "../../src/demo/allocation.ts";
import { CodedError, ErrorText } from "../../src/errors.ts";
import { readBody } from "../../src/http/body.ts";
import {
  allocationJson,
  call,
  createAllocation,
  expectMeta,
  indexOf,
  newAllocId,
  objectFor,
  postEvents,
  TOKEN,
  write,
} from "../support/worker.ts";

async function readText(id: string, query = ""): Promise<string> {
  return (await call(`/v1/allocation/${id}${query}`)).text();
}

describe("writes", () => {
  it("PUT creates, answers {Index} with X-Nomad-Index, and the server owns the indexes", async () => {
    const id = newAllocId();
    const body = allocationJson(id, { CreateIndex: "7", ModifyIndex: "9", AllocModifyIndex: "3" });
    const r = await write("PUT", `/v1/allocation/${id}`, body);
    expect(r.status).toBe(200);
    expect(r.headers.get("Content-Type")).toBe("application/json");
    const text = await r.text();
    const index = Number(/^\{"Index":(\d+)\}$/.exec(text)?.[1]);
    expect(r.headers.get("X-Nomad-Index")).toBe(String(index));
    const alloc = JSON.parse(await readText(id));
    expect(alloc).toMatchObject({ ID: id, CreateIndex: index, ModifyIndex: index, AllocModifyIndex: index });
  });

  it("PUT replaces, keeping CreateIndex and the task states when TaskStates is omitted", async () => {
    const { id, index } = await createAllocation();
    await write("POST", `/v1/allocation/${id}/task-events`, DEMO_TASK_EVENTS_JSON);
    const r = await write("PUT", `/v1/allocation/${id}`, allocationJson(id, { DesiredStatus: '"stop"' }));
    const next = indexOf(r);
    const alloc = JSON.parse(await readText(id));
    expect(alloc.CreateIndex).toBe(index);
    expect(alloc.ModifyIndex).toBe(next);
    expect(alloc.DesiredStatus).toBe("stop");
    expect(alloc.TaskStates.redis.State).toBe("running");
    await write("PUT", `/v1/allocation/${id}`, allocationJson(id, { TaskStates: "null" }));
    expect(JSON.parse(await readText(id)).TaskStates).toBeNull();
  });

  it("ModifyIndex strictly increases across writes, deletes and object restarts; CreateIndex <= ModifyIndex", async () => {
    const { id, index } = await createAllocation();
    const seen = [index];
    for (let i = 0; i < 3; i++) {
      seen.push(indexOf(await postEvents(id, '{"Task":"redis","Event":{"Type":"Driver"}}')));
      await runInDurableObject(objectFor(id), (_instance, state) => state.abort("restart")).catch(() => undefined);
    }
    seen.push(indexOf(await write("DELETE", `/v1/allocation/${id}`)));
    const gone = await call(`/v1/allocation/${id}`);
    expect(gone.status).toBe(404);
    expect(indexOf(gone)).toBe(seen.at(-1));
    seen.push((await createAllocation(id)).index);
    for (let i = 1; i < seen.length; i++) expect(seen[i]).toBeGreaterThan(seen[i - 1] as number);
    const alloc = JSON.parse(await readText(id));
    expect(alloc.CreateIndex).toBeLessThanOrEqual(alloc.ModifyIndex);
    expect(alloc.CreateIndex).toBe(seen.at(-1));
  });

  it("DELETE garbage-collects: 404 with an index above the allocation's last one, waiters woken", async () => {
    const { id, index } = await createAllocation();
    const r = await write("DELETE", `/v1/allocation/${id}`);
    expect(r.status).toBe(200);
    const read = await call(`/v1/allocation/${id}`);
    expect(read.status).toBe(404);
    expect(expectMeta(read)).toBeGreaterThan(index);
    const again = await write("DELETE", `/v1/allocation/${id}`);
    expect(again.status).toBe(404);
    expect(await again.text()).toBe("alloc not found");
  });

  it("keeps CreateTime exact when sent and stamps it when omitted", async () => {
    const { id } = await createAllocation();
    expect(await readText(id)).toContain('"CreateTime":1490999490011295016');
    const other = newAllocId();
    const before = BigInt(Date.now()) * 1_000_000n;
    await write("PUT", `/v1/allocation/${other}`, allocationJson(other, { CreateTime: "0" }));
    const stamped = BigInt(/"CreateTime":(\d+)/.exec(await readText(other))?.[1] ?? "0");
    expect(stamped).toBeGreaterThanOrEqual(before);
  });

  it("normalizes times to RFC3339Nano and floats to carry a decimal point, as Go writes them", async () => {
    const id = newAllocId();
    const body = allocationJson(id, {
      Metrics: '{"Scores":{"a":10,"b":1.5}}',
      TaskStates:
        '{"redis":{"State":"running","StartedAt":"2017-03-31T22:51:40.100000000Z","FinishedAt":"2017-03-31T23:51:40+00:00","LastRestart":"2017-03-31T15:51:40.5-07:00","Events":null}}',
    });
    expect((await write("PUT", `/v1/allocation/${id}`, body)).status).toBe(200);
    const text = await readText(id);
    expect(text).toContain('"Scores":{"a":10.0,"b":1.5}');
    expect(text).toContain('"StartedAt":"2017-03-31T22:51:40.1Z"');
    expect(text).toContain('"FinishedAt":"2017-03-31T23:51:40Z"');
    expect(text).toContain('"LastRestart":"2017-03-31T15:51:40.5-07:00"');
    expect(text).toContain('"Restarts":0,"StartedAt"');
  });

  it.each([
    [null, 403, "Permission denied"],
    ["wrong-token", 403, "ACL token not found"],
    ["", 403, "Permission denied"],
  ])("refuses a write with token %j: %i %j, nothing stored", async (token, status, text) => {
    const id = newAllocId();
    for (const [method, path] of [
      ["PUT", `/v1/allocation/${id}`],
      ["POST", `/v1/allocation/${id}/task-events`],
      ["DELETE", `/v1/allocation/${id}`],
    ] as const) {
      const r = await write(method, path, method === "DELETE" ? undefined : allocationJson(id), token);
      expect(r.status).toBe(status);
      expect(await r.text()).toBe(text);
    }
    expect((await call(`/v1/allocation/${id}`)).status).toBe(404);
  });

  it("accepts the token as Authorization: Bearer, never from the query string", async () => {
    const id = newAllocId();
    const bearer = await call(`/v1/allocation/${id}`, {
      method: "PUT",
      body: allocationJson(id),
      headers: { Authorization: `Bearer ${TOKEN}` },
    });
    expect(bearer.status).toBe(200);
    const query = await call(`/v1/allocation/${id}?token=${TOKEN}&X-Nomad-Token=${TOKEN}`, { method: "DELETE" });
    expect(query.status).toBe(403);
  });

  it.each([
    ["{", "failed to decode body: expected string key at offset 1"],
    ["", "failed to decode body: unexpected end of input at offset 0"],
    ["[]", "invalid field Allocation: expected object"],
    ['{"ID":"203266e5-e0d6-9486-5e05-397ed2b184af"}', "invalid field Allocation.ID: does not match the path ID"],
    ['{"Name":5}', "invalid field Allocation.Name: expected string, got number 5"],
    [
      '{"TaskStates":{"redis":{"State":"asleep"}}}',
      'invalid field Allocation.TaskStates.redis.State: "asleep" is not one of "pending", "running", "dead"',
    ],
    ['{"Job":{"TaskGroups":[{"Count":"1"}]}}', "invalid field Allocation.Job.TaskGroups[0].Count: expected integer (int64), got string"],
    ['{"CreateTime":-9223372036854775809}', "invalid field Allocation.CreateTime: -9223372036854775809 is out of range for int64"],
    [
      '{"TaskStates":{"redis":{"StartedAt":"yesterday"}}}',
      "invalid field Allocation.TaskStates.redis.StartedAt: expected an RFC 3339 time",
    ],
    ['{"Name":"a","Name":"b"}', 'failed to decode body: duplicate key "Name"'],
    [`${"[".repeat(5000)}${"]".repeat(5000)}`, "failed to decode body: nesting deeper than 64"],
  ])("rejects body %j with 400 and stores nothing", async (body, text) => {
    const id = newAllocId();
    const r = await write("PUT", `/v1/allocation/${id}`, body);
    expect(r.status).toBe(400);
    expect(await r.text()).toContain(text);
    expect((await call(`/v1/allocation/${id}`)).status).toBe(404);
  });

  it("a failed replace leaves the stored allocation byte for byte unchanged", async () => {
    const { id } = await createAllocation();
    const before = await readText(id);
    expect((await write("PUT", `/v1/allocation/${id}`, '{"Name":false}')).status).toBe(400);
    expect(await readText(id)).toBe(before);
  });

  it("answers 400, never a 500, when the body breaks off while being read", async () => {
    let sent = false;
    const broken = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (!sent) {
          sent = true;
          controller.enqueue(new TextEncoder().encode('{"ID":'));
        } else controller.error(new Error("framing"));
      },
    });
    const request = { headers: new Headers(), body: broken } as unknown as Request;
    const refusal = await readBody(request, env).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refusal).toBeInstanceOf(CodedError);
    expect([(refusal as CodedError).status, (refusal as CodedError).message]).toEqual([400, ErrorText.bodyCutOff]);
  });

  it("rejects bodies over 1 MiB with 413, declared or not", async () => {
    const id = newAllocId();
    const big = allocationJson(id, { DesiredDescription: JSON.stringify("x".repeat(1024 * 1024)) });
    const declared = await write("PUT", `/v1/allocation/${id}`, big);
    expect(declared.status).toBe(413);
    expect(await declared.text()).toBe("Request body too large");
    let sent = 0;
    const chunk = new TextEncoder().encode("x".repeat(64 * 1024));
    const endless = new ReadableStream<Uint8Array>({
      pull(controller) {
        sent += chunk.byteLength;
        if (sent > 8 * 1024 * 1024) controller.close();
        else controller.enqueue(chunk);
      },
    });
    const streamed = await call(`/v1/allocation/${id}`, {
      method: "PUT",
      body: endless,
      headers: { "X-Nomad-Token": TOKEN },
      duplex: "half",
    } as RequestInit);
    expect(streamed.status).toBe(413);
    expect(sent).toBeLessThan(4 * 1024 * 1024);
    expect((await call(`/v1/allocation/${id}`)).status).toBe(404);
  });

  it("answers malformed ids on writes with the same 400 texts, creating no object", async () => {
    const before = (await listDurableObjectIds(env.ALLOCATIONS)).length;
    const r = await write("PUT", "/v1/allocation/abcd", allocationJson(newAllocId()));
    expect(r.status).toBe(400);
    expect(await r.text()).toBe("alloc lookup failed: index error: UUID must be 36 characters");
    expect(await (await write("GET", "/v1/allocation/zz")).text()).toBe("alloc lookup failed: index error: UUID must be 36 characters");
    expect((await listDurableObjectIds(env.ALLOCATIONS)).length).toBe(before);
  });
});
