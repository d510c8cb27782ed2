/**
 * Every parameter component of the OpenAPI document, by name: the blocking-query options, the
 * region and id, the list's, the event stream's and the logs' parameters, and the write headers.
 * Patterns, enums and error texts are the constants the parsers themselves use.
 */
import type { ParameterObject } from "openapi3-ts/oas31";
import { DEMO_ALLOC_ID } from "../demo/allocation.ts";
import { LOOKUP_PREFIX, UUID_ANY_CASE_PATTERN } from "../domain/alloc-id.ts";
import { ErrorText, LogErrors } from "../errors.ts";
import { PREFIX_PATTERN } from "../http/list-query.ts";
import { SOURCE_INDEX_HEADER, SOURCE_INDEX_PATTERN } from "../http/source-index.ts";
import { GO_BOOLS } from "../json/go-bool.ts";
import { IDEMPOTENCY_KEY_PATTERN } from "../pipeline/idempotency.ts";

/**
 * Go's `time.ParseDuration` syntax (what `parseGoDuration` accepts). The micro signs are written as
 * `\u` escapes so the pattern stays ASCII (Prism echoes patterns into HTTP headers). Empty means the default.
 */
const GO_DURATION_PATTERN = "^([-+]?(0|((\\d+(\\.\\d*)?|\\.\\d+)(ns|us|\\u00b5s|\\u03bcs|ms|s|m|h))+))?$";

export const SOURCE_INDEX_RULE =
  "the index at which the writer saw this state in the system it mirrors (Nomad's `ModifyIndex`; for a delete, the Nomad index at which the allocation was seen gone). The allocation keeps the highest source index applied, also after a delete. A write whose source index is not above the stored one is **not applied** and answers `200` with `Stale: true` and the index of the current state, so a retried or reordered write never replaces newer state, and a late PUT never brings back an allocation deleted at a newer source index. A conditional delete of an allocation that is not there answers `404` but still records its source index. A deleted allocation is forgotten `TOMBSTONE_RETENTION` (default 25 h) after its delete; its region then keeps the highest source index it forgot, and a conditional write that would create an allocation at or below it is stale too, even for an allocation never written. Writes without one are applied as always and leave the stored source index as it is";

export const PARAMETERS = {
  AllocId: {
    name: "alloc_id",
    in: "path",
    required: true,
    description: `The allocation's ID, a UUID. Like Nomad, hex case and hyphens are forgiving (\`203266E5E0D69486...\` names the same allocation), but the canonical lower-case 8-4-4-4-12 form is what is issued and returned. Text that cannot be a UUID is \`400 ${LOOKUP_PREFIX}...\`.`,
    schema: { type: "string", pattern: UUID_ANY_CASE_PATTERN, examples: [DEMO_ALLOC_ID] },
    example: DEMO_ALLOC_ID,
  },
  Index: {
    name: "index",
    in: "query",
    required: false,
    description: `Blocking query: answer once the allocation's index is greater than this, or when \`wait\` runs out. Send the \`X-Nomad-Index\` of the previous read. Absent or \`0\`: answer at once. Not a uint64: \`400 ${ErrorText.invalidIndex}\`.`,
    schema: { type: "integer", format: "uint64", minimum: 0 },
  },
  Wait: {
    name: "wait",
    in: "query",
    required: false,
    description: `Blocking query: the longest time to hold the request, in Go duration syntax (\`10s\`, \`5m\`, \`300000ms\`). Default and maximum 300 s (the maximum is the deployment's \`MAX_QUERY_TIME\`); up to \`wait/16\` of random jitter is added. Only used together with \`index\`. Unparseable: \`400 ${ErrorText.invalidWait}\`.`,
    schema: { type: "string", pattern: GO_DURATION_PATTERN, examples: ["1s", "30s", "5m", "300000ms"] },
  },
  Stale: {
    name: "stale",
    in: "query",
    required: false,
    description:
      "Allow a read from any server without going through the leader. Accepted for compatibility: every read here is already answered by the allocation's own storage. An empty value means `true`; values are Go booleans (`1`, `t`, `true`, `0`, `f`, `false`, ...); anything else is a `400`.",
    schema: { type: "string", enum: ["", ...GO_BOOLS] },
  },
  Region: {
    name: "region",
    in: "query",
    required: false,
    description: `The region to read from or write to. Absent or empty means the deployment's default region (\`global\`). A region the deployment does not serve: \`400 ${ErrorText.noRegionPath}\`.`,
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
    schema: { type: "string", pattern: IDEMPOTENCY_KEY_PATTERN, examples: ["3f1c2a9e-retry-1"] },
  },
  Prefix: {
    name: "prefix",
    in: "query",
    required: false,
    description:
      "Only allocations whose ID starts with this prefix: hex digits and hyphens, any length (hyphens are ignored, so `203266e5e0d6` matches `203266e5-e0d6-...`). Nomad requires an even length; this server does not.",
    schema: { type: "string", pattern: PREFIX_PATTERN, examples: ["2032"] },
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
    schema: { type: "string", enum: [...GO_BOOLS] },
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
    description: `The task whose logs to read or write: one of the allocation's task group. Missing: \`400 ${LogErrors.taskMissing}\`.`,
    schema: { type: "string", minLength: 1, examples: ["redis"] },
  },
  LogType: {
    name: "type",
    in: "query",
    required: true,
    description: `Which stream: \`stdout\` or \`stderr\`. Anything else: \`400 ${LogErrors.typeMissing}\`.`,
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
    schema: { type: "string", enum: [...GO_BOOLS] },
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
    schema: { type: "string", enum: [...GO_BOOLS] },
  },
  SourceIndex: {
    name: SOURCE_INDEX_HEADER,
    in: "header",
    required: false,
    description: `Makes the write conditional on a source index: ${SOURCE_INDEX_RULE}. A decimal uint64; anything else is \`400\`.`,
    schema: { type: "string", pattern: SOURCE_INDEX_PATTERN, examples: ["1284"] },
  },
} satisfies Record<string, ParameterObject>;

export type ParameterName = keyof typeof PARAMETERS;

/** A reference to a parameter component (a typo is a type error, not a dangling `$ref`). */
export function param(name: ParameterName) {
  return { $ref: `#/components/parameters/${name}` };
}
