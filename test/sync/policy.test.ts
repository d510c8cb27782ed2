/**
 * The least-privilege edge policy the docs give the bridge (deploy/sync-edge-policy.hcl) is enough
 * for everything the bridge does: a token holding only that policy runs a full `--once` (batched
 * upserts, deletes of collected allocations, logs) in several namespaces, and the same token can
 * do nothing else an operator would not expect (ACL management).
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { JsonObject } from "../../src/json/codec.ts";
import { type DevServer, startDevServer } from "../support/dev-server.ts";
import { NomadStandIn } from "../support/nomad-standin/server.ts";
import { ROOT } from "../support/tools.ts";
import { runOnce } from "./bridge.ts";
import { differences, edgeAllocation, edgeIds, edgeLog } from "./edge-reader.ts";

let edge: DevServer;
let bridgeToken: string;

async function manage(path: string, body: unknown): Promise<Response> {
  return fetch(`${edge.url}${path}`, {
    method: "POST",
    headers: { "X-Nomad-Token": edge.token },
    body: JSON.stringify(body),
  });
}

beforeAll(async () => {
  edge = await startDevServer();
  const rules = readFileSync(join(ROOT, "deploy/sync-edge-policy.hcl"), "utf8");
  const policy = await manage("/v1/acl/policy/sync-bridge", { Description: "sync bridge", Rules: rules });
  expect(policy.status, await policy.text()).toBe(200);
  const token = await manage("/v1/acl/token", { Name: "sync", Type: "client", Policies: ["sync-bridge"] });
  expect(token.status).toBe(200);
  bridgeToken = String(((await token.json()) as { SecretID: string }).SecretID);
}, 60_000);

afterAll(async () => {
  await edge?.stop();
});

describe("sync: the documented edge policy", () => {
  it("lets the bridge load, delete and ship logs in every namespace, and nothing more", async () => {
    const nomad = new NomadStandIn();
    await nomad.start();
    try {
      const ids = [...nomad.place(5, { namespace: "default", tasks: ["app"] }), ...nomad.place(5, { namespace: "web-prod" })];
      nomad.clientUpdate(ids, "running");
      nomad.writeLog(ids[0] as string, "app", "stdout", "hello from the policy test\n");
      const dir = mkdtempSync(join(tmpdir(), "nomad-sync-policy-"));
      const args = [
        "--nomad-addr",
        nomad.url,
        "--edge-addr",
        edge.url,
        "--edge-token",
        bridgeToken,
        "--edge-region",
        "asia",
        "--state-dir",
        dir,
        "--logs",
        "running",
        "--gc-retain",
        "0s",
      ];
      const first = await runOnce(args);
      expect(first.code, first.output).toBe(0);
      for (const id of ids) expect(differences(nomad.allocs.get(id) as JsonObject, await edgeAllocation(edge, "asia", id)), id).toEqual([]);
      expect((await edgeLog(edge, "asia", ids[0] as string, "app", "stdout")).toString()).toBe("hello from the policy test\n");

      // A collected allocation is deleted at the edge with the same token.
      nomad.gc([ids[9] as string]);
      const second = await runOnce(args);
      expect(second.code, second.output).toBe(0);
      expect((await edgeIds(edge, "asia")).has(ids[9] as string)).toBe(false);

      // The bridge's token cannot manage ACLs.
      const refused = await fetch(`${edge.url}/v1/acl/policies`, { headers: { "X-Nomad-Token": bridgeToken } });
      expect(refused.status).toBe(403);
    } finally {
      await nomad.stop();
    }
  }, 120_000);
});
