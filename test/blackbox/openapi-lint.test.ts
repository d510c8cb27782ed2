/**
 * Spec lint: Redocly CLI (`recommended`, redocly.yaml) and Spectral (`spectral:oas`, .spectral.yaml)
 * must report 0 errors on the committed document.
 */
import { describe, expect, it } from "vitest";
import { runTool } from "../support/tools.ts";

const DOCUMENT = "openapi/openapi.json";

describe("OpenAPI lint", () => {
  it("Redocly CLI reports 0 errors", async () => {
    const result = await runTool("@redocly/cli", "redocly", ["lint", DOCUMENT, "--config", "redocly.yaml", "--format", "json"]);
    const start = result.stdout.indexOf("{");
    expect(start, `no JSON report from redocly:\n${result.stdout}\n${result.stderr}`).toBeGreaterThanOrEqual(0);
    const report = JSON.parse(result.stdout.slice(start)) as { totals: { errors: number; warnings: number }; problems: unknown[] };
    const errors = (report.problems as { severity: string; ruleId: string; message: string }[]).filter((p) => p.severity === "error");
    expect(errors, JSON.stringify(errors, null, 2)).toEqual([]);
    expect(report.totals.errors).toBe(0);
    expect(result.code).toBe(0);
  });

  it("Spectral (spectral:oas) reports 0 errors", async () => {
    const result = await runTool("@stoplight/spectral-cli", "spectral", [
      "lint",
      DOCUMENT,
      "--ruleset",
      ".spectral.yaml",
      "--format",
      "json",
      "--fail-severity",
      "error",
      "--quiet",
    ]);
    const start = result.stdout.indexOf("[");
    expect(start, `no JSON report from spectral:\n${result.stdout}\n${result.stderr}`).toBeGreaterThanOrEqual(0);
    const problems = JSON.parse(result.stdout.slice(start)) as { severity: number; code: string; message: string; path: string[] }[];
    // Spectral severities: 0 error, 1 warning, 2 info, 3 hint.
    const errors = problems.filter((p) => p.severity === 0);
    expect(errors, JSON.stringify(errors, null, 2)).toEqual([]);
    expect(result.code).toBe(0);
  });
});
