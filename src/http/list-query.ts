/**
 * The list's query parameters (`GET /v1/allocations`), parsed as Nomad parses them, with its texts.
 */
import { FilterError, parseFilter } from "../domain/bexpr.ts";
import { DEFAULT_NAMESPACE } from "../domain/namespace.ts";
import { CodedError, ErrorText } from "../errors.ts";

/** What `?prefix` may hold. */
export const PREFIX_PATTERN = "^[0-9a-fA-F-]*$";
const PREFIX = new RegExp(PREFIX_PATTERN);

/** `?prefix`: hex digits and hyphens, any length (Nomad rejects odd lengths; we do not). Returns hex only. */
export function parsePrefix(raw: string | null): string {
  if (raw === null || raw === "") return "";
  if (!PREFIX.test(raw)) {
    throw new CodedError(400, `Invalid prefix ${JSON.stringify(raw)}: an allocation ID prefix has only hexadecimal digits and hyphens`);
  }
  return raw.replaceAll("-", "").toLowerCase();
}

/**
 * `?per_page`: Go's `strconv.ParseInt(raw, 10, 32)`, as Nomad parses it. Absent, empty or 0 means
 * everything; a negative size is accepted, as Nomad accepts it (an empty page and a next token).
 */
export function parsePerPage(raw: string | null): number {
  if (raw === null || raw === "") return 0;
  const value = /^[+-]?\d{1,11}$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isInteger(value) || value < -(2 ** 31) || value > 2 ** 31 - 1) throw new CodedError(400, ErrorText.invalidPerPage);
  return value;
}

/** `?namespace`: a namespace, or `*` for every namespace the caller may read; `default` when absent or empty. */
export function parseNamespace(raw: string | null): string {
  return raw === null || raw === "" ? DEFAULT_NAMESPACE : raw;
}

/**
 * `?filter`: a go-bexpr expression, evaluated on each allocation before pagination as Nomad's
 * paginator does; a malformed one is Nomad's 400 (nomad/alloc_endpoint.go, paginator.go).
 */
export function parseListFilter(raw: string | null): string {
  if (raw === null || raw === "") return "";
  try {
    parseFilter(raw);
  } catch (error) {
    if (error instanceof FilterError) {
      throw new CodedError(400, `failed to create result paginator: failed to read filter expression: ${error.message}`);
    }
    throw error;
  }
  return raw;
}
