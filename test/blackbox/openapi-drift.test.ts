/**
 * The committed OpenAPI artefacts are exactly what the code generates (`npm run openapi` rewrites them).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ARTIFACTS, generateArtifacts } from "../../scripts/openapi-artifacts.ts";
import { ROOT } from "../support/tools.ts";

describe("committed OpenAPI artefacts", () => {
  it.each(Object.values(ARTIFACTS))("%s matches what the code generates (run `npm run openapi` to update)", async (path) => {
    const generated = (await generateArtifacts())[path];
    const committed = readFileSync(join(ROOT, path), "utf8");
    expect(committed === generated, `${path} is stale: run \`npm run openapi\` and commit the result`).toBe(true);
  });
});
