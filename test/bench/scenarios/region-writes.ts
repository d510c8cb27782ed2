/**
 * The region's write ceiling: task-event POSTs (batch 1) spread over many allocations of one region
 * (each write delivers its change to the region's catalog before it is acknowledged), next to writes
 * into one allocation and writes spread over two regions; and the catalog's own `record()` ceiling.
 */
import type { Context } from "../lib/context.ts";
import { type WriteLoopFigure, writeLoop } from "../lib/loops.ts";
import { median, round } from "../lib/measure.ts";
import { catalogStats } from "../lib/stats.ts";
import { type RegionIds, taskEventsPath } from "../lib/writes.ts";

export interface RegionWritesResult {
  allocationsPerRegion: number;
  connections: number;
  durationS: number;
  rounds: number;
  /** Median over rounds; `runs` holds each round. */
  variants: Record<"single" | "region" | "twoRegions", WriteLoopFigure & { runs: number[] }>;
  ratios: { regionVsSingle: number; twoRegionsVsRegion: number };
  /** The catalogs' region index after the scenario (it moves once per recorded change). */
  catalogIndex: Record<string, number>;
  /**
   * The catalog's own ceiling: `record()` RPCs from the Worker straight to one catalog (a region of
   * its own), `inFlight` at a time; no HTTP per change, no allocation object.
   */
  catalogOnly: { n: number; inFlight: number; wallMs: number; recordsPerS: number }[];
}

export async function regionWritesScenario(ctx: Context, ids: RegionIds): Promise<RegionWritesResult> {
  const { settings } = ctx;
  const interleave: string[] = [];
  for (let i = 0; i < ids.global.length; i++) {
    interleave.push(taskEventsPath(ids.global[i] as string, "global"), taskEventsPath(ids.europe[i] as string, "europe"));
  }
  const variants = {
    single: [taskEventsPath(ids.single, "global")],
    region: ids.global.map((id) => taskEventsPath(id, "global")),
    twoRegions: interleave,
  };
  for (const paths of Object.values(variants)) await writeLoop(ctx, paths, settings.writeConnections, settings.warmupS);
  const runs: Record<string, WriteLoopFigure[]> = { single: [], region: [], twoRegions: [] };
  for (let r = 0; r < settings.writeRounds; r++) {
    for (const [variant, paths] of Object.entries(variants)) {
      const { figure } = await writeLoop(ctx, paths, settings.writeConnections, settings.writeDurationS);
      runs[variant]?.push(figure);
      ctx.log(`  writes ${variant} round ${r + 1}: ${figure.wps} acked writes/s, p50 ${figure.p50Ms} ms, p99 ${figure.p99Ms} ms`);
    }
  }
  const combine = (figures: WriteLoopFigure[]): WriteLoopFigure & { runs: number[] } => {
    const mid = [...figures].sort((a, b) => a.wps - b.wps)[Math.floor((figures.length - 1) / 2)] as WriteLoopFigure;
    return {
      ...mid,
      wps: round(median(figures.map((f) => f.wps)), 1),
      acked: figures.reduce((s, f) => s + f.acked, 0),
      non2xx: figures.reduce((s, f) => s + f.non2xx, 0),
      errors: figures.reduce((s, f) => s + f.errors, 0),
      runs: figures.map((f) => f.wps),
    };
  };
  const result = {
    single: combine(runs.single ?? []),
    region: combine(runs.region ?? []),
    twoRegions: combine(runs.twoRegions ?? []),
  };
  return {
    allocationsPerRegion: ids.global.length,
    connections: settings.writeConnections,
    durationS: settings.writeDurationS,
    rounds: settings.writeRounds,
    variants: result,
    ratios: {
      regionVsSingle: round(result.region.wps / result.single.wps, 3),
      twoRegionsVsRegion: round(result.twoRegions.wps / result.region.wps, 3),
    },
    catalogIndex: { global: (await catalogStats(ctx, "global")).index, europe: (await catalogStats(ctx, "europe")).index },
    catalogOnly: await catalogOnly(ctx),
  };
}

/** One HTTP request makes the Worker call `record()` n times; timed by the harness around the request. */
async function catalogOnly(ctx: Context): Promise<RegionWritesResult["catalogOnly"]> {
  const n = ctx.settings.smoke ? 100 : 2000;
  const out: RegionWritesResult["catalogOnly"] = [];
  await fetch(`${ctx.server.url}/__bench/catalog-record/bench-probe?n=50&c=8`).then((r) => r.arrayBuffer()); // warm
  for (const inFlight of [1, 8]) {
    const started = performance.now();
    const response = await fetch(`${ctx.server.url}/__bench/catalog-record/bench-probe?n=${n}&c=${inFlight}`, {
      signal: AbortSignal.timeout(60_000),
    });
    const text = await response.text();
    if (response.status !== 200) throw new Error(`catalog-record: ${response.status} ${text.slice(0, 300)}`);
    const wallMs = performance.now() - started;
    out.push({ n, inFlight, wallMs: round(wallMs), recordsPerS: round((n * 1000) / wallMs, 0) });
    ctx.log(`  catalog only, ${inFlight} in flight: ${round((n * 1000) / wallMs, 0)} record() calls/s`);
  }
  return out;
}
