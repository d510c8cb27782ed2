/**
 * What the region catalog stores for one allocation change: its list stub, its namespace, and its
 * event (Nomad's `Allocation` topic) around the index the catalog assigns. Built by the allocation
 * object, which holds the decoded allocation anyway, so the catalog — one object for a whole
 * region (or shard) — records a change without decoding or encoding it again.
 */
import { encodeJson, JsonNumber, type JsonObject } from "../json/codec.ts";
import { allocListStub } from "./alloc-stub.ts";
import { namespaceOf } from "./namespace.ts";

export interface CatalogEntry {
  /** The AllocListStub's compact JSON; null for a delete. */
  stub: string | null;
  namespace: string;
  /** The event's FilterKeys, as Nomad's allocation events carry them: the JobID and the DeploymentID ("" when none). */
  jobId: string;
  deploymentId: string;
  /** The event's JSON is `eventBefore + <index> + eventAfter`. */
  eventBefore: string;
  eventAfter: string;
}

/** A number no JSON text can contain unquoted, marking where the event's Index goes. */
const INDEX_MARK = "__INDEX__";

/** The entry of `allocation` (not changed) after an upsert, or as it was before a delete. */
export function catalogEntry(allocation: JsonObject, allocId: string, kind: "upsert" | "delete", modifyTime: bigint): CatalogEntry {
  const stub = kind === "upsert" ? encodeJson(allocListStub(allocation, modifyTime)) : null;
  const namespace = namespaceOf(allocation);
  const jobId = typeof allocation.JobID === "string" ? allocation.JobID : "";
  const deploymentId = typeof allocation.DeploymentID === "string" ? allocation.DeploymentID : "";
  const event = encodeJson({
    Topic: "Allocation",
    Type: kind === "upsert" ? "AllocationUpdated" : "AllocationDeleted",
    Key: allocId,
    Namespace: namespace,
    FilterKeys: [jobId, deploymentId],
    Index: new JsonNumber(INDEX_MARK),
    // Nomad leaves the job out of allocation events to keep them small.
    Payload: { Allocation: { ...allocation, Job: null } },
  });
  const at = event.indexOf(`"Index":${INDEX_MARK}`) + `"Index":`.length;
  return { stub, namespace, jobId, deploymentId, eventBefore: event.slice(0, at), eventAfter: event.slice(at + INDEX_MARK.length) };
}

/** The event's JSON with its index. */
export function eventJson(entry: CatalogEntry, index: number): string {
  return `${entry.eventBefore}${index}${entry.eventAfter}`;
}
