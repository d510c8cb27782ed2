/**
 * Nomad ACL policies: rules in Nomad's JSON form (what its HCL decodes to, and what its API accepts)
 * or the HCL subset used for these blocks, compiled into the capabilities this API checks.
 */
import { CodedError } from "../http/errors.ts";

export type Level = "deny" | "read" | "write" | "";

export interface NamespaceRule {
  policy: Level | "scale";
  capabilities: string[];
}

export interface PolicyRules {
  namespace: Record<string, NamespaceRule>;
  node: Level;
  agent: Level;
}

/** What a token may do, merged from all its policies (plain data: it crosses RPC and caches). */
export interface Acl {
  management: boolean;
  /** Namespace name (or `*`) → capabilities; a namespace with `deny` maps to ["deny"]. */
  namespaces: Record<string, string[]>;
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

function invalid(why: string): never {
  throw new CodedError(400, `Invalid policy rules: ${why}`);
}

function level(value: unknown, where: string, extra: string[] = []): Level {
  if (typeof value !== "string" || !(LEVELS.has(value) || extra.includes(value))) {
    invalid(`${where}: policy must be one of deny, read, write${extra.length ? `, ${extra.join(", ")}` : ""}`);
  }
  return value as Level;
}

/** Parses rules given as JSON or as Nomad HCL (blocks of `key = value`). */
export function parsePolicyRules(text: string): PolicyRules {
  const trimmed = text.trim();
  let raw: unknown;
  if (trimmed.startsWith("{")) {
    try {
      raw = JSON.parse(trimmed);
    } catch {
      invalid("malformed JSON");
    }
  } else {
    raw = parseHcl(trimmed);
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) invalid("expected an object");
  const rules: PolicyRules = { namespace: {}, node: "", agent: "" };
  for (const [block, body] of Object.entries(raw as Record<string, unknown>)) {
    if (block === "namespace") {
      if (typeof body !== "object" || body === null) invalid("namespace must map names to rules");
      for (const [name, rule] of Object.entries(body as Record<string, unknown>)) {
        const r = (rule ?? {}) as Record<string, unknown>;
        const caps = r.capabilities ?? [];
        if (!Array.isArray(caps) || caps.some((c) => typeof c !== "string" || !KNOWN_CAPABILITIES.has(c))) {
          invalid(`namespace ${JSON.stringify(name)}: unknown capability in ${JSON.stringify(caps)}`);
        }
        const policy = r.policy === undefined ? "" : level(r.policy, `namespace ${JSON.stringify(name)}`, ["scale"]);
        rules.namespace[name] = { policy, capabilities: caps as string[] };
      }
    } else if (block === "node" || block === "agent") {
      rules[block] = level((body as Record<string, unknown> | null)?.policy, block);
    } else if (!IGNORED_BLOCKS.has(block)) {
      invalid(`unknown block ${JSON.stringify(block)}`);
    }
  }
  return rules;
}

/**
 * The HCL subset Nomad policies use: `namespace "default" { policy = "read" capabilities = ["read-logs"] }`
 * and `node { policy = "write" }`, with `#` comments. Returns the equivalent JSON object.
 */
function parseHcl(text: string): Record<string, unknown> {
  const tokens = text.replace(/#[^\n]*/g, "").match(/"(?:[^"\\]|\\.)*"|[{}[\]=,]|[A-Za-z_][\w-]*/g) ?? [];
  let at = 0;
  const next = () => tokens[at++] ?? invalid("unexpected end of HCL");
  const unquote = (t: string) => (t.startsWith('"') ? (JSON.parse(t) as string) : t);
  const parseBody = (): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    for (;;) {
      const key = next();
      if (key === "}") return out;
      const op = next();
      if (op !== "=") invalid(`expected = after ${key}`);
      const value = next();
      if (value === "[") {
        const list: string[] = [];
        for (let t = next(); t !== "]"; t = next()) if (t !== ",") list.push(unquote(t));
        out[key] = list;
      } else out[key] = unquote(value);
    }
  };
  const root: Record<string, Record<string, unknown>> = {};
  while (at < tokens.length) {
    const block = next();
    let label: string | undefined;
    let brace = next();
    if (brace !== "{") {
      label = unquote(brace);
      brace = next();
    }
    if (brace !== "{") invalid(`expected { after ${block}`);
    const body = parseBody();
    if (label === undefined) root[block] = body;
    else {
      root[block] ??= {};
      (root[block] as Record<string, unknown>)[label] = body;
    }
  }
  return root;
}

function mergeLevel(a: Level, b: Level): Level {
  if (a === "deny" || b === "deny") return "deny";
  if (a === "write" || b === "write") return "write";
  if (a === "read" || b === "read") return "read";
  return "";
}

/** Merges policies as Nomad does: capabilities add up, and `deny` anywhere wins. */
export function compileAcl(policies: PolicyRules[]): Acl {
  const namespaces: Record<string, string[]> = {};
  let node: Level = "";
  let agent: Level = "";
  for (const rules of policies) {
    for (const [name, rule] of Object.entries(rules.namespace)) {
      const caps = new Set(namespaces[name] ?? []);
      for (const cap of [...(NAMESPACE_POLICY_CAPABILITIES[rule.policy] ?? []), ...rule.capabilities]) caps.add(cap);
      namespaces[name] = caps.has("deny") ? ["deny"] : [...caps].sort();
    }
    node = mergeLevel(node, rules.node);
    agent = mergeLevel(agent, rules.agent);
  }
  return { management: false, namespaces, node, agent };
}

export const MANAGEMENT_ACL: Acl = { management: true, namespaces: {}, node: "write", agent: "write" };
export const EMPTY_ACL: Acl = { management: false, namespaces: {}, node: "", agent: "" };

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
  const exact = Object.hasOwn(acl.namespaces, namespace) ? acl.namespaces[namespace] : undefined;
  if (exact) return exact;
  let best: { glob: string; difference: number } | undefined;
  const length = utf8.encode(namespace).length;
  for (const glob of Object.keys(acl.namespaces).sort(compareBytes)) {
    if (!glob.includes("*") || !globMatches(glob, namespace)) continue;
    const difference = length - utf8.encode(glob).length + (glob.split("*").length - 1);
    if (!best || difference <= best.difference) best = { glob, difference };
  }
  return best ? acl.namespaces[best.glob] : undefined;
}

/**
 * Whether the ACL grants any of `capabilities` in `namespace`, as Nomad's `AllowNsOp`: `*` asks
 * whether any namespace rule grants it.
 */
export function allowsNamespace(acl: Acl, namespace: string, capabilities: readonly string[]): boolean {
  if (acl.management) return true;
  const grants = (caps: string[] | undefined) => caps !== undefined && capabilities.some((cap) => caps.includes(cap));
  if (namespace === ALL_NAMESPACES && Object.values(acl.namespaces).some(grants)) return true;
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
