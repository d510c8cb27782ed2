/**
 * Newline-delimited JSON from a byte stream. One line of Nomad's event stream carries every event
 * of one Raft index and can be megabytes, so lines are reassembled from chunks with a cap; numbers
 * stay exact (the project's codec, never `JSON.parse`: `Time` values exceed 2^53).
 */
import { type JsonValue, parseJson } from "../src/json/codec.ts";

const MAX_LINE_BYTES = 64 * 1024 * 1024;

class LineTooLong extends Error {}

export async function* ndjson(source: AsyncIterable<Buffer>, maxLine = MAX_LINE_BYTES): AsyncGenerator<JsonValue> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  for await (const chunk of source) {
    let start = 0;
    for (let nl = chunk.indexOf(10); nl !== -1; nl = chunk.indexOf(10, start)) {
      pending.push(chunk.subarray(start, nl));
      const line = Buffer.concat(pending).toString("utf8").trim();
      pending = [];
      pendingBytes = 0;
      start = nl + 1;
      if (line !== "") yield parseJson(line, { maxDepth: 256 });
    }
    if (start < chunk.length) {
      pendingBytes += chunk.length - start;
      if (pendingBytes > maxLine) throw new LineTooLong(`an event-stream line exceeds ${maxLine} bytes`);
      pending.push(chunk.subarray(start));
    }
  }
  const rest = Buffer.concat(pending).toString("utf8").trim();
  if (rest !== "") yield parseJson(rest, { maxDepth: 256 });
}
