/**
 * A real browser on /docs: headless Chromium (test/support/browser.ts) driven by playwright-core
 * against a real dev server. The page must show the operations, the Allocation/TaskState/TaskEvent
 * schemas and the event-type descriptions, "Try it" must read the demo allocation from the same
 * origin, and no request may go to any other host (they are recorded, and blocked so that
 * nothing leaves the machine even when the check fails). Screenshots go to test-output/.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_ALLOC_ID } from "../../src/demo/allocation.ts";
import { TASK_EVENT_TYPES } from "../../src/domain/schemas.ts";
import { type LaunchedBrowser, launchBrowser } from "../support/browser.ts";
import { type DevServer, startDevServer } from "../support/dev-server.ts";
import { ROOT } from "../support/tools.ts";

const SHOTS = join(ROOT, "test-output");

let server: DevServer;
let browser: LaunchedBrowser;
let context: BrowserContext;
let page: Page;
const foreign: string[] = [];
const consoleErrors: string[] = [];

async function visible(text: string | RegExp): Promise<void> {
  const locator = page.getByText(text).first();
  await locator.scrollIntoViewIfNeeded({ timeout: 10_000 });
  await locator.waitFor({ state: "visible", timeout: 10_000 });
}

beforeAll(async () => {
  browser = await launchBrowser({ viewport: { width: 1400, height: 1000 } });
  context = browser.context;
  server = await startDevServer();
  mkdirSync(SHOTS, { recursive: true });
  const origin = new URL(server.url).origin;
  // Record and block every request to another origin (data: and blob: URLs stay in the page).
  await context.route("**/*", (route) => {
    const url = route.request().url();
    if (url.startsWith("data:") || url.startsWith("blob:") || new URL(url).origin === origin) return route.continue();
    foreign.push(url);
    return route.abort("blockedbyclient");
  });
  context.on("websocket" as "page", (ws) => foreign.push(`websocket ${(ws as unknown as { url(): string }).url()}`));
  page = browser.page;
  page.on("console", (message) => {
    if (message.type() === "error") consoleErrors.push(message.text());
  });
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

describe("/docs in Chromium", () => {
  it("renders the reference: title, operations, schemas and event types", async () => {
    const response = await page.goto(`${server.url}/`, { waitUntil: "networkidle", timeout: 30_000 });
    expect(page.url()).toBe(`${server.url}/docs`);
    expect(response?.status()).toBe(200);
    expect(await page.title()).toBe("Nomad Allocation API reference");
    await visible("Nomad Allocation API");
    for (const operation of ["Read an allocation", "Create or replace an allocation", "Delete an allocation", "Record task events"]) {
      await page.getByRole("link", { name: operation }).first().waitFor({ state: "visible", timeout: 10_000 });
    }
    for (const model of ["Allocation", "TaskState", "TaskEvent", "TaskEventType"]) {
      await page.getByRole("link", { name: model, exact: true }).first().waitFor({ state: "visible", timeout: 10_000 });
    }
    // The field reference and every event type's description, as a reader sees them.
    await visible("Field reference");
    await visible(/The latest 10 events are stored per task/);
    // Markdown code spans render without their backticks.
    for (const meaning of Object.values(TASK_EVENT_TYPES)) await visible(meaning.replace(/`/g, ""));
    await page.screenshot({ path: join(SHOTS, "docs-overview.png") });

    // The schemas themselves, opened from the sidebar.
    await page.getByRole("link", { name: "TaskEvent", exact: true }).first().click();
    await visible(/One event in the life of a task/);
    await page.getByRole("link", { name: "TaskState", exact: true }).first().click();
    await visible(/The state of one task of the allocation/);
    await page.getByRole("link", { name: "Allocation", exact: true }).first().click();
    await visible(/An allocation: the placement of one task group/);
    await page.screenshot({ path: join(SHOTS, "docs-models.png") });
  }, 60_000);

  it("'Try it' reads the demo allocation from the same origin, also as a blocking query", async () => {
    await page.getByRole("link", { name: "Read an allocation" }).first().click();
    const tryIt = page
      .getByRole("button", { name: /Test Request/ })
      .filter({ hasText: "get /v1/allocation/{alloc_id}" })
      .first();
    await tryIt.click({ timeout: 10_000 });
    const answered = page.waitForResponse((r) => r.url().startsWith(`${server.url}/v1/allocation/${DEMO_ALLOC_ID}`), { timeout: 15_000 });
    await page.getByRole("button", { name: /^Send/ }).first().click({ timeout: 10_000 });
    const response = await answered;
    expect(response.status()).toBe(200);
    expect(Number(response.headers()["x-nomad-index"])).toBeGreaterThanOrEqual(1);
    expect((await response.json()).ID).toBe(DEMO_ALLOC_ID);
    await visible("200 OK");
    await visible(`"${DEMO_ALLOC_ID}"`);
    await page.screenshot({ path: join(SHOTS, "docs-try-it.png") });

    // A blocking query from the same panel: index = the X-Nomad-Index just received, wait = 1s
    // (Scalar fills `wait` from the document's first example).
    const index = response.headers()["x-nomad-index"] ?? "";
    const indexRow = page
      .getByLabel("Include index in request")
      .locator("xpath=ancestor::*[.//*[contains(@class,'code-input-lite__editor') and contains(@aria-label,'Value')]][1]");
    await indexRow.locator(".code-input-lite__editor[aria-label*='Value']").first().click();
    await page.keyboard.type(index);
    const blocked = page.waitForResponse((r) => r.url().includes(`index=${index}`), { timeout: 15_000 });
    const started = Date.now();
    await page.getByRole("button", { name: /^Send/ }).first().click();
    const timedOut = await blocked;
    const ms = Date.now() - started;
    expect(timedOut.url()).toContain("wait=1s");
    expect(timedOut.status()).toBe(200);
    expect(timedOut.headers()["x-nomad-index"]).toBe(index);
    expect(ms).toBeGreaterThanOrEqual(950);
    expect(ms).toBeLessThan(5000);
    await page.screenshot({ path: join(SHOTS, "docs-try-it-blocking.png") });
  }, 60_000);

  it("made no request to any other host and broke no content-security rule", () => {
    expect(foreign).toEqual([]);
    expect(consoleErrors.filter((e) => /Content Security Policy|Refused to/i.test(e))).toEqual([]);
  });
});
