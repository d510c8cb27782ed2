/**
 * The rules of the pages' blocking-query loop (docs/blocking-queries.md, "Client advice"): which
 * index to send next, what counts as news, how long to back off. Pure, so unit tests run them.
 */

/** The `wait` sent with each query: well below the 100 s idle timeout of proxies in front of Workers. */
export const WAIT = "60s";
const WAIT_MS = 60_000;
/** The longest a query may take: the server's worst case (`wait` plus 1/16 jitter) plus margin. */
export const CLIENT_TIMEOUT_MS = (WAIT_MS * 17) / 16 + 10_000;
/** Bounds the loop when answers come back at once (many changes, or early returns). */
export const MIN_GAP_MS = 200;
const BACKOFF_BASE_MS = 1000;
const BACKOFF_MAX_MS = 30_000;

/** The index to send next, given the last one sent and the one just received. */
export function nextIndex(sent: bigint, received: bigint | undefined): bigint {
  if (received === undefined) return sent;
  return received < sent ? 0n : received;
}

/** Whether an answer is news: a first read, or an index above the one sent. */
export function isNews(sent: bigint, received: bigint | undefined): boolean {
  return sent === 0n || (received !== undefined && received > sent);
}

/** Delay before retry number `attempt` (1, 2, …): doubling from 1 s up to 30 s, plus up to 10 % jitter. */
export function backoffMs(attempt: number, random: number = Math.random()): number {
  const base = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, attempt - 1));
  return Math.round(base * (1 + random / 10));
}
