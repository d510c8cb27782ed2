/**
 * Task log streams in the allocation's SQLite: bytes split into chunks of at most 64 KiB, keyed by
 * absolute offsets that are never reused. Retention per stream is bounded: the oldest chunks are
 * dropped first and the stream's floor moves up past them.
 */

/** Nomad's maximum frame payload; also the chunk size, so one chunk never spans two frames' worth. */
export const MAX_CHUNK_BYTES = 64 * 1024;

export type LogType = "stdout" | "stderr";

interface StreamBounds {
  floor: number;
  end: number;
}

export class LogStore {
  readonly #sql: SqlStorage;
  #generation = 0;

  constructor(sql: SqlStorage) {
    this.#sql = sql;
  }

  /**
   * Changes whenever stored offsets may start over (`clear`). Between changes, the bytes at an
   * offset never change; retention only drops them (and raises the floor past them).
   */
  get generation(): number {
    return this.#generation;
  }

  bounds(task: string, type: LogType): StreamBounds {
    const row = this.#sql
      .exec<{ floor_offset: number; end_offset: number }>(
        "SELECT floor_offset, end_offset FROM log_stream WHERE task = ? AND type = ?",
        task,
        type,
      )
      .toArray()[0];
    return row ? { floor: row.floor_offset, end: row.end_offset } : { floor: 0, end: 0 };
  }

  /** Appends bytes (inside the caller's transaction) and enforces retention; returns the new end. */
  append(task: string, type: LogType, bytes: Uint8Array, retention: number): number {
    let { floor, end } = this.bounds(task, type);
    for (let at = 0; at < bytes.byteLength; at += MAX_CHUNK_BYTES) {
      const chunk = bytes.subarray(at, Math.min(at + MAX_CHUNK_BYTES, bytes.byteLength));
      this.#sql.exec("INSERT INTO log_chunk (task, type, start_offset, data) VALUES (?, ?, ?, ?)", task, type, end, chunk);
      end += chunk.byteLength;
    }
    // Drop whole chunks, oldest first, while more than `retention` bytes are kept.
    while (end - floor > retention) {
      const oldest = this.#sql
        .exec<{ start_offset: number; size: number }>(
          "SELECT start_offset, length(data) AS size FROM log_chunk WHERE task = ? AND type = ? ORDER BY start_offset LIMIT 1",
          task,
          type,
        )
        .toArray()[0];
      if (!oldest) break;
      this.#sql.exec("DELETE FROM log_chunk WHERE task = ? AND type = ? AND start_offset = ?", task, type, oldest.start_offset);
      floor = oldest.start_offset + oldest.size;
    }
    this.#sql.exec(
      `INSERT INTO log_stream (task, type, floor_offset, end_offset) VALUES (?, ?, ?, ?)
       ON CONFLICT (task, type) DO UPDATE SET floor_offset = excluded.floor_offset, end_offset = excluded.end_offset`,
      task,
      type,
      floor,
      end,
    );
    return end;
  }

  /** Up to `max` bytes starting at `from` (which must be >= the floor), stopping at `until`. */
  read(task: string, type: LogType, from: number, until: number, max: number = MAX_CHUNK_BYTES): Uint8Array {
    const limit = Math.min(until, from + max);
    if (limit <= from) return new Uint8Array();
    const rows = this.#sql
      .exec<{ start_offset: number; data: ArrayBuffer }>(
        "SELECT start_offset, data FROM log_chunk WHERE task = ? AND type = ? AND start_offset > ? AND start_offset < ? ORDER BY start_offset",
        task,
        type,
        from - MAX_CHUNK_BYTES,
        limit,
      )
      .toArray();
    const out = new Uint8Array(limit - from);
    let filled = 0;
    for (const row of rows) {
      const data = new Uint8Array(row.data);
      const skip = Math.max(0, from - row.start_offset);
      const take = data.subarray(skip, Math.min(data.byteLength, limit - row.start_offset));
      if (take.byteLength === 0) continue;
      out.set(take, row.start_offset + skip - from);
      filled += take.byteLength;
    }
    return out.subarray(0, filled);
  }

  clear(): void {
    this.#generation++;
    this.#sql.exec("DELETE FROM log_chunk");
    this.#sql.exec("DELETE FROM log_stream");
  }
}
