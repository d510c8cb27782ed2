/**
 * Crash safety: the kill-test harness (test/crash/run.ts, `npm run crash`) for 10 cycles.
 * `wrangler dev` on its own state directory is SIGKILLed (the whole process group) at random
 * moments while writers ingest log lines and task events with idempotency keys and readers
 * long-poll, and a catalog and ACL writer PUTs (with and without X-Source-Index), DELETEs (single
 * and in `POST /v1/allocations/batch`), and writes, deletes and updates ACL policies and tokens;
 * after each restart every unanswered write is retried unchanged.
 * Every acknowledged write must be present exactly once (in the list, the event history and the
 * allocation) and no allocation's index may go back. CRASH_SEED=<n>
 * replays a failing run's plan; the seed is printed either way. Longer runs: docs/reliability.md.
 */
import { describe, expect, it } from "vitest";
import { runCrashTest } from "../crash/run.ts";

describe("crash safety: SIGKILL of wrangler dev under load", () => {
  it("keeps every acknowledged write exactly once and every index increasing across 10 kills", { timeout: 240_000 }, async () => {
    const seed = process.env.CRASH_SEED ? Number(process.env.CRASH_SEED) : undefined;
    const report = await runCrashTest({ cycles: 10, seed });
    const context = `seed ${report.seed} (replay with CRASH_SEED=${report.seed}); output in ${report.outDir}`;
    expect(report.violations, context).toEqual([]);
    expect(report.cycles, context).toBe(10);
    expect(report.lost, context).toBe(0);
    expect(report.duplicates, context).toBe(0);
    expect(report.writes.acknowledged, context).toBeGreaterThan(100);
    // The catalog and ACL writer made each kind of change (its checks ran after every restart).
    for (const kind of ["put", "delete", "batched", "policy", "unpolicy", "token", "retoken", "untoken"])
      expect(report.writes.changes[kind], `${kind}: ${context}`).toBeGreaterThan(0);
    // Kills land while writes are in flight; their retries are what idempotency keys are for.
    expect(report.writes.inDoubt, context).toBeGreaterThan(0);
    expect(report.writes.replayed + report.writes.appliedByRetry, context).toBe(report.writes.inDoubt);
    expect(report.reads.ok, context).toBeGreaterThan(0);
    expect(report.reads.fiveXx, context).toBe(0);
    expect(report.reads.hangs, context).toBe(0);
    expect(report.ok, context).toBe(true);
  });
});
