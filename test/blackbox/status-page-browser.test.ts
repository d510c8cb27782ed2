/**
 * The live status pages in a real headless Chromium (test/support/browser.ts) against a real dev
 * server (`npm start`): writes through the ingest API show up on the open pages without a reload
 * within 2 s (a row's status, a task event on the timeline, log bytes), an allocation whose task
 * has not started says so in its log pane, every failure a person can act on is explained (unknown
 * allocation, unknown region, unreachable server with its retry, a missing token with the form to
 * paste one), polling stops while the tab is hidden, the keyboard reaches everything, and the
 * first load stays within 100 KB compressed. No request may leave the origin (recorded and
 * blocked) and no script error may happen. Screenshots at desktop width and 360 px go to
 * test-output/.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import type { Page, Request as PageRequest } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ANONYMOUS_READ_RULES, DEMO_ALLOC_ID, DEMO_ALLOCATION_JSON } from "../../src/demo/allocation.ts";
import { type LaunchedBrowser, launchBrowser } from "../support/browser.ts";
import { type DevServer, startDevServer } from "../support/dev-server.ts";
import { ROOT } from "../support/tools.ts";

const SHOTS = join(ROOT, "test-output");
/** What a page's first load may cost in our own code (HTML, script, style, icon). */
const BUDGET_BYTES = 100 * 1024;
/** A write must be on the open page within this. */
const LIVE_MS = 2000;

let server: DevServer;
let browser: LaunchedBrowser;
let page: Page;
const foreign: string[] = [];
const pageErrors: string[] = [];
/** Console errors, and the ones a phase expects (Chromium logs every failed fetch). */
const consoleErrors: string[] = [];
let expectedConsoleError: RegExp | undefined;

function uuid(): string {
  return crypto.randomUUID();
}

async function ingest(method: string, path: string, body?: string): Promise<Response> {
  const response = await fetch(`${server.url}${path}`, { method, headers: { "X-Nomad-Token": server.token }, body });
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
  return response;
}

/** A pending copy of the demo allocation (no task states yet) under a new id. */
async function createPending(id: string): Promise<void> {
  await ingest("PUT", `/v1/allocation/${id}`, DEMO_ALLOCATION_JSON.replaceAll(DEMO_ALLOC_ID, id));
}

async function taskEvent(id: string, type: string, extra: Record<string, unknown> = {}): Promise<void> {
  await ingest(
    "POST",
    `/v1/allocation/${id}/task-events`,
    JSON.stringify({ Events: [{ Task: "redis", Event: { Type: type, ...extra } }] }),
  );
}

async function shoot(name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `status-${name}.png`), fullPage: true });
}

/** Both widths: desktop and 360 px; the page must not scroll sideways at 360 px. */
async function shootBoth(name: string): Promise<void> {
  await shoot(`${name}-desktop`);
  await page.setViewportSize({ width: 360, height: 800 });
  await page.waitForTimeout(200);
  expect(await inPage<number>("document.documentElement.scrollWidth")).toBeLessThanOrEqual(360);
  await shoot(`${name}-360px`);
  await page.setViewportSize({ width: 1280, height: 900 });
}

/** Loads a page and returns the compressed size of everything of ours it loaded (not API data). */
async function load(path: string): Promise<number> {
  const bodies: Promise<number>[] = [];
  const onResponse = (response: import("playwright-core").Response) => {
    const url = new URL(response.url());
    if (url.origin !== server.url || url.pathname.startsWith("/v1/")) return;
    bodies.push(response.body().then((body) => gzipSync(body, { level: 9 }).byteLength));
  };
  page.on("response", onResponse);
  // "load" waits for the script and the style; the long polls stay open, so never "networkidle".
  await page.goto(`${server.url}${path}`, { waitUntil: "load" });
  page.off("response", onResponse);
  return (await Promise.all(bodies)).reduce((a, b) => a + b, 0);
}

/** Marks the document; still marked later means the page was never reloaded. */
async function markDocument(): Promise<void> {
  await inPage("window.__sameDocument = true");
}

async function sameDocument(): Promise<boolean> {
  return inPage<boolean>("window.__sameDocument === true");
}

/** Evaluates browser-side code (the tests compile without DOM types). */
function inPage<T = unknown>(expression: string): Promise<T> {
  return page.evaluate(expression) as Promise<T>;
}

function row(id: string) {
  return page.locator(`tr[data-id="${id}"]`);
}

beforeAll(async () => {
  browser = await launchBrowser({ viewport: { width: 1280, height: 900 } });
  server = await startDevServer();
  mkdirSync(SHOTS, { recursive: true });
  const origin = new URL(server.url).origin;
  await browser.context.route("**/*", (route) => {
    const url = route.request().url();
    if (url.startsWith("data:") || url.startsWith("blob:") || new URL(url).origin === origin) return route.continue();
    foreign.push(url);
    return route.abort("blockedbyclient");
  });
  browser.context.on("websocket" as "page", (ws) => foreign.push(`websocket ${(ws as unknown as { url(): string }).url()}`));
  page = browser.page;
  page.on("pageerror", (error) => pageErrors.push(error.message));
  page.on("console", (message) => {
    if (message.type() !== "error") return;
    if (expectedConsoleError?.test(message.text())) return;
    consoleErrors.push(message.text());
  });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

describe("status pages in Chromium", () => {
  const live = uuid();

  it("lists the region's allocations in a real table and keeps it current without a reload", async () => {
    const bytes = await load("/ui/allocations");
    expect(bytes).toBeGreaterThan(0);
    expect(bytes).toBeLessThanOrEqual(BUDGET_BYTES);
    await row(DEMO_ALLOC_ID).waitFor({ timeout: 10_000 });
    expect(await page.locator("h1").count()).toBe(1);
    expect(await page.locator("h1").textContent()).toBe("Allocations");
    expect(await page.locator("table thead th[scope=col]").allTextContents()).toEqual([
      "ID",
      "Client status",
      "Desired status",
      "Name",
      "Job",
      "Task group",
      "Modified",
    ]);
    // Nomad's CLI short id, linking to the allocation's page; status as words, not colour alone.
    expect(await row(DEMO_ALLOC_ID).locator("th[scope=row]").textContent()).toBe("203266e5");
    expect(await row(DEMO_ALLOC_ID).locator(".badge").first().textContent()).toBe("running");
    await page.getByText(/^Live: updated/).waitFor();
    await markDocument();

    // A new allocation appears...
    await createPending(live);
    await row(live).waitFor({ timeout: LIVE_MS });
    expect(await row(live).locator(".badge").first().textContent()).toBe("pending");
    // ...and its status change shows, marked as changed for a moment.
    await taskEvent(live, "Started");
    await row(live).locator(".badge", { hasText: "running" }).waitFor({ timeout: LIVE_MS });
    expect(await row(live).getAttribute("class")).toContain("changed");
    expect(await sameDocument()).toBe(true);
    await shootBoth("allocations");
  }, 60_000);

  it("filters by ID prefix through the list's prefix parameter", async () => {
    await page.getByLabel("ID prefix").fill(live.slice(0, 6));
    await page.getByRole("button", { name: "Apply" }).click();
    await row(DEMO_ALLOC_ID).waitFor({ state: "detached", timeout: LIVE_MS });
    expect(await page.locator("tbody tr").count()).toBe(1);
    expect(page.url()).toContain(`prefix=${live.slice(0, 6)}`);
    await page.getByLabel("ID prefix").fill("");
    await page.getByRole("button", { name: "Apply" }).click();
    await row(DEMO_ALLOC_ID).waitFor({ timeout: LIVE_MS });
  }, 30_000);

  it("filters with a go-bexpr expression through filter=, and shows the server's refusal of a bad one", async () => {
    const pending = uuid();
    await createPending(pending);
    await page.getByLabel("Filter expression").fill('ClientStatus == "pending"');
    await page.getByRole("button", { name: "Apply" }).click();
    await row(DEMO_ALLOC_ID).waitFor({ state: "detached", timeout: LIVE_MS });
    await row(pending).waitFor({ timeout: LIVE_MS });
    expect(await page.locator("tbody tr .badge", { hasText: "running" }).count()).toBe(0);
    expect(new URL(page.url()).searchParams.get("filter")).toBe('ClientStatus == "pending"');
    // Live under the filter too: the allocation starts, so it leaves the filtered list.
    await taskEvent(pending, "Started");
    await row(pending).waitFor({ state: "detached", timeout: LIVE_MS });

    expectedConsoleError = /status of 400/;
    await page.getByLabel("Filter expression").fill("ClientStatus ==");
    await page.getByRole("button", { name: "Apply" }).click();
    await page
      .getByText(/^The server refused this filter: failed to create result paginator: failed to read filter expression/)
      .waitFor({ timeout: LIVE_MS });
    // Said once, next to the form; no rows of an earlier filter left on screen.
    expect(await page.getByRole("heading", { name: "The server refused the request" }).count()).toBe(0);
    expect(await page.locator("tbody tr").count()).toBe(0);
    await page.getByText(/^No result: the filter was refused/).waitFor();
    await shoot("bad-filter");
    expectedConsoleError = undefined;
    await page.getByLabel("Filter expression").fill("");
    await page.getByRole("button", { name: "Apply" }).click();
    await row(DEMO_ALLOC_ID).waitFor({ timeout: LIVE_MS });
    expect(await page.locator(".form-error").textContent()).toBe("");
  }, 30_000);

  it("reaches an allocation's page with the keyboard alone", async () => {
    await inPage("document.activeElement?.blur()");
    let reached = false;
    for (let i = 0; i < 40 && !reached; i++) {
      await page.keyboard.press("Tab");
      reached = await inPage<boolean>(`document.activeElement?.closest("tr")?.getAttribute("data-id") === ${JSON.stringify(live)}`);
    }
    expect(reached).toBe(true);
    await Promise.all([page.waitForURL(`**/ui/allocation/${live}`), page.keyboard.press("Enter")]);
  }, 30_000);

  it("shows one allocation live: a task event on the timeline and ingested log bytes, stdout and stderr", async () => {
    await page.locator("h1", { hasText: `Allocation ${live.slice(0, 8)}` }).waitFor({ timeout: 10_000 });
    expect(await page.locator("h1").count()).toBe(1);
    await page.locator(".timeline li", { hasText: "Started" }).waitFor({ timeout: 10_000 });
    expect(await page.locator("table.tasks th[scope=col]").allTextContents()).toEqual([
      "Task",
      "State",
      "Started",
      "Finished",
      "Restarts",
      "Failed",
    ]);
    // The exact nanosecond value is on hover.
    expect(await page.locator(".timeline time").first().getAttribute("title")).toMatch(/^\d{19} ns \(\d{4}-\d\d-\d\dT[\d:.]+Z\)$/);
    await page.getByText(/Following stdout: nothing written yet/).waitFor({ timeout: 10_000 });
    await markDocument();

    await taskEvent(live, "Driver", { DriverMessage: "pulling image from the test" });
    await page.locator(".timeline li", { hasText: "pulling image from the test" }).waitFor({ timeout: LIVE_MS });

    await ingest("POST", `/v1/client/fs/logs/${live}?task=redis&type=stdout`, "hello from stdout\nsecond line ü\n");
    await page.locator("pre.log", { hasText: "second line ü" }).waitFor({ timeout: LIVE_MS });
    expect(await page.locator("pre.log").textContent()).toBe("hello from stdout\nsecond line ü\n");
    await ingest("POST", `/v1/client/fs/logs/${live}?task=redis&type=stderr`, "warning on stderr\n");
    await page.getByRole("button", { name: "stderr" }).click();
    await page.locator("pre.log", { hasText: "warning on stderr" }).waitFor({ timeout: LIVE_MS });
    expect(await page.getByRole("button", { name: "stderr" }).getAttribute("aria-pressed")).toBe("true");
    // Still following: a second append arrives too.
    await ingest("POST", `/v1/client/fs/logs/${live}?task=redis&type=stderr`, "and more\n");
    await page.locator("pre.log", { hasText: "and more" }).waitFor({ timeout: LIVE_MS });
    await page.getByRole("button", { name: "stdout" }).click();
    await page.locator("pre.log", { hasText: "hello from stdout" }).waitFor({ timeout: LIVE_MS });
    expect(await sameDocument()).toBe(true);
    await shootBoth("allocation");
  }, 60_000);

  it("says plainly that a task which has not started has no logs yet, and follows once it starts", async () => {
    const pending = uuid();
    await createPending(pending);
    await taskEvent(pending, "Received");
    expectedConsoleError = /status of 404/; // the log read's 404 is the answer being explained
    await load(`/ui/allocation/${pending}`);
    await page.getByText("No logs yet: the task has not started.").waitFor({ timeout: 10_000 });
    await shootBoth("allocation-not-started");
    expectedConsoleError = undefined;
    await taskEvent(pending, "Started");
    await page.getByText(/Following stdout/).waitFor({ timeout: LIVE_MS });
  }, 60_000);

  it("explains an unknown allocation and shows it once it is created", async () => {
    const later = uuid();
    expectedConsoleError = /status of 404/;
    await load(`/ui/allocation/${later}`);
    await page.getByRole("heading", { name: "Unknown allocation" }).waitFor({ timeout: 10_000 });
    await page.getByText(`There is no allocation ${later} in region (default)`).waitFor();
    await shoot("unknown-allocation");
    await createPending(later);
    await page.locator(".summary .badge", { hasText: "pending" }).first().waitFor({ timeout: LIVE_MS });
    expect(await page.getByRole("heading", { name: "Unknown allocation" }).count()).toBe(0);

    // A malformed id: the server's own words (Nomad's lookup error).
    expectedConsoleError = /status of 400/;
    await load("/ui/allocation/not-an-id");
    await page.getByRole("heading", { name: "The server refused the request" }).waitFor({ timeout: 10_000 });
    await page.getByText(/^alloc lookup failed: index error: /).waitFor();
    expectedConsoleError = undefined;
  }, 60_000);

  it("explains an unknown region and links the known ones", async () => {
    expectedConsoleError = /status of 400/;
    await load("/ui/allocations?region=mars");
    await page.getByRole("heading", { name: "Unknown region" }).waitFor({ timeout: 10_000 });
    await page.getByText('This server has no region named "mars"').waitFor();
    for (const region of ["asia", "europe", "global"]) await page.getByRole("link", { name: region, exact: true }).waitFor();
    await shoot("unknown-region");
    expectedConsoleError = undefined;
    await Promise.all([
      page.waitForURL("**/ui/allocations?region=europe"),
      page.getByRole("link", { name: "europe", exact: true }).click(),
    ]);
    await page.getByText(/^Live: updated/).waitFor({ timeout: 10_000 });
    await page.getByText("No allocations in this region yet.").waitFor();
  }, 60_000);

  it("retries an unreachable server with a visible backoff, and recovers", async () => {
    await load("/ui/allocations");
    await row(DEMO_ALLOC_ID).waitFor({ timeout: 10_000 });
    // The network between the browser and the server goes down.
    expectedConsoleError = /ERR_CONNECTION_REFUSED|Failed to fetch/;
    await page.route("**/v1/allocations?**", (route) => route.abort("connectionrefused"));
    await createPending(uuid()); // wakes the parked query; its retry then fails
    await page.getByText(/Cannot reach the server\. Retrying in \d+ s \(attempt 1\)/).waitFor({ timeout: 5000 });
    await page.getByText(/\(attempt 2\)/).waitFor({ timeout: 5000 });
    await shoot("unreachable");
    await page.unroute("**/v1/allocations?**");
    await page.getByRole("button", { name: "Retry now" }).click();
    await page.getByText(/^Live: updated/).waitFor({ timeout: 5000 });
    expectedConsoleError = undefined;
  }, 60_000);

  it("stops polling while the tab is hidden and catches up when it is visible", async () => {
    const polls: string[] = [];
    const onRequest = (request: PageRequest) => {
      if (request.url().includes("/v1/allocations")) polls.push(request.url());
    };
    // What the browser does when the tab goes to the background: document.hidden and an event.
    const setHidden = (hidden: boolean) =>
      inPage(`Object.defineProperty(document, "hidden", { configurable: true, get: () => ${hidden} });
        Object.defineProperty(document, "visibilityState", { configurable: true, get: () => ${hidden ? '"hidden"' : '"visible"'} });
        document.dispatchEvent(new Event("visibilitychange"))`);
    await setHidden(true);
    await page.getByText("Paused while this tab is hidden; resumes when it is visible.").waitFor({ timeout: 2000 });
    page.on("request", onRequest);
    const missed = uuid();
    await createPending(missed);
    await page.waitForTimeout(1500);
    expect(polls).toEqual([]);
    expect(await row(missed).count()).toBe(0);
    await setHidden(false);
    await row(missed).waitFor({ timeout: LIVE_MS });
    page.off("request", onRequest);
    expect(polls.length).toBeGreaterThan(0);
  }, 30_000);

  it("asks for a token when reads need one, keeps it in the tab and sends it as X-Nomad-Token", async () => {
    await ingest("DELETE", "/v1/acl/policy/anonymous");
    try {
      expectedConsoleError = /status of 403/;
      // The edge trusts a resolved policy for ACL_CACHE_TTL (2 s): load until the refusal shows.
      for (let i = 0; i < 10; i++) {
        await load("/ui/allocations");
        if (
          await page
            .getByRole("heading", { name: "A token is needed" })
            .isVisible({ timeout: 2000 })
            .catch(() => false)
        )
          break;
        await page.waitForTimeout(500);
      }
      await page.getByRole("heading", { name: "A token is needed" }).waitFor({ timeout: 2000 });
      await shootBoth("token-needed");
      const sent = page.waitForRequest(
        (request) => request.url().includes("/v1/allocations") && request.headers()["x-nomad-token"] === server.token,
      );
      await page.getByLabel("ACL token (SecretID)").fill(server.token);
      await page.getByRole("button", { name: "Use token" }).click();
      await sent;
      await row(DEMO_ALLOC_ID).waitFor({ timeout: 5000 });
      expect(await page.evaluate(() => sessionStorage.getItem("nomad-token"))).toBe(server.token);
      expect(await page.evaluate(() => localStorage.length)).toBe(0);
      // The allocation page (and its logs) read with the same token.
      await load(`/ui/allocation/${live}`);
      await page.locator("pre.log", { hasText: "hello from stdout" }).waitFor({ timeout: 10_000 });
      // Every namespace (namespace=*): a Namespace column says which one each row is in.
      const ops = uuid();
      // A string edit, not JSON.parse: CreateTime is above 2^53 and must arrive exact.
      const opsJson = DEMO_ALLOCATION_JSON.replaceAll(DEMO_ALLOC_ID, ops).replace(
        '"TaskGroup":"cache"',
        '"Namespace":"ops","TaskGroup":"cache"',
      );
      expect(opsJson).toContain('"Namespace":"ops"');
      await ingest("PUT", `/v1/allocation/${ops}`, opsJson);
      await load("/ui/allocations?namespace=*");
      await row(ops).waitFor({ timeout: 10_000 });
      expect(await page.locator("table thead th[scope=col]").allTextContents()).toContain("Namespace");
      expect(await row(ops).locator("td").allTextContents()).toContain("ops");
      expect(await row(DEMO_ALLOC_ID).locator("td").allTextContents()).toContain("default");
      await page.getByRole("button", { name: "Forget token" }).click();
      expect(await page.evaluate(() => sessionStorage.getItem("nomad-token"))).toBeNull();
    } finally {
      const policy = JSON.stringify({ Name: "anonymous", Description: "Public reads (demo)", Rules: ANONYMOUS_READ_RULES });
      await ingest("POST", "/v1/acl/policy/anonymous", policy);
      await page.goto("about:blank");
      expectedConsoleError = undefined;
    }
  }, 90_000);

  it("is linked from the docs page", async () => {
    await page.goto(`${server.url}/docs`, { waitUntil: "load" });
    await Promise.all([page.waitForURL("**/ui/allocations"), page.getByRole("link", { name: "Live allocation status page" }).click()]);
    await page.locator("h1", { hasText: "Allocations" }).waitFor();
    expect(server.output()).toContain(`${server.url}/ui/allocations`);
  }, 60_000);

  it("made no request to any other host and had no script or console error", () => {
    expect(foreign).toEqual([]);
    expect(pageErrors).toEqual([]);
    expect(consoleErrors).toEqual([]);
  });
});
