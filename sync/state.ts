/**
 * The state directory: one JSON file, replaced atomically (write a temporary file, fsync it,
 * rename it over the old one, fsync the directory), so a crash at any instant leaves either the
 * old or the new file, never a torn one. It holds only what the edge has acknowledged; losing
 * it costs re-sending (the edge answers `Stale` for what it already has), never correctness.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from "node:fs";
import { join } from "node:path";

/** Per allocation: what the edge acknowledged. Short keys: this is O(allocations) on disk and in memory. */
export interface AllocMark {
  /** Namespace. */
  n: string;
  /** Source (Nomad) ModifyIndex the edge acknowledged, decimal. */
  s: string;
  /** AllocModifyIndex of that state (a server-side change, e.g. a new Job, bumps it). */
  a: string;
  /** Job version of that state. */
  v: string;
  /** Set when Nomad stopped listing it: when (ms since epoch) and the Nomad index of that list. */
  gone?: { at: number; index: string };
  /** Set when the edge refused this source index with a 4xx: not retried until Nomad has a newer one. */
  rejected?: string;
}

/** Per task log stream (`<alloc>/<task>/<stdout|stderr>`): where shipping stands. */
export interface LogMark {
  /** Number of the Nomad log file (`alloc/logs/<task>.<type>.<file>`) being read. */
  file: number;
  /** Bytes of that file shipped. */
  pos: number;
  /** Bytes the edge holds for the stream (its `X-Log-Offset`). */
  total: number;
  /** Nothing more will come (the task is dead and its files were drained). */
  done?: boolean;
}

export interface SyncState {
  version: 1;
  /** Highest Nomad index whose changes the edge acknowledged; the next event stream starts after it. */
  cursor: string;
  allocs: Record<string, AllocMark>;
  logs: Record<string, LogMark>;
}

const FILE = "sync-state.json";

export function emptyState(): SyncState {
  return { version: 1, cursor: "0", allocs: {}, logs: {} };
}

export function loadState(dir: string): SyncState {
  mkdirSync(dir, { recursive: true });
  let text: string;
  try {
    text = readFileSync(join(dir, FILE), "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return emptyState();
    throw error;
  }
  // The state file holds only decimal strings for indexes, so JSON.parse loses nothing here.
  const parsed = JSON.parse(text) as Partial<SyncState>;
  if (parsed.version !== 1) throw new Error(`${join(dir, FILE)}: unknown state version ${String(parsed.version)}`);
  return { version: 1, cursor: parsed.cursor ?? "0", allocs: parsed.allocs ?? {}, logs: parsed.logs ?? {} };
}

/** Writes the state atomically and durably. */
export function saveState(dir: string, state: SyncState): void {
  const target = join(dir, FILE);
  const temporary = `${target}.tmp-${process.pid}`;
  const fd = openSync(temporary, "w", 0o600);
  try {
    writeSync(fd, JSON.stringify(state));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temporary, target);
  const dirFd = openSync(dir, "r");
  try {
    fsyncSync(dirFd);
  } finally {
    closeSync(dirFd);
  }
}
