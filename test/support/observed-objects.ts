/**
 * TEST AND BENCHMARK ONLY: the production Durable Objects with live counters (`stats()`), so tests
 * and benchmarks can see what the objects hold in memory (parked waiters, followers, subscribers)
 * and count their work (encodings, transactions) without any of it in the production classes.
 * The test Worker (test-worker.ts) and the benchmark's (test/bench/bench-worker.ts) export these
 * under the production class names, so the objects run the production code unchanged.
 */
import { AllocationObject } from "../../src/durable/allocation-object.ts";
import type { Admission, AdmissionLease, CatalogChange } from "../../src/durable/contract.ts";
import type { LogStore, LogType } from "../../src/durable/log-store.ts";
import { type SharedChunk, SharedLogReads } from "../../src/durable/log-stream.ts";
import { RegionCatalog } from "../../src/durable/region-catalog.ts";
import type { JsonValue } from "../../src/json/codec.ts";

export interface AllocationStats {
  waiters: number;
  index: number;
  /** How many times a document was encoded: once per index (plus once for pretty), never per waiter. */
  encodes: number;
  logFollowers: number;
  /** Log stream reads that went to SQLite, reads answered with bytes another stream read, frames encoded. */
  logReads: number;
  logReadsShared: number;
  logFrames: number;
}

/** The shared log reads, counting reads that went to SQLite, reads answered with bytes already read, frames encoded. */
export class ObservedSharedLogReads extends SharedLogReads {
  readonly counts = { reads: 0, shared: 0, frames: 0 };

  protected override kept(key: string): SharedChunk | undefined {
    const chunk = super.kept(key);
    if (chunk) this.counts.shared++;
    return chunk;
  }

  protected override readStored(task: string, type: LogType, from: number, limit: number, max: number): Uint8Array {
    this.counts.reads++;
    return super.readStored(task, type, from, limit, max);
  }

  protected override encodeChunk(data: Uint8Array, file: string, endOffset: number): Uint8Array {
    this.counts.frames++;
    return super.encodeChunk(data, file, endOffset);
  }
}

export class ObservedAllocationObject extends AllocationObject {
  #encodes = 0;

  protected override sharedLogReads(store: LogStore): SharedLogReads {
    return new ObservedSharedLogReads(store);
  }

  protected override encodeDocument(document: JsonValue, pretty: boolean): string {
    this.#encodes++;
    return super.encodeDocument(document, pretty);
  }

  stats(): AllocationStats {
    const { reads, shared, frames } = (this.logs.reads as ObservedSharedLogReads).counts;
    return {
      waiters: this.waiters.size,
      index: this.document.snapshot(false, Math.max(this.clock.last, 1)).index,
      encodes: this.#encodes,
      logFollowers: this.logs.followers.size,
      logReads: reads,
      logReadsShared: shared,
      logFrames: frames,
    };
  }
}

interface CatalogStats {
  waiters: number;
  subscribers: number;
  index: number;
  floor: number;
  /** Transactions that recorded changes, and the changes they recorded. */
  transactions: number;
  recorded: number;
  /** The RPCs that delivered changes to record (an outbox's, or a batch's carried ones). */
  recordRpcs: number;
  /** Admissions asked by objects creating an allocation, and admission leases granted to batches. */
  admissions: number;
  leases: number;
}

export class ObservedRegionCatalog extends RegionCatalog {
  #transactions = 0;
  #recorded = 0;

  #recordRpcs = 0;
  #admissions = 0;
  #leases = 0;

  override admission(): Admission {
    this.#admissions++;
    return super.admission();
  }

  override admissionLease(): AdmissionLease | null {
    this.#leases++;
    return super.admissionLease();
  }

  protected override applyChanges(changes: CatalogChange[]): Array<number | null> {
    const before = this.clock.last;
    const indexes = super.applyChanges(changes);
    // Each recorded change has an index of its own above the clock's; ignored ones answer the
    // last of those (or the unchanged clock when nothing was recorded); null: left for later.
    const recorded = new Set(indexes.filter((index) => index !== null && index > before)).size;
    if (recorded > 0) this.#transactions++;
    this.#recorded += recorded;
    return indexes;
  }

  override recordMany(changes: CatalogChange[]): Promise<number[]> {
    this.#recordRpcs++;
    return super.recordMany(changes);
  }

  override recordCarried(changes: CatalogChange[]): Promise<boolean[]> {
    this.#recordRpcs++;
    return super.recordCarried(changes);
  }

  stats(): CatalogStats {
    const row = this.ctx.storage.sql.exec<{ history_floor: number }>("SELECT history_floor FROM index_clock").toArray()[0];
    return {
      waiters: this.waiters.size,
      subscribers: this.subscribers.size,
      index: this.clock.last,
      floor: row?.history_floor ?? 0,
      transactions: this.#transactions,
      recorded: this.#recorded,
      recordRpcs: this.#recordRpcs,
      admissions: this.#admissions,
      leases: this.#leases,
    };
  }
}
