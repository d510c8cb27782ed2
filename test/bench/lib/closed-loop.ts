/**
 * The write benchmark's load loop and request bodies, shared by test/bench/throughput.ts and its
 * same-run comparison against an earlier commit (throughput-baseline.ts).
 */
import { randomUUID } from "node:crypto";
import { performance } from "node:perf_hooks";
import { DEMO_ALLOC_ID, DEMO_ALLOCATION_JSON } from "../../../src/demo/allocation.ts";
import { percentile, round } from "./measure.ts";
import { RawConnection } from "./raw-http.ts";
import { HOST } from "./server.ts";

export interface Loop {
  requests: number;
  perS: number;
  /** From the start to the last answer (at least the loop's duration). */
  seconds: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
}

/** A closed loop: `connections` keep-alive connections, each sending the next request as soon as the last is answered. */
export async function closedLoop(
  port: number,
  connections: number,
  durationS: number,
  next: (i: number) => { method?: string; path: string; body?: string; headers?: Record<string, string> },
  ok: (status: number, body: string) => boolean = (status) => status === 200,
): Promise<Loop> {
  const latencies: number[] = [];
  let errors = 0;
  let i = 0;
  const start = performance.now();
  const end = start + durationS * 1000;
  let lastDone = start;
  await Promise.all(
    Array.from({ length: connections }, async () => {
      const conn = new RawConnection(HOST, port);
      await conn.connected;
      while (performance.now() < end && !conn.closed) {
        const request = next(i++);
        const sent = performance.now();
        try {
          const response = await conn.request({ ...request, keepBody: true });
          if (!ok(response.status, response.body?.toString() ?? "")) {
            errors++;
            // BENCH_DEBUG=1: each failed request's status and body on stderr.
            if (process.env.BENCH_DEBUG)
              console.error("failed:", request.method, request.path, response.status, response.body?.toString().slice(0, 300));
          }
          latencies.push(response.doneAt - sent);
          lastDone = Math.max(lastDone, response.doneAt);
        } catch (error) {
          if (process.env.BENCH_DEBUG) console.error("failed:", request.method, request.path, String(error));
          errors++;
        }
      }
      conn.close();
    }),
  );
  const seconds = Math.max(lastDone - start, durationS * 1000) / 1000;
  return {
    requests: latencies.length,
    seconds: round(seconds, 3),
    // Over the time until the last answer (requests still in flight at the end are waited for and
    // counted): a long request, such as a batch, otherwise counts as if it took no time.
    perS: round(latencies.length / seconds, 1),
    p50Ms: round(percentile(latencies, 50)),
    p99Ms: round(percentile(latencies, 99)),
    errors,
  };
}

/** The batched-ingest request carrying a put of each of `ids`. */
export function batchRequest(ids: string[], auth: Record<string, string>) {
  return { method: "POST", path: "/v1/allocations/batch", body: batchBody(ids), headers: auth };
}

/** Two sets of `size` allocations, each made by one batch, for the loads that replace existing ones. */
export async function seedBatchSets(port: number, auth: Record<string, string>, size: number): Promise<string[][]> {
  const sets = [0, 1].map(() => Array.from({ length: size }, () => randomUUID()));
  for (const set of sets) {
    const conn = new RawConnection(HOST, port);
    const r = await conn.request({ ...batchRequest(set, auth), keepBody: true });
    conn.close();
    if (!batchOk(r.status, r.body?.toString() ?? "")) throw new Error(`seed batch: ${r.status} ${r.body}`);
  }
  return sets;
}

/** A batch's answer lists no change that failed. */
export function batchOk(status: number, body: string): boolean {
  return status === 200 && !body.includes('"Status"');
}

export function allocationJson(id: string, name?: string): string {
  const json = DEMO_ALLOCATION_JSON.replaceAll(DEMO_ALLOC_ID, id);
  return name ? json.replace('"Name":"example.cache[0]"', `"Name":${JSON.stringify(name)}`) : json;
}

export function batchBody(ids: string[], name?: (id: string) => string): string {
  return `{"Changes":[${ids.map((id) => `{"Op":"put","ID":"${id}","Allocation":${allocationJson(id, name?.(id))}}`).join(",")}]}`;
}
