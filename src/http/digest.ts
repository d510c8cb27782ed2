/** SHA-256, the one hash this server uses: token secrets (stored and looked up only as digests) and request fingerprints. */
export async function sha256(input: string | Uint8Array): Promise<ArrayBuffer> {
  return crypto.subtle.digest("SHA-256", typeof input === "string" ? new TextEncoder().encode(input) : input);
}

export function toHex(digest: ArrayBuffer, bytes = digest.byteLength): string {
  return [...new Uint8Array(digest, 0, bytes)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

export async function sha256Hex(input: string | Uint8Array): Promise<string> {
  return toHex(await sha256(input));
}

/** The client's address (Cloudflare's `CF-Connecting-IP`) as a key for per-client limits. */
export function clientAddressKey(request: Request): string {
  return `ip:${request.headers.get("CF-Connecting-IP") ?? "unknown"}`;
}
