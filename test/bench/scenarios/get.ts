/**
 * GET /v1/allocation/<id> against the ceilings W0 and W1: closed loop per variant, then an open loop
 * at half of W0's maximum rate (docs/benchmarks.md).
 */
import { auth, type Context } from "../lib/context.ts";
import { type ClosedLoopFigure, closedLoop, type OpenLoopFigure, openLoop, summarizeClosedLoops } from "../lib/loops.ts";
import { round } from "../lib/measure.ts";

export interface GetResult {
  sameBytes: boolean;
  bodyBytes: number;
  closedLoop: { connections: number; durationS: number; rounds: number; variants: Record<string, ClosedLoopFigure> };
  ratios: Record<string, number>;
  halfLoad: { rate: number; durationS: number; pool: number; variants: Record<string, OpenLoopFigure>; p99Ratios: Record<string, number> };
}

/** The GET variants: the ceilings, the real route (hot, spread), and the real route on the bench-only unlimited route. */
const VARIANTS = ["w0", "w1", "w1g", "hot", "spread", "hotUnlimited", "spreadUnlimited"] as const;

type Variant = (typeof VARIANTS)[number];

function variantPaths(variant: Variant, hot: string, spreadIds: string[]): string[] {
  if (variant === "w0") return ["/__bench/w0"];
  if (variant === "w1") return [`/__bench/w1/${hot}`];
  if (variant === "w1g") return [`/__bench/w1g/${hot}`];
  if (variant === "hot") return [`/v1/allocation/${hot}`];
  if (variant === "hotUnlimited") return [`/__bench/unlimited/v1/allocation/${hot}`];
  if (variant === "spreadUnlimited") return spreadIds.map((id) => `/__bench/unlimited/v1/allocation/${id}`);
  return spreadIds.map((id) => `/v1/allocation/${id}`);
}

export async function getScenario(ctx: Context, hot: string, spreadIds: string[]): Promise<GetResult> {
  const { settings } = ctx;
  // W0 answers the bytes of the hot allocation's real read, fixed from now on.
  const prime = await fetch(`${ctx.server.url}/__bench/w0?prime=${hot}`);
  await prime.arrayBuffer();
  if (prime.status !== 200) throw new Error(`priming W0: ${prime.status}`);
  const bodies = await Promise.all(
    (["w0", "w1", "w1g", "hot", "hotUnlimited"] as const).map(async (variant) => {
      const response = await fetch(`${ctx.server.url}${variantPaths(variant, hot, spreadIds)[0]}`, { headers: auth(ctx) });
      if (response.status !== 200) throw new Error(`GET ${variant}: ${response.status} ${await response.text()}`);
      const headers = ["content-type", "x-nomad-index", "x-nomad-knownleader", "x-nomad-lastcontact", "vary"].map((h) =>
        response.headers.get(h),
      );
      return { body: Buffer.from(await response.arrayBuffer()), headers: JSON.stringify(headers) };
    }),
  );
  const [w0Body, ...others] = bodies;
  const sameBytes = others.every((b) => w0Body && b.body.equals(w0Body.body) && b.headers === w0Body.headers);

  for (const variant of VARIANTS) await closedLoop(ctx, variantPaths(variant, hot, spreadIds), settings.warmupS);
  const runs = new Map<Variant, Awaited<ReturnType<typeof closedLoop>>[]>();
  for (let round_ = 0; round_ < settings.getRounds; round_++) {
    // Interleaved, so drift on the shared machine hits every variant alike.
    for (const variant of VARIANTS) {
      const result = await closedLoop(ctx, variantPaths(variant, hot, spreadIds), settings.getDurationS);
      runs.set(variant, [...(runs.get(variant) ?? []), result]);
      ctx.log(`  GET ${variant} round ${round_ + 1}: ${round(result.requests.total / result.duration, 0)} req/s`);
    }
  }
  const figures = summarizeClosedLoops(runs);
  const rps = (v: Variant) => figures[v]?.rps ?? Number.NaN;
  // `<variant>VsW0`, `<variant>VsW1`, `<variant>VsW1g` for every variant.
  const ratios: Record<string, number> = {};
  for (const variant of VARIANTS) {
    for (const [suffix, ceiling] of [
      ["W0", "w0"],
      ["W1", "w1"],
      ["W1g", "w1g"],
    ] as const) {
      ratios[`${variant}Vs${suffix}`] = round(rps(variant) / rps(ceiling), 3);
    }
  }

  // Half of W0's maximum rate, open loop, for every variant.
  const rate = Math.max(1, Math.round(rps("w0") / 2));
  const half: Record<string, OpenLoopFigure> = {};
  for (const variant of VARIANTS) {
    half[variant] = await openLoop(ctx, variantPaths(variant, hot, spreadIds), rate, settings.halfLoadDurationS);
    ctx.log(`  GET ${variant} at ${rate} req/s: p50 ${half[variant].p50Ms} ms, p99 ${half[variant].p99Ms} ms`);
  }
  const p99 = (v: string) => half[v]?.p99Ms ?? Number.NaN;
  return {
    sameBytes,
    bodyBytes: w0Body?.body.byteLength ?? 0,
    closedLoop: { connections: settings.getConnections, durationS: settings.getDurationS, rounds: settings.getRounds, variants: figures },
    ratios,
    halfLoad: {
      rate,
      durationS: settings.halfLoadDurationS,
      pool: settings.halfLoadPool,
      variants: half,
      p99Ratios: Object.fromEntries(VARIANTS.map((variant) => [`${variant}VsW0`, round(p99(variant) / p99("w0"), 3)])),
    },
  };
}
