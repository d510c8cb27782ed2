/**
 * Finds the sockets behind `npm start`'s public port (npm start's Node front, scripts/front.ts):
 * `wrangler dev` on an internal loopback port runs two workerd processes, the dev proxy on the port
 * npm start gave it (wrangler's ProxyWorker, which forwards every request) and the Worker's runtime
 * on a loopback port of its own choosing. Tests that must tell the layers' answers apart send to
 * each; the ports are found in /proc (Linux).
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

/** The socket inodes process `pid` holds open. */
function socketInodes(pid: number): Set<string> {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (match) inodes.add(match[1] as string);
    } catch {
      // closed meanwhile
    }
  }
  return inodes;
}

/** Rows of /proc/<pid>/net/tcp{,6} for sockets of `pid`: local and remote port, state, inode. */
function tcpRows(pid: number): Array<{ localPort: number; remotePort: number; state: string; inode: string }> {
  const inodes = socketInodes(pid);
  const rows: Array<{ localPort: number; remotePort: number; state: string; inode: string }> = [];
  for (const table of ["tcp", "tcp6"]) {
    for (const row of (read(`/proc/${pid}/net/${table}`) ?? "").split("\n").slice(1)) {
      // local_address and rem_address are HEX_IP:HEX_PORT; st is the state; the inode is column 9.
      const cols = row.trim().split(/\s+/);
      const inode = cols[9] as string;
      if (!inodes.has(inode)) continue;
      const port = (address: string | undefined) => Number.parseInt((address ?? "").split(":")[1] ?? "", 16);
      rows.push({ localPort: port(cols[1]), remotePort: port(cols[2]), state: cols[3] as string, inode });
    }
  }
  return rows;
}

/** TCP ports process `pid` listens on (state 0A, LISTEN). */
function listeningPorts(pid: number): number[] {
  return tcpRows(pid)
    .filter((row) => row.state === "0A")
    .map((row) => row.localPort);
}

/** The inodes of the established (state 01) connections process `pid` has open to local port `port`. */
export function connectionsTo(pid: number, port: number): Set<string> {
  return new Set(
    tcpRows(pid)
      .filter((row) => row.state === "01" && row.remotePort === port)
      .map((row) => row.inode),
  );
}

/** The workerd processes of group `pgid` with the port of their entry socket (0: one it chose itself). */
function workerds(pgid: number): Array<{ pid: number; entryPort: number }> {
  return groupProcesses(pgid).flatMap((p) => {
    if (!p.args[0]?.endsWith("/workerd") || !p.args.includes("serve")) return [];
    const entry = p.args.map((arg) => /^--socket-addr=entry=127\.0\.0\.1:(\d+)$/.exec(arg)?.[1]).find((port) => port !== undefined);
    return entry === undefined ? [] : [{ pid: p.pid, entryPort: Number(entry) }];
  });
}

/** The URL of wrangler's dev proxy in group `pgid`: the workerd given a fixed entry port. */
export function wranglerProxyUrl(pgid: number): string {
  const proxy = workerds(pgid).find((w) => w.entryPort !== 0);
  if (!proxy) throw new Error(`no wrangler dev proxy found in process group ${pgid}`);
  return `http://127.0.0.1:${proxy.entryPort}`;
}

/**
 * The URL of the Worker's runtime (not the dev proxy) of the `wrangler dev` in group `pgid`: the
 * workerd whose entry socket port it chose itself, at the port that answers the Worker's
 * `/v1/status/leader`.
 */
export async function workerRuntimeUrl(pgid: number): Promise<string> {
  const runtimes = workerds(pgid).filter((w) => w.entryPort === 0);
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
