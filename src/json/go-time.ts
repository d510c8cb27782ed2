/**
 * Go `time.Time` and `time.Duration` as Nomad writes them, computed on exact integers.
 * Nanosecond values are BigInt throughout: they exceed 2^53.
 */

/** Go's zero `time.Time` in RFC 3339: what Nomad writes for an unset StartedAt/FinishedAt. */
export const ZERO_TIME = "0001-01-01T00:00:00Z";

const NS_PER_SECOND = 1_000_000_000n;
const NS_PER_MS = 1_000_000n;

/** Formats unix nanoseconds as Go's RFC3339Nano in UTC (fraction with trailing zeros trimmed). */
export function formatUnixNanos(nanos: bigint): string {
  let seconds = nanos / NS_PER_SECOND;
  let fraction = nanos % NS_PER_SECOND;
  if (fraction < 0n) {
    fraction += NS_PER_SECOND;
    seconds -= 1n;
  }
  const iso = new Date(Number(seconds) * 1000).toISOString(); // YYYY-MM-DDTHH:MM:SS.000Z
  const base = iso.slice(0, 19);
  const digits = fraction.toString().padStart(9, "0").replace(/0+$/, "");
  return digits ? `${base}.${digits}Z` : `${base}Z`;
}

/** The current time in exact unix nanoseconds (millisecond resolution: what the runtime exposes). */
export function nowUnixNanos(): bigint {
  return BigInt(Date.now()) * NS_PER_MS;
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

/**
 * Parses an RFC 3339 timestamp (as Go's `time.Time` JSON decoder accepts it) and returns it
 * re-formatted the way Go writes it back: RFC3339Nano, trailing zeros trimmed, the offset kept.
 * Returns undefined when the text is not a valid timestamp.
 */
export function normalizeRfc3339(text: string): string | undefined {
  const m = RFC3339.exec(text);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, frac, z, sign, oh, om] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  if (Number(h) > 23 || Number(mi) > 59 || Number(s) > 59) return undefined;
  if (oh !== undefined && (Number(oh) > 23 || Number(om) > 59)) return undefined;
  const digits = (frac ?? "").replace(/0+$/, "");
  const offset = z !== undefined || (Number(oh) === 0 && Number(om) === 0) ? "Z" : `${sign}${oh}:${om}`;
  return `${y}-${mo}-${d}T${h}:${mi}:${s}${digits ? `.${digits}` : ""}${offset}`;
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

const UNIT_NANOS: Record<string, bigint> = {
  ns: 1n,
  us: 1_000n,
  µs: 1_000n,
  μs: 1_000n,
  ms: 1_000_000n,
  s: NS_PER_SECOND,
  m: 60n * NS_PER_SECOND,
  h: 3600n * NS_PER_SECOND,
};
const INT64_MAX = (1n << 63n) - 1n;
const DURATION_PART = /^(\d*)(?:\.(\d*))?(ns|us|µs|μs|ms|s|m|h)/;

/**
 * Go's `time.ParseDuration`: `10s`, `1.5m`, `300000ms`, `1h2m3.5s`, `-5s`, `0`.
 * A bare number other than 0 has no unit and is rejected, as in Go. Returns nanoseconds, or
 * undefined when the text is not a duration (or overflows int64).
 */
export function parseGoDuration(text: string): bigint | undefined {
  let rest = text;
  let negative = false;
  if (rest.startsWith("-") || rest.startsWith("+")) {
    negative = rest.startsWith("-");
    rest = rest.slice(1);
  }
  if (rest === "0") return 0n;
  if (rest === "") return undefined;
  let total = 0n;
  while (rest !== "") {
    const m = DURATION_PART.exec(rest);
    if (!m) return undefined;
    const [whole, intPart = "", fracPart, unit = ""] = m;
    if (intPart === "" && (fracPart === undefined || fracPart === "")) return undefined;
    const unitNanos = UNIT_NANOS[unit] ?? 0n;
    let part = BigInt(intPart || "0") * unitNanos;
    if (fracPart) {
      // Exact: scale the fraction digits by the unit, truncating below a nanosecond as Go does.
      part += (BigInt(fracPart) * unitNanos) / 10n ** BigInt(fracPart.length);
    }
    total += part;
    if (total > INT64_MAX) return undefined;
    rest = rest.slice(whole.length);
  }
  return negative ? -total : total;
}

/** Go's `time.Duration.String()`: `0s`, `250ms`, `1.5s`, `1m30s`, `2h0m0s`. */
export function formatGoDuration(nanos: bigint): string {
  if (nanos === 0n) return "0s";
  const sign = nanos < 0n ? "-" : "";
  const abs = nanos < 0n ? -nanos : nanos;
  if (abs < NS_PER_SECOND) {
    const [unit, size] = abs < 1_000n ? ["ns", 1n] : abs < NS_PER_MS ? ["µs", 1_000n] : ["ms", NS_PER_MS];
    return `${sign}${withFraction(abs, size)}${unit}`;
  }
  const hours = abs / (3600n * NS_PER_SECOND);
  const minutes = (abs / (60n * NS_PER_SECOND)) % 60n;
  const secondsNanos = abs % (60n * NS_PER_SECOND);
  const seconds = `${withFraction(secondsNanos, NS_PER_SECOND)}s`;
  if (hours > 0n) return `${sign}${hours}h${minutes}m${seconds}`;
  if (minutes > 0n) return `${sign}${minutes}m${seconds}`;
  return `${sign}${seconds}`;
}

function withFraction(value: bigint, unit: bigint): string {
  const whole = value / unit;
  const frac = value % unit;
  if (frac === 0n) return whole.toString();
  const width = unit.toString().length - 1;
  return `${whole}.${frac.toString().padStart(width, "0").replace(/0+$/, "")}`;
}
