/**
 * `GET /v1/allocations`: the region's allocations as AllocListStubs in ascending ID order, with
 * prefix search of any length, namespaces, filters, pagination, and blocking queries on the
 * region-wide index.
 */
import { DEMO_ALLOCATION_JSON } from "../demo/allocation.ts";
import { evaluateFilter, FilterError, parseFilter } from "../domain/bexpr.ts";
import { listRegion } from "../durable/catalog-reads.ts";
import type { ListPage } from "../durable/contract.ts";
import { ErrorText, RefusalText } from "../errors.ts";
import { parseListFilter, parseNamespace, parsePerPage, parsePrefix } from "../http/list-query.ts";
import { parseBoolParam } from "../http/query.ts";
import { reply } from "../http/reply.ts";
import { parseJson } from "../json/codec.ts";
import { example, READ_HEADERS, REGION_EXAMPLE, ref, schemaRef, textError, thrownText } from "../openapi/common.ts";
import { param } from "../openapi/parameters.ts";
import { TAG } from "../openapi/tags.ts";
import { ACCESS } from "../pipeline/access.ts";
import { parseBlockingQuery, readSurvivingReset } from "../pipeline/blocking.ts";
import { requireNamespace } from "../pipeline/caller.ts";
import type { Endpoint, Handler } from "../pipeline/endpoint.ts";
import { invalidMethod } from "./methods.ts";

const listAllocations: Handler = async (request, { env, caller }) => {
  // Nomad's order: its HTTP layer parses the list's parameters, then its RPC checks the caller.
  const params = new URL(request.url).searchParams;
  const prefix = parsePrefix(params.get("prefix"));
  const namespace = parseNamespace(params.get("namespace"));
  const perPage = parsePerPage(params.get("per_page"));
  // Nomad reverses only for the exact text `true` (parseReverse).
  const reverse = params.get("reverse") === "true";
  const filter = parseListFilter(params.get("filter"));
  const taskStates = parseBoolParam(params, "task_states", true);
  const who = await caller();
  const query = parseBlockingQuery(request, env, who);
  // Nomad's Alloc.List: read-job in the requested namespace (for `*`: in any), else 403.
  requireNamespace(who, namespace, ACCESS.readJob.need.anyOf);
  const list = {
    ...query.options,
    prefix,
    perPage,
    nextToken: params.get("next_token") ?? "",
    namespace,
    acl: who.acl,
    reverse,
    taskStates,
    filter,
  };
  const result = await readSurvivingReset<ListPage>(query.options.minIndex, request.signal, (minIndex, signal) =>
    listRegion(env, query.cfg, query.region, { ...list, minIndex }, signal),
  );
  return reply(result.body, { read: result.index }, result.nextToken ? { "X-Nomad-NextToken": result.nextToken } : {});
};

/** What the list answers for a filter that fails on an allocation (the demo allocation here). */
function filterFailure(filter: string): string {
  try {
    evaluateFilter(parseFilter(filter), parseJson(DEMO_ALLOCATION_JSON));
  } catch (error) {
    if (error instanceof FilterError) return RefusalText.resultPage(error.message);
    throw error;
  }
  throw new Error(`the filter ${filter} does not fail: the document's example of its error is wrong`);
}

export const LIST_ENDPOINTS: Endpoint[] = [
  {
    path: "/v1/allocations",
    summary: "The region's allocations",
    otherMethods: invalidMethod,
    operations: [
      {
        method: "get",
        access: ACCESS.readJob,
        afterParameters: true,
        handler: listAllocations,
        doc: {
          operationId: "listAllocations",
          summary: "List allocations",
          description:
            "Lists the region's allocations of one namespace (or of every readable one) as `AllocListStub`s in ascending ID order (descending with `reverse=true`). Supports blocking queries on the **region-wide index** (`X-Nomad-Index`, which grows on every change to any allocation of the region): the request is held until some allocation of the region changes past `index`, or `wait` runs out. The list is fed from the allocations asynchronously, so a write shows up here (and in the event stream) shortly after it answered.",
          tags: [TAG.list],
          parameters: (
            [
              "Prefix",
              "Namespace",
              "Filter",
              "PerPage",
              "NextToken",
              "Reverse",
              "TaskStates",
              "Index",
              "Wait",
              "Stale",
              "Region",
              "Pretty",
            ] as const
          ).map(param),
          responses: {
            "200": {
              description: "The page of allocations.",
              headers: { ...READ_HEADERS, "X-Nomad-NextToken": ref("headers", "XNomadNextToken") },
              content: { "application/json": { schema: { type: "array", items: schemaRef("AllocListStub") } } },
            },
            "400": textError("A malformed query parameter or region.", {
              invalidIndex: example("`index` is not a uint64", ErrorText.invalidIndex),
              invalidWait: example("`wait` is not a Go duration", ErrorText.invalidWait),
              invalidPrefix: example(
                "`prefix` has a character that cannot be in an ID",
                thrownText(() => parsePrefix("xyz")),
              ),
              invalidPerPage: example("`per_page` is not an int32", ErrorText.invalidPerPage),
              invalidFilter: example(
                "`filter` is not a valid expression",
                thrownText(() => parseListFilter("ClientStatus ==")),
              ),
              // Found while the list is read (src/durable/region-catalog.ts), not when the filter is parsed.
              failedFilter: example("`filter` fails on an allocation", filterFailure('NoSuchField == "x"')),
              invalidTaskStates: example(
                "`task_states` is not a Go boolean",
                thrownText(() => parseBoolParam(new URLSearchParams("task_states=maybe"), "task_states", true)),
              ),
              region: REGION_EXAMPLE,
            }),
            "403": ref("responses", "ReadForbidden"),
            "500": ref("responses", "InternalError"),
          },
        },
      },
    ],
  },
];
