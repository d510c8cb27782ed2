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

export type ChangeKind = "put" | "delete" | "policy" | "token" | "untoken";

export interface Change {
  seq: number;
  kind: ChangeKind;
  key: string;
  method: string;
  path: string;
  body: string;
  /** Allocation id (put, delete), policy name, or the token's Name (token, untoken). */
  target: string;
  sourceIndex?: string;
  /** A PUT whose X-Source-Index is below the stored one: must answer `Stale: true` and change nothing. */
  expectStale?: boolean;
  attempts: number;
  ack?: number;
  stale?: boolean;
  /** token: the created token's AccessorID and SecretID. */
  accessor?: string;
  secret?: string;
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

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class ChangeWriter {
  readonly changes: Change[] = [];
  readonly allocs: string[];
  readonly #workload: Workload;
  readonly #random: () => number;
  readonly #model = new Map<string, Model>();
  #nextSource = 100;

  constructor(workload: Workload, random: () => number, count: number) {
    this.#workload = workload;
    this.#random = random;
    this.allocs = Array.from({ length: count }, () => randomUuid(random));
    for (const alloc of this.allocs) this.#model.set(alloc, { exists: false, source: 0 });
  }

  /** The change not yet answered, if any (the writer is sequential). */
  get pending(): Change | undefined {
    return this.changes.find((c) => c.ack === undefined);
  }

  #next(seq: number): Change {
    const runId = this.#workload.runId;
    const key = `${runId}-c-s${seq}`;
    const roll = this.#random();
    const liveTokens = this.changes.filter((c) => c.kind === "token" && c.ack !== undefined && !this.#untokened(c.target));
    if (roll < 0.12) {
      const name = `${runId}-p${seq}`;
      const body = JSON.stringify({ Name: name, Description: `crash ${seq}`, Rules: 'namespace "default" { policy = "read" }' });
      return { seq, kind: "policy", key, method: "PUT", path: `/v1/acl/policy/${name}`, body, target: name, attempts: 0 };
    }
    const policies = this.changes.filter((c) => c.kind === "policy" && c.ack !== undefined);
    if (roll < 0.2 && policies.length > 0) {
      const name = `${runId}-t${seq}`;
      const body = JSON.stringify({ Name: name, Type: "client", Policies: [(policies.at(-1) as Change).target] });
      return { seq, kind: "token", key, method: "PUT", path: "/v1/acl/token", body, target: name, attempts: 0 };
    }
    if (roll < 0.3 && liveTokens.length > 0) {
      const token = liveTokens[Math.floor(this.#random() * liveTokens.length)] as Change;
      return {
        seq,
        kind: "untoken",
        key,
        method: "DELETE",
        path: `/v1/acl/token/${token.accessor}`,
        body: "",
        target: token.target,
        attempts: 0,
      };
    }
    const alloc = this.allocs[Math.floor(this.#random() * this.allocs.length)] as string;
    const model = this.#model.get(alloc) as Model;
    const withSource = this.#random() < 0.5;
    if (model.exists && this.#random() < 0.3) {
      const sourceIndex = withSource ? String(this.#nextSource++) : undefined;
      return {
        seq,
        kind: "delete",
        key,
        method: "DELETE",
        path: `/v1/allocation/${alloc}`,
        body: "",
        target: alloc,
        sourceIndex,
        attempts: 0,
      };
    }
    const stale = model.source > 1 && this.#random() < 0.15;
    const sourceIndex = stale ? "1" : withSource ? String(this.#nextSource++) : undefined;
    const doc = JSON.parse(DEMO_ALLOCATION_JSON.replaceAll(DEMO_ALLOC_ID, alloc)) as Record<string, unknown>;
    doc.DesiredDescription = `${runId} c=${seq}`;
    return {
      seq,
      kind: "put",
      key,
      method: "PUT",
      path: `/v1/allocation/${alloc}`,
      body: JSON.stringify(doc),
      target: alloc,
      sourceIndex,
      expectStale: stale,
      attempts: 0,
    };
  }

  #untokened(name: string): boolean {
    return this.changes.some((c) => c.kind === "untoken" && c.target === name && c.ack !== undefined);
  }

  #apply(change: Change, text: string, index: number): void {
    change.ack = index;
    if (change.kind === "put" || change.kind === "delete") {
      const answer = JSON.parse(text) as { Index: number; Stale?: boolean };
      change.stale = answer.Stale === true;
      if (change.stale !== (change.expectStale === true)) {
        this.#workload.violations.push(`change ${change.key}: Stale ${change.stale}, expected ${change.expectStale === true}`);
      }
      if (change.stale) return;
      const model = this.#model.get(change.target) as Model;
      if (change.sourceIndex) model.source = Math.max(model.source, Number(change.sourceIndex));
      model.exists = change.kind === "put";
      if (change.kind === "put") {
        model.description = `${this.#workload.runId} c=${change.seq}`;
        model.index = index;
      }
    } else if (change.kind === "token") {
      const token = JSON.parse(text) as { AccessorID: string; SecretID: string };
      change.accessor = token.AccessorID;
      change.secret = token.SecretID;
    }
  }

  /** Sequential changes, each retried unchanged (same key, body, headers) until a 2xx. */
  async run(): Promise<void> {
    const workload = this.#workload;
    let seq = 0;
    let pending: Change | undefined;
    let tail = 0;
    for (;;) {
      const life: Life | undefined = await workload.live();
      if (!life) return;
      if (!pending) {
        if (life.final) {
          if (tail >= workload.tailWrites) return;
          tail++;
        }
        pending = this.#next(++seq);
        this.changes.push(pending);
      }
      const change = pending;
      change.attempts++;
      const headers: Record<string, string> = { "X-Nomad-Token": workload.token, "Idempotency-Key": change.key };
      if (change.sourceIndex) headers["X-Source-Index"] = change.sourceIndex;
      let response: Response;
      let text: string;
      try {
        ({ response, text } = await fetchText(
          `${life.url}${change.path}`,
          { method: change.method, body: change.body || undefined, headers },
          15_000,
        ));
      } catch (error) {
        workload.writerConnectionErrors++;
        if (life.killing) await workload.live(life.n);
        else {
          workload.notes.push(`change ${change.key} attempt ${change.attempts} failed with the server up: ${String(error)}`);
          await sleep(100);
        }
        continue;
      }
      if (response.status === 200) {
        this.#apply(change, text, Number(response.headers.get("X-Nomad-Index")));
        workload.journal.append({
          ack: change.key,
          kind: change.kind,
          target: change.target,
          value: change.ack,
          attempts: change.attempts,
        });
        pending = undefined;
      } else if (response.status === 429) {
        workload.writerRateLimited++;
        await sleep(Math.max(100, Number(response.headers.get("Retry-After") ?? "1") * 1000));
      } else if (response.status >= 500) {
        if (life.killing) workload.writerFiveXxDuringKill++;
        else {
          workload.writerFiveXx++;
          workload.violations.push(`change ${change.key} got ${response.status} with the server up: ${text.slice(0, 300)}`);
        }
        await sleep(100);
      } else {
        workload.violations.push(
          `change ${change.key} (${change.method} ${change.path}) refused with ${response.status}: ${text.slice(0, 300)}`,
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
 * The three views agree with the acknowledged history. `pending` is a change that may or may not
 * have been applied (sent, never answered, before a kill); its target is left out of the exact
 * checks. With `complete` (every write answered) the history holds exactly the acknowledged changes.
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
  const pending = complete ? undefined : writer.pending;
  const uncertain = new Set(pending ? [pending.target] : []);
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
      if (upserts.some((e) => e.Payload?.Allocation?.DesiredDescription === `${workload.runId} c=${change.seq}`)) {
        findings.violations.push(`${where}: stale PUT ${change.key} of ${alloc} was applied`);
      }
    }
    const deletes = events.filter((e) => e.Type === "AllocationDeleted").length;
    const ackedDeletes = applied.filter((c) => c.kind === "delete").length;
    const extra = uncertain.has(alloc) ? 1 : 0;
    const extraPuts = uncertain.has(alloc) && pending?.kind === "put" ? 1 : 0;
    const extraDeletes = uncertain.has(alloc) && pending?.kind === "delete" ? 1 : 0;
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

/** Acknowledged policies exist; acknowledged tokens work once each; deleted tokens stop working. */
async function checkAcl(
  url: string,
  workload: Workload,
  writer: ChangeWriter,
  pending: Change | undefined,
  complete: boolean,
  findings: Findings,
  where: string,
): Promise<void> {
  for (const policy of writer.changes.filter((c) => c.kind === "policy" && c.ack !== undefined)) {
    const got = await get(`${url}/v1/acl/policy/${policy.target}`, workload.token);
    if (got.status !== 200) {
      findings.lost++;
      findings.violations.push(`${where}: acknowledged policy ${policy.target} answers ${got.status}`);
    }
  }
  const list = await get(`${url}/v1/acl/tokens`, workload.token);
  const listed = (JSON.parse(list.text) as Array<{ Name: string }>).map((t) => t.Name);
  for (const token of writer.changes.filter((c) => c.kind === "token" && c.ack !== undefined)) {
    if (pending?.target === token.target) continue;
    const deleted = writer.changes.some((c) => c.kind === "untoken" && c.target === token.target && c.ack !== undefined);
    const self = await get(`${url}/v1/acl/token/self`, token.secret as string);
    const count = listed.filter((n) => n === token.target).length;
    if (deleted) {
      if (self.status !== 403) findings.violations.push(`${where}: deleted token ${token.target} still answers ${self.status}`);
      if (count > 0) findings.violations.push(`${where}: deleted token ${token.target} is still listed`);
    } else {
      if (self.status !== 200) {
        findings.lost++;
        findings.violations.push(`${where}: acknowledged token ${token.target} answers ${self.status}`);
      }
      if (count !== 1) {
        if (count > 1) findings.duplicates += count - 1;
        findings.violations.push(`${where}: token ${token.target} is listed ${count} times`);
      }
    }
  }
  if (complete) {
    const ours = listed.filter((n) => n.startsWith(`${workload.runId}-t`)).length;
    const live = writer.changes.filter(
      (c) =>
        c.kind === "token" &&
        c.ack !== undefined &&
        !writer.changes.some((d) => d.kind === "untoken" && d.target === c.target && d.ack !== undefined),
    ).length;
    if (ours !== live) findings.violations.push(`${where}: ${ours} of the run's tokens listed, ${live} acknowledged and not deleted`);
  }
}
