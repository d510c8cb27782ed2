/**
 * The route table. Handlers return a Response or throw; `errorResponse` writes every error.
 */
import { Router } from "itty-router";
import { parseAllocId } from "./domain/alloc-id.ts";
import { CodedError, ErrorText } from "./errors.ts";
import {
  createToken,
  deletePolicy,
  deleteToken,
  getPolicy,
  getToken,
  getTokenSelf,
  listPolicies,
  listTokens,
  putPolicy,
  updateToken,
} from "./handlers/acl.ts";
import {
  ALLOCATION_PREFIX,
  deleteAllocation,
  getAllocation,
  missingSubResource,
  postTaskEvents,
  putAllocation,
  type RoutedRequest,
  stopAllocation,
} from "./handlers/allocation.ts";
import { listAllocations } from "./handlers/allocations.ts";
import { postAllocationBatch } from "./handlers/batch.ts";
import { getDocs, getOpenApiDocument, redirectToDocs } from "./handlers/docs.ts";
import { streamEvents } from "./handlers/events.ts";
import { getLogs, LOGS_PREFIX, LogErrors, postLogs } from "./handlers/logs.ts";
import { getAgentSelf, getLeader, getPeers, getRegions } from "./handlers/status.ts";
import { getAllocationPage, getAllocationsPage } from "./handlers/ui.ts";
import { errorResponse, redirect } from "./http/reply.ts";

/** Path prefixes that end in an allocation id, and the methods each serves. */
const ID_ROUTES: Array<[string, string[]]> = [
  [ALLOCATION_PREFIX, ["GET", "PUT", "DELETE"]],
  [LOGS_PREFIX, ["GET", "POST"]],
];

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
  .post("/v1/allocation/:alloc_id/stop", stopAllocation)
  .put("/v1/allocation/:alloc_id/stop", stopAllocation)
  .all("/v1/allocation/:alloc_id/stop", invalidMethod)
  .all("/v1/allocation/:alloc_id/services", missingSubResource)
  .all("/v1/allocation/:alloc_id/checks", missingSubResource)
  .get("/v1/client/fs/logs/:alloc_id", getLogs)
  .post("/v1/client/fs/logs/:alloc_id", postLogs)
  .all("/v1/client/fs/logs/:alloc_id", invalidMethod)
  .get("/v1/allocations", listAllocations)
  .all("/v1/allocations", invalidMethod)
  .post("/v1/allocations/batch", postAllocationBatch)
  .all("/v1/allocations/batch", invalidMethod)
  .get("/v1/event/stream", streamEvents)
  .all("/v1/event/stream", invalidMethod)
  .post("/v1/acl/policy/:name", putPolicy)
  .put("/v1/acl/policy/:name", putPolicy)
  .get("/v1/acl/policy/:name", getPolicy)
  .delete("/v1/acl/policy/:name", deletePolicy)
  .all("/v1/acl/policy/:name", invalidMethod)
  .get("/v1/acl/policies", listPolicies)
  .all("/v1/acl/policies", invalidMethod)
  .post("/v1/acl/token", createToken)
  .put("/v1/acl/token", createToken)
  .all("/v1/acl/token", invalidMethod)
  .get("/v1/acl/tokens", listTokens)
  .all("/v1/acl/tokens", invalidMethod)
  .get("/v1/acl/token/self", getTokenSelf)
  .all("/v1/acl/token/self", invalidMethod)
  .get("/v1/acl/token/:accessor_id", getToken)
  .post("/v1/acl/token/:accessor_id", updateToken)
  .put("/v1/acl/token/:accessor_id", updateToken)
  .delete("/v1/acl/token/:accessor_id", deleteToken)
  .all("/v1/acl/token/:accessor_id", invalidMethod)
  .get("/v1/status/leader", getLeader)
  .get("/v1/status/peers", getPeers)
  .get("/v1/regions", getRegions)
  .get("/v1/agent/self", getAgentSelf)
  // The API's documentation (src/handlers/docs.ts); its static assets are served before the Worker.
  .get("/openapi.json", getOpenApiDocument)
  .get("/docs", getDocs)
  .get("/", redirectToDocs)
  // The live status pages (src/handlers/ui.ts); their script and style are static assets.
  .get("/ui/allocations", getAllocationsPage)
  .get("/ui/allocation/:alloc_id", getAllocationPage)
  .all("*", (request) => {
    const { pathname } = new URL(request.url);
    // Go's ServeMux redirects the subtree root without its slash.
    if (pathname === "/v1/allocation") return redirect("/v1/allocation/", 301);
    // Empty ids and extra path segments: Nomad takes the whole rest of the path as the id.
    for (const [prefix, methods] of ID_ROUTES) {
      if (!pathname.startsWith(prefix)) continue;
      if (!methods.includes(request.method)) invalidMethod();
      // Nomad's logs endpoint checks for an id before anything else.
      if (prefix === LOGS_PREFIX && pathname === LOGS_PREFIX && request.method === "GET") {
        throw new CodedError(400, LogErrors.allocIdMissing);
      }
      parseAllocId(pathname.slice(prefix.length));
    }
    throw new CodedError(404, ErrorText.pageNotFound);
  });
