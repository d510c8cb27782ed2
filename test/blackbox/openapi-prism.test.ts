/**
 * Live validation: representative traffic to a real dev server (`npm start`) goes through Stoplight
 * Prism validation proxies built from the committed document, and every response, header and
 * error body must match it.
 *
 * - `strict`: `prism proxy <doc> <server> --errors`, for requests the document allows. Any
 *   violation turns the answer into Prism's own problem+json, so each call asserts the server's
 *   status and that Prism reported nothing.
 * - `lenient`: `prism proxy openapi/openapi.json <server>` without `--errors`, for requests that
 *   deliberately break the document (bad index, bad id, no token, undeclared method): Prism
 *   forwards them and lists violations in `sl-violations`. Those must all be about the request;
 *   the server's answer must have none.
 *
 * The strict proxy reads the committed document minus `format: int64`: Prism narrows `int64` to
 * ±2^53 (@stoplight/http-spec oas/transformers/schema/keywords/format.js) and parses bodies into
 * float64, so it would flag every nanosecond timestamp, exactly the values the document warns
 * exceed 2^53. The last test pins that this is the only thing Prism reports against the
 * unmodified document.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_ALLOC_ID, DEMO_ALLOCATION_JSON, DEMO_TASK_EVENTS_JSON } from "../../src/demo/allocation.ts";
import { type DevServer, freePort, startDevServer } from "../support/dev-server.ts";
import { type Background, ROOT, startTool } from "../support/tools.ts";

interface Violation {
  location: string[];
  severity: string;
  code?: string | number;
  message: string;
}

interface Answer {
  status: number;
  headers: Headers;
  body: string;
  violations: Violation[];
  ms: number;
}

let server: DevServer;
let strict: Background;
let lenient: Background;
let strictUrl: string;
let lenientUrl: string;

/** The committed document without `format: int64` (see the file comment). */
function prismDocument(): string {
  const strip = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(strip);
    if (value && typeof value === "object") {
      const entries = Object.entries(value).filter(([key, v]) => !(key === "format" && v === "int64"));
      return Object.fromEntries(entries.map(([key, v]) => [key, strip(v)]));
    }
    return value;
  };
  return JSON.stringify(strip(JSON.parse(readFileSync(join(ROOT, "openapi/openapi.json"), "utf8"))), null, 2);
}

async function startPrism(document: string, errors: boolean): Promise<{ proxy: Background; url: string }> {
  const port = await freePort();
  const args = ["proxy", document, server.url, "--port", String(port), "--host", "127.0.0.1"];
  if (errors) args.push("--errors");
  const proxy = await startTool("@stoplight/prism-cli", "prism", args, /Prism is listening/);
  return { proxy, url: `http://127.0.0.1:${port}` };
}

async function send(base: string, path: string, init: RequestInit = {}): Promise<Answer> {
  const started = performance.now();
  const response = await fetch(`${base}${path}`, { redirect: "manual", ...init });
  const body = await response.text();
  const ms = performance.now() - started;
  const raw = response.headers.get("sl-violations");
  return { status: response.status, headers: response.headers, body, violations: raw ? (JSON.parse(raw) as Violation[]) : [], ms };
}

/** Through the strict proxy: the server's status, and not a single violation. */
async function strictly(path: string, status: number, init: RequestInit = {}): Promise<Answer> {
  const answer = await send(strictUrl, path, init);
  expect(answer.violations, `${init.method ?? "GET"} ${path}: ${answer.body}`).toEqual([]);
  expect(answer.headers.get("content-type") ?? "", `${init.method ?? "GET"} ${path}: ${answer.body}`).not.toContain("problem+json");
  expect(answer.status, `${init.method ?? "GET"} ${path}: ${answer.body}`).toBe(status);
  return answer;
}

/** Through the lenient proxy: the server's status and text, violations about the request only. */
async function leniently(path: string, status: number, text: string, init: RequestInit = {}): Promise<Answer> {
  const answer = await send(lenientUrl, path, init);
  expect(answer.status, answer.body).toBe(status);
  expect(answer.body).toBe(text);
  expect(answer.headers.get("content-type")).toBe("text/plain; charset=utf-8");
  const aboutResponse = answer.violations.filter((v) => v.location[0] !== "request");
  expect(aboutResponse, JSON.stringify(answer.violations)).toEqual([]);
  expect(answer.violations.length, "the request was meant to break the document").toBeGreaterThan(0);
  return answer;
}

const token = () => ({ "X-Nomad-Token": server.token, "Content-Type": "application/json" });
const allocationFor = (id: string) => DEMO_ALLOCATION_JSON.replace(DEMO_ALLOC_ID, id);
const indexOf = (answer: Answer) => Number(answer.headers.get("x-nomad-index"));

beforeAll(async () => {
  server = await startDevServer();
  const dir = join(ROOT, "test-output", "prism");
  mkdirSync(dir, { recursive: true });
  const derived = join(dir, "openapi.prism.json");
  writeFileSync(derived, prismDocument());
  const [a, b] = await Promise.all([startPrism(derived, true), startPrism("openapi/openapi.json", false)]);
  strict = a.proxy;
  strictUrl = a.url;
  lenient = b.proxy;
  lenientUrl = b.url;
}, 90_000);

afterAll(async () => {
  await Promise.all([strict?.stop(), lenient?.stop()]);
  await server?.stop();
});

describe("reads through Prism", () => {
  const path = `/v1/allocation/${DEMO_ALLOC_ID}`;

  it("200: the demo allocation with the blocking headers", async () => {
    const answer = await strictly(path, 200);
    expect(JSON.parse(answer.body).ID).toBe(DEMO_ALLOC_ID);
    expect(indexOf(answer)).toBeGreaterThanOrEqual(1);
    expect(answer.headers.get("x-nomad-knownleader")).toBe("true");
    expect(answer.headers.get("x-nomad-lastcontact")).toBe("0");
  });

  it.each(["?pretty", "?pretty=1", "?stale", "?stale=true", "?region=global", "?index=0", "?wait=5s"])("200 with %s", async (query) => {
    await strictly(`${path}${query}`, 200);
  });

  it("blocking: index=<current>&wait=1s times out after about 1 s with the same index", async () => {
    const current = indexOf(await strictly(path, 200));
    const answer = await strictly(`${path}?index=${current}&wait=1s`, 200);
    expect(indexOf(answer)).toBe(current);
    expect(answer.ms).toBeGreaterThanOrEqual(990);
    expect(answer.ms).toBeLessThan(1000 + 1000 / 16 + 1500);
  });

  it("blocking: index=<current-1> answers at once", async () => {
    const current = indexOf(await strictly(path, 200));
    const answer = await strictly(`${path}?index=${current - 1}&wait=10s`, 200);
    expect(answer.ms).toBeLessThan(900);
  });

  it("404: alloc not found, with the blocking headers", async () => {
    const answer = await strictly(`/v1/allocation/${crypto.randomUUID()}`, 404);
    expect(answer.body).toBe("alloc not found");
    expect(indexOf(answer)).toBeGreaterThanOrEqual(1);
  });

  it("400: an unknown region", async () => {
    expect((await strictly(`${path}?region=mars`, 400)).body).toBe("No path to region");
  });

  it.each([
    ["?index=abc", "Invalid index"],
    ["?index=-1", "Invalid index"],
    ["?index=1&wait=60foo", "Invalid wait time"],
    ["?wait=10", "Invalid wait time"],
    ["?stale=maybe", "Expect `true` or `false` for `stale` query string parameter"],
  ])("400 for %s (request breaks the document)", async (query, text) => {
    await leniently(`${path}${query}`, 400, text);
  });

  it("400: an id that is not a UUID", async () => {
    await leniently("/v1/allocation/abc", 400, "alloc lookup failed: index error: UUID must be 36 characters");
  });

  it.each([
    ["PATCH", path],
    ["POST", path],
    ["GET", `${path}/task-events`],
    ["PUT", `${path}/task-events`],
  ])("405 for %s %s (method not in the document)", async (method, target) => {
    await leniently(target, 405, "Invalid method", { method });
  });
});

describe("writes through Prism", () => {
  it("PUT, POST task-events, blocking wake-up, DELETE: 200s with X-Nomad-Index, then 404s", async () => {
    const id = crypto.randomUUID();
    const path = `/v1/allocation/${id}`;
    const created = await strictly(path, 200, { method: "PUT", body: allocationFor(id), headers: token() });
    expect(JSON.parse(created.body).Index).toBe(indexOf(created));

    // A blocking read through the proxy is released by a task-events write (Authorization: Bearer).
    const waiting = strictly(`${path}?index=${indexOf(created)}&wait=30s`, 200);
    await new Promise((r) => setTimeout(r, 300));
    const events = await strictly(`${path}/task-events`, 200, {
      method: "POST",
      body: DEMO_TASK_EVENTS_JSON,
      headers: { Authorization: `Bearer ${server.token}`, "Content-Type": "application/json" },
    });
    const woken = await waiting;
    expect(woken.ms).toBeLessThan(5000);
    expect(indexOf(woken)).toBe(indexOf(events));
    expect(JSON.parse(woken.body).TaskStates.redis.State).toBe("running");

    await strictly(path, 200, { method: "DELETE", headers: token() });
    expect((await strictly(path, 404)).body).toBe("alloc not found");
    expect((await strictly(path, 404, { method: "DELETE", headers: token() })).body).toBe("alloc not found");
    expect((await strictly(`${path}/task-events`, 404, { method: "POST", body: DEMO_TASK_EVENTS_JSON, headers: token() })).body).toBe(
      "alloc not found",
    );
  });

  it("400: an event for a task the group does not have, and an ID that differs from the path", async () => {
    const id = crypto.randomUUID();
    const path = `/v1/allocation/${id}`;
    await strictly(path, 200, { method: "PUT", body: allocationFor(id), headers: token() });
    const unknownTask = await strictly(`${path}/task-events`, 400, {
      method: "POST",
      body: '{"Events":[{"Task":"web","Event":{"Type":"Started"}}]}',
      headers: token(),
    });
    expect(unknownTask.body).toBe('task group "cache" does not have task with name "web"');
    const other = crypto.randomUUID();
    const mismatch = await strictly(`/v1/allocation/${other}`, 400, { method: "PUT", body: allocationFor(id), headers: token() });
    expect(mismatch.body).toBe(`invalid field Allocation.ID: does not match the path ID ${other}`);
  });

  it("403: an unknown token", async () => {
    const answer = await strictly(`/v1/allocation/${DEMO_ALLOC_ID}`, 403, { method: "DELETE", headers: { "X-Nomad-Token": "wrong" } });
    expect(answer.body).toBe("ACL token not found");
  });

  it("Idempotency-Key: a retry answers the first answer, a reuse with another body is 422", async () => {
    const id = crypto.randomUUID();
    const headers = { ...token(), "Idempotency-Key": `prism-${id}` };
    const first = await strictly(`/v1/allocation/${id}`, 200, { method: "PUT", body: allocationFor(id), headers });
    const retry = await strictly(`/v1/allocation/${id}`, 200, { method: "PUT", body: allocationFor(id), headers });
    expect(retry.body).toBe(first.body);
    const reuse = await strictly(`/v1/allocation/${id}`, 422, {
      method: "PUT",
      body: allocationFor(id).replace('"DesiredStatus":"run"', '"DesiredStatus":"stop"'),
      headers,
    });
    expect(reuse.body).toBe("Idempotency-Key was already used for a different request");
  });

  it("413: a body over 1 MiB", async () => {
    const id = crypto.randomUUID();
    const body = JSON.stringify({ ID: id, DesiredDescription: "x".repeat(1024 * 1024 + 1) });
    expect((await strictly(`/v1/allocation/${id}`, 413, { method: "PUT", body, headers: token() })).body).toBe("Request body too large");
  });

  it("403 without a token (request breaks the document's security)", async () => {
    const id = crypto.randomUUID();
    await leniently(`/v1/allocation/${id}`, 403, "Permission denied", {
      method: "PUT",
      body: allocationFor(id),
      headers: { "Content-Type": "application/json" },
    });
    await leniently(`/v1/allocation/${id}`, 403, "Permission denied", { method: "DELETE" });
    await leniently(`/v1/allocation/${id}/task-events`, 403, "Permission denied", {
      method: "POST",
      body: DEMO_TASK_EVENTS_JSON,
      headers: { "Content-Type": "application/json" },
    });
  });

  it("400 for bodies that break the document", async () => {
    const id = crypto.randomUUID();
    const path = `/v1/allocation/${id}`;
    await leniently(path, 400, "invalid field Allocation.Job.Priority: expected integer (int64), got string", {
      method: "PUT",
      body: allocationFor(id).replace('"Priority":50', '"Priority":"high"'),
      headers: token(),
    });
    await leniently(`${path}/task-events`, 400, "invalid field TaskEventsRequest.Events: is required", {
      method: "POST",
      body: "{}",
      headers: token(),
    });
  });
});

describe("the region's list, status and event endpoints through Prism", () => {
  it("200: /v1/allocations with prefix, pagination and pretty, carrying the blocking headers", async () => {
    for (const query of ["", "?prefix=2032", "?prefix=203266e5-e0d6", "?per_page=1", "?pretty", "?index=0", "?region=global"]) {
      const answer = await strictly(`/v1/allocations${query}`, 200);
      expect(Array.isArray(JSON.parse(answer.body))).toBe(true);
      expect(indexOf(answer)).toBeGreaterThanOrEqual(1);
    }
  });

  it("400: a list with a bad prefix or page size (request breaks the document)", async () => {
    await leniently(
      "/v1/allocations?prefix=xyz",
      400,
      'Invalid prefix "xyz": an allocation ID prefix has only hexadecimal digits and hyphens',
    );
    await leniently("/v1/allocations?per_page=abc", 400, "Expect a number for `per_page` query string parameter");
  });

  it("200: leader, peers, regions and agent self", async () => {
    expect(JSON.parse((await strictly("/v1/status/leader", 200)).body)).toMatch(/:4647$/);
    expect(JSON.parse((await strictly("/v1/status/peers", 200)).body)).toHaveLength(1);
    expect(JSON.parse((await strictly("/v1/regions", 200)).body)).toContain("global");
    expect(JSON.parse((await strictly("/v1/agent/self", 200, { headers: token() })).body).config.Region).toBe("global");
    // The demo's anonymous policy grants reads of jobs and logs, not agent:read.
    expect((await strictly("/v1/agent/self", 403)).body).toBe("Permission denied");
  });

  it("400: a malformed event stream topic or index; 403: topics only a management token may stream", async () => {
    const topic = await strictly("/v1/event/stream?topic=a:b:c", 400);
    expect(topic.body).toBe("Invalid topic query: error parsing topics: Invalid key value pair for topic, topic: a:b:c");
    await leniently("/v1/event/stream?index=abc", 400, 'Unable to parse index: strconv.Atoi: parsing "abc": invalid syntax');
    expect((await strictly("/v1/event/stream?topic=:x", 403)).body).toBe("Permission denied");
  });
});

describe("task logs through Prism", () => {
  const logs = (id: string, query: string) => `/v1/client/fs/logs/${id}?${query}`;
  const bytes = { "Content-Type": "application/octet-stream" };

  it("ingest, then read framed and plain", async () => {
    const id = crypto.randomUUID();
    await strictly(`/v1/allocation/${id}`, 200, { method: "PUT", body: allocationFor(id), headers: token() });
    await strictly(`/v1/allocation/${id}/task-events`, 200, { method: "POST", body: DEMO_TASK_EVENTS_JSON, headers: token() });
    const appended = await strictly(logs(id, "task=redis&type=stdout"), 200, {
      method: "POST",
      body: "Ready to accept connections\n",
      headers: { ...bytes, "X-Nomad-Token": server.token },
    });
    expect(JSON.parse(appended.body)).toEqual({ Offset: 28 });
    const framed = await strictly(logs(id, "task=redis&type=stdout"), 200);
    const frame = JSON.parse(framed.body);
    expect(atob(frame.Data)).toBe("Ready to accept connections\n");
    expect(frame).toMatchObject({ File: "alloc/logs/redis.stdout.0", Offset: 28 });
    const plain = await strictly(logs(id, "task=redis&type=stdout&plain=true&origin=end&offset=12"), 200);
    expect(plain.body).toBe("connections\n");
    expect(plain.headers.get("content-type")).toContain("text/plain");
  });

  it("404 for an unknown allocation and a task that never started; 400 for a task not in the group", async () => {
    const missing = crypto.randomUUID();
    expect((await strictly(logs(missing, "task=redis&type=stdout"), 404)).body).toBe(`Unknown allocation "${missing}"`);
    const id = crypto.randomUUID();
    await strictly(`/v1/allocation/${id}`, 200, { method: "PUT", body: allocationFor(id), headers: token() });
    expect((await strictly(logs(id, "task=redis&type=stderr"), 404)).body).toBe('task "redis" not started yet. No logs available');
    expect((await strictly(logs(id, "task=web&type=stderr"), 400)).body).toBe('unknown task name "web"');
    const forbidden = await strictly(logs(id, "task=redis&type=stdout"), 403, {
      method: "POST",
      body: "x",
      headers: { ...bytes, "X-Nomad-Token": "wrong" },
    });
    expect(forbidden.body).toBe("ACL token not found");
  });

  it("400 for missing or malformed log parameters (request breaks the document)", async () => {
    await leniently(logs(DEMO_ALLOC_ID, "type=stdout"), 400, "must provide task name");
    await leniently(logs(DEMO_ALLOC_ID, "task=redis"), 400, "must provide log type (stdout/stderr)");
    await leniently(logs(DEMO_ALLOC_ID, "task=redis&type=stdout&origin=middle"), 400, "origin must be start or end");
    await leniently(
      logs(DEMO_ALLOC_ID, "task=redis&type=stdout&follow=yes"),
      400,
      'failed to parse follow field to boolean: strconv.ParseBool: parsing "yes": invalid syntax',
    );
  });
});

/**
 * Straight to the server, not through Prism: policy upserts and ACL deletes answer 200 with
 * `Content-Type: application/json` and an empty body, which Prism cannot parse (it answers a 500
 * FetchError). The status and the X-Nomad-Index header are checked here instead.
 */
async function emptyWrite(path: string, init: RequestInit): Promise<void> {
  const answer = await send(server.url, path, init);
  expect(answer.status, answer.body).toBe(200);
  expect(answer.body).toBe("");
  expect(indexOf(answer)).toBeGreaterThanOrEqual(1);
}

describe("ACL policies and tokens through Prism", () => {
  it("a policy and a client token: create, read, list, use, refuse, delete", async () => {
    const name = `prism-${crypto.randomUUID().slice(0, 8)}`;
    const rules = JSON.stringify({ namespace: { default: { policy: "read" } } });
    const asJson = (value: unknown) => JSON.stringify(value);
    await emptyWrite(`/v1/acl/policy/${name}`, {
      method: "POST",
      body: asJson({ Name: name, Description: "reads", Rules: rules }),
      headers: token(),
    });
    await emptyWrite(`/v1/acl/policy/${name}`, {
      method: "PUT",
      body: asJson({ Description: "reads, again", Rules: rules }),
      headers: token(),
    });
    const policy = JSON.parse((await strictly(`/v1/acl/policy/${name}`, 200, { headers: token() })).body);
    expect(policy).toMatchObject({ Name: name, Description: "reads, again", Rules: rules });
    const policies = JSON.parse((await strictly("/v1/acl/policies", 200, { headers: token() })).body) as { Name: string }[];
    expect(policies.map((p) => p.Name)).toContain(name);

    const created = await strictly("/v1/acl/token", 200, {
      method: "POST",
      body: asJson({ Name: "reader", Type: "client", Policies: [name] }),
      headers: token(),
    });
    const { AccessorID, SecretID } = JSON.parse(created.body) as { AccessorID: string; SecretID: string };
    expect(SecretID).toMatch(/\S/);
    const reader = { "X-Nomad-Token": SecretID, "Content-Type": "application/json" };
    expect(JSON.parse((await strictly("/v1/acl/token/self", 200, { headers: reader })).body).AccessorID).toBe(AccessorID);
    await strictly(`/v1/allocation/${DEMO_ALLOC_ID}`, 200, { headers: reader });
    expect((await strictly(`/v1/allocation/${DEMO_ALLOC_ID}`, 403, { method: "DELETE", headers: reader })).body).toBe("Permission denied");
    expect((await strictly("/v1/acl/tokens", 403, { headers: reader })).body).toBe("Permission denied");

    const read = JSON.parse((await strictly(`/v1/acl/token/${AccessorID}`, 200, { headers: token() })).body);
    expect(read).toMatchObject({ AccessorID, SecretID: "", Policies: [name] });
    await strictly(`/v1/acl/token/${AccessorID}`, 200, {
      method: "POST",
      body: asJson({ Name: "renamed", Type: "client", Policies: [name] }),
      headers: token(),
    });
    expect(JSON.parse((await strictly("/v1/acl/tokens", 200, { headers: token() })).body).length).toBeGreaterThanOrEqual(1);
    await emptyWrite(`/v1/acl/token/${AccessorID}`, { method: "DELETE", headers: token() });
    expect((await strictly(`/v1/acl/token/${AccessorID}`, 404, { headers: token() })).body).toBe("ACL token not found");
    await emptyWrite(`/v1/acl/policy/${name}`, { method: "DELETE", headers: token() });
    expect((await strictly(`/v1/acl/policy/${name}`, 404, { headers: token() })).body).toBe("ACL policy not found");
  });

  it("400s for bad policies and tokens; 403 for the own token without one", async () => {
    // Empty rules break the document's minLength: through the lenient proxy.
    await leniently("/v1/acl/policy/empty", 400, "Invalid policy rules: Rules must not be empty", {
      method: "POST",
      body: JSON.stringify({ Rules: "" }),
      headers: token(),
    });
    const noPolicies = await strictly("/v1/acl/token", 400, { method: "POST", body: JSON.stringify({ Type: "client" }), headers: token() });
    expect(noPolicies.body).toBe("client token missing policies");
    expect((await strictly("/v1/acl/token/self", 403)).body).toBe("ACL token not found");
  });
});

describe("documentation routes through Prism", () => {
  it("/openapi.json and /docs through Prism, and the / redirect", async () => {
    const document = await strictly("/openapi.json", 200);
    // Prism re-serializes JSON bodies; the byte-exact check is in test/worker/openapi.test.ts.
    expect(JSON.parse(document.body)).toEqual(JSON.parse(readFileSync(join(ROOT, "openapi/openapi.json"), "utf8")));
    expect((await strictly("/docs", 200)).headers.get("content-type")).toContain("text/html");
    // Prism's upstream fetch follows redirects, so the 302 of `/` is checked on the server itself.
    const root = await send(server.url, "/");
    expect(root.status).toBe(302);
    expect(root.headers.get("location")).toBe("/docs");
  });
});

describe("the unmodified document", () => {
  it("Prism's only complaint about a real read is its 2^53 limit on int64 nanosecond fields", async () => {
    const answer = await send(lenientUrl, `/v1/allocation/${DEMO_ALLOC_ID}`);
    expect(answer.status).toBe(200);
    expect(answer.violations.length).toBeGreaterThan(0);
    for (const violation of answer.violations) {
      expect(violation.location[0]).toBe("response");
      expect(violation.code).toBe("maximum");
      expect(violation.message).toMatch(/(CreateTime|ModifyTime|\.Time) must be <= 9007199254740991$/);
    }
  });
});
