/**
 * Reads a request body with a hard byte cap enforced while reading, so neither a lying
 * Content-Length nor an endless chunked body can make the Worker buffer more than the cap.
 */

import { CodedError, ErrorText } from "../errors.ts";
import { JsonSyntaxError, type JsonValue, parseJson } from "../json/codec.ts";

/** 1 MiB: far below platform limits, far above any real allocation or event batch. */
const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;
/** Nesting depth of JSON bodies: Nomad's structs nest about 8 deep; driver configs may add some. */
const DEFAULT_MAX_JSON_DEPTH = 64;

export async function readBody(request: Request, env: Env): Promise<Uint8Array> {
  const cap = Number(env.MAX_BODY_BYTES) || DEFAULT_MAX_BODY_BYTES;
  const declared = request.headers.get("Content-Length");
  if (declared !== null && Number(declared) > cap) throw new CodedError(413, ErrorText.requestTooLarge);
  if (!request.body) return new Uint8Array();
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    let read: ReadableStreamReadResult<Uint8Array>;
    try {
      read = await reader.read();
    } catch {
      // The body broke off mid-way (malformed chunked framing, a dropped connection): the
      // client's mistake or its network's, never an internal error.
      throw new CodedError(400, ErrorText.bodyCutOff);
    }
    const { done, value } = read;
    if (done) break;
    total += value.byteLength;
    if (total > cap) {
      await reader.cancel();
      throw new CodedError(413, ErrorText.requestTooLarge);
    }
    chunks.push(value);
  }
  const body = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return body;
}

/** Decodes a JSON body already read; malformed JSON or invalid UTF-8 is a 400. */
export function decodeJsonBody(bytes: Uint8Array, env: Env): JsonValue {
  return decodeJson(bytes, Number(env.MAX_JSON_DEPTH) || DEFAULT_MAX_JSON_DEPTH);
}

/** `decodeJsonBody` with the depth limit given. */
export function decodeJson(bytes: Uint8Array, maxDepth = DEFAULT_MAX_JSON_DEPTH): JsonValue {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    throw new CodedError(400, "failed to decode body: invalid UTF-8");
  }
  try {
    return parseJson(text, { maxDepth });
  } catch (error) {
    if (error instanceof JsonSyntaxError) throw new CodedError(400, `failed to decode body: ${error.message}`);
    throw error;
  }
}
