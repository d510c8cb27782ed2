/**
 * The list endpoint (`GET /v1/allocations`, all allocations of a region and with a `prefix`),
 * closed loop, against W0 and W1 measured interleaved in the same scenario. Everything in a region
 * that changes passes through that region's catalog, which serves the list.
 */
import { randomUUID } from "node:crypto";
import { auth, type Context } from "../lib/context.ts";
import { type ClosedLoopFigure, closedLoop, summarizeClosedLoops } from "../lib/loops.ts";
import { round } from "../lib/measure.ts";
import { loadAllocations } from "../lib/writes.ts";

export interface ListResult {
  region: string;
  allocations: number;
  /** Items of the full list as read before the run (must equal `allocations`). */
  listed: number;
  listBytes: number;
  prefix: string;
  prefixMatches: number;
  prefixBytes: number;
  closedLoop: { connections: number; durationS: number; rounds: number; variants: Record<string, ClosedLoopFigure> };
  ratios: Record<string, number>;
}

/** Loads `settings.listCount` allocations into `region` (used only by this scenario) and lists them. */
export async function listScenario(ctx: Context, hot: string, region: string): Promise<ListResult> {
  const { settings } = ctx;
  const ids = Array.from({ length: settings.listCount }, () => randomUUID());
  await loadAllocations(ctx, ids, 8, region);
  const prefix = (ids[0] as string).slice(0, 2);
  const listPath = `/v1/allocations?region=${region}`;
  const prefixPath = `${listPath}&prefix=${prefix}`;
  const probe = async (path: string) => {
    const response = await fetch(`${ctx.server.url}${path}`, { headers: auth(ctx) });
    const text = await response.text();
    if (response.status !== 200) throw new Error(`GET ${path}: ${response.status} ${text.slice(0, 300)}`);
    return { items: (JSON.parse(text) as unknown[]).length, bytes: Buffer.byteLength(text) };
  };
  const all = await probe(listPath);
  const byPrefix = await probe(prefixPath);
  const expectedMatches = ids.filter((id) => id.startsWith(prefix)).length;
  if (all.items !== ids.length || byPrefix.items !== expectedMatches) {
    throw new Error(
      `list: ${all.items} listed (expected ${ids.length}), prefix ${prefix}: ${byPrefix.items} (expected ${expectedMatches})`,
    );
  }
  // W0 answers the hot allocation's read (primed again, in case the GET scenario did not run).
  const prime = await fetch(`${ctx.server.url}/__bench/w0?prime=${hot}`);
  await prime.arrayBuffer();
  if (prime.status !== 200) throw new Error(`priming W0: ${prime.status}`);

  const variants: Record<string, string[]> = {
    w0: ["/__bench/w0"],
    w1: [`/__bench/w1/${hot}`],
    list: [listPath],
    prefix: [prefixPath],
  };
  for (const paths of Object.values(variants)) await closedLoop(ctx, paths, settings.warmupS);
  const runs = new Map<string, Awaited<ReturnType<typeof closedLoop>>[]>();
  for (let r = 0; r < settings.listRounds; r++) {
    for (const [variant, paths] of Object.entries(variants)) {
      const result = await closedLoop(ctx, paths, settings.listDurationS);
      runs.set(variant, [...(runs.get(variant) ?? []), result]);
      ctx.log(`  ${variant} round ${r + 1}: ${round(result.requests.total / result.duration, 0)} req/s`);
    }
  }
  const figures = summarizeClosedLoops(runs);
  const rps = (v: string) => figures[v]?.rps ?? Number.NaN;
  return {
    region,
    allocations: ids.length,
    listed: all.items,
    listBytes: all.bytes,
    prefix,
    prefixMatches: byPrefix.items,
    prefixBytes: byPrefix.bytes,
    closedLoop: { connections: settings.getConnections, durationS: settings.listDurationS, rounds: settings.listRounds, variants: figures },
    ratios: {
      listVsW0: round(rps("list") / rps("w0"), 3),
      listVsW1: round(rps("list") / rps("w1"), 3),
      prefixVsW0: round(rps("prefix") / rps("w0"), 3),
      prefixVsW1: round(rps("prefix") / rps("w1"), 3),
    },
  };
}
