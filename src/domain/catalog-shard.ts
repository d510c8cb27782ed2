/**
 * How a region's catalog is split into K shards by allocation-id prefix, and how shard indexes
 * stay unique across shards. Shards own contiguous ranges of the id space (by the first four hex
 * digits), so shard order is id order: a list over several shards is their pages one after the
 * other, and a prefix of four or more hex digits touches one shard.
 */

/** Hex digits of the id that pick the shard. */
const SHARD_DIGITS = 4;
const SHARD_SPACE = 16 ** SHARD_DIGITS;
/** Shards per region at most (each is one more object a full list or a stream reads). */
const MAX_CATALOG_SHARDS = 64;

/** The shard (0 ≤ k < shards) holding the allocation whose id, without hyphens, is `hex`. */
export function shardOf(hex: string, shards: number): number {
  if (shards <= 1) return 0;
  const lead = Number.parseInt(hex.slice(0, SHARD_DIGITS).padEnd(SHARD_DIGITS, "0"), 16);
  return Math.floor((lead * shards) / SHARD_SPACE);
}

/** The shard holding allocation `uuid` (canonical, with hyphens). */
export function shardOfAlloc(uuid: string, shards: number): number {
  return shardOf(uuid.replaceAll("-", ""), shards);
}

/**
 * The shards, in listing order, that can hold ids starting with `prefix` (hex) from `startHex` (hex,
 * "" for the start) on: ascending, or descending with `reverse` (then from `startHex` down).
 */
export function shardsFor(prefix: string, startHex: string, shards: number, reverse = false): number[] {
  const lead = prefix.slice(0, SHARD_DIGITS);
  let first = shardOf(lead.padEnd(SHARD_DIGITS, "0"), shards);
  let last = shardOf(lead.padEnd(SHARD_DIGITS, "f"), shards);
  if (startHex !== "" && !reverse) first = Math.max(first, shardOf(startHex, shards));
  if (startHex !== "" && reverse) last = Math.min(last, shardOf(startHex, shards));
  const out: number[] = [];
  for (let k = first; k <= last; k++) out.push(k);
  return reverse ? out.reverse() : out;
}

/**
 * The smallest index ≥ `min` that shard `shard` of `shards` may hand out: shard k uses only
 * indexes ≡ k (mod shards), so no two shards ever give the same index and an event stream's
 * `index=N` names one event at most.
 */
export function indexInShard(min: number, shard: number, shards: number): number {
  if (shards <= 1) return min;
  const rest = min % shards;
  return min + ((shard - rest + shards) % shards);
}

/** `CATALOG_SHARDS`: a whole number from 1 to MAX_CATALOG_SHARDS; anything else is the default. */
export function parseCatalogShards(raw: unknown, fallback: number): number {
  const value = Number(raw);
  return Number.isInteger(value) && value >= 1 && value <= MAX_CATALOG_SHARDS ? value : fallback;
}
