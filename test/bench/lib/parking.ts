/** Parked requests: opening many connections, and one park-and-release round timed answer by answer. */
import { auth, type Context } from "./context.ts";
import { round, sleep, waitFor } from "./measure.ts";
import { RawConnection, type RawResponse } from "./raw-http.ts";
import { HOST } from "./server.ts";
import type { TimedWrite } from "./writes.ts";

/** Opens n connections, `batch` at a time, each batch connected (or 5 s passed). */
export async function openConnections(ctx: Context, n: number, batch = 250, port = ctx.server.port): Promise<RawConnection[]> {
  const conns: RawConnection[] = [];
  for (let i = 0; i < n; i += batch) {
    const group = Array.from({ length: Math.min(batch, n - i) }, () => new RawConnection(HOST, port));
    conns.push(...group);
    await Promise.race([Promise.all(group.map((c) => c.connected)), sleep(5000)]);
  }
  return conns;
}

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

/**
 * Parks one request per connection (`path`), waits until `parkedCount()` sees them all (or one was
 * answered early), runs `trigger` (timed: the write or release that answers them), and times every
 * answer. `ramp` opens the first round a few hundred at a time; later rounds re-poll all at once, as
 * woken clients do. `afterParked` runs while all are parked (the memory reading).
 */
export async function releaseRound(
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
