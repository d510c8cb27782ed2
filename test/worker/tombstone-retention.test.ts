/**
 * Tombstones and their list rows are collected after TOMBSTONE_RETENTION (TEST_TOMBSTONE_RETENTION
 * in this project's bindings), and a collected allocation neither comes back through a late
 * conditional write nor gets an index at or below one a client saw. Alarms are run at once with
 * `runDurableObjectAlarm`; the retention is waited out in real time.
 */
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { config } from "../../src/config.ts";
import { shardOf as shardIndexOf } from "../../src/domain/catalog-shard.ts";
import { hasSchema } from "../../src/durable/migrations.ts";
import { catalogStubFor } from "../../src/durable/stub.ts";
import { TEST_TOMBSTONE_RETENTION_MS } from "../support/constants.ts";
import type { ObservedRegionCatalog } from "../support/observed-objects.ts";
import { allocationJson, batchPut, call, indexOf, newAllocId, objectFor, postBatch, TOKEN } from "../support/worker.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Source indexes for one test: `at(n)` is n above a base above every earlier test's, since the
 * region's watermark (the highest collected) is shared by the tests and a conditional create at or
 * below it is stale.
 */
let base = 0n;
function sources(): (n: number) => string {
  base += 10_000n;
  const mine = base;
  return (n) => String(mine + BigInt(n));
}

function send(method: "PUT" | "DELETE", id: string, source: string | null): Promise<Response> {
  const headers: Record<string, string> = { "X-Nomad-Token": TOKEN };
  if (source !== null) headers["X-Source-Index"] = source;
  return call(`/v1/allocation/${id}`, { method, headers, body: method === "PUT" ? allocationJson(id) : undefined });
}

/** The counters of the allocation's catalog shard (test/support/observed-objects.ts). */
const catalogStats = (id: string) => (shardOf(id) as unknown as DurableObjectStub<ObservedRegionCatalog>).stats();

async function written(response: Response): Promise<{ Index: number; Stale?: boolean }> {
  expect(response.status).toBe(200);
  return (await response.json()) as { Index: number; Stale?: boolean };
}

/** The allocation's catalog shard, as its object addresses it. */
function shardOf(id: string) {
  return catalogStubFor(env, config(env), "global", id);
}

/** The list row of `id` in its catalog shard: undefined when there is none, else whether it is deleted. */
async function listRow(id: string): Promise<{ deleted: boolean } | undefined> {
  return runInDurableObject(shardOf(id), (_instance, state) => {
    const row = state.storage.sql.exec<{ body: string | null }>("SELECT body FROM alloc_stub WHERE id = ?", id).toArray()[0];
    return row ? { deleted: row.body === null } : undefined;
  });
}

async function watermark(id: string): Promise<string | null> {
  return runInDurableObject(shardOf(id), (_instance, state) => {
    const row = state.storage.sql.exec<{ collected_source: string | null }>("SELECT collected_source FROM index_clock").toArray()[0];
    return row?.collected_source ?? null;
  });
}

/** Whether the allocation's object holds any storage at all. */
async function stored(id: string): Promise<boolean> {
  return runInDurableObject(objectFor(id), (_instance, state) => hasSchema(state.storage.sql));
}

async function listed(id: string): Promise<boolean> {
  const response = await call("/v1/allocations");
  expect(response.status).toBe(200);
  return ((await response.json()) as Array<{ ID: string }>).some((stub) => stub.ID === id);
}

/** The events of `id` in the region's history from index 1 (type and ModifyIndex), read until there are `count`. */
async function eventsOf(id: string, count: number): Promise<string[]> {
  const response = await call(`/v1/event/stream?index=1&topic=Allocation:${id}`, { headers: { "X-Nomad-Token": TOKEN } });
  expect(response.status).toBe(200);
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  const types: string[] = [];
  let buffered = "";
  const deadline = Date.now() + 10_000;
  while (types.length < count && Date.now() < deadline) {
    const { done, value } = await reader.read();
    if (done) break;
    buffered += decoder.decode(value, { stream: true });
    const lines = buffered.split("\n");
    buffered = lines.pop() as string;
    for (const line of lines.filter((l) => l !== "" && l !== "{}")) {
      const batch = JSON.parse(line) as { Events: Array<{ Type: string; Payload: { Allocation: { ModifyIndex: number } } }> };
      for (const event of batch.Events) types.push(`${event.Type}@${event.Payload.Allocation.ModifyIndex}`);
    }
  }
  await reader.cancel();
  return types;
}

/**
 * Runs the object's alarm now, if it has not fired by itself yet (the runtime fires it when due).
 * Either way the object must not be holding it any more.
 */
async function collectNow(id: string): Promise<void> {
  await runDurableObjectAlarm(objectFor(id));
  expect(await runInDurableObject(objectFor(id), (_instance, state) => state.storage.getAlarm())).toBeNull();
}

/** Deletes `id` (with `source`), waits out the retention and runs the object's alarm: answers the delete's index. */
async function deleteAndCollect(id: string, source: string | null): Promise<number> {
  const gone = await written(await send("DELETE", id, source));
  expect(await listRow(id)).toEqual({ deleted: true });
  await sleep(TEST_TOMBSTONE_RETENTION_MS + 100);
  await collectNow(id);
  return gone.Index;
}

describe("tombstone retention", () => {
  it("keeps a tombstone until its retention ends", async () => {
    const id = newAllocId();
    const at = sources();
    await written(await send("PUT", id, at(100)));
    await written(await send("DELETE", id, at(200)));
    // The alarm before the retention ends collects nothing (it only sets itself again).
    await runDurableObjectAlarm(objectFor(id));
    expect(await stored(id)).toBe(true);
    expect(await listRow(id)).toEqual({ deleted: true });
    expect((await written(await send("PUT", id, at(150)))).Stale).toBe(true);
  });

  it("then deletes the object's storage and its list row, and raises the catalog's watermark", async () => {
    const id = newAllocId();
    const at = sources();
    await written(await send("PUT", id, at(100)));
    const before = await call("/v1/allocations");
    await before.text();
    await deleteAndCollect(id, at(200));
    // Collecting is not a change: the list's index stays where the delete put it.
    const after = await call("/v1/allocations");
    await after.text();
    expect(indexOf(after)).toBeGreaterThan(indexOf(before));
    const deletedAt = indexOf(after);
    expect(await stored(id)).toBe(false);
    expect(await listRow(id)).toBeUndefined();
    expect(await watermark(id)).toBe(at(200));
    expect(await listed(id)).toBe(false);
    const read = await call(`/v1/allocation/${id}`);
    expect(read.status).toBe(404);
    await read.text();
    const list = await call("/v1/allocations");
    await list.text();
    expect(indexOf(list)).toBe(deletedAt);
  });

  it("the trade-off: a conditional create at or below the watermark is stale even for an id never written", async () => {
    const id = newAllocId();
    const at = sources();
    await written(await send("PUT", id, at(100)));
    await deleteAndCollect(id, at(200));
    // The watermark is its catalog shard's: a stranger listed by the same shard.
    const shards = config(env).catalogShards;
    let stranger = newAllocId();
    const shard = (uuid: string) => shardIndexOf(uuid.replaceAll("-", ""), shards);
    while (shard(stranger) !== shard(id)) stranger = newAllocId();
    const refused = await written(await send("PUT", stranger, at(150)));
    expect(refused.Stale).toBe(true);
    expect(await listed(stranger)).toBe(false);
    // Written without a source index (or once its source index is above the watermark), it is created.
    expect((await written(await send("PUT", stranger, null))).Stale).toBeUndefined();
    expect(await listed(stranger)).toBe(true);
  });

  it("a late conditional write at or below the watermark stays stale and stores nothing; one above creates", async () => {
    const id = newAllocId();
    const at = sources();
    const created = await written(await send("PUT", id, at(100)));
    const deleted = await deleteAndCollect(id, at(200));
    for (const late of [at(150), at(200)]) {
      const answer = await written(await send("PUT", id, late));
      expect(answer.Stale).toBe(true);
      // The answer's index never goes below one the client saw.
      expect(answer.Index).toBeGreaterThanOrEqual(deleted);
    }
    const lateDelete = await send("DELETE", id, at(180));
    expect(lateDelete.status).toBe(404);
    await lateDelete.text();
    expect(await stored(id)).toBe(false);
    expect(await listed(id)).toBe(false);
    const newer = await written(await send("PUT", id, at(201)));
    expect(newer.Stale).toBeUndefined();
    expect(newer.Index).toBeGreaterThan(deleted);
    expect(newer.Index).toBeGreaterThan(created.Index);
    expect(await listed(id)).toBe(true);
    // The history holds the create, the delete and the new create: the stale writes left no event.
    expect((await eventsOf(id, 3)).map((event) => event.replace(/@\d+$/, ""))).toEqual([
      "AllocationUpdated",
      "AllocationDeleted",
      "AllocationUpdated",
    ]);
    expect((await eventsOf(id, 3)).at(-1)).toBe(`AllocationUpdated@${newer.Index}`);
  });

  it("an unconditional PUT may create it again", async () => {
    const id = newAllocId();
    await written(await send("PUT", id, null));
    const deleted = await deleteAndCollect(id, null);
    const again = await written(await send("PUT", id, null));
    expect(again.Index).toBeGreaterThan(deleted);
    const read = await call(`/v1/allocation/${id}`);
    expect(read.status).toBe(200);
    expect(indexOf(read)).toBe(again.Index);
    await read.text();
  });

  it("a conditional delete of an absent allocation is a tombstone too, collected the same way", async () => {
    const id = newAllocId();
    const at = sources();
    const absent = await send("DELETE", id, at(300));
    expect(absent.status).toBe(404);
    await absent.text();
    expect(await stored(id)).toBe(true);
    await sleep(TEST_TOMBSTONE_RETENTION_MS + 100);
    await collectNow(id);
    expect(await stored(id)).toBe(false);
    expect(await watermark(id)).toBe(at(300));
    expect((await written(await send("PUT", id, at(300)))).Stale).toBe(true);
    expect(await stored(id)).toBe(false);
  });

  it("a created allocation's clock starts above its catalog shard's index, also after a collection", async () => {
    const id = newAllocId();
    // The shard's index far ahead of the wall clock: only the admission can lift a new object above it.
    const ahead = Date.now() + 3_600_000;
    await shardOf(id).raise(ahead, 0);
    const created = await written(await send("PUT", id, null));
    expect(created.Index).toBeGreaterThan(ahead);
    const deleted = await deleteAndCollect(id, null);
    expect(deleted).toBeGreaterThan(ahead);
    expect(await stored(id)).toBe(false);
    // A new instance, with no storage: the wall clock is an hour behind the tombstone's index.
    await runInDurableObject(objectFor(id), (_instance, state) => state.abort("restart")).catch(() => undefined);
    const again = await written(await send("PUT", id, null));
    expect(again.Index).toBeGreaterThan(deleted);
  });

  it("a tombstone whose clock row has no key (written before it was stored) is left alone", async () => {
    const id = newAllocId();
    await written(await send("PUT", id, null));
    await written(await send("DELETE", id, null));
    await runInDurableObject(objectFor(id), (_instance, state) => {
      state.storage.sql.exec("UPDATE index_clock SET alloc_id = NULL, region = NULL, tombstone_since = NULL");
    });
    await runInDurableObject(objectFor(id), (_instance, state) => state.abort("restart")).catch(() => undefined);
    await sleep(TEST_TOMBSTONE_RETENTION_MS + 100);
    await runDurableObjectAlarm(objectFor(id));
    expect(await stored(id)).toBe(true);
    expect(await listRow(id)).toEqual({ deleted: true });
  });

  it("an alarm that wakes the object without its name (as after an eviction) collects from the key stored with its clock", async () => {
    const id = newAllocId();
    const at = sources();
    await written(await send("PUT", id, at(100)));
    await written(await send("DELETE", id, at(200)));
    await runInDurableObject(objectFor(id), (_instance, state) => state.abort("evicted")).catch(() => undefined);
    // The same object, reached by its id alone: the instance made for it has no `ctx.id.name`.
    const nameless = env.ALLOCATIONS.get(env.ALLOCATIONS.idFromString(objectFor(id).id.toString()));
    expect(await runInDurableObject(nameless, (_instance, state) => state.id.name)).toBeUndefined();
    await sleep(TEST_TOMBSTONE_RETENTION_MS + 100);
    await runDurableObjectAlarm(nameless);
    expect(await runInDurableObject(nameless, (_instance, state) => hasSchema(state.storage.sql))).toBe(false);
    expect(await listRow(id)).toBeUndefined();
    expect(await watermark(id)).toBe(at(200));
  });

  it("while an admission lease a batch took holds, the shard collects no tombstone; it grants none more until the retry collects", async () => {
    const id = newAllocId();
    const at = sources();
    await written(await send("PUT", id, at(100)));
    const deleted = await written(await send("DELETE", id, at(200)));
    // A batch takes its shard's lease for its creates (even for a change that turns out stale).
    const [held] = await postBatch([batchPut(id, { source: at(150) })]);
    expect(held?.Stale).toBe(true);
    const lease = await shardOf(id).admissionLease();
    if (lease === null) throw new Error("no lease granted");
    // A shard restarted within its lease still honours it (stored with its clock).
    await runInDurableObject(shardOf(id), (_instance, state) => state.abort("restart")).catch(() => undefined);
    // The retention ends within the lease: the alarm (run by the runtime when due, or here) is refused.
    await sleep(TEST_TOMBSTONE_RETENTION_MS + 100);
    await runDurableObjectAlarm(objectFor(id));
    // The tombstone stays, and its alarm is set to try again.
    expect(await stored(id)).toBe(true);
    expect(await listRow(id)).toEqual({ deleted: true });
    expect(await runInDurableObject(objectFor(id), (_instance, state) => state.storage.getAlarm())).not.toBeNull();
    // Batches keep coming, but the refusal paused the grants: no lease renews the hold, so the retry
    // (after the lease, as the object's alarm runs it a minute later) collects.
    expect(await shardOf(id).admissionLease()).toBeNull();
    const [meanwhile] = await postBatch([batchPut(id, { source: at(160) })]);
    expect(meanwhile?.Stale).toBe(true);
    await sleep(Math.max(0, lease.until - Date.now()) + 50);
    await collectNow(id);
    expect(await stored(id)).toBe(false);
    expect(await watermark(id)).toBe(at(200));
    // Creates without a lease ask their own admission, with the watermark: the late one is stale, a newer one creates.
    const before = await catalogStats(id);
    const [late] = await postBatch([batchPut(id, { source: at(150) })]);
    expect(late?.Stale).toBe(true);
    expect(await stored(id)).toBe(false);
    const [newer] = await postBatch([batchPut(id, { source: at(201) })]);
    expect(newer?.Stale).toBeUndefined();
    expect(newer?.Index).toBeGreaterThan(deleted.Index);
    expect((await catalogStats(id)).admissions - before.admissions).toBe(2);
  });

  it("an object creates under a lease only while it is usable; past that it asks its shard itself", async () => {
    // Ahead of every shard's index (an earlier test lifts its shard's an hour ahead).
    const ahead = Date.now() + 10 * 3_600_000;
    const now = Date.now();
    const lease = (usableUntil: number, collected: string | null = null) => ({
      index: ahead,
      collected,
      until: usableUntil + 1000,
      usableUntil,
    });
    const put = (id: string, source: string | undefined, granted: ReturnType<typeof lease>) =>
      objectFor(id).put(allocationJson(id), false, undefined, source, true, granted);
    const at = sources();
    // Spent: ignored, the object's own admission is used (no shard's index is ten hours ahead).
    const spent = await put(newAllocId(), at(5), lease(now - 1, at(10)));
    expect(spent.ok && spent.stale).toBeUndefined();
    expect(spent.ok && spent.index).toBeLessThan(ahead);
    // Usable: its index lifts the clock, its watermark decides staleness.
    const stale = await put(newAllocId(), at(5), lease(now + 60_000, at(10)));
    expect(stale.ok && stale.stale).toBe(true);
    const created = await put(newAllocId(), undefined, lease(now + 60_000));
    expect(created.ok && created.index).toBeGreaterThan(ahead);
  });

  it("a tombstone re-created before its retention ends is not collected", async () => {
    const id = newAllocId();
    await written(await send("PUT", id, null));
    await written(await send("DELETE", id, null));
    const back = await written(await send("PUT", id, null));
    await sleep(TEST_TOMBSTONE_RETENTION_MS + 100);
    await runDurableObjectAlarm(objectFor(id));
    expect(await stored(id)).toBe(true);
    const read = await call(`/v1/allocation/${id}`);
    expect(read.status).toBe(200);
    expect(indexOf(read)).toBe(back.Index);
    await read.text();
    expect(await listed(id)).toBe(true);
  });
});
