/**
 * `GET /v1/allocations`: the region's allocations as AllocListStubs in ascending ID order, with
 * prefix search of any length, pagination, and blocking queries on the region-wide index.
 */
import { authorize, limitKey, NEEDS } from "../acl/caller.ts";
import { config } from "../config.ts";
import { catalogStub } from "../durable/stub.ts";
import { CodedError } from "../http/errors.ts";
import { JSON_HEADERS, queryMetaHeaders } from "../http/meta.ts";
import { jitterMs, parseIndex, parsePretty, parseStale, parseWait } from "../http/query.ts";
import { parseRegion } from "../http/region.ts";

/** `?prefix`: hex digits and hyphens, any length (Nomad rejects odd lengths; we do not). Returns hex only. */
export function parsePrefix(raw: string | null): string {
  if (raw === null || raw === "") return "";
  if (!/^[0-9a-fA-F-]*$/.test(raw)) {
    throw new CodedError(400, `Invalid prefix ${JSON.stringify(raw)}: an allocation ID prefix has only hexadecimal digits and hyphens`);
  }
  return raw.replaceAll("-", "").toLowerCase();
}

/** `?per_page`: a positive page size; absent or 0 means everything. */
export function parsePerPage(raw: string | null): number {
  if (raw === null || raw === "" || raw === "0") return Number.MAX_SAFE_INTEGER;
  if (!/^\d{1,9}$/.test(raw)) throw new CodedError(400, `Invalid per_page ${JSON.stringify(raw)}: expected a positive integer`);
  return Number(raw);
}

export async function listAllocations(request: Request, env: Env): Promise<Response> {
  const caller = await authorize(request, env, NEEDS.readJob);
  const cfg = config(env);
  const params = new URL(request.url).searchParams;
  const waitMs = parseWait(params.get("wait"), cfg.wait);
  const minIndex = parseIndex(params.get("index"));
  parseStale(params);
  const pretty = parsePretty(params);
  const region = parseRegion(params, cfg);
  const query = {
    minIndex: minIndex.toString(),
    waitMs: waitMs + jitterMs(waitMs),
    prefix: parsePrefix(params.get("prefix")),
    perPage: parsePerPage(params.get("per_page")),
    nextToken: params.get("next_token") ?? "",
    pretty,
    caller: limitKey(request, caller),
  };
  let result: Awaited<ReturnType<ReturnType<typeof catalogStub>["list"]>>;
  try {
    result = await catalogStub(env, cfg, region).list(query, request.signal);
  } catch (error) {
    // As for one allocation: a catalog reset mid-wait answers the current list, never a 500.
    if (minIndex === 0n) throw error;
    result = await catalogStub(env, cfg, region).list({ ...query, minIndex: "0" });
  }
  if (result.refused) throw new CodedError(429, result.refused, { "Retry-After": "1" });
  const headers: Record<string, string> = { ...JSON_HEADERS, ...queryMetaHeaders(result.index) };
  if (result.nextToken) headers["X-Nomad-NextToken"] = result.nextToken;
  return new Response(result.body, { headers });
}
