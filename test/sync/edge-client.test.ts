/**
 * The bridge's edge client against a local HTTP server scripted to answer as an overloaded or
 * refusing edge: 429 with Retry-After, 5xx, a dropped connection, a 4xx; and the state directory's
 * atomic writes.
 */
import { existsSync, mkdtempSync, readdirSync } from "node:fs";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { parseConfig } from "../../sync/config.ts";
import { EdgeClient } from "../../sync/edge.ts";
import { Metrics } from "../../sync/metrics.ts";
import { emptyState, loadState, saveState } from "../../sync/state.ts";

type Reply = { status: number; headers?: Record<string, string>; body?: string } | "drop";

let server: Server | undefined;

afterEach(async () => {
  const running = server;
  server = undefined;
  if (!running) return;
  running.closeAllConnections();
  await new Promise((r) => running.close(r));
});

async function edgeAnswering(
  replies: Reply[],
): Promise<{ url: string; seen: Array<{ method: string; url: string; headers: IncomingMessage["headers"]; at: number }> }> {
  const seen: Array<{ method: string; url: string; headers: IncomingMessage["headers"]; at: number }> = [];
  const listening = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      seen.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, at: Date.now() });
      const reply = replies.shift() ?? { status: 500 };
      if (reply === "drop") return req.socket.destroy();
      res.writeHead(reply.status, reply.headers);
      res.end(reply.body ?? "");
    });
  });
  server = listening;
  await new Promise<void>((r) => listening.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${(listening.address() as AddressInfo).port}`, seen };
}

function client(url: string, metrics = new Metrics()): EdgeClient {
  const config = parseConfig(["--edge-addr", url, "--state-dir", "/tmp/unused", "--edge-token", "t"], {});
  return new EdgeClient(config, metrics, new AbortController().signal);
}

const put = { op: "put" as const, id: "0b0c7a36-5c8e-4f0b-9d1a-000000000001", sourceIndex: 42n, allocation: "{}" };

describe("edge client", () => {
  it("waits for Retry-After on 429, backs off on 5xx and dropped connections, then takes the answer", async () => {
    const ok = { status: 200, body: '{"Results":[{"ID":"x","Index":7}]}' };
    const edge = await edgeAnswering([{ status: 429, headers: { "Retry-After": "1" } }, { status: 503 }, "drop", ok]);
    const metrics = new Metrics();
    const outcomes = await client(edge.url, metrics).write([put]);
    expect(outcomes).toEqual([{ kind: "applied", index: "7" }]);
    expect(edge.seen).toHaveLength(4);
    expect((edge.seen[1]?.at ?? 0) - (edge.seen[0]?.at ?? 0)).toBeGreaterThanOrEqual(950);
    expect(metrics.retries.get({ kind: "batch" })).toBe(3);
    expect(edge.seen[0]?.url).toBe("/v1/allocations/batch");
    expect(edge.seen[0]?.headers["x-nomad-token"]).toBe("t");
  });

  it("takes a 4xx as the answer (a rejection, not retried), Stale as acknowledged, a batch item's 5xx as retry", async () => {
    const edge = await edgeAnswering([
      {
        status: 200,
        body: '{"Results":[{"ID":"a","Index":9,"Stale":true},{"ID":"b","Status":400,"Error":"invalid field"},{"ID":"c","Status":503,"Error":"busy"}]}',
      },
      { status: 413, body: "Request body too large" },
    ]);
    const edgeClient = client(edge.url);
    const three = await edgeClient.write([put, { ...put, id: "b" }, { ...put, id: "c" }]);
    expect(three).toEqual([
      { kind: "stale", index: "9" },
      { kind: "rejected", status: 400, error: "invalid field" },
      { kind: "retry", error: "503 busy" },
    ]);
    expect(await edgeClient.write([put])).toEqual([{ kind: "rejected", status: 413, error: "Request body too large" }]);
    expect(edge.seen).toHaveLength(2);
  });

  it("falls back to single PUTs with X-Source-Index on an edge without the batch route", async () => {
    const edge = await edgeAnswering([
      { status: 404, body: "404 page not found" },
      { status: 200, body: '{"Index":5}' },
    ]);
    expect(await client(edge.url).write([put])).toEqual([{ kind: "applied", index: "5" }]);
    expect(edge.seen[1]).toMatchObject({ method: "PUT", url: `/v1/allocation/${put.id}` });
    expect(edge.seen[1]?.headers["x-source-index"]).toBe("42");
  });

  it("appends logs with X-Log-Offset and reads the edge's total from 200 and 409", async () => {
    const edge = await edgeAnswering([
      { status: 200, headers: { "X-Log-Offset": "13" }, body: '{"Offset":13}' },
      { status: 409, headers: { "X-Log-Offset": "13" }, body: "mismatch" },
    ]);
    const edgeClient = client(edge.url);
    expect(await edgeClient.appendLog("a", "app", "stdout", Buffer.from("hello"), 8)).toEqual({ kind: "appended", total: 13 });
    expect(await edgeClient.appendLog("a", "app", "stdout", Buffer.from("hello"), 8)).toEqual({ kind: "mismatch", total: 13 });
    expect(edge.seen[0]?.headers["x-log-offset"]).toBe("8");
  });
});

describe("state directory", () => {
  it("replaces the file atomically (no temporary file left) and reads back what was saved", () => {
    const dir = mkdtempSync(join(tmpdir(), "nomad-sync-unit-"));
    expect(loadState(dir)).toEqual(emptyState());
    const state = emptyState();
    state.cursor = "18446744073709551615";
    state.allocs.x = { n: "default", s: "9007199254740993", a: "1", v: "0" };
    saveState(dir, state);
    saveState(dir, state);
    expect(readdirSync(dir)).toEqual(["sync-state.json"]);
    expect(loadState(dir)).toEqual(state);
    expect(existsSync(join(dir, "sync-state.json"))).toBe(true);
  });
});
