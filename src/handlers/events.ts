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
import { CodedError, ErrorText } from "../errors.ts";
import { parseEventIndex } from "../http/query.ts";
import { parseRegion } from "../http/region.ts";
import { replyStream } from "../http/reply.ts";
import { abortOnCancel, relayStream } from "../http/stream.ts";
import { type Caller, resolveCaller } from "../pipeline/caller.ts";
import { parseNamespace } from "./allocations.ts";

/** Distinct `topic` values one stream may ask for (repeats count once): bounds each event's match work. */
export const MAX_TOPICS = 100;

/**
 * `?topic=Topic[:Key]`, repeatable (Nomad's `parseEventTopics`): none means `*:*`; a value with
 * more than one `:` is a 400. Returns each topic's keys.
 */
export function parseTopics(values: string[]): Map<string, string[]> {
  if (values.length === 0) return new Map([["*", ["*"]]]);
  const distinct = [...new Set(values)];
  if (distinct.length > MAX_TOPICS) {
    throw new CodedError(400, `Invalid topic query: at most ${MAX_TOPICS} distinct topic values, got ${distinct.length}`);
  }
  const topics = new Map<string, string[]>();
  for (const value of distinct) {
    const parts = value.split(":");
    if (parts.length > 2) {
      throw new CodedError(400, `Invalid topic query: error parsing topics: Invalid key value pair for topic, topic: ${value}`);
    }
    const [topic = "", key = "*"] = parts;
    topics.set(topic, [...(topics.get(topic) ?? []), key]);
  }
  return topics;
}

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
export function allocationKeys(topics: Map<string, string[]>): string[] | null {
  const keys = [...(topics.get("*") ?? []), ...(topics.get("Allocation") ?? [])];
  if (keys.length === 1 && keys[0] === "*") return null;
  const canonical = keys.flatMap((key) => {
    const alloc = allocIdOrNull(key);
    return alloc && alloc.uuid !== key ? [key, alloc.uuid] : [key];
  });
  return [...new Set(canonical)];
}

export async function streamEvents(request: Request, env: Env): Promise<Response> {
  // Nomad's order: the index and topics (its HTTP layer), then the caller, whose needs depend on
  // the topics and namespaces (its RPC).
  const cfg = config(env);
  const params = new URL(request.url).searchParams;
  const index = parseEventIndex(params.get("index"));
  const topics = parseTopics(params.getAll("topic"));
  const caller = await resolveCaller(request, env);
  const region = parseRegion(params, cfg);
  const namespace = parseNamespace(params.get("namespace"));
  // `*` is every namespace that exists when the stream opens, each of which must be allowed.
  const namespaces = namespace === ALL_NAMESPACES ? await regionNamespaces(env, cfg, region) : [namespace];
  if (!namespaces.every((ns) => allowsTopics(caller, ns, topics))) throw new CodedError(403, ErrorText.permissionDenied);
  const gone = new AbortController();
  const query = { index, keys: allocationKeys(topics), namespaces, heartbeatMs: cfg.eventHeartbeatMs };
  const opened = unwrap(await openRegionStream(env, cfg, region, query, gone.signal));
  // A merged stream is the Worker's own (cancelling it cancels the shards'); one shard's is relayed.
  const body = opened.merged ? abortOnCancel(opened.stream, gone) : relayStream(opened.stream, gone);
  // Nomad's event stream sends Cache-Control: no-cache (command/agent/event_endpoint.go).
  return replyStream(body, "application/json", { "Cache-Control": "no-cache" });
}
