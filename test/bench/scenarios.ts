/**
 * The benchmark scenarios of issue 7 (designs: performance-and-reliability.md §5). Each one is
 * bounded in count and time, measures against the same running server, and returns plain data for
 * result.json.
 */
import autocannon from "autocannon";
import { DEMO_ALLOC_ID, DEMO_ALLOCATION_JSON, DEMO_TASK_EVENTS_JSON } from "../../src/demo/allocation.ts";
import { median, percentile, round, type Spread, sleep, spread, waitFor } from "./measure.ts";
import { RawConnection, type RawResponse } from "./raw-http.ts";
import { type BenchServer, HOST, rssKiB } from "./server.ts";

export interface Settings {
  smoke: boolean;
  /** Closed-loop GET runs. */
  getConnections: number;
  getDurationS: number;
  getRounds: number;
  warmupS: number;
  spreadCount: number;
  /** Open-loop half-load runs. */
  halfLoadDurationS: number;
  halfLoadPool: number;
  /** Blocking wake-up. */
  waiterCounts: number[];
  wakeRounds: (n: number) => number;
  baselineWrites: number;
  parkTimeoutMs: number;
  releaseTimeoutMs: number;
  /** Task-event ingest. */
  ingestBatches: number[];
  ingestConnections: number;
  ingestDurationS: number;
  /** Logs follow. */
  logFollowers: number;
  logBytes: number;
  logPostBytes: number;
  /** List endpoint: allocations in the listed region, closed-loop rounds and duration. */
  listCount: number;
  listRounds: number;
  listDurationS: number;
  /** Region write ceiling: allocations written per region, connections, rounds, duration. */
  regionAllocs: number;
  writeConnections: number;
  writeRounds: number;
  writeDurationS: number;
  /** Event stream: subscriber counts, write load per count, time allowed for delivery after it. */
  subscriberCounts: number[];
  eventWriteDurationS: number;
  eventDrainMs: number;
}

export const FULL: Settings = {
  smoke: false,
  getConnections: 16,
  getDurationS: 4,
  getRounds: 3,
  warmupS: 1.5,
  spreadCount: 100,
  halfLoadDurationS: 4,
  halfLoadPool: 64,
  waiterCounts: [1, 100, 1000, 10000],
  wakeRounds: (n) => (n <= 100 ? 5 : n <= 1000 ? 3 : 2),
  baselineWrites: 15,
  parkTimeoutMs: 45_000,
  releaseTimeoutMs: 20_000,
  ingestBatches: [1, 10, 100],
  ingestConnections: 4,
  ingestDurationS: 4,
  logFollowers: 100,
  logBytes: 1024 * 1024,
  logPostBytes: 1024 * 1024,
  listCount: 100,
  listRounds: 2,
  listDurationS: 3,
  regionAllocs: 64,
  writeConnections: 8,
  writeRounds: 2,
  writeDurationS: 3,
  subscriberCounts: [1, 10],
  eventWriteDurationS: 4,
  eventDrainMs: 8000,
};

export const SMOKE: Settings = {
  smoke: true,
  getConnections: 4,
  getDurationS: 1,
  getRounds: 1,
  warmupS: 0.3,
  spreadCount: 5,
  halfLoadDurationS: 1,
  halfLoadPool: 8,
  waiterCounts: [1, 10],
  wakeRounds: () => 1,
  baselineWrites: 3,
  parkTimeoutMs: 10_000,
  releaseTimeoutMs: 10_000,
  ingestBatches: [1, 10, 100],
  ingestConnections: 2,
  ingestDurationS: 1,
  logFollowers: 3,
  logBytes: 64 * 1024,
  logPostBytes: 64 * 1024,
  listCount: 5,
  listRounds: 1,
  listDurationS: 0.5,
  regionAllocs: 4,
  writeConnections: 2,
  writeRounds: 1,
  writeDurationS: 0.5,
  subscriberCounts: [1, 2],
  eventWriteDurationS: 0.5,
  eventDrainMs: 4000,
};

export interface Context {
  server: BenchServer;
  settings: Settings;
  /** Milliseconds left of the run's overall budget. */
  remainingMs: () => number;
  log: (line: string) => void;
}

// ---------------------------------------------------------------------------------------------
// Data loading through the write API

export function allocationJson(id: string): string {
  return DEMO_ALLOCATION_JSON.replaceAll(DEMO_ALLOC_ID, id);
}

function writer(ctx: Context): RawConnection {
  return new RawConnection(HOST, ctx.server.port);
}

async function timedWrite(
  conn: RawConnection,
  ctx: Context,
  method: string,
  path: string,
  body: string | Uint8Array,
): Promise<{ status: number; sentAt: number; ackAt: number; ackMs: number; index: number; response: RawResponse }> {
  const sentAt = performance.now();
  const response = await conn.request({ method, path, body, headers: { "X-Nomad-Token": ctx.server.token }, keepBody: true });
  if (response.status !== 200) throw new Error(`${method} ${path}: ${response.status} ${response.body?.toString().slice(0, 300)}`);
  return {
    status: response.status,
    sentAt,
    ackAt: response.doneAt,
    ackMs: response.doneAt - sentAt,
    index: Number(response.headers.get("x-nomad-index")),
    response,
  };
}

/** Creates allocations (PUT, then the demo task events that start `redis`) through the write API. */
export async function loadAllocations(ctx: Context, ids: string[], parallel = 8, region?: string): Promise<void> {
  const query = region ? `?region=${region}` : "";
  const queue = [...ids];
  const conns = Array.from({ length: Math.min(parallel, ids.length) }, () => writer(ctx));
  await Promise.all(
    conns.map(async (conn) => {
      for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
        await timedWrite(conn, ctx, "PUT", `/v1/allocation/${id}${query}`, allocationJson(id));
        await timedWrite(conn, ctx, "POST", `/v1/allocation/${id}/task-events${query}`, DEMO_TASK_EVENTS_JSON);
      }
      conn.close();
    }),
  );
}

interface ObjectStats {
  waiters: number;
  index: number;
  encodes: number;
  logFollowers: number;
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

// ---------------------------------------------------------------------------------------------
// 1. GET /v1/allocation/<id> against the ceilings W0 and W1

export interface ClosedLoopFigure {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  non2xx: number;
  requests: number;
  runs: { rps: number; p50Ms: number; p99Ms: number }[];
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

export interface GetResult {
  sameBytes: boolean;
  bodyBytes: number;
  closedLoop: { connections: number; durationS: number; rounds: number; variants: Record<string, ClosedLoopFigure> };
  ratios: Record<string, number>;
  halfLoad: { rate: number; durationS: number; pool: number; variants: Record<string, OpenLoopFigure>; p99Ratios: Record<string, number> };
}

type Variant = "w0" | "w1" | "hot" | "spread";

function variantPaths(variant: Variant, hot: string, spreadIds: string[]): string[] {
  if (variant === "w0") return ["/__bench/w0"];
  if (variant === "w1") return [`/__bench/w1/${hot}`];
  if (variant === "hot") return [`/v1/allocation/${hot}`];
  return spreadIds.map((id) => `/v1/allocation/${id}`);
}

/**
 * Every request carries the management token, reads included: the harness must keep working once
 * reads need an ACL token, and the ceiling routes get the same request bytes as the real ones.
 */
export function auth(ctx: Context): Record<string, string> {
  return { "X-Nomad-Token": ctx.server.token };
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

/**
 * Open loop at a fixed arrival rate: request i is due at start + i/rate, whatever happened before,
 * and its latency counts from when it was due (no coordinated omission). autocannon's `overallRate`
 * is not used for this: it sends each connection's per-second quota back to back at the start of
 * every second and then pauses, which measures bursts at full speed, not a steady half load.
 */
async function openLoop(ctx: Context, paths: string[], rate: number, durationS: number): Promise<OpenLoopFigure> {
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

export async function getScenario(ctx: Context, hot: string, spreadIds: string[]): Promise<GetResult> {
  const { settings } = ctx;
  // W0 answers the bytes of the hot allocation's real read, fixed from now on.
  const prime = await fetch(`${ctx.server.url}/__bench/w0?prime=${hot}`);
  await prime.arrayBuffer();
  if (prime.status !== 200) throw new Error(`priming W0: ${prime.status}`);
  const bodies = await Promise.all(
    (["w0", "w1", "hot"] as const).map(async (variant) => {
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

  const variants: Variant[] = ["w0", "w1", "hot", "spread"];
  for (const variant of variants) await closedLoop(ctx, variantPaths(variant, hot, spreadIds), settings.warmupS);
  const runs = new Map<Variant, Awaited<ReturnType<typeof closedLoop>>[]>();
  for (let round_ = 0; round_ < settings.getRounds; round_++) {
    // Interleaved, so drift on the shared machine hits every variant alike.
    for (const variant of variants) {
      const result = await closedLoop(ctx, variantPaths(variant, hot, spreadIds), settings.getDurationS);
      runs.set(variant, [...(runs.get(variant) ?? []), result]);
      ctx.log(`  GET ${variant} round ${round_ + 1}: ${round(result.requests.total / result.duration, 0)} req/s`);
    }
  }
  const figures = summarizeClosedLoops(runs);
  const rps = (v: Variant) => figures[v]?.rps ?? Number.NaN;
  const ratios = {
    w1VsW0: round(rps("w1") / rps("w0"), 3),
    hotVsW1: round(rps("hot") / rps("w1"), 3),
    hotVsW0: round(rps("hot") / rps("w0"), 3),
    spreadVsW1: round(rps("spread") / rps("w1"), 3),
    spreadVsW0: round(rps("spread") / rps("w0"), 3),
  };

  // Half of W0's maximum rate, open loop, for W0 and the two real variants.
  const rate = Math.max(1, Math.round(rps("w0") / 2));
  const half: Record<string, OpenLoopFigure> = {};
  for (const variant of ["w0", "hot", "spread"] as const) {
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
      p99Ratios: { hotVsW0: round(p99("hot") / p99("w0"), 3), spreadVsW0: round(p99("spread") / p99("w0"), 3) },
    },
  };
}

// ---------------------------------------------------------------------------------------------
// 2 + 3. Blocking wake-up, the write's own latency, memory per parked waiter

export interface WakePoint {
  n: number;
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
  memory: {
    userRss0KiB: number;
    userRssNKiB: number;
    proxyRss0KiB: number;
    proxyRssNKiB: number;
    userBytesPerWaiter: number;
    proxyBytesPerWaiter: number;
    /** Control: RSS growth per completed W0 request, N of them on N fresh connections (wrangler dev's own per-request growth). */
    userBytesPerW0Request: number;
    proxyBytesPerW0Request: number;
  };
}

export interface WakeResult {
  baseline: { writes: number; ackMedianMs: number; ackP99Ms: number; samplesMs: number[] };
  points: WakePoint[];
  skipped: { n: number; reason: string }[];
  fdLimit: number;
}

async function openConnections(ctx: Context, n: number, batch = 250): Promise<RawConnection[]> {
  const conns: RawConnection[] = [];
  for (let i = 0; i < n; i += batch) {
    const group = Array.from({ length: Math.min(batch, n - i) }, () => new RawConnection(HOST, ctx.server.port));
    conns.push(...group);
    await Promise.race([Promise.all(group.map((c) => c.connected)), sleep(5000)]);
  }
  return conns;
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
  const skipped: { n: number; reason: string }[] = [];
  const pids = ctx.server.workerd();
  for (const n of settings.waiterCounts) {
    // wrangler's proxy holds two sockets per waiter (client side and towards the Worker's workerd).
    if (2 * n + 2000 > fdLimit) {
      skipped.push({ n, reason: `open-files limit ${fdLimit} is below the ~${2 * n + 2000} sockets wrangler's proxy needs` });
      continue;
    }
    const budget = n >= 10000 ? 75_000 : n >= 1000 ? 25_000 : 8_000;
    if (ctx.remainingMs() < budget) {
      skipped.push({ n, reason: `time budget: ${Math.round(ctx.remainingMs() / 1000)} s left, needs ~${budget / 1000} s` });
      continue;
    }
    // Control first: the same number of connections, each completing one W0 request.
    await sleep(settings.smoke ? 200 : 1000);
    const controlUser0 = rssKiB(pids.user);
    const controlProxy0 = rssKiB(pids.proxy);
    const controls = await openConnections(ctx, n);
    await Promise.race([
      Promise.all(controls.map((c) => c.request({ path: "/__bench/w0", headers: auth(ctx) }).catch(() => null))),
      sleep(30_000),
    ]);
    await sleep(settings.smoke ? 200 : 1000);
    const userBytesPerW0Request = round(((rssKiB(pids.user) - controlUser0) * 1024) / n, 0);
    const proxyBytesPerW0Request = round(((rssKiB(pids.proxy) - controlProxy0) * 1024) / n, 0);
    for (const c of controls) c.close();

    await sleep(settings.smoke ? 200 : 1000);
    const userRss0 = rssKiB(pids.user);
    const proxyRss0 = rssKiB(pids.proxy);
    const conns = await openConnections(ctx, n);
    const rounds = settings.wakeRounds(n);
    const point: WakePoint = {
      n,
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
      memory: {
        userRss0KiB: userRss0,
        userRssNKiB: 0,
        proxyRss0KiB: proxyRss0,
        proxyRssNKiB: 0,
        userBytesPerWaiter: 0,
        proxyBytesPerWaiter: 0,
        userBytesPerW0Request,
        proxyBytesPerW0Request,
      },
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
        const parkStart = performance.now();
        const waits: Promise<RawResponse | null>[] = [];
        // Round 1 ramps (a few hundred at a time); later rounds re-poll all at once, as woken clients do.
        for (let i = 0; i < conns.length; i++) {
          const c = conns[i] as RawConnection;
          waits.push(c.request({ path: `${path}?index=${current}&wait=60s`, headers: auth(ctx) }).catch(() => null));
          if (r === 0 && i % 250 === 249) await sleep(10);
        }
        const live = () => conns.filter((c) => !c.closed).length;
        let answered = 0;
        for (const wait of waits) void wait.then(() => answered++);
        let parkedNow = 0;
        await waitFor(
          async () => {
            parkedNow = (await objectStats(ctx, id)).waiters;
            // A waiter that answered before any write was refused (or timed out): stop waiting.
            return parkedNow >= live() || answered > 0;
          },
          settings.parkTimeoutMs,
          n >= 1000 ? 200 : 50,
        );
        point.parked.push(parkedNow);
        point.parkMs.push(round(performance.now() - parkStart));
        if (r === 0) {
          await sleep(settings.smoke ? 200 : 1000);
          point.memory.userRssNKiB = rssKiB(pids.user);
          point.memory.proxyRssNKiB = rssKiB(pids.proxy);
        }
        // The writer's connection sat idle while N parked; wrangler's proxy may have closed it.
        if (conn.closed) conn = writer(ctx);
        const write = await timedWrite(conn, ctx, "PUT", path, body);
        point.ackMs.push(round(write.ackMs));
        const done = await Promise.race([Promise.all(waits), sleep(settings.releaseTimeoutMs).then(() => null)]);
        const responses = done ?? [];
        let last = Number.NEGATIVE_INFINITY;
        for (const response of responses) {
          if (response === null || response.status !== 200 || Number(response.headers.get("x-nomad-index")) <= current) {
            point.errors++;
            if (response && !point.firstError)
              point.firstError = `status ${response.status}, index ${response.headers.get("x-nomad-index")}`;
            continue;
          }
          point.released++;
          fromAck.push(response.doneAt - write.ackAt);
          fromSend.push(response.doneAt - write.sentAt);
          last = Math.max(last, response.doneAt - write.ackAt);
        }
        if (!done) point.errors += n;
        point.lastFromAckMs.push(round(last));
        rates.push((n * 1000) / (last + write.ackAt - write.sentAt));
      }
    } finally {
      for (const c of conns) c.close();
    }
    point.releasePerS = round(median(rates), 0);
    point.ackMedianMs = round(median(point.ackMs));
    point.ackRatio = round(point.ackMedianMs / baseline.ackMedianMs, 3);
    point.wakeFromAckMs = spread(fromAck);
    point.wakeFromSendMs = spread(fromSend);
    point.memory.userBytesPerWaiter = round(((point.memory.userRssNKiB - userRss0) * 1024) / n, 0);
    point.memory.proxyBytesPerWaiter = round(((point.memory.proxyRssNKiB - proxyRss0) * 1024) / n, 0);
    ctx.log(
      `  N=${n}: parked ${point.parked.join("/")}, ack ${point.ackMedianMs} ms (×${point.ackRatio}), wake p50 ${point.wakeFromAckMs.p50} p99 ${point.wakeFromAckMs.p99} max ${point.wakeFromAckMs.max} ms, ${point.memory.userBytesPerWaiter} B/waiter`,
    );
    points.push(point);
    // Let the closed connections drain out of the proxy before the next point.
    await waitFor(async () => (await objectStats(ctx, id)).waiters === 0, 10_000, 100);
  }
  conn.close();
  return { baseline, points, skipped, fdLimit };
}

// ---------------------------------------------------------------------------------------------
// 4. Task-event ingest into one allocation

export interface IngestPoint {
  batch: number;
  requestBytes: number;
  rps: number;
  eventsPerS: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  non2xx: number;
}

export interface IngestResult {
  connections: number;
  durationS: number;
  points: IngestPoint[];
}

export function eventBatch(batch: number): string {
  // ~300 bytes per event, as in the design (§5.3); "Driver" events leave the task's state alone.
  const message = "Downloading image: pulling layer 3 of 7 from registry.example.internal".padEnd(200, ".");
  const events = Array.from(
    { length: batch },
    (_, i) => `{"Task":"redis","Event":{"Type":"Driver","Time":${1700000000000000000n + BigInt(i)},"DriverMessage":"${message}"}}`,
  );
  return `{"Events":[${events.join(",")}]}`;
}

export async function ingestScenario(ctx: Context, id: string): Promise<IngestResult> {
  const { settings } = ctx;
  const points: IngestPoint[] = [];
  for (const batch of settings.ingestBatches) {
    const body = eventBatch(batch);
    const options = {
      url: `${ctx.server.url}/v1/allocation/${id}/task-events`,
      method: "POST",
      headers: { "X-Nomad-Token": ctx.server.token, "Content-Type": "application/json" },
      body,
      connections: settings.ingestConnections,
      timeout: 10,
    };
    await autocannon({ ...options, duration: settings.warmupS });
    const result = await autocannon({ ...options, duration: settings.ingestDurationS });
    const rps = result["2xx"] / result.duration;
    points.push({
      batch,
      requestBytes: Buffer.byteLength(body),
      rps: round(rps, 1),
      eventsPerS: round(rps * batch, 0),
      p50Ms: result.latency.p50,
      p99Ms: result.latency.p99,
      errors: result.errors + result.timeouts,
      non2xx: result.non2xx,
    });
    ctx.log(`  ingest batch ${batch}: ${round(rps, 0)} req/s, ${round(rps * batch, 0)} events/s`);
  }
  return { connections: settings.ingestConnections, durationS: settings.ingestDurationS, points };
}

// ---------------------------------------------------------------------------------------------
// 5. Logs follow: F followers on one task, bytes appended, time to the last follower's last byte

export interface LogsResult {
  /** Ceiling: the same number of clients each fetching the same byte count from a trivial route at once. */
  ceiling: { lastByteFromSendMs: Spread; complete: number };
  /** lastByteFromSendMs.max / the ceiling's. */
  ratioToCeiling: number;
  followers: number;
  followersOpen: number;
  bytes: number;
  posts: number;
  ackMs: number;
  complete: number;
  /** Per follower: time its last byte arrived, from the first POST sent. */
  lastByteFromSendMs: Spread;
  /** The slowest follower's last byte, from the last POST's acknowledgement. */
  lastFollowerFromAckMs: number;
}

/** F clients fetch `bytes` constant bytes from the trivial bytes route at the same moment. */
async function bytesCeiling(ctx: Context, clients: number, bytes: number): Promise<{ lastByteFromSendMs: Spread; complete: number }> {
  const conns = await openConnections(ctx, clients);
  await Promise.all(conns.map((c) => c.request({ path: "/__bench/bytes/1", headers: auth(ctx) }).catch(() => null))); // warm
  const sentAt = performance.now();
  const done = await Promise.race([
    Promise.all(conns.map((c) => c.request({ path: `/__bench/bytes/${bytes}`, headers: auth(ctx) }).catch(() => null))),
    sleep(ctx.settings.releaseTimeoutMs).then(() => null),
  ]);
  for (const c of conns) c.close();
  const times = (done ?? []).filter((r): r is RawResponse => r !== null && r.bodyBytes === bytes).map((r) => r.doneAt - sentAt);
  return { lastByteFromSendMs: spread(times), complete: times.length };
}

export async function logsScenario(ctx: Context, id: string): Promise<LogsResult> {
  const { settings } = ctx;
  const ceiling = await bytesCeiling(ctx, settings.logFollowers, settings.logBytes);
  const followers = await openConnections(ctx, settings.logFollowers);
  const lastByte: (number | undefined)[] = followers.map(() => undefined);
  const path = `/v1/client/fs/logs/${id}?task=redis&type=stdout&follow=true&plain=true`;
  // A follow stream only ends early when refused (or the task died): that is a failure here.
  let refused: string | undefined;
  for (const [i, follower] of followers.entries()) {
    follower
      .request({
        path,
        headers: auth(ctx),
        onBody: (total, at) => {
          if (total >= settings.logBytes && lastByte[i] === undefined) lastByte[i] = at;
        },
      })
      .then((response) => {
        refused ??= `status ${response.status}`;
      })
      .catch(() => undefined);
  }
  let open = 0;
  await waitFor(async () => {
    open = (await objectStats(ctx, id)).logFollowers;
    return open >= followers.length || refused !== undefined;
  }, settings.parkTimeoutMs);
  if (refused !== undefined) {
    for (const follower of followers) follower.close();
    throw new Error(`a log follower was answered before any append: ${refused}`);
  }
  const conn = writer(ctx);
  const chunk = new Uint8Array(settings.logPostBytes).fill(0x61);
  const posts = Math.ceil(settings.logBytes / settings.logPostBytes);
  const sentAt = performance.now();
  let ackAt = sentAt;
  for (let i = 0; i < posts; i++) {
    const write = await timedWrite(conn, ctx, "POST", `/v1/client/fs/logs/${id}?task=redis&type=stdout`, chunk);
    ackAt = write.ackAt;
  }
  await waitFor(() => lastByte.every((t) => t !== undefined), settings.releaseTimeoutMs, 5);
  for (const follower of followers) follower.close();
  conn.close();
  const arrived = lastByte.filter((t): t is number => t !== undefined);
  const slowest = Math.max(...arrived) - sentAt;
  return {
    ceiling,
    ratioToCeiling: round(slowest / ceiling.lastByteFromSendMs.max, 3),
    followers: followers.length,
    followersOpen: open,
    bytes: posts * settings.logPostBytes,
    posts,
    ackMs: round(ackAt - sentAt),
    complete: arrived.length,
    lastByteFromSendMs: spread(arrived.map((t) => t - sentAt)),
    lastFollowerFromAckMs: round(Math.max(...arrived) - ackAt),
  };
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
