/** The write token the in-runtime tests use (the black-box suite sets its own). */
export const TEST_MANAGEMENT_TOKEN = "test-management-token";

/** Log retention per stream in the in-runtime tests: small, so the retention floor is cheap to reach. */
export const TEST_LOG_RETENTION_BYTES = 256 * 1024;

/** Events kept per region in the in-runtime tests: small, so the history floor is cheap to reach. */
export const TEST_EVENT_HISTORY = 50;

/** Waiter caps in the in-runtime tests: above the 100-waiter test, low enough to reach cheaply. */
export const TEST_WAITER_CAPS = { perObject: 120, perCaller: 110 };

/** Catalog shards per region in the sharded run of the catalog tests. */
export const TEST_CATALOG_SHARDS = 4;

/** Bytes of event history per region in tests: small enough to reach with a few large allocations. */
export const TEST_EVENT_HISTORY_BYTES = 1024 * 1024;

/** Tombstone retention in the retention tests' project (the other projects keep the default). */
export const TEST_TOMBSTONE_RETENTION_MS = 1000;

/** Admission leases in the in-runtime tests: short, so a test waits one out (production: ADMISSION_LEASE_MS). */
export const TEST_ADMISSION_LEASE_MS = 4000;
