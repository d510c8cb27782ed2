/**
 * The one place that turns names into Durable Object stubs: (region, allocation id) for an
 * allocation, region for its catalog, and the ACL store. Callers must have validated both first: no object is ever
 * addressed for a junk region or id.
 */
import type { Config } from "../config.ts";
import { shardOf } from "../domain/catalog-shard.ts";

export function allocationStub(env: Env, cfg: Config, region: string, uuid: string) {
  const namespace = env.ALLOCATIONS;
  const id = namespace.idFromName(`${region}/${uuid}`);
  const locationHint = cfg.regions.get(region);
  return locationHint ? namespace.get(id, { locationHint }) : namespace.get(id);
}

/**
 * Shard `shard` of the region's catalog. With one shard (the default) it is `catalog/<region>`, the
 * name an unsharded deployment always had; with K it is `catalog/<region>/<k>-of-<K>`.
 */
export function catalogStub(env: Env, cfg: Config, region: string, shard = 0) {
  const namespace = env.CATALOGS;
  const shards = cfg.catalogShards;
  const id = namespace.idFromName(shards <= 1 ? `catalog/${region}` : `catalog/${region}/${shard}-of-${shards}`);
  const locationHint = cfg.regions.get(region);
  return locationHint ? namespace.get(id, { locationHint }) : namespace.get(id);
}

/** The catalog shard that lists allocation `uuid` of `region`. */
export function catalogStubFor(env: Env, cfg: Config, region: string, uuid: string) {
  return catalogStub(env, cfg, region, shardOf(uuid.replaceAll("-", ""), cfg.catalogShards));
}

/** The deployment's single ACL store (Nomad's ACLs are global, not per region). */
export function aclStub(env: Env) {
  return env.ACL.getByName("acl");
}
