/**
 * One allocation per Durable Object, named `<region>/<uuid>` (object-names.ts): it knows which
 * allocation it is from its own name, so no RPC carries it. A thin composition of its parts, which
 * this class wires together in the order a change needs them (write rules, one transaction,
 * delivery, wake-ups):
 *
 * - the document and its encodings (allocation-document.ts),
 * - the index clock (index-clock.ts) and the source index kept in its row,
 * - the outbox to the region catalog (catalog-outbox.ts),
 * - the parked blocking queries (waiters.ts), which live in memory and are woken by writes,
 * - the task logs and their followers (task-logs.ts),
 * - the answers of writes sent with an Idempotency-Key (idempotency.ts),
 * - the tombstone's collection once its retention ends, and the admission the first write of an
 *   object with no storage asks its catalog for (tombstone-retention.ts).
 */
import { DurableObject } from "cloudflare:workers";
import { config } from "../config.ts";
import { stampPut } from "../domain/allocation-put.ts";
import { catalogEntry } from "../domain/catalog-entry.ts";
import { applyTaskEvents, type TaskEventUpdate } from "../domain/task-state.ts";
import { ErrorText } from "../errors.ts";
import { encodeJson, JsonNumber, type JsonObject, type JsonValue, parseJson } from "../json/codec.ts";
import { nowUnixNanos } from "../json/go-time.ts";
import { AllocationDocument } from "./allocation-document.ts";
import { CatalogOutbox } from "./catalog-outbox.ts";
import {
  type Admission,
  type AdmissionLease,
  type AllocationRead,
  type CatalogChange,
  cannotPark,
  type LogQuery,
  type ReadQuery,
  type ReadResult,
  type Refusal,
  refusalOf,
  type WriteOutcome,
} from "./contract.ts";
import { oversized } from "./document-cap.ts";
import { type IdempotencyKey, IdempotencyLog } from "./idempotency.ts";
import { IndexClock } from "./index-clock.ts";
import type { LogStore, LogType } from "./log-store.ts";
import { SharedLogReads } from "./log-stream.ts";
import { ALLOCATION_SCHEMA_STEPS, hasSchema, migrate } from "./migrations.ts";
import { type AllocationKey, allocationOfName, ownName } from "./object-names.ts";
import { catalogStubFor } from "./stub.ts";
import { logRetention, TaskLogs } from "./task-logs.ts";
import { belowWatermark, leaseUsable, TombstoneRetention } from "./tombstone-retention.ts";
import { Waiters, waiterLimits } from "./waiters.ts";

/** Index reported when the allocation never existed here: Nomad clients treat 0 as "do not block". */
const NEVER_WRITTEN_INDEX = 1;
/**
 * How long after a carried change its outbox row waits before the object asks its catalog whether
 * the Worker delivered it (it nearly always did; otherwise the row is delivered then). Also the
 * window in which a change follows an earlier one closely enough to be carried: only an object
 * written again within it carries, so the confirming alarm serves several changes; a lone change
 * (a new allocation, a rarely changing one) is delivered by its object as a single write's is,
 * since an alarm of its own would cost more than the RPC it saves.
 */
const CARRIED_CONFIRM_MS = 10_000;

export class AllocationObject extends DurableObject<Env> {
  protected readonly document: AllocationDocument;
  protected readonly waiters = new Waiters();
  protected readonly logs: TaskLogs;
  protected readonly clock: IndexClock;
  /** The highest source (Nomad) index applied, also after a delete; null while no write carried one. */
  #sourceIndex: bigint | null = null;
  readonly #outbox: CatalogOutbox;
  readonly #idempotency: IdempotencyLog;
  readonly #retention: TombstoneRetention;
  #schemaReady = false;
  #key: AllocationKey | undefined;
  /** Whether the clock's row holds the key: rows last written before migration 6 do not, and their tombstones are not collected. */
  #keyStored = false;
  /** When the allocation became a tombstone (wall-clock ms), as stored with the clock; null while it exists. */
  #tombstoneSince: number | null = null;
  /** Whether an alarm is set to confirm the rows of carried changes (kept in memory; an alarm clears it). */
  #confirmSet = false;
  /** When this instance last committed a change (wall-clock ms), 0 before its first. */
  #lastCommitAt = 0;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    const sql = ctx.storage.sql;
    this.document = new AllocationDocument(sql, (document, pretty) => this.encodeDocument(document, pretty));
    this.logs = new TaskLogs(
      ctx.storage,
      () => this.document.view(),
      (store) => this.sharedLogReads(store),
    );
    this.clock = new IndexClock(sql);
    this.#outbox = new CatalogOutbox(ctx.storage, env);
    this.#idempotency = new IdempotencyLog(sql);
    this.#retention = new TombstoneRetention(ctx.storage, env);
    ctx.blockConcurrencyWhile(async () => {
      // An object that was only ever read has no schema and stays that way: reads of unknown ids
      // must not leave anything stored. The schema is created by the first write.
      if (!hasSchema(sql)) return;
      this.#ensureSchema();
      const clock = this.clock.load();
      this.#sourceIndex = typeof clock?.source_index === "string" ? BigInt(clock.source_index) : null;
      // Stored too, for an alarm that wakes the object without its name.
      if (typeof clock?.alloc_id === "string" && typeof clock.region === "string") {
        this.#key = { id: clock.alloc_id, region: clock.region };
        this.#keyStored = true;
      }
      this.#tombstoneSince = typeof clock?.tombstone_since === "number" ? clock.tombstone_since : null;
      this.document.load();
      // Changes committed before a crash but not yet delivered go out as soon as possible.
      if (this.#outbox.pending()) await ctx.storage.setAlarm(Date.now());
      // A tombstone whose alarm was lost gets one.
      else if (this.document.compact === null && this.#keyStored && (await ctx.storage.getAlarm()) === null) {
        await this.#retention.schedule(this.#tombstoneSince ?? Date.now());
      }
    });
  }

  /** Every encoding of the document, compact or pretty, goes through here (once per index, never per reader). */
  protected encodeDocument(document: JsonValue, pretty: boolean): string {
    return encodeJson(document, pretty);
  }

  /** The log streams' shared reads (one per object, made with it). */
  protected sharedLogReads(store: LogStore): SharedLogReads {
    return new SharedLogReads(store);
  }

  /** Which allocation this object is, from the name it was addressed by. */
  #own(): AllocationKey {
    this.#key ??= allocationOfName(ownName(this.ctx));
    return this.#key;
  }

  #ensureSchema(): void {
    if (this.#schemaReady) return;
    migrate(this.ctx.storage.sql, ALLOCATION_SCHEMA_STEPS);
    this.#schemaReady = true;
  }

  /**
   * Stores the clock with the source index (`null`: none yet), the allocation's key and when it
   * became a tombstone (`null`: it exists) in its row; inside the change's transaction.
   */
  #storeClock(index: number, sourceIndex: bigint | null, tombstoneSince: number | null): void {
    const key = this.#own();
    this.clock.store(index, {
      source_index: sourceIndex === null ? null : sourceIndex.toString(),
      alloc_id: key.id,
      region: key.region,
      tombstone_since: tombstoneSince,
    });
    this.#tombstoneSince = tombstoneSince;
    this.#keyStored = true;
  }

  /**
   * Persists a new state (or a deletion) atomically together with its outbox entry for the region
   * catalog and its idempotency record, delivers the change to the catalog before the write is
   * acknowledged (so a list read after the ack reflects it), then wakes the waiters it satisfies.
   * A failed delivery does not fail the write: the change is durable in the outbox and an alarm
   * retries it. With `carry` (the batch path), when an earlier change was committed here within
   * CARRIED_CONFIRM_MS, the change is not delivered here but answered, for the Worker to deliver
   * with the batch's others before it answers; its outbox row stays until an alarm confirms the
   * catalog has it.
   */
  async #commit(index: number, document: JsonObject | null, idem?: IdempotencyKey, source?: bigint, carry = false): Promise<WriteOutcome> {
    const key = this.#own();
    const compact = document ? this.document.encode(document) : null;
    const sourceIndex = this.#raisedSource(source);
    const kind = compact === null ? "delete" : "upsert";
    const modifyTime = nowUnixNanos();
    // A delete's entry describes the allocation as it was.
    const described = document ?? this.document.view();
    const stored: CatalogChange = {
      allocId: key.id,
      allocIndex: index,
      kind,
      modifyTime: modifyTime.toString(),
      allocation: compact ?? this.document.compact ?? "{}",
    };
    // The outbox row leaves the entry out (it holds the allocation a second time, in its event): a
    // row read back after a restart is delivered without it, and the catalog makes it from the allocation.
    const record = JSON.stringify(stored);
    const change: CatalogChange = described ? { ...stored, entry: catalogEntry(described, key.id, kind, modifyTime) } : stored;
    // Before anything is stored (the schema included): a write over the caps changes nothing.
    const tooLarge = compact === null ? undefined : oversized(compact, record);
    if (tooLarge) return tooLarge;
    this.#ensureSchema();
    const now = Date.now();
    const carrying = carry && now - this.#lastCommitAt < CARRIED_CONFIRM_MS;
    this.#lastCommitAt = now;
    // A carried change is recorded only after any earlier change still queued here.
    const after = carrying ? this.#outbox.newestQueued() : undefined;
    this.ctx.storage.transactionSync(() => {
      this.#outbox.add(index, key.region, record, change);
      this.#idempotency.remember(idem, JSON.stringify({ ok: true, index }));
      this.document.store(key.id, key.region, index, compact);
      if (compact === null) this.logs.clear();
      this.#storeClock(index, sourceIndex, compact === null ? Date.now() : null);
    });
    this.#sourceIndex = sourceIndex;
    this.document.hold(index, compact, document);
    if (compact === null) await this.#retention.schedule(this.#tombstoneSince ?? Date.now());
    if (carrying) await this.#confirmLater();
    else await this.#outbox.deliverOrRetry();
    const outcome: WriteOutcome = carrying
      ? { ok: true, index, carried: after === undefined ? change : { ...change, after } }
      : { ok: true, index };
    // Waiters are released in a task of their own, after this write is answered, so the writer's
    // acknowledgement never queues behind the responses of N parked readers. They answer once the
    // write is durable (the output gate) and its catalog delivery is done (a carried change's,
    // before the Worker delivers it, within the batch's answer): within milliseconds.
    // With nothing parked, no task is needed: a reader arriving from here on already sees this index.
    if (this.waiters.size === 0 && this.logs.followers.size === 0) return outcome;
    setTimeout(() => {
      this.waiters.release(index);
      // Log followers re-check whether their task died (or the allocation is gone).
      this.logs.wakeAll();
    }, 0);
    return outcome;
  }

  /** Sets the alarm that confirms carried changes' rows, unless one is set that comes sooner. */
  async #confirmLater(): Promise<void> {
    if (this.#confirmSet) return;
    const at = Date.now() + CARRIED_CONFIRM_MS;
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > at) await this.ctx.storage.setAlarm(at);
    this.#confirmSet = true;
  }

  /**
   * Delivers whatever the outbox holds before `answer` goes out: a write answered without a change
   * of its own (stale, or replayed) may repeat one whose carried delivery never happened (its
   * Worker died), and after the answer a list must reflect the state it names.
   */
  async #settled<Answer>(answer: Answer): Promise<Answer> {
    if (this.#schemaReady && this.#outbox.pending()) await this.#outbox.deliverOrRetry();
    return answer;
  }

  /** Delivers the outbox now: for a carried change the catalog could not record yet (an earlier one was still queued here). */
  async deliverOutbox(): Promise<void> {
    if (this.#schemaReady) await this.#outbox.deliverOrRetry();
  }

  /** The stored source index after a write carrying `source` (a write without one never lowers it). */
  #raisedSource(source: bigint | undefined): bigint | null {
    if (source === undefined) return this.#sourceIndex;
    return this.#sourceIndex === null || source > this.#sourceIndex ? source : this.#sourceIndex;
  }

  /**
   * The answer to a write whose source index is not above the stored one: not applied, and it
   * says so with the index of the current state (the tombstone's after a delete). Undefined to proceed.
   */
  #stale(source: bigint | undefined): WriteOutcome | undefined {
    if (source === undefined || this.#sourceIndex === null || source > this.#sourceIndex) return undefined;
    return this.#staleAnswer();
  }

  #staleAnswer(): WriteOutcome {
    return { ok: true, index: this.#snapshot(false).index, stale: true };
  }

  /** Retries undelivered catalog changes (after a failed delivery or a restart), then collects a tombstone that is due. */
  override async alarm(): Promise<void> {
    this.#confirmSet = false;
    await this.#outbox.deliver(true);
    await this.#collectIfDue();
  }

  /**
   * A tombstone past its retention (and with every change delivered) is reported to its catalog
   * shard, then all of this object's storage is deleted. Nothing else runs meanwhile, so no write
   * lands between the report and the deletion. Afterwards the object is as if never written: its
   * next write asks the catalog for its clock (`#admit`), which is above the tombstone's index.
   */
  async #collectIfDue(): Promise<void> {
    await this.ctx.blockConcurrencyWhile(async () => {
      if (!this.#schemaReady || this.document.compact !== null || !this.#keyStored) return;
      // A tombstone from before retention existed counts from now.
      const due = this.#retention.dueAt(this.#tombstoneSince ?? Date.now());
      if (Date.now() < due) return this.ctx.storage.setAlarm(due);
      if (this.#outbox.pending()) return this.#retention.retryLater();
      const key = this.#own();
      const tombstone = { allocId: key.id, allocIndex: this.clock.last, sourceIndex: this.#sourceIndex?.toString() ?? null };
      try {
        // Refused while the shard holds an admission lease (a batch may be creating this allocation under it).
        if (!(await catalogStubFor(this.env, config(this.env), key.region, key.id).collect(tombstone))) return this.#retention.retryLater();
      } catch (error) {
        console.warn("tombstone collection: the catalog did not answer; retrying", error);
        return this.#retention.retryLater();
      }
      await this.ctx.storage.deleteAll();
      this.#schemaReady = false;
      this.#sourceIndex = null;
      this.#tombstoneSince = null;
      this.#keyStored = false;
      this.clock.reset();
    });
  }

  /**
   * Before the first write of an object with no storage (never written, or collected): its catalog
   * shard's admission: the lease a batch carries while it is usable, else asked now. The clock
   * moves above the shard's index; the caller refuses a conditional create at or below the
   * collected watermark. An object that still holds its clock (a tombstone included) needs
   * neither: its own clock and source index are the authority.
   */
  async #admit(lease?: AdmissionLease): Promise<Admission> {
    const key = this.#own();
    const admission =
      lease !== undefined && leaseUsable(lease, Date.now())
        ? lease
        : await catalogStubFor(this.env, config(this.env), key.region, key.id).admission();
    this.clock.seed(admission.index);
    return admission;
  }

  /** The kept answer of an identical earlier write, or a refusal of a reused key; undefined to proceed. */
  #replay<Answer>(idem: IdempotencyKey | undefined): Answer | Refusal | undefined {
    // An object without a schema never stored a key.
    if (!this.#schemaReady) return undefined;
    return this.#idempotency.replay<Answer>(idem);
  }

  #snapshot(pretty: boolean): AllocationRead {
    return this.document.snapshot(pretty, Math.max(this.clock.last, NEVER_WRITTEN_INDEX));
  }

  /**
   * Reads the allocation, blocking Nomad-style: when `minIndex` > 0 and the allocation's index is
   * not above it, wait until a write moves it past `minIndex`, the wait runs out, or the caller
   * goes away (`signal`). Either way the answer is the state at that moment.
   */
  async read(query: ReadQuery, signal?: AbortSignal): Promise<ReadResult> {
    const { minIndex } = query;
    if (minIndex === 0n || BigInt(this.#snapshot(false).index) > minIndex) return this.#snapshot(query.pretty);
    const refused = this.waiters.refusal(query.caller ?? "", waiterLimits(this.env));
    if (refused) return cannotPark(refused);
    await this.waiters.wait(minIndex, query.waitMs, signal, query.caller);
    return this.#snapshot(query.pretty);
  }

  /**
   * Creates or replaces the allocation. `document` is a validated, normalized Allocation (JSON
   * text); `sourceIndex` (decimal uint64), when given, makes the write conditional: applied only
   * when above the stored source index, so a retried or reordered write never replaces newer
   * state nor resurrects a newer delete. `carry` and `lease`: the batch path (its carried catalog
   * delivery, and its shard's admission lease for a create).
   */
  async put(
    document: string,
    keepTaskStates: boolean,
    idem?: IdempotencyKey,
    sourceIndex?: string,
    carry = false,
    lease?: AdmissionLease,
  ): Promise<WriteOutcome> {
    const source = sourceIndex === undefined ? undefined : BigInt(sourceIndex);
    if (!this.#schemaReady) {
      const admission = await this.#admit(lease);
      // Unless a write created it meanwhile, this creates it: below the watermark, it is stale.
      if (!this.#schemaReady && belowWatermark(admission, source)) return this.#staleAnswer();
    }
    // An object without storage holds no key; one written while the catalog answered may.
    const seen = this.#replay<WriteOutcome>(idem);
    if (seen) return this.#settled(seen);
    const stale = this.#stale(source);
    if (stale) return this.#settled(stale);
    const next = parseJson(document, { maxDepth: 256 }) as JsonObject;
    const index = this.clock.next();
    // Read-only: only values are taken over from it (the next state is a fresh decode of `document`).
    stampPut(next, this.document.view(), { id: this.#own().id, index, keepTaskStates, now: nowUnixNanos });
    return this.#commit(index, next, idem, source, carry);
  }

  /** Applies a batch of task events as one change. `updates` is a validated TaskEventUpdate[] (JSON text). */
  async appendTaskEvents(updates: string, idem?: IdempotencyKey): Promise<WriteOutcome> {
    const seen = this.#replay<WriteOutcome>(idem);
    if (seen) return seen;
    const allocation = this.document.current();
    if (!allocation) return { ok: false, status: 404, message: ErrorText.allocNotFound };
    const now = nowUnixNanos();
    try {
      applyTaskEvents(allocation, parseJson(updates, { maxDepth: 256 }) as unknown as TaskEventUpdate[], now);
    } catch (error) {
      return refusalOf(error);
    }
    const index = this.clock.next();
    allocation.ModifyIndex = JsonNumber.of(index);
    allocation.ModifyTime = JsonNumber.of(now);
    return this.#commit(index, allocation, idem);
  }

  /**
   * Garbage-collects the allocation; its index clock survives so later reads report a larger
   * index. With `sourceIndex` (the source index at which it was seen gone) the delete is
   * conditional like a PUT, and the tombstone keeps that index: a late PUT of an older state is
   * stale. A conditional delete of an allocation that is not here still records its source index
   * (and answers 404), so a PUT that was overtaken by the delete cannot create it afterwards.
   */
  async remove(idem?: IdempotencyKey, sourceIndex?: string, carry = false): Promise<WriteOutcome> {
    const seen = this.#replay<WriteOutcome>(idem);
    if (seen) return this.#settled(seen);
    const source = sourceIndex === undefined ? undefined : BigInt(sourceIndex);
    const stale = this.#stale(source);
    if (stale) return this.#settled(stale);
    if (this.document.compact === null) {
      if (source !== undefined && (this.#schemaReady || !belowWatermark(await this.#admit(), source))) {
        await this.#recordAbsentDelete(source);
      }
      return { ok: false, status: 404, message: ErrorText.allocNotFound };
    }
    return this.#commit(this.clock.next(), null, idem, source, carry);
  }

  /**
   * A conditional delete of an allocation that is not here (and not covered by the watermark)
   * records its source index: a tombstone without a delete, collected like one.
   */
  async #recordAbsentDelete(source: bigint): Promise<void> {
    // A write may have created it, or raised the source index, while the catalog answered.
    if (this.document.compact !== null || (this.#sourceIndex !== null && source <= this.#sourceIndex)) return;
    this.#ensureSchema();
    const since = this.#tombstoneSince ?? Date.now();
    this.ctx.storage.transactionSync(() => this.#storeClock(this.clock.last, source, since));
    this.#sourceIndex = source;
    await this.#retention.schedule(since);
  }

  /**
   * Appends raw bytes to a task's log stream; answers the stream's new end offset (the total bytes
   * ever appended to it). With `expected` (the writer's `X-Log-Offset`), the append happens only if
   * exactly that many bytes were appended before; otherwise nothing is written and the answer is a
   * 409 carrying the current total, so a retried append is never written twice.
   */
  appendLog(
    task: string,
    type: LogType,
    bytes: Uint8Array,
    idem?: IdempotencyKey,
    expected?: number,
  ): { ok: true; offset: number } | Refusal {
    const seen = this.#replay<{ ok: true; offset: number }>(idem);
    if (seen) return seen;
    return this.logs.append(this.#own().id, task, type, bytes, logRetention(this.env), expected, (end) =>
      this.#idempotency.remember(idem, JSON.stringify({ ok: true, offset: end })),
    );
  }

  /** Opens a task's log stream, or refuses with Nomad's logs errors (checked before any byte is sent). */
  openLogs(query: LogQuery, signal?: AbortSignal): { ok: true; stream: ReadableStream<Uint8Array> } | Refusal {
    return this.logs.open(this.#own().id, query, signal);
  }
}
