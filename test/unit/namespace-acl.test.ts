/**
 * Namespace rules as Nomad applies them (acl/acl.go `matchingNamespaceCapabilitySet`,
 * `findClosestMatchingGlob`, `AllowNamespaceOperation`; cases from acl/acl_test.go
 * `TestWildcardNamespaceMatching`, v1.10.0).
 */
import { describe, expect, it } from "vitest";
import { allowsNamespace, compileAcl, globMatches, namespaceCapabilities, parsePolicyRules } from "../../src/acl/policy.ts";

const aclOf = (rules: string) => compileAcl([parsePolicyRules(rules)]);
const readsJob = (rules: string, namespace: string) => allowsNamespace(aclOf(rules), namespace, ["read-job"]);

describe("go-glob's Glob", () => {
  it.each([
    ["*", "anything", true],
    ["", "", true],
    ["", "x", false],
    ["web", "web", true],
    ["web", "web-1", false],
    ["web-*", "web-1", true],
    ["web-*", "web-", true],
    ["web-*", "api-1", false],
    ["*-api", "prod-api", true],
    ["*-api", "prod-api-x", false],
    ["a*b*c", "aXbYc", true],
    ["a*b*c", "abc", true],
    ["a*b*c", "acb", false],
    ["a*a", "a", false],
    ["a*a", "aa", true],
  ])("%s matches %s: %s", (pattern, subject, expected) => {
    expect(globMatches(pattern, subject)).toBe(expected);
  });
});

describe("namespace capabilities with globs", () => {
  it("a glob matches", () => {
    expect(readsJob('namespace "prod-api-*" { policy = "write" }', "prod-api-services")).toBe(true);
  });
  it("a name without * is not a glob", () => {
    expect(readsJob('namespace "prod-api" { policy = "write" }', "prod-api-services")).toBe(false);
  });
  it("the exact rule wins over any glob, either way round", () => {
    const denyExact = 'namespace "prod-api-services" { policy = "deny" }\nnamespace "prod-api-*" { policy = "write" }';
    expect(readsJob(denyExact, "prod-api-services")).toBe(false);
    const denyGlob = 'namespace "prod-api-*" { policy = "deny" }\nnamespace "prod-api-services" { policy = "write" }';
    expect(readsJob(denyGlob, "prod-api-services")).toBe(true);
  });
  it("the closest glob wins (fewest characters left to the *), in whatever order the rules come", () => {
    const a = 'namespace "*-api-services" { policy = "deny" }\nnamespace "prod-api-*" { policy = "write" }';
    const b = 'namespace "prod-api-*" { policy = "write" }\nnamespace "*-api-services" { policy = "deny" }';
    expect(readsJob(a, "prod-api-services")).toBe(false);
    expect(readsJob(b, "prod-api-services")).toBe(false);
  });
  it("`*` asks whether any namespace grants it", () => {
    const rules = 'namespace "prod-api-*" { policy = "deny" }\nnamespace "prod-api-services" { policy = "write" }';
    expect(readsJob(rules, "*")).toBe(true);
    expect(readsJob('namespace "a" { policy = "deny" }', "*")).toBe(false);
  });
  it("a `*` rule is the farthest glob: every closer glob beats it", () => {
    const rules = 'namespace "*" { policy = "read" }\nnamespace "secret-*" { policy = "deny" }';
    expect(readsJob(rules, "public")).toBe(true);
    expect(readsJob(rules, "secret-1")).toBe(false);
  });
  it("among equally close globs the last in byte order wins (Nomad's stable sort with <=)", () => {
    // "a-*" and "*-b" are both one character away from "a-b" (difference 3 - 3 + 1).
    const acl = aclOf('namespace "a-*" { policy = "deny" }\nnamespace "*-b" { policy = "read" }');
    expect(namespaceCapabilities(acl, "a-b")).toEqual(["deny"]);
  });
  it("no matching rule: nothing", () => {
    expect(namespaceCapabilities(aclOf('namespace "web-*" { policy = "read" }'), "api")).toBeUndefined();
    expect(readsJob('namespace "web-*" { policy = "read" }', "api")).toBe(false);
  });
  it("capabilities are looked up by own keys only", () => {
    expect(namespaceCapabilities(aclOf('namespace "x" { policy = "read" }'), "constructor")).toBeUndefined();
  });
});
