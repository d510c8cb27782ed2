/**
 * The endpoint table: every endpoint the Worker serves, each declared once in its resource's file.
 * The router (src/router.ts) and the OpenAPI document are both built from this list, in this
 * order (which is also the document's order, and the router's where patterns overlap).
 */
import { openApiJson } from "../openapi/document.ts";
import type { Endpoint } from "../pipeline/endpoint.ts";
import { ACL_POLICY_ENDPOINTS } from "./acl-policies.ts";
import { ACL_TOKEN_ENDPOINTS } from "./acl-tokens.ts";
import { ALLOCATION_ENDPOINTS } from "./allocation.ts";
import { STOP_ENDPOINTS } from "./allocation-stop.ts";
import { BATCH_ENDPOINTS } from "./batch.ts";
import { docsEndpoints } from "./docs.ts";
import { EVENT_ENDPOINTS } from "./events.ts";
import { LIST_ENDPOINTS } from "./list.ts";
import { LOG_ENDPOINTS } from "./logs.ts";
import { STATUS_ENDPOINTS } from "./status.ts";
import { TASK_EVENT_ENDPOINTS } from "./task-events.ts";
import { UI_ENDPOINTS } from "./ui.ts";

let documentJson: string | undefined;

/** The OpenAPI document of `ENDPOINTS`, as served and committed (built once per isolate). */
export function apiDocument(): string {
  documentJson ??= openApiJson(ENDPOINTS);
  return documentJson;
}

export const ENDPOINTS: readonly Endpoint[] = [
  ...ALLOCATION_ENDPOINTS,
  ...TASK_EVENT_ENDPOINTS,
  ...STOP_ENDPOINTS,
  ...LIST_ENDPOINTS,
  ...EVENT_ENDPOINTS,
  ...LOG_ENDPOINTS,
  ...STATUS_ENDPOINTS,
  ...BATCH_ENDPOINTS,
  ...ACL_POLICY_ENDPOINTS,
  ...ACL_TOKEN_ENDPOINTS,
  ...docsEndpoints(apiDocument),
  ...UI_ENDPOINTS,
];
