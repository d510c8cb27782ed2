/**
 * An allocation's outbox to its region catalog: each committed change is queued in the same
 * transaction as the change itself, then delivered in index order and deleted once the catalog
 * recorded it. Delivery is at least once (the catalog ignores redeliveries), so a crash or an
 * unreachable catalog delays the list but never loses or duplicates a change.
 */
import { config } from "../config.ts";
import { shardOf } from "../domain/catalog-shard.ts";
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

  constructor(storage: DurableObjectStorage, env: Env) {
    this.#storage = storage;
    this.#env = env;
  }

  /** Queues a change (`record`: its CatalogChange as JSON); call inside the change's transaction. */
  add(index: number, region: string, record: string): void {
    this.#storage.sql.exec("INSERT INTO catalog_outbox (alloc_index, region, change) VALUES (?, ?, ?)", index, region, record);
  }

  /** Whether changes wait for delivery (the table must exist). */
  pending(): boolean {
    return this.#storage.sql.exec("SELECT 1 FROM catalog_outbox LIMIT 1").toArray().length > 0;
  }

  /**
   * Delivers the queued changes in index order, one drain at a time; a caller arriving mid-drain
   * waits for a drain that includes its own change. Rejects when a delivery fails.
   */
  deliver(): Promise<void> {
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
    const sql = this.#storage.sql;
    const rows = sql.exec<{ alloc_index: number; region: string; change: string }>(
      "SELECT alloc_index, region, change FROM catalog_outbox ORDER BY alloc_index",
    );
    const cfg = config(this.#env);
    // Every queued change goes in one RPC (the catalog records them in order, one index each, in
    // one transaction): writes that queued behind a delivery in flight do not each wait for a
    // round trip of their own. Rows are grouped only while they go to the same shard (in practice
    // always: they are all this allocation's) and within the delivery's caps.
    const queued = rows.toArray().map((row) => {
      const change = JSON.parse(row.change) as CatalogChange;
      return {
        index: row.alloc_index,
        region: row.region,
        shard: shardOf(change.allocId.replaceAll("-", ""), cfg.catalogShards),
        chars: row.change.length,
        change,
      };
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
      for (const row of group) sql.exec("DELETE FROM catalog_outbox WHERE alloc_index = ?", row.index);
      start = end;
    }
  }
}
