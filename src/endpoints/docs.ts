/**
 * The API's own documentation: `/openapi.json` (the document src/openapi/ builds from the endpoint
 * table), `/docs` (the Scalar API reference, loaded from this Worker's static assets) and `/` (a
 * redirect to `/docs`). The page must make no request to any other host: Scalar's fonts, proxy,
 * telemetry and registry URLs are switched off, and a Content-Security-Policy holds the browser to that.
 */
import { redirect, replyDocument } from "../http/reply.ts";
import { API_TITLE } from "../openapi/document.ts";
import { TAG } from "../openapi/tags.ts";
import { ACCESS } from "../pipeline/access.ts";
import type { Endpoint } from "../pipeline/endpoint.ts";

/** Where the postinstall step (`scripts/copy-scalar.ts`) puts Scalar's browser bundle. */
export const SCALAR_BUNDLE_PATH = "/vendor/scalar-standalone.js";
export const FAVICON_PATH = "/favicon.svg";
/** The live status page (src/endpoints/ui.ts), linked above the reference. */
export const STATUS_PAGE_PATH = "/ui/allocations";

/** Scalar's configuration: same-origin "Try it", nothing fetched from scalar.com or elsewhere. */
const SCALAR_CONFIG = {
  url: "/openapi.json",
  withDefaultFonts: false,
  telemetry: false,
  hideClientButton: true,
  showDeveloperTools: "never",
  agent: { disabled: true },
  mcp: { disabled: true },
  externalUrls: { dashboardUrl: "", registryUrl: "", proxyUrl: "", apiBaseUrl: "" },
  documentDownloadType: "json",
  defaultOpenAllTags: true,
  expandAllModelSections: true,
};

/** Only this origin, for everything; inline script and styles for Scalar's bootstrap and CSS-in-JS. */
const DOCS_CSP = [
  "default-src 'self'",
  "script-src 'self' 'unsafe-inline'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "worker-src 'self' blob:",
  "frame-ancestors 'self'",
  "base-uri 'self'",
  "form-action 'self'",
].join("; ");

const escapeHtml = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

const DOCS_HTML = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>${escapeHtml(API_TITLE)} reference</title>
    <meta name="description" content="Interactive reference of the Nomad-compatible /v1/allocation API" />
    <link rel="icon" type="image/svg+xml" href="${FAVICON_PATH}" />
  </head>
  <body>
    <p style="margin:0;padding:6px 16px;font:14px system-ui,sans-serif"><a href="${STATUS_PAGE_PATH}">Live allocation status page</a></p>
    <div id="app"></div>
    <script src="${SCALAR_BUNDLE_PATH}"></script>
    <script>
      Scalar.createApiReference("#app", ${JSON.stringify(SCALAR_CONFIG).replace(/</g, "\\u003c")});
    </script>
  </body>
</html>
`;

const PUBLIC_CACHE = "public, max-age=300";

/**
 * The documentation's endpoints. The document describes every endpoint, these included, so it is
 * given as a function: the endpoint table (src/endpoints/index.ts) builds it from itself.
 */
export function docsEndpoints(document: () => string): Endpoint[] {
  return [
    {
      path: "/openapi.json",
      operations: [
        {
          method: "get",
          access: ACCESS.public,
          handler: () =>
            replyDocument(document(), "application/json", {
              // Public and static: let other origins' tools (client generators, editors) load it.
              "Access-Control-Allow-Origin": "*",
              "Cache-Control": PUBLIC_CACHE,
            }),
          doc: {
            operationId: "getOpenApiDocument",
            summary: "This OpenAPI document",
            description: "The OpenAPI 3.1 document of this API, as JSON. The same document is committed as `openapi/openapi.json`.",
            tags: [TAG.docs],
            responses: {
              "200": {
                description: "The OpenAPI document.",
                content: { "application/json": { schema: { type: "object", additionalProperties: true } } },
              },
            },
          },
        },
      ],
    },
    {
      path: "/docs",
      operations: [
        {
          method: "get",
          access: ACCESS.public,
          handler: () =>
            replyDocument(DOCS_HTML, "text/html; charset=utf-8", {
              "Content-Security-Policy": DOCS_CSP,
              "X-Content-Type-Options": "nosniff",
              "Referrer-Policy": "no-referrer",
              "Cache-Control": PUBLIC_CACHE,
            }),
          doc: {
            operationId: "getDocs",
            summary: "API reference (HTML)",
            description: "This interactive API reference, served entirely by this server (no CDN, fonts or telemetry).",
            tags: [TAG.docs],
            responses: {
              "200": { description: "The HTML page.", content: { "text/html": { schema: { type: "string" } } } },
            },
          },
        },
      ],
    },
    {
      path: "/",
      operations: [
        {
          method: "get",
          access: ACCESS.public,
          handler: () => redirect("/docs", 302),
          doc: {
            operationId: "getRoot",
            summary: "Redirect to the API reference",
            description: "Redirects to `/docs`.",
            tags: [TAG.docs],
            responses: {
              "302": {
                description: "Redirect to `/docs`.",
                headers: { Location: { description: "`/docs`", required: true, schema: { type: "string", const: "/docs" } } },
              },
            },
          },
        },
      ],
    },
  ];
}
