/**
 * `/v1/allocation/<alloc_id>`: the Nomad read (with blocking queries), the agents' writes (PUT,
 * DELETE, task events) and Nomad's stop endpoint, refused here. Handlers parse in Nomad's order
 * (query, region, id) after the pipeline checked the caller, call the allocation's Durable Object,
 * and return a reply or throw a CodedError.
 */
import { ALLOC_LIFECYCLE } from "../acl/needs.ts";
import { type Config, config } from "../config.ts";
import { DEMO_ALLOC_ID } from "../demo/allocation.ts";
import { type AllocId, allocIdOrNull, parseAllocId } from "../domain/alloc-id.ts";
import { DEFAULT_NAMESPACE, normalizeNamespace } from "../domain/namespace.ts";
import { normalizeAs } from "../domain/validate.ts";
import { type AllocationRead, unwrap, type WriteOutcome } from "../durable/contract.ts";
import { allocationStub } from "../durable/stub.ts";
import { CodedError, ErrorText, RefusalText } from "../errors.ts";
import { decodeJson, decodeJsonBody, readBody } from "../http/body.ts";
import { queryMetaHeaders } from "../http/meta.ts";
import { decodePathText, parseBoolParam } from "../http/query.ts";
import { parseRegion } from "../http/region.ts";
import { reply } from "../http/reply.ts";
import { parseSourceIndex, SOURCE_INDEX_HEADER, sourceIndexHeader } from "../http/source-index.ts";
import { encodeJson, isJsonObject, JsonNumber, type JsonObject, type JsonValue } from "../json/codec.ts";
import { GO_BOOLS } from "../json/go-bool.ts";
import {
  BAD_ID_EXAMPLES,
  type Examples,
  example,
  forbidden,
  IDEMPOTENCY_EXAMPLES,
  REGION_EXAMPLE,
  ref,
  schemaRef,
  textError,
  thrownText,
} from "../openapi/common.ts";
import { type ParameterName, param } from "../openapi/parameters.ts";
import { TAG } from "../openapi/tags.ts";
import { ACCESS } from "../pipeline/access.ts";
import { parseBlockingQuery, readSurvivingReset } from "../pipeline/blocking.ts";
import { limitKey, requireNamespace } from "../pipeline/caller.ts";
import type { Endpoint, Handler, RoutedRequest } from "../pipeline/endpoint.ts";
import { idempotencyKey } from "../pipeline/idempotency.ts";
import { invalidMethod } from "./methods.ts";

const ALLOCATION_PREFIX = "/v1/allocation/";

/**
 * The raw id text of the path: everything after the prefix, minus a known sub-resource. Taken from
 * the path itself (not the route's parameter) so a trailing slash stays part of the id, as in Nomad.
 */
function rawAllocId(request: Request, subResource = ""): string {
  const rest = new URL(request.url).pathname.slice(ALLOCATION_PREFIX.length);
  return subResource && rest.endsWith(subResource) ? rest.slice(0, -subResource.length) : rest;
}

/** Server-owned fields: whatever a writer sends for them is ignored. */
const SERVER_OWNED = ["CreateIndex", "ModifyIndex", "AllocModifyIndex"];

function notFound(index: number): never {
  throw new CodedError(404, ErrorText.allocNotFound, queryMetaHeaders(index));
}

/** The answer body of a write that was applied, `{"Index":N}`, or skipped as stale, `{"Index":N,"Stale":true}`. */
export function writeAnswer(outcome: WriteOutcome & { ok: true }): JsonObject {
  return outcome.stale ? { Index: JsonNumber.of(outcome.index), Stale: true } : { Index: JsonNumber.of(outcome.index) };
}

function writeReply(outcome: WriteOutcome): Response {
  const written = unwrap(outcome);
  return reply(encodeJson(writeAnswer(written)), { write: written.index });
}

/**
 * A PUT body made ready for the allocation object: an object whose `ID`, if any, is `uuid`,
 * without the server-owned fields, validated and normalized. Throws the single write's 400s.
 */
export function allocationDocument(body: JsonValue, uuid: string): { document: string; keepTaskStates: boolean } {
  if (!isJsonObject(body)) throw new CodedError(400, "invalid field Allocation: expected object");
  if ("ID" in body) {
    const id = typeof body.ID === "string" ? allocIdOrNull(body.ID) : null;
    if (id?.uuid !== uuid) throw new CodedError(400, `invalid field Allocation.ID: does not match the path ID ${uuid}`);
  }
  for (const field of SERVER_OWNED) delete body[field];
  const keepTaskStates = !("TaskStates" in body);
  const document = normalizeAs("Allocation", body) as JsonObject;
  normalizeNamespace(document);
  return { document: encodeJson(document), keepTaskStates };
}

/** Resolves region and id for a write; an id that cannot name an allocation is a 404 at once. */
function writeTarget(request: RoutedRequest, cfg: Config, subResource = ""): { region: string; alloc: AllocId } {
  const region = parseRegion(new URL(request.url).searchParams, cfg);
  const alloc = parseAllocId(rawAllocId(request, subResource));
  if (!alloc) notFound(1);
  return { region, alloc };
}

const getAllocation: Handler = async (request, { env, caller }) => {
  const who = await caller();
  const query = parseBlockingQuery(request, env, who);
  const alloc = parseAllocId(rawAllocId(request));
  if (!alloc) notFound(1);
  const result = await readSurvivingReset<AllocationRead>(
    query.options.minIndex,
    request.signal,
    async (minIndex, signal) => await allocationStub(env, query.cfg, query.region, alloc.uuid).read({ ...query.options, minIndex }, signal),
  );
  if (result.body === null) notFound(result.index);
  requireNamespace(who, result.namespace ?? DEFAULT_NAMESPACE, ACCESS.readJob.need.anyOf);
  return reply(result.body, { read: result.index });
};

const putAllocation: Handler = async (request, { env }) => {
  const cfg = config(env);
  const { region, alloc } = writeTarget(request, cfg);
  const bytes = await readBody(request, env);
  const { document, keepTaskStates } = allocationDocument(decodeJsonBody(bytes, env), alloc.uuid);
  const idem = await idempotencyKey(request, bytes);
  const source = sourceIndexHeader(request);
  const stub = allocationStub(env, cfg, region, alloc.uuid);
  return writeReply(await stub.put(document, keepTaskStates, idem, source));
};

const postTaskEvents: Handler = async (request, { env }) => {
  const cfg = config(env);
  const { region, alloc } = writeTarget(request, cfg, "/task-events");
  const bytes = await readBody(request, env);
  const body = normalizeAs("TaskEventsRequest", decodeJsonBody(bytes, env)) as JsonObject;
  const idem = await idempotencyKey(request, bytes);
  const stub = allocationStub(env, cfg, region, alloc.uuid);
  return writeReply(await stub.appendTaskEvents(encodeJson(body.Events ?? []), idem));
};

const deleteAllocation: Handler = async (request, { env }) => {
  const cfg = config(env);
  const { region, alloc } = writeTarget(request, cfg);
  const idem = await idempotencyKey(request, await readBody(request, env));
  const source = sourceIndexHeader(request);
  return writeReply(await allocationStub(env, cfg, region, alloc.uuid).remove(idem, source));
};

/**
 * `PUT`/`POST /v1/allocation/<id>/stop` (Nomad 0.9.2+, which the official client calls): checked as
 * Nomad checks it (its booleans, the allocation, `alloc-lifecycle` in its namespace), then refused
 * with 409: this server mirrors the cluster and cannot stop anything. Any id that names no
 * allocation is Nomad's 404 `allocation not found`.
 */
const stopAllocation: Handler = async (request, { env, caller }) => {
  const who = await caller();
  const cfg = config(env);
  const params = new URL(request.url).searchParams;
  parseBoolParam(params, "no_shutdown_delay", false);
  parseBoolParam(params, "reschedule", false);
  const region = parseRegion(params, cfg);
  const alloc = allocIdOrNull(decodePathText(rawAllocId(request, "/stop")));
  if (!alloc) throw new CodedError(404, ErrorText.allocationNotFound);
  const read = { minIndex: 0n, waitMs: 0, pretty: false, caller: limitKey(request, who) };
  const result = unwrap(await allocationStub(env, cfg, region, alloc.uuid).read(read));
  if (result.body === null) throw new CodedError(404, ErrorText.allocationNotFound);
  requireNamespace(who, result.namespace ?? DEFAULT_NAMESPACE, ALLOC_LIFECYCLE);
  throw new CodedError(409, ErrorText.readReplica);
};

/** Sub-resources Nomad has and this server does not (`services`, `checks`): Nomad's 404 for an unknown one. */
function missingSubResource(): never {
  throw new CodedError(404, ErrorText.resourceNotFound);
}

// ---------------------------------------------------------------------------------------------
// The document's side of the declarations

const SOURCE_INDEX_EXAMPLE = example(
  "`X-Source-Index` is not a uint64",
  thrownText(() => parseSourceIndex("-1", SOURCE_INDEX_HEADER)),
);

const bodyErrors = (extra: Examples) =>
  textError("The body, region or allocation ID is invalid. Nothing was written.", {
    decode: example(
      "The body is not JSON",
      thrownText(() => decodeJson(new Uint8Array())),
    ),
    ...extra,
    ...BAD_ID_EXAMPLES,
    ...IDEMPOTENCY_EXAMPLES,
  });

const params = (...names: ParameterName[]) => names.map(param);
const WRITE_PARAMETERS: ParameterName[] = ["AllocId", "Region", "IdempotencyKey"];

const STOP_BOOLEANS = ["no_shutdown_delay", "reschedule"].map((name) => ({
  name,
  in: "query" as const,
  required: false,
  description: `Nomad's \`${name}\` flag, a Go boolean: checked as Nomad checks it (anything else is a \`400\`), then moot, since nothing is stopped here.`,
  schema: { type: "string" as const, enum: [...GO_BOOLS] },
}));

function stopDoc(method: "post" | "put") {
  return {
    operationId: method === "post" ? "stopAllocation" : "stopAllocationPut",
    summary: "Stop an allocation (refused: read replica)",
    description:
      "Nomad's stop endpoint (0.9.2+), which the official client calls. This server mirrors a Nomad cluster and cannot stop allocations: the request is checked as Nomad checks it (the booleans, the allocation, `alloc-lifecycle` in its namespace) and then answered `409`. Stop the allocation on the cluster; the change reaches this server through its ingest.",
    tags: [TAG.allocations],
    parameters: [param("AllocId"), param("Region"), ...STOP_BOOLEANS],
    responses: {
      "400": textError("A malformed flag or region.", {
        invalidFlag: example(
          "`reschedule` is not a Go boolean",
          thrownText(() => parseBoolParam(new URLSearchParams("reschedule=maybe"), "reschedule", false)),
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

/** The subtree under `/v1/allocation/` that no route matched: Nomad parses the rest as an id. */
function unmatchedAllocationPath(_request: Request, rest: string): void {
  parseAllocId(rest);
}

export const ALLOCATION_ENDPOINTS: Endpoint[] = [
  {
    path: "/v1/allocation/{alloc_id}",
    summary: "One allocation",
    description: "An allocation by ID.",
    otherMethods: invalidMethod,
    // Nomad's ServeMux serves `/v1/allocation/` as a subtree: Go redirects `/v1/allocation` to it.
    subtree: { prefix: ALLOCATION_PREFIX, unmatched: unmatchedAllocationPath, redirectRoot: true },
    operations: [
      {
        method: "get",
        access: ACCESS.readJob,
        handler: getAllocation,
        doc: {
          operationId: "readAllocation",
          summary: "Read an allocation",
          description: [
            "Reads one allocation: its job, resources, placement metrics, and the state and latest 10 events of each task (see *Field reference* in the introduction).",
            "",
            "**Blocking query:** send the `X-Nomad-Index` of the previous read as `index`, and optionally `wait` (Go duration, default and maximum 300 s, plus up to `wait/16` jitter). The request is held until the allocation's index is greater than `index`, or the wait runs out: then it answers `200` with the current allocation and the same index. A write releases waiters within milliseconds. See *Blocking queries* in the introduction.",
          ].join("\n"),
          tags: [TAG.allocations],
          parameters: params("AllocId", "Index", "Wait", "Stale", "Region", "Pretty"),
          responses: {
            "200": ref("responses", "AllocationRead"),
            "400": ref("responses", "ReadBadRequest"),
            "403": ref("responses", "ReadForbidden"),
            "404": ref("responses", "AllocationReadNotFound"),
            "500": ref("responses", "InternalError"),
          },
        },
      },
      {
        method: "put",
        access: ACCESS.nodeWrite,
        handler: putAllocation,
        doc: {
          operationId: "putAllocation",
          summary: "Create or replace an allocation",
          description:
            "Stores the allocation as sent, as the servers would after placing it. Omitted fields get Go's zero values; `CreateIndex`, `ModifyIndex` and `AllocModifyIndex` are set by the server (values sent are ignored); `ID`, if sent, must match the path. When the body has no `TaskStates`, the current task states are kept. Wakes blocking readers.",
          tags: [TAG.allocations],
          parameters: params(...WRITE_PARAMETERS, "SourceIndex"),
          requestBody: { required: true, content: { "application/json": { schema: schemaRef("Allocation") } } },
          responses: {
            "200": ref("responses", "WriteOk"),
            "400": bodyErrors({
              sourceIndex: SOURCE_INDEX_EXAMPLE,
              invalidField: example(
                "A field has the wrong type",
                thrownText(() => normalizeAs("Allocation", { Job: { Priority: "high" } })),
              ),
              idMismatch: example(
                "`ID` differs from the path",
                thrownText(() => allocationDocument({ ID: "00000000-0000-0000-0000-000000000000" }, DEMO_ALLOC_ID)),
              ),
            }),
            "403": ref("responses", "Forbidden"),
            "404": ref("responses", "WriteNotFound"),
            "413": ref("responses", "TooLarge"),
            "422": ref("responses", "KeyReused"),
            "500": ref("responses", "InternalError"),
          },
        },
      },
      {
        method: "delete",
        access: ACCESS.nodeWrite,
        handler: deleteAllocation,
        doc: {
          operationId: "deleteAllocation",
          summary: "Delete an allocation",
          description:
            "Garbage-collects the allocation. Its index keeps growing: later reads answer `404 alloc not found` with an `X-Nomad-Index` above the deletion's, and blocking readers are woken.",
          tags: [TAG.allocations],
          parameters: params(...WRITE_PARAMETERS, "SourceIndex"),
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
        },
      },
    ],
  },
  {
    path: "/v1/allocation/{alloc_id}/task-events",
    summary: "The task events of one allocation",
    description: "Task state updates of an allocation.",
    otherMethods: invalidMethod,
    operations: [
      {
        method: "post",
        access: ACCESS.nodeWrite,
        handler: postTaskEvents,
        doc: {
          operationId: "postTaskEvents",
          summary: "Record task events",
          description:
            "Records task events as a Nomad client does while running the allocation: each event is appended to its task's `Events` (the latest 10 are kept), moves the task's `State` (given, or derived from the event type), sets `StartedAt`, `FinishedAt`, `Restarts`, `LastRestart` and `Failed`, and the allocation's `ClientStatus` follows. A missing `Time` is set to now and a missing `DisplayMessage` is filled as Nomad words it. The batch is one change: one new index, one wake-up; an event for a task that is not in the allocation's task group rejects the whole batch.",
          tags: [TAG.allocations],
          parameters: params(...WRITE_PARAMETERS),
          requestBody: { required: true, content: { "application/json": { schema: schemaRef("TaskEventsRequest") } } },
          responses: {
            "200": ref("responses", "WriteOk"),
            "400": bodyErrors({
              invalidField: example(
                "A field has the wrong type or value",
                thrownText(() => normalizeAs("TaskEventsRequest", { Events: [{ Task: "redis", Event: { Type: "Exploded" } }] })),
              ),
              unknownTask: example("The task is not in the allocation's group", RefusalText.taskNotInGroup("cache", "web")),
            }),
            "403": ref("responses", "Forbidden"),
            "404": ref("responses", "WriteNotFound"),
            "413": ref("responses", "TooLarge"),
            "422": ref("responses", "KeyReused"),
            "500": ref("responses", "InternalError"),
          },
        },
      },
    ],
  },
  {
    path: "/v1/allocation/{alloc_id}/stop",
    summary: "Stop one allocation",
    description: "Nomad's stop endpoint, refused here (read replica).",
    otherMethods: invalidMethod,
    operations: [
      { method: "post", access: ACCESS.allocLifecycle, handler: stopAllocation, doc: stopDoc("post") },
      { method: "put", access: ACCESS.allocLifecycle, handler: stopAllocation, doc: stopDoc("put") },
    ],
  },
  // Not in the document: Nomad's sub-resources this server does not have.
  { path: "/v1/allocation/{alloc_id}/services", operations: [], otherMethods: missingSubResource },
  { path: "/v1/allocation/{alloc_id}/checks", operations: [], otherMethods: missingSubResource },
];
