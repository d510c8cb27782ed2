/**
 * The allocation document one object holds: stored as compact JSON in its one-row `allocation`
 * table, and kept in memory with what readers derive from it (the pretty encoding, the decoded
 * view, the namespace). Each is made at most once per index and shared by every reader, so a
 * write wakes any number of waiters for one encoding.
 */
import { namespaceOf } from "../domain/namespace.ts";
import { isJsonObject, type JsonObject, type JsonValue, parseJson } from "../json/codec.ts";
import type { AllocationRead } from "./contract.ts";

/** Encodes a document (compact, or pretty): the object's one encoder, for every state and reader. */
type EncodeDocument = (document: JsonValue, pretty: boolean) => string;

interface Held {
  index: number;
  compact: string;
  pretty?: string;
  /** The decoded document, for read-only use (log appends and follows): decoded once per index. */
  view?: JsonObject;
  namespace?: string;
}

export class AllocationDocument {
  readonly #sql: SqlStorage;
  readonly #encode: EncodeDocument;
  #held: Held | null = null;

  constructor(sql: SqlStorage, encode: EncodeDocument) {
    this.#sql = sql;
    this.#encode = encode;
  }

  /** Reads the stored document (the table must exist). */
  load(): void {
    const row = this.#sql.exec<{ body: string; modify_index: number }>("SELECT body, modify_index FROM allocation").toArray()[0];
    this.#held = row ? { index: row.modify_index, compact: row.body } : null;
  }

  /** The current document's compact JSON, null when there is none. */
  get compact(): string | null {
    return this.#held?.compact ?? null;
  }

  /** A fresh decoded copy of the document, for a write to change. */
  current(): JsonObject | null {
    if (!this.#held) return null;
    const parsed = parseJson(this.#held.compact, { maxDepth: 256 });
    return isJsonObject(parsed) ? parsed : null;
  }

  /** The decoded document shared by readers; never to be changed. */
  view(): JsonObject | null {
    const held = this.#held;
    if (!held) return null;
    held.view ??= this.current() ?? undefined;
    return held.view ?? null;
  }

  /** The compact encoding of a new state. */
  encode(document: JsonObject): string {
    return this.#encode(document, false);
  }

  /** What a read answers now; `absentIndex` is the index reported while there is no document. */
  snapshot(pretty: boolean, absentIndex: number): AllocationRead {
    const held = this.#held;
    if (!held) return { ok: true, index: absentIndex, body: null };
    held.namespace ??= namespaceOf(this.view());
    if (!pretty) return { ok: true, index: held.index, body: held.compact, namespace: held.namespace };
    held.pretty ??= this.#encode(parseJson(held.compact, { maxDepth: 256 }), true);
    return { ok: true, index: held.index, body: held.pretty, namespace: held.namespace };
  }

  /** Stores a new state (`compact` null: the document is deleted); call inside the write's transaction. */
  store(id: string, region: string, index: number, compact: string | null): void {
    if (compact === null) {
      this.#sql.exec("DELETE FROM allocation");
      return;
    }
    this.#sql.exec(
      `INSERT INTO allocation (singleton, id, region, body, modify_index) VALUES (1, ?, ?, ?, ?)
       ON CONFLICT (singleton) DO UPDATE SET id = excluded.id, region = excluded.region, body = excluded.body, modify_index = excluded.modify_index`,
      id,
      region,
      compact,
      index,
    );
  }

  /** After the write committed: holds its state (`view`: the document `compact` encodes, never changed afterwards). */
  hold(index: number, compact: string | null, view: JsonObject | null): void {
    this.#held = compact === null || view === null ? null : { index, compact, view };
  }
}
