/**
 * Nomad namespaces as allocations carry them: `Namespace` names the job's namespace, `default`
 * when unset, and ACL capabilities are checked in it.
 */
import { CodedError } from "../errors.ts";
import type { JsonObject } from "../json/codec.ts";

/** Nomad's `structs.DefaultNamespace`. */
export const DEFAULT_NAMESPACE = "default";

/** Nomad's `validNamespaceName` (nomad/structs/structs.go). */
const NAMESPACE_NAME = /^[a-zA-Z0-9-]{1,128}$/;

/** The namespace an allocation document is in (`default` when the field is missing or empty). */
export function namespaceOf(allocation: JsonObject | null | undefined): string {
  const value = allocation?.Namespace;
  return typeof value === "string" && value !== "" ? value : DEFAULT_NAMESPACE;
}

/** Checks a written allocation's `Namespace` and fills `default` when it is empty. */
export function normalizeNamespace(allocation: JsonObject): void {
  const value = allocation.Namespace;
  if (value === undefined || value === "") {
    allocation.Namespace = DEFAULT_NAMESPACE;
    return;
  }
  if (typeof value !== "string" || !NAMESPACE_NAME.test(value)) {
    throw new CodedError(
      400,
      `invalid field Allocation.Namespace: ${JSON.stringify(value)} is not a valid namespace name (letters, digits and hyphens, 1 to 128)`,
    );
  }
}
