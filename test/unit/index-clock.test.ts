import { describe, expect, it } from "vitest";
import { indexAfter, issuedIndex } from "../../src/durable/index-clock.ts";

describe("issuedIndex (an object's index read back from its digits)", () => {
  it("reads the clock's form exactly", () => {
    expect(issuedIndex("1")).toBe(1);
    expect(issuedIndex("1764639000123")).toBe(1764639000123);
    expect(issuedIndex(String(Number.MAX_SAFE_INTEGER))).toBe(Number.MAX_SAFE_INTEGER);
  });

  it("throws instead of rounding digits no clock writes", () => {
    expect(() => issuedIndex("9007199254740993")).toThrow("not an index an object issued: 9007199254740993");
    expect(() => issuedIndex("18446744073709551615")).toThrow();
    expect(() => issuedIndex("")).toThrow();
    expect(() => issuedIndex("1e3")).toThrow();
  });
});

describe("indexAfter (the clock's rule)", () => {
  it("is above the last index and at least the time given", () => {
    expect(indexAfter(5, 3)).toBe(6);
    expect(indexAfter(5, 9)).toBe(9);
  });
});
