/**
 * Parked blocking queries of one object: each waits for the object's index to pass its own
 * `minIndex`, for its wait to run out, or for its caller to go away. Woken by `release(index)`
 * after a committed write, never by polling.
 */
interface Waiter {
  minIndex: bigint;
  finish: () => void;
}

export class Waiters {
  readonly #parked = new Set<Waiter>();

  get size(): number {
    return this.#parked.size;
  }

  /** Resolves when released past `minIndex`, after `waitMs`, or on `signal` abort, whichever comes first. */
  wait(minIndex: bigint, waitMs: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => finish(), waitMs);
      const finish = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", finish);
        this.#parked.delete(waiter);
        resolve();
      };
      const waiter: Waiter = { minIndex, finish };
      signal?.addEventListener("abort", finish);
      this.#parked.add(waiter);
    });
  }

  /** Wakes every waiter whose `minIndex` is below the new index; an index from the future keeps waiting. */
  release(index: number): void {
    const reached = BigInt(index);
    for (const waiter of this.#parked) {
      if (waiter.minIndex < reached) waiter.finish();
    }
  }
}
