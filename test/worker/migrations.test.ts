/**
 * The allocation object's first write creates its schema at once (`ALLOCATION_SCHEMA_STEPS.fresh`)
 * instead of running migrations 1–6 one after another. Both must leave the same schema: the same
 * tables and indexes, the same columns in the same order with the same types, defaults,
 * constraints and keys, and every step recorded as applied.
 */
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { ALLOCATION_MIGRATIONS, ALLOCATION_SCHEMA_STEPS, hasSchema, migrate } from "../../src/durable/migrations.ts";
import { allocationJson, call, newAllocId, objectFor, TOKEN } from "../support/worker.ts";

type Row = Record<string, SqlStorageValue>;

/** Everything SQLite says about the schema, except the DDL text (ALTER TABLE rewrites it). */
function describeSchema(sql: SqlStorage): Row[] {
  const objects = sql
    .exec<{ type: string; name: string; tbl_name: string }>(
      "SELECT type, name, tbl_name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' ORDER BY type, name",
    )
    .toArray();
  const rows: Row[] = [];
  for (const object of objects) {
    rows.push({ ...object });
    if (object.type === "table") {
      for (const column of sql.exec("SELECT * FROM pragma_table_xinfo(?)", object.name)) rows.push({ table: object.name, ...column });
      for (const index of sql.exec("SELECT * FROM pragma_index_list(?)", object.name)) rows.push({ table: object.name, ...index });
    } else if (object.type === "index") {
      for (const column of sql.exec("SELECT * FROM pragma_index_xinfo(?)", object.name)) rows.push({ index: object.name, ...column });
    }
  }
  return rows;
}

describe("the allocation object's schema", () => {
  it("is the same whether created at once or migrated step by step", async () => {
    const [fresh, stepwise] = [newAllocId(), newAllocId()].map((id) => objectFor(id));
    const schemas = await Promise.all(
      [
        { stub: fresh, schema: ALLOCATION_SCHEMA_STEPS },
        { stub: stepwise, schema: ALLOCATION_MIGRATIONS },
      ].map(({ stub, schema }) =>
        runInDurableObject(stub as unknown as DurableObjectStub, (_, state) => {
          // Objects that were never written have no schema (reads leave nothing stored).
          expect(hasSchema(state.storage.sql)).toBe(false);
          if (Array.isArray(schema)) for (let n = 1; n <= schema.length; n++) migrate(state.storage.sql, schema.slice(0, n));
          else migrate(state.storage.sql, schema);
          const versions = state.storage.sql
            .exec<{ version: number }>("SELECT version FROM _sql_schema_migrations ORDER BY version")
            .toArray()
            .map((row) => row.version);
          return { versions, schema: describeSchema(state.storage.sql) };
        }),
      ),
    );
    const [atOnce, stepByStep] = schemas as [(typeof schemas)[number], (typeof schemas)[number]];
    expect(atOnce.versions).toEqual(ALLOCATION_MIGRATIONS.map((_, i) => i + 1));
    expect(stepByStep.versions).toEqual(atOnce.versions);
    expect(atOnce.schema.length).toBeGreaterThan(20);
    expect(atOnce.schema).toEqual(stepByStep.schema);
  });

  it("is the one a first write creates, and a later migration run changes nothing", async () => {
    const id = newAllocId();
    const put = await call(`/v1/allocation/${id}`, { method: "PUT", headers: { "X-Nomad-Token": TOKEN }, body: allocationJson(id) });
    expect(put.status).toBe(200);
    await runInDurableObject(objectFor(id) as unknown as DurableObjectStub, (_, state) => {
      const before = describeSchema(state.storage.sql);
      expect(before.some((row) => row.table === "index_clock" && row.name === "tombstone_since")).toBe(true);
      migrate(state.storage.sql, ALLOCATION_SCHEMA_STEPS);
      expect(describeSchema(state.storage.sql)).toEqual(before);
    });
  });
});
