/**
 * `Idempotency-Key` for writes: the first request with a key is applied and its answer kept (in
 * the same transaction as the write); a retry with the same key and the same request gets that
 * answer again and applies nothing; the same key with a different request is refused (422).
 * Keys are kept for 25 hours (promised: at least 24).
 */
import type { Refusal } from "./contract.ts";

export interface IdempotencyKey {
  key: string;
  /** SHA-256 (hex) of the request: method, path and query, and body. */
  requestHash: string;
}

export const IDEMPOTENCY_DDL = `CREATE TABLE idempotency (
     key TEXT PRIMARY KEY,
     request_hash TEXT NOT NULL,
     response TEXT NOT NULL,
     created_at INTEGER NOT NULL
   );
   CREATE INDEX idempotency_created_at ON idempotency (created_at);`;

const KEEP_MS = 25 * 60 * 60 * 1000;

export const KEY_REUSED = "Idempotency-Key was already used for a different request";

export class IdempotencyLog {
  readonly #sql: SqlStorage;

  constructor(sql: SqlStorage) {
    this.#sql = sql;
  }

  /** The kept answer of an earlier identical request (JSON text), a refusal, or undefined to proceed. */
  check(idem: IdempotencyKey | undefined): { replay: string } | Refusal | undefined {
    if (!idem) return undefined;
    const row = this.#sql
      .exec<{ request_hash: string; response: string; created_at: number }>(
        "SELECT request_hash, response, created_at FROM idempotency WHERE key = ?",
        idem.key,
      )
      .toArray()[0];
    if (!row || row.created_at < Date.now() - KEEP_MS) return undefined;
    if (row.request_hash !== idem.requestHash) return { ok: false, status: 422, message: KEY_REUSED };
    return { replay: row.response };
  }

  /** The kept answer of an earlier identical request (decoded), a refusal of a reused key, or undefined to proceed. */
  replay<Answer>(idem: IdempotencyKey | undefined): Answer | Refusal | undefined {
    const seen = this.check(idem);
    if (!seen) return undefined;
    return "replay" in seen ? (JSON.parse(seen.replay) as Answer) : seen;
  }

  /** Keeps the answer; call inside the write's own transaction. */
  remember(idem: IdempotencyKey | undefined, response: string): void {
    if (!idem) return;
    const now = Date.now();
    this.#sql.exec("DELETE FROM idempotency WHERE created_at < ?", now - KEEP_MS);
    this.#sql.exec(
      "INSERT OR REPLACE INTO idempotency (key, request_hash, response, created_at) VALUES (?, ?, ?, ?)",
      idem.key,
      idem.requestHash,
      response,
      now,
    );
  }
}
