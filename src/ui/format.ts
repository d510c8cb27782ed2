/**
 * Pure formatting for the pages: allocation ids as Nomad's CLI shortens them, times relative and
 * absolute (the exact value kept for a tooltip), and the tone (colour class) of a status word.
 */
import { formatUnixNanos, ZERO_TIME } from "../json/go-time.ts";

/** The first 8 hex digits, as `nomad alloc status` shows ids. */
export function shortId(id: string): string {
  return id.slice(0, 8);
}

/** Milliseconds since the epoch from unix nanoseconds (for display only; the exact value is kept). */
function nanosToMs(nanos: bigint): number {
  return Number(nanos / 1_000_000n);
}

const RFC3339 = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})$/i;

/** Milliseconds of an RFC 3339 time as Nomad writes it; undefined for Go's zero time or junk. */
export function rfc3339ToMs(text: string | undefined): number | undefined {
  if (!text || text === ZERO_TIME) return undefined;
  const match = RFC3339.exec(text);
  if (!match) return undefined;
  const fraction = (match[2] ?? "").slice(0, 3).padEnd(3, "0");
  const ms = Date.parse(`${match[1]}.${fraction}${match[3]}`);
  return Number.isNaN(ms) ? undefined : ms;
}

const UNITS: Array<[number, string]> = [
  [365 * 86_400_000, "y"],
  [30 * 86_400_000, "mo"],
  [86_400_000, "d"],
  [3_600_000, "h"],
  [60_000, "min"],
  [1000, "s"],
];

/** "12 s ago", "3 h ago", "in 5 min"; under a second: "just now". */
export function relativeTime(ms: number, nowMs: number): string {
  const delta = nowMs - ms;
  const size = Math.abs(delta);
  if (size < 1000) return "just now";
  for (const [unit, name] of UNITS) {
    if (size >= unit) {
      const count = Math.floor(size / unit);
      return delta >= 0 ? `${count} ${name} ago` : `in ${count} ${name}`;
    }
  }
  return "just now";
}

/** "2026-12-01 21:40:05 UTC": unambiguous for readers in every time zone. */
export function absoluteTime(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19).replace("T", " ")} UTC`;
}

/** A unix-nanosecond field for display: `exact` is the value itself and Go's RFC3339Nano of it. */
export function nanosTime(nanos: bigint): { ms: number; exact: string; iso: string } {
  return { ms: nanosToMs(nanos), exact: `${nanos} ns (${formatUnixNanos(nanos)})`, iso: formatUnixNanos(nanos) };
}

export type Tone = "ok" | "wait" | "done" | "bad" | "muted";

const TONES: Record<string, Tone> = {
  running: "ok",
  run: "ok",
  pending: "wait",
  unknown: "wait",
  complete: "done",
  dead: "done",
  stop: "muted",
  evict: "bad",
  failed: "bad",
  lost: "bad",
};

/** The colour class of a status; the word itself is always shown next to it. */
export function toneOf(status: string | undefined, failed = false): Tone {
  if (failed) return "bad";
  return TONES[status ?? ""] ?? "muted";
}
