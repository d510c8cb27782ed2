/**
 * npm start's Node front (scripts/front.ts) against the `wrangler dev` behind it: a client sees
 * the same answers through it as from wrangler's own port (status, raw headers in order, bytes),
 * streams pass through frame by frame, a client's disconnect ends the request upstream, and the
 * Worker still sees each client's address.
 */
import { request as httpRequest } from "node:http";
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_ALLOC_ID } from "../../src/demo/allocation.ts";
import { type DevServer, startDevServer } from "../support/dev-server.ts";
import { connectionsTo, wranglerProxyUrl } from "../support/runtime-socket.ts";

/** A small per-caller waiter cap, so that parked queries left behind are seen at once. */
const WAITERS_PER_CALLER = 4;
/** A loopback address other than the front's own (Linux routes all of 127/8 to the loopback). */
const CLIENT_ADDRESS = "127.0.0.2";

let server: DevServer;
let proxy: string;

beforeAll(async () => {
  server = await startDevServer({ vars: { MAX_WAITERS_PER_CALLER: String(WAITERS_PER_CALLER) } });
  proxy = wranglerProxyUrl(server.pgid);
}, 90_000);

afterAll(async () => {
  await server?.stop();
});

interface RawAnswer {
  status: number;
  statusMessage: string;
  rawHeaders: string[];
  body: Buffer;
}

/** One request on its own connection; the answer as it came off the wire (headers unparsed). */
function send(
  base: string,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string,
  localAddress?: string,
): Promise<RawAnswer> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest({ host: hostname, port, method, path, headers, agent: false, localAddress }, (incoming) => {
      const chunks: Buffer[] = [];
      incoming.on("data", (chunk: Buffer) => chunks.push(chunk));
      incoming.on("end", () =>
        resolve({
          status: incoming.statusCode ?? 0,
          statusMessage: incoming.statusMessage ?? "",
          rawHeaders: incoming.rawHeaders,
          body: Buffer.concat(chunks),
        }),
      );
      incoming.on("error", reject);
    });
    outgoing.on("error", reject);
    outgoing.end(body);
  });
}

const ALLOC = `/v1/allocation/${DEMO_ALLOC_ID}`;
const LOGS = `/v1/client/fs/logs/${DEMO_ALLOC_ID}?task=redis&type=stdout`;

async function indexOf(path: string): Promise<string> {
  const response = await fetch(`${server.url}${path}`, { headers: { "X-Nomad-Token": server.token } });
  await response.arrayBuffer();
  return response.headers.get("X-Nomad-Index") ?? "";
}

async function taskEvent(message: string): Promise<void> {
  const response = await fetch(`${server.url}${ALLOC}/task-events`, {
    method: "POST",
    headers: { "X-Nomad-Token": server.token },
    body: JSON.stringify({ Events: [{ Task: "redis", Event: { Type: "Driver", DriverMessage: message } }] }),
  });
  expect(response.status, await response.text()).toBe(200);
}

/** Reads on until the text read contains `needle`; the milliseconds that took from `since`. */
async function readUntil(reader: ReadableStreamDefaultReader<Uint8Array>, needle: string, since: number): Promise<number> {
  const decoder = new TextDecoder();
  let text = "";
  while (!text.includes(needle)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`the stream ended before ${JSON.stringify(needle)}: ${text.slice(-300)}`);
    text += decoder.decode(value, { stream: true });
  }
  return Date.now() - since;
}

async function appendLog(line: string): Promise<void> {
  const append = await fetch(`${server.url}${LOGS}`, { method: "POST", headers: { "X-Nomad-Token": server.token }, body: line });
  expect(append.status, await append.text()).toBe(200);
}

describe("npm start's front", () => {
  it.each([
    ["a read of the demo", "GET", ALLOC, {}],
    ["a compressed OpenAPI document", "GET", "/openapi.json", { "Accept-Encoding": "gzip" }],
    ["the docs page", "GET", "/docs", {}],
    ["a static asset", "GET", "/favicon.ico", {}],
    ["a HEAD", "HEAD", "/v1/status/leader", {}],
    ["an unknown path", "GET", "/v1/nothing-here", {}],
    ["a write without a token", "PUT", ALLOC, { "Content-Type": "application/json" }],
    ["a CORS preflight", "OPTIONS", ALLOC, { Origin: "https://ui.example", "Access-Control-Request-Method": "GET" }],
    ["an unknown token", "GET", ALLOC, { "X-Nomad-Token": "not-a-token" }],
    ["a client that asks to close", "GET", "/v1/status/leader", { Connection: "close" }],
    ["headers over the Worker's cap (431)", "GET", ALLOC, { "X-Padding": "x".repeat(20_000) }],
    ["a URL over the Worker's cap (414)", "GET", `/v1/allocations?prefix=${"a".repeat(9_000)}`, {}],
  ] as const)("answers %s exactly as wrangler does", async (_name, method, path, headers) => {
    const [through, around] = [
      await send(server.url, method, path, headers, method === "PUT" ? "{}" : undefined),
      await send(proxy, method, path, headers, method === "PUT" ? "{}" : undefined),
    ];
    expect(through.status).toBe(around.status);
    expect(through.statusMessage).toBe(around.statusMessage);
    expect(through.rawHeaders).toEqual(around.rawHeaders);
    expect(through.body.equals(around.body)).toBe(true);
  });

  it("splices an upgrade to wrangler: its live-reload WebSocket answers 101 the same way", async () => {
    const upgrade =
      "GET /cdn-cgi/live-reload HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" +
      "Sec-WebSocket-Protocol: WRANGLER_PROXYWORKER_LIVE_RELOAD_PROTOCOL\r\n\r\n";
    const head = (base: string) =>
      new Promise<string>((resolve, reject) => {
        const { hostname, port } = new URL(base);
        const socket = connect(Number(port), hostname, () => socket.write(upgrade));
        let text = "";
        socket.on("data", (data: Buffer) => {
          text += data.toString("latin1");
          if (text.includes("\r\n\r\n")) {
            socket.destroy();
            resolve(text.slice(0, text.indexOf("\r\n\r\n")));
          }
        });
        socket.on("error", reject);
        setTimeout(() => socket.destroy(new Error(`no upgrade answer from ${base}`)), 10_000);
      });
    const [through, around] = [await head(server.url), await head(proxy)];
    expect(through).toMatch(/^HTTP\/1\.1 101 /);
    expect(through).toBe(around);
  });

  it("answers a long poll the moment a write wakes it", async () => {
    const index = await indexOf(ALLOC);
    const pending = fetch(`${server.url}${ALLOC}?index=${index}&wait=60s`);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const written = Date.now();
    await taskEvent("wakes the long poll");
    const woken = await pending;
    expect(woken.status).toBe(200);
    expect(await woken.text()).toContain("wakes the long poll");
    expect(Date.now() - written).toBeLessThan(2_000);
  });

  it("streams a log follow line by line", async () => {
    // The follow's head comes with its first bytes (so with or without the front): the first
    // append goes out while the fetch waits.
    const following = fetch(`${server.url}${LOGS}&follow=true&plain=true&origin=end`, { headers: { "X-Nomad-Token": server.token } });
    await new Promise((resolve) => setTimeout(resolve, 500));
    const first = `followed through the front ${Date.now()}\n`;
    let appended = Date.now();
    await appendLog(first);
    const follow = await following;
    expect(follow.status).toBe(200);
    const reader = (follow.body as ReadableStream<Uint8Array>).getReader();
    expect(await readUntil(reader, first, appended)).toBeLessThan(2_000);
    // Mid-stream: the next line arrives as it is written, not held back.
    const second = `and the next one ${Date.now()}\n`;
    appended = Date.now();
    await appendLog(second);
    expect(await readUntil(reader, second, appended)).toBeLessThan(2_000);
    await reader.cancel();
  });

  it("streams each event-stream frame as it is written", async () => {
    const index = await indexOf(ALLOC);
    const stream = await fetch(`${server.url}/v1/event/stream?topic=Allocation&index=${index}`, {
      headers: { "X-Nomad-Token": server.token },
    });
    expect(stream.status).toBe(200);
    const reader = (stream.body as ReadableStream<Uint8Array>).getReader();
    for (const round of [1, 2]) {
      await new Promise((resolve) => setTimeout(resolve, 300));
      const message = `streamed through the front ${round} ${Date.now()}`;
      const written = Date.now();
      await taskEvent(message);
      expect(await readUntil(reader, message, written)).toBeLessThan(2_000);
    }
    await reader.cancel();
  });

  it("ends its upstream request when the client goes", async () => {
    // wrangler dev itself does not pass a disconnect on to the Worker (docs/blocking-queries.md), so
    // this looks at the front's own hop: its connections to wrangler's port.
    const front = server.pgid; // npm start's process, the group's leader, runs the front
    const wranglerPort = Number(new URL(proxy).port);
    const index = await indexOf(ALLOC);
    const clients = Array.from({ length: WAITERS_PER_CALLER }, () => new AbortController());
    const parked = clients.map((client) =>
      fetch(`${server.url}${ALLOC}?index=${index}&wait=60s`, { headers: { "X-Nomad-Token": server.token }, signal: client.signal }).catch(
        () => undefined,
      ),
    );
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    // Parked for 60 s: the cap is reached, and the front holds a connection upstream for each.
    const refused = await fetch(`${server.url}${ALLOC}?index=${index}&wait=1s`, { headers: { "X-Nomad-Token": server.token } });
    expect([refused.status, await refused.text()]).toEqual([
      429,
      "Too many blocking queries from this caller are waiting on this object; retry later",
    ]);
    const whileParked = connectionsTo(front, wranglerPort);
    expect(whileParked.size).toBeGreaterThanOrEqual(WAITERS_PER_CALLER);
    for (const client of clients) client.abort();
    await Promise.all(parked);
    // Within moments, not the 60 s of the wait, the parked requests' connections are gone.
    await expect
      .poll(() => [...whileParked].filter((inode) => !connectionsTo(front, wranglerPort).has(inode)).length, {
        timeout: 3_000,
        interval: 100,
      })
      .toBeGreaterThanOrEqual(WAITERS_PER_CALLER);
  });

  it("passes the client's socket address to the Worker as CF-Connecting-IP, replacing a copy the client sent", async () => {
    // The client connects from 127.0.0.2, the front from 127.0.0.1: only the front's header can
    // tell the Worker the client's address. The per-address budget for lookups of unknown tokens
    // (300 per 10 s window) is spent from 127.0.0.2 while naming another address, with up to 800
    // requests so that a window boundary on the way cannot save it.
    const unknown = () => ({ "X-Nomad-Token": `unknown-${Math.random()}` });
    const spend = () => send(server.url, "GET", ALLOC, { ...unknown(), "CF-Connecting-IP": "192.0.2.7" }, undefined, CLIENT_ADDRESS);
    for (let attempt = 0; attempt < 3; attempt++) {
      let last = 0;
      for (let batch = 0; batch < 40 && last !== 429; batch++)
        last = Math.max(...(await Promise.all(Array.from({ length: 20 }, spend))).map((answer) => answer.status));
      expect(last).toBe(429);
      // From 127.0.0.2, naming yet another address or none: the socket's budget, spent.
      const renamed = await send(server.url, "GET", ALLOC, { ...unknown(), "cf-connecting-ip": "192.0.2.8" }, undefined, CLIENT_ADDRESS);
      const fromClient = await send(server.url, "GET", ALLOC, unknown(), undefined, CLIENT_ADDRESS);
      // From 127.0.0.1, naming the address the spending requests named: its own budget, not theirs.
      const fromLoopback = await send(server.url, "GET", ALLOC, { ...unknown(), "CF-Connecting-IP": "192.0.2.7" });
      if (renamed.status === 429 && fromClient.status === 429 && fromLoopback.status === 403) return;
      // Only a window that rolled over between them can give anything else: try again.
      expect(fromLoopback.status).toBe(403);
    }
    throw new Error("requests from the client's socket were not all counted under its address");
  }, 60_000);
});
