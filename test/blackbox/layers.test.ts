/**
 * The layers of src/ point one way (docs/architecture.md, "Layers"): every import goes to the same
 * layer or one below it, and no module imports itself back through others. Read with TypeScript's
 * own import scanner, type imports included.
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { ROOT } from "../support/tools.ts";

const SRC = join(ROOT, "src");

/** Bottom to top, as docs/architecture.md states them; a module may import its own rank or lower. */
const RANKS: [string, number][] = [
  ["errors.ts", 0],
  ["json/", 0],
  ["domain/", 1],
  ["acl/", 2],
  ["config.ts", 2],
  ["demo/", 2],
  ["http/", 3],
  ["durable/", 4],
  ["pipeline/", 5],
  ["openapi/", 6],
  ["endpoints/", 7],
  ["router.ts", 8],
  ["index.ts", 9],
];

function layer(file: string): [string, number] {
  const path = relative(SRC, file);
  const found = RANKS.find(([prefix]) => path === prefix || path.startsWith(prefix));
  if (!found) throw new Error(`${path} is in no layer: add it to docs/architecture.md and RANKS`);
  return found;
}

/** Whether `file` may import `target`: from its own part, or from a lower rank (parts of one rank do not import each other). */
function allowed(file: string, target: string): boolean {
  const [from, fromRank] = layer(file);
  const [to, toRank] = layer(target);
  return from === to || toRank < fromRank;
}

/** The Worker's modules (not the browser code in src/ui, nor the generated Env declarations). */
function modules(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return path === join(SRC, "ui") ? [] : modules(path);
    return entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts") ? [path] : [];
  });
}

const graph = new Map(
  modules(SRC).map((file) => {
    const { importedFiles } = ts.preProcessFile(readFileSync(file, "utf8"), true, true);
    const local = importedFiles.map((f) => f.fileName).filter((name) => name.startsWith("."));
    return [file, local.map((name) => join(dirname(file), name))];
  }),
);

describe("the layers of src/", () => {
  it("reads every module's imports", () => {
    expect(graph.size).toBeGreaterThan(50);
    expect([...graph.values()].flat().length).toBeGreaterThan(200);
  });

  it("imports only from its own part or a layer below", () => {
    const upward = [...graph].flatMap(([file, imports]) =>
      imports.filter((target) => !allowed(file, target)).map((target) => `${relative(SRC, file)} → ${relative(SRC, target)}`),
    );
    expect(upward).toEqual([]);
  });

  it("the browser code (src/ui) imports only itself, src/errors.ts, src/json and the document's generated types", () => {
    const ui = join(SRC, "ui");
    const outside = modules(ui).flatMap((file) => {
      const { importedFiles } = ts.preProcessFile(readFileSync(file, "utf8"), true, true);
      return importedFiles
        .map((f) => f.fileName)
        .filter((name) => name.startsWith("."))
        .map((name) => relative(ROOT, join(dirname(file), name)))
        .filter(
          (path) =>
            !path.startsWith("src/ui/") && !path.startsWith("src/json/") && path !== "src/errors.ts" && path !== "openapi/openapi.d.ts",
        );
    });
    expect(modules(ui).length).toBeGreaterThan(5);
    expect(outside).toEqual([]);
  });

  it("has no import cycles", () => {
    const cycles: string[] = [];
    const state = new Map<string, "open" | "done">();
    const path: string[] = [];
    const visit = (file: string) => {
      state.set(file, "open");
      path.push(file);
      for (const target of graph.get(file) ?? []) {
        if (state.get(target) === "open")
          cycles.push([...path.slice(path.indexOf(target)), target].map((f) => relative(SRC, f)).join(" → "));
        else if (!state.has(target)) visit(target);
      }
      path.pop();
      state.set(file, "done");
    };
    for (const file of graph.keys()) if (!state.has(file)) visit(file);
    expect(cycles).toEqual([]);
  });
});
