/**
 * `GET /v1/allocations`: the region's allocations as AllocListStubs in ascending ID order, with
 * prefix search of any length, pagination, and blocking queries on the region-wide index.
 */
import { NEEDS } from "../acl/needs.ts";
import { FilterError, parseFilter } from "../domain/bexpr.ts";
import { DEFAULT_NAMESPACE } from "../domain/namespace.ts";
import { listRegion } from "../durable/catalog-reads.ts";
import { CodedError, ErrorText } from "../errors.ts";
import { parseBoolParam } from "../http/query.ts";
import { reply } from "../http/reply.ts";
import { parseBlockingQuery, readSurvivingReset } from "../pipeline/blocking.ts";
import { authorize, requireNamespace } from "../pipeline/caller.ts";

/** `?prefix`: hex digits and hyphens, any length (Nomad rejects odd lengths; we do not). Returns hex only. */
export function parsePrefix(raw: string | null): string {
  if (raw === null || raw === "") return "";
  if (!/^[0-9a-fA-F-]*$/.test(raw)) {
    throw new CodedError(400, `Invalid prefix ${JSON.stringify(raw)}: an allocation ID prefix has only hexadecimal digits and hyphens`);
  }
  return raw.replaceAll("-", "").toLowerCase();
}

/**
 * `?per_page`: Go's `strconv.ParseInt(raw, 10, 32)`, as Nomad parses it. Absent, empty or 0 means
 * everything; a negative size is accepted, as Nomad accepts it (an empty page and a next token).
 */
export function parsePerPage(raw: string | null): number {
  if (raw === null || raw === "") return 0;
  const value = /^[+-]?\d{1,11}$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isInteger(value) || value < -(2 ** 31) || value > 2 ** 31 - 1) throw new CodedError(400, ErrorText.invalidPerPage);
  return value;
}

/** `?namespace`: a namespace, or `*` for every namespace the caller may read; `default` when absent or empty. */
export function parseNamespace(raw: string | null): string {
  return raw === null || raw === "" ? DEFAULT_NAMESPACE : raw;
}

/**
 * `?filter`: a go-bexpr expression, evaluated on each allocation before pagination as Nomad's
 * paginator does; a malformed one is Nomad's 400 (nomad/alloc_endpoint.go, paginator.go).
 */
export function parseListFilter(raw: string | null): string {
  if (raw === null || raw === "") return "";
  try {
    parseFilter(raw);
  } catch (error) {
    if (error instanceof FilterError) {
      throw new CodedError(400, `failed to create result paginator: failed to read filter expression: ${error.message}`);
    }
    throw error;
  }
  return raw;
}

export async function listAllocations(request: Request, env: Env): Promise<Response> {
  // Nomad's order: its HTTP layer parses the list's parameters, then its RPC checks the caller.
  const params = new URL(request.url).searchParams;
  const prefix = parsePrefix(params.get("prefix"));
  const namespace = parseNamespace(params.get("namespace"));
  const perPage = parsePerPage(params.get("per_page"));
  // Nomad reverses only for the exact text `true` (parseReverse).
  const reverse = params.get("reverse") === "true";
  const filter = parseListFilter(params.get("filter"));
  const taskStates = parseBoolParam(params, "task_states", true);
  const caller = await authorize(request, env, NEEDS.readJob);
  const query = parseBlockingQuery(request, env, caller);
  // Nomad's Alloc.List: read-job in the requested namespace (for `*`: in any), else 403.
  requireNamespace(caller, namespace, NEEDS.readJob.anyOf);
  const list = {
    ...query.options,
    prefix,
    perPage,
    nextToken: params.get("next_token") ?? "",
    namespace,
    acl: caller.acl,
    reverse,
    taskStates,
    filter,
  };
  const result = await readSurvivingReset(query.options.minIndex, request.signal, (minIndex, signal) =>
    listRegion(env, query.cfg, query.region, { ...list, minIndex }, signal),
  );
  if (result.invalid) throw new CodedError(400, result.invalid);
  return reply(result.body, { read: result.index }, result.nextToken ? { "X-Nomad-NextToken": result.nextToken } : {});
}
