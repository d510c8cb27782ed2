/**
 * The crash test's clients: writers that append unique log lines and task events with idempotency
 * keys and retry every unanswered write unchanged until it is acknowledged, and readers that
 * long-poll allocations. Both pause while the server is down and carry on against the next server
 * life (a restarted `wrangler dev` on the same state, on a new port).
 */
import type { JournalFile, ReaderStats, Write, WriteKind } from "./history.ts";

/** One run of `wrangler dev` between two kills. */
export interface Life {
  n: number;
  url: string;
  /** Set just before SIGKILL: an error from now on is the kill's. */
  killing: boolean;
  /** The last life: writers retry what is unanswered, add a few fresh writes, then stop. */
  final: boolean;
  /** Per allocation, the index and log end read right after the restart (before any new write). */
  indexAtStart: Map<string, number>;
  logEndAtStart: Map<string, number>;
}

export const LOG_TASK = "redis";

export function logPath(alloc: string): string {
  return `/v1/client/fs/logs/${alloc}?task=${LOG_TASK}&type=stdout`;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A request that has not fully answered (body included) within the time allowed. */
export class TimedOut extends Error {}

/**
 * fetch plus the whole body, aborted after `ms` or when `stop` fires. One AbortController per
 * request, held by its timer: a signal composed with AbortSignal.any can be garbage-collected
 * while undici still reads the body, and then it never fires.
 */
export async function fetchText(
  url: string,
  init: RequestInit,
  ms: number,
  stop?: AbortSignal,
): Promise<{ response: Response; text: string }> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new TimedOut(`no full answer within ${ms} ms: ${init.method ?? "GET"} ${url}`)), ms);
  const onStop = () => controller.abort();
  stop?.addEventListener("abort", onStop, { once: true });
  try {
    const response = await fetch(url, { ...init, signal: controller.signal });
    return { response, text: await response.text() };
  } finally {
    clearTimeout(timer);
    stop?.removeEventListener("abort", onStop);
  }
}

/** Shared state of the clients: the current server life, the history, and the counters. */
export class Workload {
  readonly token: string;
  readonly runId: string;
  readonly allocs: string[];
  readonly journal: JournalFile;
  readonly writes: Write[] = [];
  readonly readers: ReaderStats[] = [];
  /** Highest index acknowledged per allocation (setup writes included). */
  readonly maxAcked = new Map<string, number>();
  /** Indexes acknowledged to the setup writes (PUT, then the events that start the task) per allocation. */
  readonly setupIndexes = new Map<string, number[]>();
  /** Writes sent and not yet answered (at most one per writer). */
  readonly inFlight = new Set<Write>();
  /** Anomalies that are not failures by themselves (kept for the report). */
  readonly notes: string[] = [];
  /** Failures found while running. */
  readonly violations: string[] = [];
  writerFiveXx = 0;
  writerFiveXxDuringKill = 0;
  writerRateLimited = 0;
  writerConnectionErrors = 0;
  tailWrites: number;
  #life: Life | undefined;
  #waiting: Array<(life: Life | undefined) => void> = [];
  #closed = false;
  readonly #readerStop = new AbortController();

  constructor(options: { token: string; runId: string; allocs: string[]; journal: JournalFile; tailWrites: number }) {
    this.token = options.token;
    this.runId = options.runId;
    this.allocs = options.allocs;
    this.journal = options.journal;
    this.tailWrites = options.tailWrites;
  }

  get life(): Life | undefined {
    return this.#life;
  }

  /** Publishes a server life: paused clients resume against it. */
  publish(life: Life): void {
    this.#life = life;
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const resolve of waiting) resolve(life);
  }

  /** Marks the current life as dying: clients stop sending to it. */
  down(): void {
    if (this.#life) this.#life.killing = true;
    this.#life = undefined;
  }

  /** Ends the run: paused clients return, readers' long-polls are aborted. */
  close(): void {
    this.#closed = true;
    this.#readerStop.abort();
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const resolve of waiting) resolve(undefined);
  }

  /** The live server, waiting through a restart; undefined once the run is closed. */
  async live(after = 0): Promise<Life | undefined> {
    if (this.#closed) return undefined;
    const life = this.#life;
    if (life && !life.killing && life.n > after) return life;
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  recordSetup(alloc: string, index: number): void {
    this.setupIndexes.set(alloc, [...(this.setupIndexes.get(alloc) ?? []), index]);
    this.maxAcked.set(alloc, Math.max(this.maxAcked.get(alloc) ?? 0, index));
  }

  #newWrite(writer: number, seq: number): Write {
    const alloc = this.allocs[writer % this.allocs.length] as string;
    const kind: WriteKind = seq % 2 === 1 ? "log" : "event";
    const key = `${this.runId}-w${writer}-s${seq}`;
    if (kind === "log") {
      const payload = `${this.runId} w=${writer} s=${seq}\n`;
      return { writer, seq, kind, alloc, key, path: logPath(alloc), body: payload, payload, attempts: 0, firstSentAt: 0, firstSentLife: 0 };
    }
    const payload = `${this.runId} w=${writer} s=${seq}`;
    const body = JSON.stringify({ Events: [{ Task: LOG_TASK, State: "running", Event: { Type: "Driver", DriverMessage: payload } }] });
    return {
      writer,
      seq,
      kind,
      alloc,
      key,
      path: `/v1/allocation/${alloc}/task-events`,
      body,
      payload,
      attempts: 0,
      firstSentAt: 0,
      firstSentLife: 0,
    };
  }

  #acknowledge(write: Write, life: Life, value: number): void {
    write.ackAt = performance.now();
    write.ackLife = life.n;
    write.ack = value;
    if (write.inDoubt) {
      // Applied before this life began (answered from the idempotency record) or by this attempt.
      const before = write.kind === "log" ? life.logEndAtStart.get(write.alloc) : life.indexAtStart.get(write.alloc);
      write.replayed = before !== undefined && value <= before;
    }
    if (write.kind === "event") this.maxAcked.set(write.alloc, Math.max(this.maxAcked.get(write.alloc) ?? 0, value));
    this.journal.append({
      ack: write.key,
      kind: write.kind,
      alloc: write.alloc,
      value,
      attempts: write.attempts,
      life: life.n,
      replayed: write.replayed ?? false,
      at: new Date().toISOString(),
    });
  }

  /**
   * One writer: sequential writes (odd seq: a log line, even: a task event) to its allocation.
   * An unanswered write is retried with the same key, path and body until a 2xx arrives.
   */
  async writer(writer: number): Promise<void> {
    let seq = 0;
    let pending: Write | undefined;
    let tail = 0;
    for (;;) {
      const life = await this.live();
      if (!life) return;
      if (!pending) {
        if (life.final) {
          if (tail >= this.tailWrites) return;
          tail++;
        }
        seq++;
        pending = this.#newWrite(writer, seq);
        this.writes.push(pending);
      }
      const write = pending;
      if (write.attempts === 0) {
        write.firstSentAt = performance.now();
        write.firstSentLife = life.n;
      }
      write.attempts++;
      this.inFlight.add(write);
      let response: Response;
      let text: string;
      try {
        ({ response, text } = await fetchText(
          `${life.url}${write.path}`,
          { method: "POST", body: write.body, headers: { "X-Nomad-Token": this.token, "Idempotency-Key": write.key } },
          15_000,
        ));
      } catch (error) {
        this.writerConnectionErrors++;
        if (life.killing) {
          write.inDoubt = true;
          this.inFlight.delete(write);
          await this.live(life.n);
        } else {
          this.inFlight.delete(write);
          this.notes.push(`writer ${writer}: ${write.key} attempt ${write.attempts} failed with the server up: ${String(error)}`);
          await sleep(100);
        }
        continue;
      }
      this.inFlight.delete(write);
      if (response.status === 200) {
        const answer = JSON.parse(text) as { Offset?: number; Index?: number };
        const value = write.kind === "log" ? answer.Offset : answer.Index;
        if (typeof value !== "number") {
          this.violations.push(`writer ${writer}: ${write.key} acknowledged without a number: ${text}`);
          return;
        }
        this.#acknowledge(write, life, value);
        pending = undefined;
      } else if (response.status === 429) {
        this.writerRateLimited++;
        await sleep(Math.max(100, Number(response.headers.get("Retry-After") ?? "1") * 1000));
      } else if (response.status >= 500) {
        if (life.killing) this.writerFiveXxDuringKill++;
        else {
          this.writerFiveXx++;
          this.violations.push(`writer ${writer}: ${write.key} got ${response.status} with the server up: ${text.slice(0, 300)}`);
        }
        write.inDoubt = true;
        await sleep(100);
      } else {
        // 4xx: the request itself was refused (422 would be a key reused with another body).
        this.violations.push(`writer ${writer}: ${write.key} refused with ${response.status}: ${text.slice(0, 300)}`);
        return;
      }
    }
  }

  /**
   * One reader: Nomad blocking queries on its allocation (anonymous, as the demo allows), each
   * answer's index checked against the previous one and against every index acknowledged to a
   * writer before the query was sent.
   */
  async reader(reader: number, waitMs: number): Promise<void> {
    const alloc = this.allocs[reader % this.allocs.length] as string;
    const stats: ReaderStats = {
      reader,
      alloc,
      requests: 0,
      ok: 0,
      indexes: [],
      connectionErrors: 0,
      rateLimited: 0,
      fiveXxDuringKill: 0,
      fiveXx: 0,
      hangs: 0,
      doing: "starting",
    };
    this.readers.push(stats);
    // Nomad's jitter is wait/16; the grace covers a busy 2-core machine.
    const hangMs = waitMs + waitMs / 16 + 5_000;
    let last = 0;
    for (;;) {
      const life = await this.live();
      // The run may have closed while this continuation was queued: send nothing more then.
      if (!life || this.#readerStop.signal.aborted) return;
      const floor = this.maxAcked.get(alloc) ?? 0;
      stats.requests++;
      stats.doing = `query ${stats.requests} (life ${life.n}, index=${last}) sent at ${new Date().toISOString()}`;
      let response: Response;
      let text: string;
      try {
        ({ response, text } = await fetchText(
          `${life.url}/v1/allocation/${alloc}?index=${last}&wait=${waitMs}ms`,
          {},
          hangMs,
          this.#readerStop.signal,
        ));
      } catch (error) {
        stats.doing = `query ${stats.requests} failed: ${String(error)}`;
        if (this.#readerStop.signal.aborted) return;
        stats.connectionErrors++;
        if (life.killing) await this.live(life.n);
        else if (error instanceof TimedOut) {
          stats.hangs++;
          this.violations.push(`reader ${reader}: a blocking query (index=${last}) got no answer within ${hangMs} ms`);
        } else {
          this.notes.push(`reader ${reader}: request failed with the server up: ${String(error)}`);
          await sleep(100);
        }
        continue;
      }
      if (response.status === 200) {
        stats.ok++;
        const index = Number(response.headers.get("X-Nomad-Index"));
        const modifyIndex = (JSON.parse(text) as { ModifyIndex?: number }).ModifyIndex;
        if (modifyIndex !== index) this.violations.push(`reader ${reader}: X-Nomad-Index ${index} but ModifyIndex ${modifyIndex}`);
        if (index < last) this.violations.push(`reader ${reader}: index went back from ${last} to ${index} (server life ${life.n})`);
        if (index < floor) {
          this.violations.push(`reader ${reader}: index ${index} is below ${floor}, acknowledged before the query (server life ${life.n})`);
        }
        if (index !== last) stats.indexes.push(index);
        last = Math.max(last, index);
      } else if (response.status === 429) {
        stats.rateLimited++;
        await sleep(Math.max(100, Number(response.headers.get("Retry-After") ?? "1") * 1000));
      } else if (response.status >= 500) {
        if (life.killing) stats.fiveXxDuringKill++;
        else {
          stats.fiveXx++;
          this.violations.push(`reader ${reader}: ${response.status} with the server up: ${text.slice(0, 300)}`);
        }
        await sleep(100);
      } else {
        this.violations.push(`reader ${reader}: unexpected ${response.status}: ${text.slice(0, 300)}`);
        await sleep(500);
      }
    }
  }
}
