import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { TEST_EVENT_HISTORY, TEST_LOG_RETENTION_BYTES, TEST_MANAGEMENT_TOKEN, TEST_WAITER_CAPS } from "./support/constants.ts";

export default defineConfig({
  test: {
    projects: [
      {
        // Everything that runs inside workerd: the Worker, the Durable Object, and the pure modules.
        plugins: [
          cloudflareTest({
            wrangler: { configPath: "./wrangler.toml" },
            miniflare: {
              bindings: {
                MANAGEMENT_TOKEN: TEST_MANAGEMENT_TOKEN,
                LOG_RETENTION_BYTES: String(TEST_LOG_RETENTION_BYTES),
                EVENT_HISTORY: String(TEST_EVENT_HISTORY),
                EVENT_STREAM_HEARTBEAT: "1s",
                MAX_WAITERS_PER_OBJECT: String(TEST_WAITER_CAPS.perObject),
                MAX_WAITERS_PER_CALLER: String(TEST_WAITER_CAPS.perCaller),
              },
            },
          }),
        ],
        test: {
          name: "workers",
          include: ["test/unit/**/*.test.ts", "test/worker/**/*.test.ts"],
          setupFiles: ["test/support/setup-acl.ts"],
          testTimeout: 20_000,
        },
      },
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
