/**
 * Smaller places where Nomad's answers were matched, each text from Nomad's source (v1.10.0
 * unless said otherwise): command/agent/alloc_endpoint.go, fs_endpoint.go, http.go.
 */
import { describe, expect, it } from "vitest";
import { allocationJson, call, createAllocation, newAllocId, TOKEN, write } from "../support/worker.ts";

const asManagement = (path: string, init: RequestInit = {}) =>
  call(path, { ...init, headers: { "X-Nomad-Token": TOKEN, ...(init.headers as Record<string, string> | undefined) } });

describe("/v1/allocation/<id>/stop (Nomad 0.9.2+)", () => {
  it("a known allocation: checked as Nomad checks it, then a 409 saying this server is a read replica", async () => {
    const { id } = await createAllocation();
    for (const method of ["POST", "PUT"]) {
      const r = await asManagement(`/v1/allocation/${id}/stop`, { method });
      expect(r.status).toBe(409);
      expect(await r.text()).toMatch(/^This server is a read replica of the Nomad cluster: it cannot stop allocations\./);
    }
    // Nothing changed.
    expect(await (await asManagement(`/v1/allocation/${id}`)).text()).toContain('"DesiredStatus":"run"');
  });

  it("an unknown or malformed id is 404 allocation not found, never a UUID error", async () => {
    for (const id of [newAllocId(), "abc", "203266e5"]) {
      const r = await asManagement(`/v1/allocation/${id}/stop`, { method: "POST" });
      expect(r.status).toBe(404);
      expect(await r.text()).toBe("allocation not found");
    }
  });

  it("GET is 405 Invalid method; a bad flag is Nomad's parseBool 400", async () => {
    const { id } = await createAllocation();
    const get = await asManagement(`/v1/allocation/${id}/stop`);
    expect(get.status).toBe(405);
    expect(await get.text()).toBe("Invalid method");
    const bad = await asManagement(`/v1/allocation/${id}/stop?reschedule=maybe`, { method: "POST" });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toBe(
      'Failed to parse value of "reschedule" (maybe) as a bool: strconv.ParseBool: parsing "maybe": invalid syntax',
    );
  });

  it("needs alloc-lifecycle in the allocation's namespace (read-job is not enough)", async () => {
    const { id } = await createAllocation();
    const r = await call(`/v1/allocation/${id}/stop`, { method: "POST" });
    expect(r.status).toBe(403);
    expect(await r.text()).toBe("Permission denied");
  });
});

describe("sub-resources Nomad has and this server does not", () => {
  it.each(["services", "checks"])("/v1/allocation/<id>/%s is 404 resource not found", async (sub) => {
    const r = await asManagement(`/v1/allocation/${newAllocId()}/${sub}`);
    expect(r.status).toBe(404);
    expect(await r.text()).toBe("resource not found");
  });
});

describe("logs parameters in Nomad's order (fs_endpoint.go Logs)", () => {
  it("an empty id is must provide a valid alloc id", async () => {
    const r = await call("/v1/client/fs/logs/?task=redis&type=stdout");
    expect(r.status).toBe(400);
    expect(await r.text()).toBe("must provide a valid alloc id");
  });

  it("checks task, follow, plain, type, offset, origin in that order, before the caller", async () => {
    const id = newAllocId();
    const cases: Array<[string, string]> = [
      ["follow=x&plain=x&offset=x&origin=x", "must provide task name"],
      [
        "task=t&follow=x&plain=x&offset=x&origin=x",
        'failed to parse follow field to boolean: strconv.ParseBool: parsing "x": invalid syntax',
      ],
      ["task=t&plain=x&offset=x&origin=x", 'failed to parse plain field to boolean: strconv.ParseBool: parsing "x": invalid syntax'],
      ["task=t&offset=x&origin=x", "must provide log type (stdout/stderr)"],
      ["task=t&type=stdout&offset=x&origin=x", 'error parsing offset: strconv.ParseInt: parsing "x": invalid syntax'],
      ["task=t&type=stdout&origin=x", "origin must be start or end"],
    ];
    for (const [query, text] of cases) {
      // Without a token and with a token that may not read logs alike: parameters come first.
      const r = await call(`/v1/client/fs/logs/${id}?${query}`, { headers: { "X-Nomad-Token": "unknown-token" } });
      expect(r.status, query).toBe(400);
      expect(await r.text()).toBe(text);
    }
  });
});

describe("GET /v1/acl/token/self with the bootstrap management token", () => {
  it("is a complete token (every field a stored token has), keys sorted", async () => {
    const text = await (await asManagement("/v1/acl/token/self")).text();
    const keys = Object.keys(JSON.parse(text) as object);
    expect(keys).toEqual([...keys].sort());
    const created = await asManagement("/v1/acl/token", { method: "POST", body: '{"Name":"x","Type":"management"}' });
    const stored = Object.keys((await created.json()) as object).sort();
    expect(keys).toEqual(stored);
    expect(JSON.parse(text)).toMatchObject({ Type: "management", SecretID: "", Global: true });
  });
});

describe("Authorization: Bearer <token> <extra>", () => {
  it("takes the first word, as Nomad's parseToken", async () => {
    const id = newAllocId();
    const r = await call(`/v1/allocation/${id}`, {
      method: "PUT",
      body: allocationJson(id),
      headers: { Authorization: `Bearer ${TOKEN} trailing words` },
    });
    expect(r.status).toBe(200);
    expect((await write("DELETE", `/v1/allocation/${id}`)).status).toBe(200);
  });
});

describe("Vary: Accept-Encoding on every response (Nomad's gzip handler sets it)", () => {
  it("reads, errors, streams, logs, status, redirects and documents", async () => {
    const { id } = await createAllocation();
    await write("POST", `/v1/allocation/${id}/task-events`, '{"Events":[{"Task":"redis","Event":{"Type":"Started"}}]}');
    const paths = [
      `/v1/allocation/${id}`,
      `/v1/allocation/${newAllocId()}`,
      "/v1/allocations",
      `/v1/client/fs/logs/${id}?task=redis&type=stdout`,
      "/v1/event/stream?topic=Allocation",
      "/v1/status/leader",
      "/v1/regions",
      "/v1/agent/self",
      "/v1/acl/token/self",
      "/v1/allocation",
      "/nowhere",
      "/openapi.json",
      "/docs",
      "/",
    ];
    for (const path of paths) {
      const r = await asManagement(path, { redirect: "manual" });
      expect(r.headers.get("Vary") ?? "", path).toContain("Accept-Encoding");
      await r.body?.cancel();
    }
  });
});

describe("GET /v1/allocations parameters before the caller (Nomad's HTTP layer, then its RPC)", () => {
  it("a malformed list parameter is its 400 even for an unknown token", async () => {
    const headers = { "X-Nomad-Token": "unknown-token" };
    expect(await (await call("/v1/allocations?per_page=x", { headers })).text()).toBe(
      "Expect a number for `per_page` query string parameter",
    );
    expect((await call(`/v1/allocations?filter=${encodeURIComponent("a ==")}`, { headers })).status).toBe(400);
    expect(await (await call("/v1/allocations", { headers })).text()).toBe("ACL token not found");
  });
});
