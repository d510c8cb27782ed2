/**
 * `GET /v1/allocations`: the region's allocations as AllocListStubs in ascending ID order, with
 * prefix search of any length, pagination, and blocking queries on the region-wide index.
 */
import { authorize, NEEDS } from "../acl/caller.ts";
import { listRegion } from "../durable/catalog-reads.ts";
import { parseBlockingQuery, readSurvivingReset } from "../http/blocking.ts";
import { CodedError } from "../http/errors.ts";
import { JSON_HEADERS, queryMetaHeaders } from "../http/meta.ts";

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
  const query = parseBlockingQuery(request, env, caller);
  const list = {
    ...query.options,
    prefix: parsePrefix(query.params.get("prefix")),
    perPage: parsePerPage(query.params.get("per_page")),
    nextToken: query.params.get("next_token") ?? "",
  };
  const result = await readSurvivingReset(query.options.minIndex, request.signal, (minIndex, signal) =>
    listRegion(env, query.cfg, query.region, { ...list, minIndex }, signal),
  );
  const headers: Record<string, string> = { ...JSON_HEADERS, ...queryMetaHeaders(result.index) };
  if (result.nextToken) headers["X-Nomad-NextToken"] = result.nextToken;
  return new Response(result.body, { headers });
}
