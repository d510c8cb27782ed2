/** What every scenario runs with: the server, the settings, the run's time budget, its log. */
import type { BenchServer } from "./server.ts";
import type { Settings } from "./settings.ts";

export interface Context {
  server: BenchServer;
  settings: Settings;
  /** Milliseconds left of the run's overall budget. */
  remainingMs: () => number;
  log: (line: string) => void;
}

/**
 * Every request carries the management token, reads included: the harness must keep working once
 * reads need an ACL token, and the ceiling routes get the same request bytes as the real ones.
 */
export function auth(ctx: Context): Record<string, string> {
  return { "X-Nomad-Token": ctx.server.token };
}
