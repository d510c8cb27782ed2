/**
 * `/docs` (the Scalar API reference), `/` (its redirect) and the static assets the page loads.
 * `exports.default.fetch` bypasses the assets router, so assets are fetched through `env.ASSETS`.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { FAVICON_PATH, SCALAR_BUNDLE_PATH } from "../../src/endpoints/docs.ts";
import { call } from "../support/worker.ts";

describe("GET /docs", () => {
  it("serves the Scalar page with a title, a favicon and everything from this origin", async () => {
    const response = await call("/docs");
    expect(response.status).toBe(200);
    expect(response.headers.get("Content-Type")).toBe("text/html; charset=utf-8");
    const csp = response.headers.get("Content-Security-Policy") ?? "";
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    const html = await response.text();
    expect(html).toContain("<title>Nomad Allocation API reference</title>");
    expect(html).toContain(`<link rel="icon" type="image/svg+xml" href="${FAVICON_PATH}" />`);
    expect(html).toContain(`<script src="${SCALAR_BUNDLE_PATH}"></script>`);
    expect(html).toContain('"url":"/openapi.json"');
    expect(html).toContain('"withDefaultFonts":false');
    expect(html).toContain('"telemetry":false');
    expect(html).toContain('"externalUrls":{"dashboardUrl":"","registryUrl":"","proxyUrl":"","apiBaseUrl":""}');
    expect(html).not.toMatch(/https?:\/\//);
  });

  it("is GET only", async () => {
    expect((await call("/docs", { method: "POST" })).status).toBe(404);
  });
});

describe("GET /", () => {
  it("redirects to /docs", async () => {
    const response = await call("/", { redirect: "manual" });
    expect(response.status).toBe(302);
    expect(response.headers.get("Location")).toBe("/docs");
  });
});

describe("static assets", () => {
  it("hold Scalar's self-contained bundle (copied by postinstall) and the favicon", async () => {
    const bundle = await env.ASSETS.fetch(`http://assets.test${SCALAR_BUNDLE_PATH}`);
    expect(bundle.status).toBe(200);
    const script = await bundle.text();
    expect(script.length).toBeGreaterThan(1_000_000);
    expect(script).toContain("createApiReference");
    const favicon = await env.ASSETS.fetch(`http://assets.test${FAVICON_PATH}`);
    expect(favicon.status).toBe(200);
    expect(await favicon.text()).toContain("<svg");
  });
});
