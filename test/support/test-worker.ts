/**
 * TEST ONLY: the Worker the workers test projects run (test/vitest.config.ts `main`): the production
 * Worker unchanged, with the allocation object and the region catalog observed (their `stats()`:
 * observed-objects.ts) under the production class and binding names, and the catalog's admission
 * leases shortened (TEST_ADMISSION_LEASE_MS).
 */
import { TEST_ADMISSION_LEASE_MS } from "./constants.ts";
import { ObservedRegionCatalog } from "./observed-objects.ts";

export * from "../../src/index.ts";
export { default } from "../../src/index.ts";

export { ObservedAllocationObject as AllocationObject } from "./observed-objects.ts";

/** The observed catalog, with admission leases short enough for a test to wait one out. */
export class RegionCatalog extends ObservedRegionCatalog {
  protected override admissionLeaseMs(): number {
    return TEST_ADMISSION_LEASE_MS;
  }
}
