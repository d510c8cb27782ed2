/**
 * The page tests' browser (test/support/browser.ts): the npm-shipped Chromium starts and renders,
 * and a browser that cannot be used is a failure that names it, not a skip.
 */
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { launchBrowser } from "../support/browser.ts";
import { ROOT } from "../support/tools.ts";

describe("launchBrowser", () => {
  it("starts a real headless Chromium that runs scripts", async () => {
    const browser = await launchBrowser();
    try {
      await browser.page.setContent("<p id=out></p><script>document.getElementById('out').textContent = String(6 * 7)</script>");
      expect(await browser.page.textContent("#out")).toBe("42");
      expect(await browser.context.browser()?.version()).toMatch(/^\d+\./);
    } finally {
      await browser.close();
    }
  }, 90_000);

  it("fails with the reason when CHROMIUM_PATH names no browser", () => {
    // In a child process, so that this process's environment stays as it is.
    const script = `import("./test/support/browser.ts").then((m) => m.launchBrowser()).then(() => process.exit(3), (e) => { console.error(e.message); process.exit(1); })`;
    const run = spawnSync(process.execPath, ["--input-type=module", "-e", script], {
      cwd: ROOT,
      env: { ...process.env, CHROMIUM_PATH: "/nonexistent/chromium" },
      encoding: "utf8",
      timeout: 30_000,
    });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain("CHROMIUM_PATH=/nonexistent/chromium does not exist");
  });
});
