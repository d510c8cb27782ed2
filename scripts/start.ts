/**
 * `npm start`: runs `wrangler dev` (arguments passed through, e.g. `--port 9000 --persist-to dir
 * --log-level warn`), waits until the server answers, loads the demo through the write API, and
 * prints the URLs to try once the demo reads back without a token. Local development only: a
 * production deploy never runs this, so it never holds demo data.
 *
 * The public address (`--ip`, `--port`) is served by a small Node front (scripts/front.ts) that
 * forwards to `wrangler dev` on an internal loopback port: wrangler's dev proxy answers malformed
 * request framing with 500 and a stack, the front refuses it with 400 first. wrangler's output is
 * passed through with its internal address replaced by the public one.
 *
 * Readiness is polled over HTTP rather than read from wrangler's output, so any wrangler flag works.
 * Every wait is bounded: if the server does not come up or the demo cannot be loaded, the script
 * says why, stops wrangler and exits non-zero.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import type { Readable, Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import { ANONYMOUS_READ_RULES, DEMO_ALLOC_ID, DEMO_ALLOCATION_JSON, DEMO_TASK_EVENTS_JSON } from "../src/demo/allocation.ts";
import { freePort } from "./free-port.ts";
import { startFront } from "./front.ts";
import { devDefaults, localUrl, parseStartArguments } from "./start-args.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
/** A cold `wrangler dev` (bundling, workerd start) on a busy machine takes tens of seconds. */
const SERVER_TIMEOUT_MS = 120_000;
/** The `anonymous` policy reaches a cached anonymous token within ACL_CACHE_TTL (2 s by default). */
const DEMO_READ_TIMEOUT_MS = 15_000;

const parsed = parseStartArguments(process.argv.slice(2), devDefaults(readFileSync(join(ROOT, "wrangler.toml"), "utf8")));
const base = localUrl(parsed.ip, parsed.port);
// A fresh random token per run unless one is chosen: a dev server is never open to writes by default.
const token = parsed.token ?? process.env.MANAGEMENT_TOKEN ?? `dev-${randomBytes(12).toString("hex")}`;

// MANAGEMENT_TOKEN is a required secret (wrangler.toml [secrets]). `wrangler dev` reads secrets from
// .dev.vars/.env or, without them, from its environment; a `--var` is a plain variable and does not
// count, so wrangler would warn that the secret is missing. Hence the environment. Only when a
// .dev.vars file exists (which wrangler then reads instead) does a `--var` make sure the token in
// force is the one printed here.
const internalPort = await freePort();
const internal = localUrl("127.0.0.1", internalPort);
const wranglerArgs = ["dev", ...parsed.wranglerArgs, "--ip", "127.0.0.1", "--port", String(internalPort)];
if (readdirSync(ROOT).some((name) => name.startsWith(".dev.vars"))) wranglerArgs.push("--var", `MANAGEMENT_TOKEN:${token}`);

let wrangler: ChildProcess | undefined;
let failed = false;

/** Says why, stops wrangler (waiting a few seconds for it), and exits non-zero. */
async function fail(message: string): Promise<never> {
  failed = true;
  console.error(`\nnpm start: ${message}`);
  if (wrangler && wrangler.exitCode === null && wrangler.signalCode === null) {
    const gone = new Promise((resolve) => wrangler?.once("exit", resolve));
    wrangler.kill("SIGTERM");
    await Promise.race([gone, new Promise((resolve) => setTimeout(resolve, 5000))]);
  }
  process.exit(1);
}

await ensurePortFree(parsed.ip, parsed.port);

// Piped (not inherited) so that its "Ready on" names the public address; colours kept on a terminal.
const colour = process.stdout.isTTY && process.env.NO_COLOR === undefined ? { FORCE_COLOR: "1" } : {};
wrangler = spawn("wrangler", wranglerArgs, {
  stdio: ["inherit", "pipe", "pipe"],
  env: { ...process.env, ...colour, MANAGEMENT_TOKEN: token, CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_SEND_METRICS: "false" },
});
relay(wrangler.stdout, process.stdout);
relay(wrangler.stderr, process.stderr);
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.on(signal, () => wrangler?.kill(signal));
}
let exited = false;
wrangler.on("exit", (code, signal) => {
  exited = true;
  if (!failed) process.exit(code ?? (signal ? 1 : 0));
});

try {
  await waitFor(`wrangler dev at ${internal}`, SERVER_TIMEOUT_MS, async () => (await fetch(`${internal}/v1/status/leader`)).status === 200);
} catch (error) {
  await fail((error as Error).message);
}
try {
  await startFront(parsed.ip === "localhost" ? "127.0.0.1" : parsed.ip, parsed.port, { host: "127.0.0.1", port: internalPort });
} catch (error) {
  const code = (error as NodeJS.ErrnoException).code;
  await fail(code === "EADDRINUSE" ? inUse() : `cannot listen on ${parsed.ip}:${parsed.port}: ${(error as Error).message}`);
}
try {
  await loadDemo();
  await waitFor(`the demo allocation to read back without a token`, DEMO_READ_TIMEOUT_MS, async () => {
    const response = await fetch(`${base}/v1/allocation/${DEMO_ALLOC_ID}`);
    await response.arrayBuffer();
    return response.status === 200;
  });
} catch (error) {
  await fail(`loading the demo failed: ${(error as Error).message}`);
}
printWelcome();

/** Polls `check` until it is true; throws after `timeoutMs` or when wrangler has exited. */
async function waitFor(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError = "";
  while (Date.now() < deadline) {
    if (exited) throw new Error("wrangler exited");
    try {
      if (await check()) return;
    } catch (error) {
      lastError = ` (last attempt: ${(error as Error).cause ?? (error as Error).message})`;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`gave up waiting for ${what} after ${timeoutMs / 1000} s${lastError}`);
}

/** Copies wrangler's output, naming the public address where wrangler names its internal one. */
function relay(from: Readable | null, to: Writable): void {
  const internalHost = `127.0.0.1:${internalPort}`;
  const publicHost = base.slice("http://".length);
  from?.on("data", (chunk: Buffer) => to.write(chunk.toString("utf8").replaceAll(internalHost, publicHost)));
}

function inUse(): string {
  return `${parsed.ip}:${parsed.port} is already in use; choose another port with --port <n>.`;
}

/** Fails early, with the reason, when something already listens on the public address. */
function ensurePortFree(ip: string, port: number): Promise<void> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "EADDRINUSE") void fail(inUse());
      else resolve(); // anything else (e.g. an address this probe may not bind): leave it to wrangler
    });
    probe.listen(port, ip === "localhost" ? "127.0.0.1" : ip, () => probe.close(() => resolve()));
  });
}

/** Throws on any answer but 2xx, except a 404 to a GET (the existence check); a failed write is never silent. */
async function send(method: string, path: string, body?: string): Promise<Response> {
  const response = await fetch(`${base}${path}`, { method, body, headers: { "X-Nomad-Token": token } });
  if (!response.ok && !(method === "GET" && response.status === 404))
    throw new Error(`${method} ${path}: ${response.status} ${(await response.text()).trim()}`);
  return response;
}

async function loadDemo(): Promise<void> {
  // Public reads, as an operator would allow them: an `anonymous` read policy.
  const policy = JSON.stringify({ Name: "anonymous", Description: "Public reads (demo)", Rules: ANONYMOUS_READ_RULES });
  await (await send("POST", "/v1/acl/policy/anonymous", policy)).arrayBuffer();
  // A state directory from an earlier run keeps its demo (and whatever was written to it since).
  const existing = await send("GET", `/v1/allocation/${DEMO_ALLOC_ID}`);
  await existing.arrayBuffer();
  if (existing.status === 404) {
    await (await send("PUT", `/v1/allocation/${DEMO_ALLOC_ID}`, DEMO_ALLOCATION_JSON)).arrayBuffer();
    await (await send("POST", `/v1/allocation/${DEMO_ALLOC_ID}/task-events`, DEMO_TASK_EVENTS_JSON)).arrayBuffer();
  }
}

function printWelcome(): void {
  console.log(`
Nomad allocation API ready (demo allocation loaded).
  Read it:          curl ${base}/v1/allocation/${DEMO_ALLOC_ID}?pretty
  Blocking query:   curl "${base}/v1/allocation/${DEMO_ALLOC_ID}?index=<X-Nomad-Index>&wait=30s"
  API docs:         ${base}/docs
  Status page:      ${base}/ui/allocations
  OpenAPI:          ${base}/openapi.json
  Management token: ${token}
                    (reads are public through the demo's "anonymous" ACL policy; writes and ACL
                    management need this token in X-Nomad-Token or Authorization: Bearer;
                    choose your own with --var MANAGEMENT_TOKEN:<secret>)
  Create an agent token:
    curl -H "X-Nomad-Token: ${token}" -d '{"Name":"agent","Rules":"node { policy = \\"write\\" }"}' ${base}/v1/acl/policy/agent
    curl -H "X-Nomad-Token: ${token}" -d '{"Name":"agent-1","Type":"client","Policies":["agent"]}' ${base}/v1/acl/token
`);
}
