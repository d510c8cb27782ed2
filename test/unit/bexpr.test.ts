/**
 * The filter parser and evaluator against hashicorp/go-bexpr (grammar/grammar.peg,
 * grammar/grammar_test.go for the error texts, evaluate.go for the semantics).
 */
import { describe, expect, it } from "vitest";
import { evaluateFilter, FilterError, parseFilter, unboundedBacktracking } from "../../src/domain/bexpr.ts";
import { parseJson } from "../../src/json/codec.ts";

const ALLOC = parseJson(
  JSON.stringify({
    ID: "a1",
    Namespace: "web",
    ClientStatus: "running",
    JobID: "redis-job",
    Name: "redis.cache[0]",
    TaskStates: { redis: { State: "running", Failed: false, Restarts: 2, Events: [] } },
    Job: { Meta: { owner: "ops" }, Datacenters: ["dc1", "dc2"], Priority: 50 },
    Tags: [],
    Empty: "",
    Missing: null,
    Metrics: { Scores: { "node.binpack": 0.5 } },
  }).replace('"node.binpack":0.5', '"node.binpack":0.5'),
);

const matches = (filter: string) => evaluateFilter(parseFilter(filter), ALLOC);

function parseError(filter: string): string {
  try {
    parseFilter(filter);
  } catch (error) {
    if (error instanceof FilterError) return error.message;
    throw error;
  }
  throw new Error(`parsed: ${filter}`);
}

describe("go-bexpr grammar errors (grammar_test.go)", () => {
  it.each([
    ['foo == "12x', '1:12 (11): rule "string": Unterminated string literal'],
    ["foo == `12x", '1:12 (11): rule "string": Unterminated string literal'],
    ["foo == 3x", '1:9 (8): rule "number": Invalid number literal'],
    ["foo[3] == abc", '1:5 (4): rule "index": Invalid index'],
    ['x in foo["abc"', '1:15 (14): rule "index": Unclosed index expression'],
    ['foo["abc" == 3', '1:11 (10): rule "index": Unclosed index expression'],
    ["x in 32", '1:6 (5): rule "match": Invalid selector'],
    ["32 == 32", '1:4 (3): no match found, expected: "in", "not" or [ \\t\\r\\n]'],
    ["32 is empty", '1:4 (3): no match found, expected: "in", "not" or [ \\t\\r\\n]'],
    ["x in foo abc", '1:10 (9): no match found, expected: "and", "or", [ \\t\\r\\n] or EOF'],
    ["x in foo and ", '1:14 (13): no match found, expected: "(", "-", "0", "\\"", "`", "not", [ \\t\\r\\n], [1-9] or [a-zA-Z]'],
    [
      "x in foo or ",
      '1:13 (12): no match found, expected: "(", "-", "0", "\\"", "`", "all", "any", "not", [ \\t\\r\\n], [1-9] or [a-zA-Z]',
    ],
    [
      "x in foo or not ",
      '1:17 (16): no match found, expected: "!=", "(", "-", "0", "==", "\\"", "`", "contains", "in", "is", "matches", "not", [ \\t\\r\\n], [1-9] or [a-zA-Z]',
    ],
  ])("%s", (filter, message) => {
    expect(parseError(filter)).toBe(message);
  });

  it("unmatched parentheses", () => {
    expect(parseError("(foo == 3")).toMatch(/rule "grouping": Unmatched parentheses$/);
  });
});

describe("go-bexpr parsing", () => {
  it("parses selectors, index expressions, JSON pointers and the three value forms", () => {
    expect(parseFilter('TaskStates["redis"].State == running')).toEqual({
      kind: "match",
      selector: ["TaskStates", "redis", "State"],
      operator: "==",
      value: "running",
    });
    expect(parseFilter('"/TaskStates/redis/State" != `dead`')).toMatchObject({ selector: ["TaskStates", "redis", "State"], value: "dead" });
    expect(parseFilter("Job.Priority == -50.5")).toMatchObject({ value: "-50.5" });
    expect(parseFilter('"web" in Job.Datacenters')).toMatchObject({ operator: "in", selector: ["Job", "Datacenters"], value: "web" });
    expect(parseFilter("Job.Datacenters not contains dc3")).toMatchObject({ operator: "not in", value: "dc3" });
    expect(parseFilter("not not a == b")).toMatchObject({ kind: "match" });
    expect(parseFilter(" ( a == b ) ")).toMatchObject({ kind: "match" });
  });

  it("and binds tighter than or; both are right-associative", () => {
    const parsed = parseFilter("a == 1 or b == 2 and c == 3");
    expect(parsed).toMatchObject({ kind: "or", left: { kind: "match" }, right: { kind: "and" } });
  });

  it("keywords need whitespace after them", () => {
    expect(parseFilter("notable == 1")).toMatchObject({ kind: "match", selector: ["notable"] });
    expect(() => parseFilter("a == 1 or(b == 2)")).toThrow(FilterError);
  });
});

describe("go-bexpr evaluation (evaluate.go)", () => {
  it.each([
    ['ClientStatus == "running"', true],
    ["ClientStatus == running", true],
    ["ClientStatus != running", false],
    ["TaskStates.redis.State == running", true],
    ['TaskStates["redis"].Restarts == 2', true],
    ['TaskStates.redis.Restarts == "0x2"', true],
    ['TaskStates.redis.Restarts == "02"', true],
    ["TaskStates.redis.Failed == false", true],
    ["TaskStates.redis.Failed == F", true],
    ["Job.Meta.owner == ops", true],
    ["Job.Meta.team == ops", false],
    ["Job.Meta.team != ops", true],
    ["Job.Meta.team is empty", true],
    ['"dc1" in Job.Datacenters', true],
    ['"dc3" not in Job.Datacenters', true],
    ["Job.Datacenters contains dc2", true],
    ["owner in Job.Meta", true],
    ["redis in JobID", true],
    ["JobID contains cache", false],
    ["Tags is empty", true],
    ["Empty is empty", true],
    ["Job.Meta is not empty", true],
    ["Missing is nil", true],
    ["Job.Meta is not nil", true],
    ['Name matches "^redis\\\\.cache\\\\[\\\\d+\\\\]$"', true],
    ["Name not matches `^web`", true],
    ["Metrics.Scores.node.binpack == 0.5", false],
    ['Metrics.Scores["node.binpack"] == 0.5', true],
    ["not ClientStatus == running", false],
    ["ClientStatus == running and Namespace == web", true],
    ["ClientStatus == dead or Namespace == web", true],
    ["(ClientStatus == dead or Namespace == api) and ID == a1", false],
    ["any TaskStates as name { name == redis }", true],
    ["all Job.Datacenters as dc { dc matches `^dc` }", true],
    ["any Job.Datacenters as i, dc { dc == dc2 and i == 1 }", true],
    ["all Tags as t { t == x }", true],
    ["any Job.Meta as _, v { v == ops }", true],
  ])("%s → %s", (filter, expected) => {
    expect(matches(filter)).toBe(expected);
  });

  it.each([
    ["NoSuchField == 1", /couldn't find key: struct field with name "NoSuchField"/],
    ["TaskStates.redis.Restarts == abc", /strconv\.ParseInt: parsing "abc": invalid syntax/],
    ["TaskStates.redis.Failed == maybe", /strconv\.ParseBool: parsing "maybe": invalid syntax/],
    ["Job.Meta == x", /unable to find suitable primitive comparison function for matching/],
    ["Job.Priority is empty", /cannot perform is-empty operations on type int64 for selector: "Job.Priority"/],
    ["Name matches `(`", /failed to compile regular expression "\("/],
    ["x in Job.Priority", /cannot perform in\/contains operations on type int64/],
  ])("%s is an evaluation error", (filter, message) => {
    expect(() => matches(filter)).toThrow(message);
  });
});

describe("patterns that could backtrack without bound are refused (RE2 runs in linear time)", () => {
  it.each(["(a+)+$", "(a|aa)*b", "((ab)*)+", "(x)\\1", "a(?=b)"])("%s", (pattern) => {
    expect(unboundedBacktracking(pattern)).toBeDefined();
    expect(() => matches(`Name matches \`${pattern}\``)).toThrow(/failed to compile regular expression/);
  });
  it.each(["^redis\\.cache\\[\\d+\\]$", "(?:ab)+", "(ab)+c", "[(+)]+", "a{2,3}(bc)?"])("%s is fine", (pattern) => {
    expect(unboundedBacktracking(pattern)).toBeUndefined();
  });
});
