/** `POST /v1/allocation/<alloc_id>/task-events`: a Nomad client's task state updates, one change per batch. */
import { config } from "../config.ts";
import { normalizeAs } from "../domain/validate.ts";
import { allocationStub } from "../durable/stub.ts";
import { RefusalText } from "../errors.ts";
import { decodeJsonBody, readBody } from "../http/body.ts";
import { encodeJson, type JsonObject } from "../json/codec.ts";
import { bodyWriteErrors, example, ref, schemaRef, thrownText } from "../openapi/common.ts";
import { TAG } from "../openapi/tags.ts";
import { ACCESS } from "../pipeline/access.ts";
import type { Endpoint, Handler } from "../pipeline/endpoint.ts";
import { idempotencyKey } from "../pipeline/idempotency.ts";
import { bodyErrors, params, WRITE_PARAMETERS, writeReply, writeTarget } from "./allocation-shared.ts";
import { invalidMethod } from "./methods.ts";

const postTaskEvents: Handler = async (request, { env }) => {
  const cfg = config(env);
  const { region, alloc } = writeTarget(request, cfg, "/task-events");
  const bytes = await readBody(request, env);
  const body = normalizeAs("TaskEventsRequest", decodeJsonBody(bytes, env)) as JsonObject;
  const idem = await idempotencyKey(request, bytes);
  const stub = allocationStub(env, cfg, region, alloc.uuid);
  return writeReply(await stub.appendTaskEvents(encodeJson(body.Events ?? []), idem));
};

export const TASK_EVENT_ENDPOINTS: Endpoint[] = [
  {
    path: "/v1/allocation/{alloc_id}/task-events",
    summary: "The task events of one allocation",
    description: "Task state updates of an allocation.",
    otherMethods: invalidMethod,
    operations: [
      {
        method: "post",
        access: ACCESS.nodeWrite,
        handler: postTaskEvents,
        doc: {
          operationId: "postTaskEvents",
          summary: "Record task events",
          description:
            "Records task events as a Nomad client does while running the allocation: each event is appended to its task's `Events` (the latest 10 are kept), moves the task's `State` (given, or derived from the event type), sets `StartedAt`, `FinishedAt`, `Restarts`, `LastRestart` and `Failed`, and the allocation's `ClientStatus` follows. A missing `Time` is set to now and a missing `DisplayMessage` is filled as Nomad words it. The batch is one change: one new index, one wake-up; an event for a task that is not in the allocation's task group rejects the whole batch.",
          tags: [TAG.allocations],
          parameters: params(...WRITE_PARAMETERS),
          requestBody: { required: true, content: { "application/json": { schema: schemaRef("TaskEventsRequest") } } },
          responses: {
            "200": ref("responses", "WriteOk"),
            "400": bodyErrors({
              invalidField: example(
                "A field has the wrong type or value",
                thrownText(() => normalizeAs("TaskEventsRequest", { Events: [{ Task: "redis", Event: { Type: "Exploded" } }] })),
              ),
              unknownTask: example("The task is not in the allocation's group", RefusalText.taskNotInGroup("cache", "web")),
            }),
            "403": ref("responses", "Forbidden"),
            "404": ref("responses", "WriteNotFound"),
            ...bodyWriteErrors(),
          },
        },
      },
    ],
  },
];
