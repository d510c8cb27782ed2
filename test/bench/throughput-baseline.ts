/**
 * `npm run bench:throughput -- --baseline <dir> [--batch] [--rounds N] [--slice-s S] [--smoke]`: the single
 * writes (or, with `--batch`, the batched ingest) of this checkout against another commit's, in the
 * same run (docs/benchmarks.md, "Single writes against the code before batched ingest"). `<dir>` is a worktree of the other commit with its own `npm ci`
 * (`git worktree add /work/wt/baseline 9233366^ && (cd /work/wt/baseline && npm ci)`).
 *
 * Both Workers are bundled and served the same way (test/bench/config.ts derives each one's bench
 * configuration from its own wrangler.toml and bench-worker.ts; each runs under its own wrangler),
 * both at once, and every request goes straight to each one's workerd. The loads are the full
 * bench's single writes (8 keep-alive connections, closed loop), plus a PUT that creates a new
 * allocation each time (the only path on which a creation asks its catalog shard first): every
 * round runs each load for a short slice (3 s by default, 10 rounds) on the current Worker, then
 * on the baseline (ABAB…), so bursts of other load on the machine fall on both; the result is each
 * side's median and the median of the per-round ratios current ÷ baseline.
 *
 * With `batch`, the loads are the full bench's batched ingest instead (`POST /v1/allocations/batch`,
 * `batch.size` puts per request, 2 connections): new allocations, and replacing two fixed sets of
 * existing ones; after each slice both Workers rest `batch.settleMs`, so the alarms that confirm a
 * slice's carried changes do not land in the next one's (the other side's, most of the time).
 */
import { spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { DEMO_TASK_EVENTS_JSON } from "../../src/demo/allocation.ts";
import { writeBenchConfig } from "./config.ts";
import { allocationJson, batchOk, batchRequest, closedLoop, type Loop, seedBatchSets } from "./lib/closed-loop.ts";
import { median, round, sleep } from "./lib/measure.ts";
import { RawConnection } from "./lib/raw-http.ts";
import { type BenchServer, HOST, ROOT, startBenchServer } from "./lib/server.ts";

interface Side {
  name: "current" | "baseline";
  root: string;
  commit: string;
  server: BenchServer;
  port: number;
  ids: string[];
  /** With `batch`: two sets of existing allocations the replacing load rewrites (one per connection). */
  batchSets: string[][];
}

type Request = { method?: string; path: string; body?: string; headers?: Record<string, string> };

type MakeLoad = (side: Side, auth: Record<string, string>) => (i: number) => Request;

/** The single-write loads compared, each a request generator over one side's seeded allocations. */
const LOADS: Record<string, MakeLoad> = {
  put64: (side, auth) => (i) => ({
    method: "PUT",
    path: `/v1/allocation/${side.ids[i % 64]}`,
    body: allocationJson(side.ids[i % 64] as string),
    headers: auth,
  }),
  putOne: (side, auth) => () => ({
    method: "PUT",
    path: `/v1/allocation/${side.ids[0]}`,
    body: allocationJson(side.ids[0] as string),
    headers: auth,
  }),
  events64: (side, auth) => (i) => ({
    method: "POST",
    path: `/v1/allocation/${side.ids[i % 64]}/task-events`,
    body: '{"Events":[{"Task":"redis","Event":{"Type":"Driver","DriverMessage":"bench"}}]}',
    headers: auth,
  }),
  putNew: (_side, auth) => () => {
    const id = randomUUID();
    return { method: "PUT", path: `/v1/allocation/${id}`, body: allocationJson(id), headers: auth };
  },
};

/** The batched-ingest loads compared (`size` puts per request). */
function batchLoads(size: number): Record<string, MakeLoad> {
  return {
    batchNew: (_side, auth) => () =>
      batchRequest(
        Array.from({ length: size }, () => randomUUID()),
        auth,
      ),
    batchReplacing: (side, auth) => (i) => batchRequest(side.batchSets[i % 2] as string[], auth),
  };
}

function commitOf(root: string): string {
  const head = spawnSync("git", ["rev-parse", "--short", "HEAD"], { cwd: root, encoding: "utf8" }).stdout.trim();
  const dirty = spawnSync("git", ["status", "--porcelain", "--", "src"], { cwd: root, encoding: "utf8" }).stdout.trim();
  return dirty ? `${head} (+${dirty.split("\n").length} uncommitted src/ changes)` : head;
}

async function seed(port: number, auth: Record<string, string>): Promise<string[]> {
  const ids = Array.from({ length: 64 }, () => randomUUID());
  for (const id of ids) {
    for (const request of [
      { method: "PUT", path: `/v1/allocation/${id}`, body: allocationJson(id) },
      { method: "POST", path: `/v1/allocation/${id}/task-events`, body: DEMO_TASK_EVENTS_JSON },
    ]) {
      const conn = new RawConnection(HOST, port);
      const r = await conn.request({ ...request, headers: auth, keepBody: true });
      conn.close();
      if (r.status !== 200) throw new Error(`seed ${request.method} ${request.path}: ${r.status} ${r.body}`);
    }
  }
  return ids;
}

export async function compareWithBaseline(options: {
  baselineRoot: string;
  outDir: string;
  rounds: number;
  durationS: number;
  connections: number;
  command: string;
  log: (line: string) => void;
  /** Compare the batched ingest (`size` per request, a rest of `settleMs` after each slice) instead of the single writes. */
  batch?: { size: number; settleMs: number };
}): Promise<void> {
  const { log } = options;
  const startedAt = new Date().toISOString();
  const token = `bench-${randomUUID()}`;
  const auth = { "X-Nomad-Token": token };
  const sides: Side[] = [];
  try {
    for (const [name, root] of [
      ["current", ROOT],
      ["baseline", options.baselineRoot],
    ] as const) {
      const dir = join(options.outDir, name);
      mkdirSync(dir, { recursive: true });
      const config = writeBenchConfig(root, dir);
      const server = await startBenchServer({ token, config, root, readyTimeoutMs: 90_000 });
      const side: Side = { name, root, commit: commitOf(root), server, port: 0, ids: [], batchSets: [] };
      sides.push(side);
      side.port = await server.workerPort();
      side.ids = await seed(side.port, auth);
      if (options.batch) side.batchSets = await seedBatchSets(side.port, auth, options.batch.size);
      const prime = new RawConnection(HOST, side.port);
      await prime.request({ path: `/__bench/w0?prime=${side.ids[0]}` });
      prime.close();
      log(`  ${name} ${side.commit}: direct port ${side.port}; seeded ${side.ids.length} allocations`);
    }
    const { batch } = options;
    const loadsCompared = batch ? batchLoads(batch.size) : LOADS;
    // A batch's figures are changes/s: its requests/s times the changes each carries.
    const perRequest = batch?.size ?? 1;
    const loadAvgStart = loadavg();
    const perRound: Record<string, Array<{ current: Loop; baseline: Loop }>> = {};
    for (let r = 0; r < options.rounds; r++) {
      for (const [load, make] of Object.entries(loadsCompared)) {
        const pair: Partial<Record<Side["name"], Loop>> = {};
        for (const side of sides) {
          const loop = batch
            ? await closedLoop(side.port, 2, options.durationS, make(side, auth), batchOk)
            : await closedLoop(side.port, options.connections, options.durationS, make(side, auth));
          // From the counts, not the loop's rounded requests/s (0.1/s is 20 changes/s at 200 per request).
          pair[side.name] = { ...loop, perS: round((loop.requests * perRequest) / loop.seconds, 1) };
          if (batch) await sleep(batch.settleMs);
        }
        const { current, baseline } = pair as { current: Loop; baseline: Loop };
        perRound[load] = [...(perRound[load] ?? []), { current, baseline }];
        log(
          `  round ${r + 1} ${load}: current ${current.perS}/s p50 ${current.p50Ms} ms (${current.errors} errors), baseline ${baseline.perS}/s p50 ${baseline.p50Ms} ms (${baseline.errors} errors)`,
        );
      }
    }
    const loads = Object.fromEntries(
      Object.entries(perRound).map(([load, rounds]) => {
        const side = (name: Side["name"]) => ({
          perS: median(rounds.map((p) => p[name].perS)),
          p50Ms: median(rounds.map((p) => p[name].p50Ms)),
          p99Ms: median(rounds.map((p) => p[name].p99Ms)),
          errors: rounds.reduce((n, p) => n + p[name].errors, 0),
          rounds: rounds.map((p) => p[name].perS),
        });
        return [
          load,
          {
            current: side("current"),
            baseline: side("baseline"),
            // Per round current ÷ baseline: writes/s (≥ 1 is not slower) and ack p50 (≤ 1 is not slower).
            ratioPerS: round(median(rounds.map((p) => p.current.perS / p.baseline.perS)), 3),
            ratioP50: round(median(rounds.map((p) => p.current.p50Ms / p.baseline.p50Ms)), 3),
            ratiosPerS: rounds.map((p) => round(p.current.perS / p.baseline.perS, 3)),
          },
        ];
      }),
    );
    const result = {
      meta: {
        command: options.command,
        startedAt,
        current: sides[0]?.commit,
        baseline: sides[1]?.commit,
        baselineRoot: options.baselineRoot,
        rounds: options.rounds,
        durationS: options.durationS,
        connections: batch ? 2 : options.connections,
        loads: batch
          ? `batched ingest, ${batch.size} puts per request; perS counts changes; ${batch.settleMs} ms rest after each slice`
          : "single writes",
        order: "per round and load: current, then baseline",
        loadAvgStart,
        loadAvgEnd: loadavg(),
        route: "straight to each Worker's workerd (no wrangler proxy)",
      },
      loads,
    };
    writeFileSync(join(options.outDir, "baseline.json"), `${JSON.stringify(result, null, 2)}\n`);
    for (const [load, figures] of Object.entries(loads)) {
      log(
        `  ${load}: current ${figures.current.perS}/s p50 ${figures.current.p50Ms} ms, baseline ${figures.baseline.perS}/s p50 ${figures.baseline.p50Ms} ms; ratio writes/s ${figures.ratioPerS}, p50 ${figures.ratioP50}`,
      );
    }
    log(`wrote ${join(options.outDir, "baseline.json")}`);
  } finally {
    for (const side of sides) await side.server.stop();
  }
}
