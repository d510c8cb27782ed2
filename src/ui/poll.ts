/**
 * A blocking-query loop as docs/blocking-queries.md advises: start without `index`, always send
 * back the last `X-Nomad-Index`, reset to 0 when it goes backwards, treat an answer without a
 * larger index as "poll again" (not as a change), wait for `Retry-After` on 429, back off on
 * errors, time the request out above `wait × 17/16`, and poll only while the tab is visible.
 */
import { backoffMs, CLIENT_TIMEOUT_MS, isNews, MIN_GAP_MS, nextIndex } from "./blocking.ts";
import { isAbort, isTransient, type Problem, unreachable } from "./problem.ts";

export type PollAnswer<T> = { ok: true; value: T; index: bigint | undefined } | { ok: false; problem: Problem };

export type PollState =
  | { kind: "live" }
  | { kind: "paused" } // the tab is hidden
  | { kind: "retrying"; problem: Problem; attempt: number; at: number } // `at`: Date.now() of the next try
  | { kind: "stopped"; problem: Problem }; // needs the person: a token, another region, another id

interface PollOptions<T> {
  /** One query; `index` 0 means "answer at once". */
  request: (index: bigint, signal: AbortSignal) => Promise<PollAnswer<T>>;
  /** A new state of the watched thing (only on news). */
  onValue: (value: T) => void;
  onState: (state: PollState) => void;
}

export class LivePoll<T> {
  readonly #options: PollOptions<T>;
  #index = 0n;
  #attempt = 0;
  #generation = 0;
  #controller: AbortController | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #stopped = false;
  readonly #onVisibility = () => {
    if (document.hidden) this.#pause();
    else if (!this.#stopped) this.#start(0);
  };

  constructor(options: PollOptions<T>) {
    this.#options = options;
    document.addEventListener("visibilitychange", this.#onVisibility);
  }

  /** Starts (or restarts after a stop, e.g. once a token was given) from a fresh read. */
  start(): void {
    this.#stopped = false;
    this.#index = 0n;
    this.#attempt = 0;
    if (document.hidden) this.#pause();
    else this.#start(0);
  }

  /** The person asked to retry now instead of waiting for the backoff. */
  retryNow(): void {
    if (!this.#stopped && !document.hidden) this.#start(0);
  }

  dispose(): void {
    this.#stopped = true;
    this.#cancel();
    document.removeEventListener("visibilitychange", this.#onVisibility);
  }

  #cancel(): void {
    this.#generation++;
    clearTimeout(this.#timer);
    this.#controller?.abort();
    this.#controller = undefined;
  }

  #pause(): void {
    this.#cancel();
    if (!this.#stopped) this.#options.onState({ kind: "paused" });
  }

  #start(delayMs: number): void {
    this.#cancel();
    const generation = this.#generation;
    this.#timer = setTimeout(() => void this.#poll(generation), delayMs);
  }

  async #poll(generation: number): Promise<void> {
    const controller = new AbortController();
    this.#controller = controller;
    const signal = AbortSignal.any([controller.signal, AbortSignal.timeout(CLIENT_TIMEOUT_MS)]);
    const sent = this.#index;
    const started = Date.now();
    let answer: PollAnswer<T>;
    try {
      answer = await this.#options.request(sent, signal);
    } catch (error) {
      if (generation !== this.#generation || (isAbort(error) && controller.signal.aborted)) return;
      answer = { ok: false, problem: unreachable(error) };
    }
    if (generation !== this.#generation) return;
    if (!answer.ok) {
      this.#fail(answer.problem);
      return;
    }
    this.#attempt = 0;
    this.#index = nextIndex(sent, answer.index);
    if (isNews(sent, answer.index)) this.#options.onValue(answer.value);
    this.#options.onState({ kind: "live" });
    const quick = Date.now() - started < MIN_GAP_MS * 5 && !isNews(sent, answer.index);
    // An index reset re-reads at once; an early return without news waits a moment.
    this.#start(this.#index === 0n ? 0 : quick ? 1000 : MIN_GAP_MS);
  }

  #fail(problem: Problem): void {
    if (!isTransient(problem)) {
      this.#stopped = true;
      this.#options.onState({ kind: "stopped", problem });
      return;
    }
    this.#attempt++;
    const delay = problem.retryAfterMs ?? backoffMs(this.#attempt);
    this.#options.onState({ kind: "retrying", problem, attempt: this.#attempt, at: Date.now() + delay });
    this.#start(delay);
  }
}
