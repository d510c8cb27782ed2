/**
 * `nomad-alloc-edge sync`: wires Nomad, the edge, the mirror, the log shipper and the state
 * directory together, runs `--once` or follows until SIGINT/SIGTERM.
 */
import type { Server } from "node:http";
import { sleep } from "./backoff.ts";
import { parseConfig, type SyncConfig, USAGE } from "./config.ts";
import { UsageError } from "./duration.ts";
import { EdgeClient } from "./edge.ts";
import { follow, reconcileOnce } from "./follow.ts";
import { LogShipper } from "./logs.ts";
import { Metrics } from "./metrics.ts";
import { Mirror } from "./mirror.ts";
import { NomadClient } from "./nomad.ts";
import { count, Progress } from "./progress.ts";
import { loadState, saveState } from "./state.ts";

/** State is saved at most this often while running (and always at exit). */
const SAVE_EVERY_MS = 1000;

async function runSync(config: SyncConfig): Promise<number> {
  const progress = new Progress();
  const metrics = new Metrics();
  const stop = new AbortController();
  const state = loadState(config.stateDir);
  let dirty = false;
  const stateChanged = () => {
    dirty = true;
  };
  const save = () => {
    if (!dirty) return;
    dirty = false;
    saveState(config.stateDir, state);
  };
  const nomad = new NomadClient(config, config.maxInflight + 4);
  const edge = new EdgeClient(config, metrics, stop.signal);
  const logs = new LogShipper({ mode: config.logs, nomad, edge, state, metrics, stateChanged });
  const mirror = new Mirror({
    state,
    nomad,
    edge,
    metrics,
    batchSize: config.batchSize,
    maxInflight: config.maxInflight,
    signal: stop.signal,
    stateChanged,
    onMirrored: (id, doc) => logs.track(id, doc),
  });
  let connected = false;
  let metricsServer: Server | undefined;
  if (config.metricsAddr) {
    metricsServer = await metrics.serve(config.metricsAddr.host, config.metricsAddr.port, () => connected || config.once);
    const where = metricsServer.address();
    progress.line(`metrics on http://${typeof where === "object" && where ? `${where.address}:${where.port}` : ""}/metrics`);
  }
  let signalled: string | undefined;
  const onSignal = (name: string) => {
    if (signalled) return;
    signalled = name;
    progress.line(`${name}: stopping (finishing writes in flight, saving state)`);
    stop.abort();
  };
  const onInt = () => onSignal("SIGINT");
  const onTerm = () => onSignal("SIGTERM");
  process.on("SIGINT", onInt);
  process.on("SIGTERM", onTerm);
  const saver = setInterval(save, SAVE_EVERY_MS);
  progress.line(
    `sync: Nomad ${nomad.address} (namespace ${config.namespace}) -> edge ${edge.address}${config.edgeRegion ? ` region ${config.edgeRegion}` : ""}; ` +
      `state ${config.stateDir} (cursor ${state.cursor}, ${Object.keys(state.allocs).length} allocations known); logs ${config.logs}; gc-retain ${config.gcRetainMs / 1000}s`,
  );
  const writer = mirror.run();
  const ticker = startProgress(mirror, progress);
  const deps = { config, nomad, edge, mirror, metrics, progress, state, logs, signal: stop.signal };
  let code = 0;
  try {
    if (config.once) {
      code = await once(deps, logs);
    } else {
      connected = true;
      const logLoop = config.logs === "none" ? Promise.resolve() : shipLogs(logs, config.logPollMs, stop.signal);
      await Promise.all([follow(deps), logLoop]);
    }
  } catch (error) {
    if (!stop.signal.aborted) {
      progress.line(`error: ${(error as Error).message}`);
      code = 1;
    }
  } finally {
    clearInterval(ticker);
    stop.abort();
    await writer.catch(() => undefined);
    clearInterval(saver);
    dirty = true;
    save();
    process.off("SIGINT", onInt);
    process.off("SIGTERM", onTerm);
    metricsServer?.close();
    nomad.close();
    edge.close();
  }
  if (signalled) progress.line(`stopped; cursor ${state.cursor} saved`);
  return code;
}

function startProgress(mirror: Mirror, progress: Progress): NodeJS.Timeout {
  let base = -1;
  let total = 0;
  return setInterval(() => {
    const pending = mirror.pendingCount;
    if (pending > 0) {
      if (base < 0) base = mirror.written;
      const done = mirror.written - base;
      total = Math.max(total, done + pending);
      progress.line(`writing: ${count(done, total)} allocations`);
    } else if (base >= 0) {
      progress.line(
        `caught up: ${count(mirror.written - base, mirror.written - base)} allocations written, ${mirror.mirroredCount} mirrored`,
      );
      base = -1;
      total = 0;
    }
  }, 1000);
}

async function shipLogs(logs: LogShipper, everyMs: number, signal: AbortSignal): Promise<void> {
  while (!signal.aborted) {
    await logs.round(signal);
    await sleep(everyMs, signal);
  }
}

/** One reconcile, every difference written, logs to date; 0 when the edge then matches Nomad. */
async function once(deps: Parameters<typeof reconcileOnce>[0], logs: LogShipper): Promise<number> {
  await reconcileOnce(deps, "once");
  await deps.mirror.drained();
  if (deps.config.logs !== "none") {
    // Rounds until a round ships nothing: the logs as they are now.
    while ((await logs.round(deps.signal)) > 0 && !deps.signal.aborted) {}
  }
  if (deps.signal.aborted) return 1;
  const nomadList = await deps.nomad.listAllocations(deps.signal);
  const edgeIds = new Map((await deps.edge.listAllocations()).map((s) => [s.id, s.namespace]));
  const problems = deps.mirror.mismatches(nomadList, edgeIds);
  const rejects = deps.metrics.rejects.values.size > 0 ? [...deps.metrics.rejects.values.values()].reduce((a, b) => a + b, 0) : 0;
  if (problems.length === 0 && rejects === 0) {
    deps.progress.line(`once: the edge matches Nomad (${nomadList.allocations.length} allocations, index ${nomadList.index})`);
    return 0;
  }
  for (const problem of problems.slice(0, 20)) deps.progress.line(`mismatch: ${problem}`);
  deps.progress.line(
    `once: the edge does not match Nomad: ${problems.length} allocations differ${problems.length > 20 ? " (first 20 shown)" : ""}, ${rejects} writes rejected`,
  );
  return 1;
}

/** The `sync` subcommand: parses, runs, maps usage mistakes to exit code 2. */
export async function syncCommand(argv: readonly string[], env: Record<string, string | undefined>): Promise<number> {
  let config: SyncConfig;
  try {
    config = parseConfig(argv, env);
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`error: ${error.message}\n\n${USAGE}`);
      return 2;
    }
    throw error;
  }
  return runSync(config);
}
