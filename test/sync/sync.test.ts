/**
 * The sync bridge end to end: the real bridge process (`node sync/cli.ts sync`) between the Nomad
 * stand-in (test/support/nomad-standin, Nomad's documented and source behaviour) and the real edge
 * (`wrangler dev`). Each scenario has its own edge region, so deletes of one never touch another.
 */
import { spawnSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JsonNumber, type JsonObject } from "../../src/json/codec.ts";
import { type DevServer, freePort, startDevServer } from "../support/dev-server.ts";
import { NomadStandIn } from "../support/nomad-standin/server.ts";
import { ROOT } from "../support/tools.ts";
import { bridgeArgs, newStateDir, runOnce, startBridge, until } from "./bridge.ts";
import { differences, edgeAllocation, edgeIds } from "./edge-reader.ts";

let edge: DevServer;

beforeAll(async () => {
  edge = await startDevServer();
}, 60_000);

afterAll(async () => {
  await edge?.stop();
});

async function mirrored(nomad: NomadStandIn, region: string, id: string): Promise<boolean> {
  const want = nomad.allocs.get(id);
  const got = await edgeAllocation(edge, region, id);
  if (!want) return got === undefined;
  return got !== undefined && differences(want, got).length === 0;
}

async function allMirrored(nomad: NomadStandIn, region: string): Promise<boolean> {
  const ids = await edgeIds(edge, region);
  for (const id of nomad.allocs.keys()) if (!ids.has(id)) return false;
  for (const id of nomad.allocs.keys()) if (!(await mirrored(nomad, region, id))) return false;
  return true;
}

describe("sync: --once", () => {
  it("loads every allocation with every field as Nomad sent it, a second --once writes nothing, a rejected allocation fails it", async () => {
    const nomad = new NomadStandIn();
    await nomad.start();
    try {
      const ids = [...nomad.place(40, { namespace: "default" }), ...nomad.place(20, { namespace: "prod", tasks: ["api", "sidecar"] })];
      nomad.clientUpdate(ids.slice(0, 30), "running");
      const dir = newStateDir();
      // Reads that get no answer (reset connections: the list twice, one allocation's fetch once) are tried again.
      nomad.resets.push("/v1/allocations", "/v1/allocations", `/v1/allocation/${ids[3]}`);
      const first = await runOnce(bridgeArgs(nomad, edge, "global", dir));
      expect(first.output).toContain("the edge matches Nomad (60 allocations");
      expect(first.code).toBe(0);
      expect(nomad.resets).toEqual([]);
      expect(first.output).toContain("nomad /v1/allocations: socket hang up; retrying (attempt 3 of 5)");
      for (const id of ids) {
        const got = await edgeAllocation(edge, "global", id);
        expect(differences(nomad.allocs.get(id) as JsonObject, got), id).toEqual([]);
      }
      const prod = await edgeAllocation(edge, "global", ids[45] as string);
      expect(prod?.Namespace).toBe("prod");
      expect(prod?.Job).toMatchObject({ TaskGroups: [{ Name: "web" }] });
      const before = await edgeAllocation(edge, "global", ids[0] as string);

      const second = await runOnce(bridgeArgs(nomad, edge, "global", dir));
      expect(second.code).toBe(0);
      expect(second.output).toContain("0 to write");
      expect(second.output).not.toContain("writing:");
      expect((await edgeAllocation(edge, "global", ids[0] as string))?.ModifyIndex).toEqual(before?.ModifyIndex);

      // The same through the package's bin and the single-file bundle, with the env vars instead of flags.
      expect(spawnSync(process.execPath, ["sync/build.ts"], { cwd: ROOT }).status).toBe(0);
      const env = { NOMAD_ADDR: nomad.url, EDGE_ADDR: edge.url, EDGE_TOKEN: edge.token };
      for (const entry of ["bin/nomad-alloc-edge.mjs", "dist/sync/nomad-alloc-edge.mjs"] as const) {
        const run = await runOnce(["--edge-region", "global", "--state-dir", dir], env, entry);
        expect(run.output).toContain("0 to write");
        expect(run.code).toBe(0);
      }

      // An allocation the edge refuses (an unknown task event type): logged, counted, exit 1.
      const [bad] = nomad.place(1);
      const alloc = nomad.allocs.get(bad as string) as JsonObject;
      alloc.TaskStates = {
        app: {
          State: "running",
          Failed: false,
          Restarts: new JsonNumber("0"),
          Events: [{ Type: "Not A Nomad Event", Time: new JsonNumber("1") }],
        },
      };
      const third = await runOnce(bridgeArgs(nomad, edge, "global", dir));
      expect(third.code).toBe(1);
      expect(third.output).toContain(`edge rejected put of allocation ${bad}`);
      expect(third.output).toContain("the edge does not match Nomad");

      const usage = await runOnce(["--edge-addr", edge.url]);
      expect(usage.code).toBe(2);
      expect(usage.output).toContain("--state-dir is required");
    } finally {
      await nomad.stop();
    }
  }, 120_000);
});

describe("sync: following", () => {
  it("mirrors live changes of every event type, fetches the Job when it changes, deletes collected allocations, stops on SIGTERM", async () => {
    const nomad = new NomadStandIn();
    await nomad.start();
    const metricsPort = await freePort();
    const bridge = startBridge(
      bridgeArgs(nomad, edge, "europe", newStateDir(), [
        "--gc-retain",
        "0s",
        "--reconcile-every",
        "1s",
        "--metrics-addr",
        `127.0.0.1:${metricsPort}`,
      ]),
    );
    try {
      const ids = nomad.place(10);
      await bridge.waitFor("event stream connected");
      await until("initial load", () => allMirrored(nomad, "europe"));
      nomad.clientUpdate(ids.slice(0, 5), "running"); // AllocationUpdated
      nomad.desiredTransition([ids[5] as string]); // AllocationUpdateDesiredStatus
      nomad.updateJob([ids[6] as string]); // PlanResult with a new Job version
      nomad.stopByPlan([ids[7] as string]); // PlanResult stop
      const fresh = nomad.place(3); // PlanResult placement
      await until("live changes", () => allMirrored(nomad, "europe"));
      expect(((await edgeAllocation(edge, "europe", ids[6] as string)) as JsonObject).Job).toMatchObject({ Meta: { owner: "team-b" } });
      expect((await edgeAllocation(edge, "europe", ids[5] as string))?.DesiredTransition).toMatchObject({ Migrate: true });
      expect((await edgeAllocation(edge, "europe", fresh[0] as string))?.ClientStatus).toBe("pending");

      // GC emits no event: the periodic list notices, and --gc-retain 0s deletes at once.
      nomad.gc(ids.slice(0, 3));
      await until("collected allocations deleted", async () => {
        const at = await edgeIds(edge, "europe");
        return ids.slice(0, 3).every((id) => !at.has(id));
      });
      expect((await edgeIds(edge, "europe")).has(ids[3] as string)).toBe(true);
      const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      expect(metrics).toContain("# TYPE nomad_sync_writes_total counter");
      expect(metrics).toMatch(/nomad_sync_events_total\{type="AllocationUpdated"\} [1-9]/);
      expect(metrics).toMatch(/nomad_sync_events_total\{type="AllocationUpdateDesiredStatus"\} 1/);
      expect(metrics).toMatch(/nomad_sync_gc_deletes_total 3/);
      // The batched ingest, not single PUTs.
      expect(metrics).toMatch(/nomad_sync_edge_requests_total\{kind="batch",code="200"\} [1-9]/);
      expect(metrics).not.toContain('kind="put"');
      expect(metrics).toMatch(/nomad_sync_writes_total\{op="put",result="applied"\} [1-9]/);
      expect((await fetch(`http://127.0.0.1:${metricsPort}/healthz`)).status).toBe(200);
      expect(await bridge.kill("SIGTERM")).toBe(0);
      expect(bridge.output()).toMatch(/SIGTERM: stopping[\s\S]*stopped; cursor \d+ saved/);
    } finally {
      await bridge.kill("SIGKILL");
      await nomad.stop();
    }
  }, 120_000);

  it("repairs a gap longer than Nomad's event buffer and a Nomad restart (empty buffer) by listing on every connect", async () => {
    const nomad = new NomadStandIn({ token: "nomad-secret" });
    await nomad.start();
    const dir = newStateDir();
    const ids = nomad.place(20);
    const wrongToken = await runOnce(bridgeArgs(nomad, edge, "asia", dir, ["--nomad-token", "wrong"]));
    expect(wrongToken.code).toBe(1);
    expect(wrongToken.output).toContain("403 Permission denied");
    const withToken = (a: string[]) => [...a, "--nomad-token", "nomad-secret"];
    let bridge = startBridge(withToken(bridgeArgs(nomad, edge, "asia", dir)));
    try {
      await until("initial load", () => allMirrored(nomad, "asia"));
      expect(await bridge.kill("SIGTERM")).toBe(0);
      // While the bridge is down: more than 100 Raft indexes, so its cursor falls out of the buffer.
      for (const id of ids) nomad.clientUpdate([id], "running");
      nomad.otherWrites(120);
      expect(nomad.bufferedIndexes).toBe(100);
      bridge = startBridge(withToken(bridgeArgs(nomad, edge, "asia", dir)));
      await until("gap repaired", () => allMirrored(nomad, "asia"));
      // A Nomad restart: every stream closes and the buffer is empty; changes made meanwhile are listed.
      nomad.restart();
      nomad.clientUpdate(ids.slice(0, 10), "complete");
      await until("restart repaired", () => allMirrored(nomad, "asia"));
      await bridge.waitFor("event stream reconnected");
    } finally {
      await bridge.kill("SIGKILL");
      await nomad.stop();
    }
  }, 120_000);
});
