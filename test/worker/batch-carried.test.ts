/**
 * The batch's catalog delivery (src/durable/catalog-carrier.ts): the objects answer their changes
 * and the Worker sends them to their catalog shard together; what a shard cannot record yet is
 * left to the object, whose outbox delivers in order; carried rows are confirmed by an alarm.
 */
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { config } from "../../src/config.ts";
import { shardOf } from "../../src/domain/catalog-shard.ts";
import type { CatalogChange } from "../../src/durable/contract.ts";
import type { IndexClock } from "../../src/durable/index-clock.ts";
import { allocationJson, batchPut, call, catalogFor, idsWithPrefix, newAllocId, objectFor, postBatch } from "../support/worker.ts";

const SHARDS = config(env).catalogShards;
const catalogOf = (id: string) => catalogFor("global", shardOf(id.replaceAll("-", ""), SHARDS));

const batch = postBatch;
const put = (id: string, status = "pending", source?: number, key?: string) => batchPut(id, { status, source, key });

const outboxRows = (id: string) =>
  runInDurableObject(objectFor(id), (_i, state) =>
    state.storage.sql.exec<{ alloc_index: number }>("SELECT alloc_index FROM catalog_outbox ORDER BY alloc_index").toArray(),
  );

/** The ClientStatus of each of the allocation's events in the catalog's history, in index order. */
const historyOf = (id: string) =>
  runInDurableObject(catalogOf(id), (_i, state) =>
    state.storage.sql
      .exec<{ body: string }>("SELECT body FROM event WHERE alloc_id = ? ORDER BY region_index", id)
      .toArray()
      .map((row) => (JSON.parse(row.body) as { Payload: { Allocation: { ClientStatus: string } } }).Payload.Allocation.ClientStatus),
  );

/**
 * Queues a committed change in the allocation's outbox that no catalog has: what a carried change
 * leaves behind when the Worker carrying it dies before its catalog RPC.
 */
async function strandChange(id: string, status: string): Promise<number> {
  return runInDurableObject(objectFor(id), (instance, state) => {
    const sql = state.storage.sql;
    // The object's own clock hands out the index (it can run ahead of wall time) and keeps it.
    const clock = (instance as unknown as { clock: IndexClock }).clock;
    const index = clock.next();
    const change: CatalogChange = {
      allocId: id,
      allocIndex: index,
      kind: "upsert",
      modifyTime: "1",
      allocation: allocationJson(id, { ClientStatus: JSON.stringify(status) }),
    };
    sql.exec("INSERT INTO catalog_outbox (alloc_index, region, change) VALUES (?, 'global', ?)", index, JSON.stringify(change));
    clock.store(index);
    return index;
  });
}

describe("a batch's catalog delivery", () => {
  it("a lone change is delivered by its object; changes that follow within the window go to the catalog a few per RPC", async () => {
    const { prefix, ids } = idsWithPrefix(64);
    const catalog = catalogFor("global", 0);
    const before = await catalog.stats();
    const created = await batch(ids.map((id) => put(id)));
    expect(created.every((r) => typeof r.Index === "number")).toBe(true);
    const afterCreate = await catalog.stats();
    // New allocations: each object delivers its own change (an alarm to confirm a carried one would cost more).
    if (SHARDS === 1) expect(afterCreate.recordRpcs - before.recordRpcs).toBe(64);
    // Admitted by the lease the batch took from the shard, not each by an admission of its own.
    expect(afterCreate.admissions - before.admissions).toBe(0);
    expect(afterCreate.leases - before.leases).toBeGreaterThanOrEqual(1);
    expect(afterCreate.leases - before.leases).toBeLessThanOrEqual(3);
    expect(await outboxRows(ids[0] as string)).toEqual([]);
    const replaced = await batch(ids.map((id) => put(id, "running")));
    expect(replaced.every((r) => typeof r.Index === "number")).toBe(true);
    const afterReplace = await catalog.stats();
    // Written again within the window: carried, 32 per RPC (CARRY_MAX_CHANGES) per shard.
    expect(afterReplace.recordRpcs - afterCreate.recordRpcs).toBeLessThanOrEqual(2 * SHARDS + 2);
    if (SHARDS === 1) expect(afterReplace.recorded - afterCreate.recorded).toBe(64);
    const listed = (await (await call(`/v1/allocations?prefix=${prefix}`)).json()) as Array<{ ID: string; ClientStatus: string }>;
    expect(listed.map((a) => a.ID)).toEqual(ids);
    expect(new Set(listed.map((a) => a.ClientStatus))).toEqual(new Set(["running"]));
  });

  it("keeps a carried change's outbox row until an alarm confirms the catalog has it, with one small RPC and no redelivery", async () => {
    const id = newAllocId();
    await batch([put(id)]);
    const [second] = await batch([put(id, "running")]);
    expect((await outboxRows(id)).map((r) => r.alloc_index)).toEqual([second?.Index]);
    const catalog = catalogOf(id);
    const before = await catalog.stats();
    expect(await runDurableObjectAlarm(objectFor(id))).toBe(true);
    expect(await outboxRows(id)).toEqual([]);
    const after = await catalog.stats();
    expect(after.recordRpcs).toBe(before.recordRpcs);
    expect(after.index).toBe(before.index);
    expect(await historyOf(id)).toEqual(["pending", "running"]);
  });

  it("records an allocation's changes in order: one that an undelivered earlier change precedes waits for it", async () => {
    const id = newAllocId();
    await batch([put(id, "pending")]);
    await strandChange(id, "lost");
    const catalog = catalogOf(id);
    const before = await catalog.stats();
    const [next] = await batch([put(id, "running")]);
    expect(typeof next?.Index).toBe("number");
    // The catalog refused the carried change (the stranded one was not recorded); the object then
    // delivered its outbox, stranded change first.
    expect(await historyOf(id)).toEqual(["pending", "lost", "running"]);
    expect((await catalog.stats()).recordRpcs - before.recordRpcs).toBe(2);
    const listed = (await (await call(`/v1/allocations?prefix=${id}`)).json()) as Array<{ ClientStatus: string; ModifyIndex: number }>;
    expect(listed.map((a) => [a.ClientStatus, a.ModifyIndex])).toEqual([["running", next?.Index]]);
    expect(await outboxRows(id)).toEqual([]);
  });

  it("the catalog refuses a carried change whose `after` it has not recorded, and stores nothing of it", async () => {
    const id = newAllocId();
    const catalog = catalogOf(id);
    const base = Date.now() + 60_000;
    const change = (allocIndex: number, status: string): CatalogChange => ({
      allocId: id,
      allocIndex,
      kind: "upsert",
      modifyTime: "1",
      allocation: allocationJson(id, { ClientStatus: JSON.stringify(status) }),
    });
    const before = await catalog.stats();
    expect(await catalog.recordCarried([{ ...change(base + 1, "running"), after: base }])).toEqual([false]);
    expect((await catalog.stats()).recorded).toBe(before.recorded);
    expect(await catalog.recordedIndex(id)).toBeNull();
    // Once the earlier change is recorded (in the same RPC, ahead of it), so is the carried one; a repeat is already recorded.
    expect(await catalog.recordCarried([change(base, "pending"), { ...change(base + 1, "running"), after: base }])).toEqual([true, true]);
    expect(await catalog.recordCarried([{ ...change(base + 1, "running"), after: base }])).toEqual([true]);
    expect(await catalog.recordedIndex(id)).toBe(base + 1);
    expect(await historyOf(id)).toEqual(["pending", "running"]);
  });

  it("a stale retry delivers what its object still holds before it answers: the list then reflects the state it names", async () => {
    const id = newAllocId();
    const [first] = await batch([put(id, "pending", 5)]);
    expect(first?.Stale).toBeUndefined();
    const stranded = await strandChange(id, "lost");
    const [retry] = await batch([put(id, "pending", 5)]);
    expect(retry?.Stale).toBe(true);
    const listed = (await (await call(`/v1/allocations?prefix=${id}`)).json()) as Array<{ ClientStatus: string; ModifyIndex: number }>;
    expect(listed.map((a) => a.ClientStatus)).toEqual(["lost"]);
    expect(await catalogOf(id).recordedIndex(id)).toBe(stranded);
  });

  it("a replayed retry (same IdempotencyKey) delivers what its object still holds before it answers", async () => {
    const id = newAllocId();
    const key = `replay-${crypto.randomUUID()}`;
    await batch([put(id, "pending")]);
    const [first] = await batch([put(id, "running", undefined, key)]);
    const stranded = await strandChange(id, "lost");
    const [replayed] = await batch([put(id, "running", undefined, key)]);
    expect(replayed).toEqual(first);
    const listed = (await (await call(`/v1/allocations?prefix=${id}`)).json()) as Array<{ ClientStatus: string }>;
    expect(listed.map((a) => a.ClientStatus)).toEqual(["lost"]);
    expect(await catalogOf(id).recordedIndex(id)).toBe(stranded);
  });

  it("concurrent batches over the same allocations record every change of each allocation, in index order", async () => {
    const { ids } = idsWithPrefix(6);
    await batch(ids.map((id) => put(id, "pending")));
    const statuses = ["running", "complete", "failed", "lost"];
    const answers = await Promise.all(statuses.map((status) => batch(ids.map((id) => put(id, status)))));
    for (const [n, id] of ids.entries()) {
      const order = statuses.map((status, b) => ({ status, index: answers[b]?.[n]?.Index as number })).sort((x, y) => x.index - y.index);
      expect(await historyOf(id)).toEqual(["pending", ...order.map((o) => o.status)]);
      const read = (await (await call(`/v1/allocation/${id}`)).json()) as { ClientStatus: string };
      expect(read.ClientStatus).toBe(order.at(-1)?.status);
    }
  });
});
