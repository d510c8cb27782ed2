/**
 * `npm run openapi`: writes the OpenAPI document the Worker serves at /openapi.json to
 * `openapi/openapi.json`, and its openapi-typescript types to `openapi/openapi.d.ts` (both
 * committed; test/blackbox/openapi-drift.test.ts fails when they differ from what the code builds).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { generateArtifacts, ROOT } from "./openapi-artifacts.ts";

for (const [path, text] of Object.entries(await generateArtifacts())) {
  const file = join(ROOT, path);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, text);
  console.log(`wrote ${path} (${text.length} bytes)`);
}
