import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import {
  TEST_CATALOG_SHARDS,
  TEST_EVENT_HISTORY,
  TEST_EVENT_HISTORY_BYTES,
  TEST_LOG_RETENTION_BYTES,
  TEST_MANAGEMENT_TOKEN,
  TEST_TOMBSTONE_RETENTION_MS,
  TEST_WAITER_CAPS,
} from "./support/constants.ts";

const WORKER_BINDINGS = {
  MANAGEMENT_TOKEN: TEST_MANAGEMENT_TOKEN,
  LOG_RETENTION_BYTES: String(TEST_LOG_RETENTION_BYTES),
  EVENT_HISTORY: String(TEST_EVENT_HISTORY),
  EVENT_HISTORY_BYTES: String(TEST_EVENT_HISTORY_BYTES),
  EVENT_STREAM_HEARTBEAT: "1s",
  MAX_WAITERS_PER_OBJECT: String(TEST_WAITER_CAPS.perObject),
  MAX_WAITERS_PER_CALLER: String(TEST_WAITER_CAPS.perCaller),
};

// MANAGEMENT_TOKEN is a required secret (wrangler.toml [secrets]); the plugin reads the config as
// `wrangler dev` does and, finding the secret in no .dev.vars and not in the environment, would warn
// that it is missing although the bindings below set it. The environment is where wrangler looks.
process.env.MANAGEMENT_TOKEN ??= TEST_MANAGEMENT_TOKEN;

/** The production Worker with its objects' live counters (`stats()`) for the tests to read. */
const TEST_WORKER = "./test/support/test-worker.ts";

/** Tests that need tombstones collected within seconds: a project of their own, so no other test's tombstone goes. */
const RETENTION_TESTS = ["test/worker/tombstone-retention.test.ts"];

/** Test files that run a second time with the catalog in TEST_CATALOG_SHARDS shards. */
const SHARDED_TESTS = [
  "test/worker/catalog.test.ts",
  "test/worker/catalog-shards.test.ts",
  "test/worker/batch.test.ts",
  "test/worker/namespaces.test.ts",
  "test/worker/object-names.test.ts",
  "test/worker/admission-leases.test.ts",
];

/**
 * A project that runs inside workerd (the Worker, its Durable Objects, the pure modules), with the
 * test bindings plus `extra`.
 */
function workersProject(name: string, include: string[], extra: Record<string, string> = {}, exclude: string[] = []) {
  return {
    plugins: [
      cloudflareTest({
        wrangler: { configPath: "./wrangler.toml" },
        main: TEST_WORKER,
        miniflare: { bindings: { ...WORKER_BINDINGS, ...extra } },
      }),
    ],
    test: { name, include, ...(exclude.length > 0 ? { exclude } : {}), setupFiles: ["test/support/setup-acl.ts"], testTimeout: 20_000 },
  };
}

const SHARDED = { CATALOG_SHARDS: String(TEST_CATALOG_SHARDS) };
const SHORT_RETENTION = { TOMBSTONE_RETENTION: `${TEST_TOMBSTONE_RETENTION_MS}ms` };

export default defineConfig({
  test: {
    projects: [
      // Everything that runs inside workerd, but the retention tests.
      workersProject("workers", ["test/unit/**/*.test.ts", "test/worker/**/*.test.ts"], {}, RETENTION_TESTS),
      // The region catalog split into shards: the list, blocking list and event stream merged by the Worker.
      workersProject("workers-sharded", SHARDED_TESTS, SHARDED),
      // Tombstone retention cut to TEST_TOMBSTONE_RETENTION_MS, with one catalog shard and with several.
      workersProject("workers-retention", RETENTION_TESTS, SHORT_RETENTION),
      workersProject("workers-retention-sharded", RETENTION_TESTS, { ...SHORT_RETENTION, ...SHARDED }),
      {
        // The sync bridge: its pure modules, and end to end between the Nomad stand-in and `wrangler dev`.
        test: {
          name: "sync",
          include: ["test/sync/**/*.test.ts"],
          environment: "node",
          testTimeout: 120_000,
          hookTimeout: 60_000,
        },
      },
      {
        // Black-box: a real `wrangler dev` over HTTP, and the generated-artefact drift checks.
        test: {
          name: "blackbox",
          include: ["test/blackbox/**/*.test.ts"],
          environment: "node",
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
