import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { allocationJson, call, createAllocation, indexOf, newAllocId, objectFor, postEvents, TOKEN } from "../support/worker.ts";

function conditional(method: "PUT" | "DELETE", id: string, source: string | null, body?: string): Promise<Response> {
  const headers: Record<string, string> = { "X-Nomad-Token": TOKEN };
  if (source !== null) headers["X-Source-Index"] = source;
  return call(`/v1/allocation/${id}`, { method, headers, body });
}

async function answer(response: Response): Promise<{ index: number; text: string }> {
  expect(response.status).toBe(200);
  const text = await response.text();
  return { index: indexOf(response), text };
}

const put = (id: string, source: string | null, overrides: Record<string, string> = {}) =>
  conditional("PUT", id, source, allocationJson(id, overrides));

const readName = async (id: string) => {
  const r = await call(`/v1/allocation/${id}`);
  return r.status === 200 ? ((await r.json()) as { Name: string }).Name : r.status;
};

describe("X-Source-Index conditional writes", () => {
  it("applies only a source index above the stored one; a stale write answers the current index with Stale", async () => {
    const id = newAllocId();
    const first = await answer(await put(id, "10", { Name: '"v10"' }));
    expect(first.text).toBe(`{"Index":${first.index}}`);
    for (const older of ["10", "9", "0"]) {
      const stale = await answer(await put(id, older, { Name: `"v${older}"` }));
      expect(stale.text).toBe(`{"Index":${first.index},"Stale":true}`);
      expect(stale.index).toBe(first.index);
    }
    expect(await readName(id)).toBe("v10");
    const newer = await answer(await put(id, "11", { Name: '"v11"' }));
    expect(newer.index).toBeGreaterThan(first.index);
    expect(await readName(id)).toBe("v11");
  });

  it("a write without the header is applied and does not lower the stored source index", async () => {
    const id = newAllocId();
    await answer(await put(id, "100"));
    const plain = await answer(await put(id, null, { Name: '"plain"' }));
    expect(plain.text).toBe(`{"Index":${plain.index}}`);
    expect((await answer(await put(id, "100", { Name: '"late"' }))).text).toBe(`{"Index":${plain.index},"Stale":true}`);
    expect(await readName(id)).toBe("plain");
    // Task events take no source index and leave it alone.
    const events = await postEvents(id, '{"Task":"redis","Event":{"Type":"Driver"}}');
    expect(events.status).toBe(200);
    expect((await answer(await put(id, "99"))).text).toBe(`{"Index":${indexOf(events)},"Stale":true}`);
  });

  it("a tombstone keeps its source index: a late PUT cannot resurrect it, a newer one can", async () => {
    const id = newAllocId();
    await answer(await put(id, "5"));
    const gone = await answer(await conditional("DELETE", id, "20"));
    expect(gone.text).toBe(`{"Index":${gone.index}}`);
    const late = await answer(await put(id, "15"));
    expect(late.text).toBe(`{"Index":${gone.index},"Stale":true}`);
    expect(await readName(id)).toBe(404);
    // A stale delete of the tombstone is stale too (not a 404).
    expect((await answer(await conditional("DELETE", id, "20"))).text).toBe(`{"Index":${gone.index},"Stale":true}`);
    const back = await answer(await put(id, "21", { Name: '"back"' }));
    expect(back.index).toBeGreaterThan(gone.index);
    expect(await readName(id)).toBe("back");
  });

  it("a conditional delete that overtook the PUT it follows answers 404 and still blocks that PUT", async () => {
    const id = newAllocId();
    const overtaken = await conditional("DELETE", id, "30");
    expect(overtaken.status).toBe(404);
    expect(await overtaken.text()).toBe("alloc not found");
    const late = await put(id, "29");
    expect(late.status).toBe(200);
    expect(JSON.parse(await late.text())).toMatchObject({ Stale: true });
    expect(await readName(id)).toBe(404);
    expect((await put(id, "31")).status).toBe(200);
    expect(await readName(id)).not.toBe(404);
  });

  it("the stored source index survives an object restart and keeps every uint64 digit", async () => {
    const id = newAllocId();
    const top = "18446744073709551615";
    const below = "18446744073709551614";
    await answer(await put(id, below));
    await runInDurableObject(objectFor(id), (_instance, state) => state.abort("restart")).catch(() => undefined);
    expect(JSON.parse((await answer(await put(id, below))).text)).toMatchObject({ Stale: true });
    expect((await answer(await put(id, top))).text).not.toContain("Stale");
    await runInDurableObject(objectFor(id), (_instance, state) => state.abort("restart")).catch(() => undefined);
    expect(JSON.parse((await answer(await put(id, top))).text)).toMatchObject({ Stale: true });
  });

  it("a stale write changes nothing in the region's list", async () => {
    const { id } = await createAllocation();
    await answer(await put(id, "7"));
    const before = await call(`/v1/allocations?prefix=${id}`);
    const listed = await before.text();
    await answer(await put(id, "6", { Name: '"stale"' }));
    const after = await call(`/v1/allocations?prefix=${id}`);
    expect(indexOf(after)).toBe(indexOf(before));
    expect(await after.text()).toBe(listed);
  });

  it.each(["", "-1", "abc", "1.5", "18446744073709551616"])("X-Source-Index %j is a 400 and changes nothing", async (raw) => {
    const { id, index } = await createAllocation();
    for (const method of ["PUT", "DELETE"] as const) {
      const r = await conditional(method, id, raw, method === "PUT" ? allocationJson(id, { Name: '"bad"' }) : undefined);
      expect(r.status).toBe(400);
      expect(await r.text()).toBe(`Invalid X-Source-Index ${JSON.stringify(raw)}: expected a decimal uint64`);
    }
    const read = await call(`/v1/allocation/${id}`);
    expect(indexOf(read)).toBe(index);
  });
});
