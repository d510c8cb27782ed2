/**
 * The shared shape of every blocking read (one allocation, the region list): Nomad's query
 * options parsed in Nomad's order, and the rule that an object reset mid-wait answers the current
 * state instead of an error (a blocking query may always return early; clients re-poll).
 */

import { type Config, config } from "../config.ts";
import { type Refusal, unwrap } from "../durable/contract.ts";
import { jitterMs, parseIndex, parsePretty, parseStale, parseWait } from "../http/query.ts";
import { parseRegion } from "../http/region.ts";
import { type Caller, limitKey } from "../pipeline/caller.ts";

/** What a blocking read sends its Durable Object (plain data: it crosses RPC). */
interface ReadOptions {
  /** The `index` the client waits past, as parsed once here (uint64, exact); 0n answers at once. */
  minIndex: bigint;
  /** The wait with Nomad's jitter (up to wait/16) already added. */
  waitMs: number;
  pretty: boolean;
  /** Whom parked queries are counted under (token, or client address). */
  caller: string;
}

interface BlockingQuery {
  cfg: Config;
  params: URLSearchParams;
  region: string;
  options: ReadOptions;
}

export function parseBlockingQuery(request: Request, env: Env, caller: Caller): BlockingQuery {
  const cfg = config(env);
  const params = new URL(request.url).searchParams;
  const waitMs = parseWait(params.get("wait"), cfg.wait);
  const minIndex = parseIndex(params.get("index"));
  parseStale(params);
  const pretty = parsePretty(params);
  const region = parseRegion(params, cfg);
  const options = { minIndex, waitMs: waitMs + jitterMs(waitMs), pretty, caller: limitKey(request, caller) };
  return { cfg, params, region, options };
}

/**
 * Runs a blocking read; if the object is reset while the query waits (deploy, eviction), reads
 * again at once through a fresh stub. `read` must address the object anew on each call. Only a
 * query that may park gets the client's abort signal (it costs a wrapper over RPC). Answers the
 * read's success; its refusal (a 429 for a query that could not park, a list's 400) is thrown.
 */
export async function readSurvivingReset<Answer extends { ok: true }>(
  minIndex: bigint,
  signal: AbortSignal,
  read: (minIndex: bigint, signal: AbortSignal | undefined) => Promise<Answer | Refusal>,
): Promise<Answer> {
  let result: Answer | Refusal;
  try {
    result = await read(minIndex, minIndex === 0n ? undefined : signal);
  } catch (error) {
    if (minIndex === 0n) throw error;
    console.warn("blocking read interrupted; answering current state", error);
    result = await read(0n, undefined);
  }
  return unwrap(result) as Answer;
}
