/**
 * Task logs: `GET /v1/client/fs/logs/<alloc_id>` (Nomad's parameters, frames and errors) and the
 * agents' ingest `POST` to the same path. The allocation's Durable Object stores and streams them.
 */

import { NEEDS } from "../acl/needs.ts";
import { config } from "../config.ts";
import { parseAllocId } from "../domain/alloc-id.ts";
import { type LogQuery, unwrap } from "../durable/contract.ts";
import type { LogType } from "../durable/log-store.ts";
import { allocationStub } from "../durable/stub.ts";
import { CodedError } from "../errors.ts";
import { readBody } from "../http/body.ts";
import { parseExpectedLogOffset, parseLogBool, parseLogOffset } from "../http/query.ts";
import { parseRegion } from "../http/region.ts";
import { reply, replyStream } from "../http/reply.ts";
import { relayStream } from "../http/stream.ts";
import { authorize } from "../pipeline/caller.ts";
import { idempotencyKey } from "../pipeline/idempotency.ts";

export const LOGS_PREFIX = "/v1/client/fs/logs/";

export const LogErrors = {
  allocIdMissing: "must provide a valid alloc id",
  taskMissing: "must provide task name",
  typeMissing: "must provide log type (stdout/stderr)",
  invalidOrigin: "origin must be start or end",
} as const;

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
  if (!alloc) throw new CodedError(404, `Unknown allocation ${JSON.stringify(decodeURIComponent(raw))}`);
  return allocationStub(env, cfg, region, alloc.uuid);
}

export async function getLogs(request: Request, env: Env): Promise<Response> {
  // Nomad's order (command/agent/fs_endpoint.go `Logs`): the parameters first, then the caller.
  const params = new URL(request.url).searchParams;
  const task = parseTask(params);
  const follow = parseLogBool(params, "follow");
  const plain = parseLogBool(params, "plain");
  const type = parseType(params);
  const offset = parseLogOffset(params.get("offset"));
  const origin = params.get("origin") || "start";
  if (origin !== "start" && origin !== "end") throw new CodedError(400, LogErrors.invalidOrigin);
  const caller = await authorize(request, env, NEEDS.readLogs);
  const query: LogQuery = { task, type, origin, follow, plain, offset, access: { acl: caller.acl, anyOf: NEEDS.readLogs.anyOf } };
  const stub = target(request, params, env);
  const gone = new AbortController();
  const opened = unwrap(await stub.openLogs(query, gone.signal));
  const body = relayStream(opened.stream as ReadableStream<Uint8Array>, gone);
  return replyStream(body, query.plain ? "text/plain; charset=utf-8" : "application/json");
}

export async function postLogs(request: Request, env: Env): Promise<Response> {
  await authorize(request, env, NEEDS.nodeWrite);
  const params = new URL(request.url).searchParams;
  const task = parseTask(params);
  const type = parseType(params);
  const stub = target(request, params, env);
  const expected = parseExpectedLogOffset(request.headers.get("X-Log-Offset"));
  const bytes = await readBody(request, env);
  const appended = unwrap(await stub.appendLog(task, type, bytes, await idempotencyKey(request, bytes), expected));
  return reply(`{"Offset":${appended.offset}}`, undefined, { "X-Log-Offset": String(appended.offset) });
}
