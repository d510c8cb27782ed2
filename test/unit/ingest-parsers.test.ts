import { describe, expect, it } from "vitest";
import { batchOp, batchSourceIndexText, MAX_BATCH_CHANGES, parseBatchEnvelope } from "../../src/domain/batch.ts";
import { parseSourceIndex, sourceIndexOrUndefined } from "../../src/http/source-index.ts";
import { type JsonObject, parseJson } from "../../src/json/codec.ts";
import { codeOf } from "../support/coded-error.ts";

describe("source index", () => {
  it.each([
    ["0", "0"],
    ["42", "42"],
    ["007", "7"],
    ["9007199254740993", "9007199254740993"],
    ["18446744073709551615", "18446744073709551615"],
  ])("%j → %s", (raw, value) => expect(sourceIndexOrUndefined(raw)).toBe(value));

  it.each(["", "-1", "+1", "1.0", "1e3", " 1", "0x10", "18446744073709551616", "123456789012345678901"])("%j is refused", (raw) => {
    expect(sourceIndexOrUndefined(raw)).toBeUndefined();
    expect(codeOf(() => parseSourceIndex(raw, "X-Source-Index"))).toEqual([
      400,
      `Invalid X-Source-Index ${JSON.stringify(raw)}: expected a decimal uint64`,
    ]);
  });
});

describe("batch envelope", () => {
  const parse = (text: string) => parseBatchEnvelope(parseJson(text));

  it("answers each change with its ID text", () => {
    const changes = parse('{"Changes":[{"Op":"put","ID":"a"},{"Op":"x","ID":"b"}]}');
    expect(changes.map((c) => c.id)).toEqual(["a", "b"]);
    expect(parse('{"Changes":[]}')).toEqual([]);
  });

  it.each([
    ["[]", "invalid field BatchRequest: expected object"],
    ["{}", "invalid field BatchRequest.Changes: expected array"],
    ['{"Changes":{}}', "invalid field BatchRequest.Changes: expected array"],
    ['{"Changes":[],"More":1}', "invalid field BatchRequest.More: unknown field"],
    ['{"Changes":[1]}', "invalid field BatchRequest.Changes[0]: expected object"],
    ['{"Changes":[{"Op":"put"}]}', "invalid field BatchRequest.Changes[0].ID: expected string"],
  ])("%s is a 400 for the whole request", (text, message) => expect(codeOf(() => parse(text))).toEqual([400, message]));

  it(`refuses more than ${MAX_BATCH_CHANGES} changes`, () => {
    const many = `{"Changes":[${Array.from({ length: MAX_BATCH_CHANGES + 1 }, () => '{"Op":"delete","ID":"x"}').join(",")}]}`;
    expect(codeOf(() => parse(many))).toEqual([
      400,
      `invalid field BatchRequest.Changes: at most ${MAX_BATCH_CHANGES} changes per request, got ${MAX_BATCH_CHANGES + 1}`,
    ]);
  });

  it("checks a change's operation, fields and source index on their own", () => {
    const change = (text: string) => parseJson(text) as JsonObject;
    expect(batchOp(change('{"Op":"put","ID":"a","Allocation":{}}'), 0)).toBe("put");
    expect(codeOf(() => batchOp(change('{"Op":"upsert","ID":"a"}'), 3))).toEqual([
      400,
      'invalid field BatchRequest.Changes[3].Op: expected "put" or "delete"',
    ]);
    expect(codeOf(() => batchOp(change('{"Op":"delete","ID":"a","Allocation":{}}'), 1))).toEqual([
      400,
      "invalid field BatchRequest.Changes[1].Allocation: unknown field",
    ]);
    expect(batchSourceIndexText(change('{"SourceIndex":"18446744073709551615"}'), 0)).toBe("18446744073709551615");
    expect(batchSourceIndexText(change('{"SourceIndex":18446744073709551615}'), 0)).toBe("18446744073709551615");
    expect(batchSourceIndexText(change("{}"), 0)).toBeUndefined();
    expect(codeOf(() => batchSourceIndexText(change('{"SourceIndex":true}'), 2))).toEqual([
      400,
      "invalid field BatchRequest.Changes[2].SourceIndex: expected a decimal uint64 string",
    ]);
  });
});
