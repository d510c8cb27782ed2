/**
 * Bundles the status pages' script and style (`src/ui/`) into the static assets the Worker serves
 * at `/ui/status.js` and `/ui/status.css` (`public/ui/`, gitignored). wrangler runs it before every
 * `wrangler dev` (so `npm start`, and again when `src/ui` changes) and `wrangler deploy` through
 * `[build]` in wrangler.toml; `npm run build:ui` runs it alone. Files are written only when they
 * change, to a temporary name and renamed, so dev servers starting side by side never serve a
 * half-written bundle and do not reload each other.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const UI_ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const UI_OUT_DIR = join(UI_ROOT, "public", "ui");

/** Builds the bundle in memory: `{ "status.js": …, "status.css": …, "status.js.map": … }`. */
async function bundleUi(): Promise<Map<string, Uint8Array>> {
  const result = await build({
    absWorkingDir: UI_ROOT,
    entryPoints: { status: "src/ui/main.ts" },
    bundle: true,
    minify: true,
    format: "esm",
    target: "es2022",
    platform: "browser",
    sourcemap: "linked",
    legalComments: "none",
    outdir: UI_OUT_DIR,
    write: false,
    logLevel: "warning",
  });
  return new Map(result.outputFiles.map((file) => [basename(file.path), file.contents]));
}

async function main(): Promise<void> {
  const files = await bundleUi();
  mkdirSync(UI_OUT_DIR, { recursive: true });
  let written = 0;
  for (const [name, contents] of files) {
    const target = join(UI_OUT_DIR, name);
    // An unchanged file is left alone: every running `wrangler dev` reloads when its assets change,
    // and each dev server that starts runs this build (the black-box tests start several at once).
    if (existsSync(target) && Buffer.from(contents).equals(readFileSync(target))) continue;
    const temporary = `${target}.${process.pid}.tmp`;
    writeFileSync(temporary, contents);
    renameSync(temporary, target);
    written++;
  }
  const sizes = [...files].map(([name, contents]) => `${name} ${contents.byteLength} B`).join(", ");
  console.log(`build-ui: ${UI_OUT_DIR}: ${sizes} (${written ? `${written} written` : "unchanged"})`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
