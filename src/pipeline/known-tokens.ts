/**
 * Token digests this isolate has recently seen resolve to a valid token. The gate counts a request
 * under its token only when the token is known valid here, and every other request (no token, an
 * unknown or not yet resolved one) under its client address, so rotating random tokens cannot
 * open fresh rate-limit buckets; and a valid token is not starved by a flood from its address once
 * it has resolved here. The only way to tell a valid token from a random one is the lookup the
 * address limit protects, so a valid token's very first request during such a flood may wait for
 * one window.
 */

/** How long a successful resolution keeps a token known (refreshed by each resolution). */
const KNOWN_FOR_MS = 10 * 60_000;
const MAX_KNOWN = 10_000;

const known = new Map<string, number>();

/** `digestHex`: the full hex SHA-256 of the secret. */
export function rememberValidToken(digestHex: string, now = Date.now()): void {
  known.delete(digestHex);
  if (known.size >= MAX_KNOWN) known.delete(known.keys().next().value as string);
  known.set(digestHex, now + KNOWN_FOR_MS);
}

export function forgetToken(digestHex: string): void {
  known.delete(digestHex);
}

export function isKnownValidToken(digestHex: string, now = Date.now()): boolean {
  const until = known.get(digestHex);
  if (until === undefined) return false;
  if (until > now) return true;
  known.delete(digestHex);
  return false;
}
