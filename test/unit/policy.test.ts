import { describe, expect, it } from "vitest";
import { allowsNamespace, allowsNode, compileAcl, parsePolicyRules } from "../../src/acl/policy.ts";
import { CodedError } from "../../src/errors.ts";

function refusal(rules: string): string {
  try {
    parsePolicyRules(rules);
  } catch (error) {
    if (error instanceof CodedError && error.status === 400) return error.message;
    throw error;
  }
  throw new Error(`accepted: ${rules}`);
}

describe("policy rules: what is accepted", () => {
  it("reads Nomad's HCL: labels, lists, trailing commas, optional commas, three comment styles, escapes", () => {
    const rules = parsePolicyRules(`# a comment
namespace "default" { policy = "read", capabilities = ["read-logs", "read-fs",] }
// another
namespace "prod-*" {
  /* a block
     comment */
  policy = "deny"
}
node { policy = "w\\x72ite" }
agent { policy = "\\u0072ead" }`);
    expect([...rules.namespace.keys()]).toEqual(["default", "prod-*"]);
    expect(rules.namespace.get("default")).toEqual({ policy: "read", capabilities: ["read-logs", "read-fs"] });
    expect(rules.node).toBe("write");
    expect(rules.agent).toBe("read");
  });

  it("reads the JSON form", () => {
    const rules = parsePolicyRules('{"namespace":{"default":{"capabilities":["read-job"]}},"node":{"policy":"read"}}');
    expect(rules.namespace.get("default")?.capabilities).toEqual(["read-job"]);
    expect(rules.node).toBe("read");
  });

  it("keeps namespace names Nomad accepts that are also Object.prototype names in a Map, granting only there", () => {
    const acl = compileAcl([parsePolicyRules('namespace "constructor" { policy = "write" }')]);
    expect(allowsNamespace(acl, "constructor", ["read-job"])).toBe(true);
    expect(allowsNamespace(acl, "default", ["read-job"])).toBe(false);
    expect(allowsNamespace(acl, "toString", ["read-job"])).toBe(false);
    // What crosses RPC and the cache is a structured clone: it must answer the same.
    const cloned = structuredClone(acl);
    expect(allowsNamespace(cloned, "constructor", ["read-job"])).toBe(true);
    expect(allowsNamespace(cloned, "hasOwnProperty", ["read-job"])).toBe(false);
  });

  it("never writes onto Object.prototype, whatever the names", () => {
    for (const rules of [
      '__proto__ "default" { policy = "read" }',
      'namespace "__proto__" { policy = "read" }',
      '{"__proto__":{"default":{"policy":"read"}}}',
      '{"namespace":{"__proto__":{"policy":"read"}}}',
      'node { __proto__ = "x" }',
    ]) {
      expect(() => parsePolicyRules(rules)).toThrow(CodedError);
    }
    const probe: Record<string, unknown> = {};
    expect(probe.default).toBeUndefined();
    expect(probe.policy).toBeUndefined();
    expect(Object.keys(Object.prototype)).toEqual([]);
  });
});

describe("policy rules: what is refused, with its text", () => {
  it.each([
    // What the old tokenizer skipped.
    ['node { policy := "write" }', 'Invalid policy rules: Failed to parse ACL Policy: At 1:15: illegal character ":"'],
    ['node { policy = "write" } ; @@@', 'Invalid policy rules: Failed to parse ACL Policy: At 1:27: illegal character ";"'],
    [
      "node { policy = write }",
      'Invalid policy rules: Failed to parse ACL Policy: At 1:17: expected a quoted string after policy =, got "write"',
    ],
    [
      'namespace "x" { policy "read" }',
      'Invalid policy rules: Failed to parse ACL Policy: At 1:24: expected = after policy, got string "read"',
    ],
    ['node { policy = "write"', "Invalid policy rules: Failed to parse ACL Policy: At end of input: unexpected end of input"],
    ['node { policy = "wri\nte" }', "Invalid policy rules: Failed to parse ACL Policy: At 1:21: unterminated string"],
    ["node { policy = 1 }", 'Invalid policy rules: Failed to parse ACL Policy: At 1:17: illegal character "1"'],
    ['node { policy = "a" policy = "b" }', 'Invalid policy rules: Failed to parse ACL Policy: At 1:21: duplicate key "policy"'],
    [
      'node { policy = "read" }\nnode { policy = "write" }',
      'Invalid policy rules: Failed to parse ACL Policy: At 2:1: duplicate block "node"',
    ],
    [
      'namespace "a" { policy = "read" }\nnamespace "a" { policy = "write" }',
      'Invalid policy rules: Failed to parse ACL Policy: At 2:1: duplicate block namespace "a"',
    ],
    ['node { policy = "read" } /* open', "Invalid policy rules: Failed to parse ACL Policy: At 1:26: unterminated comment"],
    // An invalid escape in a string (was a 500).
    ['node { policy = "\\x" }', "Invalid policy rules: Failed to parse ACL Policy: At 1:18: invalid escape \\x in string"],
    ['node { policy = "\\q" }', "Invalid policy rules: Failed to parse ACL Policy: At 1:18: invalid escape \\q in string"],
    ['node { policy = "\\uD800" }', "Invalid policy rules: Failed to parse ACL Policy: At 1:18: invalid escape \\uD800 in string"],
    // Rules that state no rule.
    ["!!!", 'Invalid policy rules: Failed to parse ACL Policy: At 1:1: illegal character "!"'],
    ["# only a comment", 'Invalid policy rules: Invalid policy: "# only a comment"'],
    ["{}", 'Invalid policy rules: Invalid policy: "{}"'],
    ['{"namespace":{}}', 'Invalid policy rules: Invalid policy: "{\\"namespace\\":{}}"'],
    ['{"namespace":{"default":"write"}}', 'Invalid policy rules: namespace "default" must be a block'],
    ['namespace "default" {}', 'Invalid policy rules: namespace "default": neither a policy nor capabilities'],
    // Names and keys Nomad would not accept.
    ['namespace "__proto__" { policy = "read" }', 'Invalid policy rules: Invalid namespace name: "__proto__"'],
    ['namespace "a b" { policy = "read" }', 'Invalid policy rules: Invalid namespace name: "a b"'],
    ['__proto__ "default" { policy = "read" }', 'Invalid policy rules: unknown block "__proto__"'],
    ['constructor { policy = "read" }', 'Invalid policy rules: unknown block "constructor"'],
    ['node { policy = "write" prototype = "x" }', 'Invalid policy rules: node: unknown key "prototype"'],
    ['{"node":{"policy":"write","constructor":"x"}}', 'Invalid policy rules: node: unknown key "constructor"'],
    ['{"node":"write"}', "Invalid policy rules: node must be a block"],
    ['{"node":{"policy":"write"},"node":{"policy":"read"}}', "Invalid policy rules: malformed JSON"],
  ])("%j → %j", (rules, text) => {
    expect(refusal(rules)).toBe(text);
  });

  it("an accepted policy compiles to exactly what it states", () => {
    const acl = compileAcl([parsePolicyRules('node { policy = "read" }')]);
    expect(allowsNode(acl, "read")).toBe(true);
    expect(allowsNode(acl, "write")).toBe(false);
  });
});
