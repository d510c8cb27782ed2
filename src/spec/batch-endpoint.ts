/**
 * The OpenAPI description of source-index conditional writes (the `X-Source-Index` header) and of
 * the batched ingest `POST /v1/allocations/batch`.
 */
import type { OperationObject, ParameterObject, PathItemObject } from "openapi3-ts/oas31";
import { MAX_BATCH_CHANGES } from "../domain/batch.ts";
import type { Schema } from "../domain/schema-dsl.ts";
import { SOURCE_INDEX_HEADER } from "../http/source-index.ts";
import { example, REGION_EXAMPLE, ref, schemaRef, textError, WRITE_SECURITY } from "./common.ts";

export const TAG_BATCH = "Batched ingest";

const SOURCE_INDEX_RULE =
  "the index at which the writer saw this state in the system it mirrors (Nomad's `ModifyIndex`; for a delete, the Nomad index at which the allocation was seen gone). The allocation keeps the highest source index applied, also after a delete. A write whose source index is not above the stored one is **not applied** and answers `200` with `Stale: true` and the index of the current state, so a retried or reordered write never replaces newer state, and a late PUT never brings back an allocation deleted at a newer source index. A conditional delete of an allocation that is not there answers `404` but still records its source index. A deleted allocation is forgotten `TOMBSTONE_RETENTION` (default 25 h) after its delete; its region then keeps the highest source index it forgot, and a conditional write that would create an allocation at or below it is stale too, even for an allocation never written. Writes without one are applied as always and leave the stored source index as it is";

export const SOURCE_INDEX_PARAMETERS: Record<string, ParameterObject> = {
  SourceIndex: {
    name: SOURCE_INDEX_HEADER,
    in: "header",
    required: false,
    description: `Makes the write conditional on a source index: ${SOURCE_INDEX_RULE}. A decimal uint64; anything else is \`400\`.`,
    schema: { type: "string", pattern: "^[0-9]{1,20}$", examples: ["1284"] },
  },
};

export const SOURCE_INDEX_EXAMPLE = example("`X-Source-Index` is not a uint64", 'Invalid X-Source-Index "-1": expected a decimal uint64');

const batchChange: Schema = {
  type: "object",
  description: "One allocation change: `put` (create or replace, as `PUT /v1/allocation/{alloc_id}`) or `delete` (as `DELETE`).",
  required: ["Op", "ID"],
  additionalProperties: false,
  properties: {
    Op: { type: "string", enum: ["put", "delete"], description: "What to do." },
    ID: {
      type: "string",
      description: "The allocation ID, as in the single write's path.",
      examples: ["203266e5-e0d6-9486-5e05-397ed2b184af"],
    },
    SourceIndex: {
      type: "string",
      pattern: "^[0-9]{1,20}$",
      description: `Optional, as the single write's \`${SOURCE_INDEX_HEADER}\` header: ${SOURCE_INDEX_RULE}. A decimal uint64 string (a JSON integer is accepted too).`,
    },
    IdempotencyKey: {
      type: "string",
      pattern: "^[\\x21-\\x7e]{1,255}$",
      description:
        "Optional, as the single write's `Idempotency-Key` header: a retry of the same change (same operation, region, ID, source index and allocation) with the same key answers the first answer and changes nothing; the same key with another change is a `422` for that change.",
    },
    Allocation: {
      $ref: "#/components/schemas/Allocation",
      description: "For `put` only: the body a single PUT takes. Without `TaskStates`, the current task states are kept.",
    },
  },
};

const batchRequest: Schema = {
  type: "object",
  description: `Up to ${MAX_BATCH_CHANGES} allocation changes, within the request body cap (\`MAX_BODY_BYTES\`, 1 MiB by default).`,
  required: ["Changes"],
  additionalProperties: false,
  properties: {
    Changes: {
      type: "array",
      items: { $ref: "#/components/schemas/BatchChange" },
      maxItems: MAX_BATCH_CHANGES,
      description: "The changes; each is applied on its own.",
    },
  },
};

const batchResult: Schema = {
  type: "object",
  description:
    "The outcome of one change: applied (`Index`), skipped as stale (`Index` of the current state and `Stale: true`), or refused (`Status` and `Error`: the status and text the single write would have answered; a `500` is not the change's fault and may be retried).",
  required: ["ID"],
  additionalProperties: false,
  properties: {
    ID: { type: "string", description: "The change's `ID`, as sent." },
    Index: {
      type: "integer",
      format: "uint64",
      description: "The allocation's index after the change (or of its current state, when stale).",
    },
    Stale: {
      type: "boolean",
      description: "Always `true` when present: the change was not applied because its source index was not above the stored one.",
    },
    Status: { type: "integer", minimum: 400, maximum: 599, description: "The HTTP status the single write would have answered." },
    Error: { type: "string", description: "Its plain-text error." },
  },
};

const batchResponse: Schema = {
  type: "object",
  description: "Every change's outcome, in request order.",
  required: ["Results"],
  additionalProperties: false,
  properties: { Results: { type: "array", items: { $ref: "#/components/schemas/BatchResult" } } },
};

export const BATCH_SCHEMAS: Record<string, Schema> = {
  BatchChange: batchChange,
  BatchRequest: batchRequest,
  BatchResult: batchResult,
  BatchResponse: batchResponse,
};

const postAllocationBatch: OperationObject = {
  operationId: "postAllocationBatch",
  summary: "Apply many allocation changes",
  description: `Applies up to ${MAX_BATCH_CHANGES} allocation creates, replaces and deletes of one region in one request, for bridges and bulk loads. Each change is validated and applied exactly as its single write (same error texts, same \`SourceIndex\` rule, same idempotency), atomically on its own allocation, several in parallel; a change that fails never fails or delays the others. The answer is \`200\` with each change's outcome in request order; only a malformed envelope (not an object, no \`Changes\` array, more than ${MAX_BATCH_CHANGES} changes, a change that is not an object or has no string \`ID\`) fails the whole request with \`400\`, and then nothing is written. As for single writes, once the answer is received a list of the region reflects every applied change. The whole request's \`Idempotency-Key\` header is refused: each change carries its own.`,
  tags: [TAG_BATCH],
  security: WRITE_SECURITY,
  parameters: [ref("parameters", "Region")],
  requestBody: { required: true, content: { "application/json": { schema: schemaRef("BatchRequest") } } },
  responses: {
    "200": {
      description: "Each change's outcome.",
      content: {
        "application/json": {
          schema: schemaRef("BatchResponse"),
          example: {
            Results: [
              { ID: "203266e5-e0d6-9486-5e05-397ed2b184af", Index: 1764000000123 },
              { ID: "5b1e6c2d-6f57-4a5e-a7b0-2f3c1a4d9e10", Index: 1764000000101, Stale: true },
              { ID: "x", Status: 400, Error: "alloc lookup failed: index error: UUID must be 36 characters" },
            ],
          },
        },
      },
    },
    "400": textError("A malformed envelope or region, or an `Idempotency-Key` header. Nothing was written.", {
      decode: example("The body is not JSON", "failed to decode body: unexpected end of JSON input"),
      notArray: example("No `Changes` array", "invalid field BatchRequest.Changes: expected array"),
      tooMany: example("Too many changes", `invalid field BatchRequest.Changes: at most ${MAX_BATCH_CHANGES} changes per request, got 501`),
      region: REGION_EXAMPLE,
    }),
    "403": ref("responses", "Forbidden"),
    "413": ref("responses", "TooLarge"),
    "500": ref("responses", "InternalError"),
  },
};

export const BATCH_PATHS: Record<string, PathItemObject> = {
  "/v1/allocations/batch": {
    summary: "Batched ingest of allocation changes",
    description: "Any other method answers `405 Invalid method` (text/plain).",
    post: postAllocationBatch,
  },
};
