import { listDurableObjectIds } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { allocationJson, call, createAllocation, newAllocId, write } from "../support/worker.ts";

describe("regions", () => {
  it("keeps each region's allocations apart; absent or empty region means the default", async () => {
    const id = newAllocId();
    await createAllocation(id, "europe");
    expect((await call(`/v1/allocation/${id}?region=europe`)).status).toBe(200);
    expect((await call(`/v1/allocation/${id}`)).status).toBe(404);
    expect((await call(`/v1/allocation/${id}?region=global`)).status).toBe(404);
    await createAllocation(id);
    expect((await call(`/v1/allocation/${id}?region=`)).status).toBe(200);
    expect((await write("DELETE", `/v1/allocation/${id}?region=europe`)).status).toBe(200);
    expect((await call(`/v1/allocation/${id}`)).status).toBe(200);
    expect((await call(`/v1/allocation/${id}?region=europe`)).status).toBe(404);
  });

  it.each(["mars", "Europe", "global ", "%00", "x".repeat(1024), "ünïcode"])(
    "answers region %j with 400 `No path to region`, for reads and writes, creating no object",
    async (region) => {
      const before = (await listDurableObjectIds(env.ALLOCATIONS)).length;
      const id = newAllocId();
      const q = `?region=${encodeURIComponent(region)}`;
      const read = await call(`/v1/allocation/${id}${q}&index=1&wait=10s`);
      expect(read.status).toBe(400);
      expect(await read.text()).toBe("No path to region");
      const put = await write("PUT", `/v1/allocation/${id}${q}`, allocationJson(id));
      expect(put.status).toBe(400);
      expect(await put.text()).toBe("No path to region");
      expect((await listDurableObjectIds(env.ALLOCATIONS)).length).toBe(before);
    },
  );
});
