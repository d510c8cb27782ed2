/**
 * One page of a region's list, as Nomad's paginator builds it (nomad/state/paginator): rows in ID
 * order (descending with `reverse`), from the `next_token` on, kept when they are in a namespace
 * the caller may read and match the filter; the first row past the page is the next token.
 */
import { type Acl, ALL_NAMESPACES, allowsNamespace } from "../acl/policy.ts";
import { encodeJson, isJsonObject, type JsonObject, parseJson } from "../json/codec.ts";

export interface ListSelection {
  /** Lower-case hex digits the ID (without hyphens) must start with; "" for all. */
  prefix: string;
  /** Rows per page; 0 means every row, a negative size an empty page (as Nomad's paginator). */
  perPage: number;
  /** List from this ID on (the previous page's X-Nomad-NextToken); "" from the start. */
  nextToken: string;
  /** A namespace, or `*` for every namespace `acl` may read. */
  namespace: string;
  acl: Acl;
  reverse: boolean;
  /** False: the stubs' `TaskStates` are `null` (Nomad's `task_states=false`). */
  taskStates: boolean;
  /** Decides on a row from its full allocation (its compact JSON); absent: every row. */
  matches?: (allocation: string) => boolean;
}

export interface Page {
  /** The stubs' compact JSON. */
  stubs: string[];
  /** Their allocation IDs, in the same order. */
  ids: string[];
  nextToken: string | null;
}

const READ_JOB = ["read-job"] as const;
/** Hex digits in an allocation ID: a longer prefix names no allocation. */
const ID_HEX_DIGITS = 32;
/** Rows read from SQLite at a time while rows are being filtered. */
const SCAN_BATCH = 256;

type Row = {
  id: string;
  namespace: string;
  body: string;
  alloc: string | null;
};

function withoutTaskStates(body: string): string {
  const stub = parseJson(body, { maxDepth: 256 });
  if (isJsonObject(stub)) (stub as JsonObject).TaskStates = null;
  return encodeJson(stub);
}

export function listPage(sql: SqlStorage, selection: ListSelection): Page {
  // Answered without SQLite: a LIKE pattern has a length limit (50 bytes on Cloudflare), and a
  // prefix longer than an ID matches nothing anyway.
  if (selection.prefix.length > ID_HEX_DIGITS) return { stubs: [], ids: [], nextToken: null };
  const limit = selection.perPage === 0 ? Number.MAX_SAFE_INTEGER : Math.max(selection.perPage, 0);
  const everyNamespace = selection.namespace === ALL_NAMESPACES;
  const byAcl = everyNamespace && !selection.acl.management;
  const order = selection.reverse ? "DESC" : "ASC";
  const from = selection.reverse ? "<=" : ">=";
  const beyond = selection.reverse ? "<" : ">";
  const where = `body IS NOT NULL AND hex LIKE ?${everyNamespace ? "" : " AND namespace = ?"}`;
  const bind = [`${selection.prefix}%`, ...(everyNamespace ? [] : [selection.namespace])];
  // Without per-row decisions SQLite's LIMIT is the page; with them, rows are read in batches.
  const batch = byAcl || selection.matches ? SCAN_BATCH : Math.min(limit + 1, Number.MAX_SAFE_INTEGER);

  const kept: Row[] = [];
  let cursor: string | null = selection.nextToken === "" ? null : selection.nextToken;
  let first = true;
  for (;;) {
    const bound = cursor === null ? "" : ` AND id ${first ? from : beyond} ?`;
    const rows = sql
      .exec<Row>(
        `SELECT id, namespace, body, alloc FROM alloc_stub WHERE ${where}${bound} ORDER BY id ${order} LIMIT ?`,
        ...bind,
        ...(cursor === null ? [] : [cursor]),
        batch,
      )
      .toArray();
    first = false;
    for (const row of rows) {
      if (byAcl && !allowsNamespace(selection.acl, row.namespace, READ_JOB)) continue;
      if (selection.matches && !selection.matches(row.alloc ?? row.body)) continue;
      kept.push(row);
      if (kept.length > limit) break;
    }
    if (kept.length > limit || rows.length < batch) break;
    cursor = rows.at(-1)?.id ?? null;
  }
  const next = kept.length > limit ? (kept.splice(limit).at(0)?.id ?? null) : null;
  const stubs = kept.map((row) => (selection.taskStates ? row.body : withoutTaskStates(row.body)));
  return { stubs, ids: kept.map((row) => row.id), nextToken: next };
}
