/**
 * A committed change of one allocation, as its object reports it to the region catalog. Stored in
 * the allocation's outbox in the same transaction as the change, delivered in index order, and
 * recorded idempotently, so a crash between the two objects delays the catalog but never loses
 * or duplicates a change.
 */
import type { CatalogEntry } from "../domain/catalog-entry.ts";

export interface CatalogChange {
  allocId: string;
  /** The allocation's ModifyIndex for an update; the tombstone index for a delete. */
  allocIndex: number;
  kind: "upsert" | "delete";
  /** Unix nanoseconds (decimal) of the change. */
  modifyTime: string;
  /** The allocation's compact JSON: after an upsert, or as it was before a delete. */
  allocation: string;
  /** Its stub, namespace and event, made by the allocation object (absent in changes stored before it did). */
  entry?: CatalogEntry;
}
