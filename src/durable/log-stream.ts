/**
 * A log read as Nomad's client streams it: framed (back-to-back JSON frames with base64 `Data`,
 * `File`, `FileEvent`, `Offset`, empty fields omitted, at most 64 KiB per frame, bursts of appends
 * batched for up to 200 ms, a `{}` heartbeat after each idle second) or plain (raw bytes only). With `follow`, the stream waits for appends,
 * woken by the ingest, and ends once the task is dead and every byte was sent.
 */

import { STREAM_BUFFER_CHUNKS } from "../http/stream.ts";
import { encodeString } from "../json/codec.ts";
import { type LogStore, type LogType, MAX_CHUNK_BYTES } from "./log-store.ts";

export const HEARTBEAT_MS = 1000;
/** Appends arriving within this gap of each other join the same frame... */
export const BATCH_QUIET_MS = 25;
/** ...for at most this long (Nomad's framer flushes every 200 ms) or until a frame is full. */
export const BATCH_MAX_MS = 200;

/** Someone waiting for new bytes of one stream; `wake` is called by appends and allocation changes. */
export interface LogFollower {
  task: string;
  type: LogType;
  wake: () => void;
}

export interface LogStreamOptions {
  store: LogStore;
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
export function encodeFrame(data: Uint8Array, file: string, offset: number): string {
  const fields: string[] = [];
  if (data.byteLength > 0) fields.push(`"Data":"${base64(data)}"`);
  if (file) fields.push(`"File":${encodeString(file)}`);
  if (offset) fields.push(`"Offset":${offset}`);
  return `{${fields.join(",")}}`;
}

export function openLogStream(options: LogStreamOptions): ReadableStream<Uint8Array> {
  const { store, task, type, follow, plain, followers } = options;
  const file = `alloc/logs/${task}.${type}.0`;
  // Without follow, the read ends at the end the stream had when it was opened (as Nomad does).
  const endAtOpen = store.bounds(task, type).end;
  let position = options.start;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let resume: ((why: "data" | "idle") => void) | undefined;
  const follower: LogFollower = { task, type, wake: () => resume?.("data") };
  const cleanup = () => {
    clearTimeout(timer);
    followers.delete(follower);
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
      clearTimeout(timer);
      resume = undefined;
    }
  };

  return new ReadableStream<Uint8Array>(
    {
      pull: async (controller) => {
        for (;;) {
          const { floor, end } = store.bounds(task, type);
          position = Math.max(position, floor);
          const data = store.read(task, type, position, follow ? end : Math.min(end, endAtOpen), MAX_CHUNK_BYTES);
          if (data.byteLength > 0) {
            position += data.byteLength;
            controller.enqueue(plain ? data : encoder.encode(encodeFrame(data, file, position)));
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
    { highWaterMark: STREAM_BUFFER_CHUNKS },
  );
}
