/**
 * Who is calling, and what they may do. The token comes from `X-Nomad-Token` or
 * `Authorization: Bearer` (never the query string); no token means Nomad's anonymous token,
 * governed by the `anonymous` policy if one exists. The MANAGEMENT_TOKEN secret is the bootstrap
 * management token. Resolved tokens are cached per isolate for CACHE_TTL_MS: a deleted token or a
 * changed policy takes effect everywhere within that time (at once in the isolate that changed it).
 */
import { allows, type Need } from "../acl/needs.ts";
import { type Acl, allowsNamespace, MANAGEMENT_ACL } from "../acl/policy.ts";
import { aclStub } from "../durable/stub.ts";
import { CodedError, ErrorText } from "../errors.ts";
import { clientAddressKey, requestTokenDigest, sha256, toHex } from "../http/digest.ts";
import { encodeJson, JsonNumber } from "../json/codec.ts";
import { parseGoDuration, ZERO_TIME } from "../json/go-time.ts";
import { checkRateLimit } from "./gate.ts";
import { forgetToken, isKnownValidToken, rememberValidToken } from "./known-tokens.ts";

/** Default of ACL_CACHE_TTL. */
export const CACHE_TTL_MS = 2000;
const CACHE_MAX_ENTRIES = 10_000;

export interface Caller {
  acl: Acl;
  /** The caller's token JSON (SecretID blanked), or null for anonymous. */
  token: string | null;
  /** A stable, non-secret key for per-caller limits: the secret's hash, or "anonymous". */
  key: string;
}

const cache = new Map<string, { caller: Caller | null; expires: number }>();

/** Forgets every cached resolution (called after ACL writes in this isolate). */
export function invalidateAclCache(): void {
  cache.clear();
}

/**
 * The bootstrap management token as `token/self` answers it: every field a stored token has, keys
 * sorted as everywhere else. It was never created through the API, so it has no creation time or
 * index of its own: Go's zero time and index 1.
 */
const BOOTSTRAP_TOKEN = encodeJson({
  AccessorID: "bootstrap",
  CreateIndex: new JsonNumber("1"),
  CreateTime: ZERO_TIME,
  Global: true,
  ModifyIndex: new JsonNumber("1"),
  Name: "Bootstrap token (MANAGEMENT_TOKEN)",
  Policies: null,
  SecretID: "",
  Type: "management",
});
function cacheTtlMs(env: Env): number {
  const nanos = parseGoDuration(String(env.ACL_CACHE_TTL ?? ""));
  return nanos !== undefined && nanos >= 0n ? Number(nanos / 1_000_000n) : CACHE_TTL_MS;
}

async function lookup(env: Env, key: string, load: () => Promise<Caller | null>): Promise<Caller | null> {
  const now = Date.now();
  const hit = cache.get(key);
  if (hit && hit.expires > now) return hit.caller;
  const caller = await load();
  if (cache.size >= CACHE_MAX_ENTRIES) cache.delete(cache.keys().next().value as string);
  cache.set(key, { caller, expires: now + cacheTtlMs(env) });
  return caller;
}

/** The management secret's digest, kept while the secret stays the same. */
let management: { secret: string; digest: Promise<ArrayBuffer> } | undefined;

function managementDigest(secret: string): Promise<ArrayBuffer> {
  if (management?.secret !== secret) management = { secret, digest: sha256(secret) };
  return management.digest;
}

/** Resolves the request's caller; an unknown secret is 403 `ACL token not found`. */
export async function resolveCaller(request: Request, env: Env): Promise<Caller> {
  const pending = requestTokenDigest(request);
  if (!pending) {
    const anonymous = await lookup(env, "anonymous", async () => ({ acl: await aclStub(env).anonymous(), token: null, key: "anonymous" }));
    return anonymous as Caller;
  }
  const digest = await pending;
  const key = toHex(digest);
  if (env.MANAGEMENT_TOKEN && crypto.subtle.timingSafeEqual(digest, await managementDigest(env.MANAGEMENT_TOKEN))) {
    rememberValidToken(key);
    return { acl: MANAGEMENT_ACL, token: BOOTSTRAP_TOKEN, key };
  }
  const caller = await lookup(env, key, async () => {
    // Every uncached token costs a lookup in the one ACL store: count those per client address,
    // so rotating random tokens cannot dodge the per-caller rate limit or flood the store. A token
    // known valid here (re-resolved as its cache entry expires) is counted by its own rate limit
    // instead, so a flood from its address does not lock it out.
    if (!isKnownValidToken(key)) await checkRateLimit(env.TOKEN_LOOKUP_LIMITER, clientAddressKey(request));
    const resolved = await aclStub(env).resolve(key);
    return resolved ? { acl: resolved.acl, token: resolved.token, key } : null;
  });
  if (!caller) {
    forgetToken(key);
    throw new CodedError(403, ErrorText.aclTokenNotFound);
  }
  rememberValidToken(key);
  return caller;
}

/** Requires `anyOf` in `namespace` (the namespace of what is read): 403 `Permission denied` otherwise. */
export function requireNamespace(caller: Caller, namespace: string, anyOf: readonly string[], headers?: Record<string, string>): void {
  if (!allowsNamespace(caller.acl, namespace, anyOf)) throw new CodedError(403, ErrorText.permissionDenied, headers);
}

/** Resolves the caller and requires `need`: 403 `Permission denied` otherwise. */
export async function authorize(request: Request, env: Env, need: Need): Promise<Caller> {
  const caller = await resolveCaller(request, env);
  if (!allows(caller.acl, need)) throw new CodedError(403, ErrorText.permissionDenied);
  return caller;
}

/** The key parked queries are counted under: the token, or for anonymous callers their address. */
export function limitKey(request: Request, caller: Caller): string {
  return caller.token === null ? clientAddressKey(request) : caller.key;
}
