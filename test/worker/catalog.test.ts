import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { config } from "../../src/config.ts";
import { shardOf } from "../../src/domain/catalog-shard.ts";
import { TEST_EVENT_HISTORY } from "../support/constants.ts";
import {
  allocationJson,
  call,
  catalogFor,
  createAllocation,
  expectMeta,
  idsWithPrefix,
  indexOf,
  newAllocId,
  objectFor,
  postEvents,
  TOKEN,
  write,
} from "../support/worker.ts";

const SHARDS = config(env).catalogShards;
const slotOf = (id: string) => ({ shard: shardOf(id.replaceAll("-", ""), SHARDS), shards: SHARDS });
/** The catalog (shard) that holds `id`; shard 0 when no id is given. */
const catalog = (id?: string, region = "global") => catalogFor(region, id ? slotOf(id).shard : 0);
/** Where a client following every change starts its stream: the region list's index + 1. */
async function streamStart(): Promise<number> {
  return indexOf(await call("/v1/allocations?per_page=1")) + 1;
}

async function list(query: string): Promise<{ r: Response; body: Array<Record<string, unknown>> }> {
  const r = await call(`/v1/allocations?${query}`);
  expect(r.status).toBe(200);
  return { r, body: (await r.json()) as Array<Record<string, unknown>> };
}

/** Reads NDJSON batches from an event stream until `enough` says so (bounded by a deadline). */
async function readBatches(
  response: Response,
  enough: (batches: Array<Record<string, unknown>>) => boolean,
): Promise<Array<Record<string, unknown>>> {
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  const batches: Array<Record<string, unknown>> = [];
  let buffered = "";
  const deadline = Date.now() + 10_000;
  while (!enough(batches)) {
    if (Date.now() > deadline) throw new Error(`stream did not deliver enough: ${JSON.stringify(batches)}`);
    const { done, value } = await reader.read();
    if (done) break;
    buffered += decoder.decode(value, { stream: true });
    let newline = buffered.indexOf("\n");
    while (newline >= 0) {
      batches.push(JSON.parse(buffered.slice(0, newline)) as Record<string, unknown>);
      buffered = buffered.slice(newline + 1);
      newline = buffered.indexOf("\n");
    }
  }
  await reader.cancel();
  return batches;
}

const eventsOf = (batches: Array<Record<string, unknown>>) => batches.filter((b) => "Index" in b);

describe("GET /v1/allocations", () => {
  it("a prefix longer than an ID matches nothing and never reaches SQLite's LIKE limit", async () => {
    const { id } = await createAllocation();
    const hex = id.replaceAll("-", "");
    const full = await call(`/v1/allocations?prefix=${id}`, { headers: { "X-Nomad-Token": TOKEN } });
    expect(((await full.json()) as { ID: string }[]).map((a) => a.ID)).toEqual([id]);
    for (const prefix of [`${hex}0`, `${hex}${"a".repeat(30)}`, "f".repeat(200)]) {
      const r = await call(`/v1/allocations?prefix=${prefix}`, { headers: { "X-Nomad-Token": TOKEN } });
      expect([r.status, await r.text()]).toEqual([200, "[]"]);
      expectMeta(r);
    }
  });

  it("answers [] (never null) with the meta headers when nothing matches", async () => {
    const { r, body } = await list(`prefix=${crypto.randomUUID().slice(0, 12)}`);
    expect(body).toEqual([]);
    expectMeta(r);
  });

  it("lists AllocListStubs in ascending ID order with Nomad's fields, keys sorted", async () => {
    const { prefix, ids } = idsWithPrefix(3);
    for (const id of [...ids].reverse()) await createAllocation(id);
    const text = await (await call(`/v1/allocations?prefix=${prefix}`)).text();
    const body = JSON.parse(text) as Array<Record<string, unknown>>;
    expect(body.map((s) => s.ID)).toEqual(ids);
    expect(Object.keys(body[0] as object)).toEqual([
      "ClientDescription",
      "ClientStatus",
      "CreateIndex",
      "CreateTime",
      "DesiredDescription",
      "DesiredStatus",
      "EvalID",
      "ID",
      "JobID",
      "JobType",
      "JobVersion",
      "ModifyIndex",
      "ModifyTime",
      "Name",
      "Namespace",
      "NodeID",
      "TaskGroup",
      "TaskStates",
    ]);
    expect(body[0]).toMatchObject({ JobType: "service", JobVersion: 0, Namespace: "default", JobID: "example", TaskGroup: "cache" });
    expect(text).toContain('"CreateTime":1490999490011295016');
  });

  it("matches a prefix of any length, odd included, hyphens and case ignored; rejects non-hex with 400", async () => {
    const { prefix, ids } = idsWithPrefix(2);
    for (const id of ids) await createAllocation(id);
    for (const p of [prefix.slice(0, 7), prefix, `${prefix}-`, prefix.toUpperCase(), `${prefix.slice(0, 4)}-${prefix.slice(4)}`]) {
      const { body } = await list(`prefix=${p}`);
      expect(body.map((s) => s.ID)).toEqual(ids);
    }
    expect((await list(`prefix=${(ids[0] as string).replaceAll("-", "")}`)).body.map((s) => s.ID)).toEqual([ids[0]]);
    const bad = await call("/v1/allocations?prefix=xyz");
    expect(bad.status).toBe(400);
    expect(await bad.text()).toBe('Invalid prefix "xyz": an allocation ID prefix has only hexadecimal digits and hyphens');
  });

  it("paginates with per_page and next_token, announcing X-Nomad-NextToken", async () => {
    const { prefix, ids } = idsWithPrefix(5);
    for (const id of ids) await createAllocation(id);
    const seen: unknown[] = [];
    let token = "";
    for (let page = 0; page < 5; page++) {
      const { r, body } = await list(`prefix=${prefix}&per_page=2${token ? `&next_token=${token}` : ""}`);
      seen.push(...body.map((s) => s.ID));
      token = r.headers.get("X-Nomad-NextToken") ?? "";
      if (!token) break;
      expect(token).toBe(ids[seen.length]);
    }
    expect(seen).toEqual(ids);
    // Nomad's paginator with a negative size: an empty page whose next token is the first row.
    const negative = await list(`prefix=${prefix}&per_page=-1`);
    expect(negative.body).toEqual([]);
    expect(negative.r.headers.get("X-Nomad-NextToken")).toBe(ids[0]);
  });

  it("has a region-wide index that strictly increases on every change and is >= every ModifyIndex", async () => {
    const indexes: number[] = [];
    // The whole region (every shard), one item per page.
    const current = async () => indexOf(await call("/v1/allocations?per_page=1"));
    indexes.push(await current());
    const { id, index } = await createAllocation();
    indexes.push(await current());
    expect(indexes.at(-1)).toBeGreaterThanOrEqual(index);
    await write("PUT", `/v1/allocation/${id}`, allocationJson(id, { DesiredStatus: '"stop"' }));
    indexes.push(await current());
    await postEvents(id, '{"Task":"redis","Event":{"Type":"Received"}}');
    indexes.push(await current());
    await write("DELETE", `/v1/allocation/${id}`);
    indexes.push(await current());
    for (let i = 1; i < indexes.length; i++) expect(indexes[i]).toBeGreaterThan(indexes[i - 1] as number);
  });

  it("reflects an acknowledged write at once: created, updated, deleted", async () => {
    const { prefix, ids } = idsWithPrefix(1);
    const id = ids[0] as string;
    await createAllocation(id);
    expect((await list(`prefix=${prefix}`)).body.map((s) => s.ID)).toEqual([id]);
    await postEvents(id, '{"Task":"redis","Event":{"Type":"Started"}}');
    expect((await list(`prefix=${prefix}`)).body[0]?.ClientStatus).toBe("running");
    await write("DELETE", `/v1/allocation/${id}`);
    expect((await list(`prefix=${prefix}`)).body).toEqual([]);
  });

  it("blocks on the region index and wakes on a change to any allocation of the region", async () => {
    const r = await call("/v1/allocations?per_page=1");
    const index = indexOf(r);
    const pending = call(`/v1/allocations?index=${index}&wait=30s&per_page=1`);
    const deadline = Date.now() + 5000;
    while ((await catalog().stats()).waiters < 1 && Date.now() < deadline) await new Promise((w) => setTimeout(w, 5));
    const { index: written } = await createAllocation();
    const woken = await pending;
    expect(indexOf(woken)).toBeGreaterThanOrEqual(written);
    expect(indexOf(woken)).toBeGreaterThan(index);
    const timedOut = await call(`/v1/allocations?index=${indexOf(woken)}&wait=200ms&per_page=1`);
    expect(indexOf(timedOut)).toBe(indexOf(woken));
    expect((await call("/v1/allocations?index=abc")).status).toBe(400);
    expect((await call("/v1/allocations?region=mars")).status).toBe(400);
    expect((await call("/v1/allocations", { method: "POST" })).status).toBe(405);
  });

  it("keeps regions apart", async () => {
    const { prefix, ids } = idsWithPrefix(1);
    await createAllocation(ids[0], "asia");
    expect((await list(`prefix=${prefix}&region=asia`)).body.map((s) => s.ID)).toEqual(ids);
    expect((await list(`prefix=${prefix}`)).body).toEqual([]);
  });

  it("delivers a change the catalog missed from the allocation's outbox, once, after a crash", async () => {
    const { prefix, ids } = idsWithPrefix(1);
    const id = ids[0] as string;
    await createAllocation(id);
    const before = (await catalog(id).stats()).index;
    // A change committed in the allocation but not yet delivered when the object went away.
    const change = { allocId: id, allocIndex: Date.now() + 60_000, kind: "delete", modifyTime: "1", allocation: "{}" };
    await runInDurableObject(objectFor(id), (_instance, state) => {
      state.storage.sql.exec(
        "INSERT INTO catalog_outbox (alloc_index, region, change) VALUES (?, 'global', ?)",
        change.allocIndex,
        JSON.stringify(change),
      );
    });
    expect(await runDurableObjectAlarm(objectFor(id))).toBe(false);
    await runInDurableObject(objectFor(id), (_instance, state) => state.storage.setAlarm(Date.now()));
    expect(await runDurableObjectAlarm(objectFor(id))).toBe(true);
    expect((await list(`prefix=${prefix}`)).body).toEqual([]);
    const after = (await catalog(id).stats()).index;
    expect(after).toBeGreaterThan(before);
    // Redelivery of the same change is ignored.
    await catalog(id).record(change as Parameters<ReturnType<typeof catalog>["record"]>[0]);
    expect((await catalog(id).stats()).index).toBe(after);
    const left = await runInDurableObject(
      objectFor(id),
      (_i, state) => state.storage.sql.exec("SELECT COUNT(*) AS n FROM catalog_outbox").one().n,
    );
    expect(left).toBe(0);
  });

  it("delivers the changes queued in an outbox in one RPC: one catalog transaction, one index each, in order", async () => {
    const { prefix, ids } = idsWithPrefix(1);
    const id = ids[0] as string;
    await createAllocation(id);
    const before = await catalog(id).stats();
    const base = Date.now() + 60_000;
    const changes = [
      { allocId: id, allocIndex: base, kind: "upsert", modifyTime: "1", allocation: allocationJson(id, { ClientStatus: '"running"' }) },
      {
        allocId: id,
        allocIndex: base + 1,
        kind: "upsert",
        modifyTime: "2",
        allocation: allocationJson(id, { ClientStatus: '"complete"' }),
      },
      { allocId: id, allocIndex: base + 2, kind: "delete", modifyTime: "3", allocation: "{}" },
    ];
    await runInDurableObject(objectFor(id), (_instance, state) => {
      for (const change of changes) {
        state.storage.sql.exec(
          "INSERT INTO catalog_outbox (alloc_index, region, change) VALUES (?, 'global', ?)",
          change.allocIndex,
          JSON.stringify(change),
        );
      }
      return state.storage.setAlarm(Date.now());
    });
    expect(await runDurableObjectAlarm(objectFor(id))).toBe(true);
    const after = await catalog(id).stats();
    expect(after.transactions - before.transactions).toBe(1);
    expect(after.recorded - before.recorded).toBe(3);
    expect(after.index - before.index).toBeGreaterThanOrEqual(3);
    expect((await list(`prefix=${prefix}`)).body).toEqual([]);
    const left = await runInDurableObject(
      objectFor(id),
      (_i, state) => state.storage.sql.exec("SELECT COUNT(*) AS n FROM catalog_outbox").one().n,
    );
    expect(left).toBe(0);
  });
});

describe("status endpoints", () => {
  it("answers leader, peers, regions and agent/self in Nomad's shapes", async () => {
    expect(await (await call("/v1/status/leader")).json()).toBe("alloc.test:4647");
    expect(await (await call("/v1/status/peers")).json()).toEqual(["alloc.test:4647"]);
    expect(await (await call("/v1/regions")).json()).toEqual(["asia", "europe", "global"]);
    expect((await call("/v1/agent/self")).status).toBe(403);
    const self = (await (await call("/v1/agent/self", { headers: { "X-Nomad-Token": TOKEN } })).json()) as {
      config: Record<string, unknown>;
      member: Record<string, unknown>;
    };
    expect(self.config).toMatchObject({ Region: "global", Datacenter: "dc1", Version: { Version: "1.1.0" } });
    expect(self.member).toMatchObject({ Status: "alive", Tags: { region: "global", dc: "dc1" } });
  });
});

describe("GET /v1/event/stream", () => {
  it("keeps the event history within EVENT_HISTORY_BYTES too: large allocations move the floor long before the count would", async () => {
    const { ids } = idsWithPrefix(5);
    const first = ids[0] as string;
    const before = await catalog(first).stats();
    const big = JSON.stringify("h".repeat(300 * 1024));
    for (const id of ids)
      expect((await write("PUT", `/v1/allocation/${id}`, allocationJson(id, { DesiredDescription: big }))).status).toBe(200);
    const after = await catalog(first).stats();
    // Five ~300 KB events exceed the 1 MiB test budget while being far fewer than TEST_EVENT_HISTORY.
    expect(ids.length).toBeLessThan(TEST_EVENT_HISTORY);
    expect(after.floor).toBeGreaterThan(Math.max(before.floor, before.index));
    const r = await call(`/v1/event/stream?index=${before.index + 1}`, { headers: { "X-Nomad-Token": TOKEN } });
    expect(r.status).toBe(410);
    await r.body?.cancel();
  });

  it("frees a stream's subscription in the catalog when the client goes, without waiting for a write", async () => {
    const cfg = config(env);
    const subscribers = async () => {
      let total = 0;
      for (let k = 0; k < cfg.catalogShards; k++) total += (await catalogFor("global", k).stats()).subscribers;
      return total;
    };
    const before = await subscribers();
    const r = await call(`/v1/event/stream?topic=Allocation:${newAllocId()}`);
    const reader = (r.body as ReadableStream<Uint8Array>).getReader();
    await reader.read(); // the opening heartbeat: the subscription exists
    expect(await subscribers()).toBeGreaterThan(before);
    await reader.cancel();
    const deadline = Date.now() + 5000;
    while ((await subscribers()) > before && Date.now() < deadline) await new Promise((done) => setTimeout(done, 20));
    expect(await subscribers()).toBe(before);
  });

  it("streams Allocation events as newline-delimited batches, filtered by topic key", async () => {
    const start = await streamStart();
    const { id } = await createAllocation();
    const other = await createAllocation();
    await postEvents(id, '{"Task":"redis","Event":{"Type":"Started"}}');
    const r = await call(`/v1/event/stream?topic=Allocation:${id}&index=${start}`);
    expect(r.status).toBe(200);
    const batches = eventsOf(await readBatches(r, (b) => eventsOf(b).length >= 2));
    const events = batches.map((b) => (b.Events as Array<Record<string, unknown>>)[0] as Record<string, unknown>);
    expect(events.map((e) => e.Key)).toEqual([id, id]);
    expect(events[0]).toMatchObject({ Topic: "Allocation", Type: "AllocationUpdated", Namespace: "default", FilterKeys: ["example", ""] });
    expect(Object.keys(events[0] as object)).toEqual(["FilterKeys", "Index", "Key", "Namespace", "Payload", "Topic", "Type"]);
    expect(
      ((events[1] as Record<string, unknown>).Payload as { Allocation: { ClientStatus: string; Job: null } }).Allocation,
    ).toMatchObject({
      ClientStatus: "running",
      Job: null,
    });
    expect(batches.every((b) => b.Index === (b.Events as Array<{ Index: number }>)[0]?.Index)).toBe(true);
    expect(events.some((e) => e.Key === other.id)).toBe(false);
  });

  it("resumes from an index with every missed change, in order, exactly once", async () => {
    const start = await streamStart();
    const { id } = await createAllocation();
    for (let i = 0; i < 3; i++) await postEvents(id, `{"Task":"redis","Event":{"Type":"Driver","DriverMessage":"m${i}"}}`);
    const all = eventsOf(
      await readBatches(await call(`/v1/event/stream?topic=Allocation:${id}&index=${start}`), (b) => eventsOf(b).length >= 4),
    );
    const indexes = all.map((b) => b.Index as number);
    expect(indexes).toEqual([...indexes].sort((a, b) => a - b));
    expect(new Set(indexes).size).toBe(4);
    // A client that saw the first two batches resumes after the second; the catalog restarts meanwhile.
    await runInDurableObject(catalog(id), (_instance, state) => state.abort("restart")).catch(() => undefined);
    const resumed = eventsOf(
      await readBatches(
        await call(`/v1/event/stream?topic=Allocation:${id}&index=${(indexes[1] as number) + 1}`),
        (b) => eventsOf(b).length >= 2,
      ),
    );
    expect(resumed.map((b) => b.Index)).toEqual(indexes.slice(2));
  });

  it("starts an index above 2^53, at int64's top, or at uint64's (index=-1) exactly: with the next change, as an index beyond the last event", async () => {
    for (const index of ["9007199254740993", "9223372036854775807", "-1"]) {
      const id = newAllocId();
      const r = await call(`/v1/event/stream?topic=Allocation:${id}&index=${index}`);
      expect(r.status).toBe(200);
      const read = readBatches(r, (b) => eventsOf(b).length >= 1);
      await new Promise((w) => setTimeout(w, 50));
      await createAllocation(id);
      const events = eventsOf(await read).map((b) => ((b.Events as Array<{ Key: string }>)[0] as { Key: string }).Key);
      expect(events).toEqual([id]);
    }
  });

  it("delivers live changes to a subscriber, and heartbeats {} at once and then on each tick", async () => {
    const from = (await catalog().stats()).index + 1;
    const r = await call(`/v1/event/stream?topic=Allocation&index=${from}`);
    const read = readBatches(r, (b) => eventsOf(b).length >= 1 && b.some((x) => !("Index" in x)));
    await new Promise((w) => setTimeout(w, 50));
    const { id } = await createAllocation();
    const batches = await read;
    expect(eventsOf(batches).map((b) => ((b.Events as Array<{ Key: string }>)[0] as { Key: string }).Key)).toContain(id);
    expect(batches.some((b) => Object.keys(b).length === 0)).toBe(true);
  });

  it("refuses a resume from below the history's floor with 410 and a clear text", async () => {
    const { id } = await createAllocation();
    for (let i = 0; i <= TEST_EVENT_HISTORY; i++) await postEvents(id, '{"Task":"redis","Event":{"Type":"Driver"}}');
    const { floor } = await catalog(id).stats();
    expect(floor).toBeGreaterThan(1);
    const r = await call("/v1/event/stream?index=1&topic=Allocation");
    expect(r.status).toBe(410);
    // With shards, the text names the floor of a shard that refused (the lowest resumable index there).
    const said =
      /^event index 1 is older than the oldest event kept \((\d+)\): list \/v1\/allocations again and stream from its X-Nomad-Index \+ 1$/.exec(
        await r.text(),
      );
    expect(said).not.toBeNull();
    if (SHARDS === 1) expect(Number(said?.[1])).toBe(floor);
    const ok = await call(`/v1/event/stream?index=${floor}&topic=Allocation:${id}`);
    expect(ok.status).toBe(200);
    await ok.body?.cancel();
  });

  it("starts at the oldest event still kept without an index, or with index=0 (Nomad replays its buffer)", async () => {
    const { id } = await createAllocation();
    await postEvents(id, '{"Task":"redis","Event":{"Type":"Started"}}');
    let ownIndex = 0;
    for (const query of [`topic=Allocation:${id}`, `topic=Allocation:${id}&index=0`]) {
      const batches = await readBatches(await call(`/v1/event/stream?${query}`), (b) => eventsOf(b).length >= 2);
      // The first line is Nomad's initial heartbeat.
      expect(batches[0]).toEqual({});
      expect(eventsOf(batches).map((b) => ((b.Events as Array<{ Key: string }>)[0] as { Key: string }).Key)).toEqual([id, id]);
      ownIndex = eventsOf(batches)[0]?.Index as number;
    }
    // Every allocation: the history from its oldest kept event, so older than this test's own.
    const oldest = await readBatches(await call("/v1/event/stream?topic=Allocation"), (b) => eventsOf(b).length >= 1);
    expect(eventsOf(oldest)[0]?.Index).toBeLessThan(ownIndex);
  });

  it("Allocation:<key> matches the event's Key or its FilterKeys (JobID, DeploymentID)", async () => {
    const job = `job-${crypto.randomUUID()}`;
    const deployment = crypto.randomUUID();
    // The documented way to follow without gaps: the list's index + 1 (it covers every shard).
    const from = indexOf(await call("/v1/allocations?per_page=1")) + 1;
    const first = newAllocId();
    const second = newAllocId();
    await write("PUT", `/v1/allocation/${first}`, allocationJson(first, { JobID: JSON.stringify(job) }));
    await write(
      "PUT",
      `/v1/allocation/${second}`,
      allocationJson(second, { JobID: JSON.stringify(job), DeploymentID: JSON.stringify(deployment) }),
    );
    await createAllocation();
    const keysOf = (batches: Array<Record<string, unknown>>) =>
      eventsOf(batches).map((b) => ((b.Events as Array<{ Key: string }>)[0] as { Key: string }).Key);
    const byJob = await readBatches(await call(`/v1/event/stream?topic=Allocation:${job}&index=${from}`), (b) => eventsOf(b).length >= 2);
    // Sorted: with a sharded catalog, two allocations' events are ordered by their shards' indexes.
    expect(keysOf(byJob).sort()).toEqual([first, second].sort());
    const events = eventsOf(byJob).map((b) => (b.Events as Array<Record<string, unknown>>)[0]);
    expect(events.find((e) => e?.Key === second)?.FilterKeys).toEqual([job, deployment]);
    const byDeployment = await readBatches(
      await call(`/v1/event/stream?topic=Allocation:${deployment}&index=${from}`),
      (b) => eventsOf(b).length >= 1,
    );
    expect(keysOf(byDeployment)).toEqual([second]);
  });

  it("keeps an index above 2^53 exact: no rounding down into the history", async () => {
    const from = indexOf(await call("/v1/allocations?per_page=1"));
    // 2^53 + 1 would round to 2^53 through a JS number; either way it is above every index here.
    const r = await call("/v1/event/stream?topic=Allocation&index=9007199254740993");
    expect(r.status).toBe(200);
    const read = readBatches(r, (b) => eventsOf(b).length >= 1);
    await new Promise((w) => setTimeout(w, 50));
    const { id } = await createAllocation();
    const batches = eventsOf(await read);
    expect(batches.every((b) => (b.Index as number) > from)).toBe(true);
    const first = (batches[0] as Record<string, unknown>).Events as Array<{ Key: string }>;
    expect(first[0]?.Key).toBe(id);
  });

  it("answers Nomad's texts for a malformed index or topic (command/agent/event_endpoint.go, v1.10.0)", async () => {
    expect(await (await call("/v1/event/stream?index=abc")).text()).toBe(
      'Unable to parse index: strconv.Atoi: parsing "abc": invalid syntax',
    );
    const bad = await call("/v1/event/stream?topic=a:b:c");
    expect(bad.status).toBe(400);
    expect(await bad.text()).toBe("Invalid topic query: error parsing topics: Invalid key value pair for topic, topic: a:b:c");
    // Parameters before the caller, as Nomad's HTTP layer parses them before its RPC checks the token.
    const unknownToken = await call("/v1/event/stream?index=x", { headers: { "X-Nomad-Token": "unknown-token" } });
    expect(unknownToken.status).toBe(400);
    await unknownToken.body?.cancel();
    // Any key is a key: one that names no allocation, job or deployment matches nothing.
    const none = await call("/v1/event/stream?topic=Allocation:nope");
    expect(none.status).toBe(200);
    await none.body?.cancel();
  });

  it("without a topic (= *) or with a topic this server does not know, needs a management token", async () => {
    for (const query of ["", "?topic=*", "?topic=Allocation&topic=Foo", "?topic=Foo", "?topic=:x"]) {
      const anonymous = await call(`/v1/event/stream${query}`);
      expect(anonymous.status).toBe(403);
      expect(await anonymous.text()).toBe("Permission denied");
      const management = await call(`/v1/event/stream${query}`, { headers: { "X-Nomad-Token": TOKEN } });
      expect(management.status).toBe(200);
      await management.body?.cancel();
    }
  });

  it("sends Cache-Control: no-cache and Vary: Accept-Encoding, as Nomad", async () => {
    const r = await call("/v1/event/stream?topic=Allocation");
    expect(r.headers.get("Cache-Control")).toBe("no-cache");
    expect(r.headers.get("Vary")).toBe("Accept-Encoding");
    expect(r.headers.get("Content-Type")).toBe("application/json");
    await r.body?.cancel();
  });
});
