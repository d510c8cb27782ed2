/** The bridge's pure parts, and the stand-in's event buffer and rotator checked against Nomad's rules. */
import { describe, expect, it } from "vitest";
import { JsonNumber } from "../../src/json/codec.ts";
import { backoffMs, retryAfterMs } from "../../sync/backoff.ts";
import { parseConfig } from "../../sync/config.ts";
import { UsageError } from "../../sync/duration.ts";
import { advance } from "../../sync/logs.ts";
import { ndjson } from "../../sync/ndjson.ts";
import { EventBuffer } from "../support/nomad-standin/event-buffer.ts";
import { RotatingLog } from "../support/nomad-standin/log-files.ts";

const base = ["--edge-addr", "http://127.0.0.1:8787", "--state-dir", "/tmp/s"];

describe("parseConfig", () => {
  it("reads flags, falls back to Nomad's and the edge's environment variables, defaults as documented", () => {
    const c = parseConfig(["--state-dir", "/tmp/s"], {
      EDGE_ADDR: "https://edge.example/",
      EDGE_TOKEN: "e",
      NOMAD_ADDR: "https://nomad:4646",
      NOMAD_TOKEN: "n",
      NOMAD_REGION: "eu",
      NOMAD_CACERT: "/ca.pem",
      NOMAD_CLIENT_CERT: "/c.pem",
      NOMAD_CLIENT_KEY: "/k.pem",
      NOMAD_SKIP_VERIFY: "true",
    });
    expect(c).toMatchObject({
      edgeAddr: "https://edge.example",
      edgeToken: "e",
      nomadAddr: "https://nomad:4646",
      nomadToken: "n",
      nomadRegion: "eu",
      nomadTls: { caCert: "/ca.pem", clientCert: "/c.pem", clientKey: "/k.pem", skipVerify: true },
      namespace: "*",
      logs: "none",
      gcRetainMs: 86_400_000,
      once: false,
    });
    const f = parseConfig([...base, "--nomad-token", "flag", "--gc-retain", "1h30m", "--once", "--logs=all", "--metrics-addr", ":9464"], {
      NOMAD_TOKEN: "env",
    });
    expect(f).toMatchObject({
      nomadToken: "flag",
      gcRetainMs: 5_400_000,
      once: true,
      logs: "all",
      metricsAddr: { host: "127.0.0.1", port: 9464 },
    });
    expect(parseConfig([...base, "--gc-retain", "0s"], {}).gcRetainMs).toBe(0);
    expect(parseConfig([...base, "--nomad-addr", "unix:///secrets/api.sock"], {}).nomadAddr).toBe("unix:///secrets/api.sock");
  });

  it.each([
    [[], "--edge-addr (or EDGE_ADDR) is required"],
    [["--edge-addr", "x", "--state-dir", "/tmp/s"], "is not a URL"],
    [[...base, "--logs", "some"], "--logs: expected none, running or all"],
    [[...base, "--gc-retain", "1d"], "is not a Go duration"],
    [[...base, "--bogus", "1"], "unknown flag --bogus"],
    [[...base, "--once=1"], "--once takes no value"],
    [[...base, "--batch-size", "501"], "--batch-size: expected an integer from 1 to 500"],
    [[...base, "--edge-token"], "--edge-token needs a value"],
  ])("refuses %j", (argv, text) => {
    expect(() => parseConfig(argv as string[], {})).toThrow(UsageError);
    expect(() => parseConfig(argv as string[], {})).toThrow(text);
  });
});

describe("backoff", () => {
  it("grows exponentially with full jitter up to the cap, and reads Retry-After", () => {
    expect(backoffMs(0, { baseMs: 100, maxMs: 1000 }, () => 0.999)).toBe(99);
    expect(backoffMs(3, { baseMs: 100, maxMs: 1000 }, () => 0.999)).toBe(799);
    expect(backoffMs(30, { baseMs: 100, maxMs: 1000 }, () => 0.5)).toBe(500);
    expect(retryAfterMs("3")).toBe(3000);
    expect(retryAfterMs(new Date(10_000).toUTCString(), 4000)).toBe(6000);
    expect(retryAfterMs(undefined)).toBeUndefined();
    expect(retryAfterMs("soon")).toBeUndefined();
  });
});

describe("log positions", () => {
  it("moves forward through rotated files by the bytes the edge already holds", () => {
    const files = [
      { n: 3, size: 100 },
      { n: 4, size: 50 },
      { n: 5, size: 20 },
    ];
    expect(advance({ file: 3, pos: 90, total: 1000 }, 5, files)).toEqual({ file: 3, pos: 95, total: 1005 });
    expect(advance({ file: 3, pos: 90, total: 1000 }, 70, files)).toEqual({ file: 5, pos: 10, total: 1070 });
    expect(advance({ file: 5, pos: 20, total: 0 }, 7, files)).toEqual({ file: 5, pos: 27, total: 7 });
  });
});

describe("ndjson", () => {
  it("reassembles lines split across chunks and keeps int64 numbers exact", async () => {
    async function* chunks() {
      yield Buffer.from('{}\n{"Index":9007199254740993,"Ev');
      yield Buffer.from('ents":[]}\n\n{"Index":1}');
    }
    const out = [];
    for await (const v of ndjson(chunks())) out.push(v);
    expect(out).toHaveLength(3);
    expect((out[1] as { Index: JsonNumber }).Index).toEqual(new JsonNumber("9007199254740993"));
  });

  it("refuses a line over the cap", async () => {
    async function* chunks() {
      yield Buffer.alloc(100, 0x61);
    }
    await expect(async () => {
      for await (const _ of ndjson(chunks(), 50)) {
      }
    }).rejects.toThrow("exceeds 50 bytes");
  });
});

describe("stand-in event buffer (nomad/stream/event_buffer.go StartAtClosest)", () => {
  it("keeps the newest N indexes; an old index starts at the head, one past the end re-sends the tail, a hole starts at the next", () => {
    const buffer = new EventBuffer(3);
    for (const index of [10n, 12n, 15n, 20n]) buffer.append(index, []);
    expect(buffer.length).toBe(3);
    const at = (index: bigint) => buffer.from(buffer.startAt(index)).map((i) => i.index);
    expect(at(0n)).toEqual([12n, 15n, 20n]);
    expect(at(5n)).toEqual([12n, 15n, 20n]);
    expect(at(15n)).toEqual([15n, 20n]);
    expect(at(13n)).toEqual([15n, 20n]);
    expect(at(99n)).toEqual([20n]);
    buffer.clear();
    expect(at(15n)).toEqual([]);
  });
});

describe("stand-in log rotation (client/logmon/logging/rotator.go)", () => {
  it("fills files to the size, avoids splitting a line that fits the next file, keeps max_files", () => {
    const log = new RotatingLog({ maxFileSize: 10, maxFiles: 3 });
    log.write(Buffer.from("aaaa\nbbbb\n")); // exactly 10
    log.write(Buffer.from("cc\ndddddddd\n")); // "cc\n" then a 9-byte line that does not fit: next file
    expect([...log.files.keys()]).toEqual([0, 1, 2]);
    expect(log.files.get(1)?.toString()).toBe("cc\n");
    expect(log.files.get(2)?.toString()).toBe("dddddddd\n");
    log.write(Buffer.from("x".repeat(25)));
    expect([...log.files.keys()]).toEqual([3, 4, 5]);
    expect(log.all().toString()).toBe(`aaaa\nbbbb\ncc\ndddddddd\n${"x".repeat(25)}`);
  });
});
