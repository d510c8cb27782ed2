/**
 * The `Idempotency-Key` request header of writes: validated here and paired with a hash of the
 * request, so the object can tell a retry (same request) from a reuse of the key (different one).
 */
import type { IdempotencyKey } from "../durable/idempotency.ts";
import { CodedError } from "../errors.ts";
import { sha256Hex } from "../http/digest.ts";

/** 1 to 255 printable ASCII characters, no spaces. */
export const IDEMPOTENCY_KEY_PATTERN = "^[\\x21-\\x7e]{1,255}$";
const VALID_KEY = new RegExp(IDEMPOTENCY_KEY_PATTERN);

/** Checks a key's syntax (the header's, or a batched change's `IdempotencyKey`). */
export function checkIdempotencyKey(key: string): string {
  if (!VALID_KEY.test(key)) throw new CodedError(400, "Invalid Idempotency-Key: 1 to 255 printable ASCII characters, no spaces");
  return key;
}

export async function idempotencyKey(request: Request, body: Uint8Array): Promise<IdempotencyKey | undefined> {
  const raw = request.headers.get("Idempotency-Key");
  if (raw === null) return undefined;
  const key = checkIdempotencyKey(raw);
  const url = new URL(request.url);
  const head = new TextEncoder().encode(`${request.method} ${url.pathname}${url.search}\n`);
  const material = new Uint8Array(head.byteLength + body.byteLength);
  material.set(head);
  material.set(body, head.byteLength);
  return { key, requestHash: await sha256Hex(material) };
}
