/**
 * `/v1/allocation/<alloc_id>`: the Nomad read (with blocking queries) and the agent writes.
 * Handlers parse in Nomad's order (query, region, id), call the allocation's Durable Object, and
 * return a Response or throw a CodedError.
 */

import { NEEDS } from "../acl/needs.ts";
import { type Config, config } from "../config.ts";
import { type AllocId, allocIdOrNull, parseAllocId } from "../domain/alloc-id.ts";
import { DEFAULT_NAMESPACE, normalizeNamespace } from "../domain/namespace.ts";
import { normalizeAs } from "../domain/validate.ts";
import { unwrap, type WriteOutcome } from "../durable/contract.ts";
import { allocationStub } from "../durable/stub.ts";
import { CodedError, ErrorText } from "../errors.ts";
import { decodeJsonBody, readBody } from "../http/body.ts";
import { queryMetaHeaders } from "../http/meta.ts";
import { decodePathText, parseBoolParam } from "../http/query.ts";
import { parseRegion } from "../http/region.ts";
import { reply } from "../http/reply.ts";
import { sourceIndexHeader } from "../http/source-index.ts";
import { encodeJson, isJsonObject, JsonNumber, type JsonObject, type JsonValue } from "../json/codec.ts";
import { parseBlockingQuery, readSurvivingReset } from "../pipeline/blocking.ts";
import { authorize, limitKey, requireNamespace, resolveCaller } from "../pipeline/caller.ts";
import { idempotencyKey } from "../pipeline/idempotency.ts";

/** The routed request: itty fills `params` from the route pattern. */
export interface RoutedRequest extends Request {
  params: Record<string, string | undefined>;
}

export const ALLOCATION_PREFIX = "/v1/allocation/";

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

function writeResponse(outcome: WriteOutcome): Response {
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

export async function getAllocation(request: RoutedRequest, env: Env): Promise<Response> {
  const caller = await authorize(request, env, NEEDS.readJob);
  const query = parseBlockingQuery(request, env, caller);
  const alloc = parseAllocId(rawAllocId(request));
  if (!alloc) notFound(1);
  const result = await readSurvivingReset(query.options.minIndex, request.signal, (minIndex, signal) =>
    allocationStub(env, query.cfg, query.region, alloc.uuid).read({ ...query.options, minIndex }, signal),
  );
  if (result.body === null) notFound(result.index);
  requireNamespace(caller, result.namespace ?? DEFAULT_NAMESPACE, NEEDS.readJob.anyOf);
  return reply(result.body, { read: result.index });
}

export async function putAllocation(request: RoutedRequest, env: Env): Promise<Response> {
  await authorize(request, env, NEEDS.nodeWrite);
  const cfg = config(env);
  const { region, alloc } = writeTarget(request, cfg);
  const bytes = await readBody(request, env);
  const { document, keepTaskStates } = allocationDocument(decodeJsonBody(bytes, env), alloc.uuid);
  const idem = await idempotencyKey(request, bytes);
  const source = sourceIndexHeader(request);
  const stub = allocationStub(env, cfg, region, alloc.uuid);
  return writeResponse(await stub.put(document, keepTaskStates, idem, source));
}

export async function postTaskEvents(request: RoutedRequest, env: Env): Promise<Response> {
  await authorize(request, env, NEEDS.nodeWrite);
  const cfg = config(env);
  const { region, alloc } = writeTarget(request, cfg, "/task-events");
  const bytes = await readBody(request, env);
  const body = normalizeAs("TaskEventsRequest", decodeJsonBody(bytes, env)) as JsonObject;
  const idem = await idempotencyKey(request, bytes);
  const stub = allocationStub(env, cfg, region, alloc.uuid);
  return writeResponse(await stub.appendTaskEvents(encodeJson(body.Events ?? []), idem));
}

export async function deleteAllocation(request: RoutedRequest, env: Env): Promise<Response> {
  await authorize(request, env, NEEDS.nodeWrite);
  const cfg = config(env);
  const { region, alloc } = writeTarget(request, cfg);
  const idem = await idempotencyKey(request, await readBody(request, env));
  const source = sourceIndexHeader(request);
  return writeResponse(await allocationStub(env, cfg, region, alloc.uuid).remove(idem, source));
}

/**
 * `PUT`/`POST /v1/allocation/<id>/stop` (Nomad 0.9.2+, which the official client calls): checked as
 * Nomad checks it (its booleans, the allocation, `alloc-lifecycle` in its namespace), then refused
 * with 409: this server mirrors the cluster and cannot stop anything. Any id that names no
 * allocation is Nomad's 404 `allocation not found`.
 */
export async function stopAllocation(request: RoutedRequest, env: Env): Promise<Response> {
  const caller = await resolveCaller(request, env);
  const cfg = config(env);
  const params = new URL(request.url).searchParams;
  parseBoolParam(params, "no_shutdown_delay", false);
  parseBoolParam(params, "reschedule", false);
  const region = parseRegion(params, cfg);
  const alloc = allocIdOrNull(decodePathText(rawAllocId(request, "/stop")));
  if (!alloc) throw new CodedError(404, ErrorText.allocationNotFound);
  const read = { minIndex: 0n, waitMs: 0, pretty: false, caller: limitKey(request, caller) };
  const result = await allocationStub(env, cfg, region, alloc.uuid).read(read);
  if (result.body === null) throw new CodedError(404, ErrorText.allocationNotFound);
  requireNamespace(caller, result.namespace ?? DEFAULT_NAMESPACE, ["alloc-lifecycle"]);
  throw new CodedError(409, ErrorText.readReplica);
}

/** Sub-resources Nomad has and this server does not (`services`, `checks`): Nomad's 404 for an unknown one. */
export function missingSubResource(): never {
  throw new CodedError(404, ErrorText.resourceNotFound);
}
