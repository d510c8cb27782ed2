/**
 * The generated, committed artefacts of the OpenAPI document, computed from the code:
 * - `openapi/openapi.json`: exactly what the Worker serves at /openapi.json;
 * - `openapi/openapi.d.ts`: its TypeScript types from openapi-typescript (for openapi-fetch clients).
 * `npm run openapi` writes them; test/blackbox/openapi-drift.test.ts fails when the committed files differ.
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import openapiTS, { astToString, COMMENT_HEADER } from "openapi-typescript";
import { apiDocument } from "../src/endpoints/index.ts";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

export const ARTIFACTS = {
  document: "openapi/openapi.json",
  types: "openapi/openapi.d.ts",
} as const;

export async function generateArtifacts(): Promise<Record<string, string>> {
  const json = apiDocument();
  const ast = await openapiTS(JSON.parse(json), { alphabetize: false });
  return {
    [ARTIFACTS.document]: json,
    [ARTIFACTS.types]: COMMENT_HEADER + astToString(ast),
  };
}
