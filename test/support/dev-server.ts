/**
 * Starts the real server the way a user does (`npm start`, i.e. src/tools/start.ts → wrangler dev)
 * on a free loopback port with its own state directory, and stops the whole process group after.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface DevServer {
  url: string;
  token: string;
  persistTo: string;
  output: () => string;
  stop: (signal?: NodeJS.Signals) => Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface StartOptions {
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
  const child: ChildProcess = spawn(process.execPath, ["src/tools/start.ts", "--port", String(port), "--persist-to", persistTo, ...vars], {
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, NO_COLOR: "1" },
  });
  let output = "";
  child.stdout?.on("data", (d: Buffer) => {
    output += d.toString();
  });
  child.stderr?.on("data", (d: Buffer) => {
    output += d.toString();
  });
  const stop = async (signal: NodeJS.Signals = "SIGTERM") => {
    if (child.exitCode !== null || child.pid === undefined) return;
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    try {
      process.kill(-child.pid, signal);
    } catch {
      return;
    }
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    try {
      process.kill(-child.pid, "SIGKILL");
    } catch {
      // already gone
    }
  };
  const deadline = Date.now() + 45_000;
  while (!output.includes("DEMO_READY")) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop("SIGKILL");
      throw new Error(`dev server did not start:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url: `http://127.0.0.1:${port}`, token, persistTo, output: () => output, stop };
}
