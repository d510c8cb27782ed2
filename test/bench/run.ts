/**
 * `npm run bench [-- --smoke] [-- --out <dir>]`: the benchmark (docs/benchmarks.md). Starts `wrangler dev`
 * with the benchmark configuration (config.ts: production's wrangler.toml with the Worker swapped
 * for bench-worker.ts, which adds the W0/W1 ceiling routes) on a loopback port with a fresh state directory, loads allocations through the
 * write API, runs the scenarios (scenarios/, one file each, on the helpers in lib/), and writes result.json and result.md to
 * test-output/bench/ (or --out). `--smoke` (or BENCH_SMOKE=1) runs every scenario with tiny N and
 * ~1 s durations. Bounded: the full run starts no scenario after ~4 minutes 10 s (so it ends within 5), the smoke run none after
 * ~75 s, and every wait has its own deadline. `--only a,b` runs just those scenarios. The server's whole process group is always killed.
 */
import { spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg, release, totalmem } from "node:os";
import { join, resolve } from "node:path";
import { BENCH_NAME, writeBenchConfig } from "./config.ts";
import type { Context } from "./lib/context.ts";
import { cpuSample, cpuUse, round } from "./lib/measure.ts";
import { ROOT, startBenchServer } from "./lib/server.ts";
import { FULL, type Settings, SMOKE } from "./lib/settings.ts";
import { loadAllocations, loadRegionIds, type RegionIds } from "./lib/writes.ts";
import { evaluateTargets, type Results, renderMarkdown } from "./report.ts";
import { eventsScenario } from "./scenarios/events.ts";
import { getScenario } from "./scenarios/get.ts";
import { ingestScenario } from "./scenarios/ingest.ts";
import { listScenario } from "./scenarios/list.ts";
import { logsScenario } from "./scenarios/logs.ts";
import { memoryScenario } from "./scenarios/memory.ts";
import { regionWritesScenario } from "./scenarios/region-writes.ts";
import { wakeScenario } from "./scenarios/wake.ts";

const args = process.argv.slice(2);
const smoke = args.includes("--smoke") || process.env.BENCH_SMOKE === "1";
const outIndex = args.indexOf("--out");
/** `--only get,logs`: run just these scenarios (for iterating on one; the result says which ran). */
const onlyIndex = args.indexOf("--only");
const only = onlyIndex >= 0 ? new Set((args[onlyIndex + 1] ?? "").split(",").filter(Boolean)) : undefined;
const outDir = resolve(outIndex >= 0 && args[outIndex + 1] ? (args[outIndex + 1] as string) : join(ROOT, "test-output", "bench"));
const settings: Settings = smoke ? SMOKE : FULL;
// No scenario starts past the budget; the last one (memory, ~45 s) still ends within 5 minutes.
const budgetMs = smoke ? 75_000 : 250_000;
const started = Date.now();

function log(line: string): void {
  process.stdout.write(`[${((Date.now() - started) / 1000).toFixed(1).padStart(5)} s] ${line}\n`);
}

/** Raises this process's open-files limit (inherited by wrangler and workerd); answers the limit in force. */
function raiseFileLimit(wanted: number): number {
  spawnSync("prlimit", ["--pid", String(process.pid), `--nofile=${wanted}:${wanted}`], { stdio: "ignore" });
  const limits = readFileSync("/proc/self/limits", "utf8");
  const match = /Max open files\s+(\d+)/.exec(limits);
  return match ? Number(match[1]) : 1024;
}

function packageVersion(name: string): string {
  try {
    return (JSON.parse(readFileSync(join(ROOT, "node_modules", name, "package.json"), "utf8")) as { version: string }).version;
  } catch {
    return "unknown";
  }
}

/** The commit measured, and how many files of the work tree differ from it (they are measured too). */
function gitState(): { head: string; dirtyFiles: number } {
  const head = spawnSync("git", ["rev-parse", "--short", "HEAD"], { cwd: ROOT, encoding: "utf8" }).stdout?.trim() || "unknown";
  const status = spawnSync("git", ["status", "--porcelain", "--", "src", "wrangler.toml"], { cwd: ROOT, encoding: "utf8" }).stdout ?? "";
  return { head, dirtyFiles: status.split("\n").filter(Boolean).length };
}

function workerdCount(): number {
  let count = 0;
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, "utf8").trim() === "workerd") count++;
    } catch {
      // exited meanwhile
    }
  }
  return count;
}

async function main(): Promise<number> {
  const fdLimit = raiseFileLimit(smoke ? 8192 : 65536);
  mkdirSync(outDir, { recursive: true });
  const config = writeBenchConfig(ROOT, outDir);
  const compatibilityDate = /compatibility_date\s*=\s*"([^"]+)"/.exec(readFileSync(config, "utf8"))?.[1] ?? "unknown";
  const results: Results = {
    meta: {
      mode: smoke ? "smoke" : "full",
      command: `npm run bench${smoke || only ? ` --${smoke ? " --smoke" : ""}${only ? ` --only ${[...only].join(",")}` : ""}` : ""}`,
      startedAt: new Date(started).toISOString(),
      wallS: 0,
      versions: {
        node: process.version,
        wrangler: packageVersion("wrangler"),
        workerd: packageVersion("workerd"),
        autocannon: packageVersion("autocannon"),
      },
      machine: {
        nproc: cpus().length,
        memTotalMiB: Math.round(totalmem() / 1024 / 1024),
        cpuModel: cpus()[0]?.model ?? "unknown",
        kernel: `Linux ${release()}`,
        loadAvgStart: loadavg(),
        loadAvgEnd: [],
      },
      compatibilityDate,
      git: gitState(),
      fdLimit,
      otherWorkerdAtStart: workerdCount(),
      notes: [
        "Every request crosses wrangler dev's proxy workerd before the Worker's workerd (a dev-only hop, the same for W0, W1 and the real routes); the load generator, wrangler and both workerd processes share the machine's cores.",
        "Closed-loop latencies come from autocannon (1 ms resolution); open-loop and wake-up latencies from the harness's own client (sub-millisecond).",
      ],
    },
    scenarios: {},
    cpu: {},
    errors: {},
    targets: [],
  };

  log(`bench (${results.meta.mode}): starting wrangler dev with ${config} (${BENCH_NAME}, derived from wrangler.toml)`);
  const token = `bench-${randomUUID()}`;
  const freshServer = () => startBenchServer({ token, config, readyTimeoutMs: smoke ? 30_000 : 60_000 });
  const server = await freshServer();
  const ctx: Context = { server, settings, remainingMs: () => budgetMs - (Date.now() - started), log };
  try {
    const pids = server.workerd();
    log(`  ${server.url}; workerd proxy ${pids.proxy ?? "?"}, Worker ${pids.user ?? "?"}; open-files limit ${fdLimit}`);
    const hot = randomUUID();
    const spreadIds = Array.from({ length: settings.spreadCount }, () => randomUUID());
    const wakeId = randomUUID();
    const ingestId = randomUUID();
    const logsIds = Array.from({ length: settings.logRounds }, () => randomUUID());
    await loadAllocations(ctx, [hot, ...spreadIds, wakeId, ingestId, ...logsIds]);
    log(`  loaded ${spreadIds.length + 3 + logsIds.length} allocations through the write API`);

    let regionIds: RegionIds | undefined;
    const stages: [string, () => Promise<void>][] = [
      [
        "get",
        async () => {
          results.scenarios.get = await getScenario(ctx, hot, spreadIds);
        },
      ],
      [
        "list",
        async () => {
          results.scenarios.list = await listScenario(ctx, hot, "asia");
        },
      ],
      [
        "ingest",
        async () => {
          results.scenarios.ingest = await ingestScenario(ctx, ingestId);
        },
      ],
      [
        "regionWrites",
        async () => {
          regionIds = await loadRegionIds(ctx);
          results.scenarios.regionWrites = await regionWritesScenario(ctx, regionIds);
        },
      ],
      [
        "events",
        async () => {
          regionIds ??= await loadRegionIds(ctx);
          results.scenarios.events = await eventsScenario(ctx, regionIds);
        },
      ],
      [
        "logs",
        async () => {
          results.scenarios.logs = await logsScenario(ctx, logsIds);
        },
      ],
      [
        "wake",
        async () => {
          results.scenarios.wake = await wakeScenario(ctx, wakeId, fdLimit);
        },
      ],
      [
        "memory",
        async () => {
          results.scenarios.memory = await memoryScenario(ctx, freshServer, settings.memoryWaiters, "proxy");
        },
      ],
      // Not in the default run (one minute or more, and the runtime may crash): `--only scale10k`.
      [
        "scale10k",
        async () => {
          // 10,000 parked on one object is above the default cap (MAX_WAITERS_PER_OBJECT, sized to 32 MiB of heap): lifted for this run.
          const uncapped = () =>
            startBenchServer({
              token,
              config,
              readyTimeoutMs: 60_000,
              vars: { MAX_WAITERS_PER_OBJECT: "20000", MAX_WAITERS_PER_CALLER: "20000" },
            });
          results.scenarios.scale10k = await memoryScenario(ctx, uncapped, 10_000, "direct", ["worker", "ceiling", "real"]);
        },
      ],
    ];
    const optIn = new Set(["scale10k"]);
    for (const [name, run] of stages) {
      if (only ? !only.has(name) : optIn.has(name)) continue;
      if (ctx.remainingMs() <= 0) {
        results.errors[name] = "not run: time budget exhausted";
        continue;
      }
      log(`scenario ${name}`);
      const before = cpuSample(server.wranglerPid, pids);
      try {
        await run();
      } catch (error) {
        results.errors[name] = error instanceof Error ? (error.stack ?? error.message) : String(error);
        log(`  failed: ${results.errors[name]}`);
      }
      results.cpu[name] = cpuUse(before, cpuSample(server.wranglerPid, pids));
    }
    const after = server.workerd();
    if (after.user !== pids.user || after.proxy !== pids.proxy) {
      results.errors.restart = `workerd was restarted during the run (${JSON.stringify(pids)} → ${JSON.stringify(after)}): figures are not comparable`;
    }
    const serverOutput = server.output();
    if (/error/i.test(serverOutput)) results.meta.notes.push(`wrangler output mentioned errors: ${serverOutput.slice(-2000)}`);
  } finally {
    await server.stop();
    results.meta.machine.loadAvgEnd = loadavg();
  }
  results.meta.wallS = round((Date.now() - started) / 1000, 1);
  results.targets = evaluateTargets(results);
  const markdown = renderMarkdown(results);
  writeFileSync(join(outDir, "result.json"), `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(join(outDir, "result.md"), markdown);
  process.stdout.write(`\n${markdown}\n`);
  log(`wrote ${join(outDir, "result.json")} and result.md`);
  return Object.keys(results.errors).length ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(2);
  },
);
