/**
 * Namespaces as Nomad has them: `Namespace` on every allocation (default `default`), the list's
 * `?namespace=` (`*` = every namespace the caller may read, nomad/alloc_endpoint.go `List` with
 * `allowedNSes`), and capabilities checked in the allocation's namespace (`GetAlloc`; the client's
 * fs endpoint for logs), with Nomad's glob rules (acl/acl.go), v1.10.0.
 */
import { describe, expect, it } from "vitest";
import { allocationJson, call, newAllocId, TOKEN, write } from "../support/worker.ts";

const asManagement = (path: string, init: RequestInit = {}) =>
  call(path, { ...init, headers: { "X-Nomad-Token": TOKEN, ...(init.headers as Record<string, string> | undefined) } });

async function tokenWith(name: string, rules: string): Promise<string> {
  const policy = await asManagement(`/v1/acl/policy/${name}`, {
    method: "POST",
    body: JSON.stringify({ Name: name, Description: name, Rules: rules }),
  });
  expect(policy.status).toBe(200);
  const r = await asManagement("/v1/acl/token", { method: "POST", body: JSON.stringify({ Name: name, Type: "client", Policies: [name] }) });
  expect(r.status).toBe(200);
  return ((await r.json()) as { SecretID: string }).SecretID;
}

const as = (secret: string | null, path: string) => call(path, secret === null ? {} : { headers: { "X-Nomad-Token": secret } });

/** A fresh prefix and allocations under it, one per namespace given (undefined: no Namespace field). */
async function allocationsIn(namespaces: Array<string | undefined>): Promise<{ prefix: string; ids: string[] }> {
  const prefix = crypto.randomUUID().slice(0, 8);
  const ids: string[] = [];
  for (const [i, namespace] of namespaces.entries()) {
    const id = `${prefix}-${String(i).padStart(4, "0")}${crypto.randomUUID().slice(13)}`;
    const overrides: Record<string, string> = namespace === undefined ? {} : { Namespace: JSON.stringify(namespace) };
    const r = await write("PUT", `/v1/allocation/${id}`, allocationJson(id, overrides));
    expect(r.status).toBe(200);
    ids.push(id);
  }
  return { prefix, ids };
}

async function startTask(id: string): Promise<void> {
  const r = await write("POST", `/v1/allocation/${id}/task-events`, '{"Events":[{"Task":"redis","Event":{"Type":"Started"}}]}');
  expect(r.status).toBe(200);
}

const idsOf = async (r: Response) => ((await r.json()) as Array<{ ID: string }>).map((s) => s.ID);

describe("Namespace on allocations", () => {
  it("is stored and returned; omitted or empty means default; the stub carries the allocation's own", async () => {
    const { prefix, ids } = await allocationsIn(["public", undefined, ""]);
    const namespaces = [];
    for (const id of ids) namespaces.push(((await (await asManagement(`/v1/allocation/${id}`)).json()) as { Namespace: string }).Namespace);
    expect(namespaces).toEqual(["public", "default", "default"]);
    const stubs = (await (await asManagement(`/v1/allocations?namespace=*&prefix=${prefix}`)).json()) as Array<Record<string, unknown>>;
    expect(stubs.map((s) => s.Namespace)).toEqual(["public", "default", "default"]);
  });

  it("an invalid namespace name is a 400 and stores nothing", async () => {
    const id = newAllocId();
    for (const bad of ['"no_underscores"', '"x".repeat(129)', "7"]) {
      const value = bad.includes("repeat") ? JSON.stringify("x".repeat(129)) : bad;
      const r = await write("PUT", `/v1/allocation/${id}`, allocationJson(id, { Namespace: value }));
      expect(r.status).toBe(400);
      expect(await r.text()).toMatch(/^invalid field Allocation\.Namespace: /);
    }
    expect((await asManagement(`/v1/allocation/${id}`)).status).toBe(404);
  });

  it("ModifyTime is the writer's value when sent, else the time of the write; the stub's equals the allocation's", async () => {
    const kept = newAllocId();
    const sent = "1700000000123456789";
    expect((await write("PUT", `/v1/allocation/${kept}`, allocationJson(kept, { ModifyTime: sent }))).status).toBe(200);
    const read = await (await asManagement(`/v1/allocation/${kept}`)).text();
    expect(read).toContain(`"ModifyTime":${sent}`);
    const stub = await (await asManagement(`/v1/allocations?prefix=${kept.slice(0, 8)}${kept.slice(9, 13)}`)).text();
    expect(stub).toContain(`"ModifyTime":${sent}`);

    const fresh = newAllocId();
    const before = BigInt(Date.now()) * 1_000_000n;
    expect((await write("PUT", `/v1/allocation/${fresh}`, allocationJson(fresh))).status).toBe(200);
    const modifyTime = (text: string) => BigInt(/"ModifyTime":(\d+)/.exec(text)?.[1] ?? "0");
    const own = modifyTime(await (await asManagement(`/v1/allocation/${fresh}`)).text());
    expect(own).toBeGreaterThanOrEqual(before - 1_000_000_000n);
    const listed = modifyTime(await (await asManagement(`/v1/allocations?prefix=${fresh.replaceAll("-", "")}`)).text());
    expect(listed).toBe(own);

    // Task events change the allocation at their time of arrival.
    await startTask(kept);
    const after = modifyTime(await (await asManagement(`/v1/allocation/${kept}`)).text());
    expect(after).toBeGreaterThan(BigInt(sent));
    const afterListed = modifyTime(await (await asManagement(`/v1/allocations?prefix=${kept.replaceAll("-", "")}`)).text());
    expect(afterListed).toBe(after);
  });
});

describe("capabilities in the allocation's namespace", () => {
  it("read-job in public reads public allocations only (403 Permission denied elsewhere)", async () => {
    const secret = await tokenWith("public-reader", 'namespace "public" { policy = "read" }');
    const { ids } = await allocationsIn(["public", "default"]);
    const ok = await as(secret, `/v1/allocation/${ids[0]}`);
    expect(ok.status).toBe(200);
    const denied = await as(secret, `/v1/allocation/${ids[1]}`);
    expect(denied.status).toBe(403);
    expect(await denied.text()).toBe("Permission denied");
    // An unknown id is still Nomad's 404 for a caller who may read some namespace.
    expect((await as(secret, `/v1/allocation/${newAllocId()}`)).status).toBe(404);
  });

  it("the anonymous policy works the same way (the test setup's anonymous reads default only)", async () => {
    const { ids } = await allocationsIn(["public", "default"]);
    expect((await as(null, `/v1/allocation/${ids[0]}`)).status).toBe(403);
    expect((await as(null, `/v1/allocation/${ids[1]}`)).status).toBe(200);
  });

  it("globs: the closest matching rule decides", async () => {
    const secret = await tokenWith("web-globs", 'namespace "web-*" { policy = "read" }\nnamespace "web-secret-*" { policy = "deny" }');
    const { ids } = await allocationsIn(["web-a", "web-secret-b", "api"]);
    const statuses = [];
    for (const id of ids) statuses.push((await as(secret, `/v1/allocation/${id}`)).status);
    expect(statuses).toEqual([200, 403, 403]);
  });

  it("logs need read-logs or read-fs in the allocation's namespace", async () => {
    const secret = await tokenWith("public-logs", 'namespace "public" { capabilities = ["read-logs"] }');
    const { ids } = await allocationsIn(["public", "default"]);
    for (const id of ids) {
      await startTask(id);
      const r = await write("POST", `/v1/client/fs/logs/${id}?task=redis&type=stdout`, "hello\n");
      expect(r.status).toBe(200);
    }
    const ok = await as(secret, `/v1/client/fs/logs/${ids[0]}?task=redis&type=stdout&plain=true`);
    expect(ok.status).toBe(200);
    expect(await ok.text()).toBe("hello\n");
    const denied = await as(secret, `/v1/client/fs/logs/${ids[1]}?task=redis&type=stdout&plain=true`);
    expect(denied.status).toBe(403);
    expect(await denied.text()).toBe("Permission denied");
  });
});

describe("GET /v1/allocations?namespace=", () => {
  it("lists default when absent, one namespace when named, and * lists every namespace", async () => {
    const { prefix, ids } = await allocationsIn(["public", "default", "other", "public"]);
    expect(await idsOf(await asManagement(`/v1/allocations?prefix=${prefix}`))).toEqual([ids[1]]);
    expect(await idsOf(await asManagement(`/v1/allocations?prefix=${prefix}&namespace=public`))).toEqual([ids[0], ids[3]]);
    expect(await idsOf(await asManagement(`/v1/allocations?prefix=${prefix}&namespace=*`))).toEqual(ids);
    expect(await idsOf(await asManagement(`/v1/allocations?prefix=${prefix}&namespace=none`))).toEqual([]);
  });

  it("* lists only the namespaces the caller may read, and pages over them", async () => {
    const secret = await tokenWith("pub-and-other", 'namespace "public" { policy = "read" }\nnamespace "oth*" { policy = "read" }');
    const { prefix, ids } = await allocationsIn(["public", "default", "other", "secret", "public"]);
    const visible = [ids[0], ids[2], ids[4]];
    expect(await idsOf(await as(secret, `/v1/allocations?prefix=${prefix}&namespace=*`))).toEqual(visible);
    const first = await as(secret, `/v1/allocations?prefix=${prefix}&namespace=*&per_page=2`);
    expect(await idsOf(first)).toEqual(visible.slice(0, 2));
    expect(first.headers.get("X-Nomad-NextToken")).toBe(visible[2]);
    const second = await as(secret, `/v1/allocations?prefix=${prefix}&namespace=*&per_page=2&next_token=${visible[2]}`);
    expect(await idsOf(second)).toEqual([visible[2]]);
    expect(second.headers.get("X-Nomad-NextToken")).toBeNull();
  });

  it("a namespace the caller may not read is a 403 (Nomad's AllowNsOp before listing)", async () => {
    const secret = await tokenWith("only-public", 'namespace "public" { policy = "read" }');
    const r = await as(secret, "/v1/allocations");
    expect(r.status).toBe(403);
    expect(await r.text()).toBe("Permission denied");
    expect((await as(secret, "/v1/allocations?namespace=public")).status).toBe(200);
  });
});

describe("GET /v1/allocations reverse and task_states", () => {
  it("reverse=true lists in descending order and pages from the end", async () => {
    const { prefix, ids } = await allocationsIn(["default", "default", "default"]);
    const down = [...ids].reverse();
    expect(await idsOf(await asManagement(`/v1/allocations?prefix=${prefix}&reverse=true`))).toEqual(down);
    const first = await asManagement(`/v1/allocations?prefix=${prefix}&reverse=true&per_page=2`);
    expect(await idsOf(first)).toEqual(down.slice(0, 2));
    expect(first.headers.get("X-Nomad-NextToken")).toBe(down[2]);
    const second = await asManagement(`/v1/allocations?prefix=${prefix}&reverse=true&per_page=2&next_token=${down[2]}`);
    expect(await idsOf(second)).toEqual([down[2]]);
    // Nomad reverses only for the exact text `true`.
    expect(await idsOf(await asManagement(`/v1/allocations?prefix=${prefix}&reverse=1`))).toEqual(ids);
  });

  it("task_states=false sets TaskStates to null; true or absent keeps them", async () => {
    const { prefix, ids } = await allocationsIn(["default"]);
    await startTask(ids[0] as string);
    const states = async (query: string) =>
      ((await (await asManagement(`/v1/allocations?prefix=${prefix}${query}`)).json()) as Array<{ TaskStates: unknown }>)[0]?.TaskStates;
    expect(await states("&task_states=false")).toBeNull();
    expect(await states("&task_states=0")).toBeNull();
    expect(await states("&task_states=true")).toHaveProperty("redis");
    expect(await states("")).toHaveProperty("redis");
  });
});

describe("GET /v1/allocations?filter=", () => {
  async function mixed(): Promise<{ prefix: string; ids: string[] }> {
    const prefix = crypto.randomUUID().slice(0, 8);
    const ids: string[] = [];
    const rows: Array<Record<string, string>> = [
      { ClientStatus: '"running"', JobID: '"web"' },
      { ClientStatus: '"failed"', JobID: '"web"' },
      { ClientStatus: '"running"', JobID: '"api"', Namespace: '"public"' },
      { ClientStatus: '"running"', JobID: '"web"' },
    ];
    for (const [i, overrides] of rows.entries()) {
      const id = `${prefix}-${String(i).padStart(4, "0")}${crypto.randomUUID().slice(13)}`;
      expect((await write("PUT", `/v1/allocation/${id}`, allocationJson(id, overrides))).status).toBe(200);
      ids.push(id);
    }
    return { prefix, ids };
  }
  const q = (filter: string) => encodeURIComponent(filter);

  it("filters on the full allocation before pagination, with namespaces and reverse", async () => {
    const { prefix, ids } = await mixed();
    const running = `/v1/allocations?prefix=${prefix}&filter=${q('ClientStatus == "running"')}`;
    expect(await idsOf(await asManagement(running))).toEqual([ids[0], ids[3]]);
    expect(await idsOf(await asManagement(`${running}&namespace=*`))).toEqual([ids[0], ids[2], ids[3]]);
    // The filter applies before the page is cut: a page of 1 skips the failed one.
    const first = await asManagement(`${running}&per_page=1`);
    expect(await idsOf(first)).toEqual([ids[0]]);
    expect(first.headers.get("X-Nomad-NextToken")).toBe(ids[3]);
    expect(await idsOf(await asManagement(`${running}&per_page=1&next_token=${ids[3]}`))).toEqual([ids[3]]);
    expect(await idsOf(await asManagement(`${running}&reverse=true`))).toEqual([ids[3], ids[0]]);
    // Selectors reach into the job (the stub has no Job) and the task states.
    const demoJob = `/v1/allocations?prefix=${prefix}&namespace=*&filter=${q('Job.Type == service and JobID != "api"')}`;
    expect(await idsOf(await asManagement(demoJob))).toEqual([ids[0], ids[1], ids[3]]);
    const noStates = `/v1/allocations?prefix=${prefix}&filter=${q("TaskStates is empty and not (JobID matches `^a`)")}`;
    expect(await idsOf(await asManagement(noStates))).toEqual([ids[0], ids[1], ids[3]]);
  });

  it("a malformed expression is Nomad's 400 (paginator.go, v1.10.0), before anything is read", async () => {
    const r = await asManagement(`/v1/allocations?filter=${q("ClientStatus ==")}`);
    expect(r.status).toBe(400);
    expect(await r.text()).toBe(
      'failed to create result paginator: failed to read filter expression: 1:16 (15): no match found, expected: "-", "0", "\\"", "`", [ \\t\\r\\n], [1-9] or [a-zA-Z]',
    );
  });

  it("an expression that fails on an allocation is a 400 too", async () => {
    const { prefix } = await mixed();
    const r = await asManagement(`/v1/allocations?prefix=${prefix}&filter=${q("NoSuchField == 1")}`);
    expect(r.status).toBe(400);
    expect(await r.text()).toMatch(/^failed to read result page: error finding value in datum: \/NoSuchField/);
  });
});

describe("GET /v1/event/stream?namespace=", () => {
  async function keysFrom(secret: string | null, query: string, enough: number): Promise<string[]> {
    const r = await as(secret, `/v1/event/stream?${query}`);
    expect(r.status).toBe(200);
    const reader = (r.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    const keys: string[] = [];
    let buffered = "";
    const deadline = Date.now() + 10_000;
    while (keys.length < enough && Date.now() < deadline) {
      const { done, value } = await reader.read();
      if (done) break;
      buffered += decoder.decode(value, { stream: true });
      const lines = buffered.split("\n");
      buffered = lines.pop() ?? "";
      for (const line of lines) {
        const batch = JSON.parse(line) as { Events?: Array<{ Key: string; Namespace: string }> };
        for (const event of batch.Events ?? []) keys.push(`${event.Namespace}/${event.Key}`);
      }
    }
    await reader.cancel();
    return keys;
  }

  it("delivers the namespace asked for (default when absent); * every namespace, for a token that may read them all", async () => {
    const from = Number((await asManagement("/v1/allocations?namespace=*&per_page=1")).headers.get("X-Nomad-Index")) + 1;
    const { ids } = await allocationsIn(["public", "default", "public"]);
    const base = `topic=Allocation&index=${from}`;
    expect(await keysFrom(TOKEN, `${base}&namespace=public`, 2)).toEqual([`public/${ids[0]}`, `public/${ids[2]}`]);
    expect((await keysFrom(TOKEN, base, 1))[0]).toBe(`default/${ids[1]}`);
    expect(await keysFrom(TOKEN, `${base}&namespace=*`, 3)).toEqual([`public/${ids[0]}`, `default/${ids[1]}`, `public/${ids[2]}`]);
  });

  it("checks read-job in each namespace streamed (nomad/event_endpoint.go validateACL, v1.10.0)", async () => {
    const secret = await tokenWith("public-events", 'namespace "public" { policy = "read" }');
    await allocationsIn(["public"]);
    const ok = await as(secret, "/v1/event/stream?topic=Allocation&namespace=public");
    expect(ok.status).toBe(200);
    await ok.body?.cancel();
    for (const query of ["topic=Allocation", "topic=Allocation&namespace=default", "topic=Allocation&namespace=*"]) {
      // `*` is every namespace that exists (default always does), and each must be readable.
      const denied = await as(secret, `/v1/event/stream?${query}`);
      expect(denied.status).toBe(403);
      expect(await denied.text()).toBe("Permission denied");
    }
  });
});
