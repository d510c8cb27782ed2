/**
 * Schemas of what the server only ever writes (lists, event batches, log frames, status answers):
 * no write body is validated against them, so they live beside the document rather than in
 * `src/domain/schemas.ts`. They reuse the wire schemas' own field objects where they carry the
 * same fields (AllocListStub takes its fields from `SCHEMAS.Allocation`), so nothing is copied.
 */
import { ALLOC_LIST_STUB_FIELDS } from "../domain/alloc-stub.ts";
import { type Schema, struct, t, withRequired } from "../domain/schema-dsl.ts";
import { SCHEMAS } from "../domain/schemas.ts";

function allocationField(name: string): Schema {
  const field = SCHEMAS.Allocation?.properties?.[name];
  if (!field) throw new Error(`Allocation has no field ${name}`);
  return field;
}

const allocListStub = struct(
  "The summary of an allocation that `GET /v1/allocations` lists (Nomad's `AllocListStub`): the allocation's own fields below, plus the job's version and type.",
  {
    ...Object.fromEntries(ALLOC_LIST_STUB_FIELDS.map((name) => [name, allocationField(name)])),
    JobVersion: t.uint("`Job.Version` of the allocation's job (0 when the job has none)."),
    JobType: t.string("`Job.Type`: `service`, `batch` or `system`."),
    Namespace: allocationField("Namespace"),
    ModifyTime: allocationField("ModifyTime"),
  },
);

const allocationEvent = struct("One event of the event stream: an allocation was created or changed, or deleted.", {
  Topic: { type: "string", enum: ["Allocation"], description: "The event's topic; only `Allocation` exists here." },
  Type: {
    type: "string",
    enum: ["AllocationUpdated", "AllocationDeleted"],
    description: "`AllocationUpdated` on every write that changed it (including task events), `AllocationDeleted` on delete.",
  },
  Key: t.string("The allocation ID."),
  Namespace: t.string("The allocation's namespace."),
  FilterKeys: t.list(
    { type: "string" },
    "The allocation's `JobID` and `DeploymentID` (`\"\"` when it has none), as Nomad's allocation events carry them.",
  ),
  Index: t.uint("The event's region-wide index; resume the stream from `Index + 1`."),
  Payload: {
    type: "object",
    description: "The allocation as it was after the change, with `Job` left out (`null`) to keep events small, as Nomad does.",
    properties: { Allocation: { $ref: "#/components/schemas/Allocation" } },
    additionalProperties: true,
  },
});

const eventBatch: Schema = {
  type: "object",
  description:
    "One line of the event stream: a batch of events with the index of the last one, or `{}` (a heartbeat: one when the stream opens, then one every 30 s unless `EVENT_STREAM_HEARTBEAT` says otherwise).",
  properties: {
    Events: { type: "array", items: { $ref: "#/components/schemas/AllocationEvent" }, description: "The events, in index order." },
    Index: t.uint("Index of the batch's last event."),
  },
  additionalProperties: false,
};

const taskLogFrame: Schema = {
  type: "object",
  description:
    "One frame of a framed log stream (Nomad's `StreamFrame`). Frames are written back to back; empty fields are left out, and a bare `{}` is a heartbeat sent after each idle second of a followed stream.",
  properties: {
    Data: { type: "string", contentEncoding: "base64", description: "Up to 64 KiB of log bytes, base64." },
    File: t.string("The log file the bytes come from, `alloc/logs/<task>.<type>.0`."),
    FileEvent: t.string("A file event such as a truncation; not used by this server."),
    Offset: t.int("The stream offset just after this frame's bytes: pass it as `offset` to resume."),
  },
  additionalProperties: false,
};

const logAppendResponse: Schema = withRequired(["Offset"], {
  type: "object",
  description: "The answer to a log ingest.",
  properties: { Offset: t.int("The stream's end offset after the append: the total bytes ever appended to it (also in `X-Log-Offset`).") },
  additionalProperties: false,
});

const agentSelf: Schema = {
  type: "object",
  description:
    "What `nomad` CLI and client libraries ask first (a subset of Nomad's `/v1/agent/self`): this server's region, datacenter, API version and member entry.",
  properties: {
    config: {
      type: "object",
      description: "The agent's configuration: `Region`, `Datacenter`, `Version`, `Server.Enabled`, `Client.Enabled`.",
      additionalProperties: true,
    },
    member: {
      type: "object",
      description: "The agent's gossip member entry: `Name`, `Addr`, `Port`, `Status`, `Tags`.",
      additionalProperties: true,
    },
    stats: { type: "object", description: "Always `{}`.", additionalProperties: true },
  },
  required: ["config", "member", "stats"],
  additionalProperties: true,
};

/** Response-only schemas by component name. */
export const RESPONSE_SCHEMAS: Record<string, Schema> = {
  AllocListStub: allocListStub,
  AllocationEvent: allocationEvent,
  EventBatch: eventBatch,
  TaskLogFrame: taskLogFrame,
  LogAppendResponse: logAppendResponse,
  AgentSelf: agentSelf,
};
