import { describe, expect, it } from "vitest";
import { TEST_WAITER_CAPS } from "../support/constants.ts";
import { allocationJson, call, createAllocation, indexOf, newAllocId, objectFor, TOKEN, untilWaiters, write } from "../support/worker.ts";

describe("CORS", () => {
  it("answers a read preflight from any origin and exposes the Nomad headers on the read", async () => {
    const { id } = await createAllocation();
    const pre = await call(`/v1/allocation/${id}`, {
      method: "OPTIONS",
      headers: { Origin: "https://ui.example", "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "x-nomad-token" },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers.get("Access-Control-Allow-Origin")).toBe("*");
    expect(pre.headers.get("Access-Control-Allow-Methods")).toBe("GET");
    expect(pre.headers.get("Access-Control-Allow-Headers")).toContain("X-Nomad-Token");
    const read = await call(`/v1/allocation/${id}?index=1`, { headers: { Origin: "https://ui.example" } });
    expect(read.headers.get("Access-Control-Allow-Origin")).toBe("*");
    expect(read.headers.get("Access-Control-Expose-Headers")).toBe(
      "X-Nomad-Index, X-Nomad-KnownLeader, X-Nomad-LastContact, X-Nomad-NextToken, X-Log-Offset",
    );
    const missing = await call(`/v1/allocation/${newAllocId()}`, { headers: { Origin: "https://ui.example" } });
    expect(missing.status).toBe(404);
    expect(missing.headers.get("Access-Control-Allow-Origin")).toBe("*");
  });

  it("answers preflights on every read endpoint", async () => {
    for (const path of ["/v1/allocations", "/v1/event/stream", `/v1/client/fs/logs/${newAllocId()}`, "/v1/regions", "/v1/status/leader"]) {
      const pre = await call(path, { method: "OPTIONS", headers: { Origin: "https://a.example", "Access-Control-Request-Method": "GET" } });
      expect([path, pre.status]).toEqual([path, 204]);
    }
  });

  it("allows no origin to write by default, and adds no CORS headers to a write", async () => {
    const id = newAllocId();
    const pre = await call(`/v1/allocation/${id}`, {
      method: "OPTIONS",
      headers: { Origin: "https://ui.example", "Access-Control-Request-Method": "PUT" },
    });
    expect(pre.status).toBe(403);
    expect(await pre.text()).toBe('CORS: origin "https://ui.example" may not PUT here');
    const put = await call(`/v1/allocation/${id}`, {
      method: "PUT",
      body: allocationJson(id),
      headers: { Origin: "https://ui.example", "X-Nomad-Token": TOKEN },
    });
    expect(put.headers.get("Access-Control-Allow-Origin")).toBeNull();
  });

  it("refuses a preflight for HEAD (the routes answer HEAD 405) and other methods the API does not serve", async () => {
    for (const method of ["HEAD", "PATCH"]) {
      const r = await call("/v1/allocations", {
        method: "OPTIONS",
        headers: { Origin: "https://ui.example", "Access-Control-Request-Method": method },
      });
      expect([r.status, await r.text()]).toEqual([403, `CORS: origin "https://ui.example" may not ${method} here`]);
    }
    expect((await call("/v1/allocations", { method: "HEAD" })).status).toBe(405);
  });

  it("keeps a plain OPTIONS (not a preflight) a 405 as in Nomad", async () => {
    expect((await call(`/v1/allocation/${newAllocId()}`, { method: "OPTIONS" })).status).toBe(405);
  });
});

describe("size caps", () => {
  it("refuses a URL over the cap with 414 and headers over the cap with 431", async () => {
    const long = await call(`/v1/allocation/${newAllocId()}?pad=${"x".repeat(9000)}`);
    expect(long.status).toBe(414);
    expect(await long.text()).toBe("Request URL too long");
    const fat = await call(`/v1/allocation/${newAllocId()}`, { headers: { "X-Pad": "y".repeat(17_000) } });
    expect(fat.status).toBe(431);
    expect(await fat.text()).toBe("Request header fields too large");
  });
});

describe("rate limit", () => {
  it("answers 429 with Retry-After once a caller exceeds its rate, without affecting others", async () => {
    const ip = `198.51.100.${Math.floor(Math.random() * 100)}`;
    let limited: Response | undefined;
    // The limiter counts in fixed 10 s windows: send fast, concurrent batches so one window overflows.
    for (let sent = 0; sent < 6000 && !limited; sent += 50) {
      const batch = await Promise.all(Array.from({ length: 50 }, () => call("/v1/regions", { headers: { "CF-Connecting-IP": ip } })));
      for (const r of batch) {
        if (r.status === 429 && !limited) limited = r;
        else await r.arrayBuffer();
      }
    }
    expect(limited?.status).toBe(429);
    expect(limited?.headers.get("Retry-After")).toBe("10");
    expect(await limited?.text()).toBe("Rate limit exceeded: too many requests from this caller");
    expect((await call("/v1/regions", { headers: { "CF-Connecting-IP": "203.0.113.9" } })).status).toBe(200);
  });
});

describe("rate limit by address", () => {
  it("counts requests with random tokens against the client address, on public endpoints too; a token known valid keeps its own budget", async () => {
    // An address no other test uses (198.51.100.0–99 and 200–249 are the other floods'): the flood leaves
    // it limited for the rest of the period, and a fixed address it hit once (192.0.2.1, 1 in 250)
    // failed the parked-query caps test that uses it right after.
    const ip = `198.51.100.${100 + Math.floor(Math.random() * 100)}`;
    // The valid token has resolved once from this address before the flood.
    expect((await call("/v1/allocations", { headers: { "CF-Connecting-IP": ip, "X-Nomad-Token": TOKEN } })).status).toBe(200);
    let limited: Response | undefined;
    for (let sent = 0; sent < 6000 && !limited; sent += 50) {
      const batch = await Promise.all(
        Array.from({ length: 50 }, () =>
          call("/v1/status/leader", { headers: { "CF-Connecting-IP": ip, "X-Nomad-Token": crypto.randomUUID() } }),
        ),
      );
      for (const r of batch) {
        if (r.status === 429 && !limited) limited = r;
        else await r.arrayBuffer();
      }
    }
    expect(limited?.status).toBe(429);
    expect(await limited?.text()).toBe("Rate limit exceeded: too many requests from this caller");
    // Still refused for a fresh random token, and without a token, from that address …
    expect((await call("/v1/status/leader", { headers: { "CF-Connecting-IP": ip, "X-Nomad-Token": crypto.randomUUID() } })).status).toBe(
      429,
    );
    expect((await call("/v1/status/leader", { headers: { "CF-Connecting-IP": ip } })).status).toBe(429);
    // … but not for the valid token at the same address.
    expect((await call("/v1/allocations", { headers: { "CF-Connecting-IP": ip, "X-Nomad-Token": TOKEN } })).status).toBe(200);
  });
});

describe("token lookups", () => {
  it("rate-limits lookups of unknown tokens per client address, so rotating tokens does not dodge the limit", async () => {
    const ip = `198.51.100.${200 + Math.floor(Math.random() * 50)}`;
    let limited: Response | undefined;
    for (let sent = 0; sent < 6000 && !limited; sent += 50) {
      const batch = await Promise.all(
        Array.from({ length: 50 }, () =>
          call("/v1/allocations", { headers: { "CF-Connecting-IP": ip, "X-Nomad-Token": crypto.randomUUID() } }),
        ),
      );
      for (const r of batch) {
        const text = await r.text();
        if (r.status === 429) {
          limited ??= r;
          expect(text).toBe("Rate limit exceeded: too many requests from this caller");
        } else expect(text).toBe("ACL token not found");
      }
    }
    expect(limited?.status).toBe(429);
    expect((await call("/v1/allocations", { headers: { "CF-Connecting-IP": ip, "X-Nomad-Token": TOKEN } })).status).toBe(200);
  });
});

describe("blocking query caps", () => {
  it("caps parked queries per caller and per allocation with a clear 429; an index from the future costs the same", async () => {
    const { id, index } = await createAllocation();
    const park = (ip: string, minIndex: string | number = index) =>
      call(`/v1/allocation/${id}?index=${minIndex}&wait=20s`, { headers: { "CF-Connecting-IP": ip } });
    const parked: Promise<Response>[] = [];
    for (let i = 0; i < TEST_WAITER_CAPS.perCaller; i++) parked.push(park("192.0.2.1", i % 2 ? "18446744073709551615" : index));
    await untilWaiters(id, TEST_WAITER_CAPS.perCaller);
    const overCaller = await park("192.0.2.1");
    expect(overCaller.status).toBe(429);
    expect(await overCaller.text()).toBe("Too many blocking queries from this caller are waiting on this object; retry later");
    for (let i = TEST_WAITER_CAPS.perCaller; i < TEST_WAITER_CAPS.perObject; i++) parked.push(park("192.0.2.2"));
    await untilWaiters(id, TEST_WAITER_CAPS.perObject);
    const overObject = await park("192.0.2.3");
    expect(overObject.status).toBe(429);
    expect(await overObject.text()).toBe("Too many blocking queries are waiting on this object; retry later");
    // A non-blocking read is never refused.
    expect((await call(`/v1/allocation/${id}`)).status).toBe(200);
    await write("POST", `/v1/allocation/${id}/task-events`, '{"Events":[{"Task":"redis","Event":{"Type":"Received"}}]}');
    await untilWaiters(id, TEST_WAITER_CAPS.perCaller / 2);
    // Release the future-index waiters by resetting the object (they answer the current state).
    const { runInDurableObject } = await import("cloudflare:test");
    await runInDurableObject(objectFor(id), (_i, state) => state.abort("release")).catch(() => undefined);
    const answers = await Promise.all(parked);
    expect(answers.every((r) => r.status === 200)).toBe(true);
    expect(Math.max(...answers.map(indexOf))).toBeGreaterThan(index);
  });
});

describe("Idempotency-Key", () => {
  const keyed = (method: string, path: string, body: string | undefined, key: string) =>
    call(path, { method, body, headers: { "X-Nomad-Token": TOKEN, "Idempotency-Key": key } });

  it("replays a PUT retried with the same key: same answer, applied once", async () => {
    const id = newAllocId();
    const key = crypto.randomUUID();
    const first = await keyed("PUT", `/v1/allocation/${id}`, allocationJson(id), key);
    const again = await keyed("PUT", `/v1/allocation/${id}`, allocationJson(id), key);
    expect(await again.text()).toBe(await first.text());
    expect(again.headers.get("X-Nomad-Index")).toBe(first.headers.get("X-Nomad-Index"));
    expect(indexOf(await call(`/v1/allocation/${id}`))).toBe(indexOf(first));
  });

  it("applies retried task events once, and refuses the same key with a different body (422)", async () => {
    const { id } = await createAllocation();
    const key = crypto.randomUUID();
    const body = '{"Events":[{"Task":"redis","Event":{"Type":"Driver","DriverMessage":"once"}}]}';
    const first = await keyed("POST", `/v1/allocation/${id}/task-events`, body, key);
    await keyed("POST", `/v1/allocation/${id}/task-events`, body, key);
    const alloc = (await (await call(`/v1/allocation/${id}`)).json()) as { TaskStates: { redis: { Events: unknown[] } } };
    expect(alloc.TaskStates.redis.Events).toHaveLength(1);
    expect(indexOf(await call(`/v1/allocation/${id}`))).toBe(indexOf(first));
    const reused = await keyed("POST", `/v1/allocation/${id}/task-events`, body.replace("once", "twice"), key);
    expect(reused.status).toBe(422);
    expect(await reused.text()).toBe("Idempotency-Key was already used for a different request");
  });

  it("replays log appends and deletes", async () => {
    const { id } = await createAllocation();
    await write("POST", `/v1/allocation/${id}/task-events`, '{"Events":[{"Task":"redis","Event":{"Type":"Started"}}]}');
    const key = crypto.randomUUID();
    const logs = `/v1/client/fs/logs/${id}?task=redis&type=stdout`;
    expect(await (await keyed("POST", logs, "line\n", key)).text()).toBe('{"Offset":5}');
    expect(await (await keyed("POST", logs, "line\n", key)).text()).toBe('{"Offset":5}');
    expect(await (await call(`${logs}&plain=true`)).text()).toBe("line\n");
    const del = crypto.randomUUID();
    const gone = await keyed("DELETE", `/v1/allocation/${id}`, undefined, del);
    const replay = await keyed("DELETE", `/v1/allocation/${id}`, undefined, del);
    expect(replay.status).toBe(200);
    expect(await replay.text()).toBe(await gone.text());
  });

  it("replays a token creation without ever keeping the secret", async () => {
    await call("/v1/acl/policy/idem", {
      method: "POST",
      body: '{"Rules":"{\\"node\\":{\\"policy\\":\\"read\\"}}"}',
      headers: { "X-Nomad-Token": TOKEN },
    });
    const key = crypto.randomUUID();
    const body = '{"Name":"x","Type":"client","Policies":["idem"]}';
    const first = (await (await keyed("POST", "/v1/acl/token", body, key)).json()) as { AccessorID: string; SecretID: string };
    const again = (await (await keyed("POST", "/v1/acl/token", body, key)).json()) as { AccessorID: string; SecretID: string };
    expect(again.AccessorID).toBe(first.AccessorID);
    expect(first.SecretID).not.toBe("");
    expect(again.SecretID).toBe("");
  });

  it("rejects a malformed key with 400", async () => {
    const r = await keyed("PUT", `/v1/allocation/${newAllocId()}`, "{}", "has space");
    expect(r.status).toBe(400);
    expect(await r.text()).toBe("Invalid Idempotency-Key: 1 to 255 printable ASCII characters, no spaces");
  });
});
