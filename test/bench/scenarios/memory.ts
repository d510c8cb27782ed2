/** Memory per parked waiter, per kind of parked request (docs/benchmarks.md). */
import type { Context } from "../lib/context.ts";
import { round, sleep } from "../lib/measure.ts";
import { openConnections, releaseRound } from "../lib/parking.ts";
import { RawConnection } from "../lib/raw-http.ts";
import { type BenchServer, HOST, rssKiB } from "../lib/server.ts";
import type { WakeRoute } from "../lib/settings.ts";
import { type ObjectStats, objectStats } from "../lib/stats.ts";
import { allocationJson, loadAllocations, timedWrite, writer } from "../lib/writes.ts";

/**
 * What is parked: P0 (a request held in the Worker, no Durable Object), P1 bare, P1 holding the
 * client's abort signal (as a real waiter does), the real blocking query, and the real one without
 * wrangler dev's emulation of the rate-limit binding.
 */
export type MemoryKind = "worker" | "ceiling" | "ceiling-signal" | "real" | "real-unlimited";

const MEMORY_KINDS: Record<
  MemoryKind,
  {
    path: (id: string, index: number) => string;
    counted: (stats: ObjectStats) => number | undefined;
    release: "write" | "release" | "release0";
  }
> = {
  worker: { path: () => "/__bench/park0", counted: (s) => s.workerParked, release: "release0" },
  ceiling: { path: (id) => `/__bench/park/${id}`, counted: (s) => s.ceilingParked, release: "release" },
  "ceiling-signal": { path: (id) => `/__bench/park-signal/${id}`, counted: (s) => s.ceilingParked, release: "release" },
  real: { path: (id, index) => `/v1/allocation/${id}?index=${index}&wait=120s`, counted: (s) => s.waiters, release: "write" },
  "real-unlimited": {
    path: (id, index) => `/__bench/unlimited/v1/allocation/${id}?index=${index}&wait=120s`,
    counted: (s) => s.waiters,
    release: "write",
  },
};

/** N parked on a freshly started server, one kind per server. */
export interface MemoryPoint {
  kind: MemoryKind;
  parked: number;
  /** VmRSS of the Worker's workerd and of wrangler's proxy workerd, before and with N parked. */
  userRss0KiB: number;
  userRssNKiB: number;
  proxyRss0KiB: number;
  proxyRssNKiB: number;
  userBytesPerParked: number;
  proxyBytesPerParked: number;
  /** The release: answered, failed, and the last answer after the trigger's ack. */
  released: number;
  errors: number;
  lastFromAckMs: number;
  /** What the first failed answer was, if any. */
  firstError?: string;
  /** The Worker's workerd was replaced meanwhile (it crashed and wrangler restarted it). */
  restarted: boolean;
}

export interface MemoryResult {
  n: number;
  via: WakeRoute;
  points: MemoryPoint[];
  /** Real waiter's RSS growth / the ceilings' (bare, with the signal), in the Worker's workerd. */
  userRatio: number;
  userRatioVsSignal: number;
  /** Each kind's error, when its server could not park or release N (the runtime's limit). */
  failures: Record<string, string>;
}

/**
 * Memory per parked waiter, each kind on a server of its own: freshly started, one allocation
 * loaded, a warm-up of 10 parked and released (first-use costs are not per waiter), then N
 * connections opened and the baseline read, N parked and read again, then released.
 * A fresh process per kind, because workerd's allocator keeps what it once held: on a shared
 * server whichever kind runs second reuses the first one's memory and looks free.
 */
export async function memoryScenario(
  ctx: Context,
  fresh: () => Promise<BenchServer>,
  n: number,
  via: WakeRoute,
  kinds: MemoryKind[] = ["worker", "ceiling", "ceiling-signal", "real", "real-unlimited"],
): Promise<MemoryResult> {
  const points: MemoryPoint[] = [];
  const failures: Record<string, string> = {};
  const settle = () => sleep(ctx.settings.smoke ? 200 : 1000);
  for (const kind of kinds) {
    const server = await fresh();
    const c: Context = { ...ctx, server };
    let conns: RawConnection[] = [];
    let writerConn: RawConnection | undefined;
    try {
      const id = crypto.randomUUID();
      await loadAllocations(c, [id]);
      // P0 answers W0's bytes: the allocation's real read.
      const prime = await fetch(`${server.url}/__bench/w0?prime=${id}`);
      await prime.arrayBuffer();
      writerConn = writer(c);
      const pids = server.workerd();
      const path = `/v1/allocation/${id}`;
      const body = allocationJson(id);
      const round_ = async (
        on: RawConnection[],
        ramp: boolean,
        connect?: { count: number; open: () => RawConnection },
        afterParked?: () => Promise<void>,
      ) => {
        const current = (await objectStats(c, id)).index;
        return releaseRound(c, on, {
          path: MEMORY_KINDS[kind].path(id, current),
          parkedCount: async () => MEMORY_KINDS[kind].counted(await objectStats(c, id)) ?? -1,
          trigger: () => {
            // The writer's connection sat idle while N parked; wrangler's proxy may have closed it.
            if (!writerConn || writerConn.closed) writerConn = writer(c);
            const release = MEMORY_KINDS[kind].release;
            return release === "write"
              ? timedWrite(writerConn, c, "PUT", path, body)
              : timedWrite(writerConn, c, "POST", release === "release0" ? "/__bench/release0" : `/__bench/release/${id}`, "");
          },
          accept: (response) => response.status === 200,
          ramp,
          afterParked,
          connect,
          // Thousands answer at a few hundred per second on this machine.
          releaseTimeoutMs: Math.max(ctx.settings.releaseTimeoutMs, n * 6),
        });
      };
      const port = via === "proxy" ? server.port : await server.workerPort();
      const warm = await openConnections(c, 10, 250, port);
      await round_(warm, false);
      for (const conn of warm) conn.close();
      // Up to 1,000, the connections are open before the baseline (RSS per parked request without
      // its connection); above, each opens just before its request: thousands of idle connections
      // to the Worker's own workerd crash it (SIGTRAP) within about a second.
      const connectAsYouGo = n > 1000 ? { count: n, open: () => new RawConnection(HOST, port) } : undefined;
      if (!connectAsYouGo) conns = await openConnections(c, n, 250, port);
      await settle();
      const userRss0 = rssKiB(pids.user);
      const proxyRss0 = rssKiB(pids.proxy);
      let userRssN = Number.NaN;
      let proxyRssN = Number.NaN;
      const result = await round_(conns, true, connectAsYouGo, async () => {
        await settle();
        userRssN = rssKiB(pids.user);
        proxyRssN = rssKiB(pids.proxy);
      });
      const point: MemoryPoint = {
        kind,
        parked: result.parked,
        userRss0KiB: userRss0,
        userRssNKiB: userRssN,
        proxyRss0KiB: proxyRss0,
        proxyRssNKiB: proxyRssN,
        userBytesPerParked: round(((userRssN - userRss0) * 1024) / n, 0),
        proxyBytesPerParked: round(((proxyRssN - proxyRss0) * 1024) / n, 0),
        released: result.released,
        errors: result.errors,
        lastFromAckMs: result.lastFromAckMs,
        firstError: result.firstError,
        restarted: server.workerd().user !== pids.user,
      };
      points.push(point);
      ctx.log(
        `  ${kind}: ${point.parked}/${n} parked via ${via}, ${point.userBytesPerParked} B RSS per parked request, ${point.released} released, last ${point.lastFromAckMs} ms after the ack${point.restarted ? "; the Worker's workerd was restarted" : ""}`,
      );
    } catch (error) {
      failures[kind] = error instanceof Error ? error.message : String(error);
      ctx.log(`  ${kind}: failed: ${failures[kind]}`);
    } finally {
      for (const conn of conns) conn.close();
      writerConn?.close();
      await server.stop();
    }
  }
  const by = (kind: string) => points.find((p) => p.kind === kind);
  return {
    n,
    via,
    points,
    userRatio: round((by("real")?.userBytesPerParked ?? Number.NaN) / (by("ceiling")?.userBytesPerParked ?? Number.NaN), 3),
    userRatioVsSignal: round((by("real")?.userBytesPerParked ?? Number.NaN) / (by("ceiling-signal")?.userBytesPerParked ?? Number.NaN), 3),
    failures,
  };
}
