import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { unwrap } from "../../src/durable/contract.ts";
import { call, createAllocation, expectMeta, indexOf, newAllocId, objectFor, postEvents, untilWaiters, write } from "../support/worker.ts";

const STARTED = '{"Task":"redis","Event":{"Type":"Started"}}';

describe("blocking queries", () => {
  it("answers at once without index or with index=0 (wait ignored)", async () => {
    const { id, index } = await createAllocation();
    for (const q of ["", "?wait=60s", "?index=0&wait=60s", "?index=&wait=60s"]) {
      const r = await call(`/v1/allocation/${id}${q}`);
      expect(r.status).toBe(200);
      expect(expectMeta(r)).toBe(index);
    }
  });

  it("answers at once when the allocation is already past the index", async () => {
    const { id, index } = await createAllocation();
    const r = await call(`/v1/allocation/${id}?index=${index - 1}&wait=60s`);
    expect(indexOf(r)).toBe(index);
  });

  it("blocks until the wait runs out, then answers 200 with the current state and the same index", async () => {
    const { id, index } = await createAllocation();
    const started = Date.now();
    const r = await call(`/v1/allocation/${id}?index=${index}&wait=300ms`);
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    expect(r.status).toBe(200);
    expect(indexOf(r)).toBe(index);
    expect(((await r.json()) as { ModifyIndex: number }).ModifyIndex).toBe(index);
  });

  it.each(["10s", "1.5m", "300000ms", "1h", "-5s", "0"])("accepts wait=%s (Go duration syntax)", async (wait) => {
    const { id, index } = await createAllocation();
    const pending = call(`/v1/allocation/${id}?index=${index}&wait=${wait}`);
    await untilWaiters(id, 1);
    await postEvents(id, STARTED);
    expect((await pending).status).toBe(200);
  });

  it("is woken by a write to that allocation within milliseconds, with the new index and body", async () => {
    const { id, index } = await createAllocation();
    const pending = call(`/v1/allocation/${id}?index=${index}&wait=30s`);
    await untilWaiters(id, 1);
    const wrote = await postEvents(id, STARTED);
    const writtenAt = Date.now();
    const r = await pending;
    const woke = Date.now() - writtenAt;
    const newIndex = ((await wrote.json()) as { Index: number }).Index;
    expect(newIndex).toBeGreaterThan(index);
    expect(indexOf(r)).toBe(newIndex);
    expect(((await r.json()) as { TaskStates: { redis: { State: string } } }).TaskStates.redis.State).toBe("running");
    expect(woke).toBeLessThan(1000);
  });

  it("is not woken by writes to other allocations", async () => {
    const { id, index } = await createAllocation();
    const other = await createAllocation();
    const pending = call(`/v1/allocation/${id}?index=${index}&wait=400ms`);
    await untilWaiters(id, 1);
    await postEvents(other.id, STARTED);
    expect((await objectFor(id).stats()).waiters).toBe(1);
    expect(indexOf(await pending)).toBe(index);
  });

  it("wakes 100 concurrent waiters with one write, encoding the body once", async () => {
    const { id, index } = await createAllocation();
    const before = await objectFor(id).stats();
    const waiters = Array.from({ length: 100 }, (_, i) => call(`/v1/allocation/${id}?index=${index}&wait=30s${i % 2 ? "&pretty" : ""}`));
    await untilWaiters(id, 100);
    const wrote = await postEvents(id, STARTED);
    const newIndex = ((await wrote.json()) as { Index: number }).Index;
    const responses = await Promise.all(waiters);
    const bodies = await Promise.all(responses.map((r) => r.text()));
    expect(responses.every((r) => r.status === 200 && indexOf(r) === newIndex)).toBe(true);
    expect(new Set(bodies).size).toBe(2);
    // One compact encoding at the write, one pretty encoding shared by the 50 pretty waiters.
    expect((await objectFor(id).stats()).encodes - before.encodes).toBe(2);
    expect((await objectFor(id).stats()).waiters).toBe(0);
  });

  it("keeps waiting on an index from the future without answering early", async () => {
    const { id, index } = await createAllocation();
    const pending = call(`/v1/allocation/${id}?index=18446744073709551615&wait=300ms`);
    await untilWaiters(id, 1);
    await postEvents(id, STARTED);
    expect((await objectFor(id).stats()).waiters).toBe(1);
    const r = await pending;
    expect(indexOf(r)).toBeGreaterThan(index);
  });

  it("carries an index above 2^53 exactly (a bigint from the query to the objects): index=9007199254740993 waits, on one allocation and on the list", async () => {
    const { id } = await createAllocation();
    const above = "9007199254740993"; // 2^53 + 1: no JS number has this value
    const pending = call(`/v1/allocation/${id}?index=${above}&wait=300ms`);
    await untilWaiters(id, 1);
    const wrote = await postEvents(id, STARTED);
    const written = ((await wrote.json()) as { Index: number }).Index;
    // The write is below the index asked for: the query still waits, then answers the current state.
    expect((await objectFor(id).stats()).waiters).toBe(1);
    const r = await pending;
    expect(r.status).toBe(200);
    expect(indexOf(r)).toBe(written);
    const started = Date.now();
    const listed = await call(`/v1/allocations?index=${above}&wait=300ms&per_page=1`);
    expect(listed.status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    expect(indexOf(listed)).toBeGreaterThanOrEqual(written);
  });

  it("answers 404 for a missing allocation when the wait times out", async () => {
    const id = newAllocId();
    const r = await call(`/v1/allocation/${id}?index=1&wait=200ms`);
    expect(r.status).toBe(404);
    expect(await r.text()).toBe("alloc not found");
    expect(expectMeta(r)).toBe(1);
  });

  it("wakes a waiter on a missing allocation when it is created", async () => {
    const id = newAllocId();
    const pending = call(`/v1/allocation/${id}?index=1&wait=30s`);
    await untilWaiters(id, 1);
    const { index } = await createAllocation(id);
    const r = await pending;
    expect(r.status).toBe(200);
    expect(indexOf(r)).toBe(index);
  });

  it("answers 404 with a larger index when the allocation is deleted mid-wait", async () => {
    const { id, index } = await createAllocation();
    const pending = call(`/v1/allocation/${id}?index=${index}&wait=30s`);
    await untilWaiters(id, 1);
    expect((await write("DELETE", `/v1/allocation/${id}`)).status).toBe(200);
    const r = await pending;
    expect(r.status).toBe(404);
    expect(await r.text()).toBe("alloc not found");
    expect(indexOf(r)).toBeGreaterThan(index);
  });

  it("answers the current state, not a 500, when the object is reset mid-wait", async () => {
    const { id, index } = await createAllocation();
    const pending = call(`/v1/allocation/${id}?index=${index}&wait=30s`);
    await untilWaiters(id, 1);
    await runInDurableObject(objectFor(id), (_instance, state) => state.abort("reset for test")).catch(() => undefined);
    const r = await pending;
    expect(r.status).toBe(200);
    expect(indexOf(r)).toBe(index);
    expect((await objectFor(id).stats()).waiters).toBe(0);
  });

  it("drops the waiter when its caller's signal aborts (the Worker passes the client's request.signal)", async () => {
    const { id, index } = await createAllocation();
    const controller = new AbortController();
    const pending = objectFor(id).read({ minIndex: BigInt(index), waitMs: 30_000, pretty: false }, controller.signal);
    await untilWaiters(id, 1);
    controller.abort();
    await untilWaiters(id, 0);
    expect(unwrap(await pending).index).toBe(index);
  });

  it.each([
    ["index=abc", "Invalid index"],
    ["index=-1", "Invalid index"],
    ["index=1.5", "Invalid index"],
    ["index=18446744073709551616", "Invalid index"],
    ["wait=10", "Invalid wait time"],
    ["wait=abc", "Invalid wait time"],
    ["wait=1e9h", "Invalid wait time"],
    ["wait=abc&index=abc", "Invalid wait time"],
  ])("rejects %s with 400 %j", async (query, text) => {
    const r = await call(`/v1/allocation/${newAllocId()}?${query}`);
    expect(r.status).toBe(400);
    expect(await r.text()).toBe(text);
  });
});
