/**
 * Nomad ACL policies: rules in Nomad's JSON form (what its HCL decodes to, and what its API accepts)
 * or the HCL subset used for these blocks, compiled into the capabilities this API checks.
 */
import { CodedError } from "../errors.ts";
import { encodeJson, isJsonObject, type JsonObject, JsonSyntaxError, type JsonValue, parseJson } from "../json/codec.ts";
import { HclSyntaxError, parsePolicyHcl } from "./hcl.ts";

type Level = "deny" | "read" | "write" | "";

interface NamespaceRule {
  policy: Level | "scale";
  capabilities: string[];
}

/**
 * One policy's rules. Names chosen by the policy's author (namespaces) are `Map` keys, never
 * object properties, so no name (`__proto__`, `constructor`) can reach an object's prototype.
 */
export interface PolicyRules {
  namespace: Map<string, NamespaceRule>;
  node: Level;
  agent: Level;
}

/**
 * What a token may do, merged from all its policies. It crosses RPC and caches by structured
 * clone, which keeps a `Map` a `Map` (a prototype-less object would come back with a prototype).
 */
export interface Acl {
  management: boolean;
  /** Namespace name (or `*`) → capabilities; a namespace with `deny` maps to ["deny"]. */
  namespaces: Map<string, string[]>;
  node: Level;
  agent: Level;
}
/** Nomad's expansion of a namespace `policy` into capabilities (acl/policy.go). */
const NAMESPACE_POLICY_CAPABILITIES: Record<string, string[]> = {
  deny: ["deny"],
  read: [
    "list-jobs",
    "parse-job",
    "read-job",
    "csi-list-volume",
    "csi-read-volume",
    "list-scaling-policies",
    "read-scaling-policy",
    "read-job-scaling",
  ],
  scale: ["list-scaling-policies", "read-scaling-policy", "read-job-scaling", "scale-job"],
};
NAMESPACE_POLICY_CAPABILITIES.write = [
  ...(NAMESPACE_POLICY_CAPABILITIES.read ?? []),
  "scale-job",
  "submit-job",
  "dispatch-job",
  "read-logs",
  "read-fs",
  "alloc-exec",
  "alloc-lifecycle",
  "csi-write-volume",
  "csi-mount-volume",
  "submit-recommendation",
];

const KNOWN_CAPABILITIES = new Set([
  ...Object.values(NAMESPACE_POLICY_CAPABILITIES).flat(),
  "alloc-node-exec",
  "csi-register-plugin",
  "list-scaling-policies",
  "sentinel-override",
]);
const LEVELS = new Set(["deny", "read", "write"]);
/** Blocks Nomad policies may carry that this API has nothing to enforce for: accepted, ignored. */
const IGNORED_BLOCKS = new Set(["operator", "quota", "plugin", "host_volume"]);
/** Nomad's namespace names in policies (acl/policy.go `validNamespace`); `*` is a glob. */
const NAMESPACE_NAME = /^[a-zA-Z0-9*-]{1,128}$/;

function invalid(why: string): never {
  throw new CodedError(400, `Invalid policy rules: ${why}`);
}

function level(value: JsonValue | undefined, where: string, extra: string[] = []): Level {
  if (typeof value !== "string" || !(LEVELS.has(value) || extra.includes(value))) {
    invalid(`${where}: policy must be one of deny, read, write${extra.length ? `, ${extra.join(", ")}` : ""}`);
  }
  return value as Level;
}

/** A block's body: an object holding only `allowed` keys. */
function blockBody(value: JsonValue | undefined, where: string, allowed: string[]): JsonObject {
  if (!isJsonObject(value)) invalid(`${where} must be a block`);
  const body = value as JsonObject;
  const unknown = Object.keys(body).find((key) => !allowed.includes(key));
  if (unknown !== undefined) invalid(`${where}: unknown key ${JSON.stringify(unknown)}`);
  return body;
}

function namespaceRule(name: string, value: JsonValue | undefined): NamespaceRule {
  const where = `namespace ${JSON.stringify(name)}`;
  if (!NAMESPACE_NAME.test(name)) invalid(`Invalid namespace name: ${JSON.stringify(name)}`);
  const body = blockBody(value, where, ["policy", "capabilities"]);
  const caps = body.capabilities ?? [];
  if (!Array.isArray(caps) || caps.some((c) => typeof c !== "string" || !KNOWN_CAPABILITIES.has(c))) {
    invalid(`${where}: unknown capability in ${encodeJson(caps)}`);
  }
  if (body.policy === undefined && caps.length === 0) invalid(`${where}: neither a policy nor capabilities`);
  const policy = body.policy === undefined ? "" : level(body.policy, where, ["scale"]);
  return { policy, capabilities: caps as string[] };
}

/**
 * Parses rules given as JSON or as Nomad HCL (src/acl/hcl.ts), and refuses anything not fully
 * understood: unknown blocks and keys, values of the wrong type, namespace names Nomad refuses,
 * and rules that state no rule at all (Nomad: `Invalid policy`).
 */
export function parsePolicyRules(text: string): PolicyRules {
  const trimmed = text.trim();
  let raw: JsonValue;
  try {
    raw = trimmed.startsWith("{") ? parseJson(trimmed) : parsePolicyHcl(text);
  } catch (error) {
    if (error instanceof JsonSyntaxError) invalid("malformed JSON");
    if (error instanceof HclSyntaxError) invalid(`Failed to parse ACL Policy: ${error.message}`);
    throw error;
  }
  if (!isJsonObject(raw)) invalid("expected an object");
  const rules: PolicyRules = { namespace: new Map(), node: "", agent: "" };
  const blocks = Object.entries(raw as JsonObject);
  for (const [block, body] of blocks) {
    if (block === "namespace") {
      if (!isJsonObject(body)) invalid("namespace must map names to rules");
      for (const [name, rule] of Object.entries(body as JsonObject)) rules.namespace.set(name, namespaceRule(name, rule));
    } else if (block === "node" || block === "agent") {
      rules[block] = level(blockBody(body, block, ["policy"]).policy, block);
    } else if (!IGNORED_BLOCKS.has(block)) {
      invalid(`unknown block ${JSON.stringify(block)}`);
    }
  }
  const grantsNothing = rules.namespace.size === 0 && rules.node === "" && rules.agent === "";
  if (grantsNothing && !blocks.some(([block]) => IGNORED_BLOCKS.has(block))) invalid(`Invalid policy: ${JSON.stringify(text)}`);
  return rules;
}

function mergeLevel(a: Level, b: Level): Level {
  if (a === "deny" || b === "deny") return "deny";
  if (a === "write" || b === "write") return "write";
  if (a === "read" || b === "read") return "read";
  return "";
}

/** Merges policies as Nomad does: capabilities add up, and `deny` anywhere wins. */
export function compileAcl(policies: PolicyRules[]): Acl {
  const namespaces = new Map<string, string[]>();
  let node: Level = "";
  let agent: Level = "";
  for (const rules of policies) {
    for (const [name, rule] of rules.namespace) {
      const caps = new Set(namespaces.get(name) ?? []);
      for (const cap of [...(NAMESPACE_POLICY_CAPABILITIES[rule.policy] ?? []), ...rule.capabilities]) caps.add(cap);
      namespaces.set(name, caps.has("deny") ? ["deny"] : [...caps].sort());
    }
    node = mergeLevel(node, rules.node);
    agent = mergeLevel(agent, rules.agent);
  }
  return { management: false, namespaces, node, agent };
}

export const MANAGEMENT_ACL: Acl = { management: true, namespaces: new Map(), node: "write", agent: "write" };
export const EMPTY_ACL: Acl = { management: false, namespaces: new Map(), node: "", agent: "" };

/** Nomad's `*` namespace (`structs.AllNamespacesSentinel`): every namespace. */
export const ALL_NAMESPACES = "*";

/** ryanuber/go-glob's `Glob`, which Nomad uses for namespace rules: `*` matches any run of characters. */
export function globMatches(pattern: string, subject: string): boolean {
  if (pattern === "") return subject === "";
  if (pattern === "*") return true;
  const parts = pattern.split("*");
  if (parts.length === 1) return subject === pattern;
  const last = parts.length - 1;
  let rest = subject;
  for (let i = 0; i < last; i++) {
    const part = parts[i] ?? "";
    const at = rest.indexOf(part);
    if (i === 0 ? at !== 0 && !pattern.startsWith("*") : at < 0) return false;
    rest = rest.slice(at + part.length);
  }
  return pattern.endsWith("*") || rest.endsWith(parts[last] ?? "");
}

const utf8 = new TextEncoder();

function compareBytes(a: string, b: string): number {
  const x = utf8.encode(a);
  const y = utf8.encode(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return (x[i] ?? 0) - (y[i] ?? 0);
  return x.length - y.length;
}

/**
 * The capabilities that govern `namespace`, chosen as Nomad's `matchingNamespaceCapabilitySet`
 * (acl/acl.go) chooses them: the exact rule, else the closest matching glob, the one whose
 * `len(namespace) - len(glob) + count("*")` is smallest. Nomad walks its globs in byte order and
 * stable-sorts them with a `<=` comparison, so among equally close globs the last in byte order wins.
 */
export function namespaceCapabilities(acl: Acl, namespace: string): string[] | undefined {
  const exact = acl.namespaces.get(namespace);
  if (exact) return exact;
  let best: { glob: string; difference: number } | undefined;
  const length = utf8.encode(namespace).length;
  for (const glob of [...acl.namespaces.keys()].sort(compareBytes)) {
    if (!glob.includes("*") || !globMatches(glob, namespace)) continue;
    const difference = length - utf8.encode(glob).length + (glob.split("*").length - 1);
    if (!best || difference <= best.difference) best = { glob, difference };
  }
  return best ? acl.namespaces.get(best.glob) : undefined;
}

/**
 * Whether the ACL grants any of `capabilities` in `namespace`, as Nomad's `AllowNsOp`: `*` asks
 * whether any namespace rule grants it.
 */
export function allowsNamespace(acl: Acl, namespace: string, capabilities: readonly string[]): boolean {
  if (acl.management) return true;
  const grants = (caps: string[] | undefined) => caps !== undefined && capabilities.some((cap) => caps.includes(cap));
  if (namespace === ALL_NAMESPACES && [...acl.namespaces.values()].some(grants)) return true;
  return grants(namespaceCapabilities(acl, namespace));
}

function levelAllows(have: Level, need: "read" | "write"): boolean {
  return have === "write" || (need === "read" && have === "read");
}

export function allowsNode(acl: Acl, need: "read" | "write"): boolean {
  return acl.management || levelAllows(acl.node, need);
}

export function allowsAgent(acl: Acl, need: "read" | "write"): boolean {
  return acl.management || levelAllows(acl.agent, need);
}
