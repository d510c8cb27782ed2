/**
 * One object per region, or per shard of a region (`CATALOG_SHARDS`, by allocation-id prefix:
 * src/domain/catalog-shard.ts): the list of its allocations (as AllocListStubs), an index, its
 * blocking queries, and a bounded, durable history of allocation events for `/v1/event/stream`.
 * Allocation objects report each committed change here (`CatalogChange` in contract.ts); changes that
 * arrive while the last group awaits its confirmation are recorded together, in one transaction.
 *
 * The index is the same hybrid logical clock as the allocations': max(last + 1, change's
 * allocation index), so it strictly increases on every change and is >= the ModifyIndex of every
 * allocation listed; shard k of K rounds it up to the next value ≡ k (mod K), so indexes are unique
 * across a region's shards; which shard it is, the object reads from its own name
 * (`catalog/<region>/<k>-of-<K>`, object-names.ts). The Worker merges shards (catalog-reads.ts).
 */
import { DurableObject } from "cloudflare:workers";
import { evaluateFilter, FilterError, parseFilter } from "../domain/bexpr.ts";
import { catalogEntry, eventJson } from "../domain/catalog-entry.ts";
import { indexInShard } from "../domain/catalog-shard.ts";
import { DEFAULT_NAMESPACE } from "../domain/namespace.ts";
import { RefusalText } from "../errors.ts";
import { encodeJson, type JsonObject, parseJson } from "../json/codec.ts";
import { listPage, type Page } from "./catalog-list.ts";
import {
  type Admission,
  type AdmissionLease,
  type CatalogChange,
  type CollectedTombstone,
  cannotPark,
  type ListQuery,
  type ListResult,
  type Refusal,
  type StreamQuery,
} from "./contract.ts";
import { openEventStream, streamStart } from "./event-stream.ts";
import { IndexClock, indexAfter } from "./index-clock.ts";
import { CATALOG_MIGRATIONS, migrate } from "./migrations.ts";
import { ownName, type ShardSlot, shardOfName } from "./object-names.ts";
import { ADMISSION_LEASE_MS, CollectedWatermark } from "./tombstone-retention.ts";
import { Waiters, waiterLimits } from "./waiters.ts";

interface PendingRecord {
  changes: CatalogChange[];
  resolve: (indexes: Array<number | null>) => void;
  reject: (error: unknown) => void;
}

/** Events kept per region when EVENT_HISTORY is unset. */
const DEFAULT_EVENT_HISTORY = 10_000;
/** Bytes of event bodies kept per region when EVENT_HISTORY_BYTES is unset. */
const DEFAULT_EVENT_HISTORY_BYTES = 256 * 1024 * 1024;
const utf8 = new TextEncoder();

/** The row predicate of a list filter, evaluated on each allocation's full document. */
function allocationFilter(filter: string): ((allocation: string) => boolean) | undefined {
  if (filter === "") return undefined;
  const expression = parseFilter(filter);
  return (allocation) => evaluateFilter(expression, parseJson(allocation, { maxDepth: 256 }));
}

export class RegionCatalog extends DurableObject<Env> {
  protected readonly clock: IndexClock;
  /** The lowest index a stream may resume from; 0 while no history was ever dropped. Stored in the clock's row. */
  #floor = 0;
  /** Events in the history table, kept in memory so trimming never counts rows. */
  #eventCount = 0;
  /** UTF-8 bytes of the events' bodies in the history table, kept in memory like the count. */
  #eventBytes = 0;
  protected readonly waiters = new Waiters();
  /** Open event streams: each is called when a change is recorded. */
  protected readonly subscribers = new Set<() => void>();
  /** Changes received while a recorded group awaits its confirmation: recorded together after it. */
  #pending: PendingRecord[] = [];
  /** Whether the last group's writes await the storage's confirmation (`storage.sync()`). */
  #confirming = false;
  /** Which shard of its region this is, from the name it was addressed by. */
  #slot: ShardSlot | undefined;
  /** The highest source index of the tombstones collected here. Stored in the clock's row. */
  readonly #collected: CollectedWatermark;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.clock = new IndexClock(ctx.storage.sql);
    this.#collected = new CollectedWatermark(ctx.storage.sql);
    ctx.blockConcurrencyWhile(async () => {
      migrate(ctx.storage.sql, CATALOG_MIGRATIONS);
      const clock = this.clock.load();
      this.#floor = typeof clock?.history_floor === "number" ? clock.history_floor : 0;
      this.#collected.load(clock);
      const history = ctx.storage.sql
        .exec<{ n: number; bytes: number }>("SELECT COUNT(*) AS n, COALESCE(SUM(length(CAST(body AS BLOB))), 0) AS bytes FROM event")
        .one();
      this.#eventCount = history.n;
      this.#eventBytes = history.bytes;
    });
  }

  /**
   * Records one committed allocation change and answers its index; a change already recorded
   * (a redelivery, or overtaken by a newer change of the same allocation) is ignored and answers
   * the current index. Resolves once the change is recorded, together with the others that arrived
   * while the previous group awaited its confirmation.
   */
  async record(change: CatalogChange): Promise<number> {
    const [index] = await this.recordMany([change]);
    return index ?? this.clock.last;
  }

  /** Records many changes (in order, one index each) in one transaction with whatever else arrived meanwhile. */
  async recordMany(changes: CatalogChange[]): Promise<number[]> {
    // An outbox's changes carry no `after` (they are delivered in order): none is left for later.
    return (await this.#gather(changes)).map((index) => index ?? this.clock.last);
  }

  /**
   * Records the changes the Worker carried for a batch (`after` set where the allocation's object
   * still held an earlier change): answers for each whether it is recorded now (or was before);
   * false when an earlier change of its allocation is not recorded yet, so it was left for its
   * object to deliver in order.
   */
  async recordCarried(changes: CatalogChange[]): Promise<boolean[]> {
    return (await this.#gather(changes)).map((index) => index !== null);
  }

  /** The index of the newest change recorded for `allocId`, null when none is listed. */
  recordedIndex(allocId: string): number | null {
    const row = this.ctx.storage.sql.exec<{ alloc_index: number }>("SELECT alloc_index FROM alloc_stub WHERE id = ?", allocId).toArray()[0];
    return row?.alloc_index ?? null;
  }

  /**
   * Group commit: a change that finds no write of this object awaiting its confirmation is recorded
   * at once (an idle catalog adds no wait); those that arrive while one is awaited are recorded
   * together, in one transaction, as soon as it is confirmed. Their acks could not be sent before
   * that confirmation anyway (the output gate holds them), so the group costs them no time, and the
   * groups grow with the load.
   */
  #gather(changes: CatalogChange[]): Promise<Array<number | null>> {
    return new Promise<Array<number | null>>((resolve, reject) => {
      this.#pending.push({ changes, resolve, reject });
      if (!this.#confirming) this.#flush();
    });
  }

  #flush(): void {
    const batch = this.#pending;
    this.#pending = [];
    let indexes: Array<number | null>;
    try {
      indexes = this.applyChanges(batch.flatMap((pending) => pending.changes));
    } catch (error) {
      for (const pending of batch) pending.reject(error);
      return;
    }
    let at = 0;
    for (const pending of batch) {
      pending.resolve(indexes.slice(at, at + pending.changes.length));
      at += pending.changes.length;
    }
    this.#confirming = true;
    // A failed confirmation breaks the object's output gate (its answers never leave); the next
    // group is still recorded, so nothing waits on a promise that never settles.
    const next = () => {
      this.#confirming = false;
      if (this.#pending.length > 0) this.#flush();
    };
    this.ctx.storage.sync().then(next, next);
  }

  /**
   * One transaction for all `changes`; answers each change's index (the current one for those
   * ignored), or null for a carried change whose `after` is not recorded (nothing of it is stored).
   */
  protected applyChanges(changes: CatalogChange[]): Array<number | null> {
    const sql = this.ctx.storage.sql;
    /** The index of each allocation's change recorded by this call, ahead of what is stored. */
    const recordedNow = new Map<string, number>();
    const rows: Array<{
      change: CatalogChange;
      index: number;
      stub: string | null;
      event: string;
      namespace: string;
      alloc: string | null;
      jobId: string;
      deploymentId: string;
    }> = [];
    const indexes: Array<number | null | undefined> = [];
    const slot = this.#shard();
    let last = this.clock.last;
    for (const change of changes) {
      const known = recordedNow.get(change.allocId) ?? this.recordedIndex(change.allocId) ?? undefined;
      if (known !== undefined && known >= change.allocIndex) {
        indexes.push(undefined);
        continue;
      }
      if (change.after !== undefined && (known ?? 0) < change.after) {
        indexes.push(null);
        continue;
      }
      recordedNow.set(change.allocId, change.allocIndex);
      const index = indexInShard(indexAfter(last, change.allocIndex), slot.shard, slot.shards);
      last = index;
      rows.push({ change, index, ...this.#entry(change, index) });
      indexes.push(index);
    }
    if (rows.length > 0) {
      const keep = Number(this.env.EVENT_HISTORY) || DEFAULT_EVENT_HISTORY;
      this.ctx.storage.transactionSync(() => {
        for (const { change, index, stub, event, namespace, alloc, jobId, deploymentId } of rows) {
          sql.exec(
            `INSERT INTO alloc_stub (id, hex, alloc_index, body, namespace, alloc) VALUES (?, ?, ?, ?, ?, ?)
             ON CONFLICT (id) DO UPDATE SET alloc_index = excluded.alloc_index, body = excluded.body,
               namespace = excluded.namespace, alloc = excluded.alloc`,
            change.allocId,
            change.allocId.replaceAll("-", ""),
            change.allocIndex,
            stub,
            namespace,
            alloc,
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
        }
        this.#eventCount += rows.length;
        for (const { event } of rows) this.#eventBytes += utf8.encode(event).byteLength;
        if (this.#eventCount > keep) {
          // Drop the oldest beyond the history (usually as many as were added: a cheap walk from the start).
          const cut = sql
            .exec<{ region_index: number }>(
              "SELECT region_index FROM event ORDER BY region_index LIMIT 1 OFFSET ?",
              this.#eventCount - keep - 1,
            )
            .one();
          this.#dropHistoryThrough(cut.region_index);
        }
        this.#trimHistoryBytes();
        this.#storeClock(last);
      });
      this.waiters.release(last);
      for (const wake of this.subscribers) wake();
    }
    return indexes.map((index) => (index === undefined ? last : index));
  }

  #shard(): ShardSlot {
    this.#slot ??= shardOfName(ownName(this.ctx));
    return this.#slot;
  }

  /** Deletes the history through `index` (inside the caller's transaction); the floor moves past it. */
  #dropHistoryThrough(index: number): void {
    const sql = this.ctx.storage.sql;
    const gone = sql
      .exec<{ n: number; bytes: number }>(
        "SELECT COUNT(*) AS n, COALESCE(SUM(length(CAST(body AS BLOB))), 0) AS bytes FROM event WHERE region_index <= ?",
        index,
      )
      .one();
    sql.exec("DELETE FROM event WHERE region_index <= ?", index);
    this.#eventCount -= gone.n;
    this.#eventBytes -= gone.bytes;
    this.#floor = index + 1;
  }

  /**
   * Keeps the history's bodies within EVENT_HISTORY_BYTES as well as EVENT_HISTORY events (each
   * event holds a whole allocation, up to the document cap): drops the oldest until it fits, the
   * newest event always kept.
   */
  #trimHistoryBytes(): void {
    const budget = Number(this.env.EVENT_HISTORY_BYTES) || DEFAULT_EVENT_HISTORY_BYTES;
    if (this.#eventBytes <= budget) return;
    let excess = this.#eventBytes - budget;
    let cut: number | undefined;
    const oldest = this.ctx.storage.sql.exec<{ region_index: number; bytes: number }>(
      "SELECT region_index, length(CAST(body AS BLOB)) AS bytes FROM event ORDER BY region_index LIMIT ?",
      Math.max(this.#eventCount - 1, 0),
    );
    for (const row of oldest) {
      cut = row.region_index;
      excess -= row.bytes;
      if (excess <= 0) break;
    }
    if (cut !== undefined) this.#dropHistoryThrough(cut);
  }

  /** The list stub (null for a delete) and the event of a change recorded at `index`. */
  #entry(
    change: CatalogChange,
    index: number,
  ): { stub: string | null; event: string; namespace: string; alloc: string | null; jobId: string; deploymentId: string } {
    const entry =
      change.entry ??
      catalogEntry(parseJson(change.allocation, { maxDepth: 256 }) as JsonObject, change.allocId, change.kind, BigInt(change.modifyTime));
    return {
      stub: entry.stub,
      event: eventJson(entry, index),
      namespace: entry.namespace,
      alloc: change.kind === "upsert" ? change.allocation : null,
      // Entries queued in an outbox before they carried FilterKeys columns have none.
      jobId: entry.jobId ?? "",
      deploymentId: entry.deploymentId ?? "",
    };
  }

  /** Stores the clock with the history's floor in its row. */
  #storeClock(last: number): void {
    this.clock.store(last, { history_floor: this.#floor });
  }

  /**
   * The clock's receive rule, for the Worker's merge of shards: raises this shard's index to
   * `index` (an index another shard of the region handed out), so its next change is above it.
   * `moved` tells whether anything was recorded since the caller's read at `seen`.
   */
  raise(index: number, seen: number): { index: number; moved: boolean } {
    const moved = this.#currentIndex() !== seen;
    if (index > this.clock.last) {
      this.#storeClock(index);
      for (const wake of this.subscribers) wake();
    }
    return { index: this.#currentIndex(), moved };
  }

  /**
   * For an allocation object about to create its allocation: this shard's index (the new
   * allocation's clock starts above it, so above every tombstone recorded here, collected ones
   * included) and the collected watermark (a conditional create at or below it is stale).
   */
  admission(): Admission {
    return this.#admission();
  }

  /**
   * The admission for creates that come together (admission-leases.ts), true for a while: this
   * shard collects nothing until the lease ends. Null while a refused collection waits for its
   * retry (each create asks its own).
   */
  admissionLease(): AdmissionLease | null {
    return this.#collected.lease(this.#admission(), this.clock.last, this.admissionLeaseMs());
  }

  #admission(): Admission {
    return { index: this.#currentIndex(), collected: this.#collected.value };
  }

  /** How long an admission lease lasts. */
  protected admissionLeaseMs(): number {
    return ADMISSION_LEASE_MS;
  }

  /**
   * A tombstone whose retention ended, reported by its object before it deletes its storage: its
   * list row goes and its source index raises the watermark. The list, its index and the history
   * do not change (the row listed nothing; the delete's event stays until the history drops it).
   * False while an admission lease holds: nothing is collected, the object tries again later.
   */
  collect(tombstone: CollectedTombstone): boolean {
    return this.#collected.collect(this.ctx.storage, tombstone, this.clock.last);
  }

  #currentIndex(): number {
    return Math.max(this.clock.last, 1);
  }

  #page(query: ListQuery): ListResult {
    let page: Page;
    try {
      page = listPage(this.ctx.storage.sql, { ...query, matches: allocationFilter(query.filter) });
    } catch (error) {
      if (!(error instanceof FilterError)) throw error;
      return { ok: false, status: 400, message: RefusalText.resultPage(error.message) };
    }
    if (query.items) {
      const items = page.ids.map((id, i) => ({ id, body: page.stubs[i] as string }));
      return { ok: true, index: this.#currentIndex(), body: "", nextToken: page.nextToken, items };
    }
    const compact = `[${page.stubs.join(",")}]`;
    const body = query.pretty ? encodeJson(parseJson(compact, { maxDepth: 256 }), true) : compact;
    return { ok: true, index: this.#currentIndex(), body, nextToken: page.nextToken };
  }

  /** Lists the region's allocations, blocking Nomad-style on the region index. */
  async list(query: ListQuery, signal?: AbortSignal): Promise<ListResult> {
    const { minIndex } = query;
    if (minIndex !== 0n && BigInt(this.#currentIndex()) <= minIndex) {
      const refused = this.waiters.refusal(query.caller ?? "", waiterLimits(this.env));
      if (refused) return cannotPark(refused);
      await this.waiters.wait(minIndex, query.waitMs, signal, query.caller);
    }
    return this.#page(query);
  }

  /** The namespaces of this catalog's allocations (and `default`, which always exists), sorted. */
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
    const start = streamStart(query.index, this.#floor, this.clock.last);
    if ("gone" in start) return { ok: false, status: 410, message: start.gone };
    const source = {
      sql: this.ctx.storage.sql,
      lastIndex: () => this.clock.last,
      floor: () => this.#floor,
      subscribers: this.subscribers,
    };
    return { ok: true, stream: openEventStream(source, query, start.position, signal) };
  }
}
