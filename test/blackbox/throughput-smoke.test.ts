/**
 * The write-path benchmark (`npm run bench:throughput`, test/bench/throughput.ts) in smoke mode,
 * without the etcd peer: every step runs against a real `wrangler dev`'s workerd, so the harness
 * never rots. Checks only that each step ran and produced sane numbers, never the targets.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ROOT } from "../support/tools.ts";

const out = mkdtempSync(join(tmpdir(), "nomad-alloc-throughput-smoke-"));
afterAll(() => rmSync(out, { recursive: true, force: true }));

function runSmoke(timeoutMs: number, args = ["--no-etcd", "--profile"], dir = out): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["test/bench/throughput.ts", "--smoke", ...args, "--out", dir], {
      cwd: ROOT,
      env: { ...process.env, NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    const keep = (d: Buffer) => {
      output += d.toString();
    };
    child.stdout.on("data", keep);
    child.stderr.on("data", keep);
    // On SIGTERM the harness kills its server's process group before exiting (test/bench/lib/server.ts).
    const timer = setTimeout(() => child.kill("SIGTERM"), timeoutMs);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

const positive = (value: unknown) => {
  expect(value).toBeTypeOf("number");
  expect(Number.isFinite(value)).toBe(true);
  expect(value as number).toBeGreaterThan(0);
};

describe("throughput benchmark, smoke mode", () => {
  it("runs every step and writes sane results", { timeout: 185_000 }, async () => {
    const { code, output } = await runSmoke(180_000);
    expect(code, output).toBe(0);
    // biome-ignore lint/suspicious/noExplicitAny: the result's shape is the harness's own JSON
    const r = JSON.parse(readFileSync(join(out, "result.json"), "utf8")) as any;
    for (const name of ["w0", "w1", "f1", "f2", "floorBatch", "floorBatchAdmit", "floorBatch1", "floorBatchExisting"])
      positive(r.ceilings[name].perS);
    for (const name of ["get", "put", "putOne", "events", "batch", "batchExisting"]) {
      positive(r.ours[name].perS);
      expect(r.ours[name].errors, name).toBe(0);
    }
    expect(r.initialLoad.listed).toBe(r.initialLoad.allocations);
    expect(r.initialLoad.errors).toBe(0);
    expect(r.churn.errors).toBe(0);
    expect(r.churn.seenInStream).toBe(r.churn.sent);
    for (const k of ["k1", "k2", "k4"]) positive(r.catalog[k].recordsPerS);
    expect(r.wake.answered).toBe(r.wake.waiters);
    expect(r.p1.answered).toBe(r.p1.waiters);
    expect(r.heap.rounds.length).toBeGreaterThan(0);
    for (const kind of ["ours", "parkedRpc", "inside", "workerOnly"]) expect(r.heap.byKind[kind].rounds.length, kind).toBeGreaterThan(0);
    for (const k of ["k1", "k2"]) positive(r.catalogProcesses[k].recordsPerS);
    expect(r.etcd.skipped).toBe("--no-etcd");
    positive(r.profile.totalSampledMsPerWrite);
    expect(r.profile.topSelfMsPerWrite.length).toBeGreaterThan(0);
    // The bundle's module markers name where the Worker's own code ran.
    expect(Object.keys(r.profile.byModuleMsPerWrite).some((m) => m.startsWith("src/"))).toBe(true);
  });

  it("compares the single writes against another checkout (here: this one) in alternating rounds", { timeout: 125_000 }, async () => {
    const dir = join(out, "baseline");
    const { code, output } = await runSmoke(120_000, ["--baseline", ROOT], dir);
    expect(code, output).toBe(0);
    // biome-ignore lint/suspicious/noExplicitAny: the result's shape is the harness's own JSON
    const r = JSON.parse(readFileSync(join(dir, "baseline.json"), "utf8")) as any;
    expect(Object.keys(r.loads).sort()).toEqual(["events64", "put64", "putNew", "putOne"]);
    for (const figures of Object.values<Record<string, { perS: number; errors: number }>>(r.loads)) {
      for (const side of ["current", "baseline"]) {
        positive(figures[side]?.perS);
        expect(figures[side]?.errors).toBe(0);
      }
      positive((figures as unknown as { ratioPerS: number }).ratioPerS);
    }
  });

  it("compares the batched ingest against another checkout (here: this one), counting changes", { timeout: 125_000 }, async () => {
    const dir = join(out, "baseline-batch");
    const { code, output } = await runSmoke(120_000, ["--baseline", ROOT, "--batch"], dir);
    expect(code, output).toBe(0);
    // biome-ignore lint/suspicious/noExplicitAny: the result's shape is the harness's own JSON
    const r = JSON.parse(readFileSync(join(dir, "baseline.json"), "utf8")) as any;
    expect(Object.keys(r.loads).sort()).toEqual(["batchNew", "batchReplacing"]);
    expect(r.meta.loads).toMatch(/^batched ingest, 50 puts per request/);
    for (const figures of Object.values<Record<string, { perS: number; errors: number }>>(r.loads)) {
      for (const side of ["current", "baseline"]) {
        positive(figures[side]?.perS);
        expect(figures[side]?.errors).toBe(0);
      }
      positive((figures as unknown as { ratioPerS: number }).ratioPerS);
    }
  });

  it("pairs the batch floors with batched ingest in alternating rounds, each ratio within its round", { timeout: 125_000 }, async () => {
    const dir = join(out, "batch");
    const { code, output } = await runSmoke(120_000, ["--batch", "--rounds", "2"], dir);
    expect(code, output).toBe(0);
    // biome-ignore lint/suspicious/noExplicitAny: the result's shape is the harness's own JSON
    const r = JSON.parse(readFileSync(join(dir, "batch.json"), "utf8")).batch as any;
    expect(r.rounds).toBe(2);
    expect(r.perRound).toHaveLength(2);
    const loads = ["newF1", "newF2", "newAllocations", "existingF1", "existingF2", "replacing"];
    for (const figures of r.perRound) expect(Object.keys(figures).sort()).toEqual([...loads].sort());
    for (const name of loads) positive(r.medianPerS[name]);
    for (const name of ["newAllocationsOverF2", "newAllocationsOverF1", "replacingOverF2", "replacingOverF1"]) {
      expect(r.ratioRounds[name]).toHaveLength(2);
      positive(r.ratios[name]);
    }
    // Each round's ratio is that round's own figures, not the medians'.
    const [first] = r.perRound;
    expect(r.ratioRounds.replacingOverF2[0]).toBeCloseTo(first.replacing / first.existingF2, 1);
  });
});
