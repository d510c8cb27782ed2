/**
 * The Durable Objects' RPC contract: what the Worker sends and what the objects answer. Kept apart
 * from the object classes so that callers (handlers, the stores the objects compose) depend on the
 * contract, not on a class file, and so the classes' helpers never import back into them.
 */
import type { Acl } from "../acl/policy.ts";
import { CodedError } from "../errors.ts";
import type { LogType } from "./log-store.ts";

/** What a read returns: the encoded document (when the allocation exists) and its index, or a 429 refusal. */
export interface ReadResult {
  index: number;
  body: string | null;
  /** The allocation's namespace, when it exists: the Worker checks the caller's capabilities in it. */
  namespace?: string;
  /** Set when the query could not park (waiter caps): the text of a 429. */
  refused?: string;
}

export interface ReadQuery {
  /** Block while the allocation's index is <= this (the client's uint64 `index`, exact); 0n answers at once. */
  minIndex: bigint;
  /** How long to block at most, jitter included. */
  waitMs: number;
  pretty: boolean;
  /** Who is asking (token hash or client address), for the per-caller cap on parked queries. */
  caller?: string;
}

/** A client error, returned rather than thrown because coded errors do not cross RPC. */
export interface Refusal {
  ok: false;
  status: number;
  message: string;
  /** Response headers the refusal carries (e.g. a log stream's current `X-Log-Offset`). */
  headers?: Record<string, string>;
}

/**
 * A write either succeeds with its index, is skipped because it carried a source index not above
 * the stored one (`stale`: nothing changed, `index` is the current state's), or is refused.
 */
export type WriteOutcome = { ok: true; index: number; stale?: true } | Refusal;

export interface LogQuery {
  task: string;
  type: LogType;
  follow: boolean;
  plain: boolean;
  offset: number;
  origin: "start" | "end";
  /** The caller's ACL and the capabilities (any of) it needs in the allocation's namespace. */
  access: { acl: Acl; anyOf: readonly string[] };
}

/** The 409 of a log append whose `X-Log-Offset` is not the stream's current total. */
export function logOffsetMismatch(expected: number, end: number): Refusal {
  return {
    ok: false,
    status: 409,
    message: `X-Log-Offset ${expected} does not match the stream's ${end} bytes appended so far; nothing was written`,
    headers: { "X-Log-Offset": String(end) },
  };
}

/**
 * The one place an RPC answer is unwrapped: a refusal becomes the coded error the Worker answers
 * with (coded errors do not cross RPC, so objects return refusals instead of throwing).
 */
export function unwrap<O extends { ok: boolean }>(outcome: O): Exclude<O, { ok: false }> {
  if (!outcome.ok) {
    const refusal = outcome as unknown as Refusal;
    throw new CodedError(refusal.status, refusal.message, refusal.headers);
  }
  return outcome as Exclude<O, { ok: false }>;
}
