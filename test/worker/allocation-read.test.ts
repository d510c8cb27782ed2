import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { DEMO_TASK_EVENTS_JSON } from "../../src/demo/allocation.ts";
import { allocationJson, call, createAllocation, expectMeta, newAllocId, objectFor, write } from "../support/worker.ts";

const ZERO = "0001-01-01T00:00:00Z";

async function demoLike(): Promise<string> {
  const { id } = await createAllocation();
  const r = await write("POST", `/v1/allocation/${id}/task-events`, DEMO_TASK_EVENTS_JSON);
  expect(r.status).toBe(200);
  return id;
}

describe("GET /v1/allocation/<id>", () => {
  it("answers 200 JSON with the meta headers, compact and without a trailing newline", async () => {
    const id = await demoLike();
    const r = await call(`/v1/allocation/${id}`);
    expect(r.status).toBe(200);
    expect(r.headers.get("Content-Type")).toBe("application/json");
    expectMeta(r);
    const text = await r.text();
    expect(text.endsWith("}")).toBe(true);
    expect(text).not.toMatch(/\n|": /);
  });

  it("writes every struct's keys in alphabetical order at every level", async () => {
    const id = await demoLike();
    const text = await (await call(`/v1/allocation/${id}`)).text();
    const keyOrders: string[][] = [];
    JSON.parse(text, function (this: Record<string, unknown>, _key, value) {
      if (value && typeof value === "object" && !Array.isArray(value)) keyOrders.push(Object.keys(value));
      return value;
    });
    expect(keyOrders.length).toBeGreaterThan(10);
    for (const keys of keyOrders) expect(keys).toEqual([...keys].sort());
    expect(text.startsWith('{"AllocModifyIndex":')).toBe(true);
  });

  it("carries every Allocation field of Nomad 0.5.6's allocation API page, and the full TaskState and TaskEvent", async () => {
    const id = await demoLike();
    const body = (await (await call(`/v1/allocation/${id}`)).json()) as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual(
      [
        "AllocModifyIndex",
        "ClientDescription",
        "ClientStatus",
        "CreateIndex",
        "CreateTime",
        "DesiredDescription",
        "DesiredStatus",
        "EvalID",
        "ID",
        "Job",
        "JobID",
        "Metrics",
        "ModifyIndex",
        "ModifyTime",
        "Name",
        "Namespace",
        "NodeID",
        "PreviousAllocation",
        "Resources",
        "SharedResources",
        "TaskGroup",
        "TaskResources",
        "TaskStates",
      ].sort(),
    );
    const redis = (body.TaskStates as Record<string, Record<string, unknown>>).redis as Record<string, unknown>;
    expect(Object.keys(redis)).toEqual(["Events", "Failed", "FinishedAt", "LastRestart", "Restarts", "StartedAt", "State"]);
    expect(redis.State).toBe("running");
    expect(redis.StartedAt).toBe("2017-03-31T22:51:40.248633594Z");
    expect(redis.FinishedAt).toBe(ZERO);
    expect(redis.LastRestart).toBe(ZERO);
    const event = (redis.Events as Record<string, unknown>[])[2] as Record<string, unknown>;
    expect(Object.keys(event)).toHaveLength(24);
    expect(event).toMatchObject({
      Type: "Started",
      DisplayMessage: "Task started by client",
      Details: {},
      GenericSource: "",
      KillTimeout: 0,
    });
    expect(body.SharedResources).toBeNull();
    expect(body.PreviousAllocation).toBe("");
    expect(body.ClientStatus).toBe("running");
  });

  it("returns int64 nanoseconds exactly, never through a JS number", async () => {
    const id = await demoLike();
    const text = await (await call(`/v1/allocation/${id}`)).text();
    expect(text).toContain('"Time":1490999500248633594');
    expect(text).toContain('"Time":1491000700248633594');
    expect(text).toContain('"CreateTime":1490999490011295016');
    expect(text).toContain('"Stagger":10000000000');
    expect(text).toContain('"Scores":{"e02b6169-83bd-9df6-69bd-832765f333eb.binpack":6.133651487695705}');
  });

  it("keeps nil as null and empty as []/{}, and <>& unescaped", async () => {
    const id = newAllocId();
    const body = allocationJson(id, { DesiredDescription: '"<b>&amp;</b>"', TaskResources: "{}", PreviousAllocation: '""' });
    expect((await write("PUT", `/v1/allocation/${id}`, body)).status).toBe(200);
    const text = await (await call(`/v1/allocation/${id}`)).text();
    expect(text).toContain('"DesiredDescription":"<b>&amp;</b>"');
    expect(text).toContain('"TaskResources":{}');
    expect(text).toContain('"TaskStates":null');
    expect(text).toContain('"ReservedPorts":null');
    expect(text).toContain('"ClassFiltered":null');
    expect(text).toContain('"Constraints":null');
  });

  it("keeps fields it does not model exactly as sent", async () => {
    const id = newAllocId();
    const body = allocationJson(id, {
      NodeName: '"node-1"',
      DeploymentStatus: '{"Healthy":true,"Timestamp":"2020-01-01T00:00:00Z","Big":18446744073709551615}',
    });
    expect((await write("PUT", `/v1/allocation/${id}`, body)).status).toBe(200);
    const text = await (await call(`/v1/allocation/${id}`)).text();
    expect(text).toContain('"NodeName":"node-1"');
    expect(text).toContain('"DeploymentStatus":{"Big":18446744073709551615,"Healthy":true,"Timestamp":"2020-01-01T00:00:00Z"}');
  });

  it("pretty-prints with ?pretty (any value but 0) and a trailing newline", async () => {
    const id = await demoLike();
    const compact = await (await call(`/v1/allocation/${id}`)).text();
    for (const q of ["pretty", "pretty=1", "pretty=true", "pretty=false"]) {
      const r = await call(`/v1/allocation/${id}?${q}`);
      const text = await r.text();
      expect(text.startsWith('{\n    "AllocModifyIndex": ')).toBe(true);
      expect(text.endsWith("}\n")).toBe(true);
      expect(text).toContain('            "Time": 1491000700248633594');
      expect(JSON.stringify(JSON.parse(text))).toBe(JSON.stringify(JSON.parse(compact)));
    }
    expect(await (await call(`/v1/allocation/${id}?pretty=0`)).text()).toBe(compact);
  });

  it("answers an unknown UUID with 404 `alloc not found`, plain text, meta headers, index never 0", async () => {
    const r = await call(`/v1/allocation/${newAllocId()}`);
    expect(r.status).toBe(404);
    expect(await r.text()).toBe("alloc not found");
    expect(r.headers.get("Content-Type")).toBe("text/plain; charset=utf-8");
    expect(expectMeta(r)).toBe(1);
  });

  it("stores nothing for reads of an unknown id, blocking ones included", async () => {
    const id = newAllocId();
    expect((await call(`/v1/allocation/${id}`)).status).toBe(404);
    expect((await call(`/v1/allocation/${id}?index=1&wait=50ms`)).status).toBe(404);
    const tables = await runInDurableObject(objectFor(id), (_instance, state) =>
      state.storage.sql.exec("SELECT name FROM sqlite_master").toArray(),
    );
    expect(tables).toEqual([]);
  });

  it("finds the allocation under any spelling of the same UUID bytes (case, hyphens), as Nomad does", async () => {
    const { id } = await createAllocation();
    const upper = id.toUpperCase();
    const moved = `${id.replaceAll("-", "").slice(0, 28)}----${id.replaceAll("-", "").slice(28)}`;
    for (const spelling of [upper, moved]) {
      const r = await call(`/v1/allocation/${spelling}`);
      expect(r.status).toBe(200);
      expect(((await r.json()) as { ID: string }).ID).toBe(id);
    }
  });

  it.each([
    ["abcd1234", 400, "alloc lookup failed: index error: UUID must be 36 characters"],
    ["", 400, "alloc lookup failed: index error: UUID must be 36 characters"],
    ["203266e5-e0d6-9486-5e05-397ed2b184af/", 400, "alloc lookup failed: index error: UUID must be 36 characters"],
    ["203266e5-e0d6-9486-5e05-397ed2b184af/extra", 400, "alloc lookup failed: index error: UUID must be 36 characters"],
    ["g03266e5-e0d6-9486-5e05-397ed2b184af", 400, "alloc lookup failed: index error: Invalid UUID: encoding/hex: invalid byte: U+0067 'g'"],
    ["203266e5-e0d6-9486-5e05-397ed2b184a%00", 400, "alloc lookup failed: index error: Invalid UUID: encoding/hex: invalid byte: U+0000"],
    [
      "203266e5-e0d6-9486-5e05-397ed2b184%C3%A9",
      400,
      "alloc lookup failed: index error: Invalid UUID: encoding/hex: invalid byte: U+00C3 'Ã'",
    ],
    ["203266e5-e0d6-9486-5e05-397ed2b1-4-f", 400, 'alloc lookup failed: index error: UUID should have maximum of 4 "-"; got 6'],
    ["203266e5-e0d6-9486-5e05397ed2b184af0", 400, "alloc lookup failed: index error: Input (without hyphens) must be even length"],
    ["203266e5e0d694865e05397ed2b184af0000", 404, "alloc not found"],
  ])("answers id %j with %i %j", async (id, status, text) => {
    const r = await call(`/v1/allocation/${id}`);
    expect(r.status).toBe(status);
    expect(await r.text()).toBe(text);
  });

  it.each(["POST", "PATCH", "HEAD", "OPTIONS"])("answers %s with 405 `Invalid method`", async (method) => {
    const r = await call(`/v1/allocation/${newAllocId()}`, { method });
    expect(r.status).toBe(405);
    if (method !== "HEAD") expect(await r.text()).toBe("Invalid method");
  });

  it("answers GET on the task-events resource with 405, and unknown paths with Go's 404", async () => {
    expect((await call(`/v1/allocation/${newAllocId()}/task-events`)).status).toBe(405);
    const r = await call("/v1/nope");
    expect(r.status).toBe(404);
    expect(await r.text()).toBe("404 page not found");
  });

  it("redirects /v1/allocation to /v1/allocation/ like Go's ServeMux", async () => {
    const r = await call("/v1/allocation", { redirect: "manual" });
    expect(r.status).toBe(301);
    expect(r.headers.get("Location")).toBe("/v1/allocation/");
  });

  it("accepts ?stale (empty or a bool) and rejects a bad value", async () => {
    const { id } = await createAllocation();
    expect((await call(`/v1/allocation/${id}?stale`)).status).toBe(200);
    expect((await call(`/v1/allocation/${id}?stale=true`)).status).toBe(200);
    const r = await call(`/v1/allocation/${id}?stale=maybe`);
    expect(r.status).toBe(400);
    expect(await r.text()).toBe("Expect `true` or `false` for `stale` query string parameter");
  });
});
