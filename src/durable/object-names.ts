/**
 * The names Durable Objects are addressed by (stub.ts), and the objects' reading of their own name
 * from `ctx.id.name`, so that no RPC has to carry the object's own identity. A name is an object's
 * identity (the runtime derives its id from it): these are the strings every deployment has used,
 * and changing one would address a new, empty object instead of the stored one.
 */

/** An allocation's object: `<region>/<uuid>` (a region's name may hold `/`; a UUID never does). */
export interface AllocationKey {
  region: string;
  /** The canonical lower-case UUID. */
  id: string;
}

export function allocationName(key: AllocationKey): string {
  return `${key.region}/${key.id}`;
}

export function allocationOfName(name: string): AllocationKey {
  const at = name.lastIndexOf("/");
  return { region: name.slice(0, at), id: name.slice(at + 1) };
}

/** Which shard of its region a catalog object is: shard k of K hands out only indexes ≡ k (mod K). */
export interface ShardSlot {
  shard: number;
  shards: number;
}

const SINGLE_SHARD: ShardSlot = { shard: 0, shards: 1 };

/**
 * A region's catalog: `catalog/<region>` with one shard (the name an unsharded deployment always
 * had), `catalog/<region>/<k>-of-<K>` with K.
 */
export function catalogName(region: string, slot: ShardSlot): string {
  return slot.shards <= 1 ? `catalog/${region}` : `catalog/${region}/${slot.shard}-of-${slot.shards}`;
}

const SHARD_SUFFIX = /\/(\d+)-of-(\d+)$/;

/** The shard a catalog's name says it is; one shard without the `/<k>-of-<K>` suffix. */
export function shardOfName(name: string): ShardSlot {
  const match = SHARD_SUFFIX.exec(name);
  return match ? { shard: Number(match[1]), shards: Number(match[2]) } : SINGLE_SHARD;
}

/** The deployment's single ACL store (Nomad's ACLs are global, not per region). */
export const ACL_STORE_NAME = "acl";

/**
 * The name this object was addressed by. Every object here is addressed by name (`getByName`), so
 * the runtime always sets it; an object reached any other way has no identity to act on.
 */
export function ownName(ctx: DurableObjectState): string {
  const name = ctx.id.name;
  if (name === undefined) throw new Error(`Durable Object ${ctx.id.toString()} was not addressed by name`);
  return name;
}
