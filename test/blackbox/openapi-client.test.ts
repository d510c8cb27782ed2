/**
 * A TypeScript consumer: types generated from openapi/openapi.json with openapi-typescript and a
 * small openapi-fetch client (test/client/nomad-client.ts) compile under strict tsc and read the
 * demo allocation, including a blocking query, from a real dev server.
 */
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_ALLOC_ID } from "../../src/demo/allocation.ts";
import { readAllocation, readError, taskStates } from "../client/nomad-client.ts";
import { type DevServer, startDevServer } from "../support/dev-server.ts";
import { ROOT, runTool } from "../support/tools.ts";

describe("typed client from the OpenAPI document", () => {
  let server: DevServer;

  beforeAll(async () => {
    server = await startDevServer();
  });

  afterAll(async () => {
    await server?.stop();
  });

  it("the openapi-typescript CLI generates exactly the committed openapi/openapi.d.ts", async () => {
    const dir = join(ROOT, "test-output", "client");
    mkdirSync(dir, { recursive: true });
    const out = join(dir, "openapi.d.ts");
    const result = await runTool("openapi-typescript", "openapi-typescript", ["openapi/openapi.json", "--output", out]);
    expect(result.code, result.stderr).toBe(0);
    expect(readFileSync(out, "utf8") === readFileSync(join(ROOT, "openapi/openapi.d.ts"), "utf8")).toBe(true);
  });

  it("compiles under strict tsc", async () => {
    const result = await runTool("typescript", "tsc", ["-p", "test/client/tsconfig.json"]);
    expect(`${result.stdout}${result.stderr}`).toBe("");
    expect(result.code).toBe(0);
  });

  it("reads the demo allocation", async () => {
    const { allocation, index } = await readAllocation(server.url, DEMO_ALLOC_ID);
    expect(allocation.ID).toBe(DEMO_ALLOC_ID);
    expect(allocation.JobID).toBe("example");
    expect(taskStates(allocation)).toEqual([["redis", "running"]]);
    expect(allocation.TaskStates?.redis?.Events?.map((e) => e.Type)).toEqual(["Received", "Task Setup", "Started"]);
    expect(index).toBeGreaterThanOrEqual(1);
  });

  it("runs a blocking query that times out with the same index", async () => {
    const { index } = await readAllocation(server.url, DEMO_ALLOC_ID);
    const started = performance.now();
    const blocked = await readAllocation(server.url, DEMO_ALLOC_ID, { index, wait: "1s" });
    const ms = performance.now() - started;
    expect(blocked.index).toBe(index);
    expect(ms).toBeGreaterThanOrEqual(990);
    expect(ms).toBeLessThan(1000 + 1000 / 16 + 1500);
  });

  it("gets Nomad's plain-text error for an unknown allocation", async () => {
    expect(await readError(server.url, crypto.randomUUID())).toEqual({ status: 404, text: "alloc not found" });
  });
});
