/**
 * Errors as Nomad's HTTP layer writes them: a status code and a plain-text body (no JSON envelope,
 * no trailing newline). Handlers throw `CodedError`; `errorResponse` is the one place that turns
 * any thrown value into a response.
 */
import { CodedError, ErrorText } from "../errors.ts";

// Re-exported so the HTTP layer's callers keep one import for errors and their writer.
export { CodedError, ErrorText } from "../errors.ts";

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
