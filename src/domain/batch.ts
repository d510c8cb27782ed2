/**
 * The envelope of a batched ingest (`POST /v1/allocations/batch`): a list of allocation changes,
 * each applied on its own. Only the envelope is checked here (what must hold to answer item by
 * item at all); each change's own problems become that change's 4xx, with the texts the single
 * write would answer.
 */
import { CodedError } from "../errors.ts";
import { isJsonObject, JsonNumber, type JsonObject, type JsonValue } from "../json/codec.ts";

/** Changes per request at most (each also counts as a subrequest of the Worker). */
export const MAX_BATCH_CHANGES = 500;

type BatchOp = "put" | "delete";

/** One change as sent: its `ID` text and the object itself, to be checked by the handler. */
export interface BatchChange {
  id: string;
  change: JsonObject;
}

const FIELDS: Record<BatchOp, readonly string[]> = {
  put: ["Op", "ID", "SourceIndex", "IdempotencyKey", "Allocation"],
  delete: ["Op", "ID", "SourceIndex", "IdempotencyKey"],
};

function invalid(path: string, why: string): never {
  throw new CodedError(400, `invalid field ${path}: ${why}`);
}

/** Checks the envelope; a malformed one is a 400 for the whole request (nothing is written). */
export function parseBatchEnvelope(body: JsonValue): BatchChange[] {
  if (!isJsonObject(body)) invalid("BatchRequest", "expected object");
  for (const key of Object.keys(body)) if (key !== "Changes") invalid(`BatchRequest.${key}`, "unknown field");
  const changes = body.Changes;
  if (!Array.isArray(changes)) invalid("BatchRequest.Changes", "expected array");
  if (changes.length > MAX_BATCH_CHANGES) {
    invalid("BatchRequest.Changes", `at most ${MAX_BATCH_CHANGES} changes per request, got ${changes.length}`);
  }
  return changes.map((change, i) => {
    if (!isJsonObject(change)) invalid(`BatchRequest.Changes[${i}]`, "expected object");
    if (typeof change.ID !== "string") invalid(`BatchRequest.Changes[${i}].ID`, "expected string");
    return { id: change.ID, change };
  });
}

/** The change's operation; an unknown one or a field it does not take is that change's 400. */
export function batchOp(change: JsonObject, i: number): BatchOp {
  const op = change.Op;
  if (op !== "put" && op !== "delete") invalid(`BatchRequest.Changes[${i}].Op`, 'expected "put" or "delete"');
  for (const key of Object.keys(change)) if (!FIELDS[op].includes(key)) invalid(`BatchRequest.Changes[${i}].${key}`, "unknown field");
  return op;
}

/** `SourceIndex` as sent: a decimal string (as Nomad's indexes are uint64) or a plain JSON integer; undefined when absent. */
export function batchSourceIndexText(change: JsonObject, i: number): string | undefined {
  const raw = change.SourceIndex;
  if (raw === undefined) return undefined;
  if (typeof raw === "string") return raw;
  if (raw instanceof JsonNumber) return raw.raw;
  return invalid(`BatchRequest.Changes[${i}].SourceIndex`, "expected a decimal uint64 string");
}
