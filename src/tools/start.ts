/**
 * `npm start`: runs `wrangler dev` (arguments passed through, e.g. `--port 9000 --persist-to dir
 * --var MANAGEMENT_TOKEN:secret`), loads the demo allocation through the write API once the
 * server is ready, and prints the URLs to try. Local development only: a production deploy never
 * runs this, so it never holds demo data.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { ANONYMOUS_READ_RULES, DEMO_ALLOC_ID, DEMO_ALLOCATION_JSON, DEMO_TASK_EVENTS_JSON } from "../demo/allocation.ts";

const args = process.argv.slice(2);

/** The value of `--var NAME:value` among the arguments, if given. */
function varArgument(name: string): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? "";
    const value = arg === "--var" ? args[i + 1] : arg.startsWith("--var=") ? arg.slice(6) : undefined;
    if (value?.startsWith(`${name}:`)) return value.slice(name.length + 1);
  }
  return undefined;
}

let token = varArgument("MANAGEMENT_TOKEN");
const wranglerArgs = ["dev", ...args];
if (token === undefined) {
  // A fresh random token per run unless one is chosen: a dev server is never open to writes by default.
  token = `dev-${randomBytes(12).toString("hex")}`;
  wranglerArgs.push("--var", `MANAGEMENT_TOKEN:${token}`);
}

const child = spawn("wrangler", wranglerArgs, {
  stdio: ["inherit", "pipe", "inherit"],
  env: { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_SEND_METRICS: "false" },
});
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.on(signal, () => child.kill(signal));
}
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));

let seeded = false;
child.stdout.on("data", (chunk: Buffer) => {
  process.stdout.write(chunk);
  const ready = /Ready on (http:\/\/\S+)/.exec(chunk.toString());
  if (ready?.[1] && !seeded) {
    seeded = true;
    loadDemo(ready[1].replace(/\/$/, "")).catch((error: unknown) => {
      console.error("Loading the demo allocation failed:", error);
    });
  }
});

async function write(base: string, method: string, path: string, body: string): Promise<void> {
  const response = await fetch(`${base}${path}`, { method, body, headers: { "X-Nomad-Token": token ?? "" } });
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
}

async function loadDemo(base: string): Promise<void> {
  // Public reads, as an operator would allow them: an `anonymous` read policy.
  const policy = JSON.stringify({ Name: "anonymous", Description: "Public reads (demo)", Rules: ANONYMOUS_READ_RULES });
  await write(base, "POST", "/v1/acl/policy/anonymous", policy);
  const existing = await fetch(`${base}/v1/allocation/${DEMO_ALLOC_ID}`);
  await existing.arrayBuffer();
  if (existing.status === 404) {
    await write(base, "PUT", `/v1/allocation/${DEMO_ALLOC_ID}`, DEMO_ALLOCATION_JSON);
    await write(base, "POST", `/v1/allocation/${DEMO_ALLOC_ID}/task-events`, DEMO_TASK_EVENTS_JSON);
  }
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
  console.log("DEMO_READY");
}
