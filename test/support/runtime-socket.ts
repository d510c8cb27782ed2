/**
 * Finds the socket of the Worker's own runtime behind `wrangler dev`. `wrangler dev` runs two
 * workerd processes: the dev proxy on the public port (wrangler's ProxyWorker, which forwards every
 * request) and the Worker's runtime on a loopback port of its own choosing. Tests that must tell
 * the two layers' answers apart send to both; the port is found in /proc (Linux).
 */
import { readdirSync, readFileSync, readlinkSync } from "node:fs";

function read(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined; // exited meanwhile, or not ours to read
  }
}

/** Processes of group `pgid` with their command lines. */
function groupProcesses(pgid: number): Array<{ pid: number; args: string[] }> {
  const found: Array<{ pid: number; args: string[] }> = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = read(`/proc/${entry}/stat`);
    if (!stat) continue;
    // pid (comm) state ppid pgrp ...: comm may contain spaces, so split after the last ')'.
    const pgrp = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[2]);
    if (pgrp === pgid) found.push({ pid: Number(entry), args: (read(`/proc/${entry}/cmdline`) ?? "").split("\0") });
  }
  return found;
}

/** TCP ports process `pid` listens on (its socket inodes matched against the LISTEN rows of /proc/net/tcp{,6}). */
function listeningPorts(pid: number): number[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (match) inodes.add(match[1] as string);
    } catch {
      // closed meanwhile
    }
  }
  const ports: number[] = [];
  for (const table of ["tcp", "tcp6"]) {
    for (const row of (read(`/proc/${pid}/net/${table}`) ?? "").split("\n").slice(1)) {
      const cols = row.trim().split(/\s+/);
      // local_address is HEX_IP:HEX_PORT; st 0A is LISTEN; the inode is column 9.
      if (cols[3] === "0A" && inodes.has(cols[9] as string)) ports.push(Number.parseInt((cols[1] as string).split(":")[1] as string, 16));
    }
  }
  return ports;
}

/**
 * The URL of the Worker's runtime (not the dev proxy) of the `wrangler dev` in group `pgid`: the
 * workerd whose entry socket is not the public one, at the port that answers the Worker's
 * `/v1/status/leader`.
 */
export async function workerRuntimeUrl(pgid: number, publicPort: number): Promise<string> {
  const runtimes = groupProcesses(pgid).filter(
    (p) => p.args[0]?.endsWith("/workerd") && p.args.includes("serve") && !p.args.includes(`--socket-addr=entry=127.0.0.1:${publicPort}`),
  );
  for (const runtime of runtimes) {
    for (const port of listeningPorts(runtime.pid)) {
      try {
        const response = await fetch(`http://127.0.0.1:${port}/v1/status/leader`, { signal: AbortSignal.timeout(3000) });
        const text = await response.text();
        if (response.status === 200 && /^"[^"]+:\d+"$/.test(text.trim())) return `http://127.0.0.1:${port}`;
      } catch {
        // not an HTTP socket (inspector, loopback service)
      }
    }
  }
  throw new Error(`no Worker runtime socket found in process group ${pgid} (${runtimes.length} workerd candidates)`);
}
