/**
 * Blocking wake-up and the write's own latency: N queries parked on one allocation, one write
 * answers them all, beside the park ceiling on the same connections (docs/benchmarks.md).
 */
import type { Context } from "../lib/context.ts";
import { median, percentile, round, type Spread, sleep, spread, waitFor } from "../lib/measure.ts";
import { openConnections, releaseRound } from "../lib/parking.ts";
import type { WakeRoute } from "../lib/settings.ts";
import { objectStats } from "../lib/stats.ts";
import { allocationJson, timedWrite, writer } from "../lib/writes.ts";

/** The same N parked on the park ceiling (P1): Worker → object RPC → a bare promise, one release. */
export interface ParkCeiling {
  ackMs: number;
  wakeFromAckMs: Spread;
  lastFromAckMs: number;
  releasePerS: number;
  released: number;
  errors: number;
}

export interface WakePoint {
  n: number;
  via: WakeRoute;
  rounds: number;
  /** Waiters the object counted as parked, per round. */
  parked: number[];
  /** Time to open (round 1) or re-poll (later rounds) all N and see them parked, per round. */
  parkMs: number[];
  /** The waking write's acknowledgement latency, per round. */
  ackMs: number[];
  ackMedianMs: number;
  /** ackMedianMs / the N = 0 baseline. */
  ackRatio: number;
  /** Per waiter: full response time minus the write's ack time (negative: answered before the ack), pooled over rounds. */
  wakeFromAckMs: Spread;
  /** Per waiter: full response time minus the time the write was sent. */
  wakeFromSendMs: Spread;
  /** Per round, the last waiter's full response minus the ack. */
  lastFromAckMs: number[];
  released: number;
  errors: number;
  firstError?: string;
  /** Waiters answered per second: N / (last full response − write sent), median over rounds. */
  releasePerS: number;
  /** The park ceiling on the same connections right after; absent when the time budget ran out. */
  ceiling?: ParkCeiling;
  /** wake p99 / the ceiling's p99 (both from their trigger's ack). */
  p99VsCeiling?: number;
}

export interface WakeResult {
  baseline: { writes: number; ackMedianMs: number; ackP99Ms: number; samplesMs: number[] };
  points: WakePoint[];
  skipped: { n: number; via: WakeRoute; reason: string }[];
  fdLimit: number;
}

export async function wakeScenario(ctx: Context, id: string, fdLimit: number): Promise<WakeResult> {
  const { settings } = ctx;
  let conn = writer(ctx);
  const path = `/v1/allocation/${id}`;
  const body = allocationJson(id);
  // N = 0: the same write with nothing parked.
  for (let i = 0; i < 3; i++) await timedWrite(conn, ctx, "PUT", path, body);
  const baselineSamples: number[] = [];
  for (let i = 0; i < settings.baselineWrites; i++) {
    baselineSamples.push((await timedWrite(conn, ctx, "PUT", path, body)).ackMs);
    await sleep(20);
  }
  const baseline = {
    writes: baselineSamples.length,
    ackMedianMs: round(median(baselineSamples)),
    ackP99Ms: round(percentile(baselineSamples, 99)),
    samplesMs: baselineSamples.map((v) => round(v)),
  };
  ctx.log(`  write ack with no waiters: median ${baseline.ackMedianMs} ms`);

  const points: WakePoint[] = [];
  const skipped: WakeResult["skipped"] = [];
  const settle = () => sleep(settings.smoke ? 200 : 1000);
  for (const { n, via } of settings.wakePoints) {
    // Through wrangler's proxy every waiter holds two of the proxy's sockets (from the client and
    // towards the Worker's workerd); sent directly, one of the Worker's workerd.
    const sockets = (via === "proxy" ? 2 * n : n) + 2000;
    if (sockets > fdLimit) {
      skipped.push({ n, via, reason: `open-files limit ${fdLimit} is below the ~${sockets} sockets it needs` });
      continue;
    }
    const budget = n >= 10000 ? 60_000 : n >= 1000 ? 20_000 : 6_000;
    if (ctx.remainingMs() < budget) {
      skipped.push({ n, via, reason: `time budget: ${Math.round(ctx.remainingMs() / 1000)} s left, needs ~${budget / 1000} s` });
      continue;
    }
    await settle();
    const port = via === "proxy" ? ctx.server.port : await ctx.server.workerPort();
    const conns = await openConnections(ctx, n, 250, port);
    const rounds = settings.wakeRounds(n);
    const point: WakePoint = {
      n,
      via,
      rounds,
      parked: [],
      parkMs: [],
      ackMs: [],
      ackMedianMs: 0,
      ackRatio: 0,
      wakeFromAckMs: spread([]),
      wakeFromSendMs: spread([]),
      lastFromAckMs: [],
      released: 0,
      errors: 0,
      releasePerS: 0,
    };
    const rates: number[] = [];
    const fromAck: number[] = [];
    const fromSend: number[] = [];
    try {
      for (let r = 0; r < rounds; r++) {
        let current = -1;
        await waitFor(
          async () => {
            current = (await objectStats(ctx, id)).index;
            return current > 0;
          },
          20_000,
          100,
        );
        if (current <= 0) throw new Error("could not read the allocation's index from the stats route");
        const result = await releaseRound(ctx, conns, {
          path: `${path}?index=${current}&wait=60s`,
          parkedCount: async () => (await objectStats(ctx, id)).waiters,
          trigger: async () => {
            // The writer's connection sat idle while N parked; wrangler's proxy may have closed it.
            if (conn.closed) conn = writer(ctx);
            return timedWrite(conn, ctx, "PUT", path, body);
          },
          accept: (response) => response.status === 200 && Number(response.headers.get("x-nomad-index")) > current,
          ramp: r === 0,
        });
        point.parked.push(result.parked);
        point.parkMs.push(result.parkMs);
        point.ackMs.push(result.ackMs);
        point.lastFromAckMs.push(result.lastFromAckMs);
        point.released += result.released;
        point.errors += result.errors;
        point.firstError ??= result.firstError;
        fromAck.push(...result.fromAckMs);
        fromSend.push(...result.fromSendMs);
        rates.push(result.perS);
      }
      point.releasePerS = round(median(rates), 0);
      point.ackMedianMs = round(median(point.ackMs));
      point.ackRatio = round(point.ackMedianMs / baseline.ackMedianMs, 3);
      point.wakeFromAckMs = spread(fromAck);
      point.wakeFromSendMs = spread(fromSend);
      ctx.log(
        `  N=${n} via ${via}: parked ${point.parked.join("/")}, ack ${point.ackMedianMs} ms (×${point.ackRatio}), wake p50 ${point.wakeFromAckMs.p50} p99 ${point.wakeFromAckMs.p99} max ${point.wakeFromAckMs.max} ms`,
      );

      // The park ceiling on the same connections, one round.
      if (ctx.remainingMs() > budget / 2) {
        await settle();
        const ceiling = await releaseRound(ctx, conns, {
          path: `/__bench/park/${id}`,
          parkedCount: async () => (await objectStats(ctx, id)).ceilingParked ?? -1,
          trigger: async () => {
            if (conn.closed) conn = writer(ctx);
            return timedWrite(conn, ctx, "POST", `/__bench/release/${id}`, "");
          },
          accept: (response) => response.status === 200,
          ramp: false,
        });
        const wakeFromAckMs = spread(ceiling.fromAckMs);
        point.ceiling = {
          ackMs: ceiling.ackMs,
          wakeFromAckMs,
          lastFromAckMs: ceiling.lastFromAckMs,
          releasePerS: ceiling.perS,
          released: ceiling.released,
          errors: ceiling.errors,
        };
        point.p99VsCeiling = round(point.wakeFromAckMs.p99 / wakeFromAckMs.p99, 3);
        ctx.log(`  N=${n} park ceiling: p99 ${wakeFromAckMs.p99} max ${wakeFromAckMs.max} ms`);
      }
    } finally {
      for (const c of conns) c.close();
    }
    points.push(point);
    // Let the closed connections drain out of the proxy before the next point.
    await waitFor(async () => (await objectStats(ctx, id)).waiters === 0, 10_000, 100);
  }
  conn.close();
  return { baseline, points, skipped, fdLimit };
}
