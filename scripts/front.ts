/**
 * The public port of `npm start`: a Node HTTP server that forwards every request to `wrangler dev`
 * on an internal loopback port. It exists because wrangler's dev proxy answers a request whose body
 * framing is broken with 500 and a JavaScript stack (docs/security.md); Node's HTTP parser (llhttp)
 * refuses such framing here first, with a 400 and a short text.
 *
 * Everything else passes through as wrangler would answer it: status and raw headers (order, case,
 * duplicates; only hop-by-hop headers are this hop's own), bodies streamed both ways as they come
 * (long polls, log follows and the event stream flush each frame at once), the client's disconnect
 * (the upstream request is aborted, so a parked query ends). One header is the front's own:
 * `CF-Connecting-IP` is always the client's socket address, any copy the client sent replaced, as
 * Cloudflare's edge sets it. wrangler's proxy would believe a client's copy (it sets the header only
 * when absent), which would let a local client pick its rate-limit bucket.
 */
import { Agent, createServer, type IncomingMessage, type Server, type ServerResponse, request as upstreamRequest } from "node:http";
import { connect, type Socket } from "node:net";
import { ErrorText } from "../src/errors.ts";

/** Headers that describe one connection, not the message (RFC 9110 §7.6.1); each hop sets its own. */
const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-connection", "te", "trailer", "upgrade"]);

interface Upstream {
  host: string;
  port: number;
}

/**
 * Raw header pairs without the hop-by-hop ones. Headers a `Connection` header names are kept, as
 * wrangler's runtime keeps them.
 */
function endToEnd(raw: readonly string[]): string[] {
  const kept: string[] = [];
  for (let i = 0; i < raw.length; i += 2) if (!HOP_BY_HOP.has((raw[i] ?? "").toLowerCase())) kept.push(raw[i] ?? "", raw[i + 1] ?? "");
  return kept;
}

const CLIENT_ADDRESS = "cf-connecting-ip";

/** The raw header pairs for wrangler: `raw` without the client's own `CF-Connecting-IP`, then the socket's address. */
function withClientAddress(raw: readonly string[], request: IncomingMessage): string[] {
  const headers: string[] = [];
  for (let i = 0; i < raw.length; i += 2) if ((raw[i] ?? "").toLowerCase() !== CLIENT_ADDRESS) headers.push(raw[i] ?? "", raw[i + 1] ?? "");
  const address = request.socket.remoteAddress;
  if (address) headers.push("CF-Connecting-IP", address);
  return headers;
}

/** The request's headers for wrangler: end-to-end ones, with the client's address as the front saw it. */
function forwardedHeaders(request: IncomingMessage): string[] {
  return withClientAddress(endToEnd(request.rawHeaders), request);
}

/** A short text answer from the front itself (never a stack), closing the connection. */
function answer(response: ServerResponse, status: number, text: string): void {
  if (response.headersSent) {
    response.destroy();
    return;
  }
  response.writeHead(status, { "Content-Type": "text/plain; charset=utf-8", Connection: "close" });
  response.end(text);
}

function forward(agent: Agent, upstream: Upstream, request: IncomingMessage, response: ServerResponse): void {
  const outgoing = upstreamRequest({
    agent,
    host: upstream.host,
    port: upstream.port,
    method: request.method,
    path: request.url,
    headers: forwardedHeaders(request),
    // The client's own Host header, not one of Node's making.
    setHost: false,
  });
  // A request with no body framing has no body: Node would otherwise send a POST's as chunked.
  if (request.headers["content-length"] === undefined && request.headers["transfer-encoding"] === undefined)
    outgoing.useChunkedEncodingByDefault = false;
  outgoing.on("response", (incoming) => {
    // wrangler's answers carry no Connection header; Node would add one (and Keep-Alive) of its own.
    // Keep-alive itself is unchanged: Node keeps the connection unless the client asked to close it.
    if (response.shouldKeepAlive) response.removeHeader("Connection");
    response.writeHead(incoming.statusCode ?? 502, incoming.statusMessage, endToEnd(incoming.rawHeaders));
    // Each chunk is written as it arrives: `pipe` does not wait to fill a buffer.
    incoming.pipe(response);
    incoming.on("error", () => response.destroy());
  });
  outgoing.on("error", () => {
    // Also the echo of cutting it below: then the client is gone and there is no one to answer.
    if (!response.writableEnded && !response.destroyed) answer(response, 502, "Bad gateway: the local server did not answer");
  });
  // The client went before its answer was complete: end the upstream request too, so whatever
  // waits for it there (a long poll, a log follow, the event stream) ends.
  response.on("close", () => {
    if (!response.writableFinished) outgoing.destroy();
  });
  request.pipe(outgoing);
  // A body that breaks off (a framing error, the client gone mid-body) must not reach wrangler as a
  // complete one: the upstream request is cut, which the Worker reads as a body error.
  request.on("aborted", () => outgoing.destroy());
}

/** Upgrades (wrangler's live-reload WebSocket) are spliced to wrangler byte for byte. */
function tunnel(upstream: Upstream, request: IncomingMessage, client: Socket, head: Buffer): void {
  const server = connect(upstream.port, upstream.host);
  const lines = [`${request.method} ${request.url} HTTP/${request.httpVersion}`];
  const raw = withClientAddress(request.rawHeaders, request);
  for (let i = 0; i < raw.length; i += 2) lines.push(`${raw[i]}: ${raw[i + 1]}`);
  server.on("connect", () => {
    server.write(`${lines.join("\r\n")}\r\n\r\n`);
    if (head.length > 0) server.write(head);
    server.pipe(client);
    client.pipe(server);
  });
  server.on("error", () => client.destroy());
  client.on("error", () => server.destroy());
  server.on("close", () => client.destroy());
  client.on("close", () => server.destroy());
}

/**
 * Parse errors: malformed framing in the head or the body. The answer is written only if nothing of
 * a response has gone out on this connection yet; either way the connection ends (its framing is lost).
 */
function refuseMalformed(_error: Error, socket: Socket): void {
  // Node's own bookkeeping: the response of the request in flight on this socket, if any.
  const inFlight = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
  if (socket.writable && !inFlight?.headersSent) {
    // With a request in flight its head was fine and its body broke: the Worker's own text for that.
    const body = inFlight ? ErrorText.bodyCutOff : "Bad Request: malformed HTTP request";
    socket.end(
      `HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroySoon();
}

/** Listens on `host:port` and forwards to `upstream`; resolves once listening. */
export function startFront(host: string, port: number, upstream: Upstream): Promise<Server> {
  const agent = new Agent({ keepAlive: true });
  const server = createServer(
    {
      // Limits are the Worker's to answer (414, 431 with its texts), not Node's defaults.
      maxHeaderSize: 1024 * 1024,
      // No timeout of the front's own on a request wrangler would wait for (a slow upload).
      requestTimeout: 0,
    },
    (request, response) => {
      // Node adds Date to every answer unless told not to; wrangler's answers have none.
      response.sendDate = false;
      forward(agent, upstream, request, response);
    },
  );
  server.on("upgrade", (request: IncomingMessage, socket: Socket, head: Buffer) => tunnel(upstream, request, socket, head));
  server.on("clientError", refuseMalformed);
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve(server);
    });
  });
}
