/**
 * Parked blocking queries of one object: each waits for the object's index to pass its own
 * `minIndex`, for its wait to run out, or for its caller to go away. Woken by `release(index)`
 * after a committed write, never by polling.
 */
interface Waiter {
  minIndex: bigint;
  finish: () => void;
}

/** Caps on parked queries: per object, and per caller (token, or client address) within it. */
interface WaiterLimits {
  perObject: number;
  perCaller: number;
}

/**
 * Defaults sized to the isolate's memory: a parked query costs up to 7.0 KiB of JS heap where one
 * isolate holds the Worker's request too (locally), at most 3.3 KiB in the object's own isolate, of
 * which the waiter itself is 750 B (measured over the inspector, docs/benchmarks.md); so 4,500 at
 * the cap stay within 32 MiB of the 128 MB limit either way.
 */
const DEFAULT_WAITER_LIMITS: WaiterLimits = { perObject: 4500, perCaller: 2500 };

export function waiterLimits(env: Env): WaiterLimits {
  return {
    perObject: Number(env.MAX_WAITERS_PER_OBJECT) || DEFAULT_WAITER_LIMITS.perObject,
    perCaller: Number(env.MAX_WAITERS_PER_CALLER) || DEFAULT_WAITER_LIMITS.perCaller,
  };
}

export const TOO_MANY_WAITERS = "Too many blocking queries are waiting on this object; retry later";
export const TOO_MANY_CALLER_WAITERS = "Too many blocking queries from this caller are waiting on this object; retry later";

export class Waiters {
  readonly #parked = new Set<Waiter>();
  readonly #perCaller = new Map<string, number>();

  get size(): number {
    return this.#parked.size;
  }

  /** Why a new waiter of `caller` may not park (the text of a 429), or undefined when it may. */
  refusal(caller: string, limits: WaiterLimits): string | undefined {
    if (this.#parked.size >= limits.perObject) return TOO_MANY_WAITERS;
    if ((this.#perCaller.get(caller) ?? 0) >= limits.perCaller) return TOO_MANY_CALLER_WAITERS;
    return undefined;
  }

  /** Resolves when released past `minIndex`, after `waitMs`, or on `signal` abort, whichever comes first. */
  wait(minIndex: bigint, waitMs: number, signal?: AbortSignal, caller = ""): Promise<void> {
    if (signal?.aborted) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => finish(), waitMs);
      const finish = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", finish);
        if (this.#parked.delete(waiter)) {
          const left = (this.#perCaller.get(caller) ?? 1) - 1;
          if (left > 0) this.#perCaller.set(caller, left);
          else this.#perCaller.delete(caller);
        }
        resolve();
      };
      const waiter: Waiter = { minIndex, finish };
      signal?.addEventListener("abort", finish);
      this.#parked.add(waiter);
      this.#perCaller.set(caller, (this.#perCaller.get(caller) ?? 0) + 1);
    });
  }

  /**
   * Wakes every waiter whose `minIndex` is below the new index; an index from the future keeps
   * waiting. The first RELEASE_SLICE go at once, the rest a slice per task: the runtime's other
   * work (the writer's answer on its way out, new requests) runs between slices instead of queueing
   * behind thousands of answers.
   */
  release(index: number): void {
    const reached = BigInt(index);
    const due = [...this.#parked].filter((waiter) => waiter.minIndex < reached);
    const next = (from: number) => {
      for (const waiter of due.slice(from, from + RELEASE_SLICE)) waiter.finish();
      if (from + RELEASE_SLICE < due.length) setTimeout(() => next(from + RELEASE_SLICE), 0);
    };
    next(0);
  }
}

/** Waiters answered per task when a write releases many. */
export const RELEASE_SLICE = 64;
