/**
 * One allocation per Durable Object: its document in SQLite, its index clock, and the waiters of
 * blocking queries, which live in memory and are woken by writes (never by polling).
 *
 * Indexes are a hybrid logical clock in milliseconds: each change takes
 * max(last index + 1, now in ms). That keeps ModifyIndex strictly increasing across writes,
 * deletes and restarts (the last index is stored), never 0, and roughly comparable across
 * allocations; the region's catalog (region-catalog.ts) keeps the region-wide index on the same
 * clock (docs/architecture.md).
 */
import { DurableObject } from "cloudflare:workers";
import { allowsNamespace } from "../acl/policy.ts";
import { config } from "../config.ts";
import { catalogEntry } from "../domain/catalog-entry.ts";
import { shardOf } from "../domain/catalog-shard.ts";
import { namespaceOf } from "../domain/namespace.ts";
import { applyTaskEvents, type TaskEventUpdate, taskNames } from "../domain/task-state.ts";
import { CodedError, ErrorText } from "../errors.ts";
import { encodeJson, isJsonObject, JsonNumber, type JsonObject, parseJson } from "../json/codec.ts";
import { nowUnixNanos, ZERO_TIME } from "../json/go-time.ts";
import type { CatalogChange } from "./catalog-change.ts";
import {
  type AllocationKey,
  type LogQuery,
  logOffsetMismatch,
  type ReadQuery,
  type ReadResult,
  type Refusal,
  type WriteOutcome,
} from "./contract.ts";
import { oversized } from "./document-cap.ts";
import { type IdempotencyKey, IdempotencyLog } from "./idempotency.ts";
import { LogStore, type LogType } from "./log-store.ts";
import { type LogFollower, openLogStream, SharedLogReads } from "./log-stream.ts";
import { ALLOCATION_MIGRATIONS, hasSchema, migrate } from "./migrations.ts";
import { catalogStub } from "./stub.ts";
import { Waiters, waiterLimits } from "./waiters.ts";

/** Default bytes kept per log stream when LOG_RETENTION_BYTES is unset: 10 MiB. */
const DEFAULT_LOG_RETENTION = 10 * 1024 * 1024;

/** Delay before retrying a failed delivery to the region catalog. */
const OUTBOX_RETRY_MS = 1000;

interface Document {
  index: number;
  compact: string;
  pretty?: string;
  /** The decoded document, for read-only use (log appends and follows): decoded once per index. */
  view?: JsonObject;
  namespace?: string;
}

/** Index reported when the allocation never existed here: Nomad clients treat 0 as "do not block". */
const NEVER_WRITTEN_INDEX = 1;

export class AllocationObject extends DurableObject<Env> {
  #doc: Document | null = null;
  #lastIndex = 0;
  /** The highest source (Nomad) index applied, also after a delete; null while no write carried one. */
  #sourceIndex: bigint | null = null;
  /** How many times a document was encoded: once per index (plus once for pretty), never per waiter. */
  #encodes = 0;
  readonly #waiters = new Waiters();
  readonly #logFollowers = new Set<LogFollower>();
  #draining: Promise<void> | undefined;
  #drainAgain = false;
  readonly #logs: LogStore;
  readonly #logReads: SharedLogReads;
  readonly #idempotency: IdempotencyLog;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#logs = new LogStore(ctx.storage.sql);
    this.#logReads = new SharedLogReads(this.#logs);
    this.#idempotency = new IdempotencyLog(ctx.storage.sql);
    ctx.blockConcurrencyWhile(async () => {
      // An object that was only ever read has no schema and stays that way: reads of unknown ids
      // must not leave anything stored. The schema is created by the first write.
      if (!hasSchema(ctx.storage.sql)) return;
      this.#ensureSchema();
      this.#load();
      // Changes committed before a crash but not yet delivered go out as soon as possible.
      if (ctx.storage.sql.exec("SELECT 1 FROM catalog_outbox LIMIT 1").toArray().length > 0) await ctx.storage.setAlarm(Date.now());
    });
  }

  #schemaReady = false;

  #ensureSchema(): void {
    if (this.#schemaReady) return;
    migrate(this.ctx.storage.sql, ALLOCATION_MIGRATIONS);
    this.#schemaReady = true;
  }

  #load(): void {
    const sql = this.ctx.storage.sql;
    const clock = sql
      .exec<{ last_index: number; source_index: string | null }>("SELECT last_index, source_index FROM index_clock")
      .toArray()[0];
    this.#lastIndex = clock?.last_index ?? 0;
    this.#sourceIndex = clock?.source_index == null ? null : BigInt(clock.source_index);
    const row = sql.exec<{ body: string; modify_index: number }>("SELECT body, modify_index FROM allocation").toArray()[0];
    this.#doc = row ? { index: row.modify_index, compact: row.body } : null;
  }

  /** The next index of the hybrid logical clock. */
  #nextIndex(): number {
    return Math.max(this.#lastIndex + 1, Date.now());
  }

  /**
   * Persists a new state (or a deletion) atomically together with its outbox entry for the region
   * catalog and its idempotency record, delivers the change to the catalog before the write is
   * acknowledged (so a list read after the ack reflects it), then wakes the waiters it satisfies.
   * A failed delivery does not fail the write: the change is durable in the outbox and an alarm
   * retries it.
   */
  async #commit(
    key: AllocationKey,
    index: number,
    document: JsonObject | null,
    idem?: IdempotencyKey,
    source?: bigint,
  ): Promise<WriteOutcome> {
    const compact = document ? encodeJson(document) : null;
    const sourceIndex = this.#raisedSource(source);
    if (compact !== null) this.#encodes++;
    const kind = compact === null ? "delete" : "upsert";
    const modifyTime = nowUnixNanos();
    // A delete's entry describes the allocation as it was.
    const described = document ?? this.#view();
    const change: CatalogChange = {
      allocId: key.id,
      allocIndex: index,
      kind,
      modifyTime: modifyTime.toString(),
      allocation: compact ?? this.#doc?.compact ?? "{}",
      ...(described ? { entry: catalogEntry(described, key.id, kind, modifyTime) } : {}),
    };
    const record = JSON.stringify(change);
    // Before anything is stored (the schema included): a write over the caps changes nothing.
    const tooLarge = compact === null ? undefined : oversized(compact, record);
    if (tooLarge) return tooLarge;
    this.#ensureSchema();
    this.ctx.storage.transactionSync(() => {
      const sql = this.ctx.storage.sql;
      sql.exec("INSERT INTO catalog_outbox (alloc_index, region, change) VALUES (?, ?, ?)", index, key.region, record);
      this.#idempotency.remember(idem, JSON.stringify({ ok: true, index }));
      this.#writeClock(index, sourceIndex);
      if (compact === null) {
        sql.exec("DELETE FROM allocation");
        this.#logs.clear();
      } else
        sql.exec(
          `INSERT INTO allocation (singleton, id, region, body, modify_index) VALUES (1, ?, ?, ?, ?)
           ON CONFLICT (singleton) DO UPDATE SET id = excluded.id, region = excluded.region, body = excluded.body, modify_index = excluded.modify_index`,
          key.id,
          key.region,
          compact,
          index,
        );
    });
    this.#lastIndex = index;
    this.#sourceIndex = sourceIndex;
    // The document just encoded is the decoded view of the new state (never changed afterwards).
    this.#doc = compact === null || document === null ? null : { index, compact, view: document };
    await this.#deliverOutbox().catch((error: unknown) => {
      console.warn("catalog delivery failed; retrying from the outbox", error);
      return this.ctx.storage.setAlarm(Date.now() + OUTBOX_RETRY_MS);
    });
    // Waiters are released in a task of their own, after this write is answered, so the writer's
    // acknowledgement never queues behind the responses of N parked readers. They answer once the
    // write is durable (the output gate) and its catalog delivery is done: within milliseconds.
    setTimeout(() => {
      this.#waiters.release(index);
      // Log followers re-check whether their task died (or the allocation is gone).
      for (const follower of this.#logFollowers) follower.wake();
    }, 0);
    return { ok: true, index };
  }

  #writeClock(index: number, sourceIndex: bigint | null): void {
    this.ctx.storage.sql.exec(
      `INSERT INTO index_clock (singleton, last_index, source_index) VALUES (1, ?, ?)
       ON CONFLICT (singleton) DO UPDATE SET last_index = excluded.last_index, source_index = excluded.source_index`,
      index,
      sourceIndex === null ? null : sourceIndex.toString(),
    );
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
    return { ok: true, index: this.#snapshot(false).index, stale: true };
  }

  /**
   * Delivers outbox entries to the region catalog in index order, one drain at a time; a caller
   * arriving mid-drain waits for a drain that includes its own entry.
   */
  #deliverOutbox(): Promise<void> {
    this.#drainAgain = true;
    this.#draining ??= (async () => {
      try {
        while (this.#drainAgain) {
          this.#drainAgain = false;
          const sql = this.ctx.storage.sql;
          const rows = sql.exec<{ alloc_index: number; region: string; change: string }>(
            "SELECT alloc_index, region, change FROM catalog_outbox ORDER BY alloc_index",
          );
          const cfg = config(this.env);
          for (const row of rows.toArray()) {
            const change = JSON.parse(row.change) as CatalogChange;
            const slot = { shard: shardOf(change.allocId.replaceAll("-", ""), cfg.catalogShards), shards: cfg.catalogShards };
            await catalogStub(this.env, cfg, row.region, slot.shard).record(change, slot);
            sql.exec("DELETE FROM catalog_outbox WHERE alloc_index = ?", row.alloc_index);
          }
        }
      } finally {
        this.#draining = undefined;
      }
    })();
    return this.#draining;
  }

  /** Retries undelivered catalog changes (after a failed delivery or a restart). */
  override async alarm(): Promise<void> {
    await this.#deliverOutbox();
  }

  /** The kept answer of an identical earlier write, or a refusal of a reused key; undefined to proceed. */
  #replay(idem: IdempotencyKey | undefined): WriteOutcome | undefined {
    // An object without a schema never stored a key.
    if (!idem || !this.#schemaReady) return undefined;
    const seen = this.#idempotency.check(idem);
    if (!seen) return undefined;
    return "replay" in seen ? (JSON.parse(seen.replay) as WriteOutcome) : seen;
  }

  /** A fresh decoded copy of the allocation, for a write to change. */
  #current(): JsonObject | null {
    if (!this.#doc) return null;
    const parsed = parseJson(this.#doc.compact, { maxDepth: 256 });
    return isJsonObject(parsed) ? parsed : null;
  }

  /** The decoded allocation shared by readers; never to be changed. */
  #view(): JsonObject | null {
    const doc = this.#doc;
    if (!doc) return null;
    doc.view ??= this.#current() ?? undefined;
    return doc.view ?? null;
  }

  #snapshot(pretty: boolean): ReadResult {
    const doc = this.#doc;
    if (!doc) return { index: Math.max(this.#lastIndex, NEVER_WRITTEN_INDEX), body: null };
    doc.namespace ??= namespaceOf(this.#view());
    if (!pretty) return { index: doc.index, body: doc.compact, namespace: doc.namespace };
    // Encoded once per index and shared by every pretty reader.
    if (doc.pretty === undefined) {
      doc.pretty = encodeJson(parseJson(doc.compact, { maxDepth: 256 }), true);
      this.#encodes++;
    }
    return { index: doc.index, body: doc.pretty, namespace: doc.namespace };
  }

  /**
   * Reads the allocation, blocking Nomad-style: when `minIndex` > 0 and the allocation's index is
   * not above it, wait until a write moves it past `minIndex`, the wait runs out, or the caller
   * goes away (`signal`). Either way the answer is the state at that moment.
   */
  async read(query: ReadQuery, signal?: AbortSignal): Promise<ReadResult> {
    const minIndex = BigInt(query.minIndex);
    if (minIndex === 0n || BigInt(this.#snapshot(false).index) > minIndex) return this.#snapshot(query.pretty);
    const refused = this.#waiters.refusal(query.caller ?? "", waiterLimits(this.env));
    if (refused) return { ...this.#snapshot(false), body: null, refused };
    await this.#waiters.wait(minIndex, query.waitMs, signal, query.caller);
    return this.#snapshot(query.pretty);
  }

  /** Creates or replaces the allocation. `document` is a validated, normalized Allocation (JSON text). */
  /**
   * Creates or replaces the allocation. `document` is a validated, normalized Allocation (JSON
   * text); `sourceIndex` (decimal uint64), when given, makes the write conditional: applied only
   * when above the stored source index, so a retried or reordered write never replaces newer
   * state nor resurrects a newer delete.
   */
  async put(
    key: AllocationKey,
    document: string,
    keepTaskStates: boolean,
    idem?: IdempotencyKey,
    sourceIndex?: string,
  ): Promise<WriteOutcome> {
    const seen = this.#replay(idem);
    if (seen) return seen;
    const source = sourceIndex === undefined ? undefined : BigInt(sourceIndex);
    const stale = this.#stale(source);
    if (stale) return stale;
    const next = parseJson(document, { maxDepth: 256 }) as JsonObject;
    // Read-only: only values are taken over from it (the next state is a fresh decode of `document`).
    const current = this.#view();
    if (keepTaskStates) next.TaskStates = current?.TaskStates ?? null;
    const index = this.#nextIndex();
    next.ID = key.id;
    next.CreateIndex = current?.CreateIndex ?? JsonNumber.of(index);
    next.ModifyIndex = JsonNumber.of(index);
    next.AllocModifyIndex = JsonNumber.of(index);
    const createTime = next.CreateTime instanceof JsonNumber ? next.CreateTime.toBigInt() : 0n;
    if (createTime === 0n) next.CreateTime = current?.CreateTime ?? JsonNumber.of(nowUnixNanos());
    // The writer's own time (a mirrored cluster's) is kept; else the time of this write.
    const modifyTime = next.ModifyTime instanceof JsonNumber ? next.ModifyTime.toBigInt() : 0n;
    if (modifyTime === 0n) next.ModifyTime = JsonNumber.of(nowUnixNanos());
    return this.#commit(key, index, next, idem, source);
  }

  /** Applies a batch of task events as one change. `updates` is a validated TaskEventUpdate[] (JSON text). */
  async appendTaskEvents(key: AllocationKey, updates: string, idem?: IdempotencyKey): Promise<WriteOutcome> {
    const seen = this.#replay(idem);
    if (seen) return seen;
    const allocation = this.#current();
    if (!allocation) return { ok: false, status: 404, message: ErrorText.allocNotFound };
    const now = nowUnixNanos();
    try {
      applyTaskEvents(allocation, parseJson(updates, { maxDepth: 256 }) as unknown as TaskEventUpdate[], now);
    } catch (error) {
      if (error instanceof CodedError) return { ok: false, status: error.status, message: error.message };
      throw error;
    }
    const index = this.#nextIndex();
    allocation.ModifyIndex = JsonNumber.of(index);
    allocation.ModifyTime = JsonNumber.of(now);
    return this.#commit(key, index, allocation, idem);
  }

  /**
   * Garbage-collects the allocation; its index clock survives so later reads report a larger
   * index. With `sourceIndex` (the source index at which it was seen gone) the delete is
   * conditional like a PUT, and the tombstone keeps that index: a late PUT of an older state is
   * stale. A conditional delete of an allocation that is not here still records its source index
   * (and answers 404), so a PUT that was overtaken by the delete cannot create it afterwards.
   */
  async remove(key: AllocationKey, idem?: IdempotencyKey, sourceIndex?: string): Promise<WriteOutcome> {
    const seen = this.#replay(idem);
    if (seen) return seen;
    const source = sourceIndex === undefined ? undefined : BigInt(sourceIndex);
    const stale = this.#stale(source);
    if (stale) return stale;
    if (!this.#doc) {
      if (source !== undefined) {
        this.#ensureSchema();
        this.ctx.storage.transactionSync(() => this.#writeClock(this.#lastIndex, source));
        this.#sourceIndex = source;
      }
      return { ok: false, status: 404, message: ErrorText.allocNotFound };
    }
    return this.#commit(key, this.#nextIndex(), null, idem, source);
  }

  /** The allocation and the task's state, or the refusal Nomad's logs API gives. */
  #logTask(key: AllocationKey, task: string, requireStarted: boolean, access?: LogQuery["access"]): Refusal | undefined {
    const allocation = this.#view();
    if (!allocation) return { ok: false, status: 404, message: `Unknown allocation ${JSON.stringify(key.id)}` };
    // Nomad checks read-logs/read-fs in the allocation's namespace once it found the allocation.
    if (access && !allowsNamespace(access.acl, namespaceOf(allocation), access.anyOf)) {
      return { ok: false, status: 403, message: ErrorText.permissionDenied };
    }
    let known: Set<string>;
    try {
      known = taskNames(allocation);
    } catch (error) {
      if (error instanceof CodedError) return { ok: false, status: error.status, message: error.message };
      throw error;
    }
    if (!known.has(task)) return { ok: false, status: 400, message: `unknown task name ${JSON.stringify(task)}` };
    if (!requireStarted) return undefined;
    const states = isJsonObject(allocation.TaskStates) ? allocation.TaskStates : {};
    const state = states[task];
    if (!isJsonObject(state) || state.StartedAt === ZERO_TIME) {
      return { ok: false, status: 404, message: `task ${JSON.stringify(task)} not started yet. No logs available` };
    }
    return undefined;
  }

  #taskFinished(task: string): boolean {
    const allocation = this.#view();
    if (!allocation) return true;
    const states = isJsonObject(allocation.TaskStates) ? allocation.TaskStates : {};
    const state = states[task];
    return isJsonObject(state) && state.State === "dead";
  }

  /**
   * Appends raw bytes to a task's log stream; answers the stream's new end offset (the total bytes
   * ever appended to it). With `expected` (the writer's `X-Log-Offset`), the append happens only if
   * exactly that many bytes were appended before; otherwise nothing is written and the answer is a
   * 409 carrying the current total, so a retried append is never written twice.
   */
  appendLog(
    key: AllocationKey,
    task: string,
    type: LogType,
    bytes: Uint8Array,
    idem?: IdempotencyKey,
    expected?: number,
  ): { ok: true; offset: number } | Refusal {
    const seen = this.#replay(idem);
    if (seen) return seen as { ok: true; offset: number } | Refusal;
    const refusal = this.#logTask(key, task, false);
    if (refusal) return refusal;
    if (expected !== undefined) {
      const { end } = this.#logs.bounds(task, type);
      if (end !== expected) return logOffsetMismatch(expected, end);
    }
    const retention = Number(this.env.LOG_RETENTION_BYTES) || DEFAULT_LOG_RETENTION;
    const offset = this.ctx.storage.transactionSync(() => {
      const end = this.#logs.append(task, type, bytes, retention);
      this.#idempotency.remember(idem, JSON.stringify({ ok: true, offset: end }));
      return end;
    });
    for (const follower of this.#logFollowers) {
      if (follower.task === task && follower.type === type) follower.wake();
    }
    return { ok: true, offset };
  }

  /** Opens a task's log stream, or refuses with Nomad's logs errors (checked before any byte is sent). */
  openLogs(key: AllocationKey, query: LogQuery, signal?: AbortSignal): { ok: true; stream: ReadableStream<Uint8Array> } | Refusal {
    const refusal = this.#logTask(key, query.task, true, query.access);
    if (refusal) return refusal;
    const { floor, end } = this.#logs.bounds(query.task, query.type);
    const requested = query.origin === "end" ? end - query.offset : query.offset;
    const start = Math.min(Math.max(requested, floor), end);
    const stream = openLogStream({
      store: this.#logs,
      reads: this.#logReads,
      task: query.task,
      type: query.type,
      start,
      follow: query.follow,
      plain: query.plain,
      finished: () => this.#taskFinished(query.task),
      followers: this.#logFollowers,
      signal,
    });
    return { ok: true, stream };
  }

  /** Live counters for tests and benchmarks. */
  stats(): {
    waiters: number;
    index: number;
    encodes: number;
    logFollowers: number;
    /** Log stream reads that went to SQLite, reads answered with bytes another stream read, frames encoded. */
    logReads: number;
    logReadsShared: number;
    logFrames: number;
  } {
    const { reads, shared, frames } = this.#logReads.counts;
    return {
      waiters: this.#waiters.size,
      index: this.#snapshot(false).index,
      encodes: this.#encodes,
      logFollowers: this.#logFollowers.size,
      logReads: reads,
      logReadsShared: shared,
      logFrames: frames,
    };
  }
}
