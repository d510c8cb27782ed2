/**
 * `/v1/allocation/<alloc_id>`: the Nomad read (with blocking queries) and the agents' writes (PUT,
 * DELETE). Its task events are task-events.ts, Nomad's stop endpoint allocation-stop.ts. Handlers
 * parse in Nomad's order (query, region, id) after the pipeline checked the caller, call the
 * allocation's Durable Object, and return a reply or throw a CodedError.
 */
import { config } from "../config.ts";
import { DEMO_ALLOC_ID } from "../demo/allocation.ts";
import { parseAllocId } from "../domain/alloc-id.ts";
import { DEFAULT_NAMESPACE } from "../domain/namespace.ts";
import { normalizeAs } from "../domain/validate.ts";
import { ADMISSION_LEASES } from "../durable/admission-leases.ts";
import type { AllocationRead } from "../durable/contract.ts";
import { allocationStub } from "../durable/stub.ts";
import { CodedError, ErrorText } from "../errors.ts";
import { decodeJsonBody, readBody } from "../http/body.ts";
import { reply } from "../http/reply.ts";
import { parseSourceIndex, SOURCE_INDEX_HEADER, sourceIndexHeader } from "../http/source-index.ts";
import {
  BAD_ID_EXAMPLES,
  bodyWriteErrors,
  example,
  IDEMPOTENCY_EXAMPLES,
  ref,
  schemaRef,
  textError,
  thrownText,
} from "../openapi/common.ts";
import { TAG } from "../openapi/tags.ts";
import { ACCESS } from "../pipeline/access.ts";
import { parseBlockingQuery, readSurvivingReset } from "../pipeline/blocking.ts";
import { requireNamespace } from "../pipeline/caller.ts";
import type { Endpoint, Handler } from "../pipeline/endpoint.ts";
import { idempotencyKey } from "../pipeline/idempotency.ts";
import {
  ALLOCATION_PREFIX,
  allocationDocument,
  bodyErrors,
  notFound,
  params,
  rawAllocId,
  WRITE_PARAMETERS,
  writeReply,
  writeTarget,
} from "./allocation-shared.ts";
import { invalidMethod } from "./methods.ts";

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
  // Concurrent writes to a shard share its admission lease, for the puts that create (admission-leases.ts).
  return await ADMISSION_LEASES.forSingle(env, cfg, region, alloc.uuid, async (lease) =>
    writeReply(await stub.put(document, keepTaskStates, idem, source, false, lease)),
  );
};

const deleteAllocation: Handler = async (request, { env }) => {
  const cfg = config(env);
  const { region, alloc } = writeTarget(request, cfg);
  const idem = await idempotencyKey(request, await readBody(request, env));
  const source = sourceIndexHeader(request);
  return writeReply(await allocationStub(env, cfg, region, alloc.uuid).remove(idem, source));
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
            ...bodyWriteErrors(),
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
          description: `Garbage-collects the allocation. Its index keeps growing: later reads answer \`404 ${ErrorText.allocNotFound}\` with an \`X-Nomad-Index\` above the deletion's, and blocking readers are woken.`,
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
  // Not in the document: Nomad's sub-resources this server does not have.
  { path: "/v1/allocation/{alloc_id}/services", operations: [], otherMethods: missingSubResource },
  { path: "/v1/allocation/{alloc_id}/checks", operations: [], otherMethods: missingSubResource },
];
