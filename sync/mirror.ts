/**
 * The mirror: newest Nomad state per allocation, coalesced, written to the edge.
 *
 * Whatever the source (an event-stream payload, a list stub, a fetched allocation), a state is
 * accepted only when its `ModifyIndex` is above what the edge already acknowledged and what is
 * already queued, so memory is O(allocations) however fast Nomad changes, and the order in which
 * the stream and the lists deliver things does not matter. Allocations are written in batches, at
 * most one write per allocation in flight; each write carries its Nomad `ModifyIndex` as the
 * source index, so the edge itself refuses anything older than what it holds.
 *
 * Event payloads have `Job: null` (hashicorp/nomad nomad/state/events.go, `eventFromChange`, case
 * "allocs": "remove job info to help keep size of alloc event down"). The edge keeps complete
 * documents, so the Job is taken from a small cache when the allocation's `AllocModifyIndex`
 * (bumped by server-side changes such as a new Job, never by client updates: nomad/structs/alloc.go)
 * and job version are those already mirrored, and fetched with the allocation otherwise.
 */
import { encodeJson, isJsonObject, type JsonObject, type JsonValue } from "../src/json/codec.ts";
import { sleep } from "./backoff.ts";
import type { EdgeChange, EdgeClient, EdgeOutcome } from "./edge.ts";
import type { Metrics } from "./metrics.ts";
import { type NomadClient, type NomadList, type NomadStub, text, uint } from "./nomad.ts";
import type { AllocMark, SyncState } from "./state.ts";

interface PendingPut {
  op: "put";
  id: string;
  namespace: string;
  modifyIndex: bigint;
  /** The state as Nomad sent it (an event payload, Job null), or undefined: fetch it. */
  doc?: JsonObject;
  since: number;
}

interface PendingDelete {
  op: "delete";
  id: string;
  namespace: string;
  sourceIndex: bigint;
  since: number;
}

type Pending = PendingPut | PendingDelete;

interface ReconcileSummary {
  nomad: number;
  edge: number;
  queued: number;
  gone: number;
  deletes: number;
  index: bigint;
}

/** Callback for an allocation state the edge acknowledged (the log shipper follows its tasks). */
type OnMirrored = (id: string, doc: JsonObject) => void;

const JOB_CACHE_ENTRIES = 256;

function jobKey(namespace: string, doc: JsonObject): string | undefined {
  const job = doc.Job;
  if (!isJsonObject(job)) return undefined;
  return `${namespace}\u0000${text(job.ID)}\u0000${uint(job.Version)}\u0000${uint(job.ModifyIndex)}\u0000${uint(job.JobModifyIndex)}`;
}

export class Mirror {
  readonly #state: SyncState;
  readonly #nomad: NomadClient;
  readonly #edge: EdgeClient;
  readonly #metrics: Metrics;
  readonly #batchSize: number;
  readonly #maxInflight: number;
  readonly #signal: AbortSignal;
  readonly #pending = new Map<string, Pending>();
  readonly #inflight = new Set<string>();
  /** Job bodies by (namespace, job id, version, modify indexes), most recently used last. */
  readonly #jobs = new Map<string, JsonValue>();
  /** Job key of each allocation's mirrored state (memory only: after a restart, the first change fetches). */
  readonly #jobOf = new Map<string, string>();
  #batches = 0;
  readonly #writing = new Set<Promise<void>>();
  /** Allocation changes the edge acknowledged since start (for progress lines). */
  written = 0;
  #wake: (() => void) | undefined;
  #idle: Array<() => void> = [];
  #stateChanged: () => void;
  #onMirrored: OnMirrored;
  /** Highest Nomad index seen; the cursor follows it once nothing is pending. */
  #seenIndex: bigint;
  #lastChange = 0;

  constructor(options: {
    state: SyncState;
    nomad: NomadClient;
    edge: EdgeClient;
    metrics: Metrics;
    batchSize: number;
    maxInflight: number;
    signal: AbortSignal;
    stateChanged: () => void;
    onMirrored: OnMirrored;
  }) {
    this.#state = options.state;
    this.#nomad = options.nomad;
    this.#edge = options.edge;
    this.#metrics = options.metrics;
    this.#batchSize = options.batchSize;
    this.#maxInflight = options.maxInflight;
    this.#signal = options.signal;
    this.#stateChanged = options.stateChanged;
    this.#onMirrored = options.onMirrored;
    this.#seenIndex = BigInt(this.#state.cursor);
  }

  get pendingCount(): number {
    return this.#pending.size + this.#inflight.size;
  }

  get mirroredCount(): number {
    let n = 0;
    for (const mark of Object.values(this.#state.allocs)) if (!mark.gone && mark.s !== "0") n++;
    return n;
  }

  /** Whether the edge acknowledged some state of this allocation (so its logs can be appended). */
  isMirrored(id: string): boolean {
    const mark = this.#state.allocs[id];
    return mark !== undefined && mark.s !== "0" && !mark.gone;
  }

  /** Lowest index any queued or mirrored state must exceed to be accepted. */
  #floor(id: string): bigint {
    const mark = this.#state.allocs[id];
    let floor = mark ? BigInt(mark.s) : 0n;
    if (mark?.rejected !== undefined && BigInt(mark.rejected) > floor) floor = BigInt(mark.rejected);
    const queued = this.#pending.get(id);
    if (queued?.op === "put" && queued.modifyIndex > floor) floor = queued.modifyIndex;
    return floor;
  }

  /** Notes a Nomad index (an event batch's or a list's). */
  seen(index: bigint): void {
    if (index > this.#seenIndex) this.#seenIndex = index;
    this.#updateCursor();
  }

  /** An allocation state from the event stream (its `Allocation` payload). */
  offerEvent(doc: JsonObject): void {
    const id = text(doc.ID);
    const modifyIndex = uint(doc.ModifyIndex);
    if (id === "" || modifyIndex <= this.#floor(id)) return;
    this.#queue({ op: "put", id, namespace: text(doc.Namespace) || "default", modifyIndex, doc, since: Date.now() });
  }

  /** An allocation as a list shows it: queued (to be fetched) when it is newer than what the edge has. */
  #offerStub(stub: NomadStub, force: boolean): boolean {
    const mark = this.#state.allocs[stub.id];
    const newer = stub.modifyIndex > this.#floor(stub.id);
    const versionMoved = mark !== undefined && mark.v !== stub.jobVersion.toString() && stub.modifyIndex > BigInt(mark.s);
    if (!newer && !force && !versionMoved) return false;
    const queued = this.#pending.get(stub.id);
    if (queued?.op === "put" && queued.modifyIndex >= stub.modifyIndex && !force) return false;
    this.#queue({ op: "put", id: stub.id, namespace: stub.namespace, modifyIndex: stub.modifyIndex, since: Date.now() });
    return true;
  }

  #queue(entry: Pending): void {
    this.#pending.set(entry.id, entry);
    this.#lastChange = Date.now();
    this.#metrics.dirty.set(this.pendingCount);
    this.#wake?.();
  }

  /**
   * Compares Nomad's list with the edge's and queues what differs: allocations the edge lacks or
   * holds older, and deletes of allocations Nomad no longer lists once they have been gone for
   * `gcRetainMs`. Nomad emits no event when an allocation is garbage-collected (eventFromChange
   * has no "allocs" case for deletions), so this comparison is the only way to see it.
   */
  reconcile(nomad: NomadList, edgeIds: ReadonlyMap<string, string>, namespace: string, gcRetainMs: number): ReconcileSummary {
    this.#metrics.reconciles.inc();
    this.seen(nomad.index);
    const now = Date.now();
    const listed = new Map<string, NomadStub>();
    let queued = 0;
    for (const stub of nomad.allocations) {
      listed.set(stub.id, stub);
      const mark = this.#state.allocs[stub.id];
      if (mark?.gone) {
        delete mark.gone;
        this.#stateChanged();
      }
      // The edge lost it (or never had it) although it was acknowledged: write it again.
      const missing = !edgeIds.has(stub.id) && !this.#inflight.has(stub.id) && mark !== undefined && mark.s !== "0";
      if (missing && mark) {
        mark.s = "0";
        mark.rejected = undefined;
      }
      if (this.#offerStub(stub, missing)) queued++;
    }
    let gone = 0;
    let deletes = 0;
    for (const [id, ns] of edgeIds) {
      if (listed.has(id)) continue;
      if (namespace !== "*" && ns !== namespace) continue;
      const mark = this.#state.allocs[id];
      // Written after this list was taken (created since): not gone.
      if (mark && BigInt(mark.s) > nomad.index) continue;
      const queuedPut = this.#pending.get(id);
      if (this.#inflight.has(id) || (queuedPut?.op === "put" && queuedPut.modifyIndex > nomad.index)) continue;
      gone++;
      const kept: AllocMark = mark ?? { n: ns, s: "0", a: "0", v: "0" };
      this.#state.allocs[id] = kept;
      if (!kept.gone) {
        kept.gone = { at: now, index: nomad.index.toString() };
        this.#stateChanged();
      }
      if (now - kept.gone.at >= gcRetainMs) {
        deletes++;
        this.#queue({ op: "delete", id, namespace: ns, sourceIndex: BigInt(kept.gone.index), since: now });
      }
    }
    // Marks of allocations neither side has any more.
    for (const id of Object.keys(this.#state.allocs)) {
      if (!listed.has(id) && !edgeIds.has(id) && !this.#pending.has(id) && !this.#inflight.has(id)) {
        delete this.#state.allocs[id];
        this.#jobOf.delete(id);
        this.#stateChanged();
      }
    }
    this.#metrics.known.set(listed.size);
    return { nomad: listed.size, edge: edgeIds.size, queued, gone, deletes, index: nomad.index };
  }

  /** Writes queued changes until stopped. */
  async run(): Promise<void> {
    while (!this.#signal.aborted) {
      const ready = [...this.#pending.values()].filter((p) => !this.#inflight.has(p.id));
      if (ready.length === 0 || this.#batches >= this.#maxInflight) {
        if (this.pendingCount === 0) this.#settle();
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
          this.#signal.addEventListener("abort", () => resolve(), { once: true });
        });
        this.#wake = undefined;
        continue;
      }
      // Deletes go in their own batches, after puts, so a batch's Job fetches are not held up.
      const batch = ready.slice(0, this.#batchSize);
      for (const entry of batch) {
        this.#inflight.add(entry.id);
        this.#pending.delete(entry.id);
      }
      this.#batches++;
      const writing: Promise<void> = this.#write(batch)
        .catch((error: unknown) => console.log(`edge write failed: ${(error as Error).message}`))
        .finally(() => {
          this.#batches--;
          this.#writing.delete(writing);
          this.#metrics.dirty.set(this.pendingCount);
          this.#wake?.();
        });
      this.#writing.add(writing);
    }
    // Stopping: the writes already sent finish (their acknowledgements are recorded and saved).
    await Promise.all(this.#writing);
  }

  /** Resolves once nothing is queued or in flight. */
  drained(): Promise<void> {
    if (this.pendingCount === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  #settle(): void {
    this.#updateCursor();
    const waiting = this.#idle;
    this.#idle = [];
    for (const resolve of waiting) resolve();
  }

  #updateCursor(): void {
    if (this.pendingCount !== 0) return;
    const cursor = this.#seenIndex.toString();
    if (cursor !== this.#state.cursor && this.#seenIndex > BigInt(this.#state.cursor)) {
      this.#state.cursor = cursor;
      this.#stateChanged();
    }
    this.#metrics.cursor.set(Number(this.#state.cursor));
    this.#metrics.nomadIndex.set(Number(this.#seenIndex));
    this.#metrics.lag.set(Number(this.#seenIndex - BigInt(this.#state.cursor)));
  }

  /** The full document to PUT: the payload with its Job from the cache, or the allocation fetched from Nomad. */
  async #complete(entry: PendingPut): Promise<JsonObject | undefined> {
    const doc = entry.doc;
    const mark = this.#state.allocs[entry.id];
    if (doc && mark && !isJsonObject(doc.Job) && uint(doc.AllocModifyIndex).toString() === mark.a) {
      const key = this.#jobOf.get(entry.id);
      const job = key === undefined ? undefined : this.#jobs.get(key);
      if (job !== undefined) {
        this.#jobs.delete(key as string);
        this.#jobs.set(key as string, job);
        return { ...doc, Job: job };
      }
    }
    if (doc && isJsonObject(doc.Job)) return doc;
    this.#metrics.jobFetches.inc();
    return this.#nomad.getAllocation(entry.id, entry.namespace, this.#signal);
  }

  async #write(batch: Pending[]): Promise<void> {
    const changes: EdgeChange[] = [];
    const sent: Array<{ entry: Pending; doc?: JsonObject; sourceIndex: bigint }> = [];
    const fetched = await Promise.all(
      batch.map(async (entry) => {
        if (entry.op === "delete") return { entry, doc: undefined, failed: false };
        try {
          return { entry, doc: await this.#complete(entry), failed: false };
        } catch (error) {
          if (!this.#signal.aborted) console.log(`nomad: fetching allocation ${entry.id} failed: ${(error as Error).message}; will retry`);
          return { entry, doc: undefined, failed: true };
        }
      }),
    );
    let failures = 0;
    for (const { entry, doc, failed } of fetched) {
      if (entry.op === "delete") {
        changes.push({ op: "delete", id: entry.id, sourceIndex: entry.sourceIndex });
        sent.push({ entry, sourceIndex: entry.sourceIndex });
      } else if (failed) {
        failures++;
        this.#requeue(entry);
      } else if (!doc) {
        // Gone from Nomad between the change and the fetch: the next reconcile sees it gone.
        this.#inflight.delete(entry.id);
      } else {
        const modifyIndex = uint(doc.ModifyIndex);
        if (modifyIndex <= BigInt(this.#state.allocs[entry.id]?.s ?? "0")) {
          this.#inflight.delete(entry.id);
          continue;
        }
        changes.push({ op: "put", id: entry.id, sourceIndex: modifyIndex, allocation: encodeJson(doc) });
        sent.push({ entry, doc, sourceIndex: modifyIndex });
      }
    }
    let outcomes: EdgeOutcome[] = [];
    try {
      outcomes = await this.#edge.write(changes);
    } catch (error) {
      // Stopped mid-retry: nothing was acknowledged, so nothing is recorded.
      for (const { entry } of sent) this.#requeue(entry);
      if (!this.#signal.aborted) throw error;
      return;
    }
    for (const [i, { entry, doc, sourceIndex }] of sent.entries()) this.#record(entry, doc, sourceIndex, outcomes[i]);
    if (failures > 0) await sleep(1000, this.#signal);
  }

  #requeue(entry: Pending): void {
    this.#inflight.delete(entry.id);
    const newer = this.#pending.get(entry.id);
    if (!newer) this.#pending.set(entry.id, entry);
  }

  #record(entry: Pending, doc: JsonObject | undefined, sourceIndex: bigint, outcome: EdgeOutcome | undefined): void {
    this.#inflight.delete(entry.id);
    if (!outcome || outcome.kind === "retry") {
      if (outcome) console.log(`edge: ${entry.op} of allocation ${entry.id} answered ${outcome.error}; will retry`);
      this.#requeue(entry);
      return;
    }
    this.#metrics.writes.inc({ op: entry.op, result: outcome.kind });
    this.written++;
    if (outcome.kind === "rejected") {
      this.#metrics.rejects.inc({ op: entry.op, code: String(outcome.status) });
      console.log(
        `edge rejected ${entry.op} of allocation ${entry.id} (namespace ${entry.namespace}, Nomad index ${sourceIndex}): ${outcome.status} ${outcome.error}`,
      );
      const mark = this.#state.allocs[entry.id] ?? { n: entry.namespace, s: "0", a: "0", v: "0" };
      mark.rejected = sourceIndex.toString();
      this.#state.allocs[entry.id] = mark;
      this.#stateChanged();
      return;
    }
    if (entry.op === "delete") {
      this.#metrics.deletes.inc();
      delete this.#state.allocs[entry.id];
      this.#jobOf.delete(entry.id);
      for (const key of Object.keys(this.#state.logs)) if (key.startsWith(`${entry.id}/`)) delete this.#state.logs[key];
      this.#stateChanged();
      return;
    }
    const full = doc as JsonObject;
    const job = isJsonObject(full.Job) ? full.Job : undefined;
    const mark: AllocMark = {
      n: entry.namespace,
      s: sourceIndex.toString(),
      a: uint(full.AllocModifyIndex).toString(),
      v: job ? uint(job.Version).toString() : "0",
    };
    this.#state.allocs[entry.id] = mark;
    const key = jobKey(entry.namespace, full);
    if (key !== undefined && job) {
      this.#jobOf.set(entry.id, key);
      this.#jobs.delete(key);
      this.#jobs.set(key, job);
      while (this.#jobs.size > JOB_CACHE_ENTRIES) this.#jobs.delete(this.#jobs.keys().next().value as string);
    }
    this.#stateChanged();
    this.#metrics.mirrored.set(this.mirroredCount);
    this.#metrics.ackLagSeconds.set((Date.now() - entry.since) / 1000);
    this.#onMirrored(entry.id, full);
  }

  /** Allocations of the list that the edge does not hold at their listed index (for `--once`). */
  mismatches(nomad: NomadList, edgeIds: ReadonlyMap<string, string>): string[] {
    const problems: string[] = [];
    for (const stub of nomad.allocations) {
      const mark = this.#state.allocs[stub.id];
      if (!edgeIds.has(stub.id))
        problems.push(`${stub.id} (namespace ${stub.namespace}): missing at the edge${mark?.rejected ? " (rejected)" : ""}`);
      else if (!mark || BigInt(mark.s) < stub.modifyIndex)
        problems.push(
          `${stub.id} (namespace ${stub.namespace}): edge holds Nomad index ${mark?.s ?? "unknown"}, Nomad has ${stub.modifyIndex}${mark?.rejected ? " (rejected)" : ""}`,
        );
    }
    return problems;
  }

  get lastChange(): number {
    return this.#lastChange;
  }
}
