/** Generated artefacts are committed; these fail when they drift from what the code generates. */
import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";

describe("generated artefacts", () => {
  it("src/worker-configuration.d.ts matches `wrangler types`", () => {
    const out = execFileSync("npx", ["wrangler", "types", "src/worker-configuration.d.ts", "--check"], { encoding: "utf8", stdio: "pipe" });
    expect(out).toContain("up to date");
  });
});
