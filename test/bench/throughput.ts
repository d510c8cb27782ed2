/**
 * `npm run bench:throughput [-- --smoke] [-- --profile] [-- --no-etcd] [-- --out <dir>]`: the write
 * path's benchmark (docs/benchmarks.md, "Throughput"). Every request goes straight to the Worker's
 * own workerd (no wrangler proxy), and every figure is set against ceilings measured the same way in
 * the same run:
 *
 * - W0 (trivial Worker route), W1 (Worker → the allocation's object → cached bytes), P1 (1,000
 *   parked bare RPCs released at once), F1 (Worker → an object doing one SQLite INSERT), F2 (F1 plus
 *   one RPC to a region object doing one INSERT: the hops of a real write), and the batch floor
 *   (N F-writes from one request, 32 in flight);
 * - ours: single PUT and task-event writes, batched ingest, an initial load of 10,000 allocations
 *   into an empty region, sustained churn (1,000 changes/s over 1,000 allocations, lag to the event
 *   stream and to reads), 1,000 long-polls woken by one write, the catalog alone with K shards;
 * - the JS heap per parked waiter over the inspector (HeapProfiler.collectGarbage, then
 *   Runtime.getHeapUsage, at N = 0 and N = 1,000);
 * - etcd 3.4 from Debian (`etcd-server`, v2 API on loopback): GET, PUT, 1,000 watches woken by one PUT;
 * - `--profile`: a CPU profile of the Worker's isolate during single PUTs, summarized by function;
 * - `--heap` (alone): only the JS heap per held request, for each kind;
 * - `--batch [--rounds N] [--slice-s S]` (alone, with or without `--profile`): the batch floors and
 *   batched ingest in alternating rounds (ratios taken within each round), and a CPU profile of
 *   each batched load;
 * - `--bridge` (alone): the initial load end to end, Nomad stand-in → the sync bridge → this Worker;
 * - `--baseline <dir> [--batch] [--rounds N] [--slice-s S]` (alone): the single writes (with `--batch`, the
 *   batched ingest) against another commit's Worker in the same run, alternating rounds (throughput-baseline.ts).
 *
 * Bounded: each step has its own duration and deadline; the whole run takes about 3 minutes (smoke:
 * under one). Loopback only; the servers it starts (wrangler's process group, etcd) are killed at the end.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { DEMO_ALLOC_ID, DEMO_TASK_EVENTS_JSON } from "../../src/demo/allocation.ts";
import { NomadStandIn } from "../support/nomad-standin/server.ts";
import { writeBenchConfig } from "./config.ts";
import { allocationJson, batchBody, batchOk, batchRequest, closedLoop, type Loop, seedBatchSets } from "./lib/closed-loop.ts";
import { median, percentile, round, sleep, waitFor } from "./lib/measure.ts";
import { type CpuProfile, summarizeProfile } from "./lib/profile-summary.ts";
import { RawConnection } from "./lib/raw-http.ts";
import { freePort, HOST, ROOT, startBenchServer } from "./lib/server.ts";
import { compareWithBaseline } from "./throughput-baseline.ts";

const args = process.argv.slice(2);
const smoke = args.includes("--smoke");
const profile = args.includes("--profile");
const withEtcd = !args.includes("--no-etcd");
/** `--bridge`: only the initial load end to end, Nomad stand-in → `npm run sync -- --once` → this Worker. */
const bridgeOnly = args.includes("--bridge");
/** `--batch`: only the batch floors and batched ingest (new and replacing); with `--profile`, a CPU profile of each. */
const batchOnly = args.includes("--batch");
/** `--heap`: only the heap per held request (every kind). */
const heapOnly = args.includes("--heap");
/** `--baseline <dir>`: only the single writes (with `--batch`, the batched ingest), this checkout against the worktree of another commit. */
const baselineIndex = args.indexOf("--baseline");
const baselineRoot = baselineIndex >= 0 && args[baselineIndex + 1] ? resolve(args[baselineIndex + 1] as string) : undefined;
const roundsIndex = args.indexOf("--rounds");
const rounds = roundsIndex >= 0 ? Math.max(1, Math.min(20, Number(args[roundsIndex + 1]) || 10)) : smoke ? 1 : 10;
/** `--slice-s S`: seconds per load and side in each round of `--baseline` or `--batch` (short slices pair better against bursty load). */
const sliceIndex = args.indexOf("--slice-s");
const sliceS = sliceIndex >= 0 ? Math.max(1, Math.min(30, Number(args[sliceIndex + 1]) || 3)) : smoke ? 1 : 3;
const outIndex = args.indexOf("--out");
const outDir = resolve(outIndex >= 0 && args[outIndex + 1] ? (args[outIndex + 1] as string) : join(ROOT, "test-output", "throughput"));
const S = smoke
  ? {
      durationS: 1,
      connections: 4,
      batch: 50,
      initialLoad: 500,
      churnRate: 200,
      churnS: 3,
      churnAllocs: 100,
      waiters: 50,
      heapWaiters: 50,
      catalogN: 300,
    }
  : {
      durationS: 5,
      connections: 8,
      batch: 200,
      initialLoad: 10_000,
      churnRate: 1000,
      churnS: 30,
      churnAllocs: 1000,
      waiters: 1000,
      heapWaiters: 1000,
      catalogN: 4000,
    };
const started = Date.now();
const log = (line: string) => process.stdout.write(`[${((Date.now() - started) / 1000).toFixed(1).padStart(5)} s] ${line}\n`);

/** The Chrome DevTools protocol over wrangler's inspector proxy, for the Worker's isolate. */
async function inspector(
  port: number,
): Promise<{ send: (method: string, params?: object, timeoutMs?: number) => Promise<Record<string, unknown>>; close: () => void }> {
  const targets = (await (await fetch(`http://${HOST}:${port}/json`)).json()) as Array<{ webSocketDebuggerUrl: string; title?: string }>;
  const target = targets[0];
  if (!target) throw new Error("the inspector lists no target");
  // wrangler's inspector proxy wants an allowed Origin (undici's WebSocket takes headers as its init).
  const socket = new WebSocket(target.webSocketDebuggerUrl, { headers: { Origin: "http://localhost" } } as unknown as string[]);
  await new Promise<void>((ok, fail) => {
    socket.addEventListener("open", () => ok());
    socket.addEventListener("error", () => fail(new Error("inspector connection failed")));
  });
  let id = 0;
  const pending = new Map<number, (value: Record<string, unknown>) => void>();
  socket.addEventListener("message", (event) => {
    const message = JSON.parse(String(event.data)) as { id?: number; result?: Record<string, unknown>; error?: unknown };
    if (message.id !== undefined) pending.get(message.id)?.(message.result ?? { error: message.error });
  });
  return {
    // Every command has a deadline: workerd leaves some unanswered (HeapProfiler.collectGarbage).
    send: (method, params = {}, timeoutMs = 30_000) =>
      new Promise((ok) => {
        id++;
        pending.set(id, ok);
        socket.send(JSON.stringify({ id, method, params }));
        setTimeout(() => ok({ timedOut: true }), timeoutMs);
      }),
    close: () => socket.close(),
  };
}

interface EtcdFigures {
  version: string;
  getPerS: number;
  putPerS: number;
  putP50Ms: number;
  wake: { waiters: number; ackMs: number; lastAnswerAfterAckMs: number; answered: number };
}

/** etcd from Debian on loopback with the v2 API; undefined (and why) when it is not installed. */
async function etcdPeer(): Promise<EtcdFigures | { skipped: string }> {
  const which = spawnSync("sh", ["-c", "command -v etcd"], { encoding: "utf8" }).stdout.trim();
  if (!which) {
    log("  etcd not found: installing Debian's etcd-server (apt-get install -y etcd-server)");
    const install = spawnSync("apt-get", ["install", "-y", "etcd-server"], {
      encoding: "utf8",
      timeout: 180_000,
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
    });
    if (install.status !== 0) {
      return {
        skipped:
          "etcd is not installed and `apt-get install -y etcd-server` failed; install it as root and run again (only the etcd rows are skipped)",
      };
    }
  }
  const version = spawnSync("etcd", ["--version"], { encoding: "utf8" }).stdout.split("\n")[0] ?? "";
  const client = await freePort();
  const peer = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), "bench-etcd-"));
  const child: ChildProcess = spawn(
    "etcd",
    [
      "--name",
      "bench",
      "--data-dir",
      dataDir,
      "--enable-v2",
      "--listen-client-urls",
      `http://${HOST}:${client}`,
      "--advertise-client-urls",
      `http://${HOST}:${client}`,
      "--listen-peer-urls",
      `http://${HOST}:${peer}`,
      "--initial-advertise-peer-urls",
      `http://${HOST}:${peer}`,
      "--initial-cluster",
      `bench=http://${HOST}:${peer}`,
      "--log-level",
      "error",
    ],
    { stdio: "ignore" },
  );
  try {
    const up = await waitFor(
      async () => {
        try {
          return (
            await fetch(`http://${HOST}:${client}/v2/keys/ready`, {
              method: "PUT",
              body: "value=1",
              headers: { "Content-Type": "application/x-www-form-urlencoded" },
            })
          ).ok;
        } catch {
          return false;
        }
      },
      20_000,
      100,
    );
    if (!up) return { skipped: "etcd did not answer on loopback within 20 s" };
    const form = { "Content-Type": "application/x-www-form-urlencoded" };
    const value = `value=${encodeURIComponent(allocationJson(DEMO_ALLOC_ID))}`;
    for (let k = 0; k < 64; k++) await fetch(`http://${HOST}:${client}/v2/keys/alloc/${k}`, { method: "PUT", body: value, headers: form });
    const get = await closedLoop(client, S.connections, S.durationS, () => ({ path: "/v2/keys/alloc/0" }));
    const put = await closedLoop(
      client,
      S.connections,
      S.durationS,
      (i) => ({ method: "PUT", path: `/v2/keys/alloc/${i % 64}`, body: value, headers: form }),
      (s) => s === 200 || s === 201,
    );
    // Watches: each waits for the next change of the key (waitIndex = its modifiedIndex + 1).
    const head = (await (await fetch(`http://${HOST}:${client}/v2/keys/alloc/1`)).json()) as { node: { modifiedIndex: number } };
    const waitIndex = head.node.modifiedIndex + 1;
    const wake = await wakeMany(
      client,
      S.waiters,
      () => ({ path: `/v2/keys/alloc/1?wait=true&waitIndex=${waitIndex}` }),
      async () => {
        const conn = new RawConnection(HOST, client);
        const sent = performance.now();
        const response = await conn.request({ method: "PUT", path: "/v2/keys/alloc/1", body: value, headers: form });
        conn.close();
        return { sent, ack: response.doneAt };
      },
    );
    return { version, getPerS: get.perS, putPerS: put.perS, putP50Ms: put.p50Ms, wake };
  } finally {
    child.kill("SIGKILL");
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Parks `count` requests (each on its own connection), fires `trigger`, and times the last answer after the trigger's ack. */
async function wakeMany(
  port: number,
  count: number,
  request: () => { path: string; headers?: Record<string, string> },
  trigger: () => Promise<{ sent: number; ack: number }>,
  parked?: () => Promise<boolean>,
): Promise<{ waiters: number; ackMs: number; lastAnswerAfterAckMs: number; answered: number }> {
  const conns = Array.from({ length: count }, () => new RawConnection(HOST, port));
  await Promise.all(conns.map((conn) => conn.connected));
  const answers = conns.map((conn) =>
    conn.request({ ...request() }).then(
      (r) => r.doneAt,
      () => Number.NaN,
    ),
  );
  if (parked) await waitFor(parked, 30_000, 20);
  else await sleep(count >= 500 ? 3000 : 500);
  const { sent, ack } = await trigger();
  const done = await Promise.race([Promise.all(answers), sleep(30_000).then(() => [] as number[])]);
  for (const conn of conns) conn.close();
  const answered = done.filter((at) => Number.isFinite(at));
  return {
    waiters: count,
    ackMs: round(ack - sent),
    lastAnswerAfterAckMs: round(Math.max(...answered) - ack),
    answered: answered.length,
  };
}

function raiseFileLimit(wanted: number): void {
  spawnSync("prlimit", ["--pid", String(process.pid), `--nofile=${wanted}:${wanted}`], { stdio: "ignore" });
}

async function main(): Promise<void> {
  raiseFileLimit(65536);
  mkdirSync(outDir, { recursive: true });
  if (baselineRoot) {
    log(
      `throughput bench: ${batchOnly ? "batched ingest" : "single writes"}, this checkout against ${baselineRoot}, ${rounds} rounds of ${sliceS} s per load and side`,
    );
    await compareWithBaseline({
      baselineRoot,
      outDir,
      rounds,
      durationS: sliceS,
      connections: S.connections,
      command: `npm run bench:throughput -- ${args.join(" ")}`,
      log,
      batch: batchOnly ? { size: S.batch, settleMs: smoke ? 100 : BATCH_SETTLE_MS } : undefined,
    });
    return;
  }
  const config = writeBenchConfig(ROOT, outDir);
  const token = `bench-${randomUUID()}`;
  log(`throughput bench (${smoke ? "smoke" : "full"}): starting the Worker (${config})`);
  const server = await startBenchServer({ token, config, readyTimeoutMs: 60_000 });
  const result: Record<string, unknown> = {
    meta: {
      command: `npm run bench:throughput${args.length ? ` -- ${args.join(" ")}` : ""}`,
      startedAt: new Date(started).toISOString(),
      nproc: cpus().length,
      loadAvgStart: loadavg(),
      head: spawnSync("git", ["rev-parse", "--short", "HEAD"], { cwd: ROOT, encoding: "utf8" }).stdout.trim(),
      route: "straight to the Worker's workerd (no wrangler proxy)",
    },
  };
  if (bridgeOnly) {
    try {
      result.bridge = await bridgeLoad(await server.workerPort(), token);
      writeFileSync(join(outDir, "bridge.json"), `${JSON.stringify(result, null, 2)}\n`);
      log(`wrote ${join(outDir, "bridge.json")}`);
    } finally {
      await server.stop();
    }
    return;
  }
  try {
    const port = await server.workerPort();
    const auth = { "X-Nomad-Token": token };
    // One-off requests each get a connection of their own (an idle keep-alive one may be closed meanwhile).
    const direct = {
      request: async (request: Parameters<RawConnection["request"]>[0]) => {
        const conn = new RawConnection(HOST, port);
        try {
          return await conn.request(request);
        } finally {
          conn.close();
        }
      },
      close: () => undefined,
    };
    const ids = Array.from({ length: 64 }, () => randomUUID());
    for (const id of ids) {
      const r = await direct.request({
        method: "PUT",
        path: `/v1/allocation/${id}`,
        body: allocationJson(id),
        headers: auth,
        keepBody: true,
      });
      if (r.status !== 200) throw new Error(`seed PUT: ${r.status} ${r.body}`);
      await direct.request({ method: "POST", path: `/v1/allocation/${id}/task-events`, body: DEMO_TASK_EVENTS_JSON, headers: auth });
    }
    await direct.request({ path: `/__bench/w0?prime=${ids[0]}` });
    log(`  direct port ${port}; seeded ${ids.length} allocations`);
    if (batchOnly) {
      result.batch = await batchRun(port, auth, profile ? await inspector(server.inspectorPort) : undefined);
      writeFileSync(join(outDir, "batch.json"), `${JSON.stringify(result, null, 2)}\n`);
      log(`wrote ${join(outDir, "batch.json")}`);
      return;
    }

    // JS heap per parked waiter, over the inspector, early (before load leaves caches behind).
    const devtools = await inspector(server.inspectorPort);
    // HeapProfiler.collectGarbage is sent as asked, but workerd never answers it (nor collects: the
    // used size does not move); a heap snapshot forces V8's full collection, so the used size read
    // right after one is the live heap.
    let collectGarbageAnswered = false;
    const heap = async () => {
      collectGarbageAnswered ||= !(await devtools.send("HeapProfiler.collectGarbage", {}, 3000)).timedOut;
      await devtools.send("HeapProfiler.takeHeapSnapshot", { reportProgress: false }, 60_000);
      return ((await devtools.send("Runtime.getHeapUsage")) as { usedSize: number }).usedSize;
    };
    const heapId = ids[2] as string;
    // Four kinds of held request: ours (a real blocking query), the bare parked RPC holding the
    // client's abort signal (P1-signal: the runtime's own cost of a request held in an object),
    // our waiter parked from inside the object (no request, no RPC) and the Worker-only park (P0:
    // a request held in the Worker, no object). Locally one isolate holds the Worker and the
    // objects, so only differences separate the object's share.
    const wakingWrite = {
      method: "POST",
      path: `/v1/allocation/${heapId}/task-events`,
      body: '{"Events":[{"Task":"redis","Event":{"Type":"Driver"}}]}',
    };
    const heapKinds = {
      ours: {
        path: (index: string | null | undefined) => `/v1/allocation/${heapId}?index=${index}&wait=120s`,
        counted: (stats: Record<string, number>) => stats.waiters ?? 0,
        release: wakingWrite,
      },
      parkedRpc: {
        path: () => `/__bench/park-signal/${heapId}`,
        counted: (stats: Record<string, number>) => stats.ceilingParked ?? 0,
        release: { method: "POST", path: `/__bench/release/${heapId}` },
      },
      inside: {
        path: undefined,
        counted: (stats: Record<string, number>) => stats.waiters ?? 0,
        release: wakingWrite,
      },
      workerOnly: {
        path: () => "/__bench/park0",
        counted: (stats: Record<string, number>) => stats.workerParked ?? 0,
        release: { method: "POST", path: "/__bench/release0" },
      },
    };
    const heapByKind: Record<string, { rounds: Array<{ at0: number; atN: number; bytesPerWaiter: number }>; bytesPerWaiter: number }> = {};
    for (const [kind, how] of Object.entries(heapKinds)) {
      const heapRounds: Array<{ at0: number; atN: number; bytesPerWaiter: number }> = [];
      // One round each in smoke mode: four kinds of three heap snapshots would take most of its time.
      for (let round_ = 0; round_ < (smoke ? 1 : 3); round_++) {
        const heapIndex = (await direct.request({ path: `/v1/allocation/${heapId}`, headers: auth })).headers.get("x-nomad-index");
        const at0 = await heap();
        // `inside`: one request parks them all in the object; the others hold one request each.
        const conns = Array.from({ length: how.path ? S.heapWaiters : 0 }, () => new RawConnection(HOST, port));
        await Promise.all(conns.map((conn) => conn.connected));
        const path = how.path;
        const held = path ? conns.map((conn) => conn.request({ path: path(heapIndex), headers: auth }).catch(() => undefined)) : [];
        if (!path) await direct.request({ method: "POST", path: `/__bench/park-inside/${heapId}?n=${S.heapWaiters}&index=${heapIndex}` });
        const parked = await waitFor(
          async () =>
            how.counted(
              JSON.parse((await direct.request({ path: `/__bench/stats/${heapId}`, keepBody: true })).body?.toString() ?? "{}") as Record<
                string,
                number
              >,
            ) >= S.heapWaiters,
          30_000,
          50,
        );
        const atN = await heap();
        await direct.request({ ...how.release, headers: auth });
        await Promise.race([Promise.all(held), sleep(20_000)]);
        for (const conn of conns) conn.close();
        if (parked) heapRounds.push({ at0, atN, bytesPerWaiter: round((atN - at0) / S.heapWaiters, 0) });
        await sleep(500);
      }
      heapByKind[kind] = {
        rounds: heapRounds,
        bytesPerWaiter: percentile(
          heapRounds.map((r) => r.bytesPerWaiter),
          50,
        ),
      };
    }
    const perWaiter = heapByKind.ours?.bytesPerWaiter ?? 0;
    const workerSide = heapByKind.workerOnly?.bytesPerWaiter ?? 0;
    const heapFigures = {
      waiters: S.heapWaiters,
      rounds: heapByKind.ours?.rounds,
      bytesPerWaiter: perWaiter,
      waitersIn32MiB: Math.floor((32 * 1024 * 1024) / Math.max(perWaiter, 1)),
      byKind: heapByKind,
      // Our waiter alone in the object (its read, promise, timer, abort listener and caller count),
      // and with the runtime's held RPC (both its ends, measured as the bare parked RPC beyond the
      // Worker-only request): an upper bound on what one blocking query costs the object's isolate.
      inObject: heapByKind.inside?.bytesPerWaiter ?? 0,
      objectUpperBound: (heapByKind.inside?.bytesPerWaiter ?? 0) + (heapByKind.parkedRpc?.bytesPerWaiter ?? 0) - workerSide,
      collectGarbageAnswered,
      how: "per round: HeapProfiler.collectGarbage, then HeapProfiler.takeHeapSnapshot (a full GC), then Runtime.getHeapUsage, at N = 0 and with N parked; the median of the rounds, for each kind of held request. The Worker and its Durable Objects share one isolate locally, so each waiter's Worker-side request is counted too; objectUpperBound is our waiter in the object plus the bare parked RPC beyond the Worker-only request",
    };
    log(
      `  heap per held request (N=${S.heapWaiters}): ours ${perWaiter} B, bare parked RPC ${heapByKind.parkedRpc?.bytesPerWaiter} B, Worker-only ${workerSide} B, our waiter alone in the object ${heapFigures.inObject} B; in the object with its held RPC at most ${heapFigures.objectUpperBound} B`,
    );

    if (heapOnly) {
      devtools.close();
      result.heap = heapFigures;
      writeFileSync(join(outDir, "heap.json"), `${JSON.stringify(result, null, 2)}\n`);
      log(`wrote ${join(outDir, "heap.json")}`);
      return;
    }

    // Ceilings and floors.
    const c = S.connections;
    const d = S.durationS;
    const ceilings = {
      w0: await closedLoop(port, c, d, () => ({ path: "/__bench/w0" })),
      w1: await closedLoop(port, c, d, (i) => ({ path: `/__bench/w1/${ids[i % 64]}` })),
      f1: await closedLoop(port, c, d, (i) => ({ method: "POST", path: `/__bench/floor/${ids[i % 64]}` })),
      f2: await closedLoop(port, c, d, (i) => ({ method: "POST", path: `/__bench/floor/${ids[i % 64]}?hops=2` })),
      floorBatch: await closedLoop(port, 2, d, () => ({ method: "POST", path: `/__bench/floor-batch?n=${S.batch}&hops=2` })),
      floorBatchAdmit: await closedLoop(port, 2, d, () => ({ method: "POST", path: `/__bench/floor-batch?n=${S.batch}&hops=2&admit=1` })),
      floorBatch1: await closedLoop(port, 2, d, () => ({ method: "POST", path: `/__bench/floor-batch?n=${S.batch}` })),
      floorBatchExisting: await closedLoop(port, 2, d, (i) => ({
        method: "POST",
        path: `/__bench/floor-batch?n=${S.batch}&pool=${i % 2}`,
      })),
      floorBatchExisting2: await closedLoop(port, 2, d, (i) => ({
        method: "POST",
        path: `/__bench/floor-batch?n=${S.batch}&hops=2&pool=${i % 2}`,
      })),
    };
    log(
      `  ceilings: W0 ${ceilings.w0.perS}/s, W1 ${ceilings.w1.perS}/s, F1 ${ceilings.f1.perS}/s, F2 ${ceilings.f2.perS}/s, batch floor (writes/s) new objects F1 ${changesPerS(ceilings.floorBatch1)}, F2 ${changesPerS(ceilings.floorBatch)}, F2 with the admission RPC ${changesPerS(ceilings.floorBatchAdmit)}; existing F1 ${changesPerS(ceilings.floorBatchExisting)}, F2 ${changesPerS(ceilings.floorBatchExisting2)}`,
    );

    // Ours: reads, single writes, task events, batches.
    const get = await closedLoop(port, c, d, (i) => ({ path: `/v1/allocation/${ids[i % 64]}`, headers: auth }));
    const put = await closedLoop(port, c, d, (i) => ({
      method: "PUT",
      path: `/v1/allocation/${ids[i % 64]}`,
      body: allocationJson(ids[i % 64] as string),
      headers: auth,
    }));
    const putOne = await closedLoop(port, c, d, () => ({
      method: "PUT",
      path: `/v1/allocation/${ids[0]}`,
      body: allocationJson(ids[0] as string),
      headers: auth,
    }));
    const events = await closedLoop(port, c, d, (i) => ({
      method: "POST",
      path: `/v1/allocation/${ids[i % 64]}/task-events`,
      body: '{"Events":[{"Task":"redis","Event":{"Type":"Driver","DriverMessage":"bench"}}]}',
      headers: auth,
    }));
    const loads = await batchLoads(port, auth, d);
    const batch = await loads.newAllocations();
    const batchExisting = await loads.replacing();
    const ours = {
      get,
      put,
      putOne,
      events,
      batch: { ...batch, changesPerS: changesPerS(batch) },
      batchExisting: { ...batchExisting, changesPerS: changesPerS(batchExisting) },
    };
    log(
      `  ours: GET ${get.perS}/s, PUT ${put.perS}/s (one allocation ${putOne.perS}/s), task events ${events.perS}/s, batch ${ours.batch.changesPerS} changes/s new, ${ours.batchExisting.changesPerS} replacing (${S.batch} per request)`,
    );

    // Initial load: N allocations into the empty region asia, S.batch per request, 4 requests in flight.
    const loadIds = Array.from({ length: S.initialLoad }, () => randomUUID());
    const chunks: string[][] = [];
    for (let i = 0; i < loadIds.length; i += S.batch) chunks.push(loadIds.slice(i, i + S.batch));
    const loadStart = performance.now();
    let chunk = 0;
    let loadErrors = 0;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        const conn = new RawConnection(HOST, port);
        for (let k = chunk++; k < chunks.length; k = chunk++) {
          const r = await conn.request({
            method: "POST",
            path: "/v1/allocations/batch?region=asia",
            body: batchBody(chunks[k] as string[]),
            headers: auth,
            keepBody: true,
          });
          if (!batchOk(r.status, r.body?.toString() ?? "")) loadErrors++;
        }
        conn.close();
      }),
    );
    const loadS = (performance.now() - loadStart) / 1000;
    const listed = await direct.request({ path: "/v1/allocations?region=asia&per_page=1", headers: auth, keepBody: true });
    const count = (await (await fetch(`http://${HOST}:${port}/v1/allocations?region=asia`, { headers: auth })).json()) as unknown[];
    const initialLoad = {
      allocations: S.initialLoad,
      seconds: round(loadS, 2),
      perS: round(S.initialLoad / loadS, 1),
      errors: loadErrors,
      listed: count.length,
      listIndex: listed.headers.get("x-nomad-index"),
    };
    log(`  initial load: ${S.initialLoad} allocations in ${initialLoad.seconds} s (${initialLoad.perS}/s), listed ${count.length}`);

    // Sustained churn in region europe: S.churnRate changes/s over S.churnAllocs allocations, in
    // batches every 50 ms; lag = sent → seen in the event stream, and sent → acknowledged (readable).
    const churnIds = Array.from({ length: S.churnAllocs }, () => randomUUID());
    for (let i = 0; i < churnIds.length; i += S.batch) {
      await direct.request({
        method: "POST",
        path: "/v1/allocations/batch?region=europe",
        body: batchBody(churnIds.slice(i, i + S.batch)),
        headers: auth,
      });
    }
    const sentAt = new Map<string, number>();
    const streamLags: number[] = [];
    let partial = "";
    const stream = new RawConnection(HOST, port);
    void stream
      .request({
        path: "/v1/event/stream?region=europe&topic=Allocation",
        headers: auth,
        onData: (bytes, at) => {
          partial += bytes.toString();
          for (let nl = partial.indexOf("\n"); nl >= 0; nl = partial.indexOf("\n")) {
            const line = partial.slice(0, nl);
            partial = partial.slice(nl + 1);
            const marker = /"Name":"(churn-\d+)"/.exec(line)?.[1];
            const sent = marker ? sentAt.get(marker) : undefined;
            if (sent !== undefined) streamLags.push(at - sent);
          }
        },
      })
      .catch(() => undefined);
    await sleep(300);
    const perTick = Math.round(S.churnRate / 20);
    const ticks = S.churnS * 20;
    const ackLags: number[] = [];
    let churnErrors = 0;
    let seq = 0;
    const pool = Array.from({ length: 16 }, () => new RawConnection(HOST, port));
    const idle = [...pool];
    let inFlight = 0;
    let backlogged = 0;
    const churnStart = performance.now();
    for (let t = 0; t < ticks; t++) {
      const due = churnStart + t * 50;
      while (performance.now() < due) await sleep(1);
      const batchIds = Array.from({ length: perTick }, (_, j) => churnIds[(t * perTick + j) % churnIds.length] as string);
      const names = new Map(batchIds.map((id) => [id, `churn-${seq++}`]));
      const conn = idle.pop();
      if (!conn) {
        backlogged++;
        continue;
      }
      const sent = performance.now();
      for (const name of names.values()) sentAt.set(name, sent);
      inFlight++;
      conn
        .request({
          method: "POST",
          path: "/v1/allocations/batch?region=europe",
          body: batchBody(batchIds, (id) => names.get(id) as string),
          headers: auth,
          keepBody: true,
        })
        .then((r) => {
          if (!batchOk(r.status, r.body?.toString() ?? "")) churnErrors++;
          for (let j = 0; j < perTick; j++) ackLags.push(r.doneAt - sent);
        })
        .catch(() => churnErrors++)
        .finally(() => {
          inFlight--;
          idle.push(conn);
        });
    }
    await waitFor(() => inFlight === 0, 20_000, 10);
    await waitFor(() => streamLags.length >= sentAt.size, 5000, 20);
    stream.close();
    for (const conn of pool) conn.close();
    const churn = {
      ratePerS: S.churnRate,
      seconds: S.churnS,
      allocations: S.churnAllocs,
      sent: sentAt.size,
      skippedTicks: backlogged,
      errors: churnErrors,
      seenInStream: streamLags.length,
      streamLagP50Ms: round(percentile(streamLags, 50)),
      streamLagP99Ms: round(percentile(streamLags, 99)),
      ackLagP50Ms: round(percentile(ackLags, 50)),
      ackLagP99Ms: round(percentile(ackLags, 99)),
    };
    log(
      `  churn: ${churn.sent} changes (${churn.skippedTicks} ticks skipped), stream lag p99 ${churn.streamLagP99Ms} ms, ack p99 ${churn.ackLagP99Ms} ms, seen ${churn.seenInStream}`,
    );

    // The catalog alone, with K shards.
    const catalog: Record<string, unknown> = {};
    for (const shards of [1, 2, 4]) {
      const r = await fetch(`http://${HOST}:${port}/__bench/catalog-shards/bench${shards}?n=${S.catalogN}&c=64&shards=${shards}`);
      const body = (await r.json()) as { workerMs: number; transactions: number };
      catalog[`k${shards}`] = {
        recordsPerS: round(S.catalogN / (body.workerMs / 1000), 1),
        transactions: body.transactions,
        n: S.catalogN,
      };
    }
    log(`  catalog only: ${JSON.stringify(catalog)}`);
    const catalogProcesses = await catalogAcrossProcesses(config, token);

    // 1,000 long-polls on one allocation woken by one write, and the P1 ceiling.
    const wakeId = ids[1] as string;
    const index = (await direct.request({ path: `/v1/allocation/${wakeId}`, headers: auth })).headers.get("x-nomad-index");
    const stats = async () =>
      JSON.parse((await direct.request({ path: `/__bench/stats/${wakeId}`, keepBody: true })).body?.toString() ?? "{}") as {
        waiters: number;
        ceilingParked: number;
      };
    const wake = await wakeMany(
      port,
      S.waiters,
      () => ({ path: `/v1/allocation/${wakeId}?index=${index}&wait=60s`, headers: auth }),
      async () => {
        const sent = performance.now();
        const r = await direct.request({
          method: "POST",
          path: `/v1/allocation/${wakeId}/task-events`,
          body: '{"Events":[{"Task":"redis","Event":{"Type":"Driver"}}]}',
          headers: auth,
        });
        return { sent, ack: r.doneAt };
      },
      async () => (await stats()).waiters >= S.waiters,
    );
    const p1 = await wakeMany(
      port,
      S.waiters,
      () => ({ path: `/__bench/park/${wakeId}` }),
      async () => {
        const sent = performance.now();
        const r = await direct.request({ method: "POST", path: `/__bench/release/${wakeId}` });
        return { sent, ack: r.doneAt };
      },
      async () => (await stats()).ceilingParked >= S.waiters,
    );
    log(
      `  wake ${S.waiters}: last answer ${wake.lastAnswerAfterAckMs} ms after the ack (${wake.answered} answered); P1 ${p1.lastAnswerAfterAckMs} ms`,
    );

    // --profile: where a single write's time goes, in the Worker's isolate.
    let profileSummary: unknown;
    if (profile) {
      const profiled = await profiledLoad(devtools, "single-put.cpuprofile", 1, () =>
        closedLoop(port, 4, d, (i) => ({
          method: "PUT",
          path: `/v1/allocation/${ids[i % 64]}`,
          body: allocationJson(ids[i % 64] as string),
          headers: auth,
        })),
      );
      profileSummary = { writes: profiled.units, ...profiled.summary };
      log(`  profile: ${profiled.units} PUTs; written ${profiled.file}`);
    }
    devtools.close();
    direct.close();

    const etcd = withEtcd ? await etcdPeer() : { skipped: "--no-etcd" };
    log(`  etcd: ${JSON.stringify(etcd)}`);
    Object.assign(result, {
      ceilings,
      ours,
      initialLoad,
      churn,
      catalog,
      catalogProcesses,
      wake,
      p1,
      heap: heapFigures,
      etcd,
      profile: profileSummary,
    });
    (result.meta as Record<string, unknown>).loadAvgEnd = loadavg();
    (result.meta as Record<string, unknown>).wallS = round((Date.now() - started) / 1000, 1);
    writeFileSync(join(outDir, "result.json"), `${JSON.stringify(result, null, 2)}\n`);
    log(`wrote ${join(outDir, "result.json")}`);
  } finally {
    await server.stop();
  }
}

/**
 * The catalog alone with each of K shards in a runtime process of its own, as on Cloudflare each
 * shard is its own machine: K Worker servers started from the same configuration, each recording
 * N / K synthetic upserts into its one shard (the catalog-only route with shards=1), all at once.
 * The rate is N over the union of their measured windows (one wall clock: the same machine).
 */
async function catalogAcrossProcesses(config: string, token: string): Promise<Record<string, unknown>> {
  const figures: Record<string, unknown> = {};
  for (const processes of smoke ? [1, 2] : [1, 2, 4]) {
    const servers = await Promise.all(Array.from({ length: processes }, () => startBenchServer({ token, config, readyTimeoutMs: 60_000 })));
    try {
      const ports = await Promise.all(servers.map((server) => server.workerPort()));
      // Each process's catalog is started (and its code warmed) before the timed run.
      await Promise.all(
        ports.map((port) => fetch(`http://${HOST}:${port}/__bench/catalog-shards/warm?n=64&c=8&shards=1`).then((r) => r.text())),
      );
      const per = Math.ceil(S.catalogN / processes);
      const runs = await Promise.all(
        ports.map(async (port, k) => {
          const r = await fetch(`http://${HOST}:${port}/__bench/catalog-shards/proc${processes}-${k}?n=${per}&c=64&shards=1`);
          return (await r.json()) as { startedAt: number; endedAt: number; workerMs: number; transactions: number };
        }),
      );
      const windowMs = Math.max(...runs.map((run) => run.endedAt)) - Math.min(...runs.map((run) => run.startedAt));
      figures[`k${processes}`] = {
        processes,
        n: per * processes,
        recordsPerS: round((per * processes) / (Math.max(windowMs, 1) / 1000), 1),
        perProcessRecordsPerS: runs.map((run) => round(per / (Math.max(run.workerMs, 1) / 1000), 1)),
        transactions: runs.reduce((sum, run) => sum + run.transactions, 0),
      };
    } finally {
      await Promise.all(servers.map((server) => server.stop()));
    }
  }
  log(`  catalog only, one process per shard: ${JSON.stringify(figures)}`);
  return figures;
}

/**
 * The two batched-ingest loads (S.batch changes per request, 2 connections, `d` s): new
 * allocations each time, and replacing two fixed sets of existing ones (one per connection; made
 * here first), so no object is created.
 */
async function batchLoads(
  port: number,
  auth: Record<string, string>,
  d: number,
): Promise<{ newAllocations: () => Promise<Loop>; replacing: () => Promise<Loop> }> {
  const post = (ids: string[]) => batchRequest(ids, auth);
  const existing = await seedBatchSets(port, auth, S.batch);
  return {
    newAllocations: () => closedLoop(port, 2, d, () => post(Array.from({ length: S.batch }, () => randomUUID())), batchOk),
    replacing: () => closedLoop(port, 2, d, (i) => post(existing[i % 2] as string[]), batchOk),
  };
}

/**
 * Runs `load` under a CPU profile of the Worker's isolate (100 µs sampling), writes the profile to
 * `name` in the output directory and summarizes it per unit of work (`perRequest` per request).
 */
async function profiledLoad(
  devtools: Devtools,
  name: string,
  perRequest: number,
  load: () => Promise<Loop>,
): Promise<{ units: number; file: string; summary: ReturnType<typeof summarizeProfile> }> {
  await devtools.send("Profiler.enable");
  await devtools.send("Profiler.setSamplingInterval", { interval: 100 });
  await devtools.send("Profiler.start");
  const units = (await load()).requests * perRequest;
  const stopped = (await devtools.send("Profiler.stop")) as { profile: CpuProfile };
  const file = join(outDir, name);
  writeFileSync(file, JSON.stringify(stopped.profile));
  const bundle = readFileSync(join(outDir, "build", "bench-worker.js"), "utf8");
  return { units, file, summary: summarizeProfile(stopped.profile, units, bundle) };
}

/** Changes (or floor writes) per second of a loop of S.batch per request, over its time to the last answer. */
function changesPerS(loop: { requests: number; seconds: number }): number {
  return round((loop.requests * S.batch) / loop.seconds, 1);
}

type Devtools = Awaited<ReturnType<typeof inspector>>;

/** After each batched load (ours and the floors alike): the carried changes' confirmation window (10 s) and a second. */
const BATCH_SETTLE_MS = 11_000;

/** The batched loads `--batch` pairs: each floor with the load of ours that does the same Durable Object writes. */
const BATCH_PAIRS = [
  { ours: "newAllocations", floor: "newF2", also: "newF1" },
  { ours: "replacing", floor: "existingF2", also: "existingF1" },
] as const;

/**
 * `--batch`: the batch floors (new objects F1, F2; existing objects F1, F2) and batched ingest of
 * new and of existing allocations, S.batch per request, 2 connections, in `rounds` rounds of
 * `sliceS` s per load (default 3 × 8 s; the order reversed every other round). Each ratio is taken
 * within its round, so a disk that runs twice as fast for a minute moves the floor and ours
 * together; the figures are the medians over the rounds, with each round's ratio beside them.
 * With `devtools`, each batched load again under a CPU profile (ms of CPU per change, by module).
 */
async function batchRun(port: number, auth: Record<string, string>, devtools: Devtools | undefined): Promise<Record<string, unknown>> {
  const batchRounds = roundsIndex >= 0 ? rounds : smoke ? 1 : 3;
  const d = sliceIndex >= 0 ? sliceS : smoke ? 1 : 8;
  const floor = (query: string) => () =>
    closedLoop(port, 2, d, (i) => ({ method: "POST", path: `/__bench/floor-batch?n=${S.batch}${query.replace("{pool}", String(i % 2))}` }));
  const { newAllocations, replacing } = await batchLoads(port, auth, d);
  // The existing-object floors' objects are made here, as batchLoads made ours: no round creates any.
  const prime = new RawConnection(HOST, port);
  for (const pool of ["0", "1"]) await prime.request({ method: "POST", path: `/__bench/floor-batch?n=${S.batch}&hops=2&pool=${pool}` });
  prime.close();
  const loads: Record<string, () => Promise<Loop>> = {
    newF1: floor(""),
    newF2: floor("&hops=2"),
    newAllocations,
    existingF1: floor("&pool={pool}"),
    existingF2: floor("&hops=2&pool={pool}"),
    replacing,
  };
  const perRound: Array<Record<string, number>> = [];
  for (let r = 0; r < batchRounds; r++) {
    const names = Object.keys(loads);
    const figures: Record<string, number> = {};
    for (const name of r % 2 === 0 ? names : names.reverse()) {
      figures[name] = changesPerS(await (loads[name] as () => Promise<Loop>)());
      // The same rest after every load: what one leaves behind must not land in the next one's
      // slice. Ours leaves the alarms that confirm its carried changes up to 10 s later
      // (CARRIED_CONFIRM_MS); every load leaves the disk its writes to flush. With a rest after
      // ours only, replacing ÷ F2 was 0.47–0.85 in the rounds where replacing ran right after F2
      // and 0.84–1.37 (once 0.47) where each followed a rest (2026-12-03): the order set the ratio.
      await sleep(smoke ? 100 : BATCH_SETTLE_MS);
    }
    perRound.push(figures);
    log(`  round ${r + 1}/${batchRounds} (changes or floor writes/s): ${JSON.stringify(figures)}`);
  }
  const medianOf = (pick: (round: Record<string, number>) => number) => round(median(perRound.map(pick)), 2);
  const ratioRounds = Object.fromEntries(
    BATCH_PAIRS.flatMap(({ ours, floor: f2, also: f1 }) => [
      [`${ours}OverF2`, perRound.map((x) => round((x[ours] ?? 0) / (x[f2] ?? 1), 2))],
      [`${ours}OverF1`, perRound.map((x) => round((x[ours] ?? 0) / (x[f1] ?? 1), 2))],
    ]),
  );
  const result = {
    batchSize: S.batch,
    rounds: batchRounds,
    sliceS: d,
    medianPerS: Object.fromEntries(Object.keys(loads).map((name) => [name, medianOf((x) => x[name] ?? 0)])),
    ratios: Object.fromEntries(Object.entries(ratioRounds).map(([name, values]) => [name, round(median(values), 2)])),
    ratioRounds,
    roundsAtOrAbove08xF2: Object.fromEntries(
      BATCH_PAIRS.map(({ ours }) => [ours, (ratioRounds[`${ours}OverF2`] as number[]).filter((v) => v >= 0.8).length]),
    ),
    perRound,
    profiles: {} as Record<string, unknown>,
  };
  log(`  batched ingest, medians: ${JSON.stringify(result.medianPerS)}; ratios ${JSON.stringify(result.ratios)}`);
  if (devtools) {
    // The floor too: what of its time is idle (waiting on storage and hops) rather than CPU.
    for (const [name, load] of [
      ["new", newAllocations],
      ["replacing", replacing],
      ["floor-existing-f2", loads.existingF2 as () => Promise<Loop>],
    ] as const) {
      const profiled = await profiledLoad(devtools, `batch-${name}.cpuprofile`, S.batch, load);
      result.profiles[name] = { changes: profiled.units, ...profiled.summary };
      log(`  profile (${name}): ${profiled.units} changes; written ${profiled.file}`);
    }
    devtools.close();
  }
  return result;
}

/**
 * The initial load end to end: S.initialLoad allocations placed in the Nomad stand-in (the sync
 * tests' faithful stand-in, test/support/nomad-standin), then one `sync --once` into the empty
 * region asia of this Worker, straight to its workerd; timed from the bridge's start to its exit.
 */
async function bridgeLoad(port: number, token: string): Promise<Record<string, unknown>> {
  const nomad = new NomadStandIn();
  await nomad.start();
  const stateDir = mkdtempSync(join(tmpdir(), "bench-sync-state-"));
  try {
    nomad.place(S.initialLoad);
    const start = performance.now();
    const child = spawn(
      process.execPath,
      [
        "sync/cli.ts",
        "sync",
        "--once",
        "--nomad-addr",
        nomad.url,
        "--edge-addr",
        `http://${HOST}:${port}`,
        "--edge-token",
        token,
        "--edge-region",
        "asia",
        "--state-dir",
        stateDir,
      ],
      { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NO_COLOR: "1" } },
    );
    let output = "";
    child.stdout?.on("data", (d: Buffer) => {
      output += d.toString();
    });
    child.stderr?.on("data", (d: Buffer) => {
      output += d.toString();
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), 300_000);
    const code = await new Promise<number | null>((ok) => child.once("exit", ok));
    clearTimeout(timer);
    const seconds = (performance.now() - start) / 1000;
    const listed = (await (
      await fetch(`http://${HOST}:${port}/v1/allocations?region=asia`, { headers: { "X-Nomad-Token": token } })
    ).json()) as unknown[];
    const figures = {
      allocations: S.initialLoad,
      seconds: round(seconds, 2),
      perS: round(S.initialLoad / seconds, 1),
      exitCode: code,
      listed: listed.length,
      lastLines: output.trim().split("\n").slice(-3),
    };
    log(`  bridge: ${S.initialLoad} allocations in ${figures.seconds} s (${figures.perS}/s), exit ${code}, listed ${listed.length}`);
    return figures;
  } finally {
    await nomad.stop();
    rmSync(stateDir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
