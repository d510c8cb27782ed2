/**
 * The pipeline enforces the access each operation declares in the endpoint table: before the
 * handler runs, or (where Nomad parses parameters first) where the handler asks, and never not at
 * all. Run through the real Worker and, for `serve()` itself, with the real runtime's bindings.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { DEMO_ALLOC_ID } from "../../src/demo/allocation.ts";
import { ENDPOINTS } from "../../src/endpoints/index.ts";
import { CodedError, ErrorText } from "../../src/errors.ts";
import { reply } from "../../src/http/reply.ts";
import { ACCESS } from "../../src/pipeline/access.ts";
import { type Operation, type RoutedRequest, serve } from "../../src/pipeline/endpoint.ts";
import { call } from "../support/worker.ts";

const SAMPLE: Record<string, string> = { alloc_id: DEMO_ALLOC_ID, name: "anonymous", accessor_id: crypto.randomUUID() };
/** Parameters an operation checks before its caller, valid, so the caller check is what answers. */
const VALID_QUERY: Record<string, string> = { readTaskLogs: "?task=redis&type=stdout" };

function routed(path: string, init?: RequestInit): RoutedRequest {
  return Object.assign(new Request(`http://alloc.test${path}`, init), { params: {} });
}

const doc = { operationId: "probe", summary: "A probe", responses: {} };

describe("the declared access of every operation", () => {
  const operations = ENDPOINTS.flatMap((endpoint) => endpoint.operations.map((operation) => ({ endpoint, operation })));

  it.each(
    operations.map(({ endpoint, operation }) => [`${operation.method.toUpperCase()} ${endpoint.path}`, endpoint, operation] as const),
  )("%s: an unknown token is refused unless the operation is public", async (_, endpoint, operation) => {
    const path = endpoint.path.replace(/\{([a-z_]+)\}/g, (_match, name: string) => SAMPLE[name] ?? name);
    const response = await call(`${path}${VALID_QUERY[operation.doc.operationId] ?? ""}`, {
      method: operation.method.toUpperCase(),
      headers: { "X-Nomad-Token": crypto.randomUUID() },
      redirect: "manual",
    });
    const text = response.status === 403 ? await response.text() : "";
    if (response.status !== 403) await response.body?.cancel();
    if (operation.access.need === "public") expect(response.status).not.toBe(403);
    else expect([response.status, text]).toEqual([403, ErrorText.aclTokenNotFound]);
  });
});

describe("serve()", () => {
  it("checks a declared need before the handler runs", async () => {
    let ran = false;
    const operation: Operation = {
      method: "post",
      access: ACCESS.nodeWrite,
      handler: () => {
        ran = true;
        return reply("{}");
      },
      doc,
    };
    // No token: the anonymous policy (read-job and read-logs only) has no node:write.
    const refused = await serve(operation)(routed("/probe", { method: "POST" }), env).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(CodedError);
    expect((refused as CodedError).status).toBe(403);
    expect((refused as CodedError).message).toBe(ErrorText.permissionDenied);
    expect(ran).toBe(false);
  });

  it("refuses an answer given without checking the caller, when the handler was to ask for it", async () => {
    const operation: Operation = { method: "get", access: ACCESS.readJob, afterParameters: true, handler: () => reply("{}"), doc };
    await expect(serve(operation)(routed("/probe"), env)).rejects.toThrow("probe answered without checking its caller");
  });

  it("gives the handler the caller it checked, once", async () => {
    const seen: string[] = [];
    const operation: Operation = {
      method: "get",
      access: ACCESS.readJob,
      afterParameters: true,
      handler: async (_request, { caller }) => {
        const [first, second] = await Promise.all([caller(), caller()]);
        seen.push(first.key, String(first === second));
        return reply("{}");
      },
      doc,
    };
    const response = await serve(operation)(routed("/probe"), env);
    expect(response.status).toBe(200);
    expect(seen).toEqual(["anonymous", "true"]);
  });

  it("lets a public operation run without a caller", async () => {
    const operation: Operation = { method: "get", access: ACCESS.public, handler: () => reply('"ok"'), doc };
    const response = await serve(operation)(routed("/probe", { headers: { "X-Nomad-Token": "no-such-token" } }), env);
    expect(await response.text()).toBe('"ok"');
  });
});
