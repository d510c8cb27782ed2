import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { JsonNumber } from "../../src/json/codec.ts";
import { type DevServer, startDevServer } from "../support/dev-server.ts";
import { NomadStandIn } from "../support/nomad-standin/server.ts";
import { bridgeArgs, newStateDir, runOnce, startBridge, until } from "./bridge.ts";
import { differences, edgeAllocation, edgeIds, edgeLog } from "./edge-reader.ts";

let edge: DevServer;

beforeAll(async () => {
  edge = await startDevServer();
}, 60_000);

afterAll(async () => {
  await edge?.stop();
});

/** Nomad's ModifyTime of the state the edge holds, per sampled allocation; fails if one ever goes back. */
function watchMonotonic(region: string, ids: string[]): { stop: () => Promise<string[]> } {
  const seen = new Map<string, bigint>();
  const regressions: string[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      for (const id of ids) {
        const doc = await edgeAllocation(edge, region, id).catch(() => undefined);
        if (!doc) continue;
        const time = BigInt((doc.ModifyTime as JsonNumber).raw);
        const before = seen.get(id);
        if (before !== undefined && time < before) regressions.push(`${id}: ${before} -> ${time}`);
        seen.set(id, time);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return regressions;
    },
  };
}

async function converged(nomad: NomadStandIn, region: string): Promise<string[]> {
  const at = await edgeIds(edge, region);
  const problems: string[] = [];
  for (const [id, want] of nomad.allocs) {
    if (!at.has(id)) problems.push(`${id} missing`);
    else problems.push(...differences(want, await edgeAllocation(edge, region, id)).map((d) => `${id} ${d}`));
  }
  return problems;
}

describe("sync: SIGKILL of the bridge", () => {
  it("mid-load and mid-churn: no edge allocation ever goes back, nothing is missing after it resumes", async () => {
    const nomad = new NomadStandIn();
    await nomad.start();
    const dir = newStateDir();
    const ids = [...nomad.place(300), ...nomad.place(200, { namespace: "batch" })];
    const watch = watchMonotonic("global", ids.slice(0, 25));
    let bridge = startBridge(bridgeArgs(nomad, edge, "global", dir, ["--batch-size", "25", "--max-inflight", "2"]));
    try {
      await until("part of the load", async () => (await edgeIds(edge, "global")).size >= 50, 60_000);
      await bridge.kill("SIGKILL");
      const loadedBefore = [...(await edgeIds(edge, "global"))].filter((id) => nomad.allocs.has(id)).length;
      expect(loadedBefore).toBeLessThan(500);
      bridge = startBridge(bridgeArgs(nomad, edge, "global", dir));
      await bridge.waitFor(/writing: [\d,]+\/[\d,]+ allocations|caught up/, 60_000);
      await until(
        "load resumed",
        async () => {
          const at = await edgeIds(edge, "global");
          return ids.every((id) => at.has(id));
        },
        60_000,
      );

      // Churn: client updates while the bridge is killed and restarted in the middle.
      const churn = (async () => {
        for (let round = 0; round < 30; round++) {
          nomad.clientUpdate(ids.slice((round * 17) % 480, ((round * 17) % 480) + 20), round % 2 ? "complete" : "running");
          await new Promise((r) => setTimeout(r, 30));
        }
      })();
      await new Promise((r) => setTimeout(r, 400));
      await bridge.kill("SIGKILL");
      await churn;
      bridge = startBridge(bridgeArgs(nomad, edge, "global", dir));
      await until("converged after churn", async () => (await converged(nomad, "global")).length === 0, 60_000);
      expect(await watch.stop()).toEqual([]);
      expect(await bridge.kill("SIGTERM")).toBe(0);
    } catch (error) {
      throw new Error(`${(error as Error).message}\n--- bridge output ---\n${bridge.output().slice(-4000)}`);
    } finally {
      await watch.stop();
      await bridge.kill("SIGKILL");
      await nomad.stop();
    }
  }, 150_000);
});

describe("sync: logs", () => {
  it("ships stdout and stderr byte for byte across bridge restarts (SIGKILL too) and Nomad's rotation", async () => {
    const nomad = new NomadStandIn({ logs: { maxFileSize: 2048, maxFiles: 100 } });
    await nomad.start();
    const dir = newStateDir();
    const [id] = nomad.place(1, { tasks: ["app"] }) as [string];
    nomad.clientUpdate([id], "running");
    const line = (n: number) => `line ${n} ${"x".repeat(n % 97)}\n`;
    for (let n = 0; n < 40; n++) nomad.writeLog(id, "app", "stdout", line(n));
    nomad.writeLog(id, "app", "stderr", Buffer.from([0, 1, 2, 255, 254, 10]));
    const logArgs = bridgeArgs(nomad, edge, "europe", dir, ["--logs", "running", "--log-poll", "100ms"]);
    let bridge = startBridge(logArgs);
    const stdout = () => nomad.logs.get(`${id}/app/stdout`)?.all() ?? Buffer.alloc(0);
    const shipped = async () => (await edgeLog(edge, "europe", id, "app", "stdout")).equals(stdout());
    try {
      await until("first logs", shipped);
      for (let n = 40; n < 200; n++) nomad.writeLog(id, "app", "stdout", line(n));
      await new Promise((r) => setTimeout(r, 150));
      await bridge.kill("SIGKILL");
      for (let n = 200; n < 400; n++) nomad.writeLog(id, "app", "stdout", line(n));
      bridge = startBridge(logArgs);
      await until("logs after SIGKILL", shipped);
      expect(await bridge.kill("SIGTERM")).toBe(0);
      for (let n = 400; n < 450; n++) nomad.writeLog(id, "app", "stdout", line(n));
      bridge = startBridge(logArgs);
      await until("logs after SIGTERM", shipped);
      expect(nomad.logs.get(`${id}/app/stdout`)?.files.size).toBeGreaterThan(10); // it rotated
      expect(await edgeLog(edge, "europe", id, "app", "stderr")).toEqual(Buffer.from([0, 1, 2, 255, 254, 10]));
      // --once ships the logs to date, then exits 0.
      expect(await bridge.kill("SIGTERM")).toBe(0);
      for (let n = 450; n < 500; n++) nomad.writeLog(id, "app", "stdout", line(n));
      const once = await runOnce(logArgs);
      expect(once.code).toBe(0);
      expect(await shipped()).toBe(true);
    } catch (error) {
      throw new Error(`${(error as Error).message}\n--- bridge output ---\n${bridge.output().slice(-4000)}`);
    } finally {
      await bridge.kill("SIGKILL");
      await nomad.stop();
    }
  }, 120_000);
});
