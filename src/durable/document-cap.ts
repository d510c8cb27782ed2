/**
 * Size caps on what one allocation stores, checked before anything is written. Cloudflare allows
 * 2 MB per stored value (a SQLite row's text). The largest values a write stores are the document
 * itself and its catalog outbox record, which holds the document as an escaped JSON string: the
 * document cap keeps the record well inside the platform limit, and the record is checked as well,
 * since escaping can nearly double text full of quotes and backslashes.
 */
import type { Refusal } from "./contract.ts";

/** The stored allocation document (its compact JSON), in UTF-8 bytes. */
export const MAX_DOCUMENT_BYTES = 512 * 1024;
/** The outbox record of one change, in UTF-8 bytes (below Cloudflare's 2 MB per value). */
const MAX_RECORD_BYTES = 1536 * 1024;

const utf8 = new TextEncoder();

/** UTF-8 bytes of `text` when above `cap` (exact), else a bound at or below `cap`. */
function bytesOver(text: string, cap: number): number {
  // UTF-8 takes at most 3 bytes per UTF-16 code unit: most documents never need the encode.
  const bound = text.length * 3;
  return bound <= cap ? bound : utf8.encode(text).length;
}

/** 413 naming what a write would store over its cap. */
function overCap(what: string, text: string, cap: number): Refusal | undefined {
  const bytes = bytesOver(text, cap);
  if (bytes <= cap) return undefined;
  return { ok: false, status: 413, message: `Allocation too large: ${what} would be ${bytes} bytes, above the cap of ${cap}` };
}

/** 413 when the document or the record a write would store is over its cap; nothing is stored then. */
export function oversized(document: string, record: string): Refusal | undefined {
  return overCap("the stored document", document, MAX_DOCUMENT_BYTES) ?? overCap("its catalog record", record, MAX_RECORD_BYTES);
}
