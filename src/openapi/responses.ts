/**
 * The response components several operations share, by name: reads, writes, and the errors every
 * operation of a kind may answer. Their example texts are the constants the code answers with.
 */
import type { ResponseObject } from "openapi3-ts/oas31";
import { KEY_REUSED } from "../durable/idempotency.ts";
import { TOO_MANY_CALLER_WAITERS, TOO_MANY_WAITERS } from "../durable/waiters.ts";
import { ErrorText } from "../errors.ts";
import { parseStale } from "../http/query.ts";
import { RATE_LIMITED } from "../pipeline/gate.ts";
import { BAD_ID_EXAMPLES, example, forbidden, READ_HEADERS, ref, schemaRef, textError, thrownText } from "./common.ts";

export const RESPONSES: Record<string, ResponseObject> = {
  AllocationRead: {
    description:
      "The allocation. On a blocking query, its state when it changed past `index` or when `wait` ran out (then with the same index).",
    headers: READ_HEADERS,
    content: { "application/json": { schema: schemaRef("Allocation") } },
  },
  AllocationReadNotFound: textError(
    "No allocation with this ID (also after a blocking wait ran out). Carries the blocking headers: a blocking read with this index waits for the allocation to appear.",
    { notFound: example("No such allocation", ErrorText.allocNotFound) },
    READ_HEADERS,
  ),
  ReadBadRequest: textError("A malformed query parameter, region or allocation ID.", {
    invalidIndex: example("`index` is not a uint64", ErrorText.invalidIndex),
    invalidWait: example("`wait` is not a Go duration", ErrorText.invalidWait),
    invalidStale: example(
      "`stale` is not a Go boolean",
      thrownText(() => parseStale(new URLSearchParams("stale=maybe"))),
    ),
    ...BAD_ID_EXAMPLES,
  }),
  WriteOk: {
    description:
      "The write is durable; blocking readers of the allocation have been released. With `Stale: true` (only for a write with `X-Source-Index`), it was not applied: `Index` is the current state's.",
    headers: { "X-Nomad-Index": ref("headers", "XNomadWriteIndex") },
    content: { "application/json": { schema: schemaRef("WriteResponse") } },
  },
  Forbidden: forbidden("this write (`node:write`, or a management token)"),
  ReadForbidden: forbidden("`namespace:read-job` (for anonymous callers: the `anonymous` policy)"),
  KeyReused: textError("The `Idempotency-Key` was used before for a different request. Nothing was written.", {
    keyReused: example("Key reused with another request", KEY_REUSED),
  }),
  RateLimited: {
    ...textError("Too many requests from this caller (token, or address without one), or too many blocking queries parked on one object.", {
      rateLimit: example("Per-caller rate limit", RATE_LIMITED),
      waiters: example("Blocking queries on one object", TOO_MANY_WAITERS),
      callerWaiters: example("Blocking queries of one caller on one object", TOO_MANY_CALLER_WAITERS),
    }),
    headers: { "Retry-After": { description: "Seconds to wait before retrying.", schema: { type: "integer", minimum: 0 } } },
  },
  WriteNotFound: textError("No allocation with this ID.", { notFound: example("No such allocation", ErrorText.allocNotFound) }),
  TooLarge: textError("The body is over 1 MiB.", { tooLarge: example("Body over 1 MiB", ErrorText.requestTooLarge) }),
  InternalError: textError("An unexpected failure; details are logged, never sent.", {
    internal: example("Unexpected failure", ErrorText.internal),
  }),
};
