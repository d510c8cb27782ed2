/**
 * Black-box: the API over real HTTP from a real `wrangler dev` started through `npm start`'s script,
 * driven the way Nomad's Go client drives it (`index=N&wait=Nms`, X-Nomad-Token).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_ALLOC_ID } from "../../src/demo/allocation.ts";
import { allocationJson, batchBody } from "../bench/lib/closed-loop.ts";
import { type DevServer, startDevServer } from "../support/dev-server.ts";

let server: DevServer;

beforeAll(async () => {
  server = await startDevServer();
});
afterAll(async () => {
  await server?.stop();
});

const get = (path: string, init?: RequestInit) => fetch(`${server.url}${path}`, init);
const put = (path: string, body: string, token = server.token) =>
  fetch(`${server.url}${path}`, { method: "PUT", body, headers: { "X-Nomad-Token": token } });
const post = (path: string, body: string) =>
  fetch(`${server.url}${path}`, { method: "POST", body, headers: { "X-Nomad-Token": server.token } });
const indexOf = (r: Response) => Number(r.headers.get("X-Nomad-Index"));

describe("black-box over HTTP", () => {
  it("serves the demo allocation (the example of Nomad 0.5.6's allocation API page) with its task started, as Nomad writes it", async () => {
    const r = await get(`/v1/allocation/${DEMO_ALLOC_ID}`);
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toBe("application/json");
    expect(indexOf(r)).toBeGreaterThan(0);
    expect(r.headers.get("x-nomad-knownleader")).toBe("true");
    expect(r.headers.get("x-nomad-lastcontact")).toBe("0");
    const text = await r.text();
    expect(text).toContain('"ID":"203266e5-e0d6-9486-5e05-397ed2b184af"');
    expect(text).toContain('"StartedAt":"2017-03-31T22:51:40.248633594Z","State":"running"');
    expect(text).toContain('"FinishedAt":"0001-01-01T00:00:00Z"');
    expect(text).toContain('"Time":1491000700248633594');
    expect(text).toContain('"Stagger":10000000000');
    expect(text).toContain('"e02b6169-83bd-9df6-69bd-832765f333eb.binpack":6.133651487695705');
    // npm start prints the URLs right after its own check that the demo reads back.
    await expect.poll(() => server.output(), { timeout: 10_000 }).toContain(`/v1/allocation/${DEMO_ALLOC_ID}`);
  });

  it("long-polls like Nomad's Go client: blocks, is woken by a write, then times out with the same index", async () => {
    const first = await get(`/v1/allocation/${DEMO_ALLOC_ID}`);
    const index = indexOf(first);
    await first.arrayBuffer();
    const started = Date.now();
    const pending = get(`/v1/allocation/${DEMO_ALLOC_ID}?index=${index}&wait=30000ms`);
    await new Promise((r) => setTimeout(r, 300));
    const write = await post(
      `/v1/allocation/${DEMO_ALLOC_ID}/task-events`,
      '{"Events":[{"Task":"redis","Event":{"Type":"Driver","DriverMessage":"ping"}}]}',
    );
    expect(write.status).toBe(200);
    const written = ((await write.json()) as { Index: number }).Index;
    const woken = await pending;
    expect(woken.status).toBe(200);
    expect(indexOf(woken)).toBe(written);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(await woken.text()).toContain('"DriverMessage":"ping"');

    const timeoutStart = Date.now();
    const timedOut = await get(`/v1/allocation/${DEMO_ALLOC_ID}?index=${written}&wait=500ms`);
    expect(Date.now() - timeoutStart).toBeGreaterThanOrEqual(500);
    expect(timedOut.status).toBe(200);
    expect(indexOf(timedOut)).toBe(written);
    await timedOut.arrayBuffer();
  });

  it("answers client mistakes with Nomad's plain-text errors", async () => {
    const cases: Array<[string, RequestInit | undefined, number, string]> = [
      [`/v1/allocation/${crypto.randomUUID()}`, undefined, 404, "alloc not found"],
      ["/v1/allocation/abcd1234", undefined, 400, "alloc lookup failed: index error: UUID must be 36 characters"],
      [`/v1/allocation/${DEMO_ALLOC_ID}?index=abc`, undefined, 400, "Invalid index"],
      [`/v1/allocation/${DEMO_ALLOC_ID}?wait=10`, undefined, 400, "Invalid wait time"],
      [`/v1/allocation/${DEMO_ALLOC_ID}?region=mars`, undefined, 400, "No path to region"],
      [`/v1/allocation/${DEMO_ALLOC_ID}`, { method: "POST" }, 405, "Invalid method"],
      [`/v1/allocation/${DEMO_ALLOC_ID}`, { method: "PUT", body: "{}" }, 403, "Permission denied"],
    ];
    for (const [path, init, status, text] of cases) {
      const r = await get(path, init);
      expect([path, r.status]).toEqual([path, status]);
      expect(r.headers.get("content-type")).toBe("text/plain; charset=utf-8");
      expect(await r.text()).toBe(text);
    }
  });

  it("writes with the token chosen on the command line, Bearer form too", async () => {
    const id = crypto.randomUUID();
    const template = await (await get(`/v1/allocation/${DEMO_ALLOC_ID}`)).text();
    const body = template.replace(DEMO_ALLOC_ID, id).replace(/"TaskStates":\{.*\},"TaskGroup"/, '"TaskGroup"');
    expect((await put(`/v1/allocation/${id}`, body, "wrong")).status).toBe(403);
    const created = await fetch(`${server.url}/v1/allocation/${id}?region=europe`, {
      method: "PUT",
      body,
      headers: { Authorization: `Bearer ${server.token}` },
    });
    expect(created.status).toBe(200);
    const read = await get(`/v1/allocation/${id}?region=europe&pretty`);
    expect(read.status).toBe(200);
    expect((await read.text()).endsWith("}\n")).toBe(true);
    expect((await get(`/v1/allocation/${id}`)).status).toBe(404);
  });

  it("creates that come together share their shard's admission lease across requests; later requests use it too", async () => {
    // Each HTTP request is a request of its own in the Worker: the lease one of them asked must
    // serve the others (src/durable/admission-leases.ts), also after that one has been answered.
    const create = async (id: string) => {
      const r = await put(`/v1/allocation/${id}`, allocationJson(id));
      return { status: r.status, text: await r.text() };
    };
    const together = Array.from({ length: 8 }, () => crypto.randomUUID());
    const answers = await Promise.all(together.map(create));
    const later: Array<{ status: number; text: string }> = [];
    for (const id of Array.from({ length: 4 }, () => crypto.randomUUID())) later.push(await create(id));
    // Concurrent again, each likely carrying the lease asked by a request answered earlier.
    later.push(...(await Promise.all(Array.from({ length: 8 }, () => create(crypto.randomUUID())))));
    for (const answer of [...answers, ...later]) expect(answer).toMatchObject({ status: 200 });
    const batch = (ids: string[]) => post("/v1/allocations/batch", batchBody(ids));
    for (let i = 0; i < 2; i++) {
      const r = await batch([crypto.randomUUID(), crypto.randomUUID()]);
      expect(r.status).toBe(200);
      const { Results } = (await r.json()) as { Results: Array<{ Index?: number }> };
      expect(Results.map((result) => typeof result.Index)).toEqual(["number", "number"]);
    }
  });

  it("keeps state and the index clock across a restart on the same state directory", async () => {
    const before = await get(`/v1/allocation/${DEMO_ALLOC_ID}`);
    const beforeText = await before.text();
    await server.stop();
    server = await startDevServer({ persistTo: server.persistTo, token: server.token });
    const after = await get(`/v1/allocation/${DEMO_ALLOC_ID}`);
    expect(await after.text()).toBe(beforeText);
    expect(indexOf(after)).toBe(indexOf(before));
    const write = await post(`/v1/allocation/${DEMO_ALLOC_ID}/task-events`, '{"Events":[{"Task":"redis","Event":{"Type":"Driver"}}]}');
    expect(indexOf(write)).toBeGreaterThan(indexOf(before));
  });

  it("namespaces with a namespace-limited token: the list, the allocation read, the event stream and logs", async () => {
    const asToken = (secret: string, path: string, init: RequestInit = {}) => get(path, { ...init, headers: { "X-Nomad-Token": secret } });
    const rules = 'namespace "team-*" { policy = "read" capabilities = ["read-logs"] }';
    const policy = await post("/v1/acl/policy/team-readers", JSON.stringify({ Description: "team namespaces", Rules: rules }));
    expect(policy.status).toBe(200);
    const token = await post("/v1/acl/token", JSON.stringify({ Name: "team", Type: "client", Policies: ["team-readers"] }));
    const secret = ((await token.json()) as { SecretID: string }).SecretID;

    const demo = await (await get(`/v1/allocation/${DEMO_ALLOC_ID}`)).text();
    const prefix = crypto.randomUUID().slice(0, 8);
    const team = `${prefix}-0000${crypto.randomUUID().slice(13)}`;
    const other = `${prefix}-0001${crypto.randomUUID().slice(13)}`;
    const from = indexOf(await get("/v1/allocations?namespace=*&per_page=1", { headers: { "X-Nomad-Token": server.token } })) + 1;
    for (const [id, namespace] of [
      [team, "team-a"],
      [other, "default"],
    ] as const) {
      const body = demo.replaceAll(DEMO_ALLOC_ID, id).replace('"Namespace":"default"', `"Namespace":"${namespace}"`);
      expect((await put(`/v1/allocation/${id}`, body)).status).toBe(200);
      expect((await post(`/v1/client/fs/logs/${id}?task=redis&type=stdout`, `${namespace} says hi\n`)).status).toBe(200);
    }

    // The list: `*` is every namespace the token may read; a namespace it may not read is a 403.
    const listed = await asToken(secret, `/v1/allocations?namespace=*&prefix=${prefix}`);
    expect(listed.status).toBe(200);
    expect(((await listed.json()) as Array<{ ID: string; Namespace: string }>).map((s) => [s.ID, s.Namespace])).toEqual([[team, "team-a"]]);
    const defaultList = await asToken(secret, `/v1/allocations?prefix=${prefix}`);
    expect(defaultList.status).toBe(403);
    expect(await defaultList.text()).toBe("Permission denied");
    const filtered = await asToken(secret, `/v1/allocations?namespace=team-a&filter=${encodeURIComponent('Namespace == "team-a"')}`);
    expect(((await filtered.json()) as Array<{ ID: string }>).map((s) => s.ID)).toContain(team);

    // The allocation read, in its own namespace.
    const read = await asToken(secret, `/v1/allocation/${team}`);
    expect(read.status).toBe(200);
    expect(((await read.json()) as { Namespace: string }).Namespace).toBe("team-a");
    const denied = await asToken(secret, `/v1/allocation/${other}`);
    expect(denied.status).toBe(403);
    expect(await denied.text()).toBe("Permission denied");

    // Logs: read-logs in the allocation's namespace.
    const logs = await asToken(secret, `/v1/client/fs/logs/${team}?task=redis&type=stdout&plain=true`);
    expect(logs.status).toBe(200);
    expect(await logs.text()).toBe("team-a says hi\n");
    const deniedLogs = await asToken(secret, `/v1/client/fs/logs/${other}?task=redis&type=stdout&plain=true`);
    expect(deniedLogs.status).toBe(403);
    await deniedLogs.arrayBuffer();

    // The event stream of the token's namespace: {} at once, then only that namespace's events.
    const streamAbort = new AbortController();
    // identity: local `wrangler dev` gzips on request, and a gzip stream holds small writes back.
    const stream = await get(`/v1/event/stream?topic=Allocation&namespace=team-a&index=${from}`, {
      signal: streamAbort.signal,
      headers: { "X-Nomad-Token": secret, "Accept-Encoding": "identity" },
    });
    expect(stream.status).toBe(200);
    expect(stream.headers.get("cache-control")).toBe("no-cache");
    const reader = (stream.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let text = "";
    const deadline = Date.now() + 15_000;
    while (!text.includes(team) && Date.now() < deadline) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
    streamAbort.abort();
    const lines = text.split("\n").filter((line) => line !== "");
    expect(lines[0]).toBe("{}");
    const keys = lines.flatMap((line) =>
      ((JSON.parse(line) as { Events?: Array<{ Key: string; Namespace: string }> }).Events ?? []).map((e) => `${e.Namespace}/${e.Key}`),
    );
    expect(keys).toContain(`team-a/${team}`);
    expect(keys.every((key) => key.startsWith("team-a/"))).toBe(true);
    const deniedStream = await asToken(secret, "/v1/event/stream?topic=Allocation");
    expect(deniedStream.status).toBe(403);
    await deniedStream.arrayBuffer();
  });
});
