/**
 * The benchmark scenarios (what each measures, and the results: docs/benchmarks.md). Each one is
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
  /** Blocking wake-up: N waiters, and the route they take (N = 10,000 cannot fit through wrangler's proxy here). */
  wakePoints: { n: number; via: WakeRoute }[];
  wakeRounds: (n: number) => number;
  /** Memory per parked waiter: N parked on a fresh server per kind (P1 ceiling, real). */
  memoryWaiters: number;
  baselineWrites: number;
  parkTimeoutMs: number;
  releaseTimeoutMs: number;
  /** Task-event ingest. */
  ingestBatches: number[];
  ingestConnections: number;
  ingestDurationS: number;
  /** Logs follow: followers, rounds (one allocation each), bytes appended per round. */
  logFollowers: number;
  logRounds: number;
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
  getDurationS: 3,
  getRounds: 3,
  warmupS: 1,
  spreadCount: 100,
  halfLoadDurationS: 4,
  halfLoadPool: 64,
  wakePoints: [
    { n: 1, via: "proxy" },
    { n: 100, via: "proxy" },
    { n: 1000, via: "proxy" },
  ],
  memoryWaiters: 1000,
  wakeRounds: (n) => (n <= 100 ? 5 : n <= 1000 ? 3 : 1),
  baselineWrites: 15,
  parkTimeoutMs: 45_000,
  releaseTimeoutMs: 20_000,
  ingestBatches: [1, 10, 100],
  ingestConnections: 4,
  ingestDurationS: 4,
  logFollowers: 100,
  logRounds: 3,
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
  wakePoints: [
    { n: 1, via: "proxy" },
    { n: 10, via: "proxy" },
    { n: 10, via: "direct" },
  ],
  memoryWaiters: 10,
  wakeRounds: () => 1,
  baselineWrites: 3,
  parkTimeoutMs: 10_000,
  releaseTimeoutMs: 10_000,
  ingestBatches: [1, 10, 100],
  ingestConnections: 2,
  ingestDurationS: 1,
  logFollowers: 3,
  logRounds: 1,
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

interface TimedWrite {
  status: number;
  sentAt: number;
  ackAt: number;
  ackMs: number;
  index: number;
  response: RawResponse;
}

async function timedWrite(conn: RawConnection, ctx: Context, method: string, path: string, body: string | Uint8Array): Promise<TimedWrite> {
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

// ---------------------------------------------------------------------------------------------
// 2 + 3. Blocking wake-up, the write's own latency, memory per parked waiter

/** How the waiters reach the Worker: through wrangler dev's proxy (every other scenario) or straight to the Worker's workerd. */
export type WakeRoute = "proxy" | "direct";

/** One park-and-release: N requests parked, one write (or release) answers them all. */
interface ReleaseRound {
  parked: number;
  parkMs: number;
  ackMs: number;
  /** Per released request: full response minus the trigger's ack, and minus its send. */
  fromAckMs: number[];
  fromSendMs: number[];
  lastFromAckMs: number;
  /** Answers per second: N / (last full response − trigger sent). */
  perS: number;
  released: number;
  errors: number;
  firstError?: string;
}

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

/** Opens n connections, `batch` at a time, each batch connected (or 5 s passed). */
async function openConnections(ctx: Context, n: number, batch = 250, port = ctx.server.port): Promise<RawConnection[]> {
  const conns: RawConnection[] = [];
  for (let i = 0; i < n; i += batch) {
    const group = Array.from({ length: Math.min(batch, n - i) }, () => new RawConnection(HOST, port));
    conns.push(...group);
    await Promise.race([Promise.all(group.map((c) => c.connected)), sleep(5000)]);
  }
  return conns;
}

/**
 * Parks one request per connection (`path`), waits until `parkedCount()` sees them all (or one was
 * answered early), runs `trigger` (timed: the write or release that answers them), and times every
 * answer. `ramp` opens the first round a few hundred at a time; later rounds re-poll all at once, as
 * woken clients do. `afterParked` runs while all are parked (the memory reading).
 */
async function releaseRound(
  ctx: Context,
  conns: RawConnection[],
  options: {
    path: string;
    parkedCount: () => Promise<number>;
    trigger: () => Promise<TimedWrite>;
    accept: (response: RawResponse) => boolean;
    ramp: boolean;
    afterParked?: () => Promise<void>;
    /** How long to wait for every answer after the trigger (default: the settings'). */
    releaseTimeoutMs?: number;
    /** Open the connections here, each just before its request, up to `count` (appended to `conns`). */
    connect?: { count: number; open: () => RawConnection };
  },
): Promise<ReleaseRound> {
  const { settings } = ctx;
  const n = options.connect?.count ?? conns.length;
  const parkStart = performance.now();
  const waits: Promise<RawResponse | null>[] = [];
  for (let i = 0; i < n; i++) {
    if (options.connect && i >= conns.length) conns.push(options.connect.open());
    const c = conns[i] as RawConnection;
    waits.push(c.request({ path: options.path, headers: auth(ctx) }).catch(() => null));
    if (options.ramp && i % 250 === 249) await sleep(10);
  }
  const live = () => conns.filter((c) => !c.closed).length;
  let answered = 0;
  for (const wait of waits) void wait.then(() => answered++);
  let parked = 0;
  await waitFor(
    async () => {
      parked = await options.parkedCount();
      // A request answered before the trigger was refused (or timed out): stop waiting.
      return parked >= live() || answered > 0;
    },
    settings.parkTimeoutMs,
    n >= 1000 ? 200 : 50,
  );
  const parkMs = round(performance.now() - parkStart);
  await options.afterParked?.();
  const write = await options.trigger();
  // Each answer as it arrives, so a release cut off by the deadline still counts what it answered.
  const answers: (RawResponse | null | undefined)[] = waits.map(() => undefined);
  const all = Promise.all(waits.map((wait, i) => wait.then((response) => (answers[i] = response))));
  await Promise.race([all, sleep(options.releaseTimeoutMs ?? settings.releaseTimeoutMs)]);
  const round_: ReleaseRound = {
    parked,
    parkMs,
    ackMs: round(write.ackMs),
    fromAckMs: [],
    fromSendMs: [],
    lastFromAckMs: Number.NaN,
    perS: Number.NaN,
    released: 0,
    errors: 0,
  };
  let last = Number.NEGATIVE_INFINITY;
  for (const response of answers) {
    if (!response || !options.accept(response)) {
      round_.errors++;
      round_.firstError ??=
        response === undefined
          ? "not answered before the deadline"
          : response === null
            ? "connection failed"
            : `status ${response.status}, index ${response.headers.get("x-nomad-index")}`;
      continue;
    }
    round_.released++;
    round_.fromAckMs.push(response.doneAt - write.ackAt);
    round_.fromSendMs.push(response.doneAt - write.sentAt);
    last = Math.max(last, response.doneAt - write.ackAt);
  }
  round_.lastFromAckMs = round(last);
  round_.perS = round((n * 1000) / (last + write.ackAt - write.sentAt), 0);
  return round_;
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

/**
 * What is parked: P0 (a request held in the Worker, no Durable Object), P1 bare, P1 holding the
 * client's abort signal (as a real waiter does), the real blocking query, and the real one without
 * wrangler dev's emulation of the rate-limit binding.
 */
export type MemoryKind = "worker" | "ceiling" | "ceiling-signal" | "real" | "real-unlimited";

const MEMORY_KINDS: Record<
  MemoryKind,
  {
    path: (id: string, index: number) => string;
    counted: (stats: ObjectStats) => number | undefined;
    release: "write" | "release" | "release0";
  }
> = {
  worker: { path: () => "/__bench/park0", counted: (s) => s.workerParked, release: "release0" },
  ceiling: { path: (id) => `/__bench/park/${id}`, counted: (s) => s.ceilingParked, release: "release" },
  "ceiling-signal": { path: (id) => `/__bench/park-signal/${id}`, counted: (s) => s.ceilingParked, release: "release" },
  real: { path: (id, index) => `/v1/allocation/${id}?index=${index}&wait=120s`, counted: (s) => s.waiters, release: "write" },
  "real-unlimited": {
    path: (id, index) => `/__bench/unlimited/v1/allocation/${id}?index=${index}&wait=120s`,
    counted: (s) => s.waiters,
    release: "write",
  },
};

/** N parked on a freshly started server, one kind per server. */
export interface MemoryPoint {
  kind: MemoryKind;
  parked: number;
  /** VmRSS of the Worker's workerd and of wrangler's proxy workerd, before and with N parked. */
  userRss0KiB: number;
  userRssNKiB: number;
  proxyRss0KiB: number;
  proxyRssNKiB: number;
  userBytesPerParked: number;
  proxyBytesPerParked: number;
  /** The release: answered, failed, and the last answer after the trigger's ack. */
  released: number;
  errors: number;
  lastFromAckMs: number;
  /** What the first failed answer was, if any. */
  firstError?: string;
  /** The Worker's workerd was replaced meanwhile (it crashed and wrangler restarted it). */
  restarted: boolean;
}

export interface MemoryResult {
  n: number;
  via: WakeRoute;
  points: MemoryPoint[];
  /** Real waiter's RSS growth / the ceilings' (bare, with the signal), in the Worker's workerd. */
  userRatio: number;
  userRatioVsSignal: number;
  /** Each kind's error, when its server could not park or release N (the runtime's limit). */
  failures: Record<string, string>;
}

/**
 * Memory per parked waiter, each kind on a server of its own: freshly started, one allocation
 * loaded, a warm-up of 10 parked and released (first-use costs are not per waiter), then N
 * connections opened and the baseline read, N parked and read again, then released.
 * A fresh process per kind, because workerd's allocator keeps what it once held: on a shared
 * server whichever kind runs second reuses the first one's memory and looks free.
 */
export async function memoryScenario(
  ctx: Context,
  fresh: () => Promise<BenchServer>,
  n: number,
  via: WakeRoute,
  kinds: MemoryKind[] = ["worker", "ceiling", "ceiling-signal", "real", "real-unlimited"],
): Promise<MemoryResult> {
  const points: MemoryPoint[] = [];
  const failures: Record<string, string> = {};
  const settle = () => sleep(ctx.settings.smoke ? 200 : 1000);
  for (const kind of kinds) {
    const server = await fresh();
    const c: Context = { ...ctx, server };
    let conns: RawConnection[] = [];
    let writerConn: RawConnection | undefined;
    try {
      const id = crypto.randomUUID();
      await loadAllocations(c, [id]);
      // P0 answers W0's bytes: the allocation's real read.
      const prime = await fetch(`${server.url}/__bench/w0?prime=${id}`);
      await prime.arrayBuffer();
      writerConn = writer(c);
      const pids = server.workerd();
      const path = `/v1/allocation/${id}`;
      const body = allocationJson(id);
      const round_ = async (
        on: RawConnection[],
        ramp: boolean,
        connect?: { count: number; open: () => RawConnection },
        afterParked?: () => Promise<void>,
      ) => {
        const current = (await objectStats(c, id)).index;
        return releaseRound(c, on, {
          path: MEMORY_KINDS[kind].path(id, current),
          parkedCount: async () => MEMORY_KINDS[kind].counted(await objectStats(c, id)) ?? -1,
          trigger: () => {
            // The writer's connection sat idle while N parked; wrangler's proxy may have closed it.
            if (!writerConn || writerConn.closed) writerConn = writer(c);
            const release = MEMORY_KINDS[kind].release;
            return release === "write"
              ? timedWrite(writerConn, c, "PUT", path, body)
              : timedWrite(writerConn, c, "POST", release === "release0" ? "/__bench/release0" : `/__bench/release/${id}`, "");
          },
          accept: (response) => response.status === 200,
          ramp,
          afterParked,
          connect,
          // Thousands answer at a few hundred per second on this machine.
          releaseTimeoutMs: Math.max(ctx.settings.releaseTimeoutMs, n * 6),
        });
      };
      const port = via === "proxy" ? server.port : await server.workerPort();
      const warm = await openConnections(c, 10, 250, port);
      await round_(warm, false);
      for (const conn of warm) conn.close();
      // Up to 1,000, the connections are open before the baseline (RSS per parked request without
      // its connection); above, each opens just before its request: thousands of idle connections
      // to the Worker's own workerd crash it (SIGTRAP) within about a second.
      const connectAsYouGo = n > 1000 ? { count: n, open: () => new RawConnection(HOST, port) } : undefined;
      if (!connectAsYouGo) conns = await openConnections(c, n, 250, port);
      await settle();
      const userRss0 = rssKiB(pids.user);
      const proxyRss0 = rssKiB(pids.proxy);
      let userRssN = Number.NaN;
      let proxyRssN = Number.NaN;
      const result = await round_(conns, true, connectAsYouGo, async () => {
        await settle();
        userRssN = rssKiB(pids.user);
        proxyRssN = rssKiB(pids.proxy);
      });
      const point: MemoryPoint = {
        kind,
        parked: result.parked,
        userRss0KiB: userRss0,
        userRssNKiB: userRssN,
        proxyRss0KiB: proxyRss0,
        proxyRssNKiB: proxyRssN,
        userBytesPerParked: round(((userRssN - userRss0) * 1024) / n, 0),
        proxyBytesPerParked: round(((proxyRssN - proxyRss0) * 1024) / n, 0),
        released: result.released,
        errors: result.errors,
        lastFromAckMs: result.lastFromAckMs,
        firstError: result.firstError,
        restarted: server.workerd().user !== pids.user,
      };
      points.push(point);
      ctx.log(
        `  ${kind}: ${point.parked}/${n} parked via ${via}, ${point.userBytesPerParked} B RSS per parked request, ${point.released} released, last ${point.lastFromAckMs} ms after the ack${point.restarted ? "; the Worker's workerd was restarted" : ""}`,
      );
    } catch (error) {
      failures[kind] = error instanceof Error ? error.message : String(error);
      ctx.log(`  ${kind}: failed: ${failures[kind]}`);
    } finally {
      for (const conn of conns) conn.close();
      writerConn?.close();
      await server.stop();
    }
  }
  const by = (kind: string) => points.find((p) => p.kind === kind);
  return {
    n,
    via,
    points,
    userRatio: round((by("real")?.userBytesPerParked ?? Number.NaN) / (by("ceiling")?.userBytesPerParked ?? Number.NaN), 3),
    userRatioVsSignal: round((by("real")?.userBytesPerParked ?? Number.NaN) / (by("ceiling-signal")?.userBytesPerParked ?? Number.NaN), 3),
    failures,
  };
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

/** Logs follow: the round with the median last byte, and every round's figures. */
export interface LogsResult extends LogsRound {
  rounds: { lastByteMs: number; ceilingMs: number; ratio: number }[];
}

export interface LogsRound {
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

/**
 * One round per allocation in `ids` (each its own object, so followers a previous round left behind
 * — wrangler dev does not pass client disconnects on — never share the new round's appends), the
 * ceiling measured right before each round.
 */
export async function logsScenario(ctx: Context, ids: string[]): Promise<LogsResult> {
  const rounds: LogsRound[] = [];
  for (const id of ids) {
    const round_ = await logsRound(ctx, id);
    rounds.push(round_);
    ctx.log(`  round: last byte ${round_.lastByteFromSendMs.max} ms, ceiling ${round_.ceiling.lastByteFromSendMs.max} ms`);
  }
  const sorted = [...rounds].sort((a, b) => a.lastByteFromSendMs.max - b.lastByteFromSendMs.max);
  const middle = sorted[Math.floor((sorted.length - 1) / 2)] as LogsRound;
  return {
    ...middle,
    rounds: rounds.map((r) => ({
      lastByteMs: r.lastByteFromSendMs.max,
      ceilingMs: r.ceiling.lastByteFromSendMs.max,
      ratio: r.ratioToCeiling,
    })),
  };
}

async function logsRound(ctx: Context, id: string): Promise<LogsRound> {
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
