import { describe, expect, it } from "vitest";
import { config } from "../../src/config.ts";
import { parseAllocId } from "../../src/domain/alloc-id.ts";
import { streamStart } from "../../src/durable/event-stream.ts";
import { bearerToken, requestToken, requestTokenDigest, sha256Hex, toHex } from "../../src/http/digest.ts";
import { parseEventIndex } from "../../src/http/event-query.ts";
import { jitterMs, parseExpectedLogOffset, parseIndex, parsePretty, parseStale, parseWait } from "../../src/http/query.ts";
import { parseGoBool } from "../../src/json/go-bool.ts";
import { formatGoDuration, formatUnixNanos, normalizeRfc3339, parseGoDuration } from "../../src/json/go-time.ts";
import { callerKey, preflight } from "../../src/pipeline/gate.ts";
import { rememberValidToken } from "../../src/pipeline/known-tokens.ts";
import { codeOf } from "../support/coded-error.ts";

const LIMITS = { defaultMs: 300_000, maxMs: 300_000 };

describe("parseIndex", () => {
  it.each([
    [null, 0n],
    ["", 0n],
    ["0", 0n],
    ["42", 42n],
    ["9007199254740993", 9007199254740993n],
    ["18446744073709551615", 18446744073709551615n],
  ])("%j → %s", (raw, value) => expect(parseIndex(raw)).toBe(value));

  it.each(["abc", "-1", "1.5", "1e3", "0x10", " 5", "+5", "18446744073709551616"])("rejects %j", (raw) => {
    expect(codeOf(() => parseIndex(raw))).toEqual([400, "Invalid index"]);
  });
});

describe("parseEventIndex (Go's strconv.Atoi, then uint64)", () => {
  it.each([
    [null, 0n],
    ["", 0n],
    ["0", 0n],
    ["9007199254740993", 9007199254740993n],
    ["+7", 7n],
    ["9223372036854775807", 9223372036854775807n],
    ["-1", 18446744073709551615n],
    ["-9223372036854775808", 9223372036854775808n],
  ])("%j → %s", (raw, value) => expect(parseEventIndex(raw)).toBe(value));

  it.each([
    ["abc", "invalid syntax"],
    ["1.5", "invalid syntax"],
    ["9223372036854775808", "value out of range"],
    ["-9223372036854775809", "value out of range"],
  ])("rejects %j (%s)", (raw, why) => {
    expect(codeOf(() => parseEventIndex(raw))).toEqual([
      400,
      `Unable to parse index: strconv.Atoi: parsing ${JSON.stringify(raw)}: ${why}`,
    ]);
  });
});

describe("streamStart (exact uint64 against the catalog's indexes)", () => {
  it("starts at the requested index, at the floor for 0, and at the next index beyond the last", () => {
    expect(streamStart(42n, 10, 100)).toEqual({ position: 42 });
    expect(streamStart(0n, 10, 100)).toEqual({ position: 10 });
    expect(streamStart(9007199254740993n, 10, 100)).toEqual({ position: 101 });
    expect(streamStart(18446744073709551615n, 10, 100)).toEqual({ position: 101 });
  });

  it("refuses below the floor, naming the index exactly as asked", () => {
    expect(streamStart(9n, 10, 100)).toEqual({
      gone: "event index 9 is older than the oldest event kept (10): list /v1/allocations again and stream from its X-Nomad-Index + 1",
    });
  });
});

describe("parseWait", () => {
  it.each([
    [null, 300_000],
    ["", 300_000],
    ["10s", 10_000],
    ["1.5m", 90_000],
    ["300000ms", 300_000],
    ["1h", 300_000],
    ["10m", 300_000],
    ["0", 300_000],
    ["0s", 300_000],
    ["-5s", 300_000],
    ["1ns", 1],
    ["1h2m3.5s", 300_000],
    ["2m3.5s", 123_500],
  ])("%j → %i ms", (raw, ms) => expect(parseWait(raw, LIMITS)).toBe(ms));

  it("clamps to a configured maximum and defaults to it when it is lower than Nomad's", () => {
    expect(parseWait("60s", { defaultMs: 30_000, maxMs: 30_000 })).toBe(30_000);
    expect(parseWait(null, { defaultMs: 30_000, maxMs: 30_000 })).toBe(30_000);
  });

  it.each(["10", "abc", "1e9h", "5 s", "s", ".s", "1.2.3s", "3000000000h", "1sx"])("rejects %j", (raw) => {
    expect(codeOf(() => parseWait(raw, LIMITS))).toEqual([400, "Invalid wait time"]);
  });

  it("adds jitter in [0, wait/16)", () => {
    expect(jitterMs(160_000, () => 0)).toBe(0);
    expect(jitterMs(160_000, () => 0.999999)).toBe(9_999);
    expect(jitterMs(160_000, () => 0.5)).toBe(5_000);
  });
});

describe("Go durations and times", () => {
  it.each([
    ["1.5s", 1_500_000_000n],
    [".5s", 500_000_000n],
    ["1.s", 1_000_000_000n],
    ["1µs", 1_000n],
    ["1us", 1_000n],
    ["-1m", -60_000_000_000n],
    ["+2h", 7_200_000_000_000n],
  ])("parses %j", (raw, nanos) => expect(parseGoDuration(raw)).toBe(nanos));

  it.each([
    [0n, "0s"],
    [1n, "1ns"],
    [1_500n, "1.5µs"],
    [250_000_000n, "250ms"],
    [1_500_000_000n, "1.5s"],
    [15_000_000_000n, "15s"],
    [90_000_000_000n, "1m30s"],
    [7_200_000_000_000n, "2h0m0s"],
    [-5_000_000_000n, "-5s"],
  ])("formats %s as %j", (nanos, text) => expect(formatGoDuration(nanos)).toBe(text));

  it.each([
    [1490999500248633594n, "2017-03-31T22:31:40.248633594Z"],
    [1491000700248633594n, "2017-03-31T22:51:40.248633594Z"],
    [1491000700000000000n, "2017-03-31T22:51:40Z"],
    [1491000700100000000n, "2017-03-31T22:51:40.1Z"],
    [0n, "1970-01-01T00:00:00Z"],
    [-1n, "1969-12-31T23:59:59.999999999Z"],
  ])("formats unix nanos %s as %j", (nanos, text) => expect(formatUnixNanos(nanos)).toBe(text));

  it.each([
    ["2017-03-31T22:51:40.248633594Z", "2017-03-31T22:51:40.248633594Z"],
    ["2017-03-31t22:51:40.2486335940z", undefined],
    ["2017-03-31T22:51:40.000Z", "2017-03-31T22:51:40Z"],
    ["2017-03-31T22:51:40+00:00", "2017-03-31T22:51:40Z"],
    ["2017-03-31T15:51:40.5-07:00", "2017-03-31T15:51:40.5-07:00"],
    ["0001-01-01T00:00:00Z", "0001-01-01T00:00:00Z"],
    ["2017-02-29T00:00:00Z", undefined],
    ["2017-03-31 22:51:40Z", undefined],
    ["yesterday", undefined],
  ])("normalizes %j → %j", (text, normalized) => expect(normalizeRfc3339(text)).toBe(normalized));
});

describe("parsePretty, parseStale, parseGoBool", () => {
  it("pretty: present and not 0", () => {
    const p = (q: string) => parsePretty(new URLSearchParams(q));
    expect([p(""), p("pretty"), p("pretty=1"), p("pretty=false"), p("pretty=0")]).toEqual([false, true, true, true, false]);
  });

  it("stale: empty means true; a bad value is a 400", () => {
    const s = (q: string) => parseStale(new URLSearchParams(q));
    expect([s(""), s("stale"), s("stale=true"), s("stale=0")]).toEqual([false, true, true, false]);
    expect(codeOf(() => s("stale=yes"))[0]).toBe(400);
  });

  it("ParseBool accepts exactly Go's spellings", () => {
    expect(["1", "t", "T", "TRUE", "true", "True"].map(parseGoBool)).toEqual(Array(6).fill(true));
    expect(["0", "f", "F", "FALSE", "false", "False"].map(parseGoBool)).toEqual(Array(6).fill(false));
    expect(["yes", "tRuE", ""].map(parseGoBool)).toEqual([undefined, undefined, undefined]);
  });
});

describe("parseAllocId", () => {
  it("canonicalizes case and hyphen placement", () => {
    expect(parseAllocId("203266E5-E0D6-9486-5E05-397ED2B184AF")?.uuid).toBe("203266e5-e0d6-9486-5e05-397ed2b184af");
    expect(parseAllocId("203266e5e0d694865e05397ed2b184af----")?.uuid).toBe("203266e5-e0d6-9486-5e05-397ed2b184af");
  });

  it("returns null for ids Nomad accepts but that name no allocation (0 or 2 hyphens)", () => {
    expect(parseAllocId("203266e5e0d694865e05397ed2b184af0000")).toBeNull();
    expect(parseAllocId("203266e5-e0d694865e05397ed2b184af-00")).toBeNull();
  });

  it("rejects bad escapes", () => {
    expect(codeOf(() => parseAllocId("%zz"))).toEqual([400, "alloc lookup failed: index error: Invalid UUID: invalid URL escape"]);
  });

  it("answers the canonical spelling (its fast path) exactly as the byte-wise rules do", () => {
    const randomCase = (text: string) => [...text].map((c) => (Math.random() < 0.5 ? c.toUpperCase() : c)).join("");
    for (let i = 0; i < 200; i++) {
      const spelled = randomCase(crypto.randomUUID());
      // Percent-encoding the first character leaves the id the same but skips the fast path.
      const escaped = `%${spelled.charCodeAt(0).toString(16)}${spelled.slice(1)}`;
      expect(parseAllocId(spelled)).toEqual(parseAllocId(escaped));
      expect(parseAllocId(spelled)?.uuid).toBe(spelled.toLowerCase());
    }
    // Near misses go the byte-wise way, with its answers.
    expect(codeOf(() => parseAllocId("203266e5-e0d6-9486-5e05-397ed2b184ag"))[1]).toContain("invalid byte: U+0067 'g'");
    expect(codeOf(() => parseAllocId("203266e5-e0d6-9486-5e05-397ed2b184a"))[1]).toContain("UUID must be 36 characters");
  });
});

describe("toHex", () => {
  it("spells every byte as two lower-case digits, the whole buffer or its first bytes", () => {
    const all = Uint8Array.from({ length: 256 }, (_, b) => b).buffer;
    expect(toHex(all)).toBe([...new Uint8Array(all)].map((b) => b.toString(16).padStart(2, "0")).join(""));
    expect(toHex(Uint8Array.of(0, 15, 16, 255).buffer, 3)).toBe("000f10");
  });
});

describe("config", () => {
  const env = (vars: Partial<Record<"REGIONS" | "DEFAULT_REGION" | "MAX_QUERY_TIME" | "EVENT_STREAM_HEARTBEAT", unknown>>) =>
    ({
      REGIONS: { global: "", eu: "weur", junk: "nowhere" },
      DEFAULT_REGION: "global",
      MAX_QUERY_TIME: "300s",
      EVENT_STREAM_HEARTBEAT: "10s",
      ...vars,
    }) as unknown as Env;

  it("maps regions to location hints, ignoring unknown hints", () => {
    const cfg = config(env({}));
    expect([...cfg.regions]).toEqual([
      ["global", undefined],
      ["eu", "weur"],
      ["junk", undefined],
    ]);
  });

  it("takes the maximum wait from MAX_QUERY_TIME; the default never exceeds Nomad's 300s", () => {
    expect(config(env({ MAX_QUERY_TIME: "90s" })).wait).toEqual({ maxMs: 90_000, defaultMs: 90_000 });
    expect(config(env({ MAX_QUERY_TIME: "10m" })).wait).toEqual({ maxMs: 600_000, defaultMs: 300_000 });
    expect(config(env({ MAX_QUERY_TIME: "bogus" })).wait).toEqual({ maxMs: 300_000, defaultMs: 300_000 });
  });

  it("takes the event stream heartbeat from EVENT_STREAM_HEARTBEAT, Nomad's 30s otherwise", () => {
    expect(config(env({ EVENT_STREAM_HEARTBEAT: "250ms" })).eventHeartbeatMs).toBe(250);
    expect(config(env({ EVENT_STREAM_HEARTBEAT: undefined })).eventHeartbeatMs).toBe(30_000);
  });
});

describe("caller keys and token digests", () => {
  const request = (headers: Record<string, string>) => new Request("https://edge.example/v1/regions", { headers });

  it("takes the token from X-Nomad-Token (trimmed) or Authorization: Bearer, never anything else", () => {
    expect(requestToken(request({ "X-Nomad-Token": " abc " }))).toBe("abc");
    expect(requestToken(request({ Authorization: "Bearer abc" }))).toBe("abc");
    expect(requestToken(request({ Authorization: "Basic abc" }))).toBeUndefined();
    expect(requestToken(request({}))).toBeUndefined();
  });

  it("reads Authorization: Bearer as Nomad's parseToken does (command/agent/http.go, v1.10.0): the first word", () => {
    expect(bearerToken("Bearer abc extra words")).toBe("abc");
    expect(bearerToken("bearer  abc")).toBe("abc");
    expect(bearerToken("BEARER abc ")).toBe("abc");
    expect(bearerToken("Bearer")).toBeUndefined();
    expect(bearerToken("Bearer ")).toBeUndefined();
    expect(bearerToken("Bearer\tabc")).toBeUndefined();
    expect(bearerToken("Token abc")).toBeUndefined();
  });

  it("counts a known-valid token under one key whichever header carries it; tokenless and unknown tokens by address", async () => {
    expect(await callerKey(request({ "CF-Connecting-IP": "192.0.2.8", "X-Nomad-Token": "secret-1" }))).toBe("ip:192.0.2.8");
    rememberValidToken(await sha256Hex("secret-1"));
    rememberValidToken(await sha256Hex("secret-2"));
    const viaHeader = await callerKey(request({ "X-Nomad-Token": "secret-1" }));
    expect(viaHeader).toBe(`token:${(await sha256Hex("secret-1")).slice(0, 24)}`);
    expect(await callerKey(request({ Authorization: "Bearer secret-1" }))).toBe(viaHeader);
    expect(await callerKey(request({ "X-Nomad-Token": "secret-2" }))).not.toBe(viaHeader);
    expect(await callerKey(request({ "CF-Connecting-IP": "192.0.2.7", Authorization: "Basic x" }))).toBe("ip:192.0.2.7");
  });

  it("hashes a request's token once, however many places ask", () => {
    const r = request({ "X-Nomad-Token": "secret-3" });
    expect(requestTokenDigest(r)).toBe(requestTokenDigest(r));
    expect(requestTokenDigest(request({}))).toBeUndefined();
  });
});

describe("parseExpectedLogOffset (X-Log-Offset)", () => {
  it("reads a decimal count, absent is no precondition", () => {
    expect(parseExpectedLogOffset(null)).toBeUndefined();
    expect(parseExpectedLogOffset("0")).toBe(0);
    expect(parseExpectedLogOffset("007")).toBe(7);
    expect(parseExpectedLogOffset(String(Number.MAX_SAFE_INTEGER))).toBe(Number.MAX_SAFE_INTEGER);
  });
  it.each(["", "-1", "+3", "1e3", "0x10", "1.5", " 1", "9007199254740992", "12345678901234567"])("refuses %j with 400", (raw) => {
    expect(codeOf(() => parseExpectedLogOffset(raw))).toEqual([
      400,
      "Invalid X-Log-Offset: a non-negative decimal integer (the bytes appended before this body)",
    ]);
  });
});

describe("CORS preflight methods", () => {
  const open = { maxUrlBytes: 8192, maxHeaderBytes: 16384, readOrigins: new Set(["*"]), writeOrigins: new Set(["*"]) };
  const ask = (method: string) =>
    new Request("http://x/v1/allocations", {
      method: "OPTIONS",
      headers: { Origin: "https://ui.example", "Access-Control-Request-Method": method },
    });

  it("allows only methods the API serves, even when every origin may write", () => {
    expect(preflight(ask("GET"), open)?.headers.get("Access-Control-Allow-Methods")).toBe("GET");
    expect(preflight(ask("DELETE"), open)?.headers.get("Access-Control-Allow-Methods")).toBe("PUT, POST, DELETE");
    for (const method of ["HEAD", "PATCH", "TRACE"]) {
      expect(() => preflight(ask(method), open)).toThrow(`CORS: origin "https://ui.example" may not ${method} here`);
    }
  });
});
