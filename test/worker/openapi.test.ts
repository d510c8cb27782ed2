/**
 * `/openapi.json` serves exactly the committed `openapi/openapi.json`, and the document is built
 * from the wire schemas the Worker validates with (no second copy), with the contract its description promises.
 */
import { describe, expect, it } from "vitest";
import committed from "../../openapi/openapi.json?raw";
import { DEMO_ALLOC_ID, DEMO_ALLOCATION_JSON } from "../../src/demo/allocation.ts";
import { allocListStub } from "../../src/domain/alloc-stub.ts";
import { SCHEMAS, TASK_EVENT_TYPES } from "../../src/domain/schemas.ts";
import { ENDPOINTS } from "../../src/endpoints/index.ts";
import { ErrorText } from "../../src/errors.ts";
import { type JsonObject, parseJson } from "../../src/json/codec.ts";
import { ACL_SCHEMAS } from "../../src/openapi/acl-schemas.ts";
import { BATCH_SCHEMAS } from "../../src/openapi/batch-schemas.ts";
import { buildOpenApiDocument, openApiJson } from "../../src/openapi/document.ts";
import { RESPONSE_SCHEMAS } from "../../src/openapi/response-schemas.ts";
import { call } from "../support/worker.ts";

type Json = Record<string, unknown>;
const doc = buildOpenApiDocument(ENDPOINTS) as unknown as Json;
const get = (value: unknown, ...keys: string[]): unknown => keys.reduce<unknown>((v, k) => (v as Json | undefined)?.[k], value);

/** Follows a local `$ref`. */
function deref(value: unknown): Json {
  const ref = (value as Json).$ref;
  if (typeof ref !== "string") return value as Json;
  return deref(get(doc, ...ref.slice(2).split("/")));
}

function operations(): [string, string, Json][] {
  return Object.entries(doc.paths as Record<string, Json>).flatMap(([path, item]) =>
    ["get", "put", "post", "delete", "patch"].filter((m) => item[m]).map((m): [string, string, Json] => [path, m, item[m] as Json]),
  );
}

describe("GET /openapi.json", () => {
  it("serves the committed openapi/openapi.json byte for byte", async () => {
    const response = await call("/openapi.json");
    expect(response.status).toBe(200);
    expect(response.headers.get("Content-Type")).toBe("application/json");
    const served = await response.text();
    expect(served === committed, "openapi/openapi.json is stale: run `npm run openapi`").toBe(true);
    expect(served).toBe(openApiJson(ENDPOINTS));
  });

  it("is the same document however often it is built", () => {
    expect(openApiJson(ENDPOINTS)).toBe(openApiJson(ENDPOINTS));
  });
});

describe("the OpenAPI document", () => {
  it("is OpenAPI 3.1 with a same-origin server", () => {
    expect(doc.openapi).toBe("3.1.0");
    expect(doc.servers).toEqual([expect.objectContaining({ url: "/" })]);
  });

  it("publishes the validation schemas themselves as components.schemas, then the response-only ones", () => {
    const schemas = get(doc, "components", "schemas") as Json;
    expect(Object.keys(schemas)).toEqual([
      ...Object.keys(SCHEMAS),
      ...Object.keys(RESPONSE_SCHEMAS),
      ...Object.keys(BATCH_SCHEMAS),
      ...Object.keys(ACL_SCHEMAS),
    ]);
    for (const [name, schema] of Object.entries(SCHEMAS)) expect(schemas[name]).toBe(schema);
    for (const [name, schema] of Object.entries({ ...RESPONSE_SCHEMAS, ...BATCH_SCHEMAS })) expect(schemas[name]).toBe(schema);
    for (const name of ["Allocation", "TaskState", "TaskEvent", "Resources", "Job", "TaskGroup", "Task", "AllocationMetric"]) {
      expect(schemas[name]).toBeDefined();
    }
  });

  it("resolves every $ref", () => {
    const refs = JSON.stringify(doc).match(/"\$ref":"[^"]+"/g) ?? [];
    expect(refs.length).toBeGreaterThan(50);
    for (const ref of new Set(refs)) {
      const target = ref.slice(8, -1);
      expect(get(doc, ...target.slice(2).split("/")), target).toBeDefined();
    }
  });

  it("routes every documented operation, and no undocumented method of a documented path", async () => {
    // The router's own answers to what it does not serve: 405 on a known path, 404 on any other.
    const unrouted = (response: Response, text: string) =>
      (response.status === 405 && text === ErrorText.invalidMethod) || (response.status === 404 && text === ErrorText.pageNotFound);
    const sample: Record<string, string> = { alloc_id: DEMO_ALLOC_ID, name: "anonymous", accessor_id: crypto.randomUUID() };
    const served: string[] = [];
    const refused: string[] = [];
    for (const [path, item] of Object.entries(doc.paths as Record<string, Json>)) {
      const url = path.replace(/\{([a-z_]+)\}/g, (_, name: string) => sample[name] ?? name);
      for (const method of ["get", "put", "post", "delete"]) {
        // No token, no body: every operation answers before it reads or writes anything.
        const response = await call(url, { method: method.toUpperCase(), redirect: "manual" });
        const plain = response.headers.get("Content-Type")?.startsWith("text/plain");
        const text = plain ? await response.text() : "";
        if (!plain) await response.body?.cancel();
        if (item[method] ? unrouted(response, text) : !unrouted(response, text)) {
          (item[method] ? refused : served).push(`${method.toUpperCase()} ${path}: ${response.status} ${text}`);
        }
      }
    }
    expect(refused, "documented operations the router does not serve").toEqual([]);
    expect(served, "methods the router serves that the document does not list").toEqual([]);
    expect(operations().length).toBe(ENDPOINTS.flatMap((endpoint) => endpoint.operations).length);
  });

  it("lists AllocListStub with exactly the fields the server writes", () => {
    const stub = allocListStub(parseJson(DEMO_ALLOCATION_JSON) as JsonObject, 1n);
    expect(Object.keys(RESPONSE_SCHEMAS.AllocListStub?.properties ?? {}).sort()).toEqual(Object.keys(stub).sort());
  });

  it("describes every field of every struct schema", () => {
    for (const [name, schema] of Object.entries({ ...SCHEMAS, ...RESPONSE_SCHEMAS, ...ACL_SCHEMAS })) {
      expect(schema.description, name).toBeTruthy();
      for (const [field, property] of Object.entries(schema.properties ?? {})) {
        const target = property.$ref?.split("/").pop() ?? "";
        const described =
          property.description ?? SCHEMAS[target]?.description ?? RESPONSE_SCHEMAS[target]?.description ?? ACL_SCHEMAS[target]?.description;
        expect(described, `${name}.${field}`).toBeTruthy();
      }
    }
  });

  it("documents TaskEvent.Type as an enum of every event type with its meaning", () => {
    const type = get(doc, "components", "schemas", "TaskEventType") as { enum: string[]; description: string };
    expect(type.enum).toEqual(Object.keys(TASK_EVENT_TYPES));
    for (const [event, meaning] of Object.entries(TASK_EVENT_TYPES)) expect(type.description).toContain(`\`${event}\`: ${meaning}`);
  });

  it("gives every operation an id, summary, description, tag, security and ACL note; writes need a token", () => {
    const ids = new Set<string>();
    const open = [{}];
    const read = [{}, { NomadToken: [] }, { BearerToken: [] }];
    const token = [{ NomadToken: [] }, { BearerToken: [] }];
    for (const [path, method, operation] of operations()) {
      const where = `${method.toUpperCase()} ${path}`;
      expect(operation.operationId, where).toBeTruthy();
      ids.add(operation.operationId as string);
      expect(operation.summary, where).toBeTruthy();
      expect(operation.description, where).toMatch(/\*\*ACL:\*\* .+\.$/);
      expect((operation.tags as string[]).length, where).toBeGreaterThan(0);
      expect((operation.responses as Json)["429"], where).toEqual({ $ref: "#/components/responses/RateLimited" });
      const security = operation.security as Json[];
      if (method !== "get" || (path.startsWith("/v1/acl/") && path !== "/v1/acl/token/self")) expect(security, where).toEqual(token);
      else expect([open, read], where).toContainEqual(security);
      // Whoever may be refused documents the 403.
      if (JSON.stringify(security) !== JSON.stringify(open)) expect((operation.responses as Json)["403"], where).toBeDefined();
    }
    expect(ids.size).toBe(operations().length);
    expect(get(doc, "paths", "/v1/allocation/{alloc_id}", "get", "summary")).toBe("Read an allocation");
    expect(get(doc, "components", "securitySchemes", "NomadToken")).toMatchObject({ type: "apiKey", in: "header", name: "X-Nomad-Token" });
    expect(get(doc, "components", "securitySchemes", "BearerToken")).toMatchObject({ type: "http", scheme: "bearer" });
  });

  it("declares the blocking query parameters and the alloc_id path parameter", () => {
    const read = get(doc, "paths", "/v1/allocation/{alloc_id}", "get") as { parameters: unknown[] };
    const params = read.parameters.map(deref);
    expect(params.map((p) => `${p.in}:${p.name}`)).toEqual([
      "path:alloc_id",
      "query:index",
      "query:wait",
      "query:stale",
      "query:region",
      "query:pretty",
    ]);
    const id = params[0] as Json & { schema: { pattern: string } };
    expect(id.example).toBe(DEMO_ALLOC_ID);
    expect(new RegExp(id.schema.pattern).test(DEMO_ALLOC_ID)).toBe(true);
    const wait = params[2] as Json & { description: string; schema: { pattern: string } };
    expect(wait.description).toMatch(/300 s/);
    const pattern = new RegExp(wait.schema.pattern, "u");
    for (const ok of ["1s", "300000ms", "1.5m", "1h2m3.5s", "0", "-5s", "10\u00b5s", ""]) expect(pattern.test(ok), ok).toBe(true);
    for (const bad of ["10", "60foo", "s", "1d"]) expect(pattern.test(bad), bad).toBe(false);
  });

  it("puts the blocking headers on every read response, 404 included, and X-Nomad-Index on writes", () => {
    for (const [path, method, operation] of operations()) {
      if (!path.startsWith("/v1/allocation/")) continue;
      const responses = operation.responses as Json;
      // Nomad's stop endpoint never succeeds here (a read replica): it has no 200 to carry headers.
      if (path.endsWith("/stop")) {
        expect(Object.keys(responses)).not.toContain("200");
        continue;
      }
      if (method === "get") {
        for (const status of ["200", "404"]) {
          const headers = Object.keys((deref(responses[status]).headers as Json) ?? {});
          expect(headers, `${path} ${status}`).toEqual(["X-Nomad-Index", "X-Nomad-KnownLeader", "X-Nomad-LastContact"]);
        }
      } else {
        expect(Object.keys(deref(responses["200"]).headers as Json)).toEqual(["X-Nomad-Index"]);
      }
    }
  });

  it("puts the blocking headers on the allocation list", () => {
    const ok = deref(get(doc, "paths", "/v1/allocations", "get", "responses", "200")).headers as Json;
    expect(Object.keys(ok)).toEqual(["X-Nomad-Index", "X-Nomad-KnownLeader", "X-Nomad-LastContact", "X-Nomad-NextToken"]);
  });

  it("answers every error as text/plain with Nomad's exact texts as examples", () => {
    const texts = new Set<string>();
    for (const [, , operation] of operations()) {
      for (const [status, response] of Object.entries(operation.responses as Json)) {
        if (Number(status) < 400) continue;
        const content = deref(response).content as Json;
        expect(Object.keys(content)).toEqual(["text/plain"]);
        for (const example of Object.values(get(content, "text/plain", "examples") as Json)) texts.add((example as Json).value as string);
      }
    }
    for (const text of [
      ErrorText.allocNotFound,
      ErrorText.invalidIndex,
      ErrorText.invalidWait,
      ErrorText.noRegionPath,
      ErrorText.permissionDenied,
      "ACL token not found",
      "Idempotency-Key was already used for a different request",
      "Rate limit exceeded: too many requests from this caller",
      ErrorText.requestTooLarge,
      "alloc lookup failed: index error: UUID must be 36 characters",
    ]) {
      expect(texts, text).toContain(text);
    }
  });

  it("carries the blocking-query contract and the field reference of Nomad 0.5.6's allocation API page in its description", () => {
    const description = get(doc, "info", "description") as string;
    for (const needle of [
      "## Blocking queries",
      "`index`",
      "`wait`",
      "default, 300 s",
      "maximum is 300 s",
      "MAX_QUERY_TIME",
      "wait/16",
      "same `X-Nomad-Index`",
      "never 0",
      "within milliseconds",
      "## Field reference",
      "`TaskStates`",
      "**`pending`**",
      "**`running`**",
      "**`dead`**",
      "updated **every time** the task starts",
      "only when the task transitions to `dead`",
      "latest 10 events",
      "exceed 2^53",
    ]) {
      expect(description, needle).toContain(needle);
    }
    for (const event of Object.keys(TASK_EVENT_TYPES)) expect(description).toContain(`\`${event}\``);
  });
});
