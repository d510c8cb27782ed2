import { createExecutionContext, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { LogStore } from "../../src/durable/log-store.ts";
import worker from "../../src/index.ts";
import { TEST_LOG_RETENTION_BYTES } from "../support/constants.ts";
import { ObservedSharedLogReads } from "../support/observed-objects.ts";
import { call, createAllocation, newAllocId, objectFor, postEvents, TOKEN, write } from "../support/worker.ts";

interface Frame {
  Data?: string;
  File?: string;
  FileEvent?: string;
  Offset?: number;
}

/** Splits back-to-back JSON objects (Nomad's framing has no separator) and checks each frame's shape. */
function splitFrames(text: string): Frame[] {
  const frames: Frame[] = [];
  let depth = 0;
  let start = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (inString) {
      if (ch === "\\") i++;
      else if (ch === '"') inString = false;
    } else if (ch === '"') inString = true;
    else if (ch === "{") {
      if (depth++ === 0) start = i;
    } else if (ch === "}" && --depth === 0) {
      const raw = text.slice(start, i + 1);
      const frame = JSON.parse(raw) as Frame;
      expect(Object.keys(frame)).toEqual(Object.keys(frame).sort());
      frames.push(frame);
    }
  }
  expect(depth).toBe(0);
  return frames;
}

function dataOf(frames: Frame[]): Uint8Array {
  const parts = frames.filter((f) => f.Data).map((f) => Uint8Array.from(atob(f.Data as string), (c) => c.charCodeAt(0)));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.byteLength;
  }
  return out;
}

async function untilLogFollowers(id: string, count: number): Promise<void> {
  const deadline = Date.now() + 5000;
  while ((await objectFor(id).stats()).logFollowers !== count) {
    if (Date.now() > deadline) throw new Error(`never reached ${count} log followers`);
    await new Promise((w) => setTimeout(w, 10));
  }
}

const logPath = (id: string, query: string) => `/v1/client/fs/logs/${id}?${query}`;

/** A logs response body straight from the Worker (no test hop in between), so cancelling it reaches the object. */
async function openDirect(id: string, query: string): Promise<ReadableStreamDefaultReader<Uint8Array>> {
  const request = new Request(`http://alloc.test${logPath(id, query)}`);
  const r = await worker.fetch(request as Parameters<typeof worker.fetch>[0], env, createExecutionContext());
  return (r.body as ReadableStream<Uint8Array>).getReader();
}

function append(id: string, bytes: BodyInit, task = "redis", type = "stdout", token: string | null = TOKEN): Promise<Response> {
  return write("POST", logPath(id, `task=${task}&type=${type}`), bytes as string, token);
}

async function startedAlloc(): Promise<string> {
  const { id } = await createAllocation();
  await postEvents(id, '{"Task":"redis","Event":{"Type":"Started","Time":1490999500248633594}}');
  return id;
}

function bytes(n: number, seed = 0): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) % 256);
}

describe("logs ingest", () => {
  it("appends raw bytes and answers the stream's new end offset", async () => {
    const id = await startedAlloc();
    const first = await append(id, bytes(100));
    expect(first.status).toBe(200);
    expect(await first.text()).toBe('{"Offset":100}');
    expect(await (await append(id, bytes(50))).text()).toBe('{"Offset":150}');
    expect(await (await append(id, "err", "redis", "stderr")).text()).toBe('{"Offset":3}');
  });

  it.each([
    ["no token", (id: string) => append(id, "x", "redis", "stdout", null), 403, "Permission denied"],
    ["unknown task", (id: string) => append(id, "x", "web"), 400, 'unknown task name "web"'],
    ["no task", (id: string) => write("POST", logPath(id, "type=stdout"), "x"), 400, "must provide task name"],
    ["bad type", (id: string) => append(id, "x", "redis", "stdin"), 400, "must provide log type (stdout/stderr)"],
    ["too large", (id: string) => append(id, bytes(1024 * 1024 + 1)), 413, "Request body too large"],
  ])("refuses %s and stores nothing", async (_name, send, status, text) => {
    const id = await startedAlloc();
    const r = await send(id);
    expect(r.status).toBe(status);
    expect(await r.text()).toBe(text);
    expect(await (await call(logPath(id, "task=redis&type=stdout&plain=true"))).text()).toBe("");
  });

  it("answers the new total in X-Log-Offset", async () => {
    const id = await startedAlloc();
    const r = await append(id, bytes(7));
    expect(r.headers.get("X-Log-Offset")).toBe("7");
  });

  describe("X-Log-Offset precondition (the bytes the writer believes were appended before this body)", () => {
    function appendAt(id: string, offset: string, body: BodyInit, type = "stdout", key?: string): Promise<Response> {
      const headers: Record<string, string> = { "X-Nomad-Token": TOKEN, "X-Log-Offset": offset };
      if (key) headers["Idempotency-Key"] = key;
      return call(logPath(id, `task=redis&type=${type}`), { method: "POST", body, headers });
    }
    const plain = async (id: string, type = "stdout") =>
      new Uint8Array(await (await call(logPath(id, `task=redis&type=${type}&plain=true`))).arrayBuffer());

    it("appends when it equals the stream's total, and answers the new total", async () => {
      const id = await startedAlloc();
      const first = await appendAt(id, "0", bytes(10));
      expect(first.status).toBe(200);
      expect(first.headers.get("X-Log-Offset")).toBe("10");
      expect(await first.text()).toBe('{"Offset":10}');
      const second = await appendAt(id, "10", bytes(5, 3));
      expect(await second.text()).toBe('{"Offset":15}');
      expect(await plain(id)).toEqual(new Uint8Array([...bytes(10), ...bytes(5, 3)]));
    });

    it("refuses a retried append (offset behind) with 409 and the current total, writing nothing", async () => {
      const id = await startedAlloc();
      expect((await appendAt(id, "0", bytes(10))).status).toBe(200);
      const retry = await appendAt(id, "0", bytes(10));
      expect(retry.status).toBe(409);
      expect(retry.headers.get("X-Log-Offset")).toBe("10");
      expect(retry.headers.get("Content-Type")).toBe("text/plain; charset=utf-8");
      expect(await retry.text()).toBe("X-Log-Offset 0 does not match the stream's 10 bytes appended so far; nothing was written");
      expect(await plain(id)).toEqual(bytes(10));
    });

    it("refuses an offset ahead of the stream (bytes missing in between) with 409, writing nothing", async () => {
      const id = await startedAlloc();
      const ahead = await appendAt(id, "5", bytes(3));
      expect(ahead.status).toBe(409);
      expect(ahead.headers.get("X-Log-Offset")).toBe("0");
      expect(await plain(id)).toEqual(new Uint8Array());
    });

    it("counts every byte ever appended, also past retention, per stream type", async () => {
      const id = await startedAlloc();
      const big = TEST_LOG_RETENTION_BYTES + 70_000;
      expect((await appendAt(id, "0", bytes(big))).status).toBe(200);
      expect((await appendAt(id, String(big), "x")).headers.get("X-Log-Offset")).toBe(String(big + 1));
      expect((await appendAt(id, "0", "e", "stderr")).headers.get("X-Log-Offset")).toBe("1");
    });

    it("gives an idempotent retry the first answer rather than a 409", async () => {
      const id = await startedAlloc();
      const first = await appendAt(id, "0", "abc", "stdout", "log-key-1");
      const again = await appendAt(id, "0", "abc", "stdout", "log-key-1");
      expect(again.status).toBe(200);
      expect(await again.text()).toBe(await first.text());
      expect(new TextDecoder().decode(await plain(id))).toBe("abc");
    });

    it.each(["", "-1", "+1", "1.0", "abc", "99999999999999999999"])(
      "refuses a malformed value %j with 400, writing nothing",
      async (raw) => {
        const id = await startedAlloc();
        const r = await appendAt(id, raw, "x");
        expect(r.status).toBe(400);
        expect(await r.text()).toBe("Invalid X-Log-Offset: a non-negative decimal integer (the bytes appended before this body)");
        expect(await plain(id)).toEqual(new Uint8Array());
      },
    );
  });

  it("answers 404 for an unknown allocation", async () => {
    const id = newAllocId();
    const r = await append(id, "x");
    expect(r.status).toBe(404);
    expect(await r.text()).toBe(`Unknown allocation "${id}"`);
  });
});

describe("GET /v1/client/fs/logs/<alloc_id>", () => {
  it("streams Nomad frames: base64 Data, File, end Offset, at most 64 KiB each, byte for byte", async () => {
    const id = await startedAlloc();
    const payload = bytes(200_000, 7);
    await append(id, payload.slice(0, 150_000));
    await append(id, payload.slice(150_000));
    const r = await call(logPath(id, "task=redis&type=stdout"));
    expect(r.status).toBe(200);
    expect(r.headers.get("Content-Type")).toBe("application/json");
    const frames = splitFrames(await r.text());
    expect(dataOf(frames)).toEqual(payload);
    for (const frame of frames) {
      expect(frame.File).toBe("alloc/logs/redis.stdout.0");
      expect(atob(frame.Data as string).length).toBeLessThanOrEqual(64 * 1024);
    }
    expect(frames.at(-1)?.Offset).toBe(200_000);
    expect(frames.some((f) => atob(f.Data as string).length === 64 * 1024)).toBe(true);
  });

  it("keeps multi-byte characters split across appends intact, in frames and in plain mode", async () => {
    const id = await startedAlloc();
    const text = "héllo wörld ✓ 😀\n";
    const encoded = new TextEncoder().encode(text);
    for (const cut of [
      [0, 2],
      [2, 13],
      [13, 17],
      [17, encoded.byteLength],
    ])
      await append(id, encoded.slice(cut[0], cut[1]));
    const framed = splitFrames(await (await call(logPath(id, "task=redis&type=stdout"))).text());
    expect(new TextDecoder().decode(dataOf(framed))).toBe(text);
    const plain = await call(logPath(id, "task=redis&type=stdout&plain=true"));
    expect(plain.headers.get("Content-Type")).toBe("text/plain; charset=utf-8");
    expect(await plain.text()).toBe(text);
  });

  it("serves binary data exactly in plain mode", async () => {
    const id = await startedAlloc();
    const payload = bytes(70_000, 3);
    await append(id, payload);
    const r = await call(logPath(id, "task=redis&type=stdout&plain=1"));
    expect(new Uint8Array(await r.arrayBuffer())).toEqual(payload);
  });

  it("reads from an offset, or counted back from the end with origin=end", async () => {
    const id = await startedAlloc();
    await append(id, "0123456789");
    expect(await (await call(logPath(id, "task=redis&type=stdout&plain=true&offset=4"))).text()).toBe("456789");
    expect(await (await call(logPath(id, "task=redis&type=stdout&plain=true&origin=end&offset=3"))).text()).toBe("789");
    expect(await (await call(logPath(id, "task=redis&type=stdout&plain=true&origin=end&offset=99"))).text()).toBe("0123456789");
    const framed = splitFrames(await (await call(logPath(id, "task=redis&type=stdout&origin=end&offset=2"))).text());
    expect(framed).toEqual([{ Data: btoa("89"), File: "alloc/logs/redis.stdout.0", Offset: 10 }]);
  });

  it("keeps at most the retention per stream, oldest dropped first; reads below the floor start at the floor", async () => {
    const id = await startedAlloc();
    const chunk = 100 * 1024;
    for (let i = 0; i < 4; i++) await append(id, bytes(chunk, i));
    const plain = new Uint8Array(await (await call(logPath(id, "task=redis&type=stdout&plain=true"))).arrayBuffer());
    expect(plain.byteLength).toBeLessThanOrEqual(TEST_LOG_RETENTION_BYTES);
    expect(plain.byteLength).toBeGreaterThan(TEST_LOG_RETENTION_BYTES - 64 * 1024);
    const expected = new Uint8Array(4 * chunk);
    for (let i = 0; i < 4; i++) expected.set(bytes(chunk, i), i * chunk);
    expect(plain).toEqual(expected.slice(4 * chunk - plain.byteLength));
    const frames = splitFrames(await (await call(logPath(id, "task=redis&type=stdout&offset=0"))).text());
    expect(frames.at(-1)?.Offset).toBe(4 * chunk);
    expect(await (await append(id, "z")).text()).toBe(`{"Offset":${4 * chunk + 1}}`);
  });

  it("answers an empty stream for a task that started but wrote nothing", async () => {
    const id = await startedAlloc();
    const r = await call(logPath(id, "task=redis&type=stderr"));
    expect(r.status).toBe(200);
    expect(await r.text()).toBe("");
  });

  it("follows: appends arrive within milliseconds, woken by the ingest", async () => {
    const id = await startedAlloc();
    await append(id, "before\n");
    const r = await call(logPath(id, "task=redis&type=stdout&follow=true&plain=true"));
    const reader = (r.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    expect(decoder.decode((await reader.read()).value)).toBe("before\n");
    expect((await objectFor(id).stats()).logFollowers).toBe(1);
    const sentAt = Date.now();
    await append(id, "after\n");
    const next = await reader.read();
    expect(decoder.decode(next.value)).toBe("after\n");
    expect(Date.now() - sentAt).toBeLessThan(500);
    await reader.cancel();
  });

  it("batches a burst of appends into fewer frames (up to 200 ms), a lone append still within milliseconds", async () => {
    const id = await startedAlloc();
    const r = await call(logPath(id, "task=redis&type=stdout&follow=true"));
    const reader = (r.body as ReadableStream<Uint8Array>).getReader();
    await new Promise((w) => setTimeout(w, 20));
    const lines = Array.from({ length: 10 }, (_, i) => `line ${i}\n`);
    await Promise.all(lines.map((line) => append(id, line)));
    const decoder = new TextDecoder();
    let text = "";
    while (dataOf(splitFrames(text)).byteLength < lines.join("").length) text += decoder.decode((await reader.read()).value);
    const frames = splitFrames(text).filter((f) => f.Data);
    expect(frames.length).toBeLessThan(lines.length);
    expect(new TextDecoder().decode(dataOf(frames)).split("\n").filter(Boolean).sort()).toEqual(lines.map((l) => l.trim()).sort());
    const sentAt = Date.now();
    await append(id, "lone\n");
    const lone = splitFrames(decoder.decode((await reader.read()).value));
    expect(atob(lone[0]?.Data as string)).toBe("lone\n");
    expect(Date.now() - sentAt).toBeLessThan(500);
    await reader.cancel();
  });

  it("sends a {} heartbeat after each idle second in framed follow mode", async () => {
    const id = await startedAlloc();
    const r = await call(logPath(id, "task=redis&type=stdout&follow=true"));
    const reader = (r.body as ReadableStream<Uint8Array>).getReader();
    const started = Date.now();
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toBe("{}");
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    await reader.cancel();
  });

  it("ends the follow once the task is dead and every byte was sent", async () => {
    const id = await startedAlloc();
    const r = await call(logPath(id, "task=redis&type=stdout&follow=true&plain=true"));
    await append(id, "last words\n");
    await postEvents(id, '{"Task":"redis","Event":{"Type":"Killed"}}');
    expect(await r.text()).toBe("last words\n");
    expect((await objectFor(id).stats()).logFollowers).toBe(0);
  });

  it("leaves nothing behind in the object when the client goes away (framed: noticed by the heartbeat write)", async () => {
    const id = await startedAlloc();
    const r = await call(logPath(id, "task=redis&type=stdout&follow=true"));
    await append(id, "x");
    const reader = (r.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    expect((await objectFor(id).stats()).logFollowers).toBe(1);
    await reader.cancel();
    await untilLogFollowers(id, 0);
  });

  it("drops the follower at once when the Worker's response body is cancelled (plain: no bytes to probe with)", async () => {
    const id = await startedAlloc();
    await append(id, "x");
    const request = new Request(`http://alloc.test${logPath(id, "task=redis&type=stdout&follow=true&plain=true")}`);
    const r = await worker.fetch(request as Parameters<typeof worker.fetch>[0], env, createExecutionContext());
    const reader = (r.body as ReadableStream<Uint8Array>).getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toBe("x");
    expect((await objectFor(id).stats()).logFollowers).toBe(1);
    const cancelledAt = Date.now();
    await reader.cancel();
    await untilLogFollowers(id, 0);
    expect(Date.now() - cancelledAt).toBeLessThan(500);
  });

  it("gives followers at the same offset identical bytes from one shared read (plain) and one shared frame (framed)", async () => {
    const id = await startedAlloc();
    const object = objectFor(id);
    const open = (query: string) => openDirect(id, query);
    const plain = await Promise.all(Array.from({ length: 5 }, () => open("task=redis&type=stdout&follow=true&plain=true")));
    const framed = await Promise.all(Array.from({ length: 3 }, () => open("task=redis&type=stdout&follow=true")));
    await untilLogFollowers(id, 8);
    const before = await object.stats();
    const payload = bytes(40_000, 5);
    await append(id, payload);
    const readAll = async (reader: ReadableStreamDefaultReader<Uint8Array>, done: (text: Uint8Array) => boolean) => {
      const parts: Uint8Array[] = [];
      let out = new Uint8Array();
      while (!done(out)) {
        const { value } = await reader.read();
        parts.push(value ?? new Uint8Array());
        out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
        let at = 0;
        for (const part of parts) {
          out.set(part, at);
          at += part.byteLength;
        }
      }
      return out;
    };
    for (const reader of plain) expect(await readAll(reader, (got) => got.byteLength >= payload.byteLength)).toEqual(payload);
    const frameTexts = new Set<string>();
    for (const reader of framed) {
      const raw = await readAll(reader, (got) => new TextDecoder().decode(got).endsWith('"Offset":40000}'));
      const text = new TextDecoder().decode(raw).replaceAll("{}", "");
      expect(splitFrames(text)).toEqual([
        { Data: btoa(String.fromCharCode(...payload)), File: "alloc/logs/redis.stdout.0", Offset: 40_000 },
      ]);
      frameTexts.add(text);
    }
    expect(frameTexts.size).toBe(1);
    const after = await object.stats();
    // One read (the same range [0, 40000) for plain and framed followers: less than either's
    // chunk size); everyone else got those very bytes, and the frame was encoded once.
    expect(after.logReads - before.logReads).toBe(1);
    expect(after.logReadsShared - before.logReadsShared).toBe(7);
    expect(after.logFrames - before.logFrames).toBe(1);
    for (const reader of [...plain, ...framed]) await reader.cancel();
    await untilLogFollowers(id, 0);
  });

  it("never serves a shared read across an append: the range asked for ends at the end it saw", async () => {
    const id = await startedAlloc();
    const object = objectFor(id);
    const text = async (query: string) => (await call(logPath(id, query))).text();
    const decode = (value: Uint8Array | undefined) => new TextDecoder().decode(value);
    // A follower keeps a stream open, so what another stream reads stays shared for the reads below.
    const follower = await openDirect(id, "task=redis&type=stdout&follow=true&plain=true");
    await untilLogFollowers(id, 1);
    await append(id, "first|");
    expect(decode((await follower.read()).value)).toBe("first|");
    expect(await text("task=redis&type=stdout&plain=true")).toBe("first|");
    const before = await object.stats();
    expect(await text("task=redis&type=stdout&plain=true")).toBe("first|");
    expect((await object.stats()).logReadsShared).toBe(before.logReadsShared + 1);
    await append(id, "second");
    expect(await text("task=redis&type=stdout&plain=true")).toBe("first|second");
    expect(await text("task=redis&type=stdout&plain=true&offset=6")).toBe("second");
    expect(splitFrames(await text("task=redis&type=stdout"))).toEqual([
      { Data: btoa("first|second"), File: "alloc/logs/redis.stdout.0", Offset: 12 },
    ]);
    expect(decode((await follower.read()).value)).toBe("second");
    await append(id, "third");
    expect(decode((await follower.read()).value)).toBe("third");
    expect(await text("task=redis&type=stdout&plain=true&offset=6")).toBe("secondthird");
    await follower.cancel();
    await untilLogFollowers(id, 0);
  });

  it("never serves shared bytes below the retention floor", async () => {
    const id = await startedAlloc();
    const object = objectFor(id);
    const chunk = 200 * 1024;
    const plain = async (query = "") =>
      new Uint8Array(await (await call(logPath(id, `task=redis&type=stdout&plain=true${query}`))).arrayBuffer());
    const follower = await openDirect(id, "task=redis&type=stderr&follow=true&plain=true");
    await untilLogFollowers(id, 1);
    await append(id, bytes(chunk, 1));
    expect(await plain()).toEqual(bytes(chunk, 1));
    const shared = (await object.stats()).logReadsShared;
    expect(await plain()).toEqual(bytes(chunk, 1));
    expect((await object.stats()).logReadsShared).toBe(shared + 1); // the range [0, 200 KiB) is kept
    await append(id, bytes(chunk, 2)); // retention drops the oldest chunks: the floor rises past 0
    const expected = new Uint8Array(2 * chunk);
    expected.set(bytes(chunk, 1));
    expected.set(bytes(chunk, 2), chunk);
    for (const query of ["", "&offset=0", "&offset=1000"]) {
      const kept = await plain(query);
      expect(kept.byteLength).toBeLessThanOrEqual(TEST_LOG_RETENTION_BYTES);
      expect(kept.byteLength).toBeGreaterThan(TEST_LOG_RETENTION_BYTES - 64 * 1024);
      expect(kept).toEqual(expected.slice(2 * chunk - kept.byteLength));
    }
    await follower.cancel();
    await untilLogFollowers(id, 0);
  });

  it("relays large chunks: a 256 KiB append reaches the client in 64 KiB reads, not 4 KiB ones", async () => {
    const id = await startedAlloc();
    const reader = await openDirect(id, "task=redis&type=stdout&follow=true&plain=true");
    await untilLogFollowers(id, 1);
    const payload = bytes(TEST_LOG_RETENTION_BYTES, 9);
    await append(id, payload);
    const parts: Uint8Array[] = [];
    let received = 0;
    while (received < payload.byteLength) {
      const { value } = await reader.read();
      parts.push(value ?? new Uint8Array());
      received += value?.byteLength ?? 0;
    }
    expect(parts.length).toBeLessThanOrEqual(payload.byteLength / (32 * 1024));
    const got = new Uint8Array(received);
    let at = 0;
    for (const part of parts) {
      got.set(part, at);
      at += part.byteLength;
    }
    expect(got).toEqual(payload);
    await reader.cancel();
    await untilLogFollowers(id, 0);
  });

  it("keeps a dead task's logs readable, and answers 404 (never 500) once the allocation is collected", async () => {
    const id = await startedAlloc();
    await append(id, "still here");
    await postEvents(id, '{"Task":"redis","Event":{"Type":"Killed"}}');
    expect(await (await call(logPath(id, "task=redis&type=stdout&plain=true"))).text()).toBe("still here");
    await write("DELETE", `/v1/allocation/${id}`);
    const r = await call(logPath(id, "task=redis&type=stdout"));
    expect(r.status).toBe(404);
    expect(await r.text()).toBe(`Unknown allocation "${id}"`);
  });

  it.each([
    ["type=stdout", 400, "must provide task name"],
    ["task=&type=stdout", 400, "must provide task name"],
    ["task=redis", 400, "must provide log type (stdout/stderr)"],
    ["task=redis&type=stdin", 400, "must provide log type (stdout/stderr)"],
    ["task=redis&type=stdout&origin=middle", 400, "origin must be start or end"],
    [
      "task=redis&type=stdout&follow=maybe",
      400,
      'failed to parse follow field to boolean: strconv.ParseBool: parsing "maybe": invalid syntax',
    ],
    ["task=redis&type=stdout&plain=yes", 400, 'failed to parse plain field to boolean: strconv.ParseBool: parsing "yes": invalid syntax'],
    ["task=redis&type=stdout&offset=abc", 400, 'error parsing offset: strconv.ParseInt: parsing "abc": invalid syntax'],
    [
      "task=redis&type=stdout&offset=9223372036854775808",
      400,
      'error parsing offset: strconv.ParseInt: parsing "9223372036854775808": value out of range',
    ],
    ["task=redis&type=stdout&offset=-5", 400, "error parsing offset: offset must not be negative"],
    ["task=redis&type=stdout&region=mars", 400, "No path to region"],
    ["task=web&type=stdout", 400, 'unknown task name "web"'],
  ])("answers %s with %i %j", async (query, status, text) => {
    const id = await startedAlloc();
    const r = await call(logPath(id, query));
    expect(r.status).toBe(status);
    expect(r.headers.get("Content-Type")).toBe("text/plain; charset=utf-8");
    expect(await r.text()).toBe(text);
  });

  it("checks parameters in Nomad's order: task, follow, plain, type, offset, origin", async () => {
    const id = await startedAlloc();
    const text = async (q: string) => (await call(logPath(id, q))).text();
    expect(await text("type=bad&origin=bad&follow=bad")).toBe("must provide task name");
    expect(await text("task=redis&type=bad&origin=bad&follow=bad")).toBe(
      'failed to parse follow field to boolean: strconv.ParseBool: parsing "bad": invalid syntax',
    );
    expect(await text("task=redis&type=bad&origin=bad")).toBe("must provide log type (stdout/stderr)");
    expect(await text("task=redis&type=stdout&origin=bad")).toBe("origin must be start or end");
  });

  it("answers 404 `Unknown allocation` for a missing allocation and 400 for malformed ids", async () => {
    const id = newAllocId();
    const r = await call(logPath(id, "task=redis&type=stdout"));
    expect(r.status).toBe(404);
    expect(await r.text()).toBe(`Unknown allocation "${id}"`);
    const bad = await call(logPath("abcd", "task=redis&type=stdout"));
    expect(bad.status).toBe(400);
    expect(await bad.text()).toBe("alloc lookup failed: index error: UUID must be 36 characters");
  });

  it("answers 404 `not started yet` when the task has no state or never started", async () => {
    const { id } = await createAllocation();
    const none = await call(logPath(id, "task=redis&type=stdout"));
    expect(none.status).toBe(404);
    expect(await none.text()).toBe('task "redis" not started yet. No logs available');
    await postEvents(id, '{"Task":"redis","Event":{"Type":"Received"}}');
    const pending = await call(logPath(id, "task=redis&type=stdout"));
    expect(pending.status).toBe(404);
    expect(await pending.text()).toBe('task "redis" not started yet. No logs available');
  });
});

describe("SharedLogReads (the object's shared log reads)", () => {
  it("shares a range while another stream is open, never across a clear (offsets start over), and keeps nothing for a lone stream or none", async () => {
    const id = await startedAlloc(); // the object has its schema
    await runInDurableObject(objectFor(id), (_instance, state) => {
      const store = new LogStore(state.storage.sql);
      const reads = new ObservedSharedLogReads(store);
      const put = (text: string) =>
        state.storage.transactionSync(() => store.append("t", "stdout", new TextEncoder().encode(text), 1 << 20));
      const read = (from: number, until: number) => reads.read("t", "stdout", from, until, 64 * 1024);
      const text = (from: number, until: number) => new TextDecoder().decode(read(from, until).data);
      const release = reads.open();
      const other = reads.open();
      put("aaaa");
      const first = read(0, 4);
      expect(read(0, 4)).toBe(first);
      expect(reads.counts).toEqual({ reads: 1, shared: 1, frames: 0 });
      const frame = reads.frame(first, "alloc/logs/t.stdout.0", 4);
      expect(new TextDecoder().decode(frame)).toBe(`{"Data":"${btoa("aaaa")}","File":"alloc/logs/t.stdout.0","Offset":4}`);
      expect(reads.frame(read(0, 4), "alloc/logs/t.stdout.0", 4)).toBe(frame);
      expect(reads.counts).toEqual({ reads: 1, shared: 2, frames: 1 });
      put("bbbb");
      expect(text(0, 8)).toBe("aaaabbbb"); // another range: read, not shared
      expect(text(0, 4)).toBe("aaaa");
      expect(reads.counts).toEqual({ reads: 2, shared: 3, frames: 1 });
      store.clear();
      put("cccc");
      expect(text(0, 4)).toBe("cccc");
      expect(reads.counts.reads).toBe(3);
      const second = reads.open();
      release();
      expect(read(0, 4).data).toEqual(new TextEncoder().encode("cccc"));
      expect(reads.counts.shared).toBe(4); // two streams still open
      other();
      expect(text(0, 4)).toBe("cccc"); // kept while a stream is open
      expect(reads.counts.shared).toBe(5);
      put("dddd");
      expect(text(0, 8)).toBe("ccccdddd");
      expect(text(0, 8)).toBe("ccccdddd"); // a lone stream has no one to share with: not kept
      expect(reads.counts).toEqual({ reads: 5, shared: 5, frames: 1 });
      second();
      second(); // idempotent
      expect(text(0, 4)).toBe("cccc");
      expect(reads.counts).toEqual({ reads: 6, shared: 5, frames: 1 }); // nothing kept with no stream open
      expect(read(4, 4).data.byteLength).toBe(0);
    });
  });
});
