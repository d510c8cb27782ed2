/**
 * The allocation object's SQLite schema, as numbered migrations applied in order inside
 * `blockConcurrencyWhile` and recorded in `_sql_schema_migrations`. Never edit a shipped step;
 * append a new one. Documented in docs/storage-schema.md.
 */
const MIGRATIONS: readonly string[] = [
  // 1: the allocation document and the index clock.
  `CREATE TABLE allocation (
     singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
     id TEXT NOT NULL,
     region TEXT NOT NULL,
     body TEXT NOT NULL,
     modify_index INTEGER NOT NULL
   );
   CREATE TABLE index_clock (
     singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
     last_index INTEGER NOT NULL
   );`,
  // 2: task logs, in chunks of at most 64 KiB keyed by their absolute start offset.
  `CREATE TABLE log_stream (
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
   );`,
];

export function migrate(sql: SqlStorage): void {
  sql.exec(`CREATE TABLE IF NOT EXISTS _sql_schema_migrations (
    version INTEGER PRIMARY KEY,
    applied_at TEXT NOT NULL
  )`);
  const row = sql.exec<{ v: number | null }>("SELECT MAX(version) AS v FROM _sql_schema_migrations").one();
  const applied = row.v ?? 0;
  MIGRATIONS.forEach((ddl, i) => {
    const version = i + 1;
    if (version <= applied) return;
    sql.exec(ddl);
    sql.exec("INSERT INTO _sql_schema_migrations (version, applied_at) VALUES (?, ?)", version, new Date().toISOString());
  });
}
