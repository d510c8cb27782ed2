/**
 * Hands a stream produced by a Durable Object to the client, and tells the object at once when the
 * client stops reading: cancelling the response body aborts `gone`, whose signal the object got
 * over RPC. Without this, a stream that writes nothing (a plain log follow on an idle task) would
 * only notice a disconnect at its next write.
 */
/**
 * Chunks a stream may produce ahead of its reader: enough to pipeline 64 KiB frames across the
 * RPC hop instead of one round trip per frame, small enough to bound memory per stream.
 */
export const STREAM_BUFFER_CHUNKS = 4;

/**
 * The relay's read size. A stream received over RPC hands a default reader 4 KiB per read, so a
 * 64 KiB chunk cost 16 trips through this relay's JS; a BYOB read takes whatever the object wrote,
 * up to this (the RPC byte stream delivers at most 64 KiB per write).
 */
const RELAY_READ_BYTES = 64 * 1024;

/** Reads below this are copied out and their buffer reused, so a queued chunk never holds much more memory than its bytes. */
const RELAY_COPY_BELOW = RELAY_READ_BYTES / 2;

/**
 * Headers of every streamed answer (log follows, the event stream): no automatic compression.
 * Cloudflare (and `wrangler dev`, which emulates it) gzips JSON and text answers for clients that
 * send `Accept-Encoding` (browsers, Go's HTTP client), and a gzip stream holds small writes back:
 * a follower would see frames and heartbeats only in large batches or at the end. Measured with
 * `wrangler dev`: with `Accept-Encoding: gzip` a follow delivered nothing until it closed.
 */
export const STREAM_HEADERS = { "Cache-Control": "no-store", "Content-Encoding": "identity" } as const;

export function relayStream(source: ReadableStream<Uint8Array>, gone: AbortController): ReadableStream<Uint8Array> {
  const reader = source.getReader({ mode: "byob" });
  let buffer = new Uint8Array(RELAY_READ_BYTES);
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const { done, value } = await reader.read(buffer);
        if (done || !value) {
          controller.close();
          return;
        }
        if (value.byteLength < RELAY_COPY_BELOW) {
          controller.enqueue(value.slice());
          buffer = new Uint8Array(value.buffer, 0, RELAY_READ_BYTES);
        } else {
          controller.enqueue(value);
          buffer = new Uint8Array(RELAY_READ_BYTES);
        }
      },
      cancel(reason) {
        gone.abort();
        return reader.cancel(reason);
      },
    },
    { highWaterMark: STREAM_BUFFER_CHUNKS },
  );
}

/**
 * The same promise for a stream the Worker built itself (the merge of a sharded region's streams):
 * cancelling it aborts `gone` too, so every shard frees its subscription at once rather than at
 * its next write or heartbeat.
 */
export function abortOnCancel(source: ReadableStream<Uint8Array>, gone: AbortController): ReadableStream<Uint8Array> {
  const reader = source.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { done, value } = await reader.read();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    cancel(reason) {
      gone.abort();
      return reader.cancel(reason);
    },
  });
}
