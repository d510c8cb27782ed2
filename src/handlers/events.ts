/**
 * `GET /v1/event/stream`: the region's allocation events as Nomad's newline-delimited batches,
 * resumable from any index still in the durable history.
 */
import { authorize, NEEDS } from "../acl/caller.ts";
import { config } from "../config.ts";
import { allocIdOrNull } from "../domain/alloc-id.ts";
import { openRegionStream } from "../durable/catalog-reads.ts";
import { CodedError } from "../http/errors.ts";
import { parseIndex } from "../http/query.ts";
import { parseRegion } from "../http/region.ts";
import { relayStream, STREAM_HEADERS } from "../http/stream.ts";

/**
 * `?topic=Topic[:Key]`, repeatable; none means every topic. Returns the allocation IDs to deliver,
 * null for all of them, or [] when no requested topic is Allocation (only heartbeats then).
 */
export function parseTopics(values: string[]): string[] | null {
  if (values.length === 0) return null;
  const ids: string[] = [];
  for (const value of values) {
    const [topic = "", key = "*"] = value.split(/:(.*)/s);
    if (topic === "") throw new CodedError(400, `Invalid topic ${JSON.stringify(value)}`);
    if (topic !== "*" && topic !== "Allocation") continue;
    if (key === "*" || key === "") return null;
    const alloc = allocIdOrNull(key);
    if (!alloc) throw new CodedError(400, `Invalid topic ${JSON.stringify(value)}: the key must be an allocation ID`);
    ids.push(alloc.uuid);
  }
  return ids;
}

export async function streamEvents(request: Request, env: Env): Promise<Response> {
  await authorize(request, env, NEEDS.readJob);
  const cfg = config(env);
  const params = new URL(request.url).searchParams;
  const index = parseIndex(params.get("index"));
  const allocIds = parseTopics(params.getAll("topic"));
  const region = parseRegion(params, cfg);
  const gone = new AbortController();
  const query = { index: Number(index), allocIds, heartbeatMs: cfg.eventHeartbeatMs };
  const opened = await openRegionStream(env, cfg, region, query, gone.signal);
  if (!opened.ok) throw new CodedError(opened.status, opened.message);
  // A merged stream is the Worker's own (cancelling it cancels the shards'); one shard's is relayed.
  const body = opened.merged ? opened.stream : relayStream(opened.stream, gone);
  return new Response(body, {
    headers: { "Content-Type": "application/json", ...STREAM_HEADERS },
  });
}
