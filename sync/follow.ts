/**
 * Following Nomad: open the event stream, then list both sides and reconcile, then keep applying
 * events; on every reconnect, again. Nomad's stream cannot show a gap: it keeps only the last
 * `event_buffer_size` (100) Raft indexes in memory per server (nomad/stream/event_broker.go
 * `NewEventBroker`), silently starts an older `index` at its oldest entry and re-sends its newest for
 * an index past the end (event_buffer.go `StartAtClosest`; event_broker.go `Subscribe` only logs at
 * debug level), starts empty after a restart, and emits nothing when an allocation is collected. So
 * every (re)connect is treated as a possible gap and repaired by the list; the subscription is made
 * first so nothing that changes during the list is missed.
 */
import { isJsonObject, type JsonValue } from "../src/json/codec.ts";
import { backoffMs, sleep } from "./backoff.ts";
import type { SyncConfig } from "./config.ts";
import type { EdgeClient } from "./edge.ts";
import type { LogShipper } from "./logs.ts";
import type { Metrics } from "./metrics.ts";
import type { Mirror } from "./mirror.ts";
import { type NomadClient, type NomadList, text, uint } from "./nomad.ts";
import type { Progress } from "./progress.ts";
import type { SyncState } from "./state.ts";

/** No byte (not even Nomad's 30 s `{}` heartbeat) for this long means the connection is dead. */
const WATCHDOG_MS = 75_000;

interface FollowDeps {
  config: SyncConfig;
  nomad: NomadClient;
  edge: EdgeClient;
  mirror: Mirror;
  metrics: Metrics;
  progress: Progress;
  state: SyncState;
  logs: LogShipper;
  signal: AbortSignal;
  /** Lets tests and operators shorten the watchdog. */
  watchdogMs?: number;
}

/** Lists both sides and queues the differences. */
export async function reconcileOnce(deps: FollowDeps, why: string): Promise<NomadList> {
  const nomadList = await deps.nomad.listAllocations(deps.signal, deps.config.logs !== "none");
  const edgeStubs = await deps.edge.listAllocations();
  const edgeIds = new Map(edgeStubs.map((s) => [s.id, s.namespace]));
  const summary = deps.mirror.reconcile(nomadList, edgeIds, deps.config.namespace, deps.config.gcRetainMs);
  // Logs of allocations the edge already holds (after a restart nothing else would name them).
  for (const stub of nomadList.allocations)
    if (stub.raw && edgeIds.has(stub.id) && deps.mirror.isMirrored(stub.id)) deps.logs.track(stub.id, stub.raw);
  deps.progress.line(
    `reconcile (${why}): Nomad ${summary.nomad} allocations at index ${summary.index}, edge ${summary.edge}; ` +
      `${summary.queued} to write, ${summary.gone} gone from Nomad (${summary.deletes} to delete now)`,
  );
  return nomadList;
}

function namespacesOf(list: NomadList): Set<string> {
  return new Set(list.allocations.map((a) => a.namespace));
}

/** Follows until the signal aborts. */
export async function follow(deps: FollowDeps): Promise<void> {
  const { nomad, metrics, progress, signal } = deps;
  let attempt = 0;
  let connections = 0;
  while (!signal.aborted) {
    const connection = new AbortController();
    const stop = () => connection.abort();
    signal.addEventListener("abort", stop, { once: true });
    const started = Date.now();
    let reason = "stream ended";
    try {
      const from = BigInt(deps.state.cursor) + 1n;
      const { response, events } = await nomad.openEventStream(from, connection.signal);
      connections++;
      if (connections > 1) metrics.reconnects.inc({ reason: "reconnect" });
      progress.line(`event stream ${connections > 1 ? "reconnected" : "connected"} to ${nomad.address} (from index ${from})`);
      let lastByte = Date.now();
      response.on("data", () => {
        lastByte = Date.now();
      });
      const watchdog = setInterval(() => {
        if (Date.now() - lastByte > (deps.watchdogMs ?? WATCHDOG_MS)) {
          reason = "no heartbeat";
          connection.abort();
        }
      }, 1000);
      const reading = consume(events, deps);
      const reconciling = (async () => {
        let namespaces = namespacesOf(await reconcileOnce(deps, connections > 1 ? "reconnect" : "start"));
        while (!connection.signal.aborted) {
          await sleep(deps.config.reconcileEveryMs, connection.signal);
          if (connection.signal.aborted) break;
          const list = await reconcileOnce(deps, "periodic");
          // `namespace=*` covers the namespaces that existed at subscribe time (nomad/event_endpoint.go
          // resolves the wildcard once); a new one needs a new subscription.
          const now = namespacesOf(list);
          if (deps.config.namespace === "*" && [...now].some((n) => !namespaces.has(n))) {
            reason = "new namespace";
            connection.abort();
          }
          namespaces = now;
        }
      })();
      reconciling.catch((error: unknown) => {
        if (!connection.signal.aborted) {
          reason = `reconcile failed: ${(error as Error).message}`;
          connection.abort();
        }
      });
      try {
        await reading;
      } finally {
        clearInterval(watchdog);
        connection.abort();
        response.destroy();
        await reconciling.catch(() => undefined);
      }
    } catch (error) {
      if (signal.aborted) break;
      if (!connection.signal.aborted) reason = (error as Error).message;
    } finally {
      signal.removeEventListener("abort", stop);
    }
    if (signal.aborted) break;
    if (Date.now() - started > 60_000) attempt = 0;
    const wait = Math.max(500, backoffMs(attempt++, { baseMs: 500, maxMs: 30_000 }));
    progress.line(`event stream closed (${reason}); reconnecting in ${wait} ms`);
    await sleep(wait, signal);
  }
}

async function consume(events: AsyncGenerator<JsonValue>, deps: FollowDeps): Promise<void> {
  for await (const batch of events) {
    if (!isJsonObject(batch)) continue;
    // `{}`: Nomad's heartbeat, at connect and every 30 s (nomad/stream/ndjson.go).
    if (batch.Index === undefined) continue;
    const events = Array.isArray(batch.Events) ? batch.Events : [];
    for (const event of events) {
      if (!isJsonObject(event) || event.Topic !== "Allocation") continue;
      deps.metrics.events.inc({ type: text(event.Type) });
      const payload = event.Payload;
      if (isJsonObject(payload) && isJsonObject(payload.Allocation)) deps.mirror.offerEvent(payload.Allocation);
    }
    deps.mirror.seen(uint(batch.Index));
  }
}
