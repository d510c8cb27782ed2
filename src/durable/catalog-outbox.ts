/**
 * An allocation's outbox to its region catalog: each committed change is queued in the same
 * transaction as the change itself, then delivered in index order and deleted once the catalog
 * recorded it. Delivery is at least once (the catalog ignores redeliveries), so a crash or an
 * unreachable catalog delays the list but never loses or duplicates a change.
 */
import { config } from "../config.ts";
import { shardOfAlloc } from "../domain/catalog-shard.ts";
import type { CatalogChange } from "./contract.ts";
import { catalogStub } from "./stub.ts";

/** Delay before retrying a failed delivery to the region catalog. */
const OUTBOX_RETRY_MS = 1000;
/** At most this many changes, and about this many bytes of them, per delivery RPC (well within an RPC's message limit). */
const DELIVERY_MAX_CHANGES = 64;
const DELIVERY_MAX_CHARS = 8 * 1024 * 1024;

export class CatalogOutbox {
  readonly #storage: DurableObjectStorage;
  readonly #env: Env;
  #draining: Promise<void> | undefined;
  #drainAgain = false;
  /** The next drain first asks the catalog what it recorded (rows of carried changes usually are). */
  #confirmFirst = false;
  /**
   * The changes queued by this instance, decoded, by index: a drain sends these instead of reading
   * each row's text back and parsing it again (a whole allocation per row). A row is taken from
   * here only when it is still stored (a rolled-back transaction leaves an entry whose row does not
   * exist; it is dropped at the next drain); after a restart a stored row is read once and then
   * kept here like the others.
   */
  readonly #kept = new Map<number, { region: string; chars: number; change: CatalogChange }>();

  constructor(storage: DurableObjectStorage, env: Env) {
    this.#storage = storage;
    this.#env = env;
  }

  /** Queues a change (`record`: `change` as JSON); call inside the change's transaction. */
  add(index: number, region: string, record: string, change: CatalogChange): void {
    this.#storage.sql.exec("INSERT INTO catalog_outbox (alloc_index, region, change) VALUES (?, ?, ?)", index, region, record);
    this.#kept.set(index, { region, chars: record.length, change });
  }

  /** The newest queued change's index, undefined when none is queued (the table must exist). */
  newestQueued(): number | undefined {
    const row = this.#storage.sql.exec<{ newest: number | null }>("SELECT MAX(alloc_index) AS newest FROM catalog_outbox").one();
    return row.newest ?? undefined;
  }

  /** Whether changes wait for delivery (the table must exist). */
  pending(): boolean {
    return this.#storage.sql.exec("SELECT 1 FROM catalog_outbox LIMIT 1").toArray().length > 0;
  }

  /**
   * Delivers the queued changes in index order, one drain at a time; a caller arriving mid-drain
   * waits for a drain that includes its own change. Rejects when a delivery fails.
   */
  deliver(confirmFirst = false): Promise<void> {
    if (confirmFirst) this.#confirmFirst = true;
    this.#drainAgain = true;
    this.#draining ??= (async () => {
      try {
        while (this.#drainAgain) {
          this.#drainAgain = false;
          await this.#drain();
        }
      } finally {
        this.#draining = undefined;
      }
    })();
    return this.#draining;
  }

  /**
   * Delivers, and on a failure leaves the changes queued and sets an alarm to retry: the change is
   * durable either way, so the write it belongs to does not fail.
   */
  deliverOrRetry(): Promise<void> {
    return this.deliver().catch((error: unknown) => {
      console.warn("catalog delivery failed; retrying from the outbox", error);
      return this.#storage.setAlarm(Date.now() + OUTBOX_RETRY_MS);
    });
  }

  async #drain(): Promise<void> {
    if (this.#confirmFirst) {
      this.#confirmFirst = false;
      await this.#confirm();
    }
    const sql = this.#storage.sql;
    // Only the indexes: the text of a change this instance queued is not read back.
    const stored = sql.exec<{ alloc_index: number }>("SELECT alloc_index FROM catalog_outbox ORDER BY alloc_index").toArray();
    const storedIndexes = new Set(stored.map((row) => row.alloc_index));
    for (const index of this.#kept.keys()) if (!storedIndexes.has(index)) this.#kept.delete(index);
    const cfg = config(this.#env);
    // Every queued change goes in one RPC (the catalog records them in order, one index each, in
    // one transaction): writes that queued behind a delivery in flight do not each wait for a
    // round trip of their own. Rows are grouped only while they go to the same shard (in practice
    // always: they are all this allocation's) and within the delivery's caps.
    const queued = stored.map(({ alloc_index: index }) => {
      const kept = this.#kept.get(index) ?? this.#read(index);
      return { index, shard: shardOfAlloc(kept.change.allocId, cfg.catalogShards), ...kept };
    });
    for (let start = 0; start < queued.length; ) {
      const first = queued[start] as (typeof queued)[number];
      let end = start + 1;
      let chars = first.chars;
      for (; end < queued.length && end - start < DELIVERY_MAX_CHANGES; end++) {
        const next = queued[end] as (typeof queued)[number];
        if (next.region !== first.region || next.shard !== first.shard || chars + next.chars > DELIVERY_MAX_CHARS) break;
        chars += next.chars;
      }
      const group = queued.slice(start, end);
      await catalogStub(this.#env, cfg, first.region, first.shard).recordMany(group.map((row) => row.change));
      // The group is a run of consecutive queued indexes: one statement deletes it.
      sql.exec(
        "DELETE FROM catalog_outbox WHERE alloc_index BETWEEN ? AND ?",
        first.index,
        (group[group.length - 1] as typeof first).index,
      );
      for (const row of group) this.#kept.delete(row.index);
      start = end;
    }
  }

  /**
   * Deletes the queued rows the catalog already recorded: those of changes the Worker carried to it
   * (the batch path), which their object never hears about. One small RPC instead of delivering each
   * again. The catalog records an allocation's changes in index order, so every row at or below the
   * index it recorded last for the allocation is recorded.
   */
  async #confirm(): Promise<void> {
    const sql = this.#storage.sql;
    const first = sql.exec<{ alloc_index: number }>("SELECT alloc_index FROM catalog_outbox ORDER BY alloc_index LIMIT 1").toArray()[0];
    if (!first) return;
    const { region, change } = this.#kept.get(first.alloc_index) ?? this.#read(first.alloc_index);
    const cfg = config(this.#env);
    const shard = shardOfAlloc(change.allocId, cfg.catalogShards);
    const recorded = await catalogStub(this.#env, cfg, region, shard).recordedIndex(change.allocId);
    if (recorded === null) return;
    sql.exec("DELETE FROM catalog_outbox WHERE alloc_index <= ?", recorded);
    for (const index of this.#kept.keys()) if (index <= recorded) this.#kept.delete(index);
  }

  /** A stored row queued before this instance existed (a restart), decoded and kept like one queued here. */
  #read(index: number): { region: string; chars: number; change: CatalogChange } {
    const row = this.#storage.sql
      .exec<{ region: string; change: string }>("SELECT region, change FROM catalog_outbox WHERE alloc_index = ?", index)
      .one();
    const kept = { region: row.region, chars: row.change.length, change: JSON.parse(row.change) as CatalogChange };
    this.#kept.set(index, kept);
    return kept;
  }
}
