/**
 * The crash harness's shape (test/crash) with the bridge in the loop: the edge (`wrangler dev`,
 * its whole process group) is SIGKILLed while the bridge writes, restarted on the same state
 * directory and port, and the bridge (retrying with backoff meanwhile) brings it to the cluster's state.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type DevServer, freePort, startDevServer } from "../support/dev-server.ts";
import { NomadStandIn } from "../support/nomad-standin/server.ts";
import { startBridge, until } from "./bridge.ts";
import { differences, edgeAllocation, edgeIds } from "./edge-reader.ts";

describe("sync: the edge SIGKILLed while the bridge writes", () => {
  it("converges to the cluster once the edge is back", async () => {
    const port = await freePort();
    const persistTo = mkdtempSync(join(tmpdir(), "nomad-sync-edge-"));
    const token = `sync-crash-${port}`;
    let edge: DevServer = await startDevServer({ port, persistTo, token });
    const nomad = new NomadStandIn();
    await nomad.start();
    const dir = mkdtempSync(join(tmpdir(), "nomad-sync-state-"));
    const bridge = startBridge([
      ...["--nomad-addr", nomad.url, "--edge-addr", edge.url, "--edge-token", token, "--state-dir", dir],
      ...["--batch-size", "20", "--max-inflight", "2", "--reconcile-every", "2s"],
    ]);
    try {
      const ids = nomad.place(300);
      await until("writes under way", async () => (await edgeIds(edge, "global")).size >= 30, 60_000);
      const churn = (async () => {
        for (let round = 0; round < 20; round++) {
          nomad.clientUpdate(ids.slice(round * 15, round * 15 + 15), "running");
          await new Promise((r) => setTimeout(r, 50));
        }
      })();
      await edge.stop("SIGKILL");
      await churn;
      edge = await startDevServer({ port, persistTo, token });
      await until(
        "edge converged",
        async () => {
          const at = await edgeIds(edge, "global");
          if (!ids.every((id) => at.has(id))) return false;
          for (const id of ids) if (differences(nomad.allocs.get(id) ?? {}, await edgeAllocation(edge, "global", id)).length) return false;
          return true;
        },
        90_000,
      );
      expect(bridge.output()).toMatch(/edge (batch|put|list): .*retrying in/);
      expect(await bridge.kill("SIGTERM")).toBe(0);
    } catch (error) {
      throw new Error(`${(error as Error).message}\n--- bridge output ---\n${bridge.output().slice(-4000)}`);
    } finally {
      await bridge.kill("SIGKILL");
      await nomad.stop();
      await edge.stop();
    }
  }, 180_000);
});
