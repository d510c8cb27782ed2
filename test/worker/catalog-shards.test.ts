/**
 * The region catalog over several shards (this file also runs unsharded): lists, blocking lists
 * and the event stream merged by the Worker, indexes unique and strictly increasing.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { config } from "../../src/config.ts";
import { shardOf } from "../../src/domain/catalog-shard.ts";
import type { CatalogChange } from "../../src/durable/contract.ts";
import { call, catalogFor, createAllocation, indexOf, postEvents } from "../support/worker.ts";

const SHARDS = config(env).catalogShards;
const shardOfId = (id: string) => shardOf(id.replaceAll("-", ""), SHARDS);

/** One fresh id in each sixteenth of the id space, so every shard gets some. */
function spreadIds(): string[] {
  return "0123456789abcdef".split("").map((digit) => `${digit}${crypto.randomUUID().slice(1)}`);
}

/** `n` upserts of new allocations in shard 0 (ids 0000…), allocation indexes increasing from now. */
function freshUpserts(n: number): CatalogChange[] {
  const base = Date.now();
  return Array.from({ length: n }, (_, i) => ({
    allocId: `0000${crypto.randomUUID().slice(4)}`,
    allocIndex: base + i,
    kind: "upsert",
    modifyTime: "1",
    allocation: '{"JobID":"example"}',
  }));
}

async function fullList(query = ""): Promise<{ index: number; ids: string[] }> {
  const r = await call(`/v1/allocations${query}`);
  expect(r.status).toBe(200);
  return { index: indexOf(r), ids: ((await r.json()) as Array<{ ID: string }>).map((a) => a.ID) };
}

interface Batch {
  Index: number;
  Events?: Array<{ Key: string; Index: number }>;
}

/** Event batches of the stream at `path` (or of an open stream) until `enough` of them are `wanted`. */
async function readEvents(from: string | Response, enough: number, wanted: (batch: Batch) => boolean = () => true): Promise<Batch[]> {
  const r = typeof from === "string" ? await call(from) : from;
  expect(r.status).toBe(200);
  const reader = (r.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  const batches: Batch[] = [];
  let buffered = "";
  const deadline = Date.now() + 10_000;
  while (batches.filter(wanted).length < enough) {
    if (Date.now() > deadline) throw new Error(`only ${batches.filter(wanted).length} of ${enough} batches`);
    const { done, value } = await reader.read();
    if (done) break;
    buffered += decoder.decode(value, { stream: true });
    for (let nl = buffered.indexOf("\n"); nl >= 0; nl = buffered.indexOf("\n")) {
      const batch = JSON.parse(buffered.slice(0, nl)) as Batch;
      buffered = buffered.slice(nl + 1);
      if (batch.Events) batches.push(batch);
    }
  }
  await reader.cancel();
  return batches;
}

describe(`the region catalog in ${SHARDS} shard(s)`, () => {
  it("lists every shard's allocations in one id order; pages walk across shards exactly once", async () => {
    const ids = spreadIds();
    await Promise.all(ids.map((id) => createAllocation(id)));
    const mine = new Set(ids);
    const listed = (await fullList()).ids;
    expect(listed).toEqual([...listed].sort());
    expect(listed.filter((id) => mine.has(id))).toEqual([...ids].sort());
    const walked: string[] = [];
    let token = "";
    for (let page = 0; page < 1000; page++) {
      const r = await call(`/v1/allocations?per_page=7${token ? `&next_token=${token}` : ""}`);
      const body = (await r.json()) as Array<{ ID: string }>;
      expect(body.length).toBeLessThanOrEqual(7);
      walked.push(...body.map((a) => a.ID));
      token = r.headers.get("X-Nomad-NextToken") ?? "";
      if (!token) break;
      expect(body).toHaveLength(7);
    }
    expect(walked).toEqual(listed.length === walked.length ? listed : walked);
    expect(new Set(walked).size).toBe(walked.length);
    expect(walked.filter((id) => mine.has(id))).toEqual([...ids].sort());
    // reverse: the same rows backwards, also page by page across shards.
    expect((await fullList("?reverse=true")).ids).toEqual([...listed].reverse());
    const back: string[] = [];
    token = "";
    for (let page = 0; page < 1000; page++) {
      const r = await call(`/v1/allocations?reverse=true&per_page=5${token ? `&next_token=${token}` : ""}`);
      back.push(...((await r.json()) as Array<{ ID: string }>).map((a) => a.ID));
      token = r.headers.get("X-Nomad-NextToken") ?? "";
      if (!token) break;
    }
    expect(back).toEqual([...listed].reverse());
    // A short prefix spans shards; a long one names one.
    const [first] = ids;
    expect((await fullList(`?prefix=${first?.slice(0, 1)}`)).ids).toContain(first);
    expect((await fullList(`?prefix=${first?.slice(0, 8)}`)).ids).toEqual([first]);
  });

  it("the list's index strictly increases on a change in any shard, and never undercuts a ModifyIndex", async () => {
    const seen = [(await fullList("?per_page=1")).index];
    for (const id of spreadIds().slice(0, 8)) {
      const { index } = await createAllocation(id);
      const now = (await fullList("?per_page=1")).index;
      expect(now).toBeGreaterThanOrEqual(index);
      seen.push(now);
    }
    for (let i = 1; i < seen.length; i++) expect(seen[i]).toBeGreaterThan(seen[i - 1] as number);
  });

  it("a blocking list is woken by a change in any shard, with an index above the one it presented", async () => {
    for (const id of [spreadIds()[15] as string, spreadIds()[0] as string]) {
      const before = (await fullList("?per_page=1")).index;
      const pending = call(`/v1/allocations?per_page=1&index=${before}&wait=20s`);
      const parkedIn = catalogFor("global", shardOfId(id));
      const deadline = Date.now() + 5000;
      while ((await parkedIn.stats()).waiters < 1 && Date.now() < deadline) await new Promise((w) => setTimeout(w, 5));
      const { index: written } = await createAllocation(id);
      const woken = await pending;
      expect(indexOf(woken)).toBeGreaterThan(before);
      expect(indexOf(woken)).toBeGreaterThanOrEqual(written);
    }
  });

  it("streams every shard's events merged in strictly increasing, unique indexes; index=N resumes exactly", async () => {
    const start = (await fullList("?per_page=1")).index + 1;
    const ids = spreadIds();
    for (const id of ids) await createAllocation(id);
    for (const id of ids.slice(0, 4)) await postEvents(id, '{"Task":"redis","Event":{"Type":"Started"}}');
    const mine = new Set(ids);
    const isMine = (batch: Batch) => mine.has(batch.Events?.[0]?.Key ?? "");
    const all = await readEvents(`/v1/event/stream?topic=Allocation&index=${start}`, 20, isMine);
    const indexes = all.map((batch) => batch.Index);
    for (let i = 1; i < indexes.length; i++) expect(indexes[i]).toBeGreaterThan(indexes[i - 1] as number);
    const ours = all.filter((batch) => mine.has(batch.Events?.[0]?.Key ?? ""));
    expect(ours).toHaveLength(20);
    for (const batch of ours) {
      const event = batch.Events?.[0] as { Key: string; Index: number };
      expect(event.Index).toBe(batch.Index);
      // Shard k hands out only indexes ≡ k (mod K).
      expect(batch.Index % SHARDS).toBe(shardOfId(event.Key));
    }
    const cut = ours[9]?.Index as number;
    const rest = await readEvents(`/v1/event/stream?topic=Allocation&index=${cut + 1}`, 10, isMine);
    expect(rest.filter((batch) => mine.has(batch.Events?.[0]?.Key ?? "")).map((b) => b.Index)).toEqual(ours.slice(10).map((b) => b.Index));
  }, 30_000);

  it("follows live changes of every shard in index order", async () => {
    const ids = spreadIds().filter((_, i) => i % 4 === 0);
    // Open (subscribed in every shard) once the answer's head arrived; then the changes happen.
    const live = await call("/v1/event/stream?topic=Allocation");
    for (const id of ids) await createAllocation(id);
    const mine = new Set(ids);
    const got = (await readEvents(live, ids.length, (b) => mine.has(b.Events?.[0]?.Key ?? ""))).filter((b) =>
      mine.has(b.Events?.[0]?.Key ?? ""),
    );
    const indexes = got.map((b) => b.Index);
    expect(indexes).toEqual([...indexes].sort((a, b) => a - b));
    expect(got.map((b) => b.Events?.[0]?.Key)).toEqual(ids);
  });

  it("records changes that arrive together in one transaction, one index each", async () => {
    const shard = catalogFor("global", 0);
    const before = await shard.stats();
    const changes = freshUpserts(10);
    const indexes = await shard.recordMany(changes);
    const after = await shard.stats();
    expect(after.transactions - before.transactions).toBe(1);
    expect(after.recorded - before.recorded).toBe(10);
    for (let i = 1; i < indexes.length; i++) expect(indexes[i]).toBeGreaterThan(indexes[i - 1] as number);
    // Redelivered, they change nothing.
    expect(await shard.recordMany(changes)).toEqual(changes.map(() => after.index));
    expect((await shard.stats()).transactions).toBe(after.transactions);
  });

  it("records single deliveries that arrive while a group awaits its confirmation together, one index each", async () => {
    const shard = catalogFor("global", 0);
    const before = await shard.stats();
    const changes = freshUpserts(40);
    // Forty RPCs of one change each, all sent at once, as forty allocations' objects deliver.
    const indexes = await Promise.all(changes.map((change) => shard.record(change)));
    const after = await shard.stats();
    expect(after.recorded - before.recorded).toBe(40);
    expect(new Set(indexes).size).toBe(40);
    // The first is recorded at once; most of the others arrive while a group awaits its
    // confirmation and share a transaction (one each without grouping: 40).
    expect(after.transactions - before.transactions).toBeLessThanOrEqual(20);
  });
});
