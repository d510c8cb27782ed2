/**
 * Malformed chunked framing against `npm start`, sent over raw sockets. Three layers answer it, and
 * this pins down which says what:
 * - the public port is npm start's Node front (scripts/front.ts): Node's HTTP parser refuses the
 *   framing, the front answers 400 with the Worker's text for a broken body and no stack, and cuts
 *   the request it had begun to forward, so nothing is stored;
 * - the Worker's own runtime hands the Worker a body stream that errors; `readBody` answers 400
 *   with the same text and no stack, and nothing is stored;
 * - wrangler's dev proxy (a second workerd running wrangler's ProxyWorker, on npm start's internal
 *   port) answers 500 with miniflare's stack when the body it pumps breaks, whatever the Worker
 *   answered: the reason the front exists. No Worker code or `wrangler dev` option reaches that
 *   layer; on Cloudflare the edge parses HTTP framing itself (docs/security.md).
 */
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_ALLOC_ID } from "../../src/demo/allocation.ts";
import { ErrorText } from "../../src/errors.ts";
import { type DevServer, startDevServer } from "../support/dev-server.ts";
import { workerRuntimeUrl, wranglerProxyUrl } from "../support/runtime-socket.ts";

let server: DevServer;
let runtime: string;
let proxy: string;

beforeAll(async () => {
  server = await startDevServer();
  runtime = await workerRuntimeUrl(server.pgid);
  proxy = wranglerProxyUrl(server.pgid);
}, 90_000);

afterAll(async () => {
  await server?.stop();
});

const LOG_PATH = `/v1/client/fs/logs/${DEMO_ALLOC_ID}?task=redis&type=stdout`;

/** Bodies whose chunked framing is broken, each after a valid head. */
const FRAMINGS: Array<{ name: string; body: string; halfClose?: boolean }> = [
  { name: "a chunk size that is not hex", body: "zz\r\nhello\r\n0\r\n\r\n" },
  { name: "a negative chunk size", body: "-5\r\nhello\r\n0\r\n\r\n" },
  { name: "a chunk longer than its size", body: "3\r\nhello\r\n0\r\n\r\n" },
  { name: "a chunk size beyond 64 bits", body: "ffffffffffffffffff\r\nabc\r\n0\r\n\r\n" },
  { name: "a chunk cut short by the client closing its side", body: "10\r\nabc", halfClose: true },
];

/** One raw HTTP/1.1 request; the whole answer as text (the server closes: `Connection: close`). */
function rawRequest(base: string, head: string, body: string, halfClose = false): Promise<string> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => socket.destroy(new Error(`no answer within 15 s from ${base}`)), 15_000);
    socket.on("connect", () => {
      socket.write(head + body);
      if (halfClose) socket.end();
    });
    socket.on("data", (data) => chunks.push(data));
    socket.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.on("close", () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString("utf8"));
    });
  });
}

function head(token: string): string {
  return (
    `POST ${LOG_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Nomad-Token: ${token}\r\n` +
    "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
  );
}

function parse(answer: string): { status: number; body: string } {
  const [statusLine = "", ...rest] = answer.split("\r\n");
  const body = answer.slice(answer.indexOf("\r\n\r\n") + 4);
  expect(rest.length, answer).toBeGreaterThan(0);
  return { status: Number(statusLine.split(" ")[1]), body };
}

async function logText(): Promise<string> {
  const response = await fetch(`${server.url}${LOG_PATH.replace("?", "?plain=true&")}`, { headers: { "X-Nomad-Token": server.token } });
  expect(response.status).toBe(200);
  return response.text();
}

describe("malformed chunked framing under wrangler dev", () => {
  it.each(FRAMINGS)("the Worker answers $name with 400 and its text, no stack, nothing stored", async ({ body, halfClose }) => {
    const before = await logText();
    const { status, body: text } = parse(await rawRequest(runtime, head(server.token), body, halfClose));
    expect([status, text]).toEqual([400, ErrorText.bodyCutOff]);
    expect(await logText()).toBe(before);
  });

  it.each(FRAMINGS)("the public port answers $name with 400 and the same text, no stack, nothing stored", async ({ body, halfClose }) => {
    const before = await logText();
    const { status, body: text } = parse(await rawRequest(server.url, head(server.token), body, halfClose));
    expect([status, text]).toEqual([400, ErrorText.bodyCutOff]);
    expect(await logText()).toBe(before);
  });

  it.each(FRAMINGS)(
    "wrangler's dev proxy behind the front answers $name with 500 and only miniflare's frame",
    async ({ body, halfClose }) => {
      const before = await logText();
      const { status, body: text } = parse(await rawRequest(proxy, head(server.token), body, halfClose));
      expect(status).toBe(500);
      const [message, ...frames] = text.split("\n");
      expect(message).toBe("Error: Network connection lost.");
      // Every stack frame is miniflare's entry worker in the proxy; none is the Worker's code.
      expect(frames.length).toBeGreaterThan(0);
      for (const frame of frames)
        expect(frame).toMatch(/^ {4}at .*node_modules\/miniflare\/dist\/src\/workers\/core\/entry\.worker\.js:\d+:\d+\)?$/);
      expect(await logText()).toBe(before);
    },
  );

  it("a malformed head on the public port: 400 with a short text, no stack", async () => {
    const answer = await rawRequest(server.url, "GET /v1/status/leader HTTP/1.1\r\nHost: 127.0.0.1\r\nBad Header\r\n\r\n", "");
    const { status, body } = parse(answer);
    expect([status, body]).toEqual([400, "Bad Request: malformed HTTP request"]);
  });

  it("the same body with valid framing is appended through the front, the proxy and directly", async () => {
    for (const [name, base] of [
      ["front", server.url],
      ["proxy", proxy],
      ["runtime", runtime],
    ] as const) {
      const line = `framed via ${name}\n`;
      const framed = `${line.length.toString(16)}\r\n${line}\r\n0\r\n\r\n`;
      const { status, body } = parse(await rawRequest(base, head(server.token), framed));
      expect(status, body).toBe(200);
      expect(await logText()).toContain(line);
    }
  });
});
