/** The schemas of the batched ingest `POST /v1/allocations/batch`: its request and its per-change results. */
import { DEMO_ALLOC_ID } from "../demo/allocation.ts";
import { MAX_BATCH_CHANGES } from "../domain/batch.ts";
import type { Schema } from "../domain/schema-dsl.ts";
import { SOURCE_INDEX_HEADER, SOURCE_INDEX_PATTERN } from "../http/source-index.ts";
import { IDEMPOTENCY_KEY_PATTERN } from "../pipeline/idempotency.ts";
import { SOURCE_INDEX_RULE } from "./parameters.ts";

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
      examples: [DEMO_ALLOC_ID],
    },
    SourceIndex: {
      type: "string",
      pattern: SOURCE_INDEX_PATTERN,
      description: `Optional, as the single write's \`${SOURCE_INDEX_HEADER}\` header: ${SOURCE_INDEX_RULE}. A decimal uint64 string (a JSON integer is accepted too).`,
    },
    IdempotencyKey: {
      type: "string",
      pattern: IDEMPOTENCY_KEY_PATTERN,
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
