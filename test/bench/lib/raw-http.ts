/**
 * A minimal HTTP/1.1 client over one keep-alive TCP connection, for the benchmark's waiters, log
 * followers and timed writes. One request at a time per connection, no client-side timeouts (the
 * caller bounds every wait), and the least possible client CPU per response: the harness shares
 * two cores with workerd, so a heavier client (node:http, fetch) would inflate the wake-up figures.
 * Understands Content-Length and chunked bodies; counts body bytes instead of keeping them unless
 * asked to.
 */
import { connect, type Socket } from "node:net";
import { performance } from "node:perf_hooks";

export interface RawResponse {
  status: number;
  headers: Map<string, string>;
  /** Body bytes received (after chunked decoding). */
  bodyBytes: number;
  /** The body, when the request asked to keep it. */
  body?: Buffer;
  /** performance.now() when the last byte of the response arrived. */
  doneAt: number;
}

export interface RawRequest {
  method?: string;
  path: string;
  headers?: Record<string, string>;
  body?: Uint8Array | string;
  /** Keep the body bytes (default: only count them). */
  keepBody?: boolean;
  /** Called with the running body byte count whenever body bytes arrive (log followers). */
  onBody?: (total: number, at: number) => void;
  /** Called with each piece of body bytes as it arrives (event stream subscribers parse lines from it). */
  onData?: (bytes: Buffer, at: number) => void;
  /** Called once the response head is parsed (a stream's headers arrive long before its end). */
  onHead?: (status: number, at: number) => void;
}

interface Pending {
  request: RawRequest;
  resolve: (response: RawResponse) => void;
  reject: (error: Error) => void;
}

const CRLF = Buffer.from("\r\n");
const HEAD_END = Buffer.from("\r\n\r\n");

export class RawConnection {
  readonly #socket: Socket;
  readonly #host: string;
  #pending: Pending | undefined;
  #closed = false;
  /** Settles once the TCP connection is up (or failed: then `closed` is true). */
  readonly connected: Promise<void>;
  // Parser state of the current response.
  #head: Buffer = Buffer.alloc(0);
  #inBody = false;
  #status = 0;
  #headers = new Map<string, string>();
  #remaining = 0; // bytes left of a Content-Length body or of the current chunk
  #chunked = false;
  #chunkPhase: "size" | "data" | "crlf" | "trailer" = "size";
  #line = "";
  #bodyBytes = 0;
  #bodyParts: Buffer[] = [];

  constructor(host: string, port: number) {
    this.#host = `${host}:${port}`;
    this.#socket = connect({ host, port, noDelay: true });
    this.connected = new Promise((resolve) => {
      this.#socket.once("connect", () => resolve());
      this.#socket.once("close", () => resolve());
    });
    this.#socket.on("data", (data: Buffer) => this.#onData(data));
    this.#socket.on("error", (error) => this.#fail(error));
    this.#socket.on("close", () => this.#fail(new Error("connection closed")));
  }

  get closed(): boolean {
    return this.#closed;
  }

  request(request: RawRequest): Promise<RawResponse> {
    if (this.#closed) return Promise.reject(new Error("connection closed"));
    if (this.#pending) return Promise.reject(new Error("one request at a time"));
    return new Promise((resolve, reject) => {
      this.#pending = { request, resolve, reject };
      this.#resetParser();
      const body = request.body === undefined ? undefined : typeof request.body === "string" ? Buffer.from(request.body) : request.body;
      let head = `${request.method ?? "GET"} ${request.path} HTTP/1.1\r\nHost: ${this.#host}\r\n`;
      for (const [name, value] of Object.entries(request.headers ?? {})) head += `${name}: ${value}\r\n`;
      if (body) head += `Content-Length: ${body.byteLength}\r\n`;
      head += "\r\n";
      if (body) {
        this.#socket.cork();
        this.#socket.write(head);
        this.#socket.write(body);
        this.#socket.uncork();
      } else this.#socket.write(head);
    });
  }

  close(): void {
    this.#closed = true;
    this.#socket.destroy();
  }

  #resetParser(): void {
    this.#head = Buffer.alloc(0);
    this.#inBody = false;
    this.#status = 0;
    this.#headers = new Map();
    this.#remaining = 0;
    this.#chunked = false;
    this.#chunkPhase = "size";
    this.#line = "";
    this.#bodyBytes = 0;
    this.#bodyParts = [];
  }

  #fail(error: Error): void {
    this.#closed = true;
    const pending = this.#pending;
    this.#pending = undefined;
    pending?.reject(error);
  }

  #onData(data: Buffer): void {
    if (!this.#pending) return; // nothing asked for: ignore (never happens with one request at a time)
    let rest = data;
    if (!this.#inBody) {
      this.#head = this.#head.length ? Buffer.concat([this.#head, data]) : data;
      const end = this.#head.indexOf(HEAD_END);
      if (end < 0) {
        if (this.#head.length > 64 * 1024) this.#fail(new Error("response head too large"));
        return;
      }
      this.#parseHead(this.#head.subarray(0, end).toString("latin1"));
      this.#pending.request.onHead?.(this.#status, performance.now());
      rest = this.#head.subarray(end + 4);
      this.#inBody = true;
      if (!this.#chunked && this.#remaining === 0) {
        this.#complete();
        return;
      }
    }
    if (this.#chunked) this.#onChunked(rest);
    else this.#onFixed(rest);
  }

  #parseHead(head: string): void {
    const lines = head.split("\r\n");
    this.#status = Number(lines[0]?.split(" ")[1] ?? 0);
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(":");
      if (colon > 0) this.#headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
    }
    this.#chunked = (this.#headers.get("transfer-encoding") ?? "").toLowerCase().includes("chunked");
    this.#remaining = this.#chunked ? 0 : Number(this.#headers.get("content-length") ?? 0);
  }

  #takeBody(bytes: Buffer): void {
    if (bytes.byteLength === 0) return;
    this.#bodyBytes += bytes.byteLength;
    if (this.#pending?.request.keepBody) this.#bodyParts.push(Buffer.from(bytes));
    const request = this.#pending?.request;
    if (request?.onBody || request?.onData) {
      const at = performance.now();
      request.onBody?.(this.#bodyBytes, at);
      request.onData?.(bytes, at);
    }
  }

  #onFixed(data: Buffer): void {
    const take = data.subarray(0, this.#remaining);
    this.#remaining -= take.byteLength;
    this.#takeBody(take);
    if (this.#remaining === 0) this.#complete();
  }

  #onChunked(data: Buffer): void {
    let at = 0;
    while (at < data.byteLength) {
      if (this.#chunkPhase === "data") {
        const take = data.subarray(at, at + this.#remaining);
        at += take.byteLength;
        this.#remaining -= take.byteLength;
        this.#takeBody(take);
        if (this.#remaining === 0) {
          this.#chunkPhase = "crlf";
          this.#remaining = 2;
        }
        continue;
      }
      if (this.#chunkPhase === "crlf") {
        const skip = Math.min(this.#remaining, data.byteLength - at);
        at += skip;
        this.#remaining -= skip;
        if (this.#remaining === 0) this.#chunkPhase = "size";
        continue;
      }
      // "size" or "trailer": a line up to CRLF.
      const end = data.indexOf(CRLF, at);
      if (end < 0) {
        this.#line += data.subarray(at).toString("latin1");
        return;
      }
      const line = this.#line + data.subarray(at, end).toString("latin1");
      this.#line = "";
      at = end + 2;
      if (this.#chunkPhase === "trailer") {
        if (line === "") {
          this.#complete();
          return;
        }
        continue;
      }
      const size = Number.parseInt(line.split(";")[0] ?? "", 16);
      if (Number.isNaN(size)) {
        this.#fail(new Error(`bad chunk size ${JSON.stringify(line)}`));
        return;
      }
      if (size === 0) this.#chunkPhase = "trailer";
      else {
        this.#chunkPhase = "data";
        this.#remaining = size;
      }
    }
  }

  #complete(): void {
    const pending = this.#pending;
    this.#pending = undefined;
    if (!pending) return;
    const response: RawResponse = { status: this.#status, headers: this.#headers, bodyBytes: this.#bodyBytes, doneAt: performance.now() };
    if (pending.request.keepBody) response.body = Buffer.concat(this.#bodyParts);
    if ((this.#headers.get("connection") ?? "").toLowerCase() === "close") this.close();
    pending.resolve(response);
  }
}
