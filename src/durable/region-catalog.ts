/**
 * One object per region: the list of the region's allocations (as AllocListStubs), a region-wide
 * index, its blocking queries, and a bounded, durable history of allocation events for
 * `/v1/event/stream`. Allocation objects report each committed change here (see catalog-change.ts).
 *
 * The region index is the same hybrid logical clock as the allocations': max(last + 1, change's
 * allocation index), so it strictly increases on every change and is >= the ModifyIndex of every
 * allocation listed.
 */
import { DurableObject } from "cloudflare:workers";
import { allocListStub } from "../domain/alloc-stub.ts";
import { evaluateFilter, FilterError, parseFilter } from "../domain/bexpr.ts";
import { DEFAULT_NAMESPACE, namespaceOf } from "../domain/namespace.ts";
import { encodeJson, JsonNumber, type JsonObject, parseJson } from "../json/codec.ts";
import type { Refusal } from "./allocation-object.ts";
import type { CatalogChange } from "./catalog-change.ts";
import { type ListSelection, listPage, type Page } from "./catalog-list.ts";
import { openEventStream, type StreamQuery, streamStart } from "./event-stream.ts";
import { CATALOG_MIGRATIONS, migrate } from "./migrations.ts";
import { Waiters, waiterLimits } from "./waiters.ts";

export interface ListQuery extends Omit<ListSelection, "matches"> {
  minIndex: string;
  waitMs: number;
  pretty: boolean;
  caller?: string;
  /** A go-bexpr filter expression the Worker has parsed; "" for none. */
  filter: string;
}

export interface ListResult {
  index: number;
  body: string;
  nextToken: string | null;
  refused?: string;
  /** A filter that failed on a row (go-bexpr's evaluation error): the text of a 400. */
  invalid?: string;
}

/** Events kept per region when EVENT_HISTORY is unset. */
const DEFAULT_EVENT_HISTORY = 10_000;

/** The row predicate of a list filter, evaluated on each allocation's full document. */
function allocationFilter(filter: string): ((allocation: string) => boolean) | undefined {
  if (filter === "") return undefined;
  const expression = parseFilter(filter);
  return (allocation) => evaluateFilter(expression, parseJson(allocation, { maxDepth: 256 }));
}

export class RegionCatalog extends DurableObject<Env> {
  #lastIndex = 0;
  /** The lowest index a stream may resume from; 0 while no history was ever dropped. */
  #floor = 0;
  /** Events in the history table, kept in memory so trimming never counts rows. */
  #eventCount = 0;
  readonly #waiters = new Waiters();
  readonly #subscribers = new Set<() => void>();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.blockConcurrencyWhile(async () => {
      migrate(ctx.storage.sql, CATALOG_MIGRATIONS);
      const clock = ctx.storage.sql
        .exec<{ last_index: number; history_floor: number }>("SELECT last_index, history_floor FROM index_clock")
        .toArray()[0];
      this.#lastIndex = clock?.last_index ?? 0;
      this.#floor = clock?.history_floor ?? 0;
      this.#eventCount = ctx.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM event").one().n;
    });
  }

  /** Records one committed allocation change; a change already recorded (redelivery) is ignored. */
  record(change: CatalogChange): number {
    const sql = this.ctx.storage.sql;
    const seen = sql.exec<{ alloc_index: number }>("SELECT alloc_index FROM alloc_stub WHERE id = ?", change.allocId).toArray()[0];
    if (seen && seen.alloc_index >= change.allocIndex) return this.#lastIndex;

    const allocation = parseJson(change.allocation, { maxDepth: 256 }) as JsonObject;
    const index = Math.max(this.#lastIndex + 1, change.allocIndex);
    const upsert = change.kind === "upsert";
    const stub = upsert ? encodeJson(allocListStub(allocation, BigInt(change.modifyTime))) : null;
    const namespace = namespaceOf(allocation);
    // Nomad leaves the job out of allocation events to keep them small.
    allocation.Job = null;
    const jobId = typeof allocation.JobID === "string" ? allocation.JobID : "";
    const deploymentId = typeof allocation.DeploymentID === "string" ? allocation.DeploymentID : "";
    const event = encodeJson({
      Topic: "Allocation",
      Type: change.kind === "upsert" ? "AllocationUpdated" : "AllocationDeleted",
      Key: change.allocId,
      Namespace: namespace,
      FilterKeys: [jobId, deploymentId],
      Index: JsonNumber.of(index),
      Payload: { Allocation: allocation },
    });
    const keep = Number(this.env.EVENT_HISTORY) || DEFAULT_EVENT_HISTORY;
    this.ctx.storage.transactionSync(() => {
      sql.exec(
        `INSERT INTO alloc_stub (id, hex, alloc_index, body, namespace, alloc) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET alloc_index = excluded.alloc_index, body = excluded.body,
           namespace = excluded.namespace, alloc = excluded.alloc`,
        change.allocId,
        change.allocId.replaceAll("-", ""),
        change.allocIndex,
        stub,
        namespace,
        upsert ? change.allocation : null,
      );
      sql.exec(
        "INSERT INTO event (region_index, alloc_id, body, namespace, job_id, deployment_id) VALUES (?, ?, ?, ?, ?, ?)",
        index,
        change.allocId,
        event,
        namespace,
        jobId,
        deploymentId,
      );
      this.#eventCount++;
      if (this.#eventCount > keep) {
        // Drop the oldest beyond the history (usually exactly one: a cheap walk from the start).
        const cut = sql
          .exec<{ region_index: number }>(
            "SELECT region_index FROM event ORDER BY region_index LIMIT 1 OFFSET ?",
            this.#eventCount - keep - 1,
          )
          .one();
        sql.exec("DELETE FROM event WHERE region_index <= ?", cut.region_index);
        this.#eventCount = keep;
        this.#floor = cut.region_index + 1;
      }
      sql.exec(
        `INSERT INTO index_clock (singleton, last_index, history_floor) VALUES (1, ?, ?)
         ON CONFLICT (singleton) DO UPDATE SET last_index = excluded.last_index, history_floor = excluded.history_floor`,
        index,
        this.#floor,
      );
    });
    this.#lastIndex = index;
    this.#waiters.release(index);
    for (const wake of this.#subscribers) wake();
    return index;
  }

  #currentIndex(): number {
    return Math.max(this.#lastIndex, 1);
  }

  #page(query: ListQuery): ListResult {
    let page: Page;
    try {
      page = listPage(this.ctx.storage.sql, { ...query, matches: allocationFilter(query.filter) });
    } catch (error) {
      if (!(error instanceof FilterError)) throw error;
      return { index: this.#currentIndex(), body: "", nextToken: null, invalid: `failed to read result page: ${error.message}` };
    }
    const compact = `[${page.stubs.join(",")}]`;
    const body = query.pretty ? encodeJson(parseJson(compact, { maxDepth: 256 }), true) : compact;
    return { index: this.#currentIndex(), body, nextToken: page.nextToken };
  }

  /** Lists the region's allocations, blocking Nomad-style on the region index. */
  async list(query: ListQuery, signal?: AbortSignal): Promise<ListResult> {
    const minIndex = BigInt(query.minIndex);
    if (minIndex !== 0n && BigInt(this.#currentIndex()) <= minIndex) {
      const refused = this.#waiters.refusal(query.caller ?? "", waiterLimits(this.env));
      if (refused) return { index: this.#currentIndex(), body: "", nextToken: null, refused };
      await this.#waiters.wait(minIndex, query.waitMs, signal, query.caller);
    }
    return this.#page(query);
  }

  /** The namespaces of the region's allocations (and `default`, which always exists), sorted. */
  namespaceNames(): string[] {
    const rows = this.ctx.storage.sql.exec<{ namespace: string }>("SELECT DISTINCT namespace FROM alloc_stub").toArray();
    return [...new Set([DEFAULT_NAMESPACE, ...rows.map((row) => row.namespace)])].sort();
  }

  /**
   * Streams allocation events as Nomad's newline-delimited batches, from the durable history
   * and then live (event-stream.ts). Resuming from below the history's floor is refused: the
   * client must re-list.
   */
  openStream(query: StreamQuery, signal?: AbortSignal): { ok: true; stream: ReadableStream<Uint8Array> } | Refusal {
    const start = streamStart(query.index, this.#floor, this.#lastIndex);
    if ("gone" in start) return { ok: false, status: 410, message: start.gone };
    const source = {
      sql: this.ctx.storage.sql,
      lastIndex: () => this.#lastIndex,
      floor: () => this.#floor,
      subscribers: this.#subscribers,
    };
    return { ok: true, stream: openEventStream(source, query, start.position, signal) };
  }

  /** Live counters for tests and benchmarks. */
  stats(): { waiters: number; subscribers: number; index: number; floor: number } {
    return { waiters: this.#waiters.size, subscribers: this.#subscribers.size, index: this.#lastIndex, floor: this.#floor };
  }
}
