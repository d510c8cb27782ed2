/**
 * `AllocListStub`: the summary `/v1/allocations` lists, built from a full allocation
 * (Nomad's `Allocation.Stub()`; Nomad 0.5.6's fields plus JobVersion, ModifyTime, Namespace, JobType).
 */
import { isJsonObject, JsonNumber, type JsonObject, type JsonValue } from "../json/codec.ts";
import { namespaceOf } from "./namespace.ts";

/** The Allocation fields an AllocListStub carries as they are (the OpenAPI schema reuses this list). */
export const ALLOC_LIST_STUB_FIELDS = [
  "ID",
  "EvalID",
  "Name",
  "NodeID",
  "JobID",
  "TaskGroup",
  "DesiredStatus",
  "DesiredDescription",
  "ClientStatus",
  "ClientDescription",
  "TaskStates",
  "CreateIndex",
  "ModifyIndex",
  "CreateTime",
] as const;

/**
 * The stub of `allocation`; `ModifyTime` is the allocation's own, or `modifyTime` for documents
 * written before allocations carried one.
 */
export function allocListStub(allocation: JsonObject, modifyTime: bigint): JsonObject {
  const stub: JsonObject = Object.create(null);
  for (const field of ALLOC_LIST_STUB_FIELDS) stub[field] = allocation[field] ?? null;
  const job: JsonValue | undefined = allocation.Job;
  stub.JobVersion = isJsonObject(job) && job.Version instanceof JsonNumber ? job.Version : new JsonNumber("0");
  stub.JobType = isJsonObject(job) && typeof job.Type === "string" ? job.Type : "";
  stub.Namespace = namespaceOf(allocation);
  stub.ModifyTime = allocation.ModifyTime instanceof JsonNumber ? allocation.ModifyTime : JsonNumber.of(modifyTime);
  return stub;
}
