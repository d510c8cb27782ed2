/**
 * Errors as Nomad's HTTP layer writes them: a status code and a plain-text body (no JSON envelope,
 * no trailing newline). Handlers throw `CodedError`; `errorResponse` is the one place that turns
 * any thrown value into a response.
 */
export class CodedError extends Error {
  readonly status: number;
  readonly headers: Record<string, string>;
  constructor(status: number, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.status = status;
    this.headers = headers;
  }
}

/** Fixed error texts, worded exactly as Nomad words them. */
export const ErrorText = {
  allocNotFound: "alloc not found",
  /** Nomad ≥ 0.9's `allocNotFoundErr` (command/agent/alloc_endpoint.go), for the endpoints it added. */
  allocationNotFound: "allocation not found",
  /** command/agent/alloc_endpoint.go `resourceNotFoundErr`. */
  resourceNotFound: "resource not found",
  readReplica:
    "This server is a read replica of the Nomad cluster: it cannot stop allocations. Stop it on the cluster (nomad alloc stop <id>); the change reaches this server through its ingest.",
  invalidMethod: "Invalid method",
  invalidIndex: "Invalid index",
  invalidWait: "Invalid wait time",
  noRegionPath: "No path to region",
  permissionDenied: "Permission denied",
  /** command/agent/http.go `parsePagination`. */
  invalidPerPage: "Expect a number for `per_page` query string parameter",
  aclTokenNotFound: "ACL token not found",
  pageNotFound: "404 page not found",
  requestTooLarge: "Request body too large",
  bodyCutOff: "failed to read body: the request body ended abnormally (malformed chunked framing or a lost connection)",
  internal: "Internal error",
} as const;

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
