/**
 * BENCHMARK ONLY: the Worker of the benchmark configuration (config.ts, derived from wrangler.toml).
 * It runs the production code unchanged (the real default fetch and every production Durable Object
 * class, under the same class and binding names, observed as in the tests (their `stats()`:
 * test/support/observed-objects.ts), with the ceilings' methods added) and adds the ceiling routes
 * the benchmark compares against:
 *
 * - `GET /__bench/w0`: W0, a trivial Worker route answering constant bytes: the same body and headers
 *   as a real read of the allocation it was primed with (`GET /__bench/w0?prime=<uuid>` first).
 * - `GET /__bench/w1/<uuid>`: W1, Worker → the allocation's Durable Object over RPC → bytes cached in
 *   the object (no SQL, no query parsing), answered with the same headers.
 * - `GET /__bench/w1g/<uuid>`: W1G, W1 behind the production gate (size caps, the caller's key from its
 *   token, the rate-limit binding's call, CORS): the floor for any read every production request makes.
 * - `GET /__bench/unlimited/<path>`: the production Worker serving `<path>` (its query included) with
 *   the per-caller rate-limit binding left out of its `Env` (production's gate skips a missing binding).
 *   In `wrangler dev` that binding is emulated by a Durable Object that parses JSON and writes SQLite
 *   on every call; Cloudflare's binding counts in memory on the machine serving the request. The
 *   difference between this route and the real one is the emulation's cost per request.
 * - `GET /__bench/bytes/<n>`: n constant bytes (at most 16 MiB) as text/plain, the ceiling of the
 *   logs-follow scenario (the same bytes served by a trivial route).
 * - `GET /__bench/park/<uuid>` and `POST /__bench/release/<uuid>`: the park ceiling (P1), the floor of a
 *   blocking query: the Worker calls the allocation's object over RPC (no query parsing, no abort
 *   signal, no timer), the object holds a bare promise, and one release request answers every parked
 *   call with the cached bytes of W1 (after the release is answered, as a real write's waiters are).
 *   `GET /__bench/park-signal/<uuid>` is the same holding the client's abort signal over RPC, as a
 *   real blocking query does (so a disconnect frees its slot).
 * - `POST /__bench/park-inside/<uuid>?n=N&index=I`: N blocking reads at `index=I` parked from inside the
 *   allocation's object (no request, no RPC), each with an abort signal of its own, woken by the next
 *   write: the heap our waiter itself takes in the object.
 * - `GET /__bench/park0` and `POST /__bench/release0`: the Worker-only park (P0): the request is held in
 *   the Worker itself on a promise and a timer (no Durable Object, no RPC) and answered with W0's bytes
 *   by one release: what an in-flight HTTP request costs the runtime before any code of ours runs.
 * - `GET /__bench/stats/<uuid>`: the object's live counters (`stats()`: parked waiters, log
 *   followers, parked ceiling calls).
 * - `GET /__bench/catalog-record/<region>?n=N&c=C`: the catalog's own ceiling: the Worker calls the
 *   region catalog's `record()` N times over RPC, C calls in flight, each a synthetic upsert of the
 *   demo allocation (64 ids, increasing indexes) — exactly what an allocation write delivers, without
 *   the HTTP request, the allocation object or its transaction. Use a region name of its own (the
 *   changes are recorded in that catalog for real).
 * - `GET /__bench/catalog-stats/<region>`: the region catalog's live counters (`stats()`: list
 *   waiters, event stream subscribers, region index).
 * - `GET /__bench/catalog-shards/<region>?n=N&c=C&shards=K`: the catalog-only ceiling over K shards of
 *   their own (`bench-catalog/<region>/<k>-of-<K>`: each reads its shard from that name, as a catalog does): N synthetic upserts over 4,096 ids, each
 *   delivered to the shard of its id, C in flight — what the allocation objects of a region
 *   deliver, without them.
 * - `POST /__bench/floor/<uuid>` (F1): the bare write floor: Worker → a Durable Object (the
 *   allocation class, a table of its own) doing one SQLite INSERT, answered `{"Index":1}`; with
 *   `?hops=2` (F2) that object then also makes one RPC to a region object doing one INSERT (the hops
 *   of a real write: allocation, then catalog), nothing of ours in either.
 * - `POST /__bench/floor-batch?n=N&hops=1|2[&pool=P][&admit=1]`: N floor writes on N objects from one request, 32
 *   in flight (the batched ingest's parallelism): the floor of `POST /v1/allocations/batch`. New
 *   objects each time, or with `pool` the same N objects of pool P (existing after the first request).
 *   `admit=1` (with `hops=2`): each object first asks the region object's `admission()`, as a new
 *   allocation's first write asks its catalog shard, so the difference is that RPC's cost.
 *
 * None of these routes exists in the production configuration (wrangler.toml → src/index.ts).
 */
// Every production export (Durable Object classes); the local AllocationObject below shadows its namesake.
export * from "../../src/index.ts";

import { config, perEnv } from "../../src/config.ts";
import { DEMO_ALLOC_ID, DEMO_ALLOCATION_JSON } from "../../src/demo/allocation.ts";
import { type CatalogEntry, catalogEntry } from "../../src/domain/catalog-entry.ts";
import { shardOf } from "../../src/domain/catalog-shard.ts";
import { type AllocationRead, unwrap } from "../../src/durable/contract.ts";
import { allocationStub, catalogStub } from "../../src/durable/stub.ts";
import { JSON_HEADERS, queryMetaHeaders } from "../../src/http/meta.ts";
import production from "../../src/index.ts";
import { type JsonObject, parseJson } from "../../src/json/codec.ts";
import { callerKey, checkRateLimit, checkSizes, gateConfig, withCors } from "../../src/pipeline/gate.ts";
import { type AllocationStats, ObservedAllocationObject, ObservedRegionCatalog } from "../support/observed-objects.ts";

/** The production Durable Object (observed) plus the methods of the W1 and park (P1) ceilings. */
export class AllocationObject extends ObservedAllocationObject {
  #cached: AllocationRead | undefined;
  #parked: (() => void)[] = [];

  /** The encoded allocation, read once and kept (the ceiling route never writes the allocation). */
  async cachedBytes(): Promise<AllocationRead> {
    this.#cached ??= unwrap(await this.read({ minIndex: 0n, waitMs: 0, pretty: false }));
    return this.#cached;
  }

  /** Parks until `releaseParked()`: a bare promise, nothing else held per call (but `signal`, if given). */
  async park(signal?: AbortSignal): Promise<AllocationRead> {
    const bytes = await this.cachedBytes();
    await new Promise<void>((resolve) => {
      this.#parked.push(resolve);
      signal?.addEventListener("abort", () => resolve());
    });
    return bytes;
  }

  /** Answers how many were parked; releases them in a task of their own, after this call is answered. */
  releaseParked(): number {
    const parked = this.#parked;
    this.#parked = [];
    setTimeout(() => {
      for (const resolve of parked) resolve();
    }, 0);
    return parked.length;
  }

  /**
   * Parks `n` blocking reads from inside the object (no request, no RPC): each is exactly what a
   * blocking query holds in the object, its abort signal included (one controller each, as the
   * runtime gives each RPC its own), so the heap it takes is our waiter's own share. A write wakes them.
   */
  parkInside(n: number, minIndex: bigint, waitMs: number): number {
    for (let i = 0; i < n; i++) {
      const controller = new AbortController();
      void this.read({ minIndex, waitMs, pretty: false, caller: `inside-${i % 64}` }, controller.signal);
    }
    return n;
  }

  override stats(): AllocationStats & { ceilingParked: number } {
    return { ...super.stats(), ceilingParked: this.#parked.length };
  }

  /** The floor (F1/F2): one INSERT into a table of its own, then (F2) one RPC to a region object doing one INSERT. */
  /** `admit`: first the RPC a new allocation's first write makes to its catalog shard (`admission()`), on the region object. */
  async floorWrite(region: string | null, admit = false): Promise<number> {
    if (admit && region !== null)
      await (this.env.CATALOGS.getByName(`bench-floor/${region}`) as unknown as DurableObjectStub<RegionCatalog>).admission();
    floorInsert(this.ctx.storage.sql);
    if (region !== null)
      await (this.env.CATALOGS.getByName(`bench-floor/${region}`) as unknown as DurableObjectStub<RegionCatalog>).floorWrite();
    return 1;
  }
}

function floorInsert(sql: SqlStorage): void {
  sql.exec("CREATE TABLE IF NOT EXISTS bench_floor (id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL)");
  sql.exec("INSERT INTO bench_floor (at) VALUES (?)", Date.now());
}

/** The production catalog (observed) plus the floor's region-object write. */
export class RegionCatalog extends ObservedRegionCatalog {
  floorWrite(): number {
    floorInsert(this.ctx.storage.sql);
    return 1;
  }
}

/** `n` demo allocations under new ids, each with the entry an allocation object delivers with it (the catalog decodes nothing). */
function syntheticAllocations(n: number): Array<{ id: string; json: string; entry: CatalogEntry }> {
  return Array.from({ length: n }, () => {
    const id = crypto.randomUUID();
    const json = DEMO_ALLOCATION_JSON.replaceAll(DEMO_ALLOC_ID, id);
    return { id, json, entry: catalogEntry(parseJson(json) as JsonObject, id, "upsert", 1n) };
  });
}

const REGION = "global";
const BENCH_PREFIX = "/__bench/";

/** The Worker's `Env` without the per-caller rate-limit binding, made once per `Env` (so per-`Env` settings are parsed once for it too). */
const withoutRateLimiter = perEnv((env) => ({ ...env, RATE_LIMITER: undefined }) as unknown as Env);

/** W0's constant answer, fixed once by the priming request. */
let w0: { body: Uint8Array; headers: Record<string, string> } | undefined;
/** Requests held by the Worker-only park (P0), in this isolate. */
let workerParked: (() => void)[] = [];
/** The bytes route's constant body. */
let bytes: Uint8Array | undefined;

function benchStub(env: Env, uuid: string): DurableObjectStub<AllocationObject> {
  return allocationStub(env, config(env), REGION, uuid) as unknown as DurableObjectStub<AllocationObject>;
}

async function benchRoute(request: Request, env: Env, ctx: ExecutionContext, path: string): Promise<Response> {
  if (path === "w0") {
    const prime = new URL(request.url).searchParams.get("prime");
    if (prime) {
      const read = unwrap(await benchStub(env, prime).read({ minIndex: 0n, waitMs: 0, pretty: false }));
      if (read.body === null) return new Response("no such allocation", { status: 404 });
      w0 = { body: new TextEncoder().encode(read.body), headers: { ...JSON_HEADERS, ...queryMetaHeaders(read.index) } };
    }
    if (!w0) return new Response("prime W0 first: /__bench/w0?prime=<uuid>", { status: 409 });
    return new Response(w0.body, { headers: w0.headers });
  }
  if (path === "park0") {
    if (!w0) return new Response("prime W0 first: /__bench/w0?prime=<uuid>", { status: 409 });
    const { body, headers } = w0;
    // The timer is the request's own pending I/O: without one, workerd cancels a request that
    // awaits only another request's promise as hung.
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 300_000);
      workerParked.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    return new Response(body, { headers });
  }
  if (path === "release0" && request.method === "POST") {
    const parked = workerParked;
    workerParked = [];
    // After this answer, as a write's waiters are; a Worker's timer needs waitUntil to outlive its request.
    ctx.waitUntil(
      new Promise<void>((done) =>
        setTimeout(() => {
          for (const resolve of parked) resolve();
          done();
        }, 0),
      ),
    );
    return Response.json({ released: parked.length });
  }
  if (path.startsWith("unlimited/")) {
    const url = new URL(request.url);
    url.pathname = `/${path.slice("unlimited/".length)}`;
    return production.fetch(new Request(url, request), withoutRateLimiter(env), ctx);
  }
  if (path.startsWith("w1g/")) {
    const gate = gateConfig(env);
    checkSizes(request, gate);
    await checkRateLimit(env.RATE_LIMITER, await callerKey(request));
    return withCors(request, await benchRoute(request, env, ctx, `w1/${path.slice(4)}`), gate);
  }
  if (path.startsWith("w1/") || path.startsWith("park/") || path.startsWith("park-signal/")) {
    const stub = benchStub(env, path.slice(path.indexOf("/") + 1));
    const read = path.startsWith("w1/")
      ? await stub.cachedBytes()
      : await stub.park(path.startsWith("park-signal/") ? request.signal : undefined);
    if (read.body === null) return new Response("no such allocation", { status: 404 });
    return new Response(read.body, { headers: { ...JSON_HEADERS, ...queryMetaHeaders(read.index) } });
  }
  if (path.startsWith("park-inside/") && request.method === "POST") {
    const params = new URL(request.url).searchParams;
    const n = Math.min(Math.max(Number(params.get("n")) || 1, 1), 10_000);
    const parked = await benchStub(env, path.slice("park-inside/".length)).parkInside(n, BigInt(params.get("index") ?? "1"), 120_000);
    return Response.json({ parked });
  }
  if (path.startsWith("release/") && request.method === "POST") {
    return Response.json({ released: await benchStub(env, path.slice(8)).releaseParked() });
  }
  if (path.startsWith("bytes/")) {
    const size = Math.min(Number(path.slice(6)) || 0, 16 * 1024 * 1024);
    if (bytes?.byteLength !== size) bytes = new Uint8Array(size).fill(0x61);
    return new Response(bytes, { headers: { "Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store" } });
  }
  if (path.startsWith("catalog-record/")) {
    const params = new URL(request.url).searchParams;
    const n = Math.min(Math.max(Number(params.get("n")) || 100, 1), 20_000);
    const inFlight = Math.min(Math.max(Number(params.get("c")) || 1, 1), 64);
    const stub = catalogStub(env, config(env), path.slice("catalog-record/".length));
    const allocations = syntheticAllocations(64);
    const base = Date.now();
    let next = 0;
    const started = Date.now();
    await Promise.all(
      Array.from({ length: inFlight }, async () => {
        for (let i = next++; i < n; i = next++) {
          const allocation = allocations[i % allocations.length] as (typeof allocations)[number];
          await stub.record({
            allocId: allocation.id,
            allocIndex: base + i,
            kind: "upsert",
            modifyTime: `${BigInt(base + i) * 1_000_000n}`,
            allocation: allocation.json,
            entry: allocation.entry,
          });
        }
      }),
    );
    return Response.json({ n, inFlight, workerMs: Date.now() - started });
  }
  if (path.startsWith("floor/") || path === "floor-batch") {
    const params = new URL(request.url).searchParams;
    const region = params.get("hops") === "2" ? REGION : null;
    const admit = params.get("admit") === "1";
    if (path.startsWith("floor/")) await benchStub(env, path.slice(6)).floorWrite(region, admit);
    else {
      const n = Math.min(Math.max(Number(params.get("n")) || 100, 1), 500);
      const pool = params.get("pool");
      let next = 0;
      await Promise.all(
        Array.from({ length: Math.min(32, n) }, async () => {
          for (let i = next++; i < n; i = next++) {
            // `pool=p`: the same n objects every time (they exist after the first request); else new ones.
            const id =
              pool === null ? crypto.randomUUID() : `0000${pool.padStart(4, "0")}-0000-4000-8000-${i.toString(16).padStart(12, "0")}`;
            await benchStub(env, id).floorWrite(region, admit);
          }
        }),
      );
    }
    return new Response('{"Index":1}', { headers: JSON_HEADERS });
  }
  if (path.startsWith("catalog-shards/")) {
    const params = new URL(request.url).searchParams;
    const n = Math.min(Math.max(Number(params.get("n")) || 100, 1), 20_000);
    const inFlight = Math.min(Math.max(Number(params.get("c")) || 1, 1), 256);
    const shards = Math.min(Math.max(Number(params.get("shards")) || 1, 1), 64);
    const region = path.slice("catalog-shards/".length);
    const stubs = Array.from(
      { length: shards },
      (_, k) => env.CATALOGS.getByName(`bench-catalog/${region}/${k}-of-${shards}`) as unknown as DurableObjectStub<RegionCatalog>,
    );
    const allocations = syntheticAllocations(4096).map((allocation) => ({
      ...allocation,
      shard: shardOf(allocation.id.replaceAll("-", ""), shards),
    }));
    const base = Date.now();
    let next = 0;
    const started = Date.now();
    await Promise.all(
      Array.from({ length: inFlight }, async () => {
        for (let i = next++; i < n; i = next++) {
          const allocation = allocations[i % allocations.length] as (typeof allocations)[number];
          await (stubs[allocation.shard] as DurableObjectStub<RegionCatalog>).record({
            allocId: allocation.id,
            allocIndex: base + i,
            kind: "upsert",
            modifyTime: `${BigInt(base + i) * 1_000_000n}`,
            allocation: allocation.json,
            entry: allocation.entry,
          });
        }
      }),
    );
    const stats = await Promise.all(stubs.map((stub) => stub.stats()));
    return Response.json({
      n,
      inFlight,
      shards,
      workerMs: Date.now() - started,
      // Wall-clock ms (the machine's clock), so runs in several processes can be put on one timeline.
      startedAt: started,
      endedAt: Date.now(),
      transactions: stats.reduce((sum, stat) => sum + stat.transactions, 0),
    });
  }
  if (path.startsWith("catalog-stats/")) {
    const catalog = catalogStub(env, config(env), path.slice(14)) as unknown as DurableObjectStub<RegionCatalog>;
    return Response.json(await catalog.stats());
  }
  if (path.startsWith("stats/")) {
    return Response.json({ ...(await benchStub(env, path.slice(6)).stats()), workerParked: workerParked.length });
  }
  return new Response("unknown bench route", { status: 404 });
}

export default {
  fetch(request, env, ctx) {
    const { pathname } = new URL(request.url);
    if (pathname.startsWith(BENCH_PREFIX)) return benchRoute(request, env, ctx, pathname.slice(BENCH_PREFIX.length));
    return production.fetch(request, env, ctx);
  },
} satisfies ExportedHandler<Env>;
