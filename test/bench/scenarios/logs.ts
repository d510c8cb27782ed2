/**
 * Logs follow: F followers on one task, bytes appended, time to the last follower's last byte, beside
 * the same clients fetching the same bytes from a trivial route (docs/benchmarks.md).
 */
import { auth, type Context } from "../lib/context.ts";
import { round, type Spread, sleep, spread, waitFor } from "../lib/measure.ts";
import { openConnections } from "../lib/parking.ts";
import type { RawResponse } from "../lib/raw-http.ts";
import { objectStats } from "../lib/stats.ts";
import { timedWrite, writer } from "../lib/writes.ts";

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
