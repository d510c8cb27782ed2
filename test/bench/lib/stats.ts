/** The bench Worker's counter routes: an allocation object's and a region catalog's. */
import type { Context } from "./context.ts";

export interface ObjectStats {
  waiters: number;
  index: number;
  encodes: number;
  logFollowers: number;
  /** Calls parked on the park ceiling (bench Worker only). */
  ceilingParked?: number;
  /** Requests parked in the Worker itself (P0, bench Worker only). */
  workerParked?: number;
}

/** The object's counters; on a slow or failed poll (a loaded machine), -1s so the caller polls again. */
export async function objectStats(ctx: Context, id: string): Promise<ObjectStats> {
  try {
    const response = await fetch(`${ctx.server.url}/__bench/stats/${id}`, { signal: AbortSignal.timeout(10_000) });
    return (await response.json()) as ObjectStats;
  } catch {
    return { waiters: -1, index: -1, encodes: -1, logFollowers: -1 };
  }
}

interface CatalogStats {
  waiters: number;
  subscribers: number;
  index: number;
  floor: number;
}

export async function catalogStats(ctx: Context, region: string): Promise<CatalogStats> {
  try {
    const response = await fetch(`${ctx.server.url}/__bench/catalog-stats/${region}`, { signal: AbortSignal.timeout(10_000) });
    return (await response.json()) as CatalogStats;
  } catch {
    return { waiters: -1, subscribers: -1, index: -1, floor: -1 };
  }
}
