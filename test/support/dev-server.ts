/**
 * Starts the real server the way a user does (`npm start`, i.e. scripts/start.ts → wrangler dev)
 * on a free loopback port with its own state directory, and stops the whole process group after.
 * It is ready when the demo allocation reads back without a token, found by polling.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../../scripts/free-port.ts";
import { DEMO_ALLOC_ID } from "../../src/demo/allocation.ts";
import { collectOutput, stopGroup } from "./process.ts";

export { freePort };

export interface DevServer {
  url: string;
  /** The process group of `npm start` and everything it runs (wrangler, its two workerd processes). */
  pgid: number;
  token: string;
  persistTo: string;
  output: () => string;
  stop: (signal?: NodeJS.Signals) => Promise<void>;
}

interface StartOptions {
  persistTo?: string;
  token?: string;
  vars?: Record<string, string>;
  /** A fixed port (e.g. to restart a killed server where its clients expect it); default a free one. */
  port?: number;
}

export async function startDevServer(options: StartOptions = {}): Promise<DevServer> {
  const port = options.port ?? (await freePort());
  const persistTo = options.persistTo ?? mkdtempSync(join(tmpdir(), "nomad-alloc-state-"));
  const token = options.token ?? `blackbox-${port}`;
  const vars = Object.entries({ MANAGEMENT_TOKEN: token, ...options.vars }).flatMap(([k, v]) => ["--var", `${k}:${v}`]);
  const child: ChildProcess = spawn(process.execPath, ["scripts/start.ts", "--port", String(port), "--persist-to", persistTo, ...vars], {
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, NO_COLOR: "1" },
  });
  const output = collectOutput(child);
  const stop = (signal: NodeJS.Signals = "SIGTERM") => stopGroup(child, signal);
  // Ready when the demo reads back without a token with its task started: `npm start` loads the
  // allocation and then its task events, so a 200 alone can come between the two.
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitForDemo(url, () => child.exitCode !== null, 50_000);
  } catch (error) {
    await stop("SIGKILL");
    throw new Error(`dev server did not start: ${(error as Error).message}\n${output()}`);
  }
  return { url, pgid: child.pid as number, token, persistTo, output, stop };
}

/**
 * Polls `url` until the demo allocation answers 200 without a token (the `anonymous` read policy is
 * in place) with task states (its task events are loaded too), at most `timeoutMs`; throws early
 * when `gone()` says the server process has exited.
 */
async function waitForDemo(url: string, gone: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "no answer yet";
  while (Date.now() < deadline) {
    if (gone()) throw new Error(`the server exited (${last})`);
    try {
      const response = await fetch(`${url}/v1/allocation/${DEMO_ALLOC_ID}`, { signal: AbortSignal.timeout(5000) });
      const body = await response.text();
      if (response.status === 200 && !body.includes('"TaskStates":null')) return;
      last = `last answer ${response.status}${response.status === 200 ? " (no task events yet)" : ""}`;
    } catch (error) {
      last = `last attempt: ${(error as Error).message}`;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`the demo allocation did not answer 200 within ${timeoutMs / 1000} s (${last})`);
}
