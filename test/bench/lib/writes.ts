/**
 * Writes through the API: the request bodies, one timed write on a keep-alive connection, and the
 * allocations the scenarios load before they measure.
 */
import { randomUUID } from "node:crypto";
import { DEMO_ALLOC_ID, DEMO_ALLOCATION_JSON, DEMO_TASK_EVENTS_JSON } from "../../../src/demo/allocation.ts";
import type { Context } from "./context.ts";
import { RawConnection, type RawResponse } from "./raw-http.ts";
import { HOST } from "./server.ts";

export function allocationJson(id: string): string {
  return DEMO_ALLOCATION_JSON.replaceAll(DEMO_ALLOC_ID, id);
}

export function eventBatch(batch: number): string {
  // ~300 bytes per event (docs/benchmarks.md); "Driver" events leave the task's state alone.
  const message = "Downloading image: pulling layer 3 of 7 from registry.example.internal".padEnd(200, ".");
  const events = Array.from(
    { length: batch },
    (_, i) => `{"Task":"redis","Event":{"Type":"Driver","Time":${1700000000000000000n + BigInt(i)},"DriverMessage":"${message}"}}`,
  );
  return `{"Events":[${events.join(",")}]}`;
}

export const taskEventsPath = (id: string, region: string) => `/v1/allocation/${id}/task-events?region=${region}`;

export function writer(ctx: Context): RawConnection {
  return new RawConnection(HOST, ctx.server.port);
}

export interface TimedWrite {
  status: number;
  sentAt: number;
  ackAt: number;
  ackMs: number;
  index: number;
  response: RawResponse;
}

export async function timedWrite(
  conn: RawConnection,
  ctx: Context,
  method: string,
  path: string,
  body: string | Uint8Array,
): Promise<TimedWrite> {
  const sentAt = performance.now();
  const response = await conn.request({ method, path, body, headers: { "X-Nomad-Token": ctx.server.token }, keepBody: true });
  if (response.status !== 200) throw new Error(`${method} ${path}: ${response.status} ${response.body?.toString().slice(0, 300)}`);
  return {
    status: response.status,
    sentAt,
    ackAt: response.doneAt,
    ackMs: response.doneAt - sentAt,
    index: Number(response.headers.get("x-nomad-index")),
    response,
  };
}

/** Creates allocations (PUT, then the demo task events that start `redis`) through the write API. */
export async function loadAllocations(ctx: Context, ids: string[], parallel = 8, region?: string): Promise<void> {
  const query = region ? `?region=${region}` : "";
  const queue = [...ids];
  const conns = Array.from({ length: Math.min(parallel, ids.length) }, () => writer(ctx));
  await Promise.all(
    conns.map(async (conn) => {
      for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
        await timedWrite(conn, ctx, "PUT", `/v1/allocation/${id}${query}`, allocationJson(id));
        await timedWrite(conn, ctx, "POST", `/v1/allocation/${id}/task-events${query}`, DEMO_TASK_EVENTS_JSON);
      }
      conn.close();
    }),
  );
}

export interface RegionIds {
  single: string;
  global: string[];
  europe: string[];
}

/** Loads the allocations the write scenarios write to: one, and `regionAllocs` in each of two regions. */
export async function loadRegionIds(ctx: Context): Promise<RegionIds> {
  const n = ctx.settings.regionAllocs;
  const ids: RegionIds = {
    single: randomUUID(),
    global: Array.from({ length: n }, () => randomUUID()),
    europe: Array.from({ length: n }, () => randomUUID()),
  };
  await loadAllocations(ctx, [ids.single, ...ids.global], 8, "global");
  await loadAllocations(ctx, ids.europe, 8, "europe");
  return ids;
}
