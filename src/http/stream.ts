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

export function relayStream(source: ReadableStream<Uint8Array>, gone: AbortController): ReadableStream<Uint8Array> {
  const reader = source.getReader();
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const { done, value } = await reader.read();
        if (done) controller.close();
        else controller.enqueue(value);
      },
      cancel(reason) {
        gone.abort();
        return reader.cancel(reason);
      },
    },
    { highWaterMark: STREAM_BUFFER_CHUNKS },
  );
}
