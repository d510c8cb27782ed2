/**
 * Deployment settings read from `Env` (wrangler.toml `[vars]`), parsed once per isolate.
 */

import { parseCatalogShards } from "./domain/catalog-shard.ts";
import { parseGoDuration } from "./json/go-time.ts";

/** Nomad's default and maximum blocking wait: 300 s. */
const NOMAD_MAX_QUERY_MS = 300_000;

/** Nomad's event stream heartbeat: 30 s (nomad/event_endpoint.go, `NewJsonStream(ctx, 30*time.Second)`). */
const NOMAD_EVENT_HEARTBEAT_MS = 30_000;

const LOCATION_HINTS = new Set(["wnam", "enam", "sam", "weur", "eeur", "apac", "oc", "afr", "me"]);

/** Blocking-query waits (`?wait`): the default and the upper clamp. */
export interface WaitLimits {
  /** Default wait when `wait` is absent or <= 0, in milliseconds. */
  defaultMs: number;
  /** Upper clamp, in milliseconds. */
  maxMs: number;
}

export interface Config {
  /** Region name -> Durable Object location hint (undefined: let the runtime place it). */
  regions: Map<string, DurableObjectLocationHint | undefined>;
  defaultRegion: string;
  wait: WaitLimits;
  /** Idle interval after which /v1/event/stream sends a `{}` heartbeat. */
  eventHeartbeatMs: number;
  /** Catalog shards per region (`CATALOG_SHARDS`); fixed for a deployment's lifetime. */
  catalogShards: number;
  /** How long a deleted allocation's tombstone and list row are kept (`TOMBSTONE_RETENTION`). */
  tombstoneRetentionMs: number;
}

/**
 * Tombstone retention when TOMBSTONE_RETENTION is unset, invalid or not positive: 25 h, as long as
 * an Idempotency-Key is kept, so no key a tombstone holds is forgotten early.
 */
const DEFAULT_TOMBSTONE_RETENTION_MS = 25 * 60 * 60 * 1000;

/** Catalog shards per region when CATALOG_SHARDS is unset (see docs/benchmarks.md for why). */
const DEFAULT_CATALOG_SHARDS = 1;

/**
 * `build` run once per `Env` object (the runtime hands every request of an isolate the same one),
 * its result kept as long as that `Env` lives.
 */
export function perEnv<T>(build: (env: Env) => T): (env: Env) => T {
  const built = new WeakMap<Env, T>();
  return (env) => {
    let value = built.get(env);
    if (value === undefined) {
      value = build(env);
      built.set(env, value);
    }
    return value;
  };
}

export const config = perEnv((env): Config => {
  const regions = new Map<string, DurableObjectLocationHint | undefined>();
  for (const [name, hint] of Object.entries(env.REGIONS as Record<string, string>)) {
    regions.set(name, LOCATION_HINTS.has(hint) ? (hint as DurableObjectLocationHint) : undefined);
  }
  const maxNanos = parseGoDuration(String(env.MAX_QUERY_TIME ?? ""));
  const maxMs = maxNanos !== undefined && maxNanos > 0n ? Number(maxNanos / 1_000_000n) : NOMAD_MAX_QUERY_MS;
  const heartbeatNanos = parseGoDuration(String(env.EVENT_STREAM_HEARTBEAT ?? ""));
  const retentionNanos = parseGoDuration(String(env.TOMBSTONE_RETENTION ?? ""));
  return {
    regions,
    defaultRegion: env.DEFAULT_REGION,
    wait: { maxMs, defaultMs: Math.min(NOMAD_MAX_QUERY_MS, maxMs) },
    eventHeartbeatMs: heartbeatNanos !== undefined && heartbeatNanos > 0n ? Number(heartbeatNanos / 1_000_000n) : NOMAD_EVENT_HEARTBEAT_MS,
    catalogShards: parseCatalogShards(env.CATALOG_SHARDS, DEFAULT_CATALOG_SHARDS),
    tombstoneRetentionMs:
      retentionNanos !== undefined && retentionNanos > 0n ? Number(retentionNanos / 1_000_000n) : DEFAULT_TOMBSTONE_RETENTION_MS,
  };
});
