/** `/v1/allocation/<alloc_id>/stop`: Nomad's stop endpoint, checked as Nomad checks it and refused (read replica). */
import { ALLOC_LIFECYCLE } from "../acl/needs.ts";
import { config } from "../config.ts";
import { allocIdOrNull } from "../domain/alloc-id.ts";
import { DEFAULT_NAMESPACE } from "../domain/namespace.ts";
import { unwrap } from "../durable/contract.ts";
import { allocationStub } from "../durable/stub.ts";
import { CodedError, ErrorText } from "../errors.ts";
import { decodePathText, parseBoolParam } from "../http/query.ts";
import { parseRegion } from "../http/region.ts";
import { GO_BOOLS } from "../json/go-bool.ts";
import { example, forbidden, REGION_EXAMPLE, ref, textError, thrownText } from "../openapi/common.ts";
import { param } from "../openapi/parameters.ts";
import { TAG } from "../openapi/tags.ts";
import { ACCESS } from "../pipeline/access.ts";
import { limitKey, requireNamespace } from "../pipeline/caller.ts";
import type { Endpoint, Handler } from "../pipeline/endpoint.ts";
import { rawAllocId } from "./allocation-shared.ts";
import { invalidMethod } from "./methods.ts";

/**
 * `PUT`/`POST /v1/allocation/<id>/stop` (Nomad 0.9.2+, which the official client calls): checked as
 * Nomad checks it (its booleans, the allocation, `alloc-lifecycle` in its namespace), then refused
 * with 409: this server mirrors the cluster and cannot stop anything. Any id that names no
 * allocation is Nomad's 404 `allocation not found`.
 */
const stopAllocation: Handler = async (request, { env, caller }) => {
  const who = await caller();
  const cfg = config(env);
  const params = new URL(request.url).searchParams;
  parseBoolParam(params, "no_shutdown_delay", false);
  parseBoolParam(params, "reschedule", false);
  const region = parseRegion(params, cfg);
  const alloc = allocIdOrNull(decodePathText(rawAllocId(request, "/stop")));
  if (!alloc) throw new CodedError(404, ErrorText.allocationNotFound);
  const read = { minIndex: 0n, waitMs: 0, pretty: false, caller: limitKey(request, who) };
  const result = unwrap(await allocationStub(env, cfg, region, alloc.uuid).read(read));
  if (result.body === null) throw new CodedError(404, ErrorText.allocationNotFound);
  requireNamespace(who, result.namespace ?? DEFAULT_NAMESPACE, ALLOC_LIFECYCLE);
  throw new CodedError(409, ErrorText.readReplica);
};

// ---------------------------------------------------------------------------------------------
// The document's side of the declaration

const STOP_BOOLEANS = ["no_shutdown_delay", "reschedule"].map((name) => ({
  name,
  in: "query" as const,
  required: false,
  description: `Nomad's \`${name}\` flag, a Go boolean: checked as Nomad checks it (anything else is a \`400\`), then moot, since nothing is stopped here.`,
  schema: { type: "string" as const, enum: [...GO_BOOLS] },
}));

function stopDoc(method: "post" | "put") {
  return {
    operationId: method === "post" ? "stopAllocation" : "stopAllocationPut",
    summary: "Stop an allocation (refused: read replica)",
    description:
      "Nomad's stop endpoint (0.9.2+), which the official client calls. This server mirrors a Nomad cluster and cannot stop allocations: the request is checked as Nomad checks it (the booleans, the allocation, `alloc-lifecycle` in its namespace) and then answered `409`. Stop the allocation on the cluster; the change reaches this server through its ingest.",
    tags: [TAG.allocations],
    parameters: [param("AllocId"), param("Region"), ...STOP_BOOLEANS],
    responses: {
      "400": textError("A malformed flag or region.", {
        invalidFlag: example(
          "`reschedule` is not a Go boolean",
          thrownText(() => parseBoolParam(new URLSearchParams("reschedule=maybe"), "reschedule", false)),
        ),
        region: REGION_EXAMPLE,
      }),
      "403": forbidden("`namespace:alloc-lifecycle` in the allocation's namespace"),
      "404": textError("No allocation with this ID (any text that is not one, too).", {
        notFound: example("No such allocation", ErrorText.allocationNotFound),
      }),
      "409": textError("The allocation exists, and this server cannot stop it.", {
        readReplica: example("Read replica", ErrorText.readReplica),
      }),
      "500": ref("responses", "InternalError"),
    },
  };
}

export const STOP_ENDPOINTS: Endpoint[] = [
  {
    path: "/v1/allocation/{alloc_id}/stop",
    summary: "Stop one allocation",
    description: "Nomad's stop endpoint, refused here (read replica).",
    otherMethods: invalidMethod,
    operations: [
      { method: "post", access: ACCESS.allocLifecycle, handler: stopAllocation, doc: stopDoc("post") },
      { method: "put", access: ACCESS.allocLifecycle, handler: stopAllocation, doc: stopDoc("put") },
    ],
  },
];
