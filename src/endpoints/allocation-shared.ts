/**
 * What the allocation endpoints (allocation.ts, task-events.ts, allocation-stop.ts, batch.ts)
 * share: the id text of the path, a write's target and answer, a PUT body made ready for the
 * object, and the document's pieces of a write.
 */
import type { Config } from "../config.ts";
import { type AllocId, allocIdOrNull, parseAllocId } from "../domain/alloc-id.ts";
import { normalizeNamespace } from "../domain/namespace.ts";
import { normalizeAs } from "../domain/validate.ts";
import { unwrap, type WriteOutcome } from "../durable/contract.ts";
import { CodedError, ErrorText } from "../errors.ts";
import { decodeJson } from "../http/body.ts";
import { queryMetaHeaders } from "../http/meta.ts";
import { parseRegion } from "../http/region.ts";
import { reply } from "../http/reply.ts";
import { encodeJson, isJsonObject, JsonNumber, type JsonObject, type JsonValue } from "../json/codec.ts";
import { BAD_ID_EXAMPLES, type Examples, example, IDEMPOTENCY_EXAMPLES, textError, thrownText } from "../openapi/common.ts";
import { type ParameterName, param } from "../openapi/parameters.ts";
import type { RoutedRequest } from "../pipeline/endpoint.ts";

export const ALLOCATION_PREFIX = "/v1/allocation/";

/**
 * The raw id text of the path: everything after the prefix, minus a known sub-resource. Taken from
 * the path itself (not the route's parameter) so a trailing slash stays part of the id, as in Nomad.
 */
export function rawAllocId(request: Request, subResource = ""): string {
  const rest = new URL(request.url).pathname.slice(ALLOCATION_PREFIX.length);
  return subResource && rest.endsWith(subResource) ? rest.slice(0, -subResource.length) : rest;
}

/** Server-owned fields: whatever a writer sends for them is ignored. */
const SERVER_OWNED = ["CreateIndex", "ModifyIndex", "AllocModifyIndex"];

export function notFound(index: number): never {
  throw new CodedError(404, ErrorText.allocNotFound, queryMetaHeaders(index));
}

/** The answer body of a write that was applied, `{"Index":N}`, or skipped as stale, `{"Index":N,"Stale":true}`. */
export function writeAnswer(outcome: WriteOutcome & { ok: true }): JsonObject {
  return outcome.stale ? { Index: JsonNumber.of(outcome.index), Stale: true } : { Index: JsonNumber.of(outcome.index) };
}

export function writeReply(outcome: WriteOutcome): Response {
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
export function writeTarget(request: RoutedRequest, cfg: Config, subResource = ""): { region: string; alloc: AllocId } {
  const region = parseRegion(new URL(request.url).searchParams, cfg);
  const alloc = parseAllocId(rawAllocId(request, subResource));
  if (!alloc) notFound(1);
  return { region, alloc };
}

// ---------------------------------------------------------------------------------------------
// The document's side

export const bodyErrors = (extra: Examples) =>
  textError("The body, region or allocation ID is invalid. Nothing was written.", {
    decode: example(
      "The body is not JSON",
      thrownText(() => decodeJson(new Uint8Array())),
    ),
    ...extra,
    ...BAD_ID_EXAMPLES,
    ...IDEMPOTENCY_EXAMPLES,
  });

export const params = (...names: ParameterName[]) => names.map(param);
export const WRITE_PARAMETERS: ParameterName[] = ["AllocId", "Region", "IdempotencyKey"];
