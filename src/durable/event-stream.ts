/**
 * A region's event stream, as Nomad's event broker and JSON stream deliver it
 * (nomad/stream/event_broker.go, subscription.go, ndjson.go): a `{}` heartbeat at once and then on
 * a fixed tick, the history from the requested index (from the oldest event kept when it is 0),
 * then live events; an event is delivered when its namespace is one of the subscription's and one
 * of the subscription's keys is the event's `Key` or one of its `FilterKeys`.
 */
import { RefusalText } from "../errors.ts";
import { STREAM_BUFFER_CHUNKS } from "../http/stream.ts";
import type { StreamQuery } from "./contract.ts";

/** What the stream needs from its region catalog. */
interface EventSource {
  sql: SqlStorage;
  /** The last index recorded, and the lowest index still in the history. */
  lastIndex(): number;
  floor(): number;
  /** Live subscribers: each is called when an event is recorded. */
  subscribers: Set<() => void>;
}

/** Events read from SQLite per pull of a stream. */
const STREAM_BATCH = 100;

const encoder = new TextEncoder();
const HEARTBEAT = encoder.encode("{}\n");

type EventRow = {
  region_index: number;
  body: string;
  namespace: string;
  alloc_id: string;
  job_id: string;
  deployment_id: string;
};

/**
 * Where a stream starts, or the 410 text when `index` is below the history's floor. As Nomad's
 * `StartAtClosest`: at the first event whose Index is >= `index`, and an index beyond the last
 * event starts with the next one (compared as uint64, exactly).
 */
export function streamStart(requested: bigint, floor: number, lastIndex: number): { position: number } | { gone: string } {
  if (requested > 0n && requested < BigInt(floor)) {
    return {
      gone: RefusalText.eventIndexGone(String(requested), String(floor)),
    };
  }
  // 0 is Nomad's "from the buffer's head": here the oldest event still kept.
  const from = requested === 0n ? BigInt(floor) : requested;
  const next = BigInt(lastIndex) + 1n;
  // At most the next index the catalog hands out: a safe integer, as every index it stores.
  return { position: Number(from < next ? from : next) };
}

export function openEventStream(
  source: EventSource,
  query: StreamQuery,
  position: number,
  signal?: AbortSignal,
): ReadableStream<Uint8Array> {
  const namespaces = new Set(query.namespaces);
  const keys = query.keys === null ? null : new Set(query.keys);
  const delivers = (row: EventRow) =>
    namespaces.has(row.namespace) &&
    (keys === null || keys.has(row.alloc_id) || keys.has(row.job_id) || (row.deployment_id !== "" && keys.has(row.deployment_id)));

  let resume: (() => void) | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let nextBeat = Date.now() + query.heartbeatMs;
  let greeted = query.watermarks === true;
  let marked = -1;
  const wake = () => resume?.();
  const cleanup = () => {
    if (timer !== undefined) clearTimeout(timer);
    source.subscribers.delete(wake);
    resume?.();
  };
  source.subscribers.add(wake);
  signal?.addEventListener("abort", cleanup);

  return new ReadableStream<Uint8Array>(
    {
      pull: async (controller) => {
        // Nomad's JSON stream sends a heartbeat as soon as it starts, then one per tick.
        if (!query.watermarks && (!greeted || Date.now() >= nextBeat)) {
          if (greeted) nextBeat = Math.max(nextBeat + query.heartbeatMs, Date.now());
          greeted = true;
          controller.enqueue(HEARTBEAT);
          return;
        }
        for (;;) {
          if (position < source.floor()) {
            // This reader fell behind the history while it was slow: end rather than skip events.
            cleanup();
            controller.error(new Error("event stream fell behind the retained history"));
            return;
          }
          const scannedUpTo = source.lastIndex();
          const rows = source.sql
            .exec<EventRow>(
              "SELECT region_index, body, namespace, alloc_id, job_id, deployment_id FROM event WHERE region_index >= ? ORDER BY region_index LIMIT ?",
              position,
              STREAM_BATCH,
            )
            .toArray();
          if (rows.length > 0) {
            position = (rows.at(-1)?.region_index ?? position) + 1;
            const lines = rows
              .filter(delivers)
              .map((row) => `{"Events":[${row.body}],"Index":${row.region_index}}\n`)
              .join("");
            if (lines !== "") {
              controller.enqueue(encoder.encode(lines));
              return;
            }
            continue;
          }
          position = Math.max(position, scannedUpTo + 1);
          if (query.watermarks && scannedUpTo !== marked) {
            marked = scannedUpTo;
            controller.enqueue(encoder.encode(`{"Index":${scannedUpTo}}\n`));
            return;
          }
          if (!source.subscribers.has(wake)) {
            controller.close();
            return;
          }
          const why = await new Promise<"event" | "beat">((resolve) => {
            resume = () => resolve("event");
            // A shard's stream beats too (the merge drops its beats): writing is how a stream learns
            // that its reader went away when the cancel did not reach it, so it is freed within a beat.
            timer = setTimeout(() => resolve("beat"), Math.max(nextBeat - Date.now(), 0));
          });
          if (timer !== undefined) clearTimeout(timer);
          resume = undefined;
          if (why === "beat") {
            nextBeat = Math.max(nextBeat + query.heartbeatMs, Date.now());
            controller.enqueue(HEARTBEAT);
            return;
          }
        }
      },
      cancel: cleanup,
    },
    { highWaterMark: STREAM_BUFFER_CHUNKS },
  );
}
