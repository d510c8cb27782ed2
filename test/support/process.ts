/** Helpers for child processes that tests start in their own process group (`detached: true`). */
import type { ChildProcess } from "node:child_process";

/** Everything the child writes to stdout and stderr, as one text read at call time. */
export function collectOutput(child: ChildProcess): () => string {
  let output = "";
  const keep = (d: Buffer) => {
    output += d.toString();
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  return () => output;
}

/** Sends `signal` to the child's process group, then SIGKILL after `graceMs` for whatever is left. */
export async function stopGroup(child: ChildProcess, signal: NodeJS.Signals = "SIGTERM", graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  try {
    process.kill(-child.pid, signal);
  } catch {
    return;
  }
  await Promise.race([exited, new Promise((r) => setTimeout(r, graceMs))]);
  try {
    process.kill(-child.pid, "SIGKILL");
  } catch {
    // already gone
  }
}
