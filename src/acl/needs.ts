/**
 * What an operation needs from its caller's ACL, and the check of an ACL against it: pure data
 * and a pure function, so the endpoint table can declare a need and the pipeline enforce that very
 * value (and the document print it).
 */
import { type Acl, ALL_NAMESPACES, allowsAgent, allowsNamespace, allowsNode } from "./policy.ts";

export type Need =
  | { namespace: string; anyOf: readonly string[] }
  | { node: "read" | "write" }
  | { agent: "read" | "write" }
  | { management: true };

/**
 * Namespace needs are checked twice: first in any namespace (`*`, so a caller who may read nothing
 * is refused before any lookup or wait), and again in the namespace of what is read.
 */
export const NEEDS = {
  readJob: { namespace: ALL_NAMESPACES, anyOf: ["read-job"] },
  readLogs: { namespace: ALL_NAMESPACES, anyOf: ["read-logs", "read-fs"] },
  nodeWrite: { node: "write" },
  agentRead: { agent: "read" },
  management: { management: true },
} as const satisfies Record<string, Need>;

/** What Nomad's stop endpoint needs in the allocation's namespace. */
export const ALLOC_LIFECYCLE = ["alloc-lifecycle"] as const;

export function allows(acl: Acl, need: Need): boolean {
  if ("namespace" in need) return allowsNamespace(acl, need.namespace, need.anyOf);
  if ("node" in need) return allowsNode(acl, need.node);
  if ("agent" in need) return allowsAgent(acl, need.agent);
  return acl.management;
}
