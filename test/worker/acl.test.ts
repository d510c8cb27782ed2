import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ANONYMOUS_READ_RULES } from "../../src/demo/allocation.ts";
import { aclStub } from "../../src/durable/stub.ts";
import { CACHE_TTL_MS } from "../../src/pipeline/caller.ts";
import { allocationJson, call, createAllocation, newAllocId, TOKEN } from "../support/worker.ts";

const asManagement = (path: string, init: RequestInit = {}) =>
  call(path, { ...init, headers: { "X-Nomad-Token": TOKEN, ...(init.headers as Record<string, string> | undefined) } });

async function putPolicy(name: string, rules: string): Promise<Response> {
  return asManagement(`/v1/acl/policy/${name}`, {
    method: "POST",
    body: JSON.stringify({ Name: name, Description: `${name} policy`, Rules: rules }),
  });
}

async function createToken(policies: string[], type = "client"): Promise<{ AccessorID: string; SecretID: string }> {
  const r = await asManagement("/v1/acl/token", {
    method: "POST",
    body: JSON.stringify({ Name: `t-${policies.join("+")}`, Type: type, Policies: policies }),
  });
  expect(r.status).toBe(200);
  return (await r.json()) as { AccessorID: string; SecretID: string };
}

const withToken = (secret: string) => ({ "X-Nomad-Token": secret });

describe("ACL policies", () => {
  it("creates, reads, lists and deletes policies (JSON rules), with indexes", async () => {
    const rules = '{"namespace":{"default":{"policy":"read"}}}';
    const r = await putPolicy("readers", rules);
    expect(r.status).toBe(200);
    expect(await r.text()).toBe("");
    const index = Number(r.headers.get("X-Nomad-Index"));
    expect(index).toBeGreaterThan(0);
    const policy = (await (await asManagement("/v1/acl/policy/readers")).json()) as Record<string, unknown>;
    expect(policy).toEqual({ Name: "readers", Description: "readers policy", Rules: rules, CreateIndex: index, ModifyIndex: index });
    const list = (await (await asManagement("/v1/acl/policies")).json()) as Array<Record<string, unknown>>;
    expect(list.find((p) => p.Name === "readers")).toEqual({
      Name: "readers",
      Description: "readers policy",
      CreateIndex: index,
      ModifyIndex: index,
    });
    expect((await asManagement("/v1/acl/policy/readers", { method: "DELETE" })).status).toBe(200);
    const gone = await asManagement("/v1/acl/policy/readers");
    expect(gone.status).toBe(404);
    expect(await gone.text()).toBe("ACL policy not found");
  });

  it("accepts Nomad's HCL form for the same rules", async () => {
    const hcl = `# agents
namespace "default" {
  policy = "read"
  capabilities = ["read-logs"]
}
node {
  policy = "write"
}`;
    expect((await putPolicy("hcl-agent", hcl)).status).toBe(200);
    const { SecretID } = await createToken(["hcl-agent"]);
    const { id } = await createAllocation();
    expect((await call(`/v1/allocation/${id}`, { headers: withToken(SecretID) })).status).toBe(200);
    expect((await call(`/v1/allocation/${id}`, { method: "DELETE", headers: withToken(SecretID) })).status).toBe(200);
  });

  it.each([
    [
      '{"namespace":{"default":{"policy":"admin"}}}',
      'Invalid policy rules: namespace "default": policy must be one of deny, read, write, scale',
    ],
    ['{"namespace":{"default":{"capabilities":["fly"]}}}', 'Invalid policy rules: namespace "default": unknown capability in ["fly"]'],
    ['{"spaceship":{}}', 'Invalid policy rules: unknown block "spaceship"'],
    ['{"node":{"policy":"all"}}', "Invalid policy rules: node: policy must be one of deny, read, write"],
    ["{nope", "Invalid policy rules: malformed JSON"],
    [
      'namespace "x" { policy "read" }',
      'Invalid policy rules: Failed to parse ACL Policy: At 1:24: expected = after policy, got string "read"',
    ],
    ["", "Invalid policy rules: Rules must not be empty"],
  ])("rejects rules %j with 400 %j", async (rules, text) => {
    const r = await putPolicy("bad", rules);
    expect(r.status).toBe(400);
    expect(await r.text()).toBe(text);
    expect((await asManagement("/v1/acl/policy/bad")).status).toBe(404);
  });

  it("refuses prototype names in rules, and every later request still answers as before", async () => {
    await putPolicy("proto-reader", 'namespace "default" { policy = "read" }');
    const { SecretID } = await createToken(["proto-reader"]);
    const { id } = await createAllocation();
    for (const rules of [
      '__proto__ "default" { policy = "read" }',
      '__proto__ "State" { policy = "write" }',
      'namespace "__proto__" { policy = "write" }',
    ]) {
      expect((await putPolicy("proto", rules)).status).toBe(400);
    }
    expect(({} as Record<string, unknown>).default).toBeUndefined();
    expect((await call(`/v1/allocation/${id}`, { headers: withToken(SecretID) })).status).toBe(200);
    expect((await call("/v1/allocations", { headers: withToken(SecretID) })).status).toBe(200);
    const write = await call(`/v1/allocation/${id}`, { method: "DELETE", headers: withToken(SecretID) });
    expect([write.status, await write.text()]).toEqual([403, "Permission denied"]);
  });

  it("a namespace named like an Object.prototype member grants only there, across RPC and the cache", async () => {
    await putPolicy("ctor-ns", 'namespace "constructor" { policy = "write" }\nnode { policy = "read" }');
    const { SecretID } = await createToken(["ctor-ns"]);
    const { id } = await createAllocation();
    const r = await call(`/v1/allocation/${id}`, { headers: withToken(SecretID) });
    expect([r.status, await r.text()]).toEqual([403, "Permission denied"]);
  });

  it("reads one policy or token and the store's index in one RPC", async () => {
    await putPolicy("one-rpc", 'node { policy = "read" }');
    const { AccessorID } = await createToken(["one-rpc"]);
    const store = aclStub(env);
    const policy = await store.getPolicy("one-rpc");
    const token = await store.getToken(AccessorID);
    expect(policy.index).toBe((await store.listPolicies()).index);
    expect(JSON.parse(policy.body ?? "null")).toMatchObject({ Name: "one-rpc" });
    expect(JSON.parse(token.body ?? "null")).toMatchObject({ AccessorID, SecretID: "" });
    expect((await store.getPolicy("no-such")).body).toBeNull();
    const r = await asManagement("/v1/acl/policy/one-rpc");
    expect(r.headers.get("X-Nomad-Index")).toBe(String(policy.index));
  });

  it("rejects a body name that differs from the path, and bad policy names", async () => {
    const r = await asManagement("/v1/acl/policy/one", { method: "POST", body: '{"Name":"two","Rules":"{}"}' });
    expect(await r.text()).toBe("Policy name does not match request path");
    expect((await asManagement("/v1/acl/policy/bad_name!", { method: "POST", body: '{"Rules":"{}"}' })).status).toBe(400);
  });
});

describe("ACL tokens", () => {
  it("returns the SecretID once, at creation; later reads blank it; secrets are stored only as hashes", async () => {
    await putPolicy("node-writer", '{"node":{"policy":"write"}}');
    const created = (await createToken(["node-writer"])) as Record<string, unknown>;
    expect(created).toMatchObject({ Type: "client", Policies: ["node-writer"], Global: true });
    expect(created.SecretID).toMatch(/^[0-9a-f-]{36}$/);
    expect(Object.keys(created).sort()).toEqual(
      ["AccessorID", "CreateIndex", "CreateTime", "Global", "ModifyIndex", "Name", "Policies", "SecretID", "Type"].sort(),
    );
    const read = (await (await asManagement(`/v1/acl/token/${created.AccessorID}`)).json()) as Record<string, unknown>;
    expect(read.SecretID).toBe("");
    const list = (await (await asManagement("/v1/acl/tokens")).json()) as Array<Record<string, unknown>>;
    expect(list.find((t) => t.AccessorID === created.AccessorID)).not.toHaveProperty("SecretID");
    const rows = await runInDurableObject(aclStub(env), (_i, state) => state.storage.sql.exec("SELECT * FROM acl_token").toArray());
    expect(JSON.stringify(rows)).not.toContain(created.SecretID as string);
    const self = (await (await call("/v1/acl/token/self", { headers: withToken(created.SecretID as string) })).json()) as Record<
      string,
      unknown
    >;
    expect(self).toMatchObject({ AccessorID: created.AccessorID, SecretID: "" });
  });

  it("updates a token's policies and deletes it; a deleted token stops working at once here", async () => {
    await putPolicy("reader", '{"namespace":{"default":{"policy":"read"}}}');
    await putPolicy("writer", '{"node":{"policy":"write"}}');
    const { AccessorID, SecretID } = await createToken(["reader"]);
    const id = newAllocId();
    const putAlloc = () => call(`/v1/allocation/${id}`, { method: "PUT", body: allocationJson(id), headers: withToken(SecretID) });
    expect(await (await putAlloc()).text()).toBe("Permission denied");
    const updated = await asManagement(`/v1/acl/token/${AccessorID}`, {
      method: "POST",
      body: '{"Name":"w","Type":"client","Policies":["writer"]}',
    });
    expect(updated.status).toBe(200);
    expect(((await updated.json()) as { SecretID: string }).SecretID).toBe("");
    expect((await putAlloc()).status).toBe(200);
    expect((await asManagement(`/v1/acl/token/${AccessorID}`, { method: "DELETE" })).status).toBe(200);
    const after = await putAlloc();
    expect(after.status).toBe(403);
    expect(await after.text()).toBe("ACL token not found");
  });

  it(`stops honouring a token deleted elsewhere within the ${CACHE_TTL_MS} ms cache bound`, async () => {
    await putPolicy("reader2", '{"namespace":{"default":{"policy":"read"}}}');
    const { AccessorID, SecretID } = await createToken(["reader2"]);
    const { id } = await createAllocation();
    expect((await call(`/v1/allocation/${id}`, { headers: withToken(SecretID) })).status).toBe(200);
    // Deleted straight in the store, as another edge location would: this isolate's cache still holds it.
    await aclStub(env).deleteToken(AccessorID);
    const deletedAt = Date.now();
    let status = 200;
    while (status === 200) {
      status = (await call(`/v1/allocation/${id}`, { headers: withToken(SecretID) })).status;
      if (status === 200) await new Promise((w) => setTimeout(w, 100));
      expect(Date.now() - deletedAt).toBeLessThan(CACHE_TTL_MS + 1000);
    }
    expect(status).toBe(403);
  });

  it("refuses client tokens without policies, management tokens with policies, and unknown policies", async () => {
    const create = (body: string) => asManagement("/v1/acl/token", { method: "POST", body });
    expect(await (await create('{"Type":"client","Policies":[]}')).text()).toBe("client token missing policies");
    expect(await (await create('{"Type":"management","Policies":["x"]}')).text()).toBe(
      "management token cannot be associated with policies",
    );
    expect(await (await create('{"Type":"client","Policies":["no-such"]}')).text()).toBe('policy "no-such" does not exist');
    expect(await (await create('{"Type":"root"}')).text()).toBe('Invalid token type "root": client or management');
  });

  it("makes a created management token a full manager", async () => {
    const { SecretID } = await createToken([], "management");
    expect((await call("/v1/acl/policies", { headers: withToken(SecretID) })).status).toBe(200);
  });

  it("takes the token from Authorization: Bearer too, never from the query string", async () => {
    expect((await call("/v1/acl/policies", { headers: { Authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
    const r = await call(`/v1/acl/policies?token=${TOKEN}&X-Nomad-Token=${TOKEN}`);
    expect(r.status).toBe(403);
    expect(await r.text()).toBe("Permission denied");
  });
});

describe("anonymous access", () => {
  it("is governed by the `anonymous` policy: without it, reads without a token are denied", async () => {
    const { id } = await createAllocation();
    expect((await call(`/v1/allocation/${id}`)).status).toBe(200);
    expect((await asManagement("/v1/acl/policy/anonymous", { method: "DELETE" })).status).toBe(200);
    const denied = await call(`/v1/allocation/${id}`);
    expect(denied.status).toBe(403);
    expect(await denied.text()).toBe("Permission denied");
    expect((await putPolicy("anonymous", ANONYMOUS_READ_RULES)).status).toBe(200);
    expect((await call(`/v1/allocation/${id}`)).status).toBe(200);
    expect((await call("/v1/acl/token/self")).status).toBe(403);
  });
});
