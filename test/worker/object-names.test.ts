import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { config } from "../../src/config.ts";
import { shardOf } from "../../src/domain/catalog-shard.ts";
import { allocationOfName, catalogName, shardOfName } from "../../src/durable/object-names.ts";
import { aclStub } from "../../src/durable/stub.ts";
import { call, catalogFor, createAllocation, newAllocId, objectFor, postEvents, write } from "../support/worker.ts";

const SHARDS = config(env).catalogShards;

describe("object names", () => {
  it("addresses every object by the name it always had, so stored state keeps its identity", async () => {
    const id = newAllocId();
    // getByName(name) is the object idFromName(name) always named: the same id, the same storage.
    expect(objectFor(id, "europe").id.equals(env.ALLOCATIONS.idFromName(`europe/${id}`))).toBe(true);
    const catalog = SHARDS === 1 ? "catalog/asia" : `catalog/asia/0-of-${SHARDS}`;
    expect(catalogFor("asia").id.equals(env.CATALOGS.idFromName(catalog))).toBe(true);
    expect(aclStub(env).id.equals(env.ACL.idFromName("acl"))).toBe(true);
    expect(catalogName("global", { shard: 3, shards: 4 })).toBe("catalog/global/3-of-4");
    expect(catalogName("global", { shard: 0, shards: 1 })).toBe("catalog/global");
  });

  it("gives each object its own name in ctx.id.name, and the allocation acts on the one its name says", async () => {
    const id = newAllocId();
    await createAllocation(id, "europe");
    const seen = await runInDurableObject(objectFor(id, "europe"), (_instance, state) => ({
      name: state.id.name,
      stored: state.storage.sql.exec("SELECT id, region FROM allocation").one(),
    }));
    expect(seen.name).toBe(`europe/${id}`);
    expect(allocationOfName(seen.name as string)).toEqual({ region: "europe", id });
    // What the object stores and reports comes from its name (no RPC carries it any more).
    expect(seen.stored).toEqual({ id, region: "europe" });
    expect((await postEvents(id, '{"Task":"redis","Event":{"Type":"Started"}}', "europe")).status).toBe(200);
    const listed = (await (await call(`/v1/allocations?region=europe&prefix=${id.slice(0, 8)}`)).json()) as Array<{ ID: string }>;
    expect(listed.map((stub) => stub.ID)).toContain(id);
    const logs = await call(`/v1/client/fs/logs/${id}?task=nope&type=stdout&region=europe`);
    expect(logs.status).toBe(400);
    expect(await logs.text()).toBe('unknown task name "nope"');
    expect((await write("DELETE", `/v1/allocation/${id}?region=europe`)).status).toBe(200);
  });

  it("lets each catalog shard read which shard it is from its name", async () => {
    const shard = SHARDS - 1;
    const name = await runInDurableObject(catalogFor("global", shard), (_instance, state) => state.id.name);
    expect(name).toBe(SHARDS === 1 ? "catalog/global" : `catalog/global/${shard}-of-${SHARDS}`);
    expect(shardOfName(name as string)).toEqual({ shard, shards: SHARDS });
    // A change recorded there takes an index of that shard (≡ k mod K), as the name says.
    let id = newAllocId();
    while (shardOf(id.replaceAll("-", ""), SHARDS) !== shard) id = newAllocId();
    await createAllocation(id);
    const index = await runInDurableObject(
      catalogFor("global", shard),
      (_instance, state) =>
        state.storage.sql.exec<{ alloc_index: number }>("SELECT alloc_index FROM alloc_stub WHERE id = ?", id).one().alloc_index,
    );
    const recorded = await runInDurableObject(
      catalogFor("global", shard),
      (_instance, state) =>
        state.storage.sql.exec<{ region_index: number }>("SELECT MAX(region_index) AS region_index FROM event WHERE alloc_id = ?", id).one()
          .region_index,
    );
    expect(recorded).toBeGreaterThanOrEqual(index);
    expect(recorded % SHARDS).toBe(shard);
  });
});
