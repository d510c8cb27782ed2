/**
 * `postinstall`: copies Scalar's self-contained browser bundle into the static assets, so /docs is
 * served entirely from this Worker (no CDN). `public/vendor/` is gitignored and rebuilt on install.
 */
import { copyFileSync, mkdirSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const target = join(root, "public", "vendor", "scalar-standalone.js");

let source: string;
try {
  // The package's `exports` hide dist/browser: resolve the main entry (dist/index.js) and walk over.
  source = join(dirname(createRequire(import.meta.url).resolve("@scalar/api-reference")), "browser", "standalone.js");
  statSync(source);
} catch (error) {
  // An install without devDependencies has no Scalar: the API works, /docs will not render.
  console.warn(`copy-scalar: @scalar/api-reference is not installed; /docs will not render (${String(error)})`);
  process.exit(0);
}
mkdirSync(dirname(target), { recursive: true });
copyFileSync(source, target);
console.log(`copy-scalar: ${source} -> ${target} (${statSync(target).size} bytes)`);
