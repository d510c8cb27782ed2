/**
 * Task logs: `GET /v1/client/fs/logs/<alloc_id>` (Nomad's parameters, frames and errors) and the
 * agents' ingest `POST` to the same path. The allocation's Durable Object stores and streams them.
 */
import { config } from "../config.ts";
import { parseAllocId } from "../domain/alloc-id.ts";
import { type LogQuery, logOffsetMismatch, unwrap } from "../durable/contract.ts";
import type { LogType } from "../durable/log-store.ts";
import { allocationStub } from "../durable/stub.ts";
import { CodedError, LogErrors, RefusalText } from "../errors.ts";
import { readBody } from "../http/body.ts";
import { parseExpectedLogOffset, parseLogBool, parseLogOffset } from "../http/query.ts";
import { parseRegion } from "../http/region.ts";
import { reply, replyStream } from "../http/reply.ts";
import { relayStream } from "../http/stream.ts";
import {
  BAD_ID_EXAMPLES,
  bodyWriteErrors,
  example,
  forbidden,
  IDEMPOTENCY_EXAMPLES,
  ref,
  schemaRef,
  textError,
  thrownText,
} from "../openapi/common.ts";
import { param } from "../openapi/parameters.ts";
import { TAG } from "../openapi/tags.ts";
import { ACCESS } from "../pipeline/access.ts";
import type { Endpoint, Handler } from "../pipeline/endpoint.ts";
import { idempotencyKey } from "../pipeline/idempotency.ts";
import { invalidMethod } from "./methods.ts";

const LOGS_PREFIX = "/v1/client/fs/logs/";

function parseTask(params: URLSearchParams): string {
  const task = params.get("task");
  if (!task) throw new CodedError(400, LogErrors.taskMissing);
  return task;
}

function parseType(params: URLSearchParams): LogType {
  const type = params.get("type");
  if (type !== "stdout" && type !== "stderr") throw new CodedError(400, LogErrors.typeMissing);
  return type;
}

/** The allocation's object of a logs request; an id that names no allocation is Nomad's 404. */
function target(request: Request, params: URLSearchParams, env: Env) {
  const cfg = config(env);
  const region = parseRegion(params, cfg);
  const raw = new URL(request.url).pathname.slice(LOGS_PREFIX.length);
  const alloc = parseAllocId(raw);
  if (!alloc) throw new CodedError(404, RefusalText.unknownAllocation(decodeURIComponent(raw)));
  return allocationStub(env, cfg, region, alloc.uuid);
}

const getLogs: Handler = async (request, { env, caller }) => {
  // Nomad's order (command/agent/fs_endpoint.go `Logs`): the parameters first, then the caller.
  const params = new URL(request.url).searchParams;
  const task = parseTask(params);
  const follow = parseLogBool(params, "follow");
  const plain = parseLogBool(params, "plain");
  const type = parseType(params);
  const offset = parseLogOffset(params.get("offset"));
  const origin = params.get("origin") || "start";
  if (origin !== "start" && origin !== "end") throw new CodedError(400, LogErrors.invalidOrigin);
  const who = await caller();
  const access = { acl: who.acl, anyOf: ACCESS.readLogs.need.anyOf };
  const query: LogQuery = { task, type, origin, follow, plain, offset, access };
  const stub = target(request, params, env);
  const gone = new AbortController();
  const opened = unwrap(await stub.openLogs(query, gone.signal));
  const body = relayStream(opened.stream as ReadableStream<Uint8Array>, gone);
  return replyStream(body, query.plain ? "text/plain; charset=utf-8" : "application/json");
};

const postLogs: Handler = async (request, { env }) => {
  const params = new URL(request.url).searchParams;
  const task = parseTask(params);
  const type = parseType(params);
  const stub = target(request, params, env);
  const expected = parseExpectedLogOffset(request.headers.get("X-Log-Offset"));
  const bytes = await readBody(request, env);
  const appended = unwrap(await stub.appendLog(task, type, bytes, await idempotencyKey(request, bytes), expected));
  return reply(`{"Offset":${appended.offset}}`, undefined, { "X-Log-Offset": String(appended.offset) });
};

/** Nomad's logs endpoint checks for an id before anything else; other paths under it are parsed as ids. */
function unmatchedLogsPath(request: Request, rest: string): void {
  if (rest === "" && request.method === "GET") throw new CodedError(400, LogErrors.allocIdMissing);
  parseAllocId(rest);
}

// ---------------------------------------------------------------------------------------------
// The document's side of the declarations

/** Answered by the allocation object (src/durable/task-logs.ts), which knows the tasks. */
const UNKNOWN_TASK = example("The task is not in the allocation's group", RefusalText.unknownTask("web"));
const UNKNOWN_ALLOCATION = example("No such allocation", RefusalText.unknownAllocation("00000000-0000-0000-0000-000000000000"));

const LOG_PARAMETER_EXAMPLES = {
  taskMissing: example("No `task`", LogErrors.taskMissing),
  typeMissing: example("No or another `type`", LogErrors.typeMissing),
  unknownTask: UNKNOWN_TASK,
};

export const LOG_ENDPOINTS: Endpoint[] = [
  {
    path: "/v1/client/fs/logs/{alloc_id}",
    summary: "The logs of an allocation's tasks",
    otherMethods: invalidMethod,
    subtree: { prefix: LOGS_PREFIX, unmatched: unmatchedLogsPath },
    operations: [
      {
        method: "get",
        access: ACCESS.readLogs,
        afterParameters: true,
        handler: getLogs,
        doc: {
          operationId: "readTaskLogs",
          summary: "Read task logs",
          description:
            "Reads a task's `stdout` or `stderr` as Nomad's `/v1/client/fs/logs` does: JSON frames (`TaskLogFrame`, base64 `Data`, at most 64 KiB each, written back to back) or, with `plain`, the raw bytes. Without `follow` the read ends at the end the log had when it was opened. Logs are what agents ingested with `POST` on the same path; the server keeps the last `LOG_RETENTION_BYTES` of each stream.",
          tags: [TAG.logs],
          parameters: (["AllocId", "LogTask", "LogType", "LogOrigin", "LogOffset", "LogFollow", "LogPlain", "Region"] as const).map(param),
          responses: {
            "200": {
              description: "The log: JSON frames, or raw bytes with `plain`.",
              content: {
                "application/json": { schema: schemaRef("TaskLogFrame") },
                "text/plain": { schema: { type: "string" } },
              },
            },
            "400": textError("A malformed parameter, task or region.", {
              ...LOG_PARAMETER_EXAMPLES,
              invalidOrigin: example("`origin` is not start or end", LogErrors.invalidOrigin),
              invalidOffset: example(
                "`offset` is not an int64",
                thrownText(() => parseLogOffset("x")),
              ),
              invalidFollow: example(
                "`follow` is not a Go boolean",
                thrownText(() => parseLogBool(new URLSearchParams("follow=yes"), "follow")),
              ),
              ...BAD_ID_EXAMPLES,
            }),
            "403": forbidden("`namespace:read-logs` or `namespace:read-fs` (for anonymous callers: the `anonymous` policy)"),
            "404": textError("No such allocation, or the task never started (so it has no logs yet).", {
              unknownAllocation: UNKNOWN_ALLOCATION,
              notStarted: example("The task has not started", RefusalText.taskNotStarted("redis")),
            }),
            "500": ref("responses", "InternalError"),
          },
        },
      },
      {
        method: "post",
        access: ACCESS.nodeWrite,
        handler: postLogs,
        doc: {
          operationId: "appendTaskLogs",
          summary: "Ingest task logs",
          description:
            "Appends bytes to a task's `stdout` or `stderr`, as the agent running the task would ship them (this server has no client agents). At most 1 MiB per request; followers of the stream are woken at once.",
          tags: [TAG.logs],
          parameters: (["AllocId", "LogTask", "LogType", "Region", "IdempotencyKey", "LogExpectedOffset"] as const).map(param),
          requestBody: {
            required: true,
            description: "The bytes to append, as they are.",
            content: { "application/octet-stream": { schema: { type: "string", contentMediaType: "application/octet-stream" } } },
          },
          responses: {
            "200": {
              description: "Appended.",
              headers: { "X-Log-Offset": ref("headers", "XLogOffset") },
              content: { "application/json": { schema: schemaRef("LogAppendResponse") } },
            },
            "400": textError("A malformed parameter, task, region, Idempotency-Key or X-Log-Offset.", {
              ...LOG_PARAMETER_EXAMPLES,
              ...BAD_ID_EXAMPLES,
              ...IDEMPOTENCY_EXAMPLES,
              invalidLogOffset: example(
                "`X-Log-Offset` is not a decimal integer",
                thrownText(() => parseExpectedLogOffset("x")),
              ),
            }),
            "403": ref("responses", "Forbidden"),
            "404": textError("No such allocation.", { unknownAllocation: UNKNOWN_ALLOCATION }),
            "409": textError(
              "`X-Log-Offset` is not the stream's current total (a retry of an append that was applied, or bytes missing before this body). Nothing was written; `X-Log-Offset` carries the current total.",
              {
                offsetMismatch: example("An append retried after it was applied", logOffsetMismatch(0, 10).message),
              },
              { "X-Log-Offset": ref("headers", "XLogOffset") },
            ),
            ...bodyWriteErrors(),
          },
        },
      },
    ],
  },
];
