/**
 * The bench's CPU-profile summary (test/bench/lib/profile-summary.ts), here because the bench
 * harness runs in Node: samples are charged to the part of the write path by function name, and
 * to the catalog by the module the bundle's markers name for the sample's line.
 */
import { describe, expect, it } from "vitest";
import { type CpuProfile, summarizeProfile } from "../bench/lib/profile-summary.ts";

const BUNDLE = [
  "// ../../src/endpoints/batch.ts",
  "function applyChange() {}",
  "// ../../src/durable/region-catalog.ts",
  "function helper() {}",
].join("\n");

function profile(frames: Array<{ functionName: string; lineNumber: number; url?: string }>): CpuProfile {
  return {
    nodes: frames.map((frame, i) => ({ id: i + 1, callFrame: { url: frame.url ?? "file:///x/bench-worker.js", ...frame } })),
    samples: frames.map((_, i) => i + 1),
    timeDeltas: frames.map(() => 1000),
  };
}

describe("summarizeProfile", () => {
  it("charges a region catalog function to catalog recording by its module, and applyChange to the batch's call", () => {
    const summary = summarizeProfile(
      profile([
        { functionName: "helper", lineNumber: 3 },
        { functionName: "applyChange", lineNumber: 1 },
        { functionName: "helper", lineNumber: 1 },
      ]),
      1,
      BUNDLE,
    );
    expect(summary.byPartMsPerWrite).toEqual({ "catalog recording": 1, "the batch's call to each object": 1, other: 1 });
    expect(summary.byModuleMsPerWrite).toEqual({ "src/durable/region-catalog.ts": 1, "src/endpoints/batch.ts": 2 });
  });

  it("without the bundle, charges by name only", () => {
    const summary = summarizeProfile(profile([{ functionName: "helper", lineNumber: 3 }]), 1);
    expect(summary.byPartMsPerWrite).toEqual({ other: 1 });
  });
});
