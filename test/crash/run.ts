/**
 * Crash-safety harness (`npm run crash -- --cycles 50`): runs the real server (`npm start`, i.e.
 * `wrangler dev`) on its own state directory, has writers append unique log lines and task events
 * with idempotency keys while readers long-poll, kills the whole process group with SIGKILL at a
 * random moment, restarts on the same state, retries every unanswered write unchanged, and checks
 * that every acknowledged write is present exactly once and that no allocation's index went back.
 * Kill times and allocation ids come from a seeded PRNG: the seed is printed and replays the plan.
 * Design and results: docs/reliability.md.
 */
import { randomBytes, randomInt } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { DEMO_ALLOC_ID, DEMO_ALLOCATION_JSON, DEMO_TASK_EVENTS_JSON } from "../../src/demo/allocation.ts";
import { type DevServer, startDevServer } from "../support/dev-server.ts";
import { ROOT } from "../support/tools.ts";
import { ChangeWriter, checkRegion } from "./changes.ts";
import { JournalFile, type KillRecord, prng, randomUuid } from "./history.ts";
import { checkFinal, checkRestart, type Findings, readState } from "./verify.ts";
import { fetchText, type Life, Workload } from "./workload.ts";

export interface CrashOptions {
  /** Kills (each followed by a restart on the same state). */
  cycles: number;
  seed: number;
  writers: number;
  readers: number;
  allocations: number;
  /** Allocations the catalog and ACL writer creates, replaces and deletes. */
  changeAllocations: number;
  /** SIGKILL lands uniformly between these many ms after the writers resume. */
  killMinMs: number;
  killMaxMs: number;
  /** `wait` of the readers' blocking queries. */
  waitMs: number;
  /** Fresh writes per writer after the last restart (besides the retries), so it is checked too. */
  tailWrites: number;
  /** Where the journal, per-life server output and report go; default test-output/crash/<run id>. */
  outDir?: string;
  /** Keep the state directory even when the run passes (it is always kept when it fails). */
  keepState: boolean;
  log: (line: string) => void;
}

export const DEFAULTS: Omit<CrashOptions, "seed"> = {
  cycles: 10,
  writers: 4,
  readers: 4,
  allocations: 2,
  changeAllocations: 3,
  killMinMs: 500,
  killMaxMs: 3500,
  waitMs: 2000,
  tailWrites: 4,
  keepState: false,
  log: (line) => console.log(line),
};

export interface CrashReport {
  ok: boolean;
  seed: number;
  runId: string;
  cycles: number;
  options: Omit<CrashOptions, "log">;
  durationMs: number;
  writes: {
    acknowledged: number;
    logLines: number;
    taskEvents: number;
    /**
     * Acknowledged changes of the catalog and ACL writer, by kind (put, delete, policy, unpolicy,
     * token, retoken, untoken); stale PUTs; changes sent in batches and the batches themselves.
     */
    changes: Record<string, number>;
    attempts: number;
    /** Attempts beyond the first, i.e. retries with the same key and body. */
    retries: number;
    /** Writes with an attempt lost to a kill (sent, never answered). */
    inDoubt: number;
    /** In-doubt writes whose retry was answered from the idempotency record (applied before the kill). */
    replayed: number;
    /** In-doubt writes the kill had stopped before they were applied; the retry applied them. */
    appliedByRetry: number;
    connectionErrors: number;
    rateLimited: number;
    fiveXx: number;
    fiveXxDuringKill: number;
  };
  duplicates: number;
  lost: number;
  reads: {
    requests: number;
    ok: number;
    distinctIndexes: number;
    connectionErrors: number;
    rateLimited: number;
    fiveXx: number;
    fiveXxDuringKill: number;
    hangs: number;
  };
  kills: KillRecord[];
  violations: string[];
  notes: string[];
  outDir: string;
  stateDir: string;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Every process of a process group (from /proc). */
function groupMembers(pgid: number): number[] {
  const members: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // pid (comm) state ppid pgrp ...: comm may contain spaces, so split after the last ')'.
      const [state, , pgrp] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      // A zombie is dead already; it stays listed until some parent reaps it.
      if (Number(pgrp) === pgid && state !== "Z") members.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return members;
}

/** The process group startDevServer made for the server on `url`: its leader runs scripts/start.ts. */
function serverGroup(url: string): number {
  const port = new URL(url).port;
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const args = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
      const at = args.indexOf("--port");
      if (args.some((a) => a.endsWith("scripts/start.ts")) && at >= 0 && args[at + 1] === port) return Number(entry);
    } catch {
      // exited meanwhile
    }
  }
  throw new Error(`no process group found for the server on ${url}`);
}

async function write(url: string, token: string, path: string, body: string, key: string): Promise<number> {
  const { response, text } = await fetchText(
    `${url}${path}`,
    { method: path.endsWith("task-events") ? "POST" : "PUT", body, headers: { "X-Nomad-Token": token, "Idempotency-Key": key } },
    30_000,
  );
  if (response.status !== 200) throw new Error(`setup ${path}: ${response.status} ${text}`);
  return (JSON.parse(text) as { Index: number }).Index;
}

export async function runCrashTest(partial: Partial<CrashOptions> = {}): Promise<CrashReport> {
  const given = Object.fromEntries(Object.entries(partial).filter(([, value]) => value !== undefined)) as Partial<CrashOptions>;
  const options: CrashOptions = { ...DEFAULTS, seed: randomInt(2 ** 31), ...given };
  const { log } = options;
  const random = prng(options.seed);
  const runId = `crash-${options.seed}`;
  const outDir = resolve(options.outDir ?? join(ROOT, "test-output", "crash", `${runId}-${Date.now()}`));
  const stateDir = join(outDir, "state");
  mkdirSync(stateDir, { recursive: true });
  const journal = new JournalFile(join(outDir, "journal.jsonl"));
  const token = `crash-${randomBytes(12).toString("hex")}`;
  const allocs = Array.from({ length: options.allocations }, () => randomUuid(random));
  const workload = new Workload({ token, runId, allocs, journal, tailWrites: options.tailWrites });
  // Its own PRNG stream, so the kill plan does not depend on how many changes a life made.
  const changer = new ChangeWriter(workload, prng(options.seed ^ 0x5bd1e995), options.changeAllocations);
  const findings: Findings = { violations: [], duplicates: 0, lost: 0 };
  const kills: KillRecord[] = [];
  const started = performance.now();
  log(
    `crash test: seed ${options.seed}, ${options.cycles} cycles, ${options.writers} writers, ${options.readers} readers, ${allocs.length} allocations`,
  );
  log(`  output: ${outDir}`);

  let server: DevServer | undefined;
  let pgid: number | undefined;
  // Never leave a server behind, whatever happens to this process.
  const killGroup = () => {
    if (pgid === undefined) return;
    try {
      process.kill(-pgid, "SIGKILL");
    } catch {
      // already gone
    }
  };
  process.once("exit", killGroup);

  const startServer = async (life: number): Promise<DevServer> => {
    const begun = performance.now();
    let started: DevServer | undefined;
    // wrangler dev picks some of its sockets' ports itself; on a shared machine another process may
    // take one first. That start never ran the Worker: try again, and say so in the report.
    for (let attempt = 1; !started; attempt++) {
      try {
        started = await startDevServer({ persistTo: stateDir, token });
      } catch (error) {
        if (attempt >= 3 || !String(error).includes("Address already in use")) throw error;
        workload.notes.push(`life ${life}: wrangler dev could not bind a socket (Address already in use); started again`);
        journal.append({ startRetry: life, attempt });
      }
    }
    server = started;
    pgid = serverGroup(started.url);
    journal.append({ start: life, url: started.url, pgid, ms: Math.round(performance.now() - begun) });
    return started;
  };
  const stopServer = async (life: number, signal: NodeJS.Signals) => {
    if (!server) return;
    const dying = server;
    await dying.stop(signal);
    const group = pgid as number;
    const deadline = Date.now() + 5000;
    while (groupMembers(group).length > 0 && Date.now() < deadline) await sleep(50);
    const left = groupMembers(group);
    if (left.length > 0) {
      findings.violations.push(`life ${life}: processes ${left.join(", ")} of group ${group} survived ${signal}`);
      killGroup();
    }
    writeFileSync(join(outDir, `server-life-${life}.log`), dying.output().slice(-64 * 1024));
    server = undefined;
    pgid = undefined;
  };
  const absorb = (found: Findings) => {
    findings.violations.push(...found.violations);
    findings.duplicates += found.duplicates;
    findings.lost += found.lost;
  };

  const tasks: Promise<void>[] = [];
  let readerTasks: Promise<void>[] = [];
  try {
    let current = await startServer(1);
    for (const [i, alloc] of allocs.entries()) {
      const put = await write(
        current.url,
        token,
        `/v1/allocation/${alloc}`,
        DEMO_ALLOCATION_JSON.replaceAll(DEMO_ALLOC_ID, alloc),
        `${runId}-put-${i}`,
      );
      const events = await write(current.url, token, `/v1/allocation/${alloc}/task-events`, DEMO_TASK_EVENTS_JSON, `${runId}-start-${i}`);
      workload.recordSetup(alloc, put);
      workload.recordSetup(alloc, events);
    }
    const first: Life = {
      n: 1,
      url: current.url,
      killing: false,
      final: options.cycles === 0,
      indexAtStart: new Map(),
      logEndAtStart: new Map(),
    };
    workload.publish(first);
    for (let w = 0; w < options.writers; w++) tasks.push(workload.writer(w));
    tasks.push(changer.run());
    readerTasks = Array.from({ length: options.readers }, (_, r) => workload.reader(r, options.waitMs));

    for (let cycle = 1; cycle <= options.cycles; cycle++) {
      const afterMs = Math.round(options.killMinMs + random() * (options.killMaxMs - options.killMinMs));
      await sleep(afterMs);
      const acknowledgedBefore = workload.writes.filter((w) => w.ack !== undefined).length;
      const inFlightWrites = workload.inFlight.size;
      workload.down();
      await stopServer(cycle, "SIGKILL");
      journal.append({ kill: cycle, afterMs, inFlightWrites, acknowledgedBefore });
      journal.sync();
      const restartBegun = performance.now();
      current = await startServer(cycle + 1);
      const restartMs = Math.round(performance.now() - restartBegun);
      const states = await readState(current.url, token, allocs);
      absorb(checkRestart(workload, states, `after kill ${cycle}`));
      absorb(await checkRegion(current.url, workload, changer, `after kill ${cycle}`, false));
      kills.push({ cycle, afterMs, inFlightWrites, acknowledgedBefore, restartMs });
      const final = cycle === options.cycles || findings.violations.length > 0 || workload.violations.length > 0;
      workload.publish({
        n: cycle + 1,
        url: current.url,
        killing: false,
        final,
        indexAtStart: new Map([...states].map(([alloc, s]) => [alloc, s.index])),
        logEndAtStart: new Map([...states].map(([alloc, s]) => [alloc, s.log.length])),
      });
      log(
        `  cycle ${cycle}/${options.cycles}: SIGKILL after ${afterMs} ms with ${inFlightWrites} writes in flight, ` +
          `${acknowledgedBefore} acknowledged so far; restarted in ${restartMs} ms; state checked`,
      );
      if (final && cycle < options.cycles) {
        log("  stopping early: a check failed");
        break;
      }
    }
    // The last life: writers retry what is unanswered, add their tail writes, and stop.
    const drained = await Promise.race([Promise.all(tasks).then(() => true), sleep(60_000).then(() => false)]);
    if (!drained) findings.violations.push("writers did not finish within 60 s of the last restart");
    log(`  last life: every unanswered write retried, ${options.tailWrites} fresh writes per writer; checking the final state`);
    workload.close();
    // Their histories are complete; a query still pending here cannot change any check (see docs/reliability.md).
    const readersDone = await Promise.race([Promise.all(readerTasks).then(() => true), sleep(10_000).then(() => false)]);
    if (!readersDone) {
      const states = workload.readers.map((r) => `reader ${r.reader}: ${r.doing}`).join("; ");
      workload.notes.push(`readers had not stopped 10 s after the end (${new Date().toISOString()}): ${states}`);
    }
    absorb(checkFinal(workload, await readState(current.url, token, allocs)));
    const answered = workload.writes.every((w) => w.ack !== undefined) && changer.pending.length === 0;
    for (const change of changer.pending) findings.violations.push(`final: change ${change.key} was never acknowledged`);
    absorb(await checkRegion(current.url, workload, changer, "final", answered));
    await stopServer(options.cycles + 1, "SIGTERM");
  } catch (error) {
    findings.violations.push(`harness error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    workload.close();
    killGroup();
  } finally {
    workload.close();
    killGroup();
    process.removeListener("exit", killGroup);
    journal.close();
  }

  const writes = workload.writes;
  const changes: Record<string, number> = {
    put: 0,
    delete: 0,
    stale: 0,
    batched: 0,
    batches: 0,
    policy: 0,
    unpolicy: 0,
    token: 0,
    retoken: 0,
    untoken: 0,
  };
  const batches = new Set<number>();
  for (const change of changer.changes.filter((c) => c.ack !== undefined)) {
    changes[change.kind] = (changes[change.kind] ?? 0) + 1;
    if (change.stale) changes.stale = (changes.stale ?? 0) + 1;
    if (change.batch !== undefined) {
      changes.batched = (changes.batched ?? 0) + 1;
      batches.add(change.batch);
    }
  }
  changes.batches = batches.size;
  // A request per attempt: a batch's changes share their requests.
  const changeRequests = changer.requests;
  const changeFirstSends = new Set(changer.changes.map((c) => c.batch ?? `single ${c.seq}`)).size;
  const acked = writes.filter((w) => w.ack !== undefined);
  const inDoubt = writes.filter((w) => w.inDoubt);
  const readers = workload.readers;
  const sum = (pick: (r: (typeof readers)[number]) => number) => readers.reduce((total, r) => total + pick(r), 0);
  const violations = [...workload.violations, ...findings.violations];
  const { log: _log, ...reported } = options;
  const report: CrashReport = {
    ok: violations.length === 0 && findings.duplicates === 0 && findings.lost === 0,
    seed: options.seed,
    runId,
    cycles: kills.length,
    options: reported,
    durationMs: Math.round(performance.now() - started),
    writes: {
      acknowledged: acked.length,
      logLines: acked.filter((w) => w.kind === "log").length,
      taskEvents: acked.filter((w) => w.kind === "event").length,
      changes,
      attempts: writes.reduce((total, w) => total + w.attempts, 0) + changeRequests,
      retries: writes.reduce((total, w) => total + Math.max(0, w.attempts - 1), 0) + changeRequests - changeFirstSends,
      inDoubt: inDoubt.length,
      replayed: inDoubt.filter((w) => w.replayed === true).length,
      appliedByRetry: inDoubt.filter((w) => w.replayed === false).length,
      connectionErrors: workload.writerConnectionErrors,
      rateLimited: workload.writerRateLimited,
      fiveXx: workload.writerFiveXx,
      fiveXxDuringKill: workload.writerFiveXxDuringKill,
    },
    duplicates: findings.duplicates,
    lost: findings.lost,
    reads: {
      requests: sum((r) => r.requests),
      ok: sum((r) => r.ok),
      distinctIndexes: sum((r) => r.indexes.length),
      connectionErrors: sum((r) => r.connectionErrors),
      rateLimited: sum((r) => r.rateLimited),
      fiveXx: sum((r) => r.fiveXx),
      fiveXxDuringKill: sum((r) => r.fiveXxDuringKill),
      hangs: sum((r) => r.hangs),
    },
    kills,
    violations,
    notes: workload.notes.slice(0, 50),
    outDir,
    stateDir,
  };
  writeFileSync(join(outDir, "report.json"), `${JSON.stringify(report, null, 2)}\n`);
  if (report.ok && !options.keepState) rmSync(stateDir, { recursive: true, force: true });
  log(summary(report));
  return report;
}

export function summary(report: CrashReport): string {
  const w = report.writes;
  const r = report.reads;
  const lines = [
    `crash test ${report.ok ? "PASSED" : "FAILED"}: seed ${report.seed}, ${report.cycles} kill cycles in ${(report.durationMs / 1000).toFixed(1)} s`,
    `  writes: ${w.acknowledged} acknowledged (${w.logLines} log lines, ${w.taskEvents} task events), ${w.retries} retries; ` +
      `${w.inDoubt} in doubt at a kill (${w.replayed} had been applied and were answered from the idempotency record, ${w.appliedByRetry} applied by the retry)`,
    `  catalog and ACL changes acknowledged: ${Object.entries(w.changes)
      .map(([kind, n]) => `${n} ${kind}`)
      .join(", ")}; list, event history and allocations checked after every restart`,
    `  duplicates: ${report.duplicates}, lost acknowledged writes: ${report.lost}`,
    `  reads: ${r.requests} blocking queries, ${r.ok} answered 200, ${r.distinctIndexes} index changes seen, ` +
      `${r.connectionErrors} connection errors (kills), ${r.fiveXx} 5xx, ${r.fiveXxDuringKill} 5xx during a kill, ${r.hangs} hangs, ${r.rateLimited} 429`,
    `  writer errors: ${w.connectionErrors} connection errors (kills), ${w.fiveXx} 5xx, ${w.fiveXxDuringKill} 5xx during a kill, ${w.rateLimited} 429`,
    `  output: ${report.outDir}`,
  ];
  for (const violation of report.violations.slice(0, 30)) lines.push(`  VIOLATION ${violation}`);
  if (report.violations.length > 30) lines.push(`  ... ${report.violations.length - 30} more in report.json`);
  if (!report.ok) lines.push(`  state kept in ${report.stateDir}; replay the plan with --seed ${report.seed}`);
  return lines.join("\n");
}

function parseArgs(argv: string[]): Partial<CrashOptions> {
  const options: Partial<CrashOptions> = {};
  const numeric: Record<string, keyof CrashOptions> = {
    "--cycles": "cycles",
    "--seed": "seed",
    "--writers": "writers",
    "--readers": "readers",
    "--allocations": "allocations",
    "--change-allocations": "changeAllocations",
    "--kill-min-ms": "killMinMs",
    "--kill-max-ms": "killMaxMs",
    "--wait-ms": "waitMs",
    "--tail-writes": "tailWrites",
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const field = numeric[arg];
    if (field) {
      const value = Number(argv[++i]);
      if (!Number.isInteger(value) || value < 0) throw new Error(`${arg} needs a non-negative integer`);
      (options as Record<string, unknown>)[field] = value;
    } else if (arg === "--out") options.outDir = argv[++i];
    else if (arg === "--keep-state") options.keepState = true;
    else throw new Error(`unknown argument ${arg}; see the options in test/crash/run.ts`);
  }
  return options;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  // Ctrl-C: exit through process.exit so the server's process group is killed on the way out.
  process.once("SIGINT", () => process.exit(130));
  process.once("SIGTERM", () => process.exit(143));
  const report = await runCrashTest(parseArgs(process.argv.slice(2)));
  process.exit(report.ok ? 0 : 1);
}
