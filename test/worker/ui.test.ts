/**
 * The status pages' HTML as the Worker serves it (src/endpoints/ui.ts): one `<h1>`, the bundled
 * script and style from this origin, a strict Content-Security-Policy, the id escaped. The pages
 * running in Chromium are tested in test/blackbox/status-page-browser.test.ts.
 */
import { describe, expect, it } from "vitest";
import { DEMO_ALLOC_ID } from "../../src/demo/allocation.ts";
import { STATUS_PAGE_PATH } from "../../src/endpoints/docs.ts";
import { UI_SCRIPT_PATH, UI_STYLE_PATH } from "../../src/endpoints/ui.ts";
import { call } from "../support/worker.ts";

async function page(path: string): Promise<{ response: Response; html: string }> {
  const response = await call(path);
  return { response, html: await response.text() };
}

describe("status pages (HTML)", () => {
  it("serves /ui/allocations with one h1, the bundle and a same-origin-only policy", async () => {
    const { response, html } = await page("/ui/allocations?region=europe&namespace=default");
    expect(response.status).toBe(200);
    expect(response.headers.get("Content-Type")).toBe("text/html; charset=utf-8");
    const csp = response.headers.get("Content-Security-Policy") ?? "";
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).not.toContain("unsafe-inline");
    expect(html.match(/<h1[\s>]/g)).toHaveLength(1);
    expect(html).toContain(`<script type="module" src="${UI_SCRIPT_PATH}"></script>`);
    expect(html).toContain(`<link rel="stylesheet" href="${UI_STYLE_PATH}" />`);
    expect(html).toContain('data-page="allocations"');
    expect(html).not.toMatch(/https?:\/\//);
    // No inline script: the policy would refuse it.
    expect(html.match(/<script\b[^>]*>/g)).toEqual([`<script type="module" src="${UI_SCRIPT_PATH}">`]);
  });

  it("serves /ui/allocation/<id> with the id for the script, escaped", async () => {
    const { response, html } = await page(`/ui/allocation/${DEMO_ALLOC_ID}?region=global`);
    expect(response.status).toBe(200);
    expect(html).toContain(`data-page="allocation" data-alloc="${DEMO_ALLOC_ID}"`);
    expect(html).toContain("<title>Allocation 203266e5</title>");
    const hostile = await page(`/ui/allocation/${encodeURIComponent('"><script>alert(1)</script>')}`);
    expect(hostile.response.status).toBe(200);
    expect(hostile.html).not.toContain("<script>alert");
    expect(hostile.html).toContain('data-alloc="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"');
  });

  it("streams (log follows, the event stream) opt out of automatic compression, which would hold frames back", async () => {
    const response = await call("/v1/event/stream?topic=Allocation");
    expect(response.status).toBe(200);
    expect(response.headers.get("Content-Encoding")).toBe("identity");
    await response.body?.cancel();
  });

  it("is GET only, and the docs page links to it", async () => {
    expect((await call("/ui/allocations", { method: "POST" })).status).toBe(404);
    expect((await call("/ui/nothing")).status).toBe(404);
    expect(await (await call("/docs")).text()).toContain(`<a href="${STATUS_PAGE_PATH}">`);
  });
});
