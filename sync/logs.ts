/**
 * Task logs, exactly once. Nomad writes each task's stdout/stderr to `alloc/logs/<task>.<type>.<n>`
 * and rotates to `n+1` when a file is full, deleting the oldest beyond `max_files`
 * (client/logmon/logging/rotator.go). Offsets in Nomad's log frames are per file and `origin=start`
 * counts from the oldest file still there (client/fs_endpoint.go), so neither survives rotation.
 * Instead the shipper keeps, per stream, (file number, bytes of it shipped, bytes the edge holds),
 * lists the files (`/v1/client/fs/ls`), reads exact ranges (`/v1/client/fs/readat`), and appends
 * with `X-Log-Offset` = bytes the edge holds. After a crash the checkpoint may be behind the edge:
 * the edge's 409 carries its total, and the shipper moves forward by the difference instead of
 * sending those bytes again.
 */
import { isJsonObject, type JsonObject } from "../src/json/codec.ts";
import type { LogsMode } from "./config.ts";
import type { EdgeClient } from "./edge.ts";
import type { Metrics } from "./metrics.ts";
import type { FileInfo, NomadClient } from "./nomad.ts";
import type { LogMark, SyncState } from "./state.ts";

const LOG_DIR = "alloc/logs";
const READ_BYTES = 256 * 1024;
const ZERO_TIME = "0001-01-01T00:00:00Z";
const TYPES = ["stdout", "stderr"] as const;

interface Stream {
  key: string;
  alloc: string;
  task: string;
  type: (typeof TYPES)[number];
  /** The task is dead: drain, then stop. */
  dead: boolean;
  /** Rounds in a row with nothing new after the task died. */
  idleDead: number;
}

function fileNumber(name: string, prefix: string): number | undefined {
  if (!name.startsWith(prefix)) return undefined;
  const rest = name.slice(prefix.length);
  return /^\d+$/.test(rest) ? Number(rest) : undefined;
}

export class LogShipper {
  readonly #mode: LogsMode;
  readonly #nomad: NomadClient;
  readonly #edge: EdgeClient;
  readonly #state: SyncState;
  readonly #metrics: Metrics;
  readonly #stateChanged: () => void;
  readonly #streams = new Map<string, Stream>();
  /** Allocations whose logs are followed (mode `running`: seen running at least once). */
  readonly #followed = new Set<string>();

  constructor(options: {
    mode: LogsMode;
    nomad: NomadClient;
    edge: EdgeClient;
    state: SyncState;
    metrics: Metrics;
    stateChanged: () => void;
  }) {
    this.#mode = options.mode;
    this.#nomad = options.nomad;
    this.#edge = options.edge;
    this.#state = options.state;
    this.#metrics = options.metrics;
    this.#stateChanged = options.stateChanged;
  }

  /** An allocation state the edge acknowledged: starts or updates the streams of its started tasks. */
  track(alloc: string, doc: JsonObject): void {
    if (this.#mode === "none") return;
    const running = doc.ClientStatus === "running";
    const resumed = Object.keys(this.#state.logs).some((k) => k.startsWith(`${alloc}/`));
    if (this.#mode === "running" && !running && !this.#followed.has(alloc) && !resumed) return;
    this.#followed.add(alloc);
    const states = isJsonObject(doc.TaskStates) ? doc.TaskStates : {};
    for (const [task, state] of Object.entries(states)) {
      if (!isJsonObject(state) || state.StartedAt === ZERO_TIME || state.StartedAt === null || state.StartedAt === undefined) continue;
      for (const type of TYPES) {
        const key = `${alloc}/${task}/${type}`;
        if (this.#state.logs[key]?.done) continue;
        const stream = this.#streams.get(key) ?? { key, alloc, task, type, dead: false, idleDead: 0 };
        stream.dead = state.State === "dead";
        this.#streams.set(key, stream);
      }
    }
    this.#metrics.logStreams.set(this.#streams.size);
  }

  /** Forgets an allocation deleted at the edge. */
  forget(alloc: string): void {
    for (const key of this.#streams.keys()) if (key.startsWith(`${alloc}/`)) this.#streams.delete(key);
    this.#followed.delete(alloc);
  }

  get active(): number {
    return this.#streams.size;
  }

  /** One pass over every stream: ships everything Nomad has now. Returns the bytes shipped. */
  async round(signal: AbortSignal): Promise<number> {
    const byAlloc = new Map<string, Stream[]>();
    for (const stream of this.#streams.values()) byAlloc.set(stream.alloc, [...(byAlloc.get(stream.alloc) ?? []), stream]);
    let shipped = 0;
    for (const [alloc, streams] of byAlloc) {
      if (signal.aborted) break;
      let files: FileInfo[];
      try {
        files = await this.#nomad.listFiles(alloc, LOG_DIR, signal);
      } catch (error) {
        if (!signal.aborted) console.log(`logs: listing ${alloc}/${LOG_DIR} failed: ${(error as Error).message}`);
        continue;
      }
      for (const stream of streams) {
        try {
          shipped += await this.#ship(stream, files, signal);
        } catch (error) {
          if (!signal.aborted) console.log(`logs: ${stream.key} failed: ${(error as Error).message}`);
        }
      }
    }
    this.#metrics.logStreams.set(this.#streams.size);
    return shipped;
  }

  async #ship(stream: Stream, files: FileInfo[], signal: AbortSignal): Promise<number> {
    const prefix = `${stream.task}.${stream.type}.`;
    const mine = files
      .map((f) => ({ n: fileNumber(f.name, prefix), size: f.size }))
      .filter((f): f is { n: number; size: number } => f.n !== undefined)
      .sort((a, b) => a.n - b.n);
    const oldest = mine[0];
    if (!oldest) return this.#idle(stream, 0);
    let mark: LogMark = this.#state.logs[stream.key] ?? { file: oldest.n, pos: 0, total: 0 };
    if (mark.file < oldest.n) {
      // Rotated away before it could be read: what is lost is unknowable here, so count the event.
      console.log(`logs: ${stream.key}: file ${mark.file} was rotated away before it was shipped; continuing at file ${oldest.n}`);
      this.#metrics.logGaps.inc();
      mark = { file: oldest.n, pos: 0, total: mark.total };
    }
    let shipped = 0;
    for (;;) {
      if (signal.aborted) break;
      const current = mine.find((f) => f.n === mark.file);
      const next = mine.find((f) => f.n > mark.file);
      const size = current?.size ?? 0;
      if (mark.pos < size) {
        const path = `${LOG_DIR}/${prefix}${mark.file}`;
        const bytes = await this.#nomad.readAt(stream.alloc, path, mark.pos, Math.min(READ_BYTES, size - mark.pos), signal);
        if (bytes.length === 0) break;
        const outcome = await this.#edge.appendLog(stream.alloc, stream.task, stream.type, bytes, mark.total);
        if (outcome.kind === "appended") {
          mark = { file: mark.file, pos: mark.pos + bytes.length, total: outcome.total };
          shipped += bytes.length;
          this.#metrics.logBytes.inc({}, bytes.length);
        } else if (outcome.kind === "mismatch") {
          if (outcome.total > mark.total) {
            // Appended before a crash that lost the checkpoint: skip what the edge already has.
            mark = advance(mark, outcome.total - mark.total, mine);
          } else {
            console.log(
              `logs: ${stream.key}: the edge holds ${outcome.total} bytes, fewer than the ${mark.total} shipped; continuing from its count`,
            );
            mark = { ...mark, total: outcome.total };
          }
        } else {
          this.#metrics.rejects.inc({ op: "log", code: String(outcome.status) });
          console.log(`edge rejected log append ${stream.key}: ${outcome.status} ${outcome.error}`);
          break;
        }
        this.#state.logs[stream.key] = mark;
        this.#stateChanged();
        continue;
      }
      if (next) {
        mark = { file: next.n, pos: 0, total: mark.total };
        this.#state.logs[stream.key] = mark;
        this.#stateChanged();
        continue;
      }
      break;
    }
    this.#state.logs[stream.key] = mark;
    return this.#idle(stream, shipped);
  }

  /** A dead task's stream is closed after two rounds in a row with nothing new. */
  #idle(stream: Stream, shipped: number): number {
    if (!stream.dead) return shipped;
    stream.idleDead = shipped > 0 ? 0 : stream.idleDead + 1;
    if (stream.idleDead >= 2) {
      this.#streams.delete(stream.key);
      const mark = this.#state.logs[stream.key];
      if (mark) {
        mark.done = true;
        this.#stateChanged();
      }
    }
    return shipped;
  }
}

/** Moves a position forward by `bytes` through the files (sizes as listed). */
export function advance(mark: LogMark, bytes: number, files: ReadonlyArray<{ n: number; size: number }>): LogMark {
  let { file, pos } = mark;
  let left = bytes;
  for (;;) {
    const size = files.find((f) => f.n === file)?.size ?? pos;
    const next = files.find((f) => f.n > file);
    const room = Math.max(0, size - pos);
    if (left <= room || !next) return { file, pos: pos + left, total: mark.total + bytes };
    left -= room;
    file = next.n;
    pos = 0;
  }
}
