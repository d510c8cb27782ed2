/**
 * The history of a crash-safety run (test/crash/run.ts): every write the harness made (with its
 * idempotency key, attempts and acknowledgement), every index a reader saw, and every kill. The
 * checks in verify.ts compare this history with what the server holds after the last restart.
 */
import { closeSync, fsyncSync, openSync, writeSync } from "node:fs";

export type WriteKind = "log" | "event";

export interface Write {
  writer: number;
  seq: number;
  kind: WriteKind;
  /** The allocation written to. */
  alloc: string;
  /** The Idempotency-Key, unique per (run, writer, seq) and reused unchanged by every retry. */
  key: string;
  /** Request path (with query) and body: identical on every attempt. */
  path: string;
  body: string;
  /** The unique log line (newline included) or the event's DriverMessage. */
  payload: string;
  attempts: number;
  /** performance.now() just before the first attempt was sent; the server cannot have applied it earlier. */
  firstSentAt: number;
  /** Server life (1-based) of the first attempt. */
  firstSentLife: number;
  /** performance.now() when the 2xx answer was in hand; the server applied it before that. */
  ackAt?: number;
  ackLife?: number;
  /** The acknowledged `Offset` (log: the stream's end just after this line) or `Index` (event). */
  ack?: number;
  /** At least one attempt was lost to a kill (sent, never answered). */
  inDoubt?: boolean;
  /** A retry answered with the original result: the write had been applied before a kill. */
  replayed?: boolean;
}

/** An index a reader's long-poll answered with, and the floor it had to reach. */
export interface ReaderStats {
  reader: number;
  alloc: string;
  requests: number;
  ok: number;
  /** Distinct indexes seen, in order. */
  indexes: number[];
  connectionErrors: number;
  rateLimited: number;
  /** 5xx answers received after the kill of that server life had started (the dev proxy dying). */
  fiveXxDuringKill: number;
  /** 5xx answers at any other time: a failure. */
  fiveXx: number;
  /** Long-polls that outlived wait + jitter + grace while the server was up: a failure. */
  hangs: number;
  /** What the reader is doing (for the report when it does not stop). */
  doing: string;
}

export interface KillRecord {
  /** 1-based kill number; server life `cycle` ended with it. */
  cycle: number;
  /** Milliseconds between the server life going live (writers released) and SIGKILL. */
  afterMs: number;
  /** Writes that had been sent and were not yet answered when the group was killed. */
  inFlightWrites: number;
  acknowledgedBefore: number;
  /** Time to restart `wrangler dev` on the same state (until the demo allocation answers 200 again). */
  restartMs: number;
}

/** mulberry32: a small seeded PRNG, so a failing run's kill times and ids can be replayed with its seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A UUID-shaped allocation id drawn from the PRNG. */
export function randomUuid(random: () => number): string {
  const hex = Array.from({ length: 32 }, () => Math.floor(random() * 16).toString(16)).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * An append-only JSON-lines file: one line per acknowledged write (written as soon as the 2xx is in
 * hand) and per kill, so a failing run leaves its evidence behind. Synced at every kill.
 */
export class JournalFile {
  readonly #fd: number;

  constructor(path: string) {
    this.#fd = openSync(path, "a");
  }

  append(record: object): void {
    writeSync(this.#fd, `${JSON.stringify(record)}\n`);
  }

  sync(): void {
    fsyncSync(this.#fd);
  }

  close(): void {
    fsyncSync(this.#fd);
    closeSync(this.#fd);
  }
}
