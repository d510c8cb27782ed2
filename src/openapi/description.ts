/**
 * The Markdown prose of the OpenAPI document: the blocking-query contract, the field reference of
 * Nomad 0.5.6's allocation API page (and what Nomad does beyond it), errors and authentication. Scalar renders it at
 * the top of /docs. Event types come from `TASK_EVENT_TYPES`, the same table the schemas use.
 */

import { DEMO_ALLOC_ID } from "../demo/allocation.ts";
import { parseAllocId } from "../domain/alloc-id.ts";
import { TASK_EVENT_TYPES } from "../domain/schemas.ts";
import { ErrorText } from "../errors.ts";
import { ZERO_TIME } from "../json/go-time.ts";
import { thrownText } from "./common.ts";

/** What a malformed id is answered with (the id parser's own text). */
const ID_LENGTH_ERROR = thrownText(() => parseAllocId("203266e5"));

/** Nomad's default and maximum blocking wait, and this server's default `MAX_QUERY_TIME`. */
const DEFAULT_MAX_QUERY_TIME = "300s";

const eventTypeList = Object.entries(TASK_EVENT_TYPES)
  .map(([type, meaning]) => `- **\`${type}\`**: ${meaning}`)
  .join("\n");

const BLOCKING_QUERIES = `## Blocking queries

Reads of an allocation support Nomad's **blocking queries** (long polling), so a client can watch an
allocation without hammering the server:

1. Read the allocation normally. The response carries \`X-Nomad-Index\`: the allocation's
   \`ModifyIndex\`, an integer that is **never 0** (at least 1, also for an allocation that does not
   exist yet).
2. Read again with \`?index=<that X-Nomad-Index>&wait=<duration>\`. The request is held open until the
   allocation's index becomes **greater than** \`index\`, or until \`wait\` runs out.
3. Take the new \`X-Nomad-Index\` and repeat.

- **\`index\`**: uint64, base 10. Absent or \`0\` means "do not block": answer at once. Not a
  number: \`400 ${ErrorText.invalidIndex}\`.
- **\`wait\`**: Go duration syntax (\`10s\`, \`5m\`, \`1.5m\`, \`300000ms\`, \`1h\`; a bare number such as
  \`10\` is \`400 ${ErrorText.invalidWait}\`). Absent, \`0\` or negative means the **default, 300 s**. The
  **maximum is 300 s** (Nomad's limit); longer waits are clamped. The maximum is configurable per
  deployment with the \`MAX_QUERY_TIME\` variable (default \`${DEFAULT_MAX_QUERY_TIME}\`; the default wait
  is never above it).

What to expect:

- **Jitter.** A random extra of up to \`wait/16\` is added to the wait (Nomad's \`JitterFraction\`),
  so many clients that started together do not all re-poll at the same instant. The default
  wait therefore ends somewhere between 300 s and 318.75 s; give proxies and client timeouts more
  than that.
- **Wake-up.** A write to the allocation (\`PUT\`, \`DELETE\` or \`POST .../task-events\`) releases every
  waiter whose \`index\` it exceeds within milliseconds of the write being durable. Waiters are
  woken by writes, never by polling.
- **Timeout.** When the wait runs out with no change, the response is **\`200\` with the current
  allocation and the same \`X-Nomad-Index\`** you sent (there is no \`304\`). A blocking query may also
  return early; it is no guarantee of a change. Compare indexes and poll again.
- **Missing allocation.** A blocking read of an allocation that does not exist waits the same way
  and then answers \`404 ${ErrorText.allocNotFound}\`, with the blocking headers set; creating the allocation
  wakes it.
- **Index sent too high.** An \`index\` above the current one (e.g. copied from another allocation)
  blocks for the full wait and then returns the smaller current index: reset to it.
- **The list.** \`GET /v1/allocations\` blocks the same way on the region's index, which grows with
  every change to any allocation of the region.
- \`X-Nomad-KnownLeader\` is always \`true\` and \`X-Nomad-LastContact\` always \`0\`: every read is answered
  by the allocation's own storage, so \`stale\` is accepted for compatibility and changes nothing.

Example, with the demo allocation of \`npm start\`:

\`\`\`sh
curl -i "http://127.0.0.1:8787/v1/allocation/${DEMO_ALLOC_ID}"
# ... X-Nomad-Index: 1764000000000
curl -i "http://127.0.0.1:8787/v1/allocation/${DEMO_ALLOC_ID}?index=1764000000000&wait=30s"
# held until the allocation changes, or about 30 s
\`\`\`
`;

const FIELD_REFERENCE = `## Field reference

An allocation is the placement of one task group of a job on a node. Most fields are set by the
servers when the allocation is made; \`TaskStates\` is what the client reports as the tasks run. Every
field is always present in a response, holding Go's zero value when unset (\`""\`, \`0\`, \`false\`,
\`null\` for nil lists, maps and pointers, \`${ZERO_TIME}\` for unset times).

### TaskStates

\`TaskStates\` is a map of task names to their current state and the latest events that have
affected the state. A task can be in the following states:

- **\`pending\`** (Nomad's \`TaskStatePending\`): the task is waiting to be run, either for the first
  time or due to a restart.
- **\`running\`** (\`TaskStateRunning\`): the task is currently running.
- **\`dead\`** (\`TaskStateDead\`): the task is dead and will not run again.

Further, the state contains the \`StartedAt\` and \`FinishedAt\` times of the task:

- **\`StartedAt\`** is updated **every time** the task starts, so it changes on each restart.
- **\`FinishedAt\`** is set **only when the task transitions to \`dead\`** (and only if it had started).
- \`Restarts\` counts the \`Restarting\` events and \`LastRestart\` is the time of the latest one.
- \`Failed\` becomes \`true\` once any event with \`FailsTask\` was recorded and never goes back.

The allocation's \`ClientStatus\` follows from the task states: \`failed\` if any task failed,
else \`running\` if any task runs, else \`pending\` if any task waits, else \`complete\`.

### Task events

**The latest 10 events are stored per task**, oldest first: recording an 11th event drops the
oldest. Each event is timestamped (\`Time\`, unix **nanoseconds**) and has one of the following
types. Depending on the type, the event sets the applicable annotation fields (named in
parentheses); the other fields hold their zero value.

${eventTypeList}

### Large integers

\`CreateTime\`, \`TaskEvent.Time\` and the other nanosecond fields are int64 values around 1.5e18:
**they exceed 2^53**, the largest integer a JavaScript \`number\` (or any float64 JSON decoder)
holds exactly. Decode them with a big-integer aware parser if the low digits matter. The server
stores and returns them digit for digit.
`;

const ERRORS_AND_AUTH = `## Errors

Errors are answered as Nomad answers them: a status code and a **\`text/plain\`** body holding the
bare message, no JSON envelope and no trailing newline (e.g. \`${ErrorText.allocNotFound}\`, \`${ErrorText.invalidIndex}\`,
\`${ErrorText.invalidWait}\`, \`${ErrorText.noRegionPath}\`, \`${ErrorText.permissionDenied}\`). A method a path does not support is
\`405 ${ErrorText.invalidMethod}\`; an unknown path is \`404 ${ErrorText.pageNotFound}\`; \`/v1/allocation\` without a slash
redirects (301) to \`/v1/allocation/\` as Go's router does. Malformed allocation ids get
go-memdb's texts (\`${ID_LENGTH_ERROR}\`) with status 400
(Nomad answers 500; documented deviation), as does an unknown region (\`${ErrorText.noRegionPath}\`).

## Regions

By default the server's default region is used; another region can be named with \`?region=\`.
A region this deployment does not serve answers \`400 ${ErrorText.noRegionPath}\`.

## Authentication and ACLs

Nomad's ACL system: a token is sent as \`X-Nomad-Token: <secret>\` or \`Authorization: Bearer <secret>\`
(never in the query string). Its policies grant capabilities; each operation states what it needs
(**ACL:** at the end of its description). Reads need \`namespace:read-job\` (logs:
\`read-logs\` or \`read-fs\`); writes need \`node:write\`; the \`/v1/acl\` endpoints need a management
token. A request without a token is Nomad's anonymous caller, governed by the policy named
\`anonymous\` (none: no capabilities). \`npm start\` creates an \`anonymous\` policy that allows reads
and prints the management token (\`MANAGEMENT_TOKEN\`) that writes and ACL management need.
A refused request answers \`403 ${ErrorText.permissionDenied}\`; an unknown secret \`403 ${ErrorText.aclTokenNotFound}\`.
Token and policy changes take effect everywhere within 2 s.

Writes accept an \`Idempotency-Key\` header: a retry with the same key and request answers the
first answer again without writing; the same key with another request is \`422\`.

## Limits and CORS

Every request counts against a per-caller rate limit (per token, or per address without one):
past it, \`429\` with \`Retry-After\`. Blocking queries parked on one object are capped too (\`429\`).
URLs over \`MAX_URL_BYTES\` answer \`414\`, headers over \`MAX_HEADER_BYTES\` \`431\`. Browsers on other
origins may read (\`CORS_READ_ORIGINS\`) or write (\`CORS_WRITE_ORIGINS\`) when configured; the
blocking headers are exposed to them.
`;

export const API_DESCRIPTION = `A Nomad-compatible \`/v1/allocation\` API served by a Cloudflare Worker, with each allocation held
in its own SQLite-backed Durable Object. Reads, blocking queries and error texts behave as
Nomad's; the writes are what a Nomad client agent would do to an allocation.

${BLOCKING_QUERIES}
${FIELD_REFERENCE}
${ERRORS_AND_AUTH}`;
