#!/usr/bin/env node
// `nomad-alloc-edge sync …`: the single-file bundle when it was built (`npm run build:sync`, and
// always in a packed package), else the TypeScript source (Node 22.18+ strips the types itself).
import { existsSync } from "node:fs";

const bundle = new URL("../dist/sync/nomad-alloc-edge.mjs", import.meta.url);
await import(existsSync(bundle) ? bundle.href : new URL("../sync/cli.ts", import.meta.url).href);
