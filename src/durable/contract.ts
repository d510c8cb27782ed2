/**
 * The Durable Objects' RPC contract: what the Worker sends and what the objects answer. Kept apart
 * from the object classes so that callers (handlers, the stores the objects compose) depend on the
 * contract, not on a class file, and so the classes' helpers never import back into them.
 *
 * Every answer that can fail is one shape: `{ ok: true, … }` or a `Refusal`, turned back into the
 * Worker's coded error by `unwrap()` below, the one place that does. Indexes a client sends (a
 * blocking query's, an event stream's) cross as `bigint`, exact; indexes the objects hand out are
 * their clock's milliseconds, safe integers (index-clock.ts).
 */
import type { Acl } from "../acl/policy.ts";
import type { CatalogEntry } from "../domain/catalog-entry.ts";
import { CodedError } from "../errors.ts";
import type { ListSelection } from "./catalog-list.ts";
import type { LogType } from "./log-store.ts";

/** A read's answer: the encoded document (null when the allocation does not exist) and its index. */
export interface AllocationRead {
  ok: true;
  index: number;
  body: string | null;
  /** The allocation's namespace, when it exists: the Worker checks the caller's capabilities in it. */
  namespace?: string;
}

/** What a read returns: its answer, or the 429 of a query that could not park (waiter caps). */
export type ReadResult = AllocationRead | Refusal;

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
 * `carried`: the change a write that was asked to carry it committed and did not deliver (the
 * batch path), for the Worker to deliver to the region catalog with the batch's others.
 */
export type WriteOutcome = { ok: true; index: number; stale?: true; carried?: CatalogChange } | Refusal;

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

/** The 429 of a blocking query that could not park: `message` says which waiter cap is reached. */
export function cannotPark(message: string): Refusal {
  return { ok: false, status: 429, message, headers: { "Retry-After": "1" } };
}

export interface ListQuery extends Omit<ListSelection, "matches"> {
  /** Block while the region's index is <= this (the client's uint64 `index`, exact); 0n answers at once. */
  minIndex: bigint;
  waitMs: number;
  pretty: boolean;
  caller?: string;
  /** A go-bexpr filter expression the Worker has parsed; "" for none. */
  filter: string;
  /** Answer the rows themselves (`ListPage.items`) instead of the body: the Worker merges shards. */
  items?: boolean;
}

/** A page of the region's list and the region index it reflects. */
export interface ListPage {
  ok: true;
  index: number;
  body: string;
  nextToken: string | null;
  /** With `ListQuery.items`: the page's rows (id and stub JSON), for the Worker to merge shards; `body` is then "". */
  items?: ListItem[];
}

export interface ListItem {
  id: string;
  body: string;
}

/**
 * What a list returns: the page, the 429 of a query that could not park, or the 400 of a filter
 * that failed on a row (go-bexpr's evaluation error).
 */
export type ListResult = ListPage | Refusal;

export interface StreamQuery {
  /** Start at the first event whose Index is >= this (uint64, exact); 0n from the oldest kept. */
  index: bigint;
  /**
   * The keys to match against an event's Key and FilterKeys, as Nomad's `filter`; null when every
   * event matches (the topic `*` or `Allocation` with the key `*` alone), [] when none can.
   */
  keys: string[] | null;
  /** The namespaces whose events are delivered (fixed when the stream opens, as in Nomad). */
  namespaces: string[];
  heartbeatMs: number;
  /**
   * For the Worker's merge of shards: when caught up, send `{"Index":N}` (no Events), meaning every
   * event up to N was sent; heartbeats are then the Worker's.
   */
  watermarks?: boolean;
}

/**
 * A committed change of one allocation, as its object reports it to the region catalog. Stored in
 * the allocation's outbox in the same transaction as the change, delivered in index order, and
 * recorded idempotently, so a crash between the two objects delays the catalog but never loses
 * or duplicates a change.
 */
export interface CatalogChange {
  allocId: string;
  /** The allocation's ModifyIndex for an update; the tombstone index for a delete. */
  allocIndex: number;
  kind: "upsert" | "delete";
  /** Unix nanoseconds (decimal) of the change. */
  modifyTime: string;
  /** The allocation's compact JSON: after an upsert, or as it was before a delete. */
  allocation: string;
  /** Its stub, namespace and event, made by the allocation object (absent in changes stored before it did). */
  entry?: CatalogEntry;
  /**
   * Only on a carried change: the index of the newest earlier change of this allocation that its
   * object still holds in its outbox (it may not be recorded yet); the catalog records the carried
   * change only once that one is recorded, so an allocation's changes are recorded in order.
   */
  after?: number;
}

/** What a catalog shard tells an object about to create an allocation (tombstone-retention.ts). */
export interface Admission {
  /** The shard's index: the created allocation's first index is above it. */
  index: number;
  /** The shard's collected watermark (decimal uint64), null while it collected no tombstone with a source index. */
  collected: string | null;
}

/**
 * An admission a catalog shard grants to creates that come together (the Worker isolate asks once
 * per shard, not each new allocation's object: admission-leases.ts): the shard collects no
 * tombstone before `until`, so the admission stays true meanwhile (tombstone-retention.ts).
 */
export interface AdmissionLease extends Admission {
  /** Until when (the shard's wall-clock ms) it collects nothing. */
  until: number;
  /** Until when (ms) an object may create under it: `until` less a margin for queueing and for machines' clocks. */
  usableUntil: number;
}

/** A tombstone an allocation object reports to its catalog shard for collection. */
export interface CollectedTombstone {
  allocId: string;
  /** The tombstone's index (the delete's); the list row goes only if it is not newer. */
  allocIndex: number;
  /** Its source index (decimal uint64), null when no write carried one. */
  sourceIndex: string | null;
}

export interface TokenRequest {
  Name: string;
  Type: "client" | "management";
  Policies: string[];
}

/** A successful ACL write: its index and the JSON body to answer (empty for policy writes). */
export type AclOutcome = { ok: true; index: number; body: string } | Refusal;

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
 * The other direction, inside an object: a coded error thrown by a rule the object applies becomes
 * the refusal it answers with (its status and text). Anything else is not a client error: rethrown.
 */
export function refusalOf(error: unknown): Refusal {
  if (error instanceof CodedError) return { ok: false, status: error.status, message: error.message };
  throw error;
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
