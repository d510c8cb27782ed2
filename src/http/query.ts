/**
 * Tiny pure parsers for Nomad's query parameters. Each returns the parsed value, or throws a
 * 400 `CodedError` with Nomad's text for malformed input.
 */

import type { WaitLimits } from "../config.ts";
import { CodedError, ErrorText } from "../errors.ts";
import { parseGoBool } from "../json/go-bool.ts";
import { parseGoDuration } from "../json/go-time.ts";

const UINT64_MAX = (1n << 64n) - 1n;

/** `?index`: uint64 in base 10 (Go's strconv.ParseUint). Absent or empty means 0 (no blocking). */
export function parseIndex(raw: string | null): bigint {
  if (raw === null || raw === "") return 0n;
  if (!/^\d+$/.test(raw)) throw new CodedError(400, ErrorText.invalidIndex);
  const value = BigInt(raw);
  if (value > UINT64_MAX) throw new CodedError(400, ErrorText.invalidIndex);
  return value;
}

/**
 * `?wait`: Go duration syntax. Absent, empty, or <= 0 means the default; above the maximum is
 * clamped. Returns whole milliseconds (sub-millisecond waits round up so they still block).
 */
export function parseWait(raw: string | null, limits: WaitLimits): number {
  if (raw === null || raw === "") return limits.defaultMs;
  const nanos = parseGoDuration(raw);
  if (nanos === undefined) throw new CodedError(400, ErrorText.invalidWait);
  if (nanos <= 0n) return limits.defaultMs;
  const ms = (nanos + 999_999n) / 1_000_000n;
  return ms > BigInt(limits.maxMs) ? limits.maxMs : Number(ms);
}

/** Random extra wait in [0, wait/16), as Nomad's JitterFraction, to spread synchronized re-polls. */
export function jitterMs(waitMs: number, random: () => number = Math.random): number {
  return Math.floor(random() * (waitMs / 16));
}

/** `?pretty`: present with any value other than `0` turns pretty-printing on (Nomad's rule). */
export function parsePretty(params: URLSearchParams): boolean {
  return params.has("pretty") && params.get("pretty") !== "0";
}

/**
 * `?stale`: accepted for compatibility; this server has no leader to forward to, so every read is
 * already answered locally. As on Nomad main, an empty value means true and a bad value is a 400.
 */
export function parseStale(params: URLSearchParams): boolean {
  const raw = params.get("stale");
  if (raw === null) return false;
  if (raw === "") return true;
  const value = parseGoBool(raw);
  if (value === undefined) throw new CodedError(400, "Expect `true` or `false` for `stale` query string parameter");
  return value;
}

/** Go's `%q` of a query value, for strconv-style error texts. */
function goQuote(raw: string): string {
  return JSON.stringify(raw);
}

/** A boolean log parameter as Nomad's logs API parses it (absent or empty means false). */
export function parseLogBool(params: URLSearchParams, name: string): boolean {
  const raw = params.get(name);
  if (raw === null || raw === "") return false;
  const value = parseGoBool(raw);
  if (value === undefined) {
    throw new CodedError(400, `failed to parse ${name} field to boolean: strconv.ParseBool: parsing ${goQuote(raw)}: invalid syntax`);
  }
  return value;
}

const INT64_MAX = (1n << 63n) - 1n;

/** `offset` of the logs API: int64 (Go's strconv.ParseInt), and not negative here. */
export function parseLogOffset(raw: string | null): number {
  if (raw === null || raw === "") return 0;
  if (!/^[+-]?\d+$/.test(raw)) throw new CodedError(400, `error parsing offset: strconv.ParseInt: parsing ${goQuote(raw)}: invalid syntax`);
  const value = BigInt(raw);
  if (value > INT64_MAX || value < -INT64_MAX - 1n) {
    throw new CodedError(400, `error parsing offset: strconv.ParseInt: parsing ${goQuote(raw)}: value out of range`);
  }
  if (value < 0n) throw new CodedError(400, "error parsing offset: offset must not be negative");
  return value > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(value);
}

/**
 * The `X-Log-Offset` header of a log append: the total number of bytes the writer believes were
 * ever appended to the stream before this body (a decimal, no sign). Absent means no precondition.
 */
export function parseExpectedLogOffset(raw: string | null): number | undefined {
  if (raw === null) return undefined;
  if (!/^\d{1,16}$/.test(raw) || Number(raw) > Number.MAX_SAFE_INTEGER) {
    throw new CodedError(400, "Invalid X-Log-Offset: a non-negative decimal integer (the bytes appended before this body)");
  }
  return Number(raw);
}

/** Go's `parseBool` of Nomad's HTTP layer: absent or empty is `fallback`, anything but a Go boolean a 400. */
export function parseBoolParam(params: URLSearchParams, name: string, fallback: boolean): boolean {
  const raw = params.get(name);
  if (raw === null || raw === "") return fallback;
  const value = parseGoBool(raw);
  if (value === undefined) {
    throw new CodedError(
      400,
      `Failed to parse value of ${JSON.stringify(name)} (${raw}) as a bool: strconv.ParseBool: parsing ${JSON.stringify(raw)}: invalid syntax`,
    );
  }
  return value;
}

/** A path segment's text with its percent-escapes decoded, or as written when they are malformed. */
export function decodePathText(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}
