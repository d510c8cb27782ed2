/**
 * The benchmark's settings: the full run's and the smoke run's counts, durations and deadlines.
 */

/** How the waiters reach the Worker: through wrangler dev's proxy (every other scenario) or straight to the Worker's workerd. */
export type WakeRoute = "proxy" | "direct";

export interface Settings {
  smoke: boolean;
  /** Closed-loop GET runs. */
  getConnections: number;
  getDurationS: number;
  getRounds: number;
  warmupS: number;
  spreadCount: number;
  /** Open-loop half-load runs. */
  halfLoadDurationS: number;
  halfLoadPool: number;
  /** Blocking wake-up: N waiters, and the route they take (N = 10,000 cannot fit through wrangler's proxy here). */
  wakePoints: { n: number; via: WakeRoute }[];
  wakeRounds: (n: number) => number;
  /** Memory per parked waiter: N parked on a fresh server per kind (P1 ceiling, real). */
  memoryWaiters: number;
  baselineWrites: number;
  parkTimeoutMs: number;
  releaseTimeoutMs: number;
  /** Task-event ingest. */
  ingestBatches: number[];
  ingestConnections: number;
  ingestDurationS: number;
  /** Logs follow: followers, rounds (one allocation each), bytes appended per round. */
  logFollowers: number;
  logRounds: number;
  logBytes: number;
  logPostBytes: number;
  /** List endpoint: allocations in the listed region, closed-loop rounds and duration. */
  listCount: number;
  listRounds: number;
  listDurationS: number;
  /** Region write ceiling: allocations written per region, connections, rounds, duration. */
  regionAllocs: number;
  writeConnections: number;
  writeRounds: number;
  writeDurationS: number;
  /** Event stream: subscriber counts, write load per count, time allowed for delivery after it. */
  subscriberCounts: number[];
  eventWriteDurationS: number;
  eventDrainMs: number;
}

export const FULL: Settings = {
  smoke: false,
  getConnections: 16,
  getDurationS: 3,
  getRounds: 3,
  warmupS: 1,
  spreadCount: 100,
  halfLoadDurationS: 4,
  halfLoadPool: 64,
  wakePoints: [
    { n: 1, via: "proxy" },
    { n: 100, via: "proxy" },
    { n: 1000, via: "proxy" },
  ],
  memoryWaiters: 1000,
  wakeRounds: (n) => (n <= 100 ? 5 : n <= 1000 ? 3 : 1),
  baselineWrites: 15,
  parkTimeoutMs: 45_000,
  releaseTimeoutMs: 20_000,
  ingestBatches: [1, 10, 100],
  ingestConnections: 4,
  ingestDurationS: 4,
  logFollowers: 100,
  logRounds: 3,
  logBytes: 1024 * 1024,
  logPostBytes: 1024 * 1024,
  listCount: 100,
  listRounds: 2,
  listDurationS: 3,
  regionAllocs: 64,
  writeConnections: 8,
  writeRounds: 2,
  writeDurationS: 3,
  subscriberCounts: [1, 10],
  eventWriteDurationS: 4,
  eventDrainMs: 8000,
};

export const SMOKE: Settings = {
  smoke: true,
  getConnections: 4,
  getDurationS: 1,
  getRounds: 1,
  warmupS: 0.3,
  spreadCount: 5,
  halfLoadDurationS: 1,
  halfLoadPool: 8,
  wakePoints: [
    { n: 1, via: "proxy" },
    { n: 10, via: "proxy" },
    { n: 10, via: "direct" },
  ],
  memoryWaiters: 10,
  wakeRounds: () => 1,
  baselineWrites: 3,
  parkTimeoutMs: 10_000,
  releaseTimeoutMs: 10_000,
  ingestBatches: [1, 10, 100],
  ingestConnections: 2,
  ingestDurationS: 1,
  logFollowers: 3,
  logRounds: 1,
  logBytes: 64 * 1024,
  logPostBytes: 64 * 1024,
  listCount: 5,
  listRounds: 1,
  listDurationS: 0.5,
  regionAllocs: 4,
  writeConnections: 2,
  writeRounds: 1,
  writeDurationS: 0.5,
  subscriberCounts: [1, 2],
  eventWriteDurationS: 0.5,
  eventDrainMs: 4000,
};
