/**
 * Helpers for tests that run inside workerd: requests go through the real Worker entry
 * (`exports.default.fetch`) and on to real Durable Objects.
 */
import { env, exports } from "cloudflare:workers";
import { config } from "../../src/config.ts";
import { DEMO_ALLOC_ID, DEMO_ALLOCATION_JSON } from "../../src/demo/allocation.ts";
import { allocationStub, catalogStub } from "../../src/durable/stub.ts";
import { encodeJson, type JsonObject, parseJson } from "../../src/json/codec.ts";
import { TEST_MANAGEMENT_TOKEN } from "./constants.ts";
import type { ObservedAllocationObject, ObservedRegionCatalog } from "./observed-objects.ts";

const ORIGIN = "http://alloc.test";
export const TOKEN = TEST_MANAGEMENT_TOKEN;

export function call(path: string, init?: RequestInit): Promise<Response> {
  return exports.default.fetch(new Request(`${ORIGIN}${path}`, init));
}

export function write(method: string, path: string, body?: string, token: string | null = TOKEN): Promise<Response> {
  const headers: Record<string, string> = token === null ? {} : { "X-Nomad-Token": token };
  return call(path, { method, body, headers });
}

/** A fresh random allocation id, so tests never share an object. */
/** IDs sharing a fresh random prefix, sorted, so each test lists only its own allocations. */
export function idsWithPrefix(count: number): { prefix: string; ids: string[] } {
  const prefix = crypto.randomUUID().slice(0, 8);
  const ids = Array.from({ length: count }, () => `${prefix}${crypto.randomUUID().slice(8)}`).sort();
  return { prefix, ids };
}

export function newAllocId(): string {
  return crypto.randomUUID();
}

/** The demo allocation re-keyed to `id`, with optional top-level overrides (raw JSON values). */
export function allocationJson(id: string, overrides: Record<string, string> = {}): string {
  const allocation = parseJson(DEMO_ALLOCATION_JSON.replace(DEMO_ALLOC_ID, id)) as JsonObject;
  for (const [key, rawValue] of Object.entries(overrides)) allocation[key] = parseJson(rawValue);
  return encodeJson(allocation);
}

export async function createAllocation(id: string = newAllocId(), region?: string): Promise<{ id: string; index: number }> {
  const query = region ? `?region=${region}` : "";
  const response = await write("PUT", `/v1/allocation/${id}${query}`, allocationJson(id));
  if (response.status !== 200) throw new Error(`create failed: ${response.status} ${await response.text()}`);
  const { Index } = (await response.json()) as { Index: number };
  return { id, index: Index };
}

export async function postEvents(id: string, events: string, region?: string): Promise<Response> {
  const query = region ? `?region=${region}` : "";
  return write("POST", `/v1/allocation/${id}/task-events${query}`, `{"Events":[${events}]}`);
}

export function indexOf(response: Response): number {
  return Number(response.headers.get("X-Nomad-Index"));
}

/** Asserts the Nomad query meta headers and returns the index. */
export function expectMeta(response: Response): number {
  const index = indexOf(response);
  if (!(index >= 1)) throw new Error(`bad X-Nomad-Index ${response.headers.get("X-Nomad-Index")}`);
  if (response.headers.get("X-Nomad-KnownLeader") !== "true") throw new Error("X-Nomad-KnownLeader missing");
  if (response.headers.get("X-Nomad-LastContact") !== "0") throw new Error("X-Nomad-LastContact missing");
  return index;
}

/** The allocation's Durable Object, addressed exactly as the Worker addresses it (with the tests' `stats()`). */
export function objectFor(id: string, region = "global"): DurableObjectStub<ObservedAllocationObject> {
  return allocationStub(env, config(env), region, id) as unknown as DurableObjectStub<ObservedAllocationObject>;
}

/** Shard `shard` of the region's catalog, addressed exactly as the Worker addresses it (with the tests' `stats()`). */
export function catalogFor(region = "global", shard = 0): DurableObjectStub<ObservedRegionCatalog> {
  return catalogStub(env, config(env), region, shard) as unknown as DurableObjectStub<ObservedRegionCatalog>;
}

/** Resolves once the object has `count` parked waiters (polling only the test's own view). */
export async function untilWaiters(id: string, count: number, region = "global"): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const { waiters } = await objectFor(id, region).stats();
    if (waiters === count) return;
    if (Date.now() > deadline) throw new Error(`never reached ${count} waiters (${waiters} parked)`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** One change's result in a batch's answer. */
export interface BatchResult {
  ID: string;
  Index?: number;
  Stale?: boolean;
  Status?: number;
}

/** `POST /v1/allocations/batch` of `changes` (batchPut's) with the management token: each change's result. */
export async function postBatch(changes: string[]): Promise<BatchResult[]> {
  const response = await write("POST", "/v1/allocations/batch", `{"Changes":[${changes.join(",")}]}`);
  if (response.status !== 200) throw new Error(`the batch answered ${response.status}: ${await response.text()}`);
  return ((await response.json()) as { Results: BatchResult[] }).Results;
}

/** A batch's put of the demo allocation as `id` with ClientStatus `status`; `source` (a number or decimal text) and `key` when given. */
export function batchPut(
  id: string,
  { status = "pending", source, key }: { status?: string; source?: number | string; key?: string } = {},
): string {
  const sourceField = source === undefined ? "" : `,"SourceIndex":${JSON.stringify(source)}`;
  const keyField = key === undefined ? "" : `,"IdempotencyKey":"${key}"`;
  return `{"Op":"put","ID":"${id}"${sourceField}${keyField},"Allocation":${allocationJson(id, { ClientStatus: JSON.stringify(status) })}}`;
}
