/**
 * The one place that turns names into Durable Object stubs (`getByName`, with the region's location
 * hint): (region, allocation id) for an allocation, region and shard for its catalog, and the ACL
 * store. The names are object-names.ts's. Callers must have validated region and id first: no
 * object is ever addressed for a junk region or id.
 */
import type { Config } from "../config.ts";
import { shardOfAlloc } from "../domain/catalog-shard.ts";
import { ACL_STORE_NAME, allocationName, catalogName } from "./object-names.ts";

function named<T extends Rpc.DurableObjectBranded | undefined>(
  namespace: DurableObjectNamespace<T>,
  name: string,
  locationHint: DurableObjectLocationHint | undefined,
): DurableObjectStub<T> {
  return locationHint ? namespace.getByName(name, { locationHint }) : namespace.getByName(name);
}

export function allocationStub(env: Env, cfg: Config, region: string, uuid: string) {
  return named(env.ALLOCATIONS, allocationName({ region, id: uuid }), cfg.regions.get(region));
}

/** Shard `shard` of the region's catalog (of the deployment's `CATALOG_SHARDS`). */
export function catalogStub(env: Env, cfg: Config, region: string, shard = 0) {
  return named(env.CATALOGS, catalogName(region, { shard, shards: cfg.catalogShards }), cfg.regions.get(region));
}

/** The catalog shard that lists allocation `uuid` of `region`. */
export function catalogStubFor(env: Env, cfg: Config, region: string, uuid: string) {
  return catalogStub(env, cfg, region, shardOfAlloc(uuid, cfg.catalogShards));
}

export function aclStub(env: Env) {
  return env.ACL.getByName(ACL_STORE_NAME);
}
