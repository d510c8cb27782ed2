/**
 * The benchmark harness (`npm run bench`, test/bench/) in smoke mode: every scenario with tiny N
 * and ~1 s runs against a real `wrangler dev`, so the harness never rots. Checks only that each
 * scenario ran and produced sane numbers, never the performance targets (the full run's business).
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { Results } from "../bench/report.ts";
import { ROOT } from "../support/tools.ts";

const out = mkdtempSync(join(tmpdir(), "nomad-alloc-bench-smoke-"));
afterAll(() => rmSync(out, { recursive: true, force: true }));

function runSmoke(timeoutMs: number): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["test/bench/run.ts", "--smoke", "--out", out], {
      cwd: ROOT,
      env: { ...process.env, NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (d: Buffer) => {
      output += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      output += d.toString();
    });
    // On SIGTERM the harness kills its server's process group before exiting (test/bench/lib/server.ts).
    const timer = setTimeout(() => child.kill("SIGTERM"), timeoutMs);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

const positive = (value: number | undefined) => {
  expect(value).toBeTypeOf("number");
  expect(Number.isFinite(value)).toBe(true);
  expect(value).toBeGreaterThan(0);
};

describe("benchmark harness, smoke mode", () => {
  it("runs every scenario and writes sane results", { timeout: 125_000 }, async () => {
    const { code, output } = await runSmoke(120_000);
    expect(code, output).toBe(0);
    const results = JSON.parse(readFileSync(join(out, "result.json"), "utf8")) as Results;
    expect(results.meta.mode).toBe("smoke");
    expect(results.errors).toEqual({});
    expect(readFileSync(join(out, "result.md"), "utf8")).toContain("### Targets");

    const get = results.scenarios.get;
    expect(get?.sameBytes).toBe(true);
    for (const variant of ["w0", "w1", "w1g", "hot", "spread", "hotUnlimited", "spreadUnlimited"]) {
      const figure = get?.closedLoop.variants[variant];
      positive(figure?.rps);
      expect(figure?.errors).toBe(0);
      expect(figure?.non2xx).toBe(0);
    }
    for (const variant of ["w0", "w1", "w1g", "hot", "spread", "hotUnlimited", "spreadUnlimited"]) {
      const figure = get?.halfLoad.variants[variant];
      expect(figure?.completed).toBe(figure?.sent);
      expect(figure?.errors).toBe(0);
      positive(figure?.p99Ms);
    }
    positive(get?.ratios.hotVsW0);
    positive(get?.ratios.hotUnlimitedVsW1);
    positive(get?.ratios.spreadUnlimitedVsW0);

    const wake = results.scenarios.wake;
    positive(wake?.baseline.ackMedianMs);
    expect(wake?.points.map((p) => `${p.n} ${p.via}`)).toEqual(["1 proxy", "10 proxy", "10 direct"]);
    for (const point of wake?.points ?? []) {
      expect(point.parked.every((parked) => parked === point.n)).toBe(true);
      expect(point.released).toBe(point.n * point.rounds);
      expect(point.errors).toBe(0);
      expect(point.wakeFromSendMs.count).toBe(point.n * point.rounds);
      positive(point.wakeFromSendMs.max);
      // The park ceiling ran on the same connections and released every parked call.
      expect(point.ceiling?.released).toBe(point.n);
      expect(point.ceiling?.errors).toBe(0);
      positive(point.ceiling?.wakeFromAckMs.max);
    }

    // Memory per parked waiter: each kind parked N on a server of its own and released them all.
    const memory = results.scenarios.memory;
    expect(memory?.failures).toEqual({});
    expect(memory?.points.map((p) => p.kind)).toEqual(["worker", "ceiling", "ceiling-signal", "real", "real-unlimited"]);
    for (const point of memory?.points ?? []) {
      expect(point.parked).toBe(memory?.n);
      expect(point.released).toBe(memory?.n);
      expect(point.errors).toBe(0);
      expect(point.restarted).toBe(false);
      positive(point.userRssNKiB);
    }
    // The opt-in 10,000-waiter scenario is not part of a default run.
    expect(results.scenarios.scale10k).toBeUndefined();

    const ingest = results.scenarios.ingest;
    expect(ingest?.points.map((p) => p.batch)).toEqual([1, 10, 100]);
    for (const point of ingest?.points ?? []) {
      positive(point.eventsPerS);
      expect(point.errors + point.non2xx).toBe(0);
    }

    const logs = results.scenarios.logs;
    expect(logs?.complete).toBe(logs?.followers);
    positive(logs?.lastByteFromSendMs.max);

    const list = results.scenarios.list;
    expect(list?.listed).toBe(list?.allocations);
    expect(list?.allocations).toBe(5);
    expect(list?.prefixMatches).toBeGreaterThanOrEqual(1);
    for (const variant of ["w0", "w1", "list", "prefix"]) {
      const figure = list?.closedLoop.variants[variant];
      positive(figure?.rps);
      expect(figure?.errors).toBe(0);
      expect(figure?.non2xx).toBe(0);
    }
    positive(list?.ratios.listVsW0);
    positive(list?.ratios.prefixVsW1);

    const writes = results.scenarios.regionWrites;
    for (const variant of ["single", "region", "twoRegions"] as const) {
      const figure = writes?.variants[variant];
      positive(figure?.wps);
      positive(figure?.p99Ms);
      expect(figure?.errors).toBe(0);
      expect(figure?.non2xx).toBe(0);
    }
    positive(writes?.ratios.regionVsSingle);
    positive(writes?.ratios.twoRegionsVsRegion);
    // Every recorded change moved each region's catalog index.
    positive(writes?.catalogIndex.global);
    positive(writes?.catalogIndex.europe);

    const events = results.scenarios.events;
    expect(events?.points.map((p) => p.subscribers)).toEqual([1, 2]);
    for (const point of events?.points ?? []) {
      positive(point.writes.acked);
      // Every acknowledged write's event reached every subscriber, once and in order.
      expect(point.delivered).toBe(point.expected);
      expect(point.expected).toBe(point.writes.acked * point.subscribers);
      expect(point.duplicates).toBe(0);
      expect(point.outOfOrder).toBe(0);
      expect(point.streamErrors).toBe(0);
      positive(point.eventsPerS);
      expect(Number.isFinite(point.lagFromAckMs.p99)).toBe(true);
      expect(point.lagFromAckMs.count).toBe(point.expected);
    }

    expect(results.targets.length).toBeGreaterThanOrEqual(13);
    // A missed target is called a runtime limit only with the measurement that proves it.
    for (const target of results.targets) {
      if (target.limit !== undefined) {
        expect(target.met).toBe(false);
        expect(target.limit).toMatch(/\d/);
      }
    }
  });
});
