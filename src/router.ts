/**
 * The route table. Handlers return a Response or throw; `errorResponse` writes every error.
 */
import { Router } from "itty-router";
import { parseAllocId } from "./domain/alloc-id.ts";
import {
  ALLOCATION_PREFIX,
  deleteAllocation,
  getAllocation,
  postTaskEvents,
  putAllocation,
  type RoutedRequest,
} from "./handlers/allocation.ts";
import { getDocs, getOpenApiDocument, redirectToDocs } from "./handlers/docs.ts";
import { getLogs, LOGS_PREFIX, postLogs } from "./handlers/logs.ts";
import { CodedError, ErrorText, errorResponse } from "./http/errors.ts";

const invalidMethod = () => {
  throw new CodedError(405, ErrorText.invalidMethod);
};

export const router = Router<RoutedRequest, [Env, ExecutionContext]>({ catch: errorResponse })
  .get("/v1/allocation/:alloc_id", getAllocation)
  .put("/v1/allocation/:alloc_id", putAllocation)
  .delete("/v1/allocation/:alloc_id", deleteAllocation)
  .all("/v1/allocation/:alloc_id", invalidMethod)
  .post("/v1/allocation/:alloc_id/task-events", postTaskEvents)
  .all("/v1/allocation/:alloc_id/task-events", invalidMethod)
  .get("/v1/client/fs/logs/:alloc_id", getLogs)
  .post("/v1/client/fs/logs/:alloc_id", postLogs)
  .all("/v1/client/fs/logs/:alloc_id", invalidMethod)
  // The API's documentation (src/handlers/docs.ts); its static assets are served before the Worker.
  .get("/openapi.json", getOpenApiDocument)
  .get("/docs", getDocs)
  .get("/", redirectToDocs)
  .all("*", (request) => {
    const { pathname } = new URL(request.url);
    // Go's ServeMux redirects the subtree root without its slash.
    if (pathname === "/v1/allocation") return new Response(null, { status: 301, headers: { Location: "/v1/allocation/" } });
    // Empty ids and extra path segments: Nomad takes the whole rest of the path as the id.
    if (pathname.startsWith(ALLOCATION_PREFIX) || pathname.startsWith(LOGS_PREFIX)) {
      if (!["GET", "PUT", "DELETE"].includes(request.method)) invalidMethod();
      parseAllocId(pathname.slice(ALLOCATION_PREFIX.length));
    }
    throw new CodedError(404, ErrorText.pageNotFound);
  });
