import { describe, expect, it } from "vitest";
import { encodeJson, JsonNumber, JsonSyntaxError, parseJson } from "../../src/json/codec.ts";

describe("JSON codec", () => {
  it("round-trips int64 nanoseconds digit for digit", () => {
    const text = '{"Max":9223372036854775807,"Neg":-9223372036854775808,"Time":1490999500248633594}';
    expect(encodeJson(parseJson(text))).toBe(text);
  });

  it("sorts keys byte-wise at every level and keeps <>& literal", () => {
    const value = parseJson('{"b":{"z":1,"A":2,"a":[{"y":"<&>","x":null}]},"B":[],"a":{}}');
    expect(encodeJson(value)).toBe('{"B":[],"a":{},"b":{"A":2,"a":[{"x":null,"y":"<&>"}],"z":1}}');
  });

  it("sorts keys by their UTF-8 bytes, as Go does, where UTF-16 order differs", () => {
    // U+E000 is EE 80 80 in UTF-8 and U+10000 is F0 90 80 80; in UTF-16 U+10000 starts with D800.
    const value = parseJson('{"\\ud800\\udc00":1,"\\ue000":2,"\\uffff":3,"a":4,"\\u00e9":5}');
    expect(encodeJson(value)).toBe('{"a":4,"\u00e9":5,"\ue000":2,"\uffff":3,"\u{10000}":1}');
    const keys = ["\u{1F600}", "\uFB01", "\u{10000}", "z", "\uE000x", "\uE000"];
    const bytes = (s: string) => [...new TextEncoder().encode(s)];
    const byUtf8 = [...keys].sort((a, b) => {
      const [x, y] = [bytes(a), bytes(b)];
      for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return (x[i] as number) - (y[i] as number);
      return x.length - y.length;
    });
    const encoded = encodeJson(Object.fromEntries(keys.map((k) => [k, null])));
    expect(encoded).toBe(`{${byUtf8.map((k) => `${JSON.stringify(k)}:null`).join(",")}}`);
  });

  it("escapes control characters and U+2028 as Go does", () => {
    expect(encodeJson('a"\\\n\r\t\u0001\u2028')).toBe('"a\\"\\\\\\n\\r\\t\\u0001\\u2028"');
  });

  it("pretty-prints with 4 spaces, ': ' and a trailing newline", () => {
    expect(encodeJson(parseJson('{"b":[1,{}],"a":null}'), true)).toBe('{\n    "a": null,\n    "b": [\n        1,\n        {}\n    ]\n}\n');
  });

  it("keeps numbers as written", () => {
    const value = parseJson("[6.133651487695705,1E+10,-0.5,0]") as JsonNumber[];
    expect(value.map((n) => n.raw)).toEqual(["6.133651487695705", "1E+10", "-0.5", "0"]);
    expect(value[3]?.isInteger).toBe(true);
    expect(value[0]?.isInteger).toBe(false);
  });

  it.each([
    ["", "unexpected end of input"],
    ["{", "expected string key"],
    ['{"a":1,}', "expected string key"],
    ['{"a":1 "b":2}', "expected , or }"],
    ["[1,]", "unexpected character"],
    ["01", "unexpected data after JSON value"],
    ["NaN", "unexpected character"],
    ['"\u0001"', "control character in string"],
    ['"\\x"', "invalid escape"],
    ['{"a":1,"a":2}', 'duplicate key "a"'],
    ["[1] 2", "unexpected data after JSON value"],
  ])("rejects %j (%s)", (text, why) => {
    expect(() => parseJson(text)).toThrow(JsonSyntaxError);
    expect(() => parseJson(text)).toThrow(why);
  });

  it("bounds nesting depth instead of recursing without limit", () => {
    const deep = `${"[".repeat(100_000)}${"]".repeat(100_000)}`;
    expect(() => parseJson(deep)).toThrow("nesting deeper than 64");
    expect(parseJson(`${"[".repeat(64)}${"]".repeat(64)}`)).toBeTruthy();
  });

  it("decodes escapes including surrogate pairs", () => {
    expect(parseJson('"\\u00e9\\ud83d\\ude00\\/"')).toBe("é😀/");
  });

  it("makes JsonNumber from bigint and safe integers only", () => {
    expect(JsonNumber.of(1490999500248633594n).raw).toBe("1490999500248633594");
    expect(JsonNumber.of(42).raw).toBe("42");
    expect(() => JsonNumber.of(2 ** 60)).toThrow(RangeError);
  });
});
