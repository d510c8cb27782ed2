/**
 * The region catalog's scenarios: everything in a region that changes passes
 * through that region's single RegionCatalog object (an allocation write delivers its change there
 * before it is acknowledged), and the list and the event stream are served by it. Measured here:
 *
 * - the list endpoint (`GET /v1/allocations`, all allocations of a region and with a `prefix`),
 *   closed loop, against W0 and W1 measured interleaved in the same scenario;
 * - the region's write ceiling: task-event POSTs (batch 1) spread over many allocations of one
 *   region, next to writes into one allocation and writes spread over two regions;
 * - the event stream (`/v1/event/stream?topic=Allocation`): events/s delivered to 1 and to 10
 *   subscribers while the region write load runs, and the lag from each write's ack to its event.
 */
import { randomUUID } from "node:crypto";
import { median, percentile, round, type Spread, sleep, spread, waitFor } from "./measure.ts";
import { RawConnection } from "./raw-http.ts";
import { auth, type ClosedLoopFigure, type Context, closedLoop, eventBatch, loadAllocations, summarizeClosedLoops } from "./scenarios.ts";
import { HOST } from "./server.ts";

// ---------------------------------------------------------------------------------------------
// Shared: a closed write loop over raw keep-alive connections, and the catalog's counters

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
async function writeLoop(
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

interface CatalogStats {
  waiters: number;
  subscribers: number;
  index: number;
  floor: number;
}

async function catalogStats(ctx: Context, region: string): Promise<CatalogStats> {
  try {
    const response = await fetch(`${ctx.server.url}/__bench/catalog-stats/${region}`, { signal: AbortSignal.timeout(10_000) });
    return (await response.json()) as CatalogStats;
  } catch {
    return { waiters: -1, subscribers: -1, index: -1, floor: -1 };
  }
}

const taskEventsPath = (id: string, region: string) => `/v1/allocation/${id}/task-events?region=${region}`;

// ---------------------------------------------------------------------------------------------
// 1. GET /v1/allocations against W0 and W1

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

// ---------------------------------------------------------------------------------------------
// 2. The region's write ceiling

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

export interface RegionIds {
  single: string;
  global: string[];
  europe: string[];
}

/** Loads the allocations the write scenarios write to: one, and `regionAllocs` in each of two regions. */
export async function loadRegionIds(ctx: Context): Promise<RegionIds> {
  const n = ctx.settings.regionAllocs;
  const ids: RegionIds = {
    single: randomUUID(),
    global: Array.from({ length: n }, () => randomUUID()),
    europe: Array.from({ length: n }, () => randomUUID()),
  };
  await loadAllocations(ctx, [ids.single, ...ids.global], 8, "global");
  await loadAllocations(ctx, ids.europe, 8, "europe");
  return ids;
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

// ---------------------------------------------------------------------------------------------
// 3. The event stream under the region write load

export interface EventsPoint {
  subscribers: number;
  /** Subscribers the catalog counted before the writes started (streams closed earlier may still count). */
  counted: number;
  /** Subscribers the catalog still counted shortly after all of this point's streams were closed. */
  countedAfterClose?: number;
  /** The stream's `index` (the region index read before the writes, + 1). */
  fromIndex: number;
  writes: WriteLoopFigure;
  /** Events of the harness's acknowledged writes received, summed over subscribers. */
  delivered: number;
  /** acked writes × subscribers. */
  expected: number;
  /** Delivered events per second over all subscribers, from the first write sent to the last event received. */
  eventsPerS: number;
  /** The same per subscriber. */
  eventsPerSPerSubscriber: number;
  /** Per (subscriber, write): the event's arrival minus the write's acknowledgement (negative: before the writer saw its ack). */
  lagFromAckMs: Spread;
  /** Median lag of the events of the writes acknowledged in each second of the write load (0–1 s, 1–2 s, ...). */
  lagBySecondMs: number[];
  /** The last event's arrival after the last acknowledgement. */
  tailMs: number;
  heartbeats: number;
  /** Events received more than once by one subscriber, or out of index order. */
  duplicates: number;
  outOfOrder: number;
  streamErrors: number;
}

export interface EventsResult {
  region: string;
  points: EventsPoint[];
}

const KEY = /"Key":"([0-9a-f-]{36})"/;
const MODIFY_INDEX = /[,{]"ModifyIndex":(\d+)/g;
const LINE_INDEX = /"Index":(\d+)}$/;

interface Subscriber {
  conn: RawConnection;
  /** `${allocId}:${modifyIndex}` → arrival time, of every event received. */
  seen: Map<string, number>;
  heartbeats: number;
  duplicates: number;
  outOfOrder: number;
  /** Status of the stream's response head, once it arrived (the catalog registered the reader before it). */
  status?: number;
  ended: boolean;
}

function subscribe(ctx: Context, region: string, fromIndex: number): Subscriber {
  const sub: Subscriber = {
    conn: new RawConnection(HOST, ctx.server.port),
    seen: new Map(),
    heartbeats: 0,
    duplicates: 0,
    outOfOrder: 0,
    ended: false,
  };
  let partial = "";
  let lastIndex = 0;
  sub.conn
    .request({
      path: `/v1/event/stream?topic=Allocation&index=${fromIndex}&region=${region}`,
      headers: auth(ctx),
      onHead: (status) => {
        sub.status = status;
      },
      onData: (bytes, at) => {
        const lines = (partial + bytes.toString("latin1")).split("\n");
        partial = lines.pop() ?? "";
        for (const line of lines) {
          if (line === "{}") {
            sub.heartbeats++;
            continue;
          }
          const index = Number(LINE_INDEX.exec(line)?.[1] ?? 0);
          if (index <= lastIndex) sub.outOfOrder++;
          lastIndex = Math.max(lastIndex, index);
          const key = KEY.exec(line)?.[1];
          if (!key) continue;
          // The allocation's own ModifyIndex (the write's X-Nomad-Index); nested ones never match an ack.
          for (const match of line.matchAll(MODIFY_INDEX)) {
            const id = `${key}:${match[1]}`;
            if (sub.seen.has(id)) sub.duplicates++;
            else sub.seen.set(id, at);
          }
        }
      },
    })
    .then(
      () => {
        sub.ended = true;
      },
      () => {
        sub.ended = true;
      },
    );
  return sub;
}

export async function eventsScenario(ctx: Context, ids: RegionIds): Promise<EventsResult> {
  const { settings } = ctx;
  const region = "global";
  const paths = ids.global.map((id) => taskEventsPath(id, region));
  const points: EventsPoint[] = [];
  for (const n of settings.subscriberCounts) {
    const base = await catalogStats(ctx, region);
    const fromIndex = base.index + 1;
    const subs = Array.from({ length: n }, () => subscribe(ctx, region, fromIndex));
    // A stream's response head leaves the Worker after the catalog registered it as a reader.
    await waitFor(() => subs.every((s) => s.status !== undefined || s.ended), 10_000, 10);
    const refused = subs.find((s) => s.status !== 200);
    if (refused) {
      for (const sub of subs) sub.conn.close();
      throw new Error(`event stream: status ${refused.status ?? "none (connection ended)"}`);
    }
    const counted = (await catalogStats(ctx, region)).subscribers;
    const { figure, acks } = await writeLoop(ctx, paths, settings.writeConnections, settings.eventWriteDurationS);
    const keys = acks.map((a) => `${ids.global[a.path]}:${a.index}`);
    await waitFor(() => subs.every((s) => s.ended || keys.every((k) => s.seen.has(k))), settings.eventDrainMs, 20);
    const lags: number[] = [];
    const bySecond: number[][] = [];
    const loadStart = Math.min(...acks.map((a) => a.sentAt));
    let delivered = 0;
    let lastArrival = Number.NEGATIVE_INFINITY;
    for (const sub of subs) {
      for (const [i, ack] of acks.entries()) {
        const at = sub.seen.get(keys[i] as string);
        if (at === undefined) continue;
        delivered++;
        lags.push(at - ack.ackAt);
        const second = Math.floor((ack.ackAt - loadStart) / 1000);
        bySecond[second] = [...(bySecond[second] ?? []), at - ack.ackAt];
        lastArrival = Math.max(lastArrival, at);
      }
    }
    const streamErrors = subs.filter((s) => s.ended).length;
    for (const sub of subs) sub.conn.close();
    const firstSent = loadStart;
    const lastAck = Math.max(...acks.map((a) => a.ackAt));
    const spanS = (lastArrival - firstSent) / 1000;
    const point: EventsPoint = {
      subscribers: n,
      counted,
      fromIndex,
      writes: figure,
      delivered,
      expected: acks.length * n,
      eventsPerS: round(delivered / spanS, 1),
      eventsPerSPerSubscriber: round(delivered / spanS / n, 1),
      lagFromAckMs: spread(lags),
      lagBySecondMs: Array.from(bySecond, (values) => round(median(values ?? []))),
      tailMs: round(lastArrival - lastAck),
      heartbeats: subs.reduce((s, x) => s + x.heartbeats, 0),
      duplicates: subs.reduce((s, x) => s + x.duplicates, 0),
      outOfOrder: subs.reduce((s, x) => s + x.outOfOrder, 0),
      streamErrors,
    };
    ctx.log(
      `  ${n} subscriber(s): ${figure.wps} writes/s, ${point.delivered}/${point.expected} events, ${point.eventsPerS} events/s, lag p50 ${point.lagFromAckMs.p50} p99 ${point.lagFromAckMs.p99} ms`,
    );
    points.push(point);
    // Closed streams leave the catalog when it next writes to them (an event or a heartbeat), not at
    // once through wrangler dev's proxy: record how many are still counted shortly after closing.
    await sleep(settings.smoke ? 200 : 1000);
    point.countedAfterClose = (await catalogStats(ctx, region)).subscribers;
  }
  return { region, points };
}
