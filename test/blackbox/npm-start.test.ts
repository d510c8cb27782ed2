/**
 * `npm start` as a user runs it (through npm, on its own port and state directory): the demo and
 * the anonymous read are there whatever wrangler prints (`--log-level warn` silences its "Ready on"
 * line), the URLs appear only once the demo answers, the first screen carries no untrue warning and
 * no machine marker, the printed (or chosen) token is the one in force, and a start that cannot
 * succeed says why and exits non-zero.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { DEMO_ALLOC_ID } from "../../src/demo/allocation.ts";
import { freePort } from "../support/dev-server.ts";
import { collectOutput, stopGroup } from "../support/process.ts";
import { ROOT } from "../support/tools.ts";

interface Started {
  child: ChildProcess;
  output: () => string;
  exit: Promise<number | null>;
}

const running: ChildProcess[] = [];
const dirs: string[] = [];

function npmStart(args: string[]): Started {
  // Without a token from the environment, npm start makes one.
  const env: Record<string, string | undefined> = {
    ...Object.fromEntries(Object.entries(process.env).filter(([name]) => name !== "MANAGEMENT_TOKEN")),
    NO_COLOR: "1",
  };
  const child = spawn("npm", ["start", "--", ...args], {
    cwd: ROOT,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: env as NodeJS.ProcessEnv,
  });
  running.push(child);
  const output = collectOutput(child);
  const exit = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return { child, output, exit };
}

function stateDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "npm-start-state-"));
  dirs.push(dir);
  return dir;
}

afterEach(async () => {
  for (const child of running.splice(0)) await stopGroup(child);
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Waits until `output` shows the welcome (the line with the docs URL); fails if npm start exits. */
async function welcome(started: Started, timeoutMs = 50_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  while (!/API docs: +http/.test(started.output())) {
    if (started.child.exitCode !== null) throw new Error(`npm start exited ${started.child.exitCode}:\n${started.output()}`);
    if (Date.now() > deadline) throw new Error(`no welcome within ${timeoutMs / 1000} s:\n${started.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return started.output();
}

function expectCleanScreen(output: string): void {
  expect(output).not.toContain("Missing required secrets");
  expect(output).not.toMatch(/WARNING|ERROR/);
  expect(output).not.toContain("DEMO_READY");
}

async function tokenSelf(base: string, token: string): Promise<number> {
  const response = await fetch(`${base}/v1/acl/token/self`, { headers: { "X-Nomad-Token": token } });
  await response.arrayBuffer();
  return response.status;
}

describe("npm start", () => {
  it("with --log-level warn: the demo (200) and the anonymous read, URLs only once they answer, a clean screen", async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const started = npmStart(["--port", String(port), "--persist-to", stateDir(), "--log-level", "warn"]);
    const output = await welcome(started);
    // The moment the URLs are on screen, the demo reads back without a token: no 404/403 window.
    const demo = await fetch(`${base}/v1/allocation/${DEMO_ALLOC_ID}`);
    expect(demo.status).toBe(200);
    expect(((await demo.json()) as { ID: string }).ID).toBe(DEMO_ALLOC_ID);
    const docs = await fetch(`${base}/docs`);
    await docs.arrayBuffer();
    expect(docs.status).toBe(200);

    expect(output).toContain(`curl ${base}/v1/allocation/${DEMO_ALLOC_ID}?pretty`);
    expect(output).not.toContain("Ready on");
    expectCleanScreen(output);
    // The printed token is the management token in force.
    const token = /Management token: (\S+)/.exec(output)?.[1] ?? "";
    expect(token).toMatch(/^dev-[0-9a-f]{24}$/);
    expect(await tokenSelf(base, token)).toBe(200);
    expect(await tokenSelf(base, "dev-not-the-token")).toBe(403);
  }, 70_000);

  it("with --var MANAGEMENT_TOKEN: that token in force, and no warning about a missing secret", async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const started = npmStart(["--port", String(port), "--persist-to", stateDir(), "--var", "MANAGEMENT_TOKEN:chosen-secret"]);
    const output = await welcome(started);
    expect(output).toContain(`Ready on ${base}`);
    expect(output).toContain("Management token: chosen-secret");
    expectCleanScreen(output);
    expect(await tokenSelf(base, "chosen-secret")).toBe(200);
    const demo = await fetch(`${base}/v1/allocation/${DEMO_ALLOC_ID}`);
    await demo.arrayBuffer();
    expect(demo.status).toBe(200);
  }, 70_000);

  it("fails with the reason, and stops wrangler, when the demo cannot be loaded", async () => {
    const port = await freePort();
    // A body cap far below the demo's size: the server starts, but the demo's PUT is refused.
    const started = npmStart(["--port", String(port), "--persist-to", stateDir(), "--var", "MAX_BODY_BYTES:1024"]);
    expect(await started.exit).toBe(1);
    expect(started.output()).toMatch(/npm start: loading the demo failed: PUT \/v1\/allocation\/\S+: 413/);
    expect(started.output()).not.toContain("API docs:");
    await expect(fetch(`http://127.0.0.1:${port}/v1/status/leader`)).rejects.toThrow();
  }, 70_000);

  it("fails at once with the reason when the port is taken", async () => {
    const port = await freePort();
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(port, "127.0.0.1", resolve));
    try {
      const started = npmStart(["--port", String(port), "--persist-to", stateDir()]);
      expect(await started.exit).toBe(1);
      expect(started.output()).toContain(`npm start: 127.0.0.1:${port} is already in use; choose another port with --port <n>.`);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  }, 30_000);
});
