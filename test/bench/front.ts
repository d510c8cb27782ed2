/**
 * The cost of npm start's Node front (scripts/front.ts): sequential GETs of the demo allocation
 * through the public port (front → wrangler's dev proxy → the Worker) and around it (straight to
 * wrangler's dev proxy on its internal port), on kept-alive connections, interleaved in blocks of
 * 100 so both sides see the same machine load. Prints the medians and percentiles.
 *
 *   npm run bench:front [-- N]       # N GETs each way, default 2000
 */
import { Agent, request } from "node:http";
import { DEMO_ALLOC_ID } from "../../src/demo/allocation.ts";
import { startDevServer } from "../support/dev-server.ts";
import { wranglerProxyUrl } from "../support/runtime-socket.ts";

const N = Number(process.argv[2] ?? 2000);
const BLOCK = 100;

function get(agent: Agent, base: string, path: string): Promise<number> {
  const { hostname, port } = new URL(base);
  const started = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const outgoing = request({ agent, host: hostname, port, path }, (incoming) => {
      incoming.resume();
      incoming.on("end", () => {
        if (incoming.statusCode !== 200) reject(new Error(`GET ${base}${path}: ${incoming.statusCode}`));
        else resolve(Number(process.hrtime.bigint() - started) / 1e6);
      });
    });
    outgoing.on("error", reject);
    outgoing.end();
  });
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? Number.NaN;
}

const server = await startDevServer();
try {
  const sides = { through: server.url, around: wranglerProxyUrl(server.pgid) };
  const path = `/v1/allocation/${DEMO_ALLOC_ID}`;
  const samples: Record<keyof typeof sides, number[]> = { through: [], around: [] };
  const agents = { through: new Agent({ keepAlive: true, maxSockets: 1 }), around: new Agent({ keepAlive: true, maxSockets: 1 }) };
  // Warm-up: connections, the object, the token cache.
  for (const side of ["through", "around"] as const) for (let i = 0; i < 50; i++) await get(agents[side], sides[side], path);
  for (let done = 0; done < N; done += BLOCK)
    for (const side of ["through", "around"] as const)
      for (let i = 0; i < Math.min(BLOCK, N - done); i++) samples[side].push(await get(agents[side], sides[side], path));
  const stats = Object.fromEntries(
    Object.entries(samples).map(([side, values]) => {
      const sorted = [...values].sort((a, b) => a - b);
      return [side, { n: sorted.length, p50: percentile(sorted, 50), p90: percentile(sorted, 90), p99: percentile(sorted, 99) }];
    }),
  );
  const through = stats.through as { p50: number };
  const around = stats.around as { p50: number };
  console.log(JSON.stringify({ ...stats, addedMedianMs: through.p50 - around.p50 }, null, 2));
} finally {
  await server.stop();
}
