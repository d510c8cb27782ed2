/**
 * What every request passes before routing, and what every response gets after: size caps on the
 * URL and headers, per-caller rate limiting, and CORS (preflight answers and the exposed headers
 * browsers need to long-poll). All limits come from configuration (wrangler.toml `[vars]` and
 * `[[ratelimits]]`) and are documented in docs/security.md.
 */
import { perEnv } from "../config.ts";
import { CodedError } from "../errors.ts";
import { clientAddressKey, requestTokenDigest, toHex } from "../http/digest.ts";
import { isKnownValidToken } from "./known-tokens.ts";

/** Methods that only read: CORS for them is governed by CORS_READ_ORIGINS. */
const READ_METHODS = new Set(["GET"]);
/** Methods of the writes: CORS for them is governed by CORS_WRITE_ORIGINS. */
const WRITE_METHODS = new Set(["PUT", "POST", "DELETE"]);
const EXPOSED_HEADERS = "X-Nomad-Index, X-Nomad-KnownLeader, X-Nomad-LastContact, X-Nomad-NextToken, X-Log-Offset";
const READ_REQUEST_HEADERS = "X-Nomad-Token, Authorization";
const WRITE_REQUEST_HEADERS = "X-Nomad-Token, Authorization, Content-Type, Idempotency-Key, X-Log-Offset";
const PREFLIGHT_MAX_AGE = "600";
const RATE_LIMIT_PERIOD_S = 10;
export const RATE_LIMITED = "Rate limit exceeded: too many requests from this caller";

interface GateConfig {
  maxUrlBytes: number;
  maxHeaderBytes: number;
  readOrigins: Set<string>;
  writeOrigins: Set<string>;
}

function origins(list: string | undefined): Set<string> {
  return new Set(
    String(list ?? "")
      .split(",")
      .map((o) => o.trim())
      .filter(Boolean),
  );
}

/** The gate's settings, parsed once per `Env`. */
export const gateConfig = perEnv(
  (env): GateConfig => ({
    maxUrlBytes: Number(env.MAX_URL_BYTES) || 8192,
    maxHeaderBytes: Number(env.MAX_HEADER_BYTES) || 16384,
    readOrigins: origins(env.CORS_READ_ORIGINS),
    writeOrigins: origins(env.CORS_WRITE_ORIGINS),
  }),
);

function allowedOrigin(cfg: GateConfig, origin: string, method: string): string | undefined {
  const list = READ_METHODS.has(method) ? cfg.readOrigins : cfg.writeOrigins;
  if (list.has(origin)) return origin;
  return list.has("*") ? "*" : undefined;
}

/** Rejects oversized requests before any work is done. */
export function checkSizes(request: Request, cfg: GateConfig): void {
  if (request.url.length > cfg.maxUrlBytes) throw new CodedError(414, "Request URL too long");
  let headerBytes = 0;
  for (const [name, value] of request.headers) headerBytes += name.length + value.length + 4;
  if (headerBytes > cfg.maxHeaderBytes) throw new CodedError(431, "Request header fields too large");
}

/** A CORS preflight (OPTIONS with Origin and Access-Control-Request-Method), answered here. */
export function preflight(request: Request, cfg: GateConfig): Response | undefined {
  const origin = request.headers.get("Origin");
  const method = request.headers.get("Access-Control-Request-Method");
  if (request.method !== "OPTIONS" || !origin || !method) return undefined;
  // Only methods the API serves can be allowed: HEAD (405 on every API route) and the rest never.
  const served = READ_METHODS.has(method.toUpperCase()) || WRITE_METHODS.has(method.toUpperCase());
  const allowed = served ? allowedOrigin(cfg, origin, method.toUpperCase()) : undefined;
  if (!allowed) throw new CodedError(403, `CORS: origin ${JSON.stringify(origin)} may not ${method.toUpperCase()} here`);
  const read = READ_METHODS.has(method.toUpperCase());
  return new Response(null, {
    status: 204,
    headers: {
      "Access-Control-Allow-Origin": allowed,
      "Access-Control-Allow-Methods": read ? "GET" : "PUT, POST, DELETE",
      "Access-Control-Allow-Headers": read ? READ_REQUEST_HEADERS : WRITE_REQUEST_HEADERS,
      "Access-Control-Max-Age": PREFLIGHT_MAX_AGE,
      Vary: "Origin",
    },
  });
}

/** Adds CORS headers to a response for an allowed cross-origin request (errors included). */
/**
 * Every answer varies by `Accept-Encoding`, as Nomad's gzip handler declares on all of its; most
 * handlers set it already, the rest (documents, pages, redirects) get it here.
 */
export function withVary(response: Response): Response {
  if (response.headers.get("Vary")?.includes("Accept-Encoding")) return response;
  const headers = new Headers(response.headers);
  headers.append("Vary", "Accept-Encoding");
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}

export function withCors(request: Request, response: Response, cfg: GateConfig): Response {
  const origin = request.headers.get("Origin");
  if (!origin) return response;
  const allowed = allowedOrigin(cfg, origin, request.method);
  if (!allowed) return response;
  const headers = new Headers(response.headers);
  headers.set("Access-Control-Allow-Origin", allowed);
  headers.set("Access-Control-Expose-Headers", EXPOSED_HEADERS);
  headers.append("Vary", "Origin");
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}

/**
 * The key a request is counted under: its token (hashed, never stored in clear) when this isolate
 * knows the token to be valid, else its client address — so a request carrying a random token
 * counts against its address like one without a token (src/pipeline/known-tokens.ts says why).
 */
export async function callerKey(request: Request): Promise<string> {
  const digest = requestTokenDigest(request);
  if (!digest) return clientAddressKey(request);
  const bytes = await digest;
  return isKnownValidToken(toHex(bytes)) ? `token:${toHex(bytes, 12)}` : clientAddressKey(request);
}

/** Counts a request under `key` with a rate-limiting binding; 429 with Retry-After past its limit. */
export async function checkRateLimit(limiter: RateLimit | undefined, key: string): Promise<void> {
  // Optional: a configuration without the binding (e.g. the benchmark's) is not rate limited.
  if (!limiter) return;
  const { success } = await limiter.limit({ key });
  if (!success) throw new CodedError(429, RATE_LIMITED, { "Retry-After": String(RATE_LIMIT_PERIOD_S) });
}
