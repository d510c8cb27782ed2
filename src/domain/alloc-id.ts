/**
 * Allocation id parsing with Nomad's own rules and texts (go-memdb's UUID index, reached through
 * the state store's `alloc lookup failed: index error: ...`). Nomad answers these with 500; we
 * answer 400, a documented deviation.
 */
import { CodedError } from "../errors.ts";

export interface AllocId {
  /** Canonical lower-case 8-4-4-4-12 form: what is stored and returned as `ID`. */
  readonly uuid: string;
}

/** What go-memdb's UUID index errors start with, as Nomad's state store wraps them. */
export const LOOKUP_PREFIX = "alloc lookup failed: index error: ";

/** Percent-decodes a URL path segment to bytes, as Go's URL.Path does. */
function percentDecode(raw: string): Uint8Array | undefined {
  const encoded = new TextEncoder().encode(raw);
  const out: number[] = [];
  for (let i = 0; i < encoded.length; i++) {
    const byte = encoded[i] as number;
    if (byte !== 0x25) {
      out.push(byte);
      continue;
    }
    const hex = String.fromCharCode(encoded[i + 1] ?? 0, encoded[i + 2] ?? 0);
    if (!/^[0-9a-fA-F]{2}$/.test(hex)) return undefined;
    out.push(Number.parseInt(hex, 16));
    i += 2;
  }
  return Uint8Array.from(out);
}

/**
 * A percent-encoded path segment as text: 400 for a malformed escape (`%ZZ`, a lone `%`), as Go's
 * URL parser refuses it; bytes that are not UTF-8 (`%FF`, `%C0%AF`) become U+FFFD, so the name
 * checks that follow refuse them with their own texts.
 */
export function decodePathText(raw: string): string {
  const bytes = percentDecode(raw);
  if (bytes === undefined) {
    const bad = /%(?![0-9a-fA-F]{2})[^%]{0,2}/.exec(raw)?.[0] ?? "%";
    throw new CodedError(400, `invalid URL escape ${JSON.stringify(bad)}`);
  }
  return new TextDecoder().decode(bytes);
}

/** Go's `%#U` of a byte taken as a rune: `U+0067 'g'`, or just `U+0000` when not printable. */
function goRuneQuote(byte: number): string {
  const code = `U+${byte.toString(16).toUpperCase().padStart(4, "0")}`;
  const printable = (byte >= 0x20 && byte < 0x7f) || (byte >= 0xa1 && byte !== 0xad);
  return printable ? `${code} '${String.fromCharCode(byte)}'` : code;
}

const HYPHEN = 0x2d;

/** A UUID in its canonical 8-4-4-4-12 form, lower case: how ids are issued and returned. */
export const UUID_PATTERN = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$";
/** The canonical form in either hex case (what an allocation path takes without rewriting). */
export const UUID_ANY_CASE_PATTERN = UUID_PATTERN.replaceAll("0-9a-f", "0-9a-fA-F");

const CANONICAL_UUID = new RegExp(UUID_PATTERN, "i");

function isHex(byte: number): boolean {
  return (byte >= 0x30 && byte <= 0x39) || (byte >= 0x61 && byte <= 0x66) || (byte >= 0x41 && byte <= 0x46);
}

/**
 * Parses the raw path text of an allocation id. Like Nomad, hyphens are ignored and hex is
 * case-insensitive, so every spelling of the same 16 bytes names the same allocation.
 * Returns null for text Nomad accepts but that cannot name any allocation (36 characters with
 * 0 or 2 hyphens decode to 18 or 17 bytes, never 16): Nomad answers those "alloc not found".
 */
export function parseAllocId(rawPath: string): AllocId | null {
  // The spelling nearly every request uses, answered without decoding byte by byte: the rules
  // below give exactly this for it.
  if (CANONICAL_UUID.test(rawPath)) return { uuid: rawPath.toLowerCase() };
  const bytes = percentDecode(rawPath);
  if (bytes === undefined) throw new CodedError(400, `${LOOKUP_PREFIX}Invalid UUID: invalid URL escape`);
  const fail = (why: string): never => {
    throw new CodedError(400, LOOKUP_PREFIX + why);
  };
  if (bytes.length !== 36) fail("UUID must be 36 characters");
  const hyphens = bytes.filter((b) => b === HYPHEN).length;
  if (hyphens > 4) fail(`UUID should have maximum of 4 "-"; got ${hyphens}`);
  const hex = bytes.filter((b) => b !== HYPHEN);
  if (hex.length % 2 !== 0) fail("Input (without hyphens) must be even length");
  const bad = hex.find((b) => !isHex(b));
  if (bad !== undefined) fail(`Invalid UUID: encoding/hex: invalid byte: ${goRuneQuote(bad)}`);
  if (hex.length !== 32) return null;
  const digits = String.fromCharCode(...hex).toLowerCase();
  const uuid = `${digits.slice(0, 8)}-${digits.slice(8, 12)}-${digits.slice(12, 16)}-${digits.slice(16, 20)}-${digits.slice(20, 32)}`;
  return { uuid };
}

/** An allocation id given as plain text (a body field, a topic key), or null when it is not one. */
export function allocIdOrNull(text: string): AllocId | null {
  try {
    return parseAllocId(encodeURIComponent(text));
  } catch {
    return null;
  }
}
