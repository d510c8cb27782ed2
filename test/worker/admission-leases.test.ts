/**
 * The Worker isolate's admission leases (src/durable/admission-leases.ts): concurrent single
 * writes to a shard share its lease, as a batch's creates do, instead of each new allocation's
 * object asking its own admission; a lone write asks no lease. Each test file runs in an isolate
 * of its own, so this file starts with no lease held; each test uses a region of its own or an
 * instance of its own.
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { config } from "../../src/config.ts";
import { shardOfAlloc } from "../../src/domain/catalog-shard.ts";
import { AdmissionLeases } from "../../src/durable/admission-leases.ts";
import { TEST_ADMISSION_LEASE_MS } from "../support/constants.ts";
import { allocationJson, catalogFor, newAllocId, write } from "../support/worker.ts";

const cfg = config(env);
const shardStats = (region: string, id: string) => catalogFor(region, shardOfAlloc(id, cfg.catalogShards)).stats();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Ids of one catalog shard, so their creates share its lease whatever the shard count. */
function idsOfOneShard(count: number): string[] {
  const first = newAllocId();
  const shard = shardOfAlloc(first, cfg.catalogShards);
  const ids = [first];
  while (ids.length < count) {
    const id = newAllocId();
    if (shardOfAlloc(id, cfg.catalogShards) === shard) ids.push(id);
  }
  return ids;
}

async function createIn(region: string, id: string): Promise<number> {
  const response = await write("PUT", `/v1/allocation/${id}?region=${region}`, allocationJson(id));
  expect(response.status).toBe(200);
  return ((await response.json()) as { Index: number }).Index;
}

describe("admission leases of single writes", () => {
  it("a lone create takes no lease: its object asks its own admission", async () => {
    const [id] = idsOfOneShard(1) as [string];
    const before = await shardStats("europe", id);
    await createIn("europe", id);
    const after = await shardStats("europe", id);
    expect(after.leases - before.leases).toBe(0);
    expect(after.admissions - before.admissions).toBe(1);
  });

  it("concurrent creates share one lease; a later lone create uses it while it is usable, then asks its own admission", async () => {
    const ids = idsOfOneShard(18);
    const [late, afterSpentId, ...together] = ids as [string, string, ...string[]];
    const before = await shardStats("asia", late);
    const indexes = await Promise.all(together.map((id) => createIn("asia", id)));
    const afterTogether = await shardStats("asia", late);
    // One lease for all; only a write that reached the Worker alone before the others may ask its own.
    expect(afterTogether.leases - before.leases).toBe(1);
    expect(afterTogether.admissions - before.admissions).toBeLessThanOrEqual(1);
    expect(new Set(indexes).size).toBe(together.length);
    // Every create is listed, as after any acknowledged write.
    const listed = (await (await write("GET", "/v1/allocations?region=asia")).json()) as Array<{ ID: string }>;
    expect(listed.map((a) => a.ID)).toEqual(expect.arrayContaining(together));
    // The lease is still usable: a lone create carries it and asks nothing.
    await createIn("asia", late);
    const afterLate = await shardStats("asia", late);
    expect(afterLate.leases - afterTogether.leases).toBe(0);
    expect(afterLate.admissions - afterTogether.admissions).toBe(0);
    // Once it is spent, a lone create neither renews it nor holds off collection: it asks its own.
    await sleep(TEST_ADMISSION_LEASE_MS);
    await createIn("asia", afterSpentId);
    const afterSpent = await shardStats("asia", late);
    expect(afterSpent.leases - afterLate.leases).toBe(0);
    expect(afterSpent.admissions - afterLate.admissions).toBe(1);
  });

  it("a write that fails leaves no write counted in flight", async () => {
    const leases = new AdmissionLeases();
    const [first, second] = idsOfOneShard(2) as [string, string];
    const before = await shardStats("global", first);
    await expect(
      leases.forSingle(env, cfg, "global", first, async (lease) => {
        expect(lease).toBeUndefined();
        throw new Error("refused");
      }),
    ).rejects.toThrow("refused");
    // Alone again: no lease is asked for the next write.
    const seen = await leases.forSingle(env, cfg, "global", second, async (lease) => lease);
    expect(seen).toBeUndefined();
    expect((await shardStats("global", first)).leases - before.leases).toBe(0);
  });

  it("a write does not wait more than 2 s for a question another write asked: it asks its own", async () => {
    const leases = new AdmissionLeases();
    const [id] = idsOfOneShard(1) as [string];
    const stub = catalogFor("europe", shardOfAlloc(id, cfg.catalogShards));
    const before = await stub.stats();
    // The shard takes no call for 3 s, so the first question stays pending past 2 s.
    const busy = runInDurableObject(stub, (_instance, state) => state.blockConcurrencyWhile(() => sleep(3000)));
    await sleep(50);
    const started = Date.now();
    const writes = await Promise.all(
      [0, 1, 2].map(() => leases.forSingle(env, cfg, "europe", id, async (lease) => ({ lease, after: Date.now() - started }))),
    );
    await busy;
    // The first went alone, without; the second asked; the third waited 2 s for that answer, then asked too.
    expect(writes[0]?.lease).toBeUndefined();
    expect(writes[1]?.lease).toBeDefined();
    expect(writes[2]?.lease).toBeDefined();
    expect((await stub.stats()).leases - before.leases).toBe(2);
  });

  it("a shard that grants none is asked again only after a while; meanwhile the writes go without", async () => {
    const leases = new AdmissionLeases();
    const [id] = idsOfOneShard(1) as [string];
    const stub = catalogFor("global", shardOfAlloc(id, cfg.catalogShards));
    // Refusing a collection during a lease pauses the grants (tombstone-retention.ts).
    const granted = await stub.admissionLease();
    expect(granted).not.toBeNull();
    expect(await stub.collect({ allocId: newAllocId(), allocIndex: 1, sourceIndex: null })).toBe(false);
    const before = await stub.stats();
    const both = await Promise.all([0, 1].map(() => leases.forSingle(env, cfg, "global", id, async (lease) => lease)));
    expect(both).toEqual([undefined, undefined]);
    const asked = (await stub.stats()).leases - before.leases;
    expect(asked).toBe(1);
    // The refusal stands: concurrent writes do not ask again at once.
    await Promise.all([0, 1].map(() => leases.forSingle(env, cfg, "global", id, async (lease) => lease)));
    expect((await stub.stats()).leases - before.leases).toBe(asked);
  });
});
