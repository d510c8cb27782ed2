/**
 * The one place answers are written, successes and errors alike (as Nomad's `wrap` in
 * command/agent/http.go writes both): handlers return `reply(...)` (or one of the kinds below) or
 * throw a `CodedError`, which `errorResponse` writes as Nomad's HTTP layer does (a status and a
 * plain-text body: no JSON envelope, no trailing newline).
 */
import { CodedError, ErrorText } from "../errors.ts";
import { JSON_HEADERS, queryMetaHeaders } from "./meta.ts";
import { STREAM_HEADERS } from "./stream.ts";

/** Headers every error carries besides the ones a handler attached. */
const TEXT_HEADERS = { "Content-Type": "text/plain; charset=utf-8", Vary: "Accept-Encoding" };

export function errorResponse(error: unknown): Response {
  if (error instanceof CodedError) {
    return new Response(error.message, { status: error.status, headers: { ...TEXT_HEADERS, ...error.headers } });
  }
  // Never leak internals: log them, answer a fixed text.
  console.error("unhandled error", error);
  return new Response(ErrorText.internal, { status: 500, headers: TEXT_HEADERS });
}

/**
 * The index an answer reports: a read's carries Nomad's query meta headers (`X-Nomad-Index`,
 * `X-Nomad-KnownLeader`, `X-Nomad-LastContact`), a write's only `X-Nomad-Index`. Either is an index an
 * object issued (a number: docs/blocking-queries.md, "One form for `index`").
 */
type AnswerIndex = { read: number } | { write: number };

function indexHeaders(index: AnswerIndex | undefined): Record<string, string> {
  if (index === undefined) return {};
  return "read" in index ? queryMetaHeaders(index.read) : { "X-Nomad-Index": String(index.write) };
}

/** A JSON answer: `json` is the encoded body (Nomad's bytes, as an object or the codec wrote them). */
export function reply(json: string, index?: AnswerIndex, headers: Record<string, string> = {}): Response {
  return new Response(json, { headers: { ...JSON_HEADERS, ...indexHeaders(index), ...headers } });
}

/** An answer with no body at all (Nomad's policy writes): no JSON content type either. */
export function replyEmpty(index: AnswerIndex): Response {
  return new Response(null, { headers: { Vary: "Accept-Encoding", ...indexHeaders(index) } });
}

/** A streamed answer (log follows, the event stream): never compressed, never cached. */
export function replyStream(body: ReadableStream<Uint8Array>, contentType: string, headers: Record<string, string> = {}): Response {
  return new Response(body, { headers: { "Content-Type": contentType, ...STREAM_HEADERS, ...headers, Vary: "Accept-Encoding" } });
}

/** A document or page of this server's own (the API reference, the status pages), with its caching and policy headers. */
export function replyDocument(body: string, contentType: string, headers: Record<string, string>): Response {
  return new Response(body, { headers: { "Content-Type": contentType, ...headers } });
}

export function redirect(location: string, status: 301 | 302): Response {
  return new Response(null, { status, headers: { Location: location } });
}
