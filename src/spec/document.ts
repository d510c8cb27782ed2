/**
 * The OpenAPI 3.1 document of this API, built in code. `components.schemas` is `SCHEMAS` itself,
 * the same objects the Worker validates write bodies with, so the document cannot drift from
 * the server. Served at `/openapi.json`; `npm run openapi` writes it to `openapi/openapi.json`.
 */
import {
  type HeaderObject,
  type OpenAPIObject,
  OpenApiBuilder,
  type OperationObject,
  type ParameterObject,
  type ResponseObject,
  type SchemaObject,
} from "openapi3-ts/oas31";
import { DEMO_ALLOC_ID } from "../demo/allocation.ts";
import { SCHEMAS } from "../domain/schemas.ts";
import { ErrorText } from "../errors.ts";
import { ACL_PATHS, ACL_SCHEMAS, ACL_TAGS } from "./acl-endpoints.ts";
import { BATCH_PATHS, BATCH_SCHEMAS, SOURCE_INDEX_EXAMPLE, SOURCE_INDEX_PARAMETERS, TAG_BATCH } from "./batch-endpoint.ts";
import {
  aclNote,
  BAD_ID_EXAMPLES,
  type Examples,
  example,
  forbidden,
  IDEMPOTENCY_EXAMPLES,
  OPEN,
  READ_HEADERS,
  READ_SECURITY,
  REGION_EXAMPLE,
  ref,
  schemaRef,
  textError,
  WRITE_SECURITY,
} from "./common.ts";
import { API_DESCRIPTION } from "./description.ts";
import { REGION_HEADERS, REGION_PARAMETERS, REGION_PATHS, REGION_TAGS } from "./region-endpoints.ts";
import { RESPONSE_SCHEMAS } from "./response-schemas.ts";

export const API_TITLE = "Nomad Allocation API";
export const API_VERSION = "0.1.0";

/** Canonical 8-4-4-4-12 UUID, the form allocation ids are issued and returned in. */
export const ALLOC_ID_PATTERN = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$";
/**
 * Go's `time.ParseDuration` syntax (what `parseGoDuration` accepts). The micro signs are written as
 * `\u` escapes so the pattern stays ASCII (Prism echoes patterns into HTTP headers). Empty means the default.
 */
export const GO_DURATION_PATTERN = "^([-+]?(0|((\\d+(\\.\\d*)?|\\.\\d+)(ns|us|\\u00b5s|\\u03bcs|ms|s|m|h))+))?$";

const TAG_ALLOCATIONS = "Allocations";
const TAG_DOCS = "Documentation";

// ---------------------------------------------------------------------------------------------
// Parameters and headers

const parameters: Record<string, ParameterObject> = {
  AllocId: {
    name: "alloc_id",
    in: "path",
    required: true,
    description:
      "The allocation's ID, a UUID. Like Nomad, hex case and hyphens are forgiving (`203266E5E0D69486...` names the same allocation), but the canonical lower-case 8-4-4-4-12 form is what is issued and returned. Text that cannot be a UUID is `400 alloc lookup failed: index error: ...`.",
    schema: { type: "string", pattern: ALLOC_ID_PATTERN, examples: [DEMO_ALLOC_ID] },
    example: DEMO_ALLOC_ID,
  },
  Index: {
    name: "index",
    in: "query",
    required: false,
    description:
      "Blocking query: answer once the allocation's index is greater than this, or when `wait` runs out. Send the `X-Nomad-Index` of the previous read. Absent or `0`: answer at once. Not a uint64: `400 Invalid index`.",
    schema: { type: "integer", format: "uint64", minimum: 0 },
  },
  Wait: {
    name: "wait",
    in: "query",
    required: false,
    description:
      "Blocking query: the longest time to hold the request, in Go duration syntax (`10s`, `5m`, `300000ms`). Default and maximum 300 s (the maximum is the deployment's `MAX_QUERY_TIME`); up to `wait/16` of random jitter is added. Only used together with `index`. Unparseable: `400 Invalid wait time`.",
    schema: { type: "string", pattern: GO_DURATION_PATTERN, examples: ["1s", "30s", "5m", "300000ms"] },
  },
  Stale: {
    name: "stale",
    in: "query",
    required: false,
    description:
      "Allow a read from any server without going through the leader. Accepted for compatibility: every read here is already answered by the allocation's own storage. An empty value means `true`; values are Go booleans (`1`, `t`, `true`, `0`, `f`, `false`, ...); anything else is a `400`.",
    schema: { type: "string", enum: ["", "1", "t", "T", "TRUE", "true", "True", "0", "f", "F", "FALSE", "false", "False"] },
  },
  Region: {
    name: "region",
    in: "query",
    required: false,
    description:
      "The region to read from or write to. Absent or empty means the deployment's default region (`global`). A region the deployment does not serve: `400 No path to region`.",
    schema: { type: "string", examples: ["global"] },
  },
  Pretty: {
    name: "pretty",
    in: "query",
    required: false,
    description:
      "Pretty-print the JSON (4-space indent, trailing newline). Present with any value but `0` turns it on, so `?pretty`, `?pretty=1` and even `?pretty=false` pretty-print; `?pretty=0` does not.",
    schema: { type: "string", examples: ["", "1"] },
  },
  IdempotencyKey: {
    name: "Idempotency-Key",
    in: "header",
    required: false,
    description:
      "Makes the write safe to retry: the first request with a key is applied and its answer kept for at least 24 hours; a retry with the same key and the same request (method, path, query and body) gets that answer again and changes nothing; the same key with a different request is `422`. 1 to 255 printable ASCII characters.",
    schema: { type: "string", pattern: "^[\\x21-\\x7e]{1,255}$", examples: ["3f1c2a9e-retry-1"] },
  },
};

const headers: Record<string, HeaderObject> = {
  XNomadIndex: {
    description:
      "The index of the allocation (its `ModifyIndex`), or of its storage when it does not exist. Never 0. Send it back as `?index=` to block until it changes.",
    required: true,
    schema: { type: "integer", format: "uint64", minimum: 1 },
  },
  XNomadKnownLeader: {
    description: "Whether the answering server knows a cluster leader. Always `true` here: each allocation is its own leader.",
    required: true,
    schema: { type: "string", enum: ["true", "false"] },
  },
  XNomadLastContact: {
    description: "Milliseconds since the answering server last heard from the leader. Always `0` here.",
    required: true,
    schema: { type: "integer", format: "uint64", minimum: 0 },
  },
  XNomadWriteIndex: {
    description: "The index of the change made by the write; also the `Index` of the body.",
    required: true,
    schema: { type: "integer", format: "uint64", minimum: 1 },
  },
};

// ---------------------------------------------------------------------------------------------
// Responses

const responses: Record<string, ResponseObject> = {
  AllocationRead: {
    description:
      "The allocation. On a blocking query, its state when it changed past `index` or when `wait` ran out (then with the same index).",
    headers: READ_HEADERS,
    content: { "application/json": { schema: schemaRef("Allocation") } },
  },
  AllocationReadNotFound: textError(
    "No allocation with this ID (also after a blocking wait ran out). Carries the blocking headers: a blocking read with this index waits for the allocation to appear.",
    { notFound: example("No such allocation", ErrorText.allocNotFound) },
    READ_HEADERS,
  ),
  ReadBadRequest: textError("A malformed query parameter, region or allocation ID.", {
    invalidIndex: example("`index` is not a uint64", ErrorText.invalidIndex),
    invalidWait: example("`wait` is not a Go duration", ErrorText.invalidWait),
    invalidStale: example("`stale` is not a Go boolean", "Expect `true` or `false` for `stale` query string parameter"),
    ...BAD_ID_EXAMPLES,
  }),
  WriteOk: {
    description:
      "The write is durable; blocking readers of the allocation have been released. With `Stale: true` (only for a write with `X-Source-Index`), it was not applied: `Index` is the current state's.",
    headers: { "X-Nomad-Index": ref("headers", "XNomadWriteIndex") },
    content: { "application/json": { schema: schemaRef("WriteResponse") } },
  },
  Forbidden: forbidden("this write (`node:write`, or a management token)"),
  ReadForbidden: forbidden("`namespace:read-job` (for anonymous callers: the `anonymous` policy)"),
  KeyReused: textError("The `Idempotency-Key` was used before for a different request. Nothing was written.", {
    keyReused: example("Key reused with another request", "Idempotency-Key was already used for a different request"),
  }),
  RateLimited: {
    ...textError("Too many requests from this caller (token, or address without one), or too many blocking queries parked on one object.", {
      rateLimit: example("Per-caller rate limit", "Rate limit exceeded: too many requests from this caller"),
      waiters: example("Blocking queries on one object", "Too many blocking queries are waiting on this object; retry later"),
      callerWaiters: example(
        "Blocking queries of one caller on one object",
        "Too many blocking queries from this caller are waiting on this object; retry later",
      ),
    }),
    headers: { "Retry-After": { description: "Seconds to wait before retrying.", schema: { type: "integer", minimum: 0 } } },
  },
  WriteNotFound: textError("No allocation with this ID.", { notFound: example("No such allocation", ErrorText.allocNotFound) }),
  TooLarge: textError("The body is over 1 MiB.", { tooLarge: example("Body over 1 MiB", ErrorText.requestTooLarge) }),
  InternalError: textError("An unexpected failure; details are logged, never sent.", {
    internal: example("Unexpected failure", ErrorText.internal),
  }),
};

const bodyErrors = (extra: Examples) =>
  textError("The body, region or allocation ID is invalid. Nothing was written.", {
    decode: example("The body is not JSON", "failed to decode body: unexpected end of JSON input"),
    ...extra,
    ...BAD_ID_EXAMPLES,
    ...IDEMPOTENCY_EXAMPLES,
  });

// ---------------------------------------------------------------------------------------------
// Operations

const readParameters = ["AllocId", "Index", "Wait", "Stale", "Region", "Pretty"].map((name) => ref("parameters", name));
const writeParameters = ["AllocId", "Region", "IdempotencyKey"].map((name) => ref("parameters", name));
const conditionalWriteParameters = [...writeParameters, ref("parameters", "SourceIndex")];

const readAllocation: OperationObject = {
  operationId: "readAllocation",
  summary: "Read an allocation",
  description: [
    "Reads one allocation: its job, resources, placement metrics, and the state and latest 10 events of each task (see *Field reference* in the introduction).",
    "",
    "**Blocking query:** send the `X-Nomad-Index` of the previous read as `index`, and optionally `wait` (Go duration, default and maximum 300 s, plus up to `wait/16` jitter). The request is held until the allocation's index is greater than `index`, or the wait runs out: then it answers `200` with the current allocation and the same index. A write releases waiters within milliseconds. See *Blocking queries* in the introduction.",
  ].join("\n"),
  tags: [TAG_ALLOCATIONS],
  security: READ_SECURITY,
  parameters: readParameters,
  responses: {
    "200": ref("responses", "AllocationRead"),
    "400": ref("responses", "ReadBadRequest"),
    "403": ref("responses", "ReadForbidden"),
    "404": ref("responses", "AllocationReadNotFound"),
    "500": ref("responses", "InternalError"),
  },
};

const putAllocation: OperationObject = {
  operationId: "putAllocation",
  summary: "Create or replace an allocation",
  description:
    "Stores the allocation as sent, as the servers would after placing it. Omitted fields get Go's zero values; `CreateIndex`, `ModifyIndex` and `AllocModifyIndex` are set by the server (values sent are ignored); `ID`, if sent, must match the path. When the body has no `TaskStates`, the current task states are kept. Wakes blocking readers.",
  tags: [TAG_ALLOCATIONS],
  security: WRITE_SECURITY,
  parameters: conditionalWriteParameters,
  requestBody: { required: true, content: { "application/json": { schema: schemaRef("Allocation") } } },
  responses: {
    "200": ref("responses", "WriteOk"),
    "400": bodyErrors({
      sourceIndex: SOURCE_INDEX_EXAMPLE,
      invalidField: example("A field has the wrong type", "invalid field Allocation.Job.Priority: expected integer (int64), got string"),
      idMismatch: example("`ID` differs from the path", `invalid field Allocation.ID: does not match the path ID ${DEMO_ALLOC_ID}`),
    }),
    "403": ref("responses", "Forbidden"),
    "404": ref("responses", "WriteNotFound"),
    "413": ref("responses", "TooLarge"),
    "422": ref("responses", "KeyReused"),
    "500": ref("responses", "InternalError"),
  },
};

const deleteAllocation: OperationObject = {
  operationId: "deleteAllocation",
  summary: "Delete an allocation",
  description:
    "Garbage-collects the allocation. Its index keeps growing: later reads answer `404 alloc not found` with an `X-Nomad-Index` above the deletion's, and blocking readers are woken.",
  tags: [TAG_ALLOCATIONS],
  security: WRITE_SECURITY,
  parameters: conditionalWriteParameters,
  responses: {
    "200": ref("responses", "WriteOk"),
    "400": textError("The region, allocation ID, Idempotency-Key or X-Source-Index is invalid.", {
      ...BAD_ID_EXAMPLES,
      ...IDEMPOTENCY_EXAMPLES,
      sourceIndex: SOURCE_INDEX_EXAMPLE,
    }),
    "403": ref("responses", "Forbidden"),
    "404": ref("responses", "WriteNotFound"),
    "422": ref("responses", "KeyReused"),
    "500": ref("responses", "InternalError"),
  },
};

const postTaskEvents: OperationObject = {
  operationId: "postTaskEvents",
  summary: "Record task events",
  description:
    "Records task events as a Nomad client does while running the allocation: each event is appended to its task's `Events` (the latest 10 are kept), moves the task's `State` (given, or derived from the event type), sets `StartedAt`, `FinishedAt`, `Restarts`, `LastRestart` and `Failed`, and the allocation's `ClientStatus` follows. A missing `Time` is set to now and a missing `DisplayMessage` is filled as Nomad words it. The batch is one change: one new index, one wake-up; an event for a task that is not in the allocation's task group rejects the whole batch.",
  tags: [TAG_ALLOCATIONS],
  security: WRITE_SECURITY,
  parameters: writeParameters,
  requestBody: { required: true, content: { "application/json": { schema: schemaRef("TaskEventsRequest") } } },
  responses: {
    "200": ref("responses", "WriteOk"),
    "400": bodyErrors({
      invalidField: example(
        "A field has the wrong type or value",
        'invalid field TaskEventsRequest.Events[0].Event.Type: "Exploded" is not one of ...',
      ),
      unknownTask: example("The task is not in the allocation's group", 'task group "cache" does not have task with name "web"'),
    }),
    "403": ref("responses", "Forbidden"),
    "404": ref("responses", "WriteNotFound"),
    "413": ref("responses", "TooLarge"),
    "422": ref("responses", "KeyReused"),
    "500": ref("responses", "InternalError"),
  },
};

const STOP_BOOLEANS = ["no_shutdown_delay", "reschedule"].map(
  (name): ParameterObject => ({
    name,
    in: "query",
    required: false,
    description: `Nomad's \`${name}\` flag, a Go boolean: checked as Nomad checks it (anything else is a \`400\`), then moot, since nothing is stopped here.`,
    schema: { type: "string", enum: ["1", "t", "T", "TRUE", "true", "True", "0", "f", "F", "FALSE", "false", "False"] },
  }),
);

function stopOperation(method: "post" | "put"): OperationObject {
  return {
    operationId: method === "post" ? "stopAllocation" : "stopAllocationPut",
    summary: "Stop an allocation (refused: read replica)",
    description:
      "Nomad's stop endpoint (0.9.2+), which the official client calls. This server mirrors a Nomad cluster and cannot stop allocations: the request is checked as Nomad checks it (the booleans, the allocation, `alloc-lifecycle` in its namespace) and then answered `409`. Stop the allocation on the cluster; the change reaches this server through its ingest.",
    tags: [TAG_ALLOCATIONS],
    security: WRITE_SECURITY,
    parameters: [ref("parameters", "AllocId"), ref("parameters", "Region"), ...STOP_BOOLEANS],
    responses: {
      "400": textError("A malformed flag or region.", {
        invalidFlag: example(
          "`reschedule` is not a Go boolean",
          'Failed to parse value of "reschedule" (maybe) as a bool: strconv.ParseBool: parsing "maybe": invalid syntax',
        ),
        region: REGION_EXAMPLE,
      }),
      "403": forbidden("`namespace:alloc-lifecycle` in the allocation's namespace"),
      "404": textError("No allocation with this ID (any text that is not one, too).", {
        notFound: example("No such allocation", ErrorText.allocationNotFound),
      }),
      "409": textError("The allocation exists, and this server cannot stop it.", {
        readReplica: example("Read replica", ErrorText.readReplica),
      }),
      "500": ref("responses", "InternalError"),
    },
  };
}

const getOpenApi: OperationObject = {
  operationId: "getOpenApiDocument",
  summary: "This OpenAPI document",
  description: "The OpenAPI 3.1 document of this API, as JSON. The same document is committed as `openapi/openapi.json`.",
  tags: [TAG_DOCS],
  security: OPEN,
  responses: {
    "200": {
      description: "The OpenAPI document.",
      content: { "application/json": { schema: { type: "object", additionalProperties: true } } },
    },
  },
};

const getDocs: OperationObject = {
  operationId: "getDocs",
  summary: "API reference (HTML)",
  description: "This interactive API reference, served entirely by this server (no CDN, fonts or telemetry).",
  tags: [TAG_DOCS],
  security: OPEN,
  responses: {
    "200": { description: "The HTML page.", content: { "text/html": { schema: { type: "string" } } } },
  },
};

const getRoot: OperationObject = {
  operationId: "getRoot",
  summary: "Redirect to the API reference",
  description: "Redirects to `/docs`.",
  tags: [TAG_DOCS],
  security: OPEN,
  responses: {
    "302": {
      description: "Redirect to `/docs`.",
      headers: { Location: { description: "`/docs`", required: true, schema: { type: "string", const: "/docs" } } },
    },
  },
};

const HTML_PAGE = { description: "The HTML page.", content: { "text/html": { schema: { type: "string" } } } };

const getAllocationsPage: OperationObject = {
  operationId: "getAllocationsPage",
  summary: "Live status page: the region's allocations (HTML)",
  description:
    "A page that lists the region's allocations and keeps the list current through blocking queries on `GET /v1/allocations`, to which it passes `namespace`, `prefix` and `filter` as given. It reads only this origin's public API; when the `anonymous` policy does not allow the reads it asks for a token, kept in the browser tab only (docs/status-page.md).",
  tags: [TAG_DOCS],
  security: OPEN,
  parameters: [ref("parameters", "Region"), ref("parameters", "Namespace"), ref("parameters", "Prefix"), ref("parameters", "Filter")],
  responses: { "200": HTML_PAGE },
};

const getAllocationPage: OperationObject = {
  operationId: "getAllocationPage",
  summary: "Live status page: one allocation (HTML)",
  description:
    "A page that shows one allocation (status, tasks, the task events as a timeline, a log pane per task) and keeps it current through blocking queries on `GET /v1/allocation/{alloc_id}` and log follows on `GET /v1/client/fs/logs/{alloc_id}`. An unknown or malformed id is explained by the page (the HTML itself is always 200).",
  tags: [TAG_DOCS],
  security: OPEN,
  parameters: [ref("parameters", "AllocId"), ref("parameters", "Region")],
  responses: { "200": HTML_PAGE },
};

/** The per-path note on methods a path does not declare. */
const METHODS_NOTE = "Any other method answers `405 Invalid method` (text/plain).";

export function buildOpenApiDocument(): OpenAPIObject {
  const builder = OpenApiBuilder.create()
    .addOpenApiVersion("3.1.0")
    .addInfo({
      title: API_TITLE,
      version: API_VERSION,
      description: API_DESCRIPTION,
    })
    .addServer({ url: "/", description: "This server (same origin)." })
    .addTag({
      name: TAG_ALLOCATIONS,
      description: "Read allocations (with blocking queries) and the writes a Nomad agent makes to them.",
    })
    .addSecurityScheme("NomadToken", {
      type: "apiKey",
      in: "header",
      name: "X-Nomad-Token",
      description:
        "An ACL token's secret in Nomad's `X-Nomad-Token` header. Writes and ACL management need one; reads without one are governed by the `anonymous` policy.",
    })
    .addSecurityScheme("BearerToken", {
      type: "http",
      scheme: "bearer",
      description: "An ACL token's secret as `Authorization: Bearer <secret>`; the same as `X-Nomad-Token`.",
    });

  for (const tag of [...REGION_TAGS, ...ACL_TAGS]) builder.addTag(tag);
  builder.addTag({ name: TAG_BATCH, description: "Many allocation changes in one request, for bridges and bulk loads." });
  builder.addTag({ name: TAG_DOCS, description: "This document, its interactive reference and the live status pages." });

  // The wire schemas the Worker validates with, as they are; then the response-only ones.
  for (const [name, schema] of Object.entries(SCHEMAS)) builder.addSchema(name, schema as SchemaObject);
  for (const [name, schema] of Object.entries({ ...RESPONSE_SCHEMAS, ...BATCH_SCHEMAS, ...ACL_SCHEMAS })) {
    builder.addSchema(name, schema as SchemaObject);
  }
  for (const [name, parameter] of Object.entries({ ...parameters, ...REGION_PARAMETERS, ...SOURCE_INDEX_PARAMETERS })) {
    builder.addParameter(name, parameter);
  }
  for (const [name, header] of Object.entries({ ...headers, ...REGION_HEADERS })) builder.addHeader(name, header);
  for (const [name, response] of Object.entries(responses)) builder.addResponse(name, response);

  builder
    .addPath("/v1/allocation/{alloc_id}", {
      summary: "One allocation",
      description: `An allocation by ID. ${METHODS_NOTE}`,
      get: readAllocation,
      put: putAllocation,
      delete: deleteAllocation,
    })
    .addPath("/v1/allocation/{alloc_id}/task-events", {
      summary: "The task events of one allocation",
      description: `Task state updates of an allocation. ${METHODS_NOTE}`,
      post: postTaskEvents,
    })
    .addPath("/v1/allocation/{alloc_id}/stop", {
      summary: "Stop one allocation",
      description: `Nomad's stop endpoint, refused here (read replica). Other methods: 405 \`${ErrorText.invalidMethod}\`.`,
      post: stopOperation("post"),
      put: stopOperation("put"),
    });
  for (const [path, item] of Object.entries({ ...REGION_PATHS, ...BATCH_PATHS, ...ACL_PATHS })) builder.addPath(path, item);
  builder.addPath("/openapi.json", { get: getOpenApi }).addPath("/docs", { get: getDocs }).addPath("/", { get: getRoot });
  builder.addPath("/ui/allocations", { get: getAllocationsPage }).addPath("/ui/allocation/{alloc_id}", { get: getAllocationPage });
  return withAclAndLimits(builder.getSpec());
}

const READ_JOB =
  "`namespace:read-job` in the allocation's namespace (the `read` policy has it; Nomad's glob rules pick the closest `namespace \"web-*\"` rule); a caller with `read-job` in no namespace at all is refused before anything is read. Without a token the `anonymous` policy decides; `npm start` creates one that allows reads in `default`";
const NODE_WRITE = "`node:write`, or a management token (the `MANAGEMENT_TOKEN` secret is one)";

/** What each operation needs from the caller's ACL token, appended to its description. */
export const ACL_REQUIREMENTS: Record<string, string> = {
  readAllocation: READ_JOB,
  putAllocation: NODE_WRITE,
  deleteAllocation: NODE_WRITE,
  postTaskEvents: NODE_WRITE,
  stopAllocation: "`namespace:alloc-lifecycle` in the allocation's namespace (checked before the refusal, as Nomad checks it)",
  stopAllocationPut: "`namespace:alloc-lifecycle` in the allocation's namespace (checked before the refusal, as Nomad checks it)",
  postAllocationBatch: NODE_WRITE,
  listAllocations: READ_JOB,
  streamEvents:
    "per topic, in each namespace streamed, as Nomad's `validateNsOp`: `namespace:read-job` for `Allocation` (and Nomad's other job topics); a management token for `*` (also when no `topic` is given) and for topics this server does not know. Without a token the `anonymous` policy decides",
  readTaskLogs:
    "`namespace:read-logs` or `namespace:read-fs` in the allocation's namespace (neither is in the `read` policy). Without a token the `anonymous` policy decides; `npm start`'s allows it in `default`",
  appendTaskLogs: NODE_WRITE,
  getAgentSelf: "`agent:read`",
  readTokenSelf: "any valid token",
};

/**
 * Appends each operation's ACL requirement (or "none") to its description, and the per-caller
 * rate limit's 429 to every operation: it applies before routing, to every request.
 */
function withAclAndLimits(spec: OpenAPIObject): OpenAPIObject {
  // The operations are module-level objects: work on a copy, so every build gives the same document.
  spec.paths = structuredClone(spec.paths);
  for (const item of Object.values(spec.paths ?? {})) {
    for (const method of ["get", "put", "post", "delete"] as const) {
      const operation = item[method];
      if (!operation?.operationId) continue;
      const open = JSON.stringify(operation.security) === JSON.stringify(OPEN);
      const need = ACL_REQUIREMENTS[operation.operationId] ?? (open ? "none" : "a management token");
      operation.description = `${operation.description ?? ""}${aclNote(need)}`;
      if (operation.responses) operation.responses["429"] ??= ref("responses", "RateLimited");
    }
  }
  return spec;
}

/** The document as served and committed: 2-space JSON and a trailing newline. */
export function openApiJson(): string {
  return `${JSON.stringify(buildOpenApiDocument(), null, 2)}\n`;
}
