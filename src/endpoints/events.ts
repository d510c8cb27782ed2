/**
 * `GET /v1/event/stream`: the region's allocation events as Nomad's newline-delimited batches,
 * resumable from any index still in the durable history. Parameters, topics and ACLs as Nomad's
 * `command/agent/event_endpoint.go` and `nomad/event_endpoint.go` (v1.10.0) check them.
 */
import { NEEDS } from "../acl/needs.ts";
import { ALL_NAMESPACES, allowsNamespace, allowsNode } from "../acl/policy.ts";
import { config } from "../config.ts";
import { allocIdOrNull } from "../domain/alloc-id.ts";
import { openRegionStream, regionNamespaces } from "../durable/catalog-reads.ts";
import { unwrap } from "../durable/contract.ts";
import { CodedError, ErrorText, RefusalText } from "../errors.ts";
import { parseEventIndex, parseTopics } from "../http/event-query.ts";
import { parseNamespace } from "../http/list-query.ts";
import { parseRegion } from "../http/region.ts";
import { replyStream } from "../http/reply.ts";
import { abortOnCancel, relayStream } from "../http/stream.ts";
import { example, REGION_EXAMPLE, ref, schemaRef, textError, thrownText } from "../openapi/common.ts";
import { param } from "../openapi/parameters.ts";
import { TAG } from "../openapi/tags.ts";
import { ACCESS } from "../pipeline/access.ts";
import type { Caller } from "../pipeline/caller.ts";
import type { Endpoint, Handler } from "../pipeline/endpoint.ts";
import { invalidMethod } from "./methods.ts";

/** Topics whose events need `read-job` in the namespace (nomad/event_endpoint.go `validateNsOp`). */
const READ_JOB_TOPICS = new Set(["Deployment", "Evaluation", "Allocation", "Job", "Service", "CSIPlugin"]);

/** Nomad's `validateNsOp`: what each topic needs in `namespace`; `*` and unknown topics need management. */
function allowsTopics(caller: Caller, namespace: string, topics: Map<string, string[]>): boolean {
  const acl = caller.acl;
  for (const topic of topics.keys()) {
    if (READ_JOB_TOPICS.has(topic)) {
      if (!allowsNamespace(acl, namespace, NEEDS.readJob.anyOf)) return false;
    } else if (topic === "Node") {
      if (!allowsNode(acl, "read")) return false;
    } else if (topic === "CSIVolume") {
      if (!allowsNamespace(acl, namespace, ["csi-read-volume"])) return false;
    } else if (!acl.management) return false;
  }
  return true;
}

/**
 * The keys an allocation event must match (Nomad's `filter`): the `*` topic's keys and the
 * `Allocation` topic's; `*` alone matches every event. An allocation key in any UUID spelling
 * also matches in its canonical form.
 */
function allocationKeys(topics: Map<string, string[]>): string[] | null {
  const keys = [...(topics.get("*") ?? []), ...(topics.get("Allocation") ?? [])];
  if (keys.length === 1 && keys[0] === "*") return null;
  const canonical = keys.flatMap((key) => {
    const alloc = allocIdOrNull(key);
    return alloc && alloc.uuid !== key ? [key, alloc.uuid] : [key];
  });
  return [...new Set(canonical)];
}

const streamEvents: Handler = async (request, { env, caller }) => {
  // Nomad's order: the index and topics (its HTTP layer), then the caller, whose needs depend on
  // the topics and namespaces (its RPC).
  const cfg = config(env);
  const params = new URL(request.url).searchParams;
  const index = parseEventIndex(params.get("index"));
  const topics = parseTopics(params.getAll("topic"));
  const who = await caller();
  const region = parseRegion(params, cfg);
  const namespace = parseNamespace(params.get("namespace"));
  // `*` is every namespace that exists when the stream opens, each of which must be allowed.
  const namespaces = namespace === ALL_NAMESPACES ? await regionNamespaces(env, cfg, region) : [namespace];
  if (!namespaces.every((ns) => allowsTopics(who, ns, topics))) throw new CodedError(403, ErrorText.permissionDenied);
  const gone = new AbortController();
  const query = { index, keys: allocationKeys(topics), namespaces, heartbeatMs: cfg.eventHeartbeatMs };
  const opened = unwrap(await openRegionStream(env, cfg, region, query, gone.signal));
  // A merged stream is the Worker's own (cancelling it cancels the shards'); one shard's is relayed.
  const body = opened.merged ? abortOnCancel(opened.stream, gone) : relayStream(opened.stream, gone);
  // Nomad's event stream sends Cache-Control: no-cache (command/agent/event_endpoint.go).
  return replyStream(body, "application/json", { "Cache-Control": "no-cache" });
};

export const EVENT_ENDPOINTS: Endpoint[] = [
  {
    path: "/v1/event/stream",
    summary: "The region's event stream",
    otherMethods: invalidMethod,
    operations: [
      {
        method: "get",
        access: ACCESS.eventTopics,
        afterParameters: true,
        handler: streamEvents,
        doc: {
          operationId: "streamEvents",
          summary: "Stream allocation events",
          description:
            'Streams the region\'s allocation changes as Nomad\'s event stream: one JSON object per line, `{"Events":[...],"Index":N}`, or `{}` as a heartbeat: one at once when the stream opens, then one every 30 s (`EVENT_STREAM_HEARTBEAT`), as Nomad sends them. The stream never ends by itself. To follow every change without gaps: list `/v1/allocations`, then stream from its `X-Nomad-Index` + 1; after a disconnect, resume from the last `Index` + 1. The most recent `EVENT_HISTORY` events per region are kept for resuming.',
          tags: [TAG.events],
          parameters: (["EventIndex", "Topic", "EventNamespace", "Region"] as const).map(param),
          responses: {
            "200": {
              description: "Newline-delimited `EventBatch` objects, sent as they happen.",
              content: { "application/json": { schema: schemaRef("EventBatch") } },
            },
            "400": textError("A malformed topic, index or region.", {
              invalidTopic: example(
                "A topic with more than one `:`",
                thrownText(() => parseTopics(["a:b:c"])),
              ),
              invalidIndex: example(
                "`index` is not an int64",
                thrownText(() => parseEventIndex("abc")),
              ),
              region: REGION_EXAMPLE,
            }),
            "403": ref("responses", "ReadForbidden"),
            // Answered by the catalog (src/durable/event-stream.ts) from the history it keeps.
            "410": textError("The requested index is older than the oldest event kept: list again and stream from the list's index + 1.", {
              gone: example("Index below the history kept", RefusalText.eventIndexGone("5", "1764000000123")),
            }),
            "500": ref("responses", "InternalError"),
          },
        },
      },
    ],
  },
];
