/**
 * The source index of a conditional write: the index at which the writer saw the state it writes
 * in the system it mirrors (Nomad's `ModifyIndex`; for a delete, the index at which the allocation
 * was seen gone). Sent as the `X-Source-Index` header of a single write, or as `SourceIndex` of a
 * batched change. A decimal uint64, kept as text so no digit is lost.
 */
import { CodedError } from "../errors.ts";

export const SOURCE_INDEX_HEADER = "X-Source-Index";

/** At most 20 decimal digits (and at most 2^64 - 1). */
export const SOURCE_INDEX_PATTERN = "^[0-9]{1,20}$";
const VALID_TEXT = new RegExp(SOURCE_INDEX_PATTERN);
const MAX_UINT64 = (1n << 64n) - 1n;

/** Canonical decimal text of a uint64, or undefined when `raw` is not one. */
export function sourceIndexOrUndefined(raw: string): string | undefined {
  if (!VALID_TEXT.test(raw)) return undefined;
  const value = BigInt(raw);
  return value <= MAX_UINT64 ? value.toString() : undefined;
}

/** Parses a source index given as `what` (the header or field name); anything but a decimal uint64 is a 400. */
export function parseSourceIndex(raw: string, what: string): string {
  const parsed = sourceIndexOrUndefined(raw);
  if (parsed === undefined) throw new CodedError(400, `Invalid ${what} ${JSON.stringify(raw)}: expected a decimal uint64`);
  return parsed;
}

/** The `X-Source-Index` header of a request, or undefined when absent. */
export function sourceIndexHeader(request: Request): string | undefined {
  const raw = request.headers.get(SOURCE_INDEX_HEADER);
  return raw === null ? undefined : parseSourceIndex(raw, SOURCE_INDEX_HEADER);
}
