/**
 * `npm run openapi`: writes the OpenAPI document the Worker serves at /openapi.json to
 * `openapi/openapi.json` (committed; a test fails when it differs from what the code builds).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { openApiJson } from "../spec/document.ts";

const OPENAPI_FILE = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "openapi", "openapi.json");

mkdirSync(dirname(OPENAPI_FILE), { recursive: true });
writeFileSync(OPENAPI_FILE, openApiJson());
console.log(`wrote ${OPENAPI_FILE}`);
