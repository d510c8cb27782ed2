/**
 * A log read as Nomad's client streams it: framed (back-to-back JSON frames with base64 `Data`,
 * `File`, `FileEvent`, `Offset`, empty fields omitted, at most 64 KiB per frame, bursts of appends
 * batched for up to 200 ms, a `{}` heartbeat after each idle second) or plain (raw bytes only, up
 * to 256 KiB per chunk). With `follow`, the stream waits for appends, woken by the ingest, and ends
 * once the task is dead and every byte was sent. Streams of one object share their reads (and
 * frames) through `SharedLogReads`.
 */

import { STREAM_BUFFER_CHUNKS } from "../http/stream.ts";
import { encodeString } from "../json/codec.ts";
import { type LogStore, type LogType, MAX_CHUNK_BYTES } from "./log-store.ts";

const HEARTBEAT_MS = 1000;
/** Appends arriving within this gap of each other join the same frame... */
const BATCH_QUIET_MS = 25;
/** ...for at most this long (Nomad's framer flushes every 200 ms) or until a frame is full. */
const BATCH_MAX_MS = 200;

/** Plain streams have no frame size to keep: a chunk takes up to this much of what is pending. */
const PLAIN_CHUNK_BYTES = 4 * MAX_CHUNK_BYTES;
/** Bytes a stream reads ahead of its reader (the RPC hop's pipeline). */
const STREAM_BUFFER_BYTES = STREAM_BUFFER_CHUNKS * MAX_CHUNK_BYTES;

/** Someone waiting for new bytes of one stream; `wake` is called by appends and allocation changes. */
export interface LogFollower {
  task: string;
  type: LogType;
  wake: () => void;
}

interface LogStreamOptions {
  store: LogStore;
  /** The object's shared reads: streams at the same offset share one read and one frame. */
  reads: SharedLogReads;
  task: string;
  type: LogType;
  start: number;
  follow: boolean;
  plain: boolean;
  /** Whether the stream is finished once caught up: the task is dead or the allocation is gone. */
  finished: () => boolean;
  followers: Set<LogFollower>;
  /** Aborted by the Worker when its client goes away: the follower is dropped at once. */
  signal?: AbortSignal;
}

const encoder = new TextEncoder();

function base64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.byteLength; i += 0x2000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x2000));
  return btoa(binary);
}

/** One frame with Nomad's key order (Data, File, FileEvent, Offset) and omitempty fields. */
function encodeFrame(data: Uint8Array, file: string, offset: number): string {
  const fields: string[] = [];
  if (data.byteLength > 0) fields.push(`"Data":"${base64(data)}"`);
  if (file) fields.push(`"File":${encodeString(file)}`);
  if (offset) fields.push(`"Offset":${offset}`);
  return `{${fields.join(",")}}`;
}

/** Bytes at one offset range of one stream, read once; the frame is encoded on first use. */
export interface SharedChunk {
  readonly data: Uint8Array;
  frame?: Uint8Array;
  /** Its key while the shared reads keep it. */
  key?: string;
}

/**
 * Bytes kept by the shared reads at most (data and encoded frames), least recently used dropped
 * first: room for a 1 MiB burst as plain chunks and as frames. Objects of a class may share an
 * isolate (128 MB on Cloudflare), so this stays small; a follower that falls further behind reads
 * from SQLite again.
 */
const SHARED_READ_BYTES = 2 * 1024 * 1024;

/**
 * Reads shared by every log stream of one object. Followers woken by the same append stand at the
 * same offset and ask for the same range: the first one reads it from SQLite (and encodes its
 * frame), the others get the very same bytes. Valid because the bytes at an offset never change
 * while they are stored: retention only drops them, and streams raise their position to the
 * floor before reading, so a range below the floor is never asked for; an append only adds bytes
 * past the end, and a range ends at most at the end its reader saw, so it is a different range
 * after an append. Clearing the store (the allocation is collected, offsets start over) drops
 * every shared read, and so does the last open stream ending: an object nobody reads keeps nothing,
 * and a lone stream keeps nothing either (there is no one to share with).
 */
export class SharedLogReads {
  readonly #store: LogStore;
  /** In least recently used order (Map iteration order: a hit moves its entry to the end). */
  readonly #chunks = new Map<string, SharedChunk>();
  #bytes = 0;
  #generation: number;
  #streams = 0;

  constructor(store: LogStore) {
    this.#store = store;
    this.#generation = store.generation;
  }

  /** Counts a stream open until the returned function is called (any number of times). */
  open(): () => void {
    this.#streams++;
    let open = true;
    return () => {
      if (!open) return;
      open = false;
      if (--this.#streams === 0) this.#drop();
    };
  }

  /**
   * Up to `max` bytes from `from` (at or above the stream's floor) stopping at `until` (at most
   * the stream's end), with `from` and `until` taken from one `bounds()` in the same turn.
   */
  read(task: string, type: LogType, from: number, until: number, max: number): SharedChunk {
    const limit = Math.min(until, from + max);
    if (limit <= from) return { data: new Uint8Array() };
    if (this.#store.generation !== this.#generation) this.#drop();
    const key = `${type}:${from}:${limit}:${task}`;
    const cached = this.kept(key);
    if (cached) return cached;
    const data = this.readStored(task, type, from, limit, max);
    const chunk: SharedChunk = { data };
    // Kept only while another stream could ask for it; a short read (never expected within the
    // bounds) is served but not shared.
    if (this.#streams > 1 && data.byteLength === limit - from) {
      chunk.key = key;
      this.#chunks.set(key, chunk);
      this.#grow(data.byteLength);
    }
    return chunk;
  }

  /** The chunk's Nomad frame (its end offset is `from + data.byteLength`), encoded once. */
  frame(chunk: SharedChunk, file: string, endOffset: number): Uint8Array {
    if (!chunk.frame) {
      chunk.frame = this.encodeChunk(chunk.data, file, endOffset);
      // A chunk has a key exactly while the shared reads keep it (eviction and drop clear it).
      if (chunk.key !== undefined) this.#grow(chunk.frame.byteLength);
    }
    return chunk.frame;
  }

  /** The chunk kept under `key`, marked most recently used; undefined when none is. */
  protected kept(key: string): SharedChunk | undefined {
    const cached = this.#chunks.get(key);
    if (cached) {
      this.#chunks.delete(key);
      this.#chunks.set(key, cached);
    }
    return cached;
  }

  /** Bytes `[from, limit)` of the stream, from SQLite. */
  protected readStored(task: string, type: LogType, from: number, limit: number, max: number): Uint8Array {
    return this.#store.read(task, type, from, limit, max);
  }

  /** A frame's bytes (Nomad's `StreamFrame` JSON). */
  protected encodeChunk(data: Uint8Array, file: string, endOffset: number): Uint8Array {
    return encoder.encode(encodeFrame(data, file, endOffset));
  }

  #grow(bytes: number): void {
    this.#bytes += bytes;
    for (const [key, chunk] of this.#chunks) {
      if (this.#bytes <= SHARED_READ_BYTES) break;
      this.#chunks.delete(key);
      chunk.key = undefined;
      this.#bytes -= chunk.data.byteLength + (chunk.frame?.byteLength ?? 0);
    }
  }

  #drop(): void {
    for (const chunk of this.#chunks.values()) chunk.key = undefined;
    this.#chunks.clear();
    this.#bytes = 0;
    this.#generation = this.#store.generation;
  }
}

export function openLogStream(options: LogStreamOptions): ReadableStream<Uint8Array> {
  const { store, reads, task, type, follow, plain, followers } = options;
  const file = `alloc/logs/${task}.${type}.0`;
  // Without follow, the read ends at the end the stream had when it was opened (as Nomad does).
  const endAtOpen = store.bounds(task, type).end;
  let position = options.start;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let resume: ((why: "data" | "idle") => void) | undefined;
  const follower: LogFollower = { task, type, wake: () => resume?.("data") };
  const release = reads.open();
  const cleanup = () => {
    if (timer !== undefined) clearTimeout(timer);
    followers.delete(follower);
    release();
    resume?.("data");
  };
  if (follow) followers.add(follower);
  options.signal?.addEventListener("abort", cleanup);
  const waitForWake = async (ms: number): Promise<"data" | "idle"> => {
    try {
      return await new Promise<"data" | "idle">((resolve) => {
        resume = resolve;
        timer = setTimeout(() => resolve("idle"), ms);
      });
    } finally {
      if (timer !== undefined) clearTimeout(timer);
      resume = undefined;
    }
  };

  return new ReadableStream<Uint8Array>(
    {
      pull: async (controller) => {
        for (;;) {
          const { floor, end } = store.bounds(task, type);
          position = Math.max(position, floor);
          const until = follow ? end : Math.min(end, endAtOpen);
          const chunk = reads.read(task, type, position, until, plain ? PLAIN_CHUNK_BYTES : MAX_CHUNK_BYTES);
          if (chunk.data.byteLength > 0) {
            position += chunk.data.byteLength;
            controller.enqueue(plain ? chunk.data : reads.frame(chunk, file, position));
            return;
          }
          if (!follow || options.finished()) {
            cleanup();
            controller.close();
            return;
          }
          const why = await waitForWake(HEARTBEAT_MS);
          if (!followers.has(follower)) return; // cancelled while waiting
          if (why === "idle") {
            if (!plain) {
              controller.enqueue(encoder.encode("{}"));
              return;
            }
            continue;
          }
          // Batch a burst of appends into one frame, as Nomad's framer does, without holding a
          // lone append longer than the quiet gap.
          const burstStart = Date.now();
          while (Date.now() - burstStart < BATCH_MAX_MS && store.bounds(task, type).end - position < MAX_CHUNK_BYTES) {
            if ((await waitForWake(BATCH_QUIET_MS)) === "idle") break;
            if (!followers.has(follower)) return;
          }
        }
      },
      cancel: cleanup,
    },
    // Counted in bytes: a few frames, or one or two large plain chunks, ahead of the reader.
    { highWaterMark: STREAM_BUFFER_BYTES, size: (chunk) => chunk.byteLength },
  );
}
