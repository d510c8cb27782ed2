/**
 * The crash test's catalog and ACL writer: one sequential client that creates and replaces
 * allocations with PUT (with and without `X-Source-Index`, and now and then a deliberately stale
 * one), deletes them (with and without), and writes ACL policies and tokens (create, delete), each
 * with an Idempotency-Key retried unchanged until answered. The checks compare its acknowledged
 * changes with the three views of the region: the list (`/v1/allocations`), the event history
 * (`/v1/event/stream` from index 1, read until it reaches the list's index) and every allocation.
 */
import { DEMO_ALLOC_ID, DEMO_ALLOCATION_JSON } from "../../src/demo/allocation.ts";
import { randomUuid } from "./history.ts";
import type { Findings } from "./verify.ts";
import { fetchText, type Life, type Workload } from "./workload.ts";

export type ChangeKind = "put" | "delete" | "policy" | "unpolicy" | "token" | "retoken" | "untoken";

export interface Change {
  seq: number;
  kind: ChangeKind;
  key: string;
  method: string;
  path: string;
  /** The request body; for a batched change, its entry in `Changes`. */
  body: string;
  /** Allocation id (put, delete), policy name (policy, unpolicy), or the token's Name (token, retoken, untoken). */
  target: string;
  sourceIndex?: string;
  /** A PUT whose X-Source-Index is below the stored one: must answer `Stale: true` and change nothing. */
  expectStale?: boolean;
  /** Sent in a `POST /v1/allocations/batch` with the other changes of this request number. */
  batch?: number;
  attempts: number;
  ack?: number;
  stale?: boolean;
  /** token: the created token's AccessorID and SecretID. */
  accessor?: string;
  secret?: string;
  /** token, retoken: the policies the change gives the token. */
  policies?: string[];
}

/** What the acknowledged changes say one allocation must be. */
interface Model {
  exists: boolean;
  /** DesiredDescription of the last applied PUT. */
  description?: string;
  /** ModifyIndex of the last applied PUT. */
  index?: number;
  /** Highest X-Source-Index applied. */
  source: number;
}

/** A write's answer as far as the checks read it: `{"Index":N,"Stale":…}`, a token, or a batch result. */
interface Answer {
  Index?: number;
  Stale?: boolean;
  AccessorID?: string;
  SecretID?: string;
}

interface BatchResult extends Answer {
  ID: string;
  Status?: number;
  Error?: string;
}

export const BATCH_PATH = "/v1/allocations/batch";

/** Kinds that every few changes are made in turn (when possible), so a short run makes each at least once. */
const ROTATION = ["batch", "unpolicy", "retoken", "untoken"] as const;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class ChangeWriter {
  readonly changes: Change[] = [];
  readonly allocs: string[];
  readonly #workload: Workload;
  readonly #random: () => number;
  readonly #model = new Map<string, Model>();
  #nextSource = 100;
  #requests = 0;
  /** Highest ACL index acknowledged: the ACL store's index must increase with every acknowledged change. */
  #aclIndex = 0;
  /** Highest allocation index acknowledged by an earlier request: a later change (sent after it was answered) must get a higher one. */
  #allocIndex = 0;

  constructor(workload: Workload, random: () => number, count: number) {
    this.#workload = workload;
    this.#random = random;
    this.allocs = Array.from({ length: count }, () => randomUuid(random));
    for (const alloc of this.allocs) this.#model.set(alloc, { exists: false, source: 0 });
  }

  /** The changes sent and not yet answered (one request's: one change, or the rest of a batch). */
  get pending(): Change[] {
    return this.changes.filter((c) => c.ack === undefined);
  }

  /** Requests sent (a batch is one request for all its changes). */
  get requests(): number {
    return this.#requests;
  }

  #acked(kind: ChangeKind, target: string): boolean {
    return this.changes.some((c) => c.kind === kind && c.target === target && c.ack !== undefined);
  }

  /** Policies acknowledged and not deleted. */
  #livePolicies(): string[] {
    return this.changes
      .filter((c) => c.kind === "policy" && c.ack !== undefined && !this.#acked("unpolicy", c.target))
      .map((c) => c.target);
  }

  /** Tokens acknowledged and not deleted. */
  #liveTokens(): Change[] {
    return this.changes.filter((c) => c.kind === "token" && c.ack !== undefined && !this.#acked("untoken", c.target));
  }

  #pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.#random() * items.length)] as T;
  }

  /** The next request's changes: one, or several on distinct allocations for a batch. */
  #next(seq: number): Change[] {
    const runId = this.#workload.runId;
    const key = `${runId}-c-s${seq}`;
    const roll = this.#random();
    const forced = seq % 6 === 0 ? ROTATION[(seq / 6) % ROTATION.length] : undefined;
    const policies = this.#livePolicies();
    const tokens = this.#liveTokens();
    if (forced === "unpolicy" || (forced === undefined && roll < 0.05)) {
      // Keep the newest policy, so token writes always have one to name.
      const name = policies.length > 1 ? this.#pick(policies.slice(0, -1)) : undefined;
      if (name)
        return [{ seq, kind: "unpolicy", key, method: "DELETE", path: `/v1/acl/policy/${name}`, body: "", target: name, attempts: 0 }];
    }
    if (forced === "retoken" || (forced === undefined && roll < 0.1)) {
      if (tokens.length > 0 && policies.length > 0) {
        const token = this.#pick(tokens);
        const chosen = [this.#pick(policies)];
        const body = JSON.stringify({ AccessorID: token.accessor, Name: token.target, Type: "client", Policies: chosen });
        return [
          {
            seq,
            kind: "retoken",
            key,
            method: "PUT",
            path: `/v1/acl/token/${token.accessor}`,
            body,
            target: token.target,
            policies: chosen,
            attempts: 0,
          },
        ];
      }
    }
    if (forced === "untoken" || (forced === undefined && roll < 0.15)) {
      if (tokens.length > 0) {
        const token = this.#pick(tokens);
        return [
          {
            seq,
            kind: "untoken",
            key,
            method: "DELETE",
            path: `/v1/acl/token/${token.accessor}`,
            body: "",
            target: token.target,
            attempts: 0,
          },
        ];
      }
    }
    if (forced === undefined && roll < 0.25) {
      const name = `${runId}-p${seq}`;
      const body = JSON.stringify({ Name: name, Description: `crash ${seq}`, Rules: 'namespace "default" { policy = "read" }' });
      return [{ seq, kind: "policy", key, method: "PUT", path: `/v1/acl/policy/${name}`, body, target: name, attempts: 0 }];
    }
    if (forced === undefined && roll < 0.32 && policies.length > 0) {
      const name = `${runId}-t${seq}`;
      const chosen = [policies.at(-1) as string];
      const body = JSON.stringify({ Name: name, Type: "client", Policies: chosen });
      return [{ seq, kind: "token", key, method: "PUT", path: "/v1/acl/token", body, target: name, policies: chosen, attempts: 0 }];
    }
    if (forced === "batch" || roll < 0.45) {
      // A batch: 2 to all of the allocations, each once, each change with its own IdempotencyKey.
      const count = 2 + Math.floor(this.#random() * (this.allocs.length - 1));
      const targets = [...this.allocs].sort(() => this.#random() - 0.5).slice(0, count);
      return targets.map((alloc, i) => this.#allocationChange(seq, `${key}-b${i}`, alloc, seq));
    }
    return [this.#allocationChange(seq, key, this.#pick(this.allocs))];
  }

  /** A PUT (sometimes stale) or DELETE of `alloc`, single or as an entry of batch request `batch`. */
  #allocationChange(seq: number, key: string, alloc: string, batch?: number): Change {
    const runId = this.#workload.runId;
    const model = this.#model.get(alloc) as Model;
    const withSource = this.#random() < 0.5;
    const base = { seq, key, target: alloc, batch, attempts: 0 };
    const single = (method: string, body: string) => ({ method, path: `/v1/allocation/${alloc}`, body });
    if (model.exists && this.#random() < 0.3) {
      const sourceIndex = withSource ? String(this.#nextSource++) : undefined;
      const entry = { Op: "delete", ID: alloc, IdempotencyKey: key, ...(sourceIndex ? { SourceIndex: sourceIndex } : {}) };
      const request = batch === undefined ? single("DELETE", "") : { method: "POST", path: BATCH_PATH, body: JSON.stringify(entry) };
      return { ...base, kind: "delete", ...request, sourceIndex };
    }
    const stale = model.source > 1 && this.#random() < 0.15;
    const sourceIndex = stale ? "1" : withSource ? String(this.#nextSource++) : undefined;
    const doc = JSON.parse(DEMO_ALLOCATION_JSON.replaceAll(DEMO_ALLOC_ID, alloc)) as Record<string, unknown>;
    doc.DesiredDescription = `${runId} c=${key}`;
    const entry = { Op: "put", ID: alloc, IdempotencyKey: key, Allocation: doc, ...(sourceIndex ? { SourceIndex: sourceIndex } : {}) };
    const request =
      batch === undefined ? single("PUT", JSON.stringify(doc)) : { method: "POST", path: BATCH_PATH, body: JSON.stringify(entry) };
    return { ...base, kind: "put", ...request, sourceIndex, expectStale: stale };
  }

  #apply(change: Change, answer: Answer, index: number, allocFloor: number): void {
    change.ack = index;
    const violations = this.#workload.violations;
    if (change.kind === "put" || change.kind === "delete") {
      change.stale = answer.Stale === true;
      if (change.stale !== (change.expectStale === true)) {
        violations.push(`change ${change.key}: Stale ${change.stale}, expected ${change.expectStale === true}`);
      }
      if (change.stale) return;
      if (index <= allocFloor)
        violations.push(`change ${change.key}: index ${index}, not above ${allocFloor} acknowledged before it was sent`);
      const model = this.#model.get(change.target) as Model;
      if (change.sourceIndex) model.source = Math.max(model.source, Number(change.sourceIndex));
      model.exists = change.kind === "put";
      if (change.kind === "put") {
        model.description = `${this.#workload.runId} c=${change.key}`;
        model.index = index;
      }
      return;
    }
    if (index <= this.#aclIndex)
      violations.push(`change ${change.key}: ACL index ${index}, not above ${this.#aclIndex} acknowledged before`);
    this.#aclIndex = Math.max(this.#aclIndex, index);
    if (change.kind === "token") {
      change.accessor = answer.AccessorID;
      change.secret = answer.SecretID;
    }
  }

  #acknowledge(change: Change, answer: Answer, index: number, allocFloor: number): void {
    this.#apply(change, answer, index, allocFloor);
    this.#workload.journal.append({
      ack: change.key,
      kind: change.kind,
      target: change.target,
      value: change.ack,
      attempts: change.attempts,
      ...(change.batch === undefined ? {} : { batch: change.batch }),
    });
  }

  /**
   * Sequential requests, each retried unchanged (same keys, bodies, headers) until answered; a
   * batch is retried with the changes it has not had answered yet (each keeps its own key).
   */
  async run(): Promise<void> {
    const workload = this.#workload;
    let seq = 0;
    let tail = 0;
    let allocFloor = 0;
    for (;;) {
      const life: Life | undefined = await workload.live();
      if (!life) return;
      let unit = this.pending;
      if (unit.length === 0) {
        if (life.final) {
          if (tail >= workload.tailWrites) return;
          tail++;
        }
        unit = this.#next(++seq);
        this.changes.push(...unit);
        allocFloor = this.#allocIndex;
      }
      const first = unit[0] as Change;
      const batched = first.batch !== undefined;
      for (const change of unit) change.attempts++;
      this.#requests++;
      const headers: Record<string, string> = { "X-Nomad-Token": workload.token };
      if (!batched) headers["Idempotency-Key"] = first.key;
      if (!batched && first.sourceIndex) headers["X-Source-Index"] = first.sourceIndex;
      const body = batched ? `{"Changes":[${unit.map((c) => c.body).join(",")}]}` : first.body;
      let response: Response;
      let text: string;
      try {
        ({ response, text } = await fetchText(
          `${life.url}${first.path}`,
          { method: first.method, body: body || undefined, headers },
          15_000,
        ));
      } catch (error) {
        workload.writerConnectionErrors++;
        if (life.killing) await workload.live(life.n);
        else {
          workload.notes.push(`change ${first.key} attempt ${first.attempts} failed with the server up: ${String(error)}`);
          await sleep(100);
        }
        continue;
      }
      const serverError = () => {
        if (life.killing) workload.writerFiveXxDuringKill++;
        else {
          workload.writerFiveXx++;
          workload.violations.push(`change ${first.key} got ${response.status} with the server up: ${text.slice(0, 300)}`);
        }
      };
      if (response.status === 200 && batched) {
        const results = (JSON.parse(text) as { Results: BatchResult[] }).Results;
        for (const [i, change] of unit.entries()) {
          const result = results[i];
          if (result?.ID !== change.target) {
            workload.violations.push(`batch ${first.batch}: result ${i} is ${JSON.stringify(result)}, not for ${change.target}`);
            return;
          }
          if (result.Status === undefined) this.#acknowledge(change, result, result.Index as number, allocFloor);
          else if (result.Status >= 500) serverError();
          else {
            workload.violations.push(`change ${change.key} in batch ${first.batch} refused with ${result.Status}: ${result.Error}`);
            return;
          }
        }
        for (const change of unit)
          if (change.ack !== undefined) this.#allocIndex = Math.max(this.#allocIndex, change.stale ? 0 : change.ack);
        if (this.pending.length > 0) await sleep(100);
      } else if (response.status === 200) {
        const answer = (text === "" ? {} : JSON.parse(text)) as Answer; // policy writes and deletes answer no body
        const index = Number(response.headers.get("X-Nomad-Index"));
        this.#acknowledge(first, answer, index, allocFloor);
        if ((first.kind === "put" || first.kind === "delete") && !first.stale) this.#allocIndex = Math.max(this.#allocIndex, index);
      } else if (response.status === 429) {
        workload.writerRateLimited++;
        await sleep(Math.max(100, Number(response.headers.get("Retry-After") ?? "1") * 1000));
      } else if (response.status >= 500) {
        serverError();
        await sleep(100);
      } else {
        workload.violations.push(
          `change ${first.key} (${first.method} ${first.path}) refused with ${response.status}: ${text.slice(0, 300)}`,
        );
        return;
      }
    }
  }

  /** The model of each allocation, from acknowledged changes only. */
  model(alloc: string): Model {
    return this.#model.get(alloc) as Model;
  }
}

interface StreamEvent {
  Type: string;
  Key: string;
  Index: number;
  Payload?: { Allocation?: { ModifyIndex?: number; DesiredDescription?: string } };
}

async function get(url: string, token: string): Promise<{ status: number; text: string; index: number }> {
  const { response, text } = await fetchText(url, { headers: { "X-Nomad-Token": token } }, 30_000);
  return { status: response.status, text, index: Number(response.headers.get("X-Nomad-Index")) };
}

/** The region's event history from index 1, read until an event at or above `upTo` (bounded in time). */
async function readHistory(url: string, token: string, upTo: number, findings: Findings, where: string): Promise<StreamEvent[]> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), 30_000);
  const events: StreamEvent[] = [];
  let last = 0;
  try {
    const response = await fetch(`${url}/v1/event/stream?index=1`, {
      headers: { "X-Nomad-Token": token, "Accept-Encoding": "identity" },
      signal: controller.signal,
    });
    if (response.status !== 200) {
      findings.violations.push(`${where}: event stream answered ${response.status}: ${(await response.text()).slice(0, 300)}`);
      return events;
    }
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let buffered = "";
    while (last < upTo) {
      const { done, value } = await reader.read();
      if (done) break;
      buffered += decoder.decode(value, { stream: true });
      const lines = buffered.split("\n");
      buffered = lines.pop() as string;
      for (const line of lines) {
        if (line === "" || line === "{}") continue;
        const batch = JSON.parse(line) as { Events?: StreamEvent[]; Index: number };
        for (const event of batch.Events ?? []) {
          if (event.Index !== batch.Index)
            findings.violations.push(`${where}: event Index ${event.Index} in a batch of Index ${batch.Index}`);
          if (event.Index <= last)
            findings.violations.push(`${where}: event history index ${event.Index} after ${last}: not strictly increasing`);
          last = Math.max(last, event.Index);
          events.push(event);
        }
      }
    }
  } catch (error) {
    findings.violations.push(`${where}: event stream read up to ${last} of ${upTo}: ${String(error)}`);
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
  if (last < upTo) findings.violations.push(`${where}: event history ends at ${last}, below the list's index ${upTo}`);
  return events;
}

/**
 * The three views agree with the acknowledged history. The writer's pending changes (one, or a
 * batch's) may or may not have been applied (sent, never answered, before a kill); their targets are
 * left out of the exact checks. With `complete` (every write answered) the history holds exactly the acknowledged changes.
 */
export async function checkRegion(
  url: string,
  workload: Workload,
  writer: ChangeWriter,
  where: string,
  complete: boolean,
): Promise<Findings> {
  const findings: Findings = { violations: [], duplicates: 0, lost: 0 };
  const token = workload.token;
  const list = await get(`${url}/v1/allocations`, token);
  if (list.status !== 200) {
    findings.violations.push(`${where}: list answered ${list.status}`);
    return findings;
  }
  const stubs = JSON.parse(list.text) as Array<{ ID: string; ModifyIndex: number }>;
  const history = await readHistory(url, token, list.index, findings, where);
  const maxEvent = Math.max(0, ...history.map((e) => e.Index));
  if (maxEvent > list.index) findings.violations.push(`${where}: event history reaches ${maxEvent}, above the list's index ${list.index}`);
  const pending = complete ? [] : writer.pending;
  const uncertain = new Map(pending.map((c) => [c.target, c]));
  // Task-event writers' allocations: every acknowledged index is one AllocationUpdated event, once.
  for (const alloc of workload.allocs) {
    const byIndex = new Map<number, number>();
    for (const e of history) {
      if (e.Key === alloc && e.Type === "AllocationUpdated") {
        const at = e.Payload?.Allocation?.ModifyIndex as number;
        byIndex.set(at, (byIndex.get(at) ?? 0) + 1);
      }
    }
    const acked = [
      ...(workload.setupIndexes.get(alloc) ?? []),
      ...workload.writes.filter((w) => w.alloc === alloc && w.kind === "event" && w.ack !== undefined).map((w) => w.ack as number),
    ];
    for (const index of acked) {
      const count = byIndex.get(index) ?? 0;
      if (count === 0) {
        findings.lost++;
        findings.violations.push(`${where}: acknowledged change ${index} of ${alloc} is not in the event history`);
      } else if (count > 1) {
        findings.duplicates += count - 1;
        findings.violations.push(`${where}: change ${index} of ${alloc} is in the event history ${count} times`);
      }
    }
    if (complete && byIndex.size !== acked.length) {
      findings.violations.push(`${where}: ${alloc} has ${byIndex.size} events in the history, ${acked.length} acknowledged`);
    }
    const stub = stubs.filter((s) => s.ID === alloc);
    if (stub.length !== 1) findings.violations.push(`${where}: ${alloc} is in the list ${stub.length} times`);
    if (complete && stub[0]?.ModifyIndex !== (workload.maxAcked.get(alloc) ?? 0)) {
      findings.violations.push(`${where}: list has ${alloc} at ${stub[0]?.ModifyIndex}, acknowledged ${workload.maxAcked.get(alloc)}`);
    }
  }
  // The change writer's allocations.
  for (const alloc of writer.allocs) {
    const applied = writer.changes.filter((c) => c.target === alloc && c.ack !== undefined && !c.stale);
    const events = history.filter((e) => e.Key === alloc);
    const upserts = events.filter((e) => e.Type === "AllocationUpdated");
    for (const change of applied.filter((c) => c.kind === "put")) {
      const count = upserts.filter((e) => e.Payload?.Allocation?.ModifyIndex === change.ack).length;
      if (count === 0) {
        findings.lost++;
        findings.violations.push(`${where}: acknowledged PUT ${change.key} (index ${change.ack}) of ${alloc} is not in the event history`);
      } else if (count > 1) {
        findings.duplicates += count - 1;
        findings.violations.push(`${where}: PUT ${change.key} of ${alloc} is in the event history ${count} times`);
      }
    }
    for (const change of writer.changes.filter((c) => c.target === alloc && c.stale === true)) {
      if (upserts.some((e) => e.Payload?.Allocation?.DesiredDescription === `${workload.runId} c=${change.key}`)) {
        findings.violations.push(`${where}: stale PUT ${change.key} of ${alloc} was applied`);
      }
    }
    const deletes = events.filter((e) => e.Type === "AllocationDeleted").length;
    const ackedDeletes = applied.filter((c) => c.kind === "delete").length;
    const extra = uncertain.has(alloc) ? 1 : 0;
    const extraPuts = uncertain.get(alloc)?.kind === "put" ? 1 : 0;
    const extraDeletes = uncertain.get(alloc)?.kind === "delete" ? 1 : 0;
    if (deletes < ackedDeletes) {
      findings.lost += ackedDeletes - deletes;
      findings.violations.push(`${where}: ${alloc}: ${ackedDeletes} deletes acknowledged, ${deletes} in the event history`);
    }
    if (deletes > ackedDeletes + extraDeletes) {
      findings.duplicates += deletes - ackedDeletes - extraDeletes;
      findings.violations.push(`${where}: ${alloc}: ${deletes} deletes in the event history, ${ackedDeletes} acknowledged`);
    }
    const ackedPuts = applied.length - ackedDeletes;
    if (upserts.length > ackedPuts + extraPuts) {
      findings.duplicates += upserts.length - ackedPuts - extraPuts;
      findings.violations.push(`${where}: ${alloc}: ${upserts.length} updates in the event history, ${ackedPuts} acknowledged`);
    }
    if (extra) continue;
    const model = writer.model(alloc);
    const listed = stubs.filter((s) => s.ID === alloc);
    const doc = await get(`${url}/v1/allocation/${alloc}`, token);
    const lastEvent = events.at(-1);
    if (!model.exists) {
      if (listed.length > 0) findings.violations.push(`${where}: deleted ${alloc} is in the list`);
      if (doc.status !== 404) findings.violations.push(`${where}: deleted ${alloc} answers ${doc.status}`);
      if (applied.length > 0 && lastEvent?.Type !== "AllocationDeleted")
        findings.violations.push(`${where}: deleted ${alloc}: the last event in the history is ${lastEvent?.Type}`);
      continue;
    }
    if (listed.length !== 1) {
      if (listed.length === 0) findings.lost++;
      else findings.duplicates += listed.length - 1;
      findings.violations.push(`${where}: ${alloc} is in the list ${listed.length} times`);
    }
    if (doc.status !== 200) {
      findings.lost++;
      findings.violations.push(`${where}: ${alloc} answers ${doc.status}, its last acknowledged change is a PUT`);
      continue;
    }
    const parsed = JSON.parse(doc.text) as { ModifyIndex: number; DesiredDescription: string };
    if (parsed.DesiredDescription !== model.description || parsed.ModifyIndex !== model.index) {
      findings.violations.push(
        `${where}: ${alloc} holds ${parsed.DesiredDescription}@${parsed.ModifyIndex}, the last acknowledged PUT ${model.description}@${model.index}`,
      );
    }
    if (listed[0] && listed[0].ModifyIndex !== parsed.ModifyIndex)
      findings.violations.push(`${where}: list has ${alloc} at ${listed[0].ModifyIndex}, the allocation at ${parsed.ModifyIndex}`);
    if (lastEvent?.Type !== "AllocationUpdated" || lastEvent.Payload?.Allocation?.ModifyIndex !== parsed.ModifyIndex)
      findings.violations.push(`${where}: ${alloc}: the history's last event is not its current state (${parsed.ModifyIndex})`);
  }
  await checkAcl(url, workload, writer, pending, complete, findings, where);
  return findings;
}

/**
 * Acknowledged policies exist and deleted ones are gone; acknowledged tokens work once each and hold
 * the policies of their last acknowledged write at its index (a retry applied twice would move it);
 * deleted tokens stop working.
 */
async function checkAcl(
  url: string,
  workload: Workload,
  writer: ChangeWriter,
  pending: Change[],
  complete: boolean,
  findings: Findings,
  where: string,
): Promise<void> {
  const acked = writer.changes.filter((c) => c.ack !== undefined);
  const uncertain = (target: string) => pending.some((c) => c.target === target);
  for (const policy of acked.filter((c) => c.kind === "policy")) {
    if (uncertain(policy.target)) continue;
    const deleted = acked.some((c) => c.kind === "unpolicy" && c.target === policy.target);
    const got = await get(`${url}/v1/acl/policy/${policy.target}`, workload.token);
    if (got.status !== (deleted ? 404 : 200)) {
      if (!deleted) findings.lost++;
      findings.violations.push(`${where}: ${deleted ? "deleted" : "acknowledged"} policy ${policy.target} answers ${got.status}`);
    }
  }
  const list = await get(`${url}/v1/acl/tokens`, workload.token);
  const listed = (JSON.parse(list.text) as Array<{ Name: string }>).map((t) => t.Name);
  for (const token of acked.filter((c) => c.kind === "token")) {
    if (uncertain(token.target)) continue;
    const deleted = acked.some((c) => c.kind === "untoken" && c.target === token.target);
    // A creation applied before a kill and replayed by its retry answers without the secret (it is never kept).
    const self = token.secret ? await get(`${url}/v1/acl/token/self`, token.secret) : undefined;
    const count = listed.filter((n) => n === token.target).length;
    if (deleted) {
      if (self && self.status !== 403) findings.violations.push(`${where}: deleted token ${token.target} still answers ${self.status}`);
      if (count > 0) findings.violations.push(`${where}: deleted token ${token.target} is still listed`);
      continue;
    }
    if (self && self.status !== 200) {
      findings.lost++;
      findings.violations.push(`${where}: acknowledged token ${token.target} answers ${self.status}`);
    }
    if (count !== 1) {
      if (count > 1) findings.duplicates += count - 1;
      findings.violations.push(`${where}: token ${token.target} is listed ${count} times`);
    }
    const last = acked.filter((c) => (c.kind === "token" || c.kind === "retoken") && c.target === token.target).at(-1) as Change;
    const read = await get(`${url}/v1/acl/token/${token.accessor}`, workload.token);
    const stored = read.status === 200 ? (JSON.parse(read.text) as { Policies: string[]; ModifyIndex: number }) : undefined;
    if (JSON.stringify(stored?.Policies) !== JSON.stringify(last.policies) || stored?.ModifyIndex !== last.ack) {
      findings.violations.push(
        `${where}: token ${token.target} holds ${JSON.stringify(stored?.Policies)}@${stored?.ModifyIndex}, ` +
          `its last acknowledged write ${last.key} ${JSON.stringify(last.policies)}@${last.ack}`,
      );
    }
  }
  if (complete) {
    const ours = listed.filter((n) => n.startsWith(`${workload.runId}-t`)).length;
    const live = acked.filter((c) => c.kind === "token" && !acked.some((d) => d.kind === "untoken" && d.target === c.target)).length;
    if (ours !== live) findings.violations.push(`${where}: ${ours} of the run's tokens listed, ${live} acknowledged and not deleted`);
  }
}
