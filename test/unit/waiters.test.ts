import { describe, expect, it } from "vitest";
import { RELEASE_SLICE, Waiters } from "../../src/durable/waiters.ts";

const limits = { perObject: 10_000, perCaller: 10_000 };

describe("Waiters.release", () => {
  it("answers the first slice at once and the rest a slice per task, leaving future indexes parked", async () => {
    const waiters = new Waiters();
    const total = RELEASE_SLICE * 2 + 10;
    let answered = 0;
    const released = Array.from({ length: total }, () => waiters.wait(5n, 60_000, undefined, "a").then(() => answered++));
    const future = waiters.wait(10n, 60_000, undefined, "b");
    let futureAnswered = false;
    void future.then(() => {
      futureAnswered = true;
    });
    expect(waiters.size).toBe(total + 1);

    waiters.release(10);
    // The first slice is finished synchronously; its promises settle in this task's microtasks.
    await Promise.resolve();
    expect(answered).toBe(RELEASE_SLICE);
    expect(waiters.size).toBe(total + 1 - RELEASE_SLICE);

    await Promise.all(released);
    expect(answered).toBe(total);
    // Index 10 does not pass a minIndex of 10: that waiter stays, counted for its caller.
    expect(waiters.size).toBe(1);
    expect(futureAnswered).toBe(false);
    expect(waiters.refusal("b", { ...limits, perCaller: 1 })).toBeDefined();
    expect(waiters.refusal("a", { ...limits, perCaller: 1 })).toBeUndefined();
    waiters.release(11);
    await future;
    expect(waiters.size).toBe(0);
  });

  it("forgets a waiter that leaves (abort) before its slice comes, without answering it twice", async () => {
    const waiters = new Waiters();
    const controllers = Array.from({ length: RELEASE_SLICE + 5 }, () => new AbortController());
    const done = controllers.map((c) => waiters.wait(1n, 60_000, c.signal));
    waiters.release(2);
    // The last ones are in the second slice: abort them before it runs.
    for (const c of controllers.slice(RELEASE_SLICE)) c.abort();
    await Promise.all(done);
    expect(waiters.size).toBe(0);
  });
});
