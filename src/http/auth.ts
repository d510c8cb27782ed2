/**
 * Write authorization: until the ACL system lands, a write must present the MANAGEMENT_TOKEN
 * secret in `X-Nomad-Token` or `Authorization: Bearer`. Never in the query string (Nomad reads
 * headers only). Compared as SHA-256 digests in constant time, so neither content nor length leaks.
 */
import { CodedError, ErrorText } from "./errors.ts";

export function requestToken(request: Request): string | undefined {
  const header = request.headers.get("X-Nomad-Token");
  if (header) return header;
  const auth = request.headers.get("Authorization");
  const match = auth ? /^Bearer\s+(\S+)\s*$/i.exec(auth) : null;
  return match?.[1];
}

async function digest(text: string): Promise<ArrayBuffer> {
  return crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
}

export async function requireManagementToken(request: Request, env: Env): Promise<void> {
  const presented = requestToken(request);
  const expected = env.MANAGEMENT_TOKEN;
  if (!presented || !expected) throw new CodedError(403, ErrorText.permissionDenied);
  const [a, b] = await Promise.all([digest(presented), digest(expected)]);
  if (!crypto.subtle.timingSafeEqual(a, b)) throw new CodedError(403, ErrorText.permissionDenied);
}
