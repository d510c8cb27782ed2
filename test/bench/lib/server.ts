/**
 * Starts `wrangler dev` with the benchmark configuration (see config.ts) on a free
 * loopback port with a fresh state directory, in its own process group, and stops the whole group.
 * Also finds the two workerd processes wrangler runs (its proxy in front, the Worker behind) so the
 * harness can read their resident memory.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "../../../scripts/free-port.ts";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
export const HOST = "127.0.0.1";

export { freePort };

export interface WorkerdPids {
  /** The workerd that owns the public port: wrangler dev's proxy (a dev-only hop). */
  proxy?: number;
  /** The workerd that runs the Worker and its Durable Objects. */
  user?: number;
}

export interface BenchServer {
  url: string;
  /** wrangler dev's public port (its proxy workerd). */
  port: number;
  token: string;
  wranglerPid: number;
  workerd: () => WorkerdPids;
  /**
   * The loopback port on which the Worker's own workerd serves HTTP (miniflare's entry socket),
   * found by asking each of its listening sockets for a bench route. Requests sent there skip
   * wrangler's proxy: the same Worker, one dev-only hop (and its two sockets per connection) less.
   */
  workerPort: () => Promise<number>;
  output: () => string;
  stop: () => Promise<void>;
  /** wrangler's inspector proxy for the Worker's isolate (Chrome DevTools protocol; `/json` lists targets). */
  inspectorPort: number;
}

/** Every process's parent, from /proc. */
function parents(): Map<number, number> {
  const map = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // pid (comm) state ppid ...: comm may contain spaces, so split after the last ')'.
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      map.set(Number(entry), ppid);
    } catch {
      // exited meanwhile
    }
  }
  return map;
}

export function descendants(root: number): number[] {
  const byParent = new Map<number, number[]>();
  for (const [pid, ppid] of parents()) byParent.set(ppid, [...(byParent.get(ppid) ?? []), pid]);
  const found: number[] = [];
  const queue = [root];
  while (queue.length) {
    const pid = queue.shift() as number;
    for (const child of byParent.get(pid) ?? []) {
      found.push(child);
      queue.push(child);
    }
  }
  return found;
}

function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
  } catch {
    return "";
  }
}

/** TCP ports a process listens on: its socket inodes matched against /proc/net/tcp's LISTEN rows. */
function listeningPorts(pid: number): number[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (match?.[1]) inodes.add(match[1]);
    } catch {
      // closed meanwhile
    }
  }
  const ports: number[] = [];
  for (const line of readFileSync("/proc/net/tcp", "utf8").split("\n").slice(1)) {
    const fields = line.trim().split(/\s+/);
    // local_address is HEXIP:HEXPORT; st 0A is LISTEN; the inode is the tenth field.
    if (fields[3] === "0A" && fields[9] && inodes.has(fields[9])) ports.push(Number.parseInt(fields[1]?.split(":")[1] ?? "0", 16));
  }
  return ports;
}

/** Resident memory of a process in KiB (VmRSS), or NaN when it is gone. */
export function rssKiB(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match ? Number(match[1]) : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

export async function startBenchServer(options: {
  token: string;
  config: string;
  readyTimeoutMs?: number;
  /** More `--var NAME:value` settings (e.g. CATALOG_SHARDS). */
  vars?: Record<string, string>;
  /** The checkout whose wrangler runs the server (another commit's worktree for a same-run comparison); this one by default. */
  root?: string;
}): Promise<BenchServer> {
  const root = options.root ?? ROOT;
  const port = await freePort();
  const inspectorPort = await freePort();
  const persistTo = mkdtempSync(join(tmpdir(), "nomad-alloc-bench-"));
  const wrangler = join(root, "node_modules", "wrangler", "bin", "wrangler.js");
  const args = [
    wrangler,
    "dev",
    "--config",
    options.config,
    "--ip",
    HOST,
    "--port",
    String(port),
    "--inspector-port",
    String(inspectorPort),
    "--persist-to",
    persistTo,
    "--var",
    `MANAGEMENT_TOKEN:${options.token}`,
    ...Object.entries(options.vars ?? {}).flatMap(([name, value]) => ["--var", `${name}:${value}`]),
    // Below "info", wrangler's proxy does not send a log line per request back to the wrangler
    // Node process (a dev-only cost that would otherwise sit on every measured request).
    "--log-level",
    process.env.BENCH_LOG_LEVEL ?? "warn",
  ];
  const child: ChildProcess = spawn(process.execPath, args, {
    cwd: root,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    // The secret in the environment too (as scripts/start.ts does): a `--var` alone leaves wrangler warning it is missing.
    env: {
      ...process.env,
      MANAGEMENT_TOKEN: options.token,
      NO_COLOR: "1",
      CLOUDFLARE_CF_FETCH_ENABLED: "false",
      WRANGLER_SEND_METRICS: "false",
    },
  });
  let output = "";
  const keep = (d: Buffer) => {
    output += d.toString();
    if (output.length > 200_000) output = output.slice(-100_000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const pid = child.pid ?? -1;
  // Never leave the server behind, even when the harness dies or is interrupted.
  const killNow = () => {
    try {
      process.kill(-pid, "SIGKILL");
    } catch {
      // already gone
    }
  };
  // A signal's default action skips "exit" handlers: kill the group, then exit as the signal would.
  const onSignal = (signal: NodeJS.Signals) => {
    killNow();
    rmSync(persistTo, { recursive: true, force: true });
    process.exit(signal === "SIGINT" ? 130 : 143);
  };
  process.once("exit", killNow);
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    process.removeListener("exit", killNow);
    process.removeListener("SIGINT", onSignal);
    process.removeListener("SIGTERM", onSignal);
    if (child.exitCode === null) {
      const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
      try {
        process.kill(-pid, "SIGTERM");
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      } catch {
        // already gone
      }
    }
    killNow();
    rmSync(persistTo, { recursive: true, force: true });
  };
  const url = `http://${HOST}:${port}`;
  const deadline = Date.now() + (options.readyTimeoutMs ?? 60_000);
  for (;;) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`wrangler dev did not start:\n${output}`);
    }
    try {
      // 409 until W0 is primed: the bench Worker answers, so the server is up.
      const response = await fetch(`${url}/__bench/w0`, { signal: AbortSignal.timeout(2000) });
      await response.arrayBuffer();
      if (response.status === 409 || response.status === 200) break;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  const workerd = (): WorkerdPids => {
    const pids: WorkerdPids = {};
    for (const candidate of descendants(pid)) {
      const cmd = commandLine(candidate);
      if (!/\bworkerd serve\b/.test(cmd)) continue;
      if (cmd.includes(`entry=${HOST}:${port} `)) pids.proxy = candidate;
      else pids.user = candidate;
    }
    return pids;
  };
  /** The first of the Worker's listening ports whose answer to `path` passes `accept`. */
  const findPort = async (path: string, accept: (status: number, text: string) => boolean): Promise<number> => {
    const user = workerd().user;
    if (user === undefined) throw new Error("the Worker's workerd process was not found");
    for (const candidate of listeningPorts(user)) {
      try {
        const response = await fetch(`http://${HOST}:${candidate}${path}`, { signal: AbortSignal.timeout(2000) });
        if (accept(response.status, await response.text())) return candidate;
      } catch {
        // not an HTTP socket
      }
    }
    throw new Error(`none of the Worker's listening ports (${listeningPorts(user).join(", ")}) answered ${path}`);
  };
  let entryPort: Promise<number> | undefined;
  // Only the Worker's entry answers a bench route with the bench Worker's 200 or 409.
  const workerPort = () => {
    entryPort ??= findPort("/__bench/w0", (status, text) => status === 200 || (status === 409 && text.startsWith("prime W0")));
    return entryPort;
  };
  return { url, port, token: options.token, wranglerPid: pid, workerd, workerPort, output: () => output, stop, inspectorPort };
}
