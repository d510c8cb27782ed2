/**
 * `npm run build:sync`: the bridge as one ES module (`dist/sync/nomad-alloc-edge.mjs`) that runs with
 * plain Node 22 and nothing else installed: `node nomad-alloc-edge.mjs sync …`.
 */
import { build } from "esbuild";

const outfile = "dist/sync/nomad-alloc-edge.mjs";
await build({
  entryPoints: ["sync/cli.ts"],
  outfile,
  bundle: true,
  platform: "node",
  target: "node22",
  format: "esm",
  banner: { js: "#!/usr/bin/env node" },
  legalComments: "none",
  logLevel: "warning",
});
console.log(`wrote ${outfile}`);
