/**
 * The event stream (`/v1/event/stream?topic=Allocation`): events/s delivered to 1 and to 10
 * subscribers while the region write load runs, and the lag from each write's ack to its event.
 */
import { auth, type Context } from "../lib/context.ts";
import { type WriteLoopFigure, writeLoop } from "../lib/loops.ts";
import { median, round, type Spread, sleep, spread, waitFor } from "../lib/measure.ts";
import { RawConnection } from "../lib/raw-http.ts";
import { HOST } from "../lib/server.ts";
import { catalogStats } from "../lib/stats.ts";
import { type RegionIds, taskEventsPath } from "../lib/writes.ts";

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
