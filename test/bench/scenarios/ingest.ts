/** Task-event ingest into one allocation, per batch size (docs/benchmarks.md). */
import autocannon from "autocannon";
import type { Context } from "../lib/context.ts";
import { round } from "../lib/measure.ts";
import { eventBatch } from "../lib/writes.ts";

export interface IngestPoint {
  batch: number;
  requestBytes: number;
  rps: number;
  eventsPerS: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  non2xx: number;
}

export interface IngestResult {
  connections: number;
  durationS: number;
  points: IngestPoint[];
}

export async function ingestScenario(ctx: Context, id: string): Promise<IngestResult> {
  const { settings } = ctx;
  const points: IngestPoint[] = [];
  for (const batch of settings.ingestBatches) {
    const body = eventBatch(batch);
    const options = {
      url: `${ctx.server.url}/v1/allocation/${id}/task-events`,
      method: "POST",
      headers: { "X-Nomad-Token": ctx.server.token, "Content-Type": "application/json" },
      body,
      connections: settings.ingestConnections,
      timeout: 10,
    };
    await autocannon({ ...options, duration: settings.warmupS });
    const result = await autocannon({ ...options, duration: settings.ingestDurationS });
    const rps = result["2xx"] / result.duration;
    points.push({
      batch,
      requestBytes: Buffer.byteLength(body),
      rps: round(rps, 1),
      eventsPerS: round(rps * batch, 0),
      p50Ms: result.latency.p50,
      p99Ms: result.latency.p99,
      errors: result.errors + result.timeouts,
      non2xx: result.non2xx,
    });
    ctx.log(`  ingest batch ${batch}: ${round(rps, 0)} req/s, ${round(rps * batch, 0)} events/s`);
  }
  return { connections: settings.ingestConnections, durationS: settings.ingestDurationS, points };
}
