/**
 * The status pages' pure modules (src/ui): the blocking-query rules of docs/blocking-queries.md,
 * the framed-log splitter, failure sorting and display formats. The pages themselves run in
 * Chromium (test/blackbox/status-page-browser.test.ts).
 */
import { describe, expect, it } from "vitest";
import { backoffMs, CLIENT_TIMEOUT_MS, isNews, nextIndex, WAIT } from "../../src/ui/blocking.ts";
import { absoluteTime, nanosTime, relativeTime, rfc3339ToMs, shortId, toneOf } from "../../src/ui/format.ts";
import { base64Bytes, FrameSplitter } from "../../src/ui/log-frames.ts";
import { indexOf, isTransient, problemOf, withIndex } from "../../src/ui/problem.ts";

describe("blocking-query rules", () => {
  it("echoes the last index, and resets to 0 when it goes backwards", () => {
    expect(nextIndex(0n, 1796161213818n)).toBe(1796161213818n);
    expect(nextIndex(1796161213818n, 1796161213818n)).toBe(1796161213818n);
    expect(nextIndex(1796161213818n, 1796161213900n)).toBe(1796161213900n);
    expect(nextIndex(1796161213818n, 5n)).toBe(0n);
    expect(nextIndex(42n, undefined)).toBe(42n);
    // Exact above 2^53: never through a number.
    expect(nextIndex(18446744073709551614n, 18446744073709551615n)).toBe(18446744073709551615n);
  });

  it("counts a first read or a larger index as news, an early return with the same index not", () => {
    expect(isNews(0n, 7n)).toBe(true);
    expect(isNews(7n, 8n)).toBe(true);
    expect(isNews(7n, 7n)).toBe(false);
    expect(isNews(7n, undefined)).toBe(false);
  });

  it("backs off from 1 s doubling to 30 s with at most 10 % jitter", () => {
    expect([1, 2, 3, 4, 5, 6, 7, 12].map((attempt) => backoffMs(attempt, 0))).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
    expect(backoffMs(1, 0.999)).toBeLessThanOrEqual(1100);
    expect(backoffMs(6, 0.5)).toBe(31500);
  });

  it("times a query out only after the server's worst case for its wait (wait × 17/16)", () => {
    expect(WAIT).toBe("60s");
    expect(CLIENT_TIMEOUT_MS).toBeGreaterThan((60_000 * 17) / 16);
  });

  it("sends the index as its exact digits and leaves empty parameters out", () => {
    expect(withIndex(0n)({ region: "", prefix: "20", wait: "60s" })).toBe("prefix=20&wait=60s");
    expect(withIndex(9007199254740993n)({ region: "europe" })).toBe("region=europe&index=9007199254740993");
    const response = new Response(null, { headers: { "X-Nomad-Index": "9007199254740993" } });
    expect(indexOf(response)).toBe(9007199254740993n);
    expect(indexOf(new Response(null, { headers: { "X-Nomad-Index": "abc" } }))).toBeUndefined();
  });
});

describe("failures a person can act on", () => {
  it("sorts answers by what can be done about them", () => {
    expect(problemOf(403, "Permission denied", null).kind).toBe("forbidden");
    expect(problemOf(404, "alloc not found", null).kind).toBe("not-found");
    expect(problemOf(400, "No path to region", null).kind).toBe("bad-region");
    expect(problemOf(400, "Invalid prefix", null).kind).toBe("bad-request");
    expect(problemOf(429, "Too many", "3")).toMatchObject({ kind: "busy", retryAfterMs: 3000 });
    expect(problemOf(500, "", null)).toMatchObject({ kind: "server", text: "HTTP 500" });
    expect(isTransient(problemOf(503, "x", null))).toBe(true);
    expect(isTransient(problemOf(429, "x", null))).toBe(true);
    expect(isTransient(problemOf(403, "x", null))).toBe(false);
    expect(isTransient(problemOf(400, "No path to region", null))).toBe(false);
  });
});

describe("framed log stream", () => {
  const frame = (data: string, offset: number) => `{"Data":"${btoa(data)}","File":"alloc/logs/web.stdout.0","Offset":${offset}}`;

  it("splits back-to-back frames however the text is cut, heartbeats included", () => {
    const stream = `${frame("hello\n", 6)}{}${frame('a}b{"c', 12)}`;
    for (let cut = 0; cut <= stream.length; cut++) {
      const splitter = new FrameSplitter();
      const frames = [...splitter.push(stream.slice(0, cut)), ...splitter.push(stream.slice(cut))];
      expect(frames).toEqual([frame("hello\n", 6), "{}", frame('a}b{"c', 12)]);
      expect(splitter.rest).toBe("");
    }
  });

  it("keeps braces and escaped quotes inside strings in their frame", () => {
    const splitter = new FrameSplitter();
    expect(splitter.push('{"File":"a\\"}{b","Offset":1}{"Off')).toEqual(['{"File":"a\\"}{b","Offset":1}']);
    expect(splitter.rest).toBe('{"Off');
    expect(splitter.push('set":2}')).toEqual(['{"Offset":2}']);
  });

  it("decodes Data to the exact bytes", () => {
    expect([...base64Bytes(btoa("\u00ff\u0000A"))]).toEqual([255, 0, 65]);
  });
});

describe("display formats", () => {
  it("shortens ids as Nomad's CLI does and formats times", () => {
    expect(shortId("203266e5-e0d6-9486-5e05-397ed2b184af")).toBe("203266e5");
    const now = Date.UTC(2026, 11, 1, 12, 0, 0);
    expect(relativeTime(now - 500, now)).toBe("just now");
    expect(relativeTime(now - 12_000, now)).toBe("12 s ago");
    expect(relativeTime(now - 3 * 3_600_000, now)).toBe("3 h ago");
    expect(relativeTime(now + 5 * 60_000, now)).toBe("in 5 min");
    expect(relativeTime(now - 400 * 86_400_000, now)).toBe("1 y ago");
    expect(absoluteTime(now)).toBe("2026-12-01 12:00:00 UTC");
  });

  it("keeps the exact nanoseconds for the tooltip and reads Go's RFC 3339 times", () => {
    expect(nanosTime(1490999500248633594n)).toEqual({
      ms: 1490999500248,
      exact: "1490999500248633594 ns (2017-03-31T22:31:40.248633594Z)",
      iso: "2017-03-31T22:31:40.248633594Z",
    });
    expect(rfc3339ToMs("2017-03-31T22:51:40.248633594Z")).toBe(Date.UTC(2017, 2, 31, 22, 51, 40, 248));
    expect(rfc3339ToMs("2017-03-31T22:51:40+02:00")).toBe(Date.UTC(2017, 2, 31, 20, 51, 40));
    expect(rfc3339ToMs("0001-01-01T00:00:00Z")).toBeUndefined();
    expect(rfc3339ToMs("yesterday")).toBeUndefined();
  });

  it("gives every status a tone, failure overriding it", () => {
    expect(toneOf("running")).toBe("ok");
    expect(toneOf("pending")).toBe("wait");
    expect(toneOf("dead")).toBe("done");
    expect(toneOf("dead", true)).toBe("bad");
    expect(toneOf("lost")).toBe("bad");
    expect(toneOf("whatever")).toBe("muted");
  });
});
