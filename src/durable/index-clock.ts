/**
 * The index clock every object keeps: a hybrid logical clock in milliseconds, stored in the
 * object's one-row `index_clock` table. A change made here takes max(last + 1, now in ms); a change
 * that arrives with an index of its own (the catalog recording an allocation's change) takes
 * max(last + 1, that index). So indexes strictly increase across writes, deletes and restarts
 * (the last one is stored), are never 0, and stay on one millisecond scale across objects, well
 * inside 2^53 (exact as JS numbers).
 *
 * The same row holds each object's own clock-like columns (the allocation's source index, the
 * catalog's history floor): they are written with the index, in the change's transaction.
 */

/** Other columns of the clock's row, by column name (names are the code's own, never input). */
type ClockColumns = Readonly<Record<string, SqlStorageValue>>;

/**
 * An index an object handed out, read back from the decimal digits it was written as (an event
 * line's `"Index"` in the Worker's merge of catalog shards). Throws on digits that are not a safe
 * integer: no clock writes one, and rounding would reorder or repeat events.
 */
export function issuedIndex(digits: string): number {
  const index = Number(digits);
  if (!/^\d+$/.test(digits) || !Number.isSafeInteger(index)) throw new Error(`not an index an object issued: ${digits}`);
  return index;
}

/** The clock's rule: the index of a change after `last`, made at (or arriving with) `at`. */
export function indexAfter(last: number, at: number): number {
  return Math.max(last + 1, at);
}

export class IndexClock {
  readonly #sql: SqlStorage;
  #last = 0;

  constructor(sql: SqlStorage) {
    this.#sql = sql;
  }

  /** Reads the stored clock (the table must exist); answers its row, undefined while never written. */
  load(): Record<string, SqlStorageValue> | undefined {
    const row = this.#sql.exec("SELECT * FROM index_clock").toArray()[0];
    this.#last = typeof row?.last_index === "number" ? row.last_index : 0;
    return row;
  }

  /** The last index handed out; 0 while none was. */
  get last(): number {
    return this.#last;
  }

  /**
   * The receive rule for an index learnt elsewhere (the catalog's, when an allocation is created):
   * the next change is above it. Held in memory; stored with the next change.
   */
  seed(index: number): void {
    if (index > this.#last) this.#last = index;
  }

  /** After the object's storage was deleted: as if no index was ever handed out here. */
  reset(): void {
    this.#last = 0;
  }

  /** The index of a change made now. */
  next(): number {
    return indexAfter(this.#last, Date.now());
  }

  /**
   * Stores `index` as the last handed out, with the row's other columns. Call inside the change's
   * transaction, as its last statement: the clock in memory moves with the stored one.
   */
  store(index: number, columns: ClockColumns = {}): void {
    const names = Object.keys(columns);
    const list = names.map((name) => `, ${name}`).join("");
    const marks = names.map(() => ", ?").join("");
    const updates = names.map((name) => `, ${name} = excluded.${name}`).join("");
    this.#sql.exec(
      `INSERT INTO index_clock (singleton, last_index${list}) VALUES (1, ?${marks})
       ON CONFLICT (singleton) DO UPDATE SET last_index = excluded.last_index${updates}`,
      index,
      ...Object.values(columns),
    );
    this.#last = index;
  }
}
