/** SHA-256, the one hash this server uses: token secrets (stored and looked up only as digests) and request fingerprints. */
export async function sha256(input: string | Uint8Array): Promise<ArrayBuffer> {
  return crypto.subtle.digest("SHA-256", typeof input === "string" ? new TextEncoder().encode(input) : input);
}

const HEX_BYTES = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, "0"));

export function toHex(digest: ArrayBuffer, bytes = digest.byteLength): string {
  let hex = "";
  for (const byte of new Uint8Array(digest, 0, bytes)) hex += HEX_BYTES[byte];
  return hex;
}

export async function sha256Hex(input: string | Uint8Array): Promise<string> {
  return toHex(await sha256(input));
}

/** The request's token: `X-Nomad-Token`, or `Authorization: Bearer` (never the query string). */
export function requestToken(request: Request): string | undefined {
  const header = request.headers.get("X-Nomad-Token");
  if (header) return header.trim();
  return bearerToken(request.headers.get("Authorization"));
}

/**
 * The token of an `Authorization: Bearer <token>` header as Nomad's `parseToken` reads it
 * (command/agent/http.go, v1.10.0): split on spaces, the scheme `Bearer` in any case, and of the
 * rest (trimmed) only the first word.
 */
export function bearerToken(header: string | null): string | undefined {
  if (!header) return undefined;
  const parts = header.split(" ");
  if (parts.length < 2 || parts[0]?.toLowerCase() !== "bearer") return undefined;
  const token = (parts.slice(1).join(" ").trim().split(" ")[0] ?? "").trim();
  return token === "" ? undefined : token;
}

const tokenDigests = new WeakMap<Request, Promise<ArrayBuffer>>();

/**
 * SHA-256 of the request's token (undefined without one), computed once per request: the rate
 * limit's key and the ACL lookup both need it.
 */
export function requestTokenDigest(request: Request): Promise<ArrayBuffer> | undefined {
  const token = requestToken(request);
  if (token === undefined) return undefined;
  let digest = tokenDigests.get(request);
  if (!digest) {
    digest = sha256(token);
    tokenDigests.set(request, digest);
  }
  return digest;
}

/** The client's address (Cloudflare's `CF-Connecting-IP`) as a key for per-client limits. */
export function clientAddressKey(request: Request): string {
  return `ip:${request.headers.get("CF-Connecting-IP") ?? "unknown"}`;
}
