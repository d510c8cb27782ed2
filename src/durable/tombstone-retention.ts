/**
 * Collection of deleted allocations after TOMBSTONE_RETENTION, without letting an index go back or
 * a late write resurrect them (docs/reliability.md#tombstone-retention).
 *
 * A deleted allocation's object keeps a tombstone: its index clock and its source (Nomad) index.
 * When the retention has passed since the delete (wall-clock time, kept with the tombstone), the
 * object's alarm reports the tombstone to its catalog shard, which in one
 * transaction raises its *collected watermark* (the highest source index of any tombstone it
 * collected) and drops the allocation's list row; then the object deletes all its storage.
 *
 * Creating an allocation asks its catalog shard first (`Admission`): the new object's clock starts
 * above the shard's index (which is at or above every index the shard ever recorded, the collected
 * tombstone's included), and a conditional create whose source index is at or below the watermark
 * is answered stale, as the tombstone would have answered it.
 *
 * Creates that come together share one admission per shard instead (`AdmissionLease`, asked and
 * kept by the Worker isolate for batches and concurrent single writes: admission-leases.ts):
 * the shard stores that it collects nothing for ADMISSION_LEASE_MS and refuses collections until
 * then, so an admission taken at the lease's start is as true at the end as a fresh one. The
 * object uses a lease only before its `usableUntil` (a quarter of the lease short of its end:
 * the margin for a change queued at its object, and for the clocks of two machines). A refused
 * collection pauses the grants until it has been retried, so leases never starve collection.
 */
import { config } from "../config.ts";
import type { Admission, AdmissionLease, CollectedTombstone } from "./contract.ts";

/** Delay before trying a collection again (an outbox still undelivered, an unreachable catalog, a lease held). */
const COLLECT_RETRY_MS = 60_000;
/** How long a catalog shard collects nothing after granting an admission lease (at most COLLECT_RETRY_MS). */
export const ADMISSION_LEASE_MS = 60_000;
/**
 * After refusing a collection, a shard grants no lease for this long: the refused tombstone's
 * retry (COLLECT_RETRY_MS later) then finds no lease held, so batches that keep coming never
 * starve collection. Meanwhile the creates each ask their own admission, as a lone single write does.
 */
const LEASE_PAUSE_MS = COLLECT_RETRY_MS + 5_000;

/** Whether a conditional create with `source` is at or below the watermark: stale. */
export function belowWatermark(admission: Admission, source: bigint | undefined): boolean {
  return source !== undefined && admission.collected !== null && source <= BigInt(admission.collected);
}

/** Whether a create at `now` (wall-clock ms) may still rely on `lease`. */
export function leaseUsable(lease: AdmissionLease, now: number): boolean {
  return now < lease.usableUntil;
}

/**
 * The catalog's side: the watermark, kept in the `collected_source` column of its clock row, the
 * collection of a tombstone's list row, and the admission leases (until when it collects nothing,
 * in the `collect_held_until` column: a shard restarted within a lease still honours it).
 */
export class CollectedWatermark {
  readonly #sql: SqlStorage;
  #value: bigint | null = null;
  #heldUntil = 0;
  /** Until when no lease is granted, after a refused collection (memory only: it serves only progress). */
  #pausedUntil = 0;

  constructor(sql: SqlStorage) {
    this.#sql = sql;
  }

  /** Takes the stored values from the clock's row (as loaded by the catalog). */
  load(row: Record<string, SqlStorageValue> | undefined): void {
    const stored = row?.collected_source;
    this.#value = typeof stored === "string" ? BigInt(stored) : null;
    this.#heldUntil = typeof row?.collect_held_until === "number" ? row.collect_held_until : 0;
  }

  /**
   * Grants `admission` as a lease of `leaseMs` from now: stores that nothing is collected before
   * its end (the grant's answer waits for that write to be durable). `clockIndex` is the catalog's
   * current index, for the clock row's upsert. Null while grants are paused for a refused collection.
   */
  lease(admission: Admission, clockIndex: number, leaseMs: number): AdmissionLease | null {
    const now = Date.now();
    if (now < this.#pausedUntil) return null;
    const until = now + leaseMs;
    this.#sql.exec(
      `INSERT INTO index_clock (singleton, last_index, history_floor, collect_held_until) VALUES (1, ?, 0, ?)
       ON CONFLICT (singleton) DO UPDATE SET collect_held_until = excluded.collect_held_until`,
      clockIndex,
      until,
    );
    this.#heldUntil = until;
    return { ...admission, until, usableUntil: until - leaseMs / 4 };
  }

  get value(): string | null {
    return this.#value === null ? null : this.#value.toString();
  }

  /**
   * Drops the tombstone's list row (only a deleted one, not newer than the tombstone) and raises
   * the watermark to its source index, in one transaction. Idempotent: a repeated report changes
   * nothing more. `clockIndex` is the catalog's current index, for the clock row's upsert. While an
   * admission lease holds, nothing is collected: false (the object tries again later).
   */
  collect(storage: DurableObjectStorage, tombstone: CollectedTombstone, clockIndex: number): boolean {
    if (Date.now() < this.#heldUntil) {
      this.#pausedUntil = Date.now() + LEASE_PAUSE_MS;
      return false;
    }
    const source = tombstone.sourceIndex === null ? null : BigInt(tombstone.sourceIndex);
    const raised = source !== null && (this.#value === null || source > this.#value) ? source : this.#value;
    storage.transactionSync(() => {
      this.#sql.exec("DELETE FROM alloc_stub WHERE id = ? AND body IS NULL AND alloc_index <= ?", tombstone.allocId, tombstone.allocIndex);
      if (raised !== this.#value) {
        this.#sql.exec(
          `INSERT INTO index_clock (singleton, last_index, history_floor, collected_source) VALUES (1, ?, 0, ?)
           ON CONFLICT (singleton) DO UPDATE SET collected_source = excluded.collected_source`,
          clockIndex,
          (raised as bigint).toString(),
        );
      }
    });
    this.#value = raised;
    return true;
  }
}

/** The allocation object's side: when its tombstone is due, and the alarm that collects it. */
export class TombstoneRetention {
  readonly #storage: DurableObjectStorage;
  readonly #retentionMs: number;

  constructor(storage: DurableObjectStorage, env: Env) {
    this.#storage = storage;
    this.#retentionMs = config(env).tombstoneRetentionMs;
  }

  /** When a tombstone made at `since` (wall-clock ms) may be collected. */
  dueAt(since: number): number {
    return since + this.#retentionMs;
  }

  /** Sets the alarm for a tombstone made at `since`, unless an earlier alarm (an outbox retry) is set. */
  async schedule(since: number): Promise<void> {
    const at = this.dueAt(since);
    const current = await this.#storage.getAlarm();
    if (current === null || current > at) await this.#storage.setAlarm(at);
  }

  /** Tries again later (the outbox is not yet delivered, or the catalog did not answer). */
  retryLater(): Promise<void> {
    return this.#storage.setAlarm(Date.now() + COLLECT_RETRY_MS);
  }
}
