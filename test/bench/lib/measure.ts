/**
 * Small measurement helpers shared by the scenarios: percentiles, CPU accounting of the processes
 * involved (from /proc), and bounded waiting.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { descendants } from "./server.ts";

export interface Spread {
  count: number;
  p50: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentile of numbers (any order); NaN for no samples. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] as number;
}

export function spread(values: number[]): Spread {
  return { count: values.length, p50: round(percentile(values, 50)), p99: round(percentile(values, 99)), max: round(Math.max(...values)) };
}

export function median(values: number[]): number {
  return percentile(values, 50);
}

export function round(value: number, digits = 2): number {
  if (!Number.isFinite(value)) return value;
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `check` every `everyMs` until it returns true or `timeoutMs` passes; answers whether it held. */
export async function waitFor(check: () => Promise<boolean> | boolean, timeoutMs: number, everyMs = 50): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() >= deadline) return false;
    await sleep(everyMs);
  }
}

const CLOCK_TICKS = (() => {
  const out = spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" });
  const value = Number(out.stdout?.trim());
  return Number.isFinite(value) && value > 0 ? value : 100;
})();

/** User+system CPU seconds a process used so far (NaN when gone). */
function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // fields[0] is state (field 3); utime is field 14, stime field 15.
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return Number.NaN;
  }
}

export interface CpuSample {
  at: number;
  harness: number;
  proxy: number;
  user: number;
  wranglerNode: number;
}

export interface CpuUse {
  wallS: number;
  /** CPU seconds used during the interval by each party. */
  harnessS: number;
  proxyWorkerdS: number;
  userWorkerdS: number;
  wranglerNodeS: number;
  /** Sum of the above divided by wall time: 2.0 means both cores were busy all the time. */
  coresBusy: number;
}

export function cpuSample(wranglerPid: number, pids: { proxy?: number; user?: number }): CpuSample {
  const usage = process.cpuUsage();
  let wranglerNode = cpuSeconds(wranglerPid);
  for (const pid of descendants(wranglerPid)) {
    if (pid !== pids.proxy && pid !== pids.user) wranglerNode += cpuSeconds(pid);
  }
  return {
    at: performance.now(),
    harness: (usage.user + usage.system) / 1e6,
    proxy: cpuSeconds(pids.proxy),
    user: cpuSeconds(pids.user),
    wranglerNode,
  };
}

export function cpuUse(from: CpuSample, to: CpuSample): CpuUse {
  const wallS = (to.at - from.at) / 1000;
  const use = {
    harnessS: round(to.harness - from.harness),
    proxyWorkerdS: round(to.proxy - from.proxy),
    userWorkerdS: round(to.user - from.user),
    wranglerNodeS: round(to.wranglerNode - from.wranglerNode),
  };
  const busy = use.harnessS + use.proxyWorkerdS + use.userWorkerdS + use.wranglerNodeS;
  return { wallS: round(wallS), ...use, coresBusy: round(busy / wallS) };
}
