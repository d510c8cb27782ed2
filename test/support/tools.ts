/**
 * Runs the project's npm-installed CLI tools (Redocly, Spectral, Prism, tsc, openapi-typescript)
 * from black-box tests, always on the Node that runs the tests (Node 22 from the `node`
 * devDependency), never on whatever `node` is first on PATH.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { collectOutput, stopGroup } from "./process.ts";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** Environment for tools: no telemetry, no update checks, no colours. */
const TOOL_ENV: NodeJS.ProcessEnv = {
  ...process.env,
  NO_COLOR: "1",
  FORCE_COLOR: "0",
  REDOCLY_TELEMETRY: "off",
  REDOCLY_SUPPRESS_UPDATE_NOTICE: "true",
  SCARF_ANALYTICS: "false",
  DO_NOT_TRACK: "1",
};

/** The JavaScript file behind `bin` of an installed package. */
function binScript(pkg: string, bin: string): string {
  const dir = join(ROOT, "node_modules", pkg);
  const manifest = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { bin: string | Record<string, string> };
  const rel = typeof manifest.bin === "string" ? manifest.bin : manifest.bin[bin];
  if (!rel) throw new Error(`${pkg} has no bin ${bin}`);
  return join(dir, rel);
}

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a tool to completion (killed after `timeoutMs`). */
export function runTool(pkg: string, bin: string, args: string[], timeoutMs = 60_000): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [binScript(pkg, bin), ...args], { cwd: ROOT, env: TOOL_ENV, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

export interface Background {
  output: () => string;
  stop: () => Promise<void>;
}

/** Starts a long-running tool in its own process group; resolves once `ready` appears in its output. */
export async function startTool(pkg: string, bin: string, args: string[], ready: RegExp, timeoutMs = 45_000): Promise<Background> {
  const child: ChildProcess = spawn(process.execPath, [binScript(pkg, bin), ...args], {
    cwd: ROOT,
    env: TOOL_ENV,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const output = collectOutput(child);
  const stop = () => stopGroup(child, "SIGTERM", 3000);
  const deadline = Date.now() + timeoutMs;
  while (!ready.test(output())) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`${pkg} ${bin} did not start:\n${output()}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { output, stop };
}
