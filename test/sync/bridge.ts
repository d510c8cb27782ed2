/**
 * Runs the real bridge (`node sync/cli.ts sync …`, what `npm run sync --` runs) as a child process
 * in its own process group, so tests can stop it with SIGTERM or kill it with SIGKILL.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { collectOutput } from "../support/process.ts";
import { ROOT } from "../support/tools.ts";

/** A fresh, empty state directory for one bridge. */
export const newStateDir = (): string => mkdtempSync(join(tmpdir(), "nomad-sync-state-"));

/** The bridge's arguments between a Nomad (the stand-in) and an edge, for one edge region and state directory. */
export function bridgeArgs(
  nomad: { url: string },
  edge: { url: string; token: string },
  region: string,
  stateDir: string,
  extra: string[] = [],
): string[] {
  return [
    "--nomad-addr",
    nomad.url,
    "--edge-addr",
    edge.url,
    "--edge-token",
    edge.token,
    "--edge-region",
    region,
    "--state-dir",
    stateDir,
    ...extra,
  ];
}

export interface Bridge {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
  kill: (signal: NodeJS.Signals) => Promise<number | null>;
  waitFor: (text: string | RegExp, timeoutMs?: number) => Promise<void>;
}

/** The entry to run: the TypeScript source (default), the package's bin, or the built single-file bundle. */
export type Entry = "sync/cli.ts" | "bin/nomad-alloc-edge.mjs" | "dist/sync/nomad-alloc-edge.mjs";

export function startBridge(args: string[], env: Record<string, string> = {}, entry: Entry = "sync/cli.ts"): Bridge {
  const child = spawn(process.execPath, [entry, "sync", ...args], {
    cwd: ROOT,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...env, NO_COLOR: "1" },
  });
  const output = collectOutput(child);
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return {
    child,
    output,
    exited,
    kill: async (signal) => {
      if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
        try {
          process.kill(-child.pid, signal);
        } catch {
          // already gone
        }
      }
      return exited;
    },
    waitFor: async (text, timeoutMs = 30_000) => {
      const deadline = Date.now() + timeoutMs;
      while (!(typeof text === "string" ? output().includes(text) : text.test(output()))) {
        if (Date.now() > deadline) throw new Error(`bridge never printed ${String(text)}:\n${output()}`);
        if (child.exitCode !== null) throw new Error(`bridge exited (${child.exitCode}) before printing ${String(text)}:\n${output()}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
  };
}

/** Runs `--once` to the end; its exit code and output. */
export async function runOnce(
  args: string[],
  env: Record<string, string> = {},
  entry?: Entry,
): Promise<{ code: number | null; output: string }> {
  const bridge = startBridge([...args, "--once"], env, entry);
  const timer = setTimeout(() => void bridge.kill("SIGKILL"), 60_000);
  const code = await bridge.exited;
  clearTimeout(timer);
  return { code, output: bridge.output() };
}

export async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
