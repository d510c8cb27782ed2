/**
 * TEST ONLY: the Worker the workers test projects run (test/vitest.config.ts `main`): the production
 * Worker unchanged, with the allocation object and the region catalog observed (their `stats()`:
 * observed-objects.ts) under the production class and binding names.
 */
export * from "../../src/index.ts";
export { default } from "../../src/index.ts";
export { ObservedAllocationObject as AllocationObject, ObservedRegionCatalog as RegionCatalog } from "./observed-objects.ts";
