import { describe, expect, it } from "vitest";
import { DEMO_ALLOC_ID, DEMO_ALLOCATION_JSON } from "../../src/demo/allocation.ts";
import { allocListStub } from "../../src/domain/alloc-stub.ts";
import { catalogEntry, eventJson } from "../../src/domain/catalog-entry.ts";
import { indexInShard, shardOf, shardsFor } from "../../src/domain/catalog-shard.ts";
import { encodeJson, JsonNumber, type JsonObject, parseJson } from "../../src/json/codec.ts";

describe("catalogEntry", () => {
  it("is the stub and the event (Job left out) the catalog records, with the index it assigns", () => {
    const allocation = parseJson(DEMO_ALLOCATION_JSON) as JsonObject;
    const before = encodeJson(allocation);
    const entry = catalogEntry(allocation, DEMO_ALLOC_ID, "upsert", 7n);
    expect(encodeJson(allocation)).toBe(before); // not changed
    expect(entry.stub).toBe(encodeJson(allocListStub(allocation, 7n)));
    expect(entry.namespace).toBe("default");
    expect([entry.jobId, entry.deploymentId]).toEqual(["example", ""]);
    const event = eventJson(entry, 1764000000123);
    const expected = encodeJson({
      Topic: "Allocation",
      Type: "AllocationUpdated",
      Key: DEMO_ALLOC_ID,
      Namespace: "default",
      // nomad/state/events.go (v1.10.0): FilterKeys are the JobID and the DeploymentID.
      FilterKeys: ["example", ""],
      Index: JsonNumber.of(1764000000123),
      Payload: { Allocation: { ...allocation, Job: null } },
    });
    expect(event).toBe(expected);
    const deleted = catalogEntry(allocation, DEMO_ALLOC_ID, "delete", 7n);
    expect(deleted.stub).toBeNull();
    expect(eventJson(deleted, 5)).toContain('"Type":"AllocationDeleted"');
  });
});

describe("catalog shards", () => {
  it("split the id space into contiguous ranges by the first four hex digits", () => {
    expect([0, 1, 2, 3].map((k) => shardOf(["0000", "4000", "8000", "ffff"][k] as string, 4))).toEqual([0, 1, 2, 3]);
    expect(shardOf("3fff", 4)).toBe(0);
    expect(shardOf("abc", 1)).toBe(0);
    expect(shardsFor("", "", 4)).toEqual([0, 1, 2, 3]);
    expect(shardsFor("", "", 4, true)).toEqual([3, 2, 1, 0]);
    expect(shardsFor("8", "", 4)).toEqual([2]);
    expect(shardsFor("7", "", 8)).toEqual([3]);
    expect(shardsFor("", "9000", 4)).toEqual([2, 3]);
    expect(shardsFor("", "9000", 4, true)).toEqual([2, 1, 0]);
    expect(shardsFor("abcd1234", "", 16)).toEqual([10]);
  });

  it("hand out indexes ≡ shard (mod shards), never below the minimum", () => {
    for (const shards of [1, 3, 4, 16]) {
      for (let shard = 0; shard < shards; shard++) {
        for (const min of [1, 1764000000000, 1764000000001, 1764000000015]) {
          const index = indexInShard(min, shard, shards);
          expect(index).toBeGreaterThanOrEqual(min);
          expect(index - min).toBeLessThan(shards);
          expect(index % shards).toBe(shard);
        }
      }
    }
  });
});
