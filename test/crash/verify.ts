/**
 * The crash test's checks: the history of acknowledged writes and observed indexes (workload.ts)
 * against what the restarted server holds. Run after every restart (nothing acknowledged before
 * the kill is missing or doubled, no index went back) and once more, in full, after the last one.
 */
import type { Write } from "./history.ts";
import { fetchText, LOG_TASK, logPath, type Workload } from "./workload.ts";

/** Nomad keeps the last 10 events per task (src/domain/task-state.ts). */
const KEPT_EVENTS = 10;

export interface AllocState {
  index: number;
  /** DriverMessage of the `redis` task's kept events of type Driver, oldest first. */
  driverMessages: string[];
  log: string;
}

export interface Findings {
  violations: string[];
  /** Acknowledged writes applied more than once (log lines seen twice, events applied twice). */
  duplicates: number;
  /** Acknowledged writes missing from the server's state. */
  lost: number;
}

async function get(url: string, token: string): Promise<{ status: number; text: string; index: number }> {
  const { response, text } = await fetchText(url, { headers: { "X-Nomad-Token": token } }, 30_000);
  return { status: response.status, text, index: Number(response.headers.get("X-Nomad-Index")) };
}

/** Reads every allocation of the run (document and whole stdout log) from a live server. */
export async function readState(url: string, token: string, allocs: string[]): Promise<Map<string, AllocState>> {
  const states = new Map<string, AllocState>();
  for (const alloc of allocs) {
    const doc = await get(`${url}/v1/allocation/${alloc}`, token);
    if (doc.status !== 200) throw new Error(`GET allocation ${alloc}: ${doc.status} ${doc.text.slice(0, 300)}`);
    const parsed = JSON.parse(doc.text) as {
      ModifyIndex: number;
      TaskStates?: Record<string, { Events?: Array<{ Type?: string; DriverMessage?: string }> }>;
    };
    if (parsed.ModifyIndex !== doc.index)
      throw new Error(`allocation ${alloc}: X-Nomad-Index ${doc.index}, ModifyIndex ${parsed.ModifyIndex}`);
    const events = parsed.TaskStates?.[LOG_TASK]?.Events ?? [];
    const driverMessages = events.filter((e) => e.Type === "Driver").map((e) => e.DriverMessage ?? "");
    const log = await get(`${url}${logPath(alloc)}&plain=true`, token);
    if (log.status !== 200) throw new Error(`GET logs ${alloc}: ${log.status} ${log.text.slice(0, 300)}`);
    states.set(alloc, { index: doc.index, driverMessages, log: log.text });
  }
  return states;
}

function acknowledged(workload: Workload, alloc: string, kind: Write["kind"]): Write[] {
  return workload.writes.filter((w) => w.alloc === alloc && w.kind === kind && w.ack !== undefined);
}

/**
 * Log lines: every acknowledged line is in the stream exactly once, exactly where its answer's
 * Offset says; no line appears twice; nothing else is there. With `complete` (after the last
 * restart, every write acknowledged) the stream holds exactly the acknowledged lines, each
 * writer's in its order.
 */
function checkLog(workload: Workload, alloc: string, log: string, complete: boolean, findings: Findings, where: string): void {
  const byPayload = new Map(workload.writes.filter((w) => w.alloc === alloc && w.kind === "log").map((w) => [w.payload, w]));
  const lines = log.split("\n");
  if (lines.at(-1) !== "") findings.violations.push(`${where}: log of ${alloc} ends with a partial line ${JSON.stringify(lines.at(-1))}`);
  lines.pop();
  const seen = new Map<string, number>();
  const lastSeq = new Map<number, number>();
  for (const line of lines) {
    const payload = `${line}\n`;
    seen.set(payload, (seen.get(payload) ?? 0) + 1);
    const write = byPayload.get(payload);
    if (!write) {
      findings.violations.push(`${where}: log of ${alloc} holds a line no writer sent: ${JSON.stringify(line.slice(0, 200))}`);
      continue;
    }
    if (complete && write.seq <= (lastSeq.get(write.writer) ?? 0)) {
      findings.violations.push(`${where}: log of ${alloc}: writer ${write.writer}'s line s=${write.seq} is out of order`);
    }
    lastSeq.set(write.writer, Math.max(lastSeq.get(write.writer) ?? 0, write.seq));
  }
  for (const [payload, count] of seen) {
    if (count > 1) {
      findings.duplicates += count - 1;
      findings.violations.push(
        `${where}: log of ${alloc} holds ${JSON.stringify(payload)} ${count} times (key ${byPayload.get(payload)?.key})`,
      );
    }
  }
  let ackedBytes = 0;
  for (const write of acknowledged(workload, alloc, "log")) {
    ackedBytes += write.payload.length;
    const at = write.ack as number;
    if (!seen.has(write.payload)) {
      findings.lost++;
      findings.violations.push(
        `${where}: acknowledged log line ${write.key} (Offset ${at}, life ${write.ackLife}) is missing from ${alloc}`,
      );
    } else if (log.slice(at - write.payload.length, at) !== write.payload) {
      findings.violations.push(`${where}: acknowledged log line ${write.key} is not where its Offset ${at} says`);
    }
  }
  if (complete && log.length !== ackedBytes) {
    findings.violations.push(`${where}: log of ${alloc} has ${log.length} bytes, the acknowledged lines ${ackedBytes}`);
  }
}

/**
 * The allocation's index: never below one acknowledged (or seen by a reader) before; after the
 * last restart, equal to the highest acknowledged (a higher one would be a change nobody
 * acknowledged: a write applied twice).
 */
function checkIndex(workload: Workload, alloc: string, state: AllocState, complete: boolean, findings: Findings, where: string): void {
  const maxAcked = workload.maxAcked.get(alloc) ?? 0;
  if (state.index < maxAcked) {
    findings.lost++;
    findings.violations.push(`${where}: ${alloc} is at index ${state.index}, below ${maxAcked} acknowledged earlier`);
  }
  const maxSeen = Math.max(0, ...workload.readers.filter((r) => r.alloc === alloc).flatMap((r) => r.indexes));
  if (state.index < maxSeen)
    findings.violations.push(`${where}: ${alloc} is at index ${state.index}, below ${maxSeen} a reader saw earlier`);
  if (complete && state.index > maxAcked) {
    findings.duplicates++;
    findings.violations.push(`${where}: ${alloc} is at index ${state.index}, above every acknowledged index (${maxAcked})`);
  }
}

/** Task events, once every write is acknowledged: indexes unique and in real-time order, the kept tail exact. */
function checkEvents(workload: Workload, alloc: string, state: AllocState, findings: Findings, where: string): void {
  const events = acknowledged(workload, alloc, "event");
  const setup = workload.setupIndexes.get(alloc) ?? [];
  const indexes = new Set<number>(setup);
  for (const write of events) {
    const index = write.ack as number;
    if (indexes.has(index)) findings.violations.push(`${where}: index ${index} of ${alloc} acknowledged twice (${write.key})`);
    indexes.add(index);
    if (index <= Math.max(...setup)) findings.violations.push(`${where}: ${write.key} got index ${index}, not above the setup's`);
  }
  // If A was acknowledged before B was first sent, the server applied A before B: index(A) < index(B).
  const byAck = [...events].sort((a, b) => (a.ackAt as number) - (b.ackAt as number));
  const bySend = [...events].sort((a, b) => a.firstSentAt - b.firstSentAt);
  let i = 0;
  let maxBefore = 0;
  let maxBeforeKey = "";
  for (const write of bySend) {
    while (i < byAck.length && (byAck[i]?.ackAt as number) < write.firstSentAt) {
      const earlier = byAck[i] as Write;
      if ((earlier.ack as number) > maxBefore) {
        maxBefore = earlier.ack as number;
        maxBeforeKey = earlier.key;
      }
      i++;
    }
    if ((write.ack as number) <= maxBefore) {
      findings.violations.push(
        `${where}: ${write.key} got index ${write.ack} (life ${write.ackLife}), not above ${maxBefore} of ${maxBeforeKey}, acknowledged before it was sent`,
      );
    }
  }
  // Every index a reader saw belongs to an acknowledged write: no reader saw a state that was later lost.
  for (const reader of workload.readers.filter((r) => r.alloc === alloc)) {
    for (const index of reader.indexes) {
      if (!indexes.has(index))
        findings.violations.push(`${where}: reader ${reader.reader} saw index ${index} of ${alloc}, which no write owns`);
    }
  }
  // The kept events are exactly the last acknowledged ones, each once.
  const expected = [...events]
    .sort((a, b) => (a.ack as number) - (b.ack as number))
    .map((w) => w.payload)
    .slice(-KEPT_EVENTS);
  const actual = state.driverMessages;
  const counts = new Map<string, number>();
  for (const message of actual) counts.set(message, (counts.get(message) ?? 0) + 1);
  for (const [message, count] of counts) {
    if (count > 1) {
      findings.duplicates += count - 1;
      findings.violations.push(`${where}: ${alloc} keeps event ${JSON.stringify(message)} ${count} times`);
    }
  }
  if (JSON.stringify(actual) !== JSON.stringify(expected)) {
    findings.lost += expected.filter((m) => !counts.has(m)).length;
    findings.violations.push(`${where}: ${alloc} keeps events ${JSON.stringify(actual)}, expected ${JSON.stringify(expected)}`);
  }
}

/** After a restart: nothing acknowledged before the kill is missing or doubled, no index went back. */
export function checkRestart(workload: Workload, states: Map<string, AllocState>, where: string): Findings {
  const findings: Findings = { violations: [], duplicates: 0, lost: 0 };
  for (const [alloc, state] of states) {
    checkIndex(workload, alloc, state, false, findings, where);
    checkLog(workload, alloc, state.log, false, findings, where);
  }
  return findings;
}

/** After the last restart, every write acknowledged: the full check. */
export function checkFinal(workload: Workload, states: Map<string, AllocState>): Findings {
  const where = "final";
  const findings: Findings = { violations: [], duplicates: 0, lost: 0 };
  const unanswered = workload.writes.filter((w) => w.ack === undefined);
  for (const write of unanswered) findings.violations.push(`${where}: ${write.key} was never acknowledged (${write.attempts} attempts)`);
  for (const [alloc, state] of states) {
    checkIndex(workload, alloc, state, unanswered.length === 0, findings, where);
    checkLog(workload, alloc, state.log, unanswered.length === 0, findings, where);
    checkEvents(workload, alloc, state, findings, where);
  }
  return findings;
}
