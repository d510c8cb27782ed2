/**
 * Load drivers: a closed GET loop (autocannon) and its per-variant summary, an open loop at a fixed
 * arrival rate, and a closed write loop over raw keep-alive connections.
 */
import autocannon from "autocannon";
import { auth, type Context } from "./context.ts";
import { median, percentile, round, sleep, waitFor } from "./measure.ts";
import { RawConnection } from "./raw-http.ts";
import { HOST } from "./server.ts";
import { eventBatch } from "./writes.ts";

export interface ClosedLoopFigure {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  non2xx: number;
  requests: number;
  runs: { rps: number; p50Ms: number; p99Ms: number }[];
}

export async function closedLoop(ctx: Context, paths: string[], durationS: number) {
  let next = 0;
  return autocannon({
    url: ctx.server.url,
    connections: ctx.settings.getConnections,
    duration: durationS,
    timeout: 10,
    headers: auth(ctx),
    requests: [
      {
        method: "GET",
        setupRequest: (request) => {
          request.path = paths[next++ % paths.length];
          return request;
        },
      },
    ],
  });
}

/** Median figures per variant over its closed-loop rounds (shared by every closed-loop scenario). */
export function summarizeClosedLoops(runs: Map<string, Awaited<ReturnType<typeof closedLoop>>[]>): Record<string, ClosedLoopFigure> {
  const figures: Record<string, ClosedLoopFigure> = {};
  for (const [variant, results] of runs) {
    const perRun = results.map((r) => ({ rps: round(r.requests.total / r.duration, 1), p50Ms: r.latency.p50, p99Ms: r.latency.p99 }));
    figures[variant] = {
      rps: round(median(perRun.map((r) => r.rps)), 1),
      p50Ms: median(perRun.map((r) => r.p50Ms)),
      p99Ms: median(perRun.map((r) => r.p99Ms)),
      errors: results.reduce((s, r) => s + r.errors + r.timeouts, 0),
      non2xx: results.reduce((s, r) => s + r.non2xx, 0),
      requests: results.reduce((s, r) => s + r.requests.total, 0),
      runs: perRun,
    };
  }
  return figures;
}

export interface OpenLoopFigure {
  rate: number;
  sent: number;
  completed: number;
  errors: number;
  non2xx: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/**
 * Open loop at a fixed arrival rate: request i is due at start + i/rate, whatever happened before,
 * and its latency counts from when it was due (no coordinated omission). autocannon's `overallRate`
 * is not used for this: it sends each connection's per-second quota back to back at the start of
 * every second and then pauses, which measures bursts at full speed, not a steady half load.
 */
export async function openLoop(ctx: Context, paths: string[], rate: number, durationS: number): Promise<OpenLoopFigure> {
  const pool = Array.from({ length: ctx.settings.halfLoadPool }, () => new RawConnection(HOST, ctx.server.port));
  const idle = [...pool];
  const backlog: number[] = []; // due times waiting for a free connection
  const latencies: number[] = [];
  let sent = 0;
  let errors = 0;
  let non2xx = 0;
  let inFlight = 0;
  const total = Math.floor(rate * durationS);
  const start = performance.now() + 20;
  let path = 0;
  const fire = (due: number, conn: RawConnection) => {
    inFlight++;
    conn
      .request({ path: paths[path++ % paths.length] as string, headers: auth(ctx) })
      .then((response) => {
        if (response.status !== 200) non2xx++;
        latencies.push(response.doneAt - due);
      })
      .catch(() => {
        errors++;
      })
      .finally(() => {
        inFlight--;
        const waiting = backlog.shift();
        if (waiting !== undefined && !conn.closed) fire(waiting, conn);
        else if (!conn.closed) idle.push(conn);
      });
  };
  const deadline = start + durationS * 1000 + 10_000;
  while (sent < total && performance.now() < deadline) {
    const now = performance.now();
    while (sent < total && start + (sent * 1000) / rate <= now) {
      const due = start + (sent * 1000) / rate;
      sent++;
      const conn = idle.pop();
      if (conn) fire(due, conn);
      else backlog.push(due);
    }
    await sleep(1);
  }
  await waitFor(() => inFlight === 0 && backlog.length === 0, 10_000, 5);
  for (const conn of pool) conn.close();
  return {
    rate,
    sent,
    completed: latencies.length,
    errors,
    non2xx,
    p50Ms: round(percentile(latencies, 50)),
    p99Ms: round(percentile(latencies, 99)),
    maxMs: round(Math.max(...latencies)),
  };
}

export interface WriteLoopFigure {
  connections: number;
  durationS: number;
  /** Acknowledged (200) writes per second. */
  wps: number;
  acked: number;
  non2xx: number;
  errors: number;
  p50Ms: number;
  p99Ms: number;
  firstError?: string;
}

interface Ack {
  path: number;
  index: number;
  sentAt: number;
  ackAt: number;
}

/**
 * `connections` keep-alive connections each POST one task event (batch 1, ~300 bytes) after the
 * other for `durationS`, every write to the next path of `paths` (shared counter: consecutive writes
 * go to different allocations). Answers the figure and every acknowledged write.
 */
export async function writeLoop(
  ctx: Context,
  paths: string[],
  connections: number,
  durationS: number,
): Promise<{ figure: WriteLoopFigure; acks: Ack[] }> {
  const body = eventBatch(1);
  const headers = { ...auth(ctx), "Content-Type": "application/json" };
  const conns = Array.from({ length: connections }, () => new RawConnection(HOST, ctx.server.port));
  await Promise.race([Promise.all(conns.map((c) => c.connected)), sleep(5000)]);
  const acks: Ack[] = [];
  const latencies: number[] = [];
  let next = 0;
  let non2xx = 0;
  let errors = 0;
  let firstError: string | undefined;
  const start = performance.now();
  const end = start + durationS * 1000;
  await Promise.all(
    conns.map(async (conn) => {
      while (performance.now() < end && !conn.closed) {
        const path = next++ % paths.length;
        const sentAt = performance.now();
        try {
          const response = await conn.request({ method: "POST", path: paths[path] as string, headers, body, keepBody: true });
          if (response.status !== 200) {
            non2xx++;
            firstError ??= `${response.status} ${response.body?.toString().slice(0, 200)}`;
            continue;
          }
          acks.push({ path, index: Number(response.headers.get("x-nomad-index")), sentAt, ackAt: response.doneAt });
          latencies.push(response.doneAt - sentAt);
        } catch (error) {
          errors++;
          firstError ??= String(error);
        }
      }
    }),
  );
  const wallS = (performance.now() - start) / 1000;
  for (const c of conns) c.close();
  const figure: WriteLoopFigure = {
    connections,
    durationS: round(wallS),
    wps: round(acks.length / wallS, 1),
    acked: acks.length,
    non2xx,
    errors,
    p50Ms: round(percentile(latencies, 50)),
    p99Ms: round(percentile(latencies, 99)),
  };
  if (firstError) figure.firstError = firstError;
  return { figure, acks };
}
