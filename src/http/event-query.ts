/**
 * The event stream's query parameters (`GET /v1/event/stream`): `index` and `topic` as Nomad's
 * command/agent/event_endpoint.go parses them, with its texts.
 */
import { CodedError } from "../errors.ts";

const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;

/**
 * `?index`: Go's `strconv.Atoi`, as Nomad parses it; absent or empty is 0 (from the oldest event
 * kept). Nomad then takes `uint64(index)`, so a negative index is a very large one (only events
 * from now on). The uint64, exact (it stays a bigint as far as the catalog's comparison).
 */
export function parseEventIndex(raw: string | null): bigint {
  if (raw === null || raw === "") return 0n;
  const syntax = /^[+-]?\d+$/.test(raw);
  const value = syntax ? BigInt(raw) : 0n;
  if (!syntax || value < INT64_MIN || value > INT64_MAX) {
    const why = syntax ? "value out of range" : "invalid syntax";
    throw new CodedError(400, `Unable to parse index: strconv.Atoi: parsing ${JSON.stringify(raw)}: ${why}`);
  }
  return value < 0n ? value + (1n << 64n) : value;
}

/** Distinct `topic` values one stream may ask for (repeats count once): bounds each event's match work. */
const MAX_TOPICS = 100;

/**
 * `?topic=Topic[:Key]`, repeatable (Nomad's `parseEventTopics`): none means `*:*`; a value with
 * more than one `:` is a 400. Returns each topic's keys.
 */
export function parseTopics(values: string[]): Map<string, string[]> {
  if (values.length === 0) return new Map([["*", ["*"]]]);
  const distinct = [...new Set(values)];
  if (distinct.length > MAX_TOPICS) {
    throw new CodedError(400, `Invalid topic query: at most ${MAX_TOPICS} distinct topic values, got ${distinct.length}`);
  }
  const topics = new Map<string, string[]>();
  for (const value of distinct) {
    const parts = value.split(":");
    if (parts.length > 2) {
      throw new CodedError(400, `Invalid topic query: error parsing topics: Invalid key value pair for topic, topic: ${value}`);
    }
    const [topic = "", key = "*"] = parts;
    topics.set(topic, [...(topics.get(topic) ?? []), key]);
  }
  return topics;
}
