/**
 * The API's own documentation: `/openapi.json` (the document built by `src/spec`), `/docs` (the
 * Scalar API reference, loaded from this Worker's static assets) and `/` (a redirect to `/docs`).
 * The page must make no request to any other host: Scalar's fonts, proxy, telemetry and
 * registry URLs are switched off, and a Content-Security-Policy holds the browser to that.
 */
import { redirect, replyDocument } from "../http/reply.ts";
import { API_TITLE, openApiJson } from "../spec/document.ts";

/** Where the postinstall step (`src/tools/copy-scalar.ts`) puts Scalar's browser bundle. */
export const SCALAR_BUNDLE_PATH = "/vendor/scalar-standalone.js";
export const FAVICON_PATH = "/favicon.svg";
/** The live status page (src/handlers/ui.ts), linked above the reference. */
export const STATUS_PAGE_PATH = "/ui/allocations";

/** Scalar's configuration: same-origin "Try it", nothing fetched from scalar.com or elsewhere. */
export const SCALAR_CONFIG = {
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
export const DOCS_CSP = [
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

export const DOCS_HTML = `<!doctype html>
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

let documentJson: string | undefined;

export function getOpenApiDocument(): Response {
  documentJson ??= openApiJson();
  return replyDocument(documentJson, "application/json", {
    // Public and static: let other origins' tools (client generators, editors) load it.
    "Access-Control-Allow-Origin": "*",
    "Cache-Control": "public, max-age=300",
  });
}

export function getDocs(): Response {
  return replyDocument(DOCS_HTML, "text/html; charset=utf-8", {
    "Content-Security-Policy": DOCS_CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "public, max-age=300",
  });
}

export function redirectToDocs(): Response {
  return redirect("/docs", 302);
}
