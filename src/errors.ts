/**
 * The coded error every layer throws (a status and Nomad's text) and the fixed texts, worded as
 * Nomad words them. They live below every layer: domain parsers, the Durable Objects' contract and
 * the HTTP layer all use them, and none of those has to import another to do so.
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
  aclPolicyNotFound: "ACL policy not found",
  pageNotFound: "404 page not found",
  requestTooLarge: "Request body too large",
  bodyCutOff: "failed to read body: the request body ended abnormally (malformed chunked framing or a lost connection)",
  internal: "Internal error",
} as const;

/**
 * Texts that name what they refuse, one builder each, so the code that answers them and the
 * OpenAPI document's examples cannot word them differently.
 */
export const RefusalText = {
  /** Nomad's logs endpoint, for an id that names no allocation. */
  unknownAllocation: (id: string) => `Unknown allocation ${JSON.stringify(id)}`,
  unknownTask: (task: string) => `unknown task name ${JSON.stringify(task)}`,
  taskNotStarted: (task: string) => `task ${JSON.stringify(task)} not started yet. No logs available`,
  /** A task event for a task its allocation's group does not have (Nomad's `UpdateAllocsFromClient`). */
  taskNotInGroup: (group: string, task: string) =>
    `task group ${JSON.stringify(group)} does not have task with name ${JSON.stringify(task)}`,
  unknownPolicy: (name: string) => `policy ${JSON.stringify(name)} does not exist`,
  /** Nomad's paginator, for a filter that fails on an allocation. */
  resultPage: (why: string) => `failed to read result page: ${why}`,
  eventIndexGone: (index: string, floor: string) =>
    `event index ${index} is older than the oldest event kept (${floor}): list /v1/allocations again and stream from its X-Nomad-Index + 1`,
} as const;

/** The texts of Nomad's logs endpoint (command/agent/fs_endpoint.go). */
export const LogErrors = {
  allocIdMissing: "must provide a valid alloc id",
  taskMissing: "must provide task name",
  typeMissing: "must provide log type (stdout/stderr)",
  invalidOrigin: "origin must be start or end",
} as const;
