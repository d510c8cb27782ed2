/** Go duration flags (`24h`, `90s`, `1m30s`, `0s`) as milliseconds, via the project's Go-duration parser. */
import { parseGoDuration } from "../src/json/go-time.ts";

export function parseDurationMs(text: string, flag: string): number {
  const nanos = parseGoDuration(text);
  if (nanos === undefined || nanos < 0n) throw new UsageError(`${flag}: ${JSON.stringify(text)} is not a Go duration (e.g. 30s, 5m, 24h)`);
  return Number(nanos / 1_000_000n);
}

/** A mistake in the command line or environment: printed with the usage, exit code 2. */
export class UsageError extends Error {}
