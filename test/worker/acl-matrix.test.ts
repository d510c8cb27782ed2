/**
 * Every endpoint × every kind of caller: no token (anonymous, with no `anonymous` policy), an
 * unknown token, a token lacking the capability, a token with exactly it, and management.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { allocationJson, call, createAllocation, newAllocId, TOKEN, write } from "../support/worker.ts";

type Kind = "none" | "unknown" | "without" | "with" | "management";
const KINDS: Kind[] = ["none", "unknown", "without", "with", "management"];

const POLICIES: Record<string, string> = {
  "read-job": '{"namespace":{"default":{"policy":"read"}}}',
  "read-logs": '{"namespace":{"default":{"capabilities":["read-logs"]}}}',
  "read-fs": '{"namespace":{"default":{"capabilities":["read-fs"]}}}',
  "node-write": '{"node":{"policy":"write"}}',
  "node-read": '{"node":{"policy":"read"}}',
  "agent-read": '{"agent":{"policy":"read"}}',
  everything: '{"namespace":{"*":{"policy":"write"}},"node":{"policy":"write"},"agent":{"policy":"write"}}',
};
const secrets: Record<string, string> = {};

interface Endpoint {
  name: string;
  /** The policy a token "with" the capability gets, and one "without" it. */
  withPolicy: string;
  withoutPolicy: string;
  /** Builds a valid request (fixtures made with the management token). */
  request: () => Promise<[string, RequestInit]>;
  ok: number;
}

async function startedAllocation(): Promise<string> {
  const { id } = await createAllocation();
  await write("POST", `/v1/allocation/${id}/task-events`, '{"Events":[{"Task":"redis","Event":{"Type":"Started"}}]}');
  return id;
}

const ENDPOINTS: Endpoint[] = [
  {
    name: "GET /v1/allocation/<id>",
    withPolicy: "read-job",
    withoutPolicy: "node-write",
    ok: 200,
    request: async () => [`/v1/allocation/${(await createAllocation()).id}`, {}],
  },
  {
    name: "PUT /v1/allocation/<id>",
    withPolicy: "node-write",
    withoutPolicy: "everything-but-node",
    ok: 200,
    request: async () => {
      const id = newAllocId();
      return [`/v1/allocation/${id}`, { method: "PUT", body: allocationJson(id) }];
    },
  },
  {
    name: "DELETE /v1/allocation/<id>",
    withPolicy: "node-write",
    withoutPolicy: "node-read",
    ok: 200,
    request: async () => [`/v1/allocation/${(await createAllocation()).id}`, { method: "DELETE" }],
  },
  {
    name: "POST /v1/allocation/<id>/task-events",
    withPolicy: "node-write",
    withoutPolicy: "read-job",
    ok: 200,
    request: async () => [
      `/v1/allocation/${(await createAllocation()).id}/task-events`,
      { method: "POST", body: '{"Events":[{"Task":"redis","Event":{"Type":"Received"}}]}' },
    ],
  },
  {
    name: "GET /v1/allocations",
    withPolicy: "read-job",
    withoutPolicy: "read-logs",
    ok: 200,
    request: async () => ["/v1/allocations?prefix=0000", {}],
  },
  {
    name: "GET /v1/client/fs/logs/<id> (read-logs)",
    withPolicy: "read-logs",
    withoutPolicy: "read-job",
    ok: 200,
    request: async () => [`/v1/client/fs/logs/${await startedAllocation()}?task=redis&type=stdout`, {}],
  },
  {
    name: "GET /v1/client/fs/logs/<id> (read-fs)",
    withPolicy: "read-fs",
    withoutPolicy: "node-write",
    ok: 200,
    request: async () => [`/v1/client/fs/logs/${await startedAllocation()}?task=redis&type=stdout`, {}],
  },
  {
    name: "POST /v1/client/fs/logs/<id>",
    withPolicy: "node-write",
    withoutPolicy: "read-logs",
    ok: 200,
    request: async () => [`/v1/client/fs/logs/${await startedAllocation()}?task=redis&type=stdout`, { method: "POST", body: "hello" }],
  },
  {
    name: "GET /v1/event/stream",
    withPolicy: "read-job",
    withoutPolicy: "node-write",
    ok: 200,
    request: async () => ["/v1/event/stream?topic=Allocation", {}],
  },
  { name: "GET /v1/agent/self", withPolicy: "agent-read", withoutPolicy: "read-job", ok: 200, request: async () => ["/v1/agent/self", {}] },
  {
    name: "GET /v1/acl/policies",
    withPolicy: "management",
    withoutPolicy: "everything",
    ok: 200,
    request: async () => ["/v1/acl/policies", {}],
  },
  {
    name: "POST /v1/acl/policy/<name>",
    withPolicy: "management",
    withoutPolicy: "everything",
    ok: 200,
    request: async () => [
      `/v1/acl/policy/p${crypto.randomUUID().slice(0, 8)}`,
      { method: "POST", body: '{"Rules":"{\\"node\\":{\\"policy\\":\\"read\\"}}"}' },
    ],
  },
  {
    name: "GET /v1/acl/policy/<name>",
    withPolicy: "management",
    withoutPolicy: "everything",
    ok: 200,
    request: async () => ["/v1/acl/policy/read-job", {}],
  },
  {
    name: "DELETE /v1/acl/policy/<name>",
    withPolicy: "management",
    withoutPolicy: "everything",
    ok: 200,
    request: async () => {
      const name = `d${crypto.randomUUID().slice(0, 8)}`;
      await write("POST", `/v1/acl/policy/${name}`, JSON.stringify({ Rules: 'node { policy = "read" }' }));
      return [`/v1/acl/policy/${name}`, { method: "DELETE" }];
    },
  },
  {
    name: "POST /v1/acl/token",
    withPolicy: "management",
    withoutPolicy: "everything",
    ok: 200,
    request: async () => ["/v1/acl/token", { method: "POST", body: '{"Type":"client","Policies":["read-job"]}' }],
  },
  {
    name: "GET /v1/acl/tokens",
    withPolicy: "management",
    withoutPolicy: "everything",
    ok: 200,
    request: async () => ["/v1/acl/tokens", {}],
  },
  ...["GET", "POST", "DELETE"].map(
    (method): Endpoint => ({
      name: `${method} /v1/acl/token/<accessor>`,
      withPolicy: "management",
      withoutPolicy: "everything",
      ok: 200,
      request: async () => {
        const made = (await (await write("POST", "/v1/acl/token", '{"Type":"client","Policies":["read-job"]}')).json()) as {
          AccessorID: string;
        };
        const body = method === "POST" ? '{"Type":"client","Policies":["node-read"]}' : undefined;
        return [`/v1/acl/token/${made.AccessorID}`, { method, body }];
      },
    }),
  ),
];

/** Endpoints Nomad serves to anyone (no ACL check at all). */
const PUBLIC = ["/v1/status/leader", "/v1/status/peers", "/v1/regions"];

function headersFor(kind: Kind, endpoint: Endpoint): Record<string, string> {
  switch (kind) {
    case "none":
      return {};
    case "unknown":
      return { "X-Nomad-Token": crypto.randomUUID() };
    case "management":
      return { "X-Nomad-Token": TOKEN };
    case "with":
      return endpoint.withPolicy === "management"
        ? { "X-Nomad-Token": TOKEN }
        : { "X-Nomad-Token": secrets[endpoint.withPolicy] as string };
    case "without":
      return { "X-Nomad-Token": secrets[endpoint.withoutPolicy] as string };
  }
}

beforeAll(async () => {
  // No public reads here: the anonymous caller has no rights at all.
  expect((await write("DELETE", "/v1/acl/policy/anonymous")).status).toBe(200);
  POLICIES["everything-but-node"] = '{"namespace":{"*":{"policy":"write"}},"agent":{"policy":"write"}}';
  for (const [name, rules] of Object.entries(POLICIES)) {
    expect((await write("POST", `/v1/acl/policy/${name}`, JSON.stringify({ Rules: rules }))).status).toBe(200);
    const token = (await (await write("POST", "/v1/acl/token", JSON.stringify({ Type: "client", Policies: [name] }))).json()) as {
      SecretID: string;
    };
    secrets[name] = token.SecretID;
  }
});

describe("ACL matrix", () => {
  for (const endpoint of ENDPOINTS) {
    it.each(KINDS)(`${endpoint.name} × %s`, async (kind) => {
      const [path, init] = await endpoint.request();
      const r = await call(path, { ...init, headers: headersFor(kind, endpoint) });
      const expected: Record<Kind, [number, string | undefined]> = {
        none: [403, "Permission denied"],
        unknown: [403, "ACL token not found"],
        without: [403, "Permission denied"],
        with: [endpoint.ok, undefined],
        management: [endpoint.ok, undefined],
      };
      const [status, text] = expected[kind];
      expect(r.status).toBe(status);
      if (text) expect(await r.text()).toBe(text);
      else await r.body?.cancel();
    });
  }

  it.each(PUBLIC.flatMap((path) => KINDS.map((kind) => [path, kind] as const)))("%s × %s is public", async (path, kind) => {
    const headers: Record<string, string> = kind === "none" ? {} : { "X-Nomad-Token": kind === "unknown" ? crypto.randomUUID() : TOKEN };
    expect((await call(path, { headers })).status).toBe(200);
  });
});
