/** The schemas of Nomad's ACL policies and tokens as the ACL endpoints take and answer them. */
import { type Schema, t, withRequired } from "../domain/schema-dsl.ts";

const RULES_DESCRIPTION =
  'The policy\'s rules, in Nomad\'s JSON form or HCL: `namespace "<name>" { policy = "read" capabilities = ["read-logs"] }`, `node { policy = "write" }`, `agent { policy = "read" }`. Namespace policies `deny`, `read`, `write` expand to capabilities as in Nomad (`read` includes `read-job`; `read-logs` and `read-fs` must be granted explicitly or through `write`).';

const policyStub = {
  Name: t.string("The policy's name: 1 to 128 letters, digits and hyphens. The policy named `anonymous` governs callers without a token."),
  Description: t.string("Free text."),
  CreateIndex: t.uint("Index at which the policy was created."),
  ModifyIndex: t.uint("Index at which the policy last changed."),
};

const tokenStub = {
  AccessorID: t.string("The token's public ID (a UUID): how it is read, updated and deleted."),
  Name: t.string("Free text."),
  Type: {
    type: "string",
    enum: ["client", "management"],
    description: "`management` may do anything; `client` what its policies allow.",
  } as Schema,
  Policies: t.list({ type: "string" }, "Names of the policies of a `client` token; `null` or `[]` for a management token."),
  Global: t.bool("Always `true`: tokens are valid in every region."),
  CreateTime: t.string("When the token was created (RFC 3339).", { format: "date-time" }),
  CreateIndex: t.uint("Index at which the token was created."),
  ModifyIndex: t.uint("Index at which the token last changed."),
};

export const ACL_SCHEMAS: Record<string, Schema> = {
  ACLPolicyListStub: { type: "object", description: "A policy as `GET /v1/acl/policies` lists it (no rules).", properties: policyStub },
  ACLPolicy: {
    type: "object",
    description: "An ACL policy.",
    properties: { ...policyStub, Rules: t.string(RULES_DESCRIPTION) },
  },
  ACLPolicyRequest: withRequired(["Rules"], {
    type: "object",
    description: "A policy to create or replace. `Name`, if sent, must match the path.",
    properties: {
      Name: t.string("The policy's name; must equal the path's."),
      Description: t.string("Free text."),
      Rules: t.string(RULES_DESCRIPTION, { minLength: 1 }),
    },
    additionalProperties: true,
  }),
  ACLTokenListStub: { type: "object", description: "A token as `GET /v1/acl/tokens` lists it (no secret).", properties: tokenStub },
  ACLToken: {
    type: "object",
    description: "An ACL token.",
    properties: {
      ...tokenStub,
      SecretID: t.string(
        "The secret to send as `X-Nomad-Token` or `Authorization: Bearer`. Returned **once**, when the token is created; empty in every later answer (only its hash is stored).",
      ),
    },
  },
  ACLTokenRequest: {
    type: "object",
    description: "A token to create or update.",
    properties: {
      AccessorID: t.string("On update, if sent, must equal the path's accessor ID."),
      Name: t.string("Free text, at most 256 characters."),
      Type: { type: "string", enum: ["client", "management"], default: "client", description: "Default `client`." },
      Policies: t.list(
        { type: "string" },
        "Policy names: required (non-empty) for `client`, absent or empty for `management`; each must exist.",
      ),
    },
    additionalProperties: true,
  },
};
