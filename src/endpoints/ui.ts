/**
 * The status pages' HTML: `/ui/allocations` and `/ui/allocation/<id>`. The Worker sends a small
 * shell (one `<h1>`, the page's name and id in data attributes); the bundled script
 * (`/ui/status.js`, built from `src/ui/` by scripts/build-ui.ts, served from the static assets)
 * reads everything from this origin's public API. The Content-Security-Policy holds the page to
 * this origin: no inline code, no other host.
 */
import { decodePathText } from "../http/query.ts";
import { replyDocument } from "../http/reply.ts";
import { param } from "../openapi/parameters.ts";
import { TAG } from "../openapi/tags.ts";
import { ACCESS } from "../pipeline/access.ts";
import type { Endpoint } from "../pipeline/endpoint.ts";
import { FAVICON_PATH } from "./docs.ts";

const UI_PREFIX = "/ui/allocation/";
export const UI_SCRIPT_PATH = "/ui/status.js";
export const UI_STYLE_PATH = "/ui/status.css";

const UI_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join("; ");

const escapeHtml = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

function page(kind: "allocations" | "allocation", title: string, heading: string, alloc = ""): Response {
  const html = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>${escapeHtml(title)}</title>
    <meta name="description" content="Live status of Nomad allocations, read from this server's public API" />
    <link rel="icon" type="image/svg+xml" href="${FAVICON_PATH}" />
    <link rel="stylesheet" href="${UI_STYLE_PATH}" />
    <script type="module" src="${UI_SCRIPT_PATH}"></script>
  </head>
  <body data-page="${kind}" data-alloc="${escapeHtml(alloc)}">
    <a class="skip" href="#main">Skip to content</a>
    <nav class="top" aria-label="Site"><a href="/ui/allocations">Allocations</a><a href="/docs">API reference</a></nav>
    <main id="main" tabindex="-1">
      <h1>${escapeHtml(heading)}</h1>
      <noscript><p>This page updates itself with JavaScript. Without it, read the same data as JSON: <a href="/v1/allocations">/v1/allocations</a>.</p></noscript>
    </main>
  </body>
</html>
`;
  return replyDocument(html, "text/html; charset=utf-8", {
    "Content-Security-Policy": UI_CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
  });
}

/** The id is passed on as written; the API answers a malformed or unknown one, and the page says so. */
function allocationPage(request: Request): Response {
  const raw = new URL(request.url).pathname.slice(UI_PREFIX.length);
  const id = decodePathText(raw);
  return page("allocation", `Allocation ${id.slice(0, 8)}`, "Allocation", id);
}

const HTML_PAGE = { description: "The HTML page.", content: { "text/html": { schema: { type: "string" } } } };

export const UI_ENDPOINTS: Endpoint[] = [
  {
    path: "/ui/allocations",
    operations: [
      {
        method: "get",
        access: ACCESS.public,
        handler: () => page("allocations", "Allocations", "Allocations"),
        doc: {
          operationId: "getAllocationsPage",
          summary: "Live status page: the region's allocations (HTML)",
          description:
            "A page that lists the region's allocations and keeps the list current through blocking queries on `GET /v1/allocations`, to which it passes `namespace`, `prefix` and `filter` as given. It reads only this origin's public API; when the `anonymous` policy does not allow the reads it asks for a token, kept in the browser tab only (docs/status-page.md).",
          tags: [TAG.docs],
          parameters: (["Region", "Namespace", "Prefix", "Filter"] as const).map(param),
          responses: { "200": HTML_PAGE },
        },
      },
    ],
  },
  {
    path: "/ui/allocation/{alloc_id}",
    operations: [
      {
        method: "get",
        access: ACCESS.public,
        handler: allocationPage,
        doc: {
          operationId: "getAllocationPage",
          summary: "Live status page: one allocation (HTML)",
          description:
            "A page that shows one allocation (status, tasks, the task events as a timeline, a log pane per task) and keeps it current through blocking queries on `GET /v1/allocation/{alloc_id}` and log follows on `GET /v1/client/fs/logs/{alloc_id}`. An unknown or malformed id is explained by the page (the HTML itself is always 200).",
          tags: [TAG.docs],
          parameters: (["AllocId", "Region"] as const).map(param),
          responses: { "200": HTML_PAGE },
        },
      },
    ],
  },
];
