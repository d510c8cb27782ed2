/**
 * One HTTP client for both sides, on `node:http`/`node:https` rather than `fetch`: Nomad's mTLS
 * needs a client certificate (`ca`/`cert`/`key`) and its Task API is a unix socket, neither of which
 * `fetch` can use. Keep-alive agents bound the sockets per side.
 */
import { readFileSync } from "node:fs";
import http, { type IncomingHttpHeaders, type IncomingMessage } from "node:http";
import https from "node:https";
import type { TlsFiles } from "./config.ts";

export interface HttpAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

interface RequestOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: Buffer | string;
  signal?: AbortSignal;
  /** Whole-request timeout (headers and body); streams opened with `open` have none. */
  timeoutMs?: number;
}

/** A network failure (no HTTP answer): refused, reset, timed out. Retried with backoff. */
export class NetworkError extends Error {}

export class HttpEndpoint {
  readonly #base: URL;
  readonly #socketPath?: string;
  readonly #agent: http.Agent;
  readonly #tls: https.AgentOptions;
  readonly #headers: Record<string, string>;

  constructor(address: string, headers: Record<string, string>, options: { tls?: TlsFiles; maxSockets: number }) {
    this.#headers = headers;
    if (address.startsWith("unix://")) {
      this.#socketPath = address.slice("unix://".length);
      this.#base = new URL("http://localhost");
    } else {
      this.#base = new URL(address.endsWith("/") ? address : `${address}/`);
    }
    const tls = options.tls;
    this.#tls = {
      ca: tls?.caCert ? readFileSync(tls.caCert) : undefined,
      cert: tls?.clientCert ? readFileSync(tls.clientCert) : undefined,
      key: tls?.clientKey ? readFileSync(tls.clientKey) : undefined,
      servername: tls?.serverName,
      rejectUnauthorized: !tls?.skipVerify,
    };
    const agentOptions = { keepAlive: true, maxSockets: options.maxSockets };
    this.#agent = this.#base.protocol === "https:" ? new https.Agent({ ...agentOptions, ...this.#tls }) : new http.Agent(agentOptions);
  }

  get origin(): string {
    return this.#socketPath ? `unix://${this.#socketPath}` : this.#base.origin;
  }

  #start(path: string, options: RequestOptions): http.ClientRequest {
    const url = new URL(path.replace(/^\//, ""), this.#base);
    const headers: Record<string, string> = { ...this.#headers, ...options.headers };
    if (options.body !== undefined) headers["Content-Length"] = String(Buffer.byteLength(options.body));
    const transport = url.protocol === "https:" ? https : http;
    return transport.request({
      agent: this.#agent,
      socketPath: this.#socketPath,
      hostname: url.hostname,
      port: url.port,
      path: `${url.pathname}${url.search}`,
      method: options.method ?? "GET",
      headers,
      signal: options.signal,
    });
  }

  /** A whole request and its whole answer. */
  request(path: string, options: RequestOptions = {}): Promise<HttpAnswer> {
    return new Promise((resolve, reject) => {
      const req = this.#start(path, options);
      const timer = options.timeoutMs
        ? setTimeout(() => req.destroy(new NetworkError(`timed out after ${options.timeoutMs} ms`)), options.timeoutMs)
        : undefined;
      req.on("error", (error) => {
        clearTimeout(timer);
        reject(options.signal?.aborted ? error : new NetworkError(error.message));
      });
      req.on("response", (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("error", (error) => {
          clearTimeout(timer);
          reject(new NetworkError(error.message));
        });
        res.on("end", () => {
          clearTimeout(timer);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) });
        });
      });
      req.end(options.body);
    });
  }

  /** Opens a streaming GET; the caller reads (and eventually destroys) the response. */
  open(path: string, options: RequestOptions = {}): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      const req = this.#start(path, options);
      req.on("error", (error) => reject(options.signal?.aborted ? error : new NetworkError(error.message)));
      req.on("response", resolve);
      req.end();
    });
  }

  close(): void {
    this.#agent.destroy();
  }
}

export function header(answer: { headers: IncomingHttpHeaders }, name: string): string | undefined {
  const value = answer.headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}
