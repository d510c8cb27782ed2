/**
 * Who may call an operation, declared once per operation in the endpoint table: the pipeline
 * enforces `need` and the OpenAPI document prints `note` and `security` from the same object.
 */
import { NEEDS, type Need } from "../acl/needs.ts";

export interface Access {
  /**
   * What the caller must hold: a need (checked in any namespace for namespace needs), `caller`
   * (the caller is resolved, an unknown token refused, and the handler checks what the resource
   * needs), or `public` (no token is looked at).
   */
  need: Need | "caller" | "public";
  /** The operation's ACL requirement as the document states it. */
  note: string;
  /** What a request presents: no token (`open`), a token or the anonymous policy (`optional`), a token (`required`). */
  token: "open" | "optional" | "required";
}

const READ_JOB =
  "`namespace:read-job` in the allocation's namespace (the `read` policy has it; Nomad's glob rules pick the closest `namespace \"web-*\"` rule); a caller with `read-job` in no namespace at all is refused before anything is read. Without a token the `anonymous` policy decides; `npm start` creates one that allows reads in `default`";
const NODE_WRITE = "`node:write`, or a management token (the `MANAGEMENT_TOKEN` secret is one)";

export const ACCESS = {
  public: { need: "public", note: "none", token: "open" },
  readJob: { need: NEEDS.readJob, note: READ_JOB, token: "optional" },
  readLogs: {
    need: NEEDS.readLogs,
    note: "`namespace:read-logs` or `namespace:read-fs` in the allocation's namespace (neither is in the `read` policy). Without a token the `anonymous` policy decides; `npm start`'s allows it in `default`",
    token: "optional",
  },
  nodeWrite: { need: NEEDS.nodeWrite, note: NODE_WRITE, token: "required" },
  agentRead: { need: NEEDS.agentRead, note: "`agent:read`", token: "optional" },
  management: { need: NEEDS.management, note: "a management token", token: "required" },
  /** Nomad's stop endpoint: `alloc-lifecycle` in the namespace of the allocation, once it is found. */
  allocLifecycle: {
    need: "caller",
    note: "`namespace:alloc-lifecycle` in the allocation's namespace (checked before the refusal, as Nomad checks it)",
    token: "required",
  },
  /** The event stream: what each topic needs, in each namespace streamed. */
  eventTopics: {
    need: "caller",
    note: "per topic, in each namespace streamed, as Nomad's `validateNsOp`: `namespace:read-job` for `Allocation` (and Nomad's other job topics); a management token for `*` (also when no `topic` is given) and for topics this server does not know. Without a token the `anonymous` policy decides",
    token: "optional",
  },
  /** `token/self`: any valid token; the document lists the token schemes so a client (and Try it) sends one. */
  anyToken: { need: "caller", note: "any valid token", token: "optional" },
} as const satisfies Record<string, Access>;
