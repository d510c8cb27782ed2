/**
 * Hands a stream produced by a Durable Object to the client, and tells the object at once when the
 * client stops reading: cancelling the response body aborts `gone`, whose signal the object got
 * over RPC. Without this, a stream that writes nothing (a plain log follow on an idle task) would
 * only notice a disconnect at its next write.
 */
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
    { highWaterMark: 0 },
  );
}
