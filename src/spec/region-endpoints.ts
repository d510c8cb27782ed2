/**
 * The OpenAPI paths beyond one allocation: the region's allocation list and event stream, task
 * logs, and the status endpoints clients call first. Parameters shared with the allocation read
 * (`index`, `wait`, `stale`, `region`, `pretty`, `alloc_id`) are referenced, not repeated.
 */

import type { HeaderObject, OperationObject, ParameterObject, PathItemObject, TagObject } from "openapi3-ts/oas31";
import { ErrorText } from "../errors.ts";
import {
  BAD_ID_EXAMPLES,
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

export const TAG_LIST = "Allocation list";
export const TAG_EVENTS = "Events";
export const TAG_LOGS = "Task logs";
export const TAG_STATUS = "Status";

export const REGION_TAGS: TagObject[] = [
  { name: TAG_LIST, description: "All allocations of a region, with prefix search, pagination and blocking queries." },
  { name: TAG_EVENTS, description: "The region's allocation changes as a resumable stream (Nomad's event stream)." },
  { name: TAG_LOGS, description: "Task logs as Nomad's client serves them, and the ingest agents write them with." },
  { name: TAG_STATUS, description: "Leader, peers, regions and agent information: what Nomad clients ask first." },
];

const GO_BOOL = ["1", "t", "T", "TRUE", "true", "True", "0", "f", "F", "FALSE", "false", "False"];

export const REGION_PARAMETERS: Record<string, ParameterObject> = {
  Prefix: {
    name: "prefix",
    in: "query",
    required: false,
    description:
      "Only allocations whose ID starts with this prefix: hex digits and hyphens, any length (hyphens are ignored, so `203266e5e0d6` matches `203266e5-e0d6-...`). Nomad requires an even length; this server does not.",
    schema: { type: "string", pattern: "^[0-9a-fA-F-]*$", examples: ["2032"] },
  },
  PerPage: {
    name: "per_page",
    in: "query",
    required: false,
    description:
      "Page size, an int32 as Nomad parses it. Absent or `0`: everything. When more remain, `X-Nomad-NextToken` names the first ID of the next page. A negative size gives an empty page whose next token is the first match (Nomad's paginator).",
    schema: { type: "integer", format: "int32", minimum: -2147483648, maximum: 2147483647 },
  },
  Namespace: {
    name: "namespace",
    in: "query",
    required: false,
    description:
      "List this namespace only; `*` lists every namespace the caller may read (`read-job`, with Nomad's glob rules). Absent or empty: `default`. A named namespace the caller may not read is a `403`.",
    schema: { type: "string", default: "default", examples: ["default", "*"] },
  },
  Filter: {
    name: "filter",
    in: "query",
    required: false,
    description:
      'A go-bexpr filter expression evaluated on each **full allocation** (not its stub) before the page is cut, as Nomad\'s paginator does: selectors such as `ClientStatus`, `TaskStates.redis.State`, `TaskStates["redis"].State`, `Job.Meta.owner` or a JSON pointer `"/Job/Meta/owner"`; `==`, `!=`, `in`, `not in`, `contains`, `not contains`, `is empty`, `is not empty`, `is nil`, `is not nil`, `matches`, `not matches` (regular expressions; patterns with backreferences, lookarounds or a repeated group holding a repetition or alternation are refused); `and`, `or`, `not`, parentheses, `any`/`all <selector> as <name> { … }`; values unquoted, `"quoted"` or `` `raw` ``. A malformed expression, or one that fails on an allocation (an unknown top-level field, a value that is not of the field\'s type), is a `400`.',
    schema: { type: "string", examples: ['ClientStatus == "running" and Job.Meta.owner == ops'] },
  },
  Reverse: {
    name: "reverse",
    in: "query",
    required: false,
    description:
      "`true`: descending ID order, and `next_token` pages towards lower IDs. Any other value keeps the ascending order (Nomad compares with the exact text `true`).",
    schema: { type: "string", examples: ["true"] },
  },
  TaskStates: {
    name: "task_states",
    in: "query",
    required: false,
    description: "A Go boolean; `false` sets each stub's `TaskStates` to `null`. Default `true`. Anything else is a `400`.",
    schema: { type: "string", enum: GO_BOOL },
  },
  NextToken: {
    name: "next_token",
    in: "query",
    required: false,
    description: "Start the page at this allocation ID: the `X-Nomad-NextToken` of the previous page.",
    schema: { type: "string" },
  },
  EventIndex: {
    name: "index",
    in: "query",
    required: false,
    description:
      "Start with the first event whose index is at least this (e.g. the `X-Nomad-Index` of a list, plus 1); beyond the last event: with the next one. Absent or `0`: from the oldest event still kept (Nomad replays its buffer). Below the oldest event kept (`EVENT_HISTORY` per region): `410`. Parsed as Nomad parses it (`strconv.Atoi`, an int64; a negative index is taken as the uint64 Nomad makes of it).",
    schema: { type: "integer", format: "int64" },
  },
  EventNamespace: {
    name: "namespace",
    in: "query",
    required: false,
    description:
      "Deliver the events of this namespace; `*`: of every namespace that exists when the stream opens (each of which the caller must be allowed to read, as Nomad's `validateACL`). Absent or empty: `default`.",
    schema: { type: "string", default: "default", examples: ["default", "*"] },
  },
  Topic: {
    name: "topic",
    in: "query",
    required: false,
    description:
      "`Topic:Key` filters, repeatable: `Allocation` or `Allocation:*` for every allocation; `Allocation:<key>` for the events whose `Key` (the allocation ID) or `FilterKeys` (its `JobID` and `DeploymentID`) is `<key>`, so `Allocation:<job>` follows a job's allocations; `*` for everything. None means `*`. More than one `:` is a `400`. `*` and topics other than Nomad's read-job topics (`Allocation`, `Job`, `Evaluation`, `Deployment`, `Service`, `CSIPlugin`), `Node` (`node:read`) and `CSIVolume` need a management token, as in Nomad; topics other than `Allocation` carry no events here.",
    schema: { type: "array", items: { type: "string" }, examples: [["Allocation"]] },
    style: "form",
    explode: true,
  },
  LogTask: {
    name: "task",
    in: "query",
    required: true,
    description: "The task whose logs to read or write: one of the allocation's task group. Missing: `400 must provide task name`.",
    schema: { type: "string", minLength: 1, examples: ["redis"] },
  },
  LogType: {
    name: "type",
    in: "query",
    required: true,
    description: "Which stream: `stdout` or `stderr`. Anything else: `400 must provide log type (stdout/stderr)`.",
    schema: { type: "string", enum: ["stdout", "stderr"] },
  },
  LogOrigin: {
    name: "origin",
    in: "query",
    required: false,
    description: "Where `offset` counts from: `start` (default) or `end` (e.g. `origin=end&offset=1000`: the last 1000 bytes).",
    schema: { type: "string", enum: ["start", "end"], default: "start" },
  },
  LogOffset: {
    name: "offset",
    in: "query",
    required: false,
    description: "Byte offset from `origin` (int64, not negative). Offsets before the oldest byte kept start at the oldest byte.",
    schema: { type: "integer", format: "int64", minimum: 0 },
  },
  LogFollow: {
    name: "follow",
    in: "query",
    required: false,
    description:
      "Keep the stream open and send bytes as they are ingested; a `{}` heartbeat after each idle second. The stream ends once the task is dead and every byte was sent. A Go boolean.",
    schema: { type: "string", enum: GO_BOOL },
  },
  LogExpectedOffset: {
    name: "X-Log-Offset",
    in: "header",
    required: false,
    description:
      "Append only if exactly this many bytes were ever appended to the stream before this body (retention does not lower the count); otherwise nothing is written and the answer is `409` with the current total in `X-Log-Offset`. A writer that counts the bytes it shipped can retry an append without ever writing it twice. A decimal integer; anything else is `400`.",
    schema: { type: "integer", minimum: 0, maximum: Number.MAX_SAFE_INTEGER, examples: [0, 4096] },
  },
  LogPlain: {
    name: "plain",
    in: "query",
    required: false,
    description: "Send the raw bytes (`text/plain`) instead of JSON frames. A Go boolean.",
    schema: { type: "string", enum: GO_BOOL },
  },
};

export const REGION_HEADERS: Record<string, HeaderObject> = {
  XLogOffset: {
    description: "The total number of bytes ever appended to the log stream (after this append, when it was applied).",
    required: true,
    schema: { type: "integer", minimum: 0 },
  },
  XNomadNextToken: {
    description: "Present when a page was cut by `per_page`: pass it as `next_token` for the next page.",
    required: false,
    schema: { type: "string" },
  },
};

const listAllocations: OperationObject = {
  operationId: "listAllocations",
  summary: "List allocations",
  description:
    "Lists the region's allocations of one namespace (or of every readable one) as `AllocListStub`s in ascending ID order (descending with `reverse=true`). Supports blocking queries on the **region-wide index** (`X-Nomad-Index`, which grows on every change to any allocation of the region): the request is held until some allocation of the region changes past `index`, or `wait` runs out. The list is fed from the allocations asynchronously, so a write shows up here (and in the event stream) shortly after it answered.",
  tags: [TAG_LIST],
  security: READ_SECURITY,
  parameters: [
    "Prefix",
    "Namespace",
    "Filter",
    "PerPage",
    "NextToken",
    "Reverse",
    "TaskStates",
    "Index",
    "Wait",
    "Stale",
    "Region",
    "Pretty",
  ].map((name) => ref("parameters", name)),
  responses: {
    "200": {
      description: "The page of allocations.",
      headers: { ...READ_HEADERS, "X-Nomad-NextToken": ref("headers", "XNomadNextToken") },
      content: { "application/json": { schema: { type: "array", items: schemaRef("AllocListStub") } } },
    },
    "400": textError("A malformed query parameter or region.", {
      invalidIndex: example("`index` is not a uint64", ErrorText.invalidIndex),
      invalidWait: example("`wait` is not a Go duration", ErrorText.invalidWait),
      invalidPrefix: example(
        "`prefix` has a character that cannot be in an ID",
        'Invalid prefix "xyz": an allocation ID prefix has only hexadecimal digits and hyphens',
      ),
      invalidPerPage: example("`per_page` is not an int32", ErrorText.invalidPerPage),
      invalidFilter: example(
        "`filter` is not a valid expression",
        'failed to create result paginator: failed to read filter expression: 1:16 (15): no match found, expected: "-", "0", "\\"", "`", [ \\t\\r\\n], [1-9] or [a-zA-Z]',
      ),
      failedFilter: example(
        "`filter` fails on an allocation",
        'failed to read result page: error finding value in datum: /NoSuchField at part 0: couldn\'t find key: struct field with name "NoSuchField"',
      ),
      invalidTaskStates: example(
        "`task_states` is not a Go boolean",
        'Failed to parse value of "task_states" (maybe) as a bool: strconv.ParseBool: parsing "maybe": invalid syntax',
      ),
      region: REGION_EXAMPLE,
    }),
    "403": ref("responses", "ReadForbidden"),
    "500": ref("responses", "InternalError"),
  },
};

const streamEvents: OperationObject = {
  operationId: "streamEvents",
  summary: "Stream allocation events",
  description:
    'Streams the region\'s allocation changes as Nomad\'s event stream: one JSON object per line, `{"Events":[...],"Index":N}`, or `{}` as a heartbeat: one at once when the stream opens, then one every 30 s (`EVENT_STREAM_HEARTBEAT`), as Nomad sends them. The stream never ends by itself. To follow every change without gaps: list `/v1/allocations`, then stream from its `X-Nomad-Index` + 1; after a disconnect, resume from the last `Index` + 1. The most recent `EVENT_HISTORY` events per region are kept for resuming.',
  tags: [TAG_EVENTS],
  security: READ_SECURITY,
  parameters: ["EventIndex", "Topic", "EventNamespace", "Region"].map((name) => ref("parameters", name)),
  responses: {
    "200": {
      description: "Newline-delimited `EventBatch` objects, sent as they happen.",
      content: { "application/json": { schema: schemaRef("EventBatch") } },
    },
    "400": textError("A malformed topic, index or region.", {
      invalidTopic: example(
        "A topic with more than one `:`",
        "Invalid topic query: error parsing topics: Invalid key value pair for topic, topic: a:b:c",
      ),
      invalidIndex: example("`index` is not an int64", 'Unable to parse index: strconv.Atoi: parsing "abc": invalid syntax'),
      region: REGION_EXAMPLE,
    }),
    "403": ref("responses", "ReadForbidden"),
    "410": textError("The requested index is older than the oldest event kept: list again and stream from the list's index + 1.", {
      gone: example(
        "Index below the history kept",
        "event index 5 is older than the oldest event kept (1764000000123): list /v1/allocations again and stream from its X-Nomad-Index + 1",
      ),
    }),
    "500": ref("responses", "InternalError"),
  },
};

const LOG_PARAMETER_EXAMPLES = {
  taskMissing: example("No `task`", "must provide task name"),
  typeMissing: example("No or another `type`", "must provide log type (stdout/stderr)"),
  unknownTask: example("The task is not in the allocation's group", 'unknown task name "web"'),
};

const readTaskLogs: OperationObject = {
  operationId: "readTaskLogs",
  summary: "Read task logs",
  description:
    "Reads a task's `stdout` or `stderr` as Nomad's `/v1/client/fs/logs` does: JSON frames (`TaskLogFrame`, base64 `Data`, at most 64 KiB each, written back to back) or, with `plain`, the raw bytes. Without `follow` the read ends at the end the log had when it was opened. Logs are what agents ingested with `POST` on the same path; the server keeps the last `LOG_RETENTION_BYTES` of each stream.",
  tags: [TAG_LOGS],
  security: READ_SECURITY,
  parameters: ["AllocId", "LogTask", "LogType", "LogOrigin", "LogOffset", "LogFollow", "LogPlain", "Region"].map((name) =>
    ref("parameters", name),
  ),
  responses: {
    "200": {
      description: "The log: JSON frames, or raw bytes with `plain`.",
      content: {
        "application/json": { schema: schemaRef("TaskLogFrame") },
        "text/plain": { schema: { type: "string" } },
      },
    },
    "400": textError("A malformed parameter, task or region.", {
      ...LOG_PARAMETER_EXAMPLES,
      invalidOrigin: example("`origin` is not start or end", "origin must be start or end"),
      invalidOffset: example("`offset` is not an int64", 'error parsing offset: strconv.ParseInt: parsing "x": invalid syntax'),
      invalidFollow: example(
        "`follow` is not a Go boolean",
        'failed to parse follow field to boolean: strconv.ParseBool: parsing "yes": invalid syntax',
      ),
      ...BAD_ID_EXAMPLES,
    }),
    "403": forbidden("`namespace:read-logs` or `namespace:read-fs` (for anonymous callers: the `anonymous` policy)"),
    "404": textError("No such allocation, or the task never started (so it has no logs yet).", {
      unknownAllocation: example("No such allocation", 'Unknown allocation "00000000-0000-0000-0000-000000000000"'),
      notStarted: example("The task has not started", 'task "redis" not started yet. No logs available'),
    }),
    "500": ref("responses", "InternalError"),
  },
};

const appendTaskLogs: OperationObject = {
  operationId: "appendTaskLogs",
  summary: "Ingest task logs",
  description:
    "Appends bytes to a task's `stdout` or `stderr`, as the agent running the task would ship them (this server has no client agents). At most 1 MiB per request; followers of the stream are woken at once.",
  tags: [TAG_LOGS],
  security: WRITE_SECURITY,
  parameters: ["AllocId", "LogTask", "LogType", "Region", "IdempotencyKey", "LogExpectedOffset"].map((name) => ref("parameters", name)),
  requestBody: {
    required: true,
    description: "The bytes to append, as they are.",
    content: { "application/octet-stream": { schema: { type: "string", contentMediaType: "application/octet-stream" } } },
  },
  responses: {
    "200": {
      description: "Appended.",
      headers: { "X-Log-Offset": ref("headers", "XLogOffset") },
      content: { "application/json": { schema: schemaRef("LogAppendResponse") } },
    },
    "400": textError("A malformed parameter, task, region, Idempotency-Key or X-Log-Offset.", {
      ...LOG_PARAMETER_EXAMPLES,
      ...BAD_ID_EXAMPLES,
      ...IDEMPOTENCY_EXAMPLES,
      invalidLogOffset: example(
        "`X-Log-Offset` is not a decimal integer",
        "Invalid X-Log-Offset: a non-negative decimal integer (the bytes appended before this body)",
      ),
    }),
    "403": ref("responses", "Forbidden"),
    "404": textError("No such allocation.", {
      unknownAllocation: example("No such allocation", 'Unknown allocation "00000000-0000-0000-0000-000000000000"'),
    }),
    "409": textError(
      "`X-Log-Offset` is not the stream's current total (a retry of an append that was applied, or bytes missing before this body). Nothing was written; `X-Log-Offset` carries the current total.",
      {
        offsetMismatch: example(
          "An append retried after it was applied",
          "X-Log-Offset 0 does not match the stream's 10 bytes appended so far; nothing was written",
        ),
      },
      { "X-Log-Offset": ref("headers", "XLogOffset") },
    ),
    "413": ref("responses", "TooLarge"),
    "422": ref("responses", "KeyReused"),
    "500": ref("responses", "InternalError"),
  },
};

function statusOperation(operationId: string, summary: string, description: string, schema: object, sample: unknown): OperationObject {
  return {
    operationId,
    summary,
    description,
    tags: [TAG_STATUS],
    security: OPEN,
    responses: {
      "200": { description: summary, content: { "application/json": { schema, example: sample } } },
      "500": ref("responses", "InternalError"),
    },
  };
}

/** The note on methods a path does not declare. */
const METHODS_NOTE = "Any other method answers `405 Invalid method` (text/plain).";

export const REGION_PATHS: Record<string, PathItemObject> = {
  "/v1/allocations": {
    summary: "The region's allocations",
    description: METHODS_NOTE,
    get: listAllocations,
  },
  "/v1/event/stream": {
    summary: "The region's event stream",
    description: METHODS_NOTE,
    get: streamEvents,
  },
  "/v1/client/fs/logs/{alloc_id}": {
    summary: "The logs of an allocation's tasks",
    description: METHODS_NOTE,
    get: readTaskLogs,
    post: appendTaskLogs,
  },
  "/v1/status/leader": {
    get: statusOperation(
      "getLeader",
      "Read the leader's address",
      "The address of the region's leader. This server is its own leader: its host name and Nomad's RPC port.",
      { type: "string" },
      "127.0.0.1:4647",
    ),
  },
  "/v1/status/peers": {
    get: statusOperation(
      "getPeers",
      "List the server peers",
      "The addresses of the region's servers: this server only.",
      { type: "array", items: { type: "string" } },
      ["127.0.0.1:4647"],
    ),
  },
  "/v1/regions": {
    get: statusOperation(
      "listRegions",
      "List regions",
      "The regions this deployment serves (`REGIONS`), sorted. Any of them can be named with `?region=`.",
      { type: "array", items: { type: "string" } },
      ["asia", "europe", "global"],
    ),
  },
  "/v1/agent/self": {
    get: {
      ...statusOperation(
        "getAgentSelf",
        "Read agent information",
        "The agent's configuration and member entry, as far as Nomad clients need them (region, datacenter, version).",
        schemaRef("AgentSelf"),
        undefined,
      ),
      security: READ_SECURITY,
      responses: {
        "200": { description: "Read agent information", content: { "application/json": { schema: schemaRef("AgentSelf") } } },
        "403": forbidden("`agent:read`"),
        "500": ref("responses", "InternalError"),
      },
    },
  },
};
