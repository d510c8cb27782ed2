/**
 * `POST /v1/allocations/batch`: many allocation changes in one request, for bridges and bulk
 * loads. Each change is checked and applied exactly as its single write would be (same texts,
 * same source-index rule, same idempotency), on its own allocation object, several in parallel
 * (changes of the same allocation in request order); one change's failure never fails or delays
 * the others. The answer lists every change's outcome in request order, once the region catalog
 * has every applied change.
 */
import { config } from "../config.ts";
import { DEMO_ALLOC_ID } from "../demo/allocation.ts";
import { parseAllocId } from "../domain/alloc-id.ts";
import { type BatchChange, batchOp, batchSourceIndexText, MAX_BATCH_CHANGES, parseBatchEnvelope } from "../domain/batch.ts";
import { ADMISSION_LEASES } from "../durable/admission-leases.ts";
import { CatalogCarrier } from "../durable/catalog-carrier.ts";
import type { WriteOutcome } from "../durable/contract.ts";
import type { IdempotencyKey } from "../durable/idempotency.ts";
import { allocationStub } from "../durable/stub.ts";
import { CodedError, ErrorText } from "../errors.ts";
import { decodeJson, decodeJsonBody, readBody } from "../http/body.ts";
import { sha256Hex } from "../http/digest.ts";
import { parseRegion } from "../http/region.ts";
import { reply } from "../http/reply.ts";
import { parseSourceIndex } from "../http/source-index.ts";
import { encodeJson, JsonNumber, type JsonObject } from "../json/codec.ts";
import { example, REGION_EXAMPLE, ref, schemaRef, textError, thrownText } from "../openapi/common.ts";
import { param } from "../openapi/parameters.ts";
import { TAG } from "../openapi/tags.ts";
import { ACCESS } from "../pipeline/access.ts";
import type { Endpoint, Handler } from "../pipeline/endpoint.ts";
import { checkIdempotencyKey } from "../pipeline/idempotency.ts";
import { allocationDocument, writeAnswer } from "./allocation-shared.ts";
import { invalidMethod } from "./methods.ts";

const BATCH_IDEMPOTENCY_KEY = "Idempotency-Key is not taken by a batch: give each change its own IdempotencyKey";

/** Changes applied at once: enough to overlap the objects' round trips, few enough to bound the Worker's memory. */
const BATCH_PARALLELISM = 32;

/** Runs `work` on every item with at most `limit` in flight; results in item order. */
async function mapBounded<T, R>(items: readonly T[], limit: number, work: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i] as T, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return results;
}

function failure(id: string, status: number, message: string): JsonObject {
  return { ID: id, Status: JsonNumber.of(status), Error: message };
}

/** A change's result; its carried catalog change, if any, goes to `carrier`. */
function outcomeResult(id: string, uuid: string, outcome: WriteOutcome, carrier: CatalogCarrier): JsonObject {
  if (!outcome.ok) return failure(id, outcome.status, outcome.message);
  if (outcome.carried) carrier.add(uuid, outcome.carried);
  return { ID: id, ...writeAnswer(outcome) };
}

/** Checks and applies one change; every client error becomes this change's result. */
async function applyChange(env: Env, region: string, { id, change }: BatchChange, i: number, carrier: CatalogCarrier): Promise<JsonObject> {
  try {
    const op = batchOp(change, i);
    const alloc = parseAllocId(encodeURIComponent(id));
    if (!alloc) return failure(id, 404, ErrorText.allocNotFound);
    const sourceText = batchSourceIndexText(change, i);
    const source = sourceText === undefined ? undefined : parseSourceIndex(sourceText, "SourceIndex");
    const key = typeof change.IdempotencyKey === "string" ? checkIdempotencyKey(change.IdempotencyKey) : undefined;
    if (change.IdempotencyKey !== undefined && key === undefined)
      throw new CodedError(400, `invalid field BatchRequest.Changes[${i}].IdempotencyKey: expected string`);
    const stub = allocationStub(env, config(env), region, alloc.uuid);
    // A change's fingerprint for its idempotency key: what it does, to what, with what.
    const fingerprint = async (document: string): Promise<IdempotencyKey | undefined> =>
      key === undefined
        ? undefined
        : { key, requestHash: await sha256Hex(`batch ${op} ${region} ${alloc.uuid} ${source ?? ""}\n${document}`) };
    // The object answers its committed change (carried) instead of delivering it: the batch's go
    // together; a put that creates its allocation is admitted by its shard's lease (admission-leases.ts).
    if (op === "delete") return outcomeResult(id, alloc.uuid, await stub.remove(await fingerprint(""), source, true), carrier);
    const { document, keepTaskStates } = allocationDocument(change.Allocation ?? null, alloc.uuid);
    const outcome = await stub.put(
      document,
      keepTaskStates,
      await fingerprint(document),
      source,
      true,
      await ADMISSION_LEASES.lease(env, config(env), region, alloc.uuid),
    );
    return outcomeResult(id, alloc.uuid, outcome, carrier);
  } catch (error) {
    if (error instanceof CodedError) return failure(id, error.status, error.message);
    // Not this change's fault (an object reset, an overloaded runtime): the client may retry it.
    console.error("batched change failed", error);
    return failure(id, 500, ErrorText.internal);
  }
}

/**
 * Which allocation a change names, for ordering: every spelling of one id (case, hyphens, escapes)
 * is the same allocation; an id that does not parse names nothing and waits for nothing.
 */
function orderKey(id: string): string | undefined {
  try {
    return parseAllocId(encodeURIComponent(id))?.uuid;
  } catch {
    return undefined;
  }
}

/**
 * Applies the changes, several allocations at once, but the changes of one allocation one after
 * the other in request order: a put then a delete of the same allocation leaves it deleted, as the
 * two requests sent in that order would. Each change waits only for its allocation's previous one
 * (taken earlier by a lane, so never a wait on a change not yet started). The results come once
 * the region catalog has every applied change (catalog-carrier.ts).
 */
async function applyInOrder(env: Env, region: string, changes: readonly BatchChange[]): Promise<JsonObject[]> {
  const carrier = new CatalogCarrier(env, config(env), region);
  const lastOf = new Map<string, Promise<JsonObject>>();
  const results = await mapBounded(changes, BATCH_PARALLELISM, (change, i) => {
    const key = orderKey(change.id);
    const before = key === undefined ? undefined : lastOf.get(key);
    // applyChange never rejects (every failure is a result), so the chain never breaks.
    const apply = () => applyChange(env, region, change, i, carrier);
    const applied = before ? before.then(apply) : apply();
    if (key !== undefined) lastOf.set(key, applied);
    return applied;
  });
  await carrier.finish();
  return results;
}

const postAllocationBatch: Handler = async (request, { env }) => {
  const region = parseRegion(new URL(request.url).searchParams, config(env));
  const changes = parseBatchEnvelope(decodeJsonBody(await readBody(request, env), env));
  if (request.headers.has("Idempotency-Key")) throw new CodedError(400, BATCH_IDEMPOTENCY_KEY);
  return reply(encodeJson({ Results: await applyInOrder(env, region, changes) }));
};

export const BATCH_ENDPOINTS: Endpoint[] = [
  {
    path: "/v1/allocations/batch",
    summary: "Batched ingest of allocation changes",
    otherMethods: invalidMethod,
    operations: [
      {
        method: "post",
        access: ACCESS.nodeWrite,
        handler: postAllocationBatch,
        doc: {
          operationId: "postAllocationBatch",
          summary: "Apply many allocation changes",
          description: `Applies up to ${MAX_BATCH_CHANGES} allocation creates, replaces and deletes of one region in one request, for bridges and bulk loads. Each change is validated and applied exactly as its single write (same error texts, same \`SourceIndex\` rule, same idempotency), atomically on its own allocation, several allocations in parallel and the changes of one allocation in request order (a \`put\` then a \`delete\` of the same ID leaves it deleted); a change that fails never fails the others. The answer is \`200\` with each change's outcome in request order; only a malformed envelope (not an object, no \`Changes\` array, more than ${MAX_BATCH_CHANGES} changes, a change that is not an object or has no string \`ID\`) fails the whole request with \`400\`, and then nothing is written. As for single writes, once the answer is received a list of the region reflects every applied change. The whole request's \`Idempotency-Key\` header is refused: each change carries its own.`,
          tags: [TAG.batch],
          parameters: [param("Region")],
          requestBody: { required: true, content: { "application/json": { schema: schemaRef("BatchRequest") } } },
          responses: {
            "200": {
              description: "Each change's outcome.",
              content: {
                "application/json": {
                  schema: schemaRef("BatchResponse"),
                  example: {
                    Results: [
                      { ID: DEMO_ALLOC_ID, Index: 1764000000123 },
                      { ID: "5b1e6c2d-6f57-4a5e-a7b0-2f3c1a4d9e10", Index: 1764000000101, Stale: true },
                      { ID: "x", Status: 400, Error: thrownText(() => parseAllocId("x")) },
                    ],
                  },
                },
              },
            },
            "400": textError("A malformed envelope or region, or an `Idempotency-Key` header. Nothing was written.", {
              decode: example(
                "The body is not JSON",
                thrownText(() => decodeJson(new Uint8Array())),
              ),
              notArray: example(
                "No `Changes` array",
                thrownText(() => parseBatchEnvelope({})),
              ),
              tooMany: example(
                "Too many changes",
                thrownText(() => parseBatchEnvelope({ Changes: Array.from({ length: MAX_BATCH_CHANGES + 1 }, () => ({})) })),
              ),
              region: REGION_EXAMPLE,
              idempotencyKey: example("An `Idempotency-Key` header on the whole request", BATCH_IDEMPOTENCY_KEY),
            }),
            "403": ref("responses", "Forbidden"),
            "413": ref("responses", "TooLarge"),
            "500": ref("responses", "InternalError"),
          },
        },
      },
    ],
  },
];
