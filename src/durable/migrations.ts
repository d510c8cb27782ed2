/**
 * The allocation object's SQLite schema, as numbered migrations applied in order inside
 * `blockConcurrencyWhile` and recorded in `_sql_schema_migrations`. Never edit a shipped step;
 * append a new one. Documented in docs/storage-schema.md.
 */
import { IDEMPOTENCY_DDL } from "./idempotency.ts";

/** Tables whose definition no later step changes: written once, used by their step and by the schema created at once. */
const ALLOCATION_TABLE = `CREATE TABLE allocation (
     singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
     id TEXT NOT NULL,
     region TEXT NOT NULL,
     body TEXT NOT NULL,
     modify_index INTEGER NOT NULL
   );`;
const LOG_TABLES = `CREATE TABLE log_stream (
     task TEXT NOT NULL,
     type TEXT NOT NULL,
     floor_offset INTEGER NOT NULL,
     end_offset INTEGER NOT NULL,
     PRIMARY KEY (task, type)
   );
   CREATE TABLE log_chunk (
     task TEXT NOT NULL,
     type TEXT NOT NULL,
     start_offset INTEGER NOT NULL,
     data BLOB NOT NULL,
     PRIMARY KEY (task, type, start_offset)
   );`;
const OUTBOX_TABLE = `CREATE TABLE catalog_outbox (
     alloc_index INTEGER PRIMARY KEY,
     region TEXT NOT NULL,
     change TEXT NOT NULL
   );`;

export const ALLOCATION_MIGRATIONS: readonly string[] = [
  // 1: the allocation document and the index clock.
  `${ALLOCATION_TABLE}
   CREATE TABLE index_clock (
     singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
     last_index INTEGER NOT NULL
   );`,
  // 2: task logs, in chunks of at most 64 KiB keyed by their absolute start offset.
  LOG_TABLES,
  // 3: changes committed here but not yet recorded by the region catalog (the outbox).
  OUTBOX_TABLE,
  // 4: answers of writes sent with an Idempotency-Key.
  IDEMPOTENCY_DDL,
  // 5: the highest source (Nomad) index applied, a decimal uint64 (TEXT: SQLite integers are
  // signed 64-bit); NULL until a write carries one. Kept across DELETE like the clock itself.
  "ALTER TABLE index_clock ADD COLUMN source_index TEXT;",
  // 6: the allocation's id and region beside its clock, so a tombstone (no allocation row) can be
  // reported to its catalog when its retention ends, and when it became one (wall-clock ms; NULL
  // while the allocation exists) (tombstone-retention.ts).
  `ALTER TABLE index_clock ADD COLUMN alloc_id TEXT;
   ALTER TABLE index_clock ADD COLUMN region TEXT;
   ALTER TABLE index_clock ADD COLUMN tombstone_since INTEGER;`,
];

/**
 * The schema ALLOCATION_MIGRATIONS 1–6 leave behind, created at once by an object's first write:
 * the same tables, columns (in the same order), types, constraints and indexes, without the
 * ALTER TABLE steps, each of which makes SQLite rewrite and re-parse the whole schema (most of
 * the SQLite time of creating an allocation). A test compares the two column by column; a new
 * migration step must be added here too.
 */
const ALLOCATION_SCHEMA = `${ALLOCATION_TABLE}
   CREATE TABLE index_clock (
     singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
     last_index INTEGER NOT NULL,
     source_index TEXT,
     alloc_id TEXT,
     region TEXT,
     tombstone_since INTEGER
   );
   ${LOG_TABLES}
   ${OUTBOX_TABLE}
   ${IDEMPOTENCY_DDL}`;

/** A schema's numbered steps, and optionally the DDL of all of them at once for a database that has none. */
export interface Schema {
  steps: readonly string[];
  fresh?: string;
}

export const ALLOCATION_SCHEMA_STEPS: Schema = { steps: ALLOCATION_MIGRATIONS, fresh: ALLOCATION_SCHEMA };

/** The ACL store's schema (one object for the whole deployment, as Nomad's ACLs are global). */
export const ACL_MIGRATIONS: readonly string[] = [
  `CREATE TABLE acl_policy (
     name TEXT PRIMARY KEY,
     description TEXT NOT NULL,
     rules TEXT NOT NULL,
     create_index INTEGER NOT NULL,
     modify_index INTEGER NOT NULL
   );
   CREATE TABLE acl_token (
     accessor_id TEXT PRIMARY KEY,
     secret_hash TEXT NOT NULL UNIQUE,
     name TEXT NOT NULL,
     type TEXT NOT NULL,
     policies TEXT NOT NULL,
     create_time TEXT NOT NULL,
     create_index INTEGER NOT NULL,
     modify_index INTEGER NOT NULL
   );
   CREATE TABLE index_clock (
     singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
     last_index INTEGER NOT NULL
   );`,
  IDEMPOTENCY_DDL,
];

/** The region catalog's schema (one object per region). */
export const CATALOG_MIGRATIONS: readonly string[] = [
  // 1: list stubs (body NULL once deleted, kept for idempotent delivery), the event history, the clock.
  `CREATE TABLE alloc_stub (
     id TEXT PRIMARY KEY,
     hex TEXT NOT NULL,
     alloc_index INTEGER NOT NULL,
     body TEXT
   );
   CREATE INDEX alloc_stub_hex ON alloc_stub (hex);
   CREATE TABLE event (
     region_index INTEGER PRIMARY KEY,
     alloc_id TEXT NOT NULL,
     body TEXT NOT NULL
   );
   CREATE TABLE index_clock (
     singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
     last_index INTEGER NOT NULL,
     history_floor INTEGER NOT NULL
   );`,
  // 2: each allocation's namespace (listed by namespace) and its full document (what list filters
  // are evaluated against, as Nomad evaluates them on the allocation, not its stub).
  `ALTER TABLE alloc_stub ADD COLUMN namespace TEXT NOT NULL DEFAULT 'default';
   ALTER TABLE alloc_stub ADD COLUMN alloc TEXT;
   CREATE INDEX alloc_stub_namespace ON alloc_stub (namespace, id);`,
  // 3: what an event stream matches on without decoding the event: its namespace and its
  // FilterKeys (the allocation's JobID and DeploymentID).
  `ALTER TABLE event ADD COLUMN namespace TEXT NOT NULL DEFAULT 'default';
   ALTER TABLE event ADD COLUMN job_id TEXT NOT NULL DEFAULT '';
   ALTER TABLE event ADD COLUMN deployment_id TEXT NOT NULL DEFAULT '';`,
  // 4: the collected watermark: the highest source index of the tombstones collected here, decimal
  // text; NULL while none with a source index was (tombstone-retention.ts).
  "ALTER TABLE index_clock ADD COLUMN collected_source TEXT;",
  // 5: until when (wall-clock ms) the shard collects no tombstone, for the admission leases it
  // granted to batches' creates; NULL while it granted none (tombstone-retention.ts).
  "ALTER TABLE index_clock ADD COLUMN collect_held_until INTEGER;",
];

/**
 * Brings the schema up to date: the pending steps and their records, in one call into SQLite.
 * A database with none applied gets `fresh` (when given) in place of the steps, recorded as
 * every step applied.
 */
export function migrate(sql: SqlStorage, schema: Schema | readonly string[]): void {
  const { steps, fresh } = "steps" in schema ? schema : { steps: schema, fresh: undefined };
  sql.exec(`CREATE TABLE IF NOT EXISTS _sql_schema_migrations (
    version INTEGER PRIMARY KEY,
    applied_at TEXT NOT NULL
  )`);
  const row = sql.exec<{ v: number | null }>("SELECT MAX(version) AS v FROM _sql_schema_migrations").one();
  const applied = row.v ?? 0;
  const pending = steps.slice(applied);
  if (pending.length === 0) return;
  const at = new Date().toISOString();
  const versions = pending.map((_, i) => `(${applied + i + 1}, '${at}')`).join(", ");
  const ddl = applied === 0 && fresh !== undefined ? [fresh] : pending;
  const statements = ddl.map((text) => text.trim().replace(/;$/, ""));
  sql.exec(`${statements.join(";\n")};\nINSERT INTO _sql_schema_migrations (version, applied_at) VALUES ${versions}`);
}

/** Whether this object's storage was ever initialised (a read-only check: it writes nothing). */
export function hasSchema(sql: SqlStorage): boolean {
  return sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_sql_schema_migrations'").toArray().length > 0;
}
