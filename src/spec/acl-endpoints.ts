/**
 * The OpenAPI paths and schemas of Nomad's ACL API as this server implements it
 * (`src/handlers/acl.ts`): policies and tokens, managed with a management token only.
 */

import type { OperationObject, PathItemObject, TagObject } from "openapi3-ts/oas31";
import { type Schema, t, withRequired } from "../domain/schema-dsl.ts";
import { ErrorText } from "../errors.ts";
import {
  example,
  forbidden,
  IDEMPOTENCY_EXAMPLES,
  IDEMPOTENCY_PARAMETER,
  OPEN,
  READ_HEADERS,
  ref,
  schemaRef,
  textError,
  WRITE_SECURITY,
} from "./common.ts";

export const TAG_ACL = "ACL";
export const ACL_TAGS: TagObject[] = [
  {
    name: TAG_ACL,
    description:
      "Nomad's ACL policies and tokens. Every endpoint here needs a management token (the `MANAGEMENT_TOKEN` secret, or a token of type `management`), except reading one's own token.",
  },
];

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

const forbiddenManagement = forbidden("ACL management (a management token)");

const policyName = {
  name: "name",
  in: "path" as const,
  required: true,
  description: "The policy's name: 1 to 128 letters, digits and hyphens.",
  schema: { type: "string" as const, pattern: "^[a-zA-Z0-9-]{1,128}$", examples: ["anonymous"] },
};

const accessorId = {
  name: "accessor_id",
  in: "path" as const,
  required: true,
  description: "The token's `AccessorID`.",
  schema: { type: "string" as const, pattern: "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$" },
};

const writeOk = (description: string, schema?: string) => ({
  description,
  headers: { "X-Nomad-Index": ref("headers", "XNomadWriteIndex") },
  ...(schema ? { content: { "application/json": { schema: schemaRef(schema) } } } : {}),
});

const badBody = (examples: Record<string, { summary: string; value: string }>) =>
  textError("The body, a name or the Idempotency-Key is invalid. Nothing was written.", {
    notObject: example("The body is not a JSON object", "invalid request body: expected a JSON object"),
    ...examples,
    ...IDEMPOTENCY_EXAMPLES,
  });

function upsertPolicy(operationId: string, method: string): OperationObject {
  return {
    operationId,
    summary: method === "POST" ? "Create or replace a policy" : "Create or replace a policy (PUT)",
    description: `Creates the policy, or replaces its description and rules. Nomad's method is \`POST\`; \`PUT\` does the same. Tokens that name the policy get the new rules within 2 s (each Worker isolate caches resolved tokens that long).`,
    tags: [TAG_ACL],
    security: WRITE_SECURITY,
    parameters: [policyName, IDEMPOTENCY_PARAMETER],
    requestBody: { required: true, content: { "application/json": { schema: schemaRef("ACLPolicyRequest") } } },
    responses: {
      "200": writeOk("Stored. The body is empty."),
      "400": badBody({
        name: example("The path's name is not valid", 'invalid policy name "a b": 1 to 128 letters, digits and hyphens'),
        mismatch: example("`Name` differs from the path", "Policy name does not match request path"),
        emptyRules: example("No rules", "Invalid policy rules: Rules must not be empty"),
      }),
      "403": forbiddenManagement,
      "413": ref("responses", "TooLarge"),
      "422": ref("responses", "KeyReused"),
      "500": ref("responses", "InternalError"),
    },
  };
}

function upsertToken(operationId: string, method: string, update: boolean): OperationObject {
  const what = update ? "Update a token" : "Create a token";
  return {
    operationId,
    summary: method === "POST" ? what : `${what} (PUT)`,
    description: update
      ? "Changes a token's name, type and policies; its secret stays. Nomad's method is `POST`; `PUT` does the same."
      : "Creates a token and answers it with its `SecretID`, the only time the secret is shown. Nomad's method is `POST`; `PUT` does the same. A retry with the same `Idempotency-Key` answers the token with the secret blanked.",
    tags: [TAG_ACL],
    security: WRITE_SECURITY,
    parameters: update ? [accessorId, IDEMPOTENCY_PARAMETER] : [IDEMPOTENCY_PARAMETER],
    requestBody: { required: true, content: { "application/json": { schema: schemaRef("ACLTokenRequest") } } },
    responses: {
      "200": writeOk(update ? "The updated token (secret blanked)." : "The new token, with its secret.", "ACLToken"),
      "400": badBody({
        type: example("An unknown type", 'Invalid token type "root": client or management'),
        noPolicies: example("A client token without policies", "client token missing policies"),
        managementPolicies: example("A management token with policies", "management token cannot be associated with policies"),
        unknownPolicy: example("A policy that does not exist", 'policy "ops" does not exist'),
        ...(update ? { mismatch: example("`AccessorID` differs from the path", "Token accessor ID does not match request path") } : {}),
      }),
      "403": forbiddenManagement,
      ...(update ? { "404": textError("No such token.", { notFound: example("No such token", ErrorText.aclTokenNotFound) }) } : {}),
      "413": ref("responses", "TooLarge"),
      "422": ref("responses", "KeyReused"),
      "500": ref("responses", "InternalError"),
    },
  };
}

const read = (operationId: string, summary: string, description: string, schema: object, notFound?: string): OperationObject => ({
  operationId,
  summary,
  description,
  tags: [TAG_ACL],
  security: WRITE_SECURITY,
  responses: {
    "200": { description: summary, headers: READ_HEADERS, content: { "application/json": { schema } } },
    "403": forbiddenManagement,
    ...(notFound ? { "404": textError("Not found.", { notFound: example("Not found", notFound) }) } : {}),
    "500": ref("responses", "InternalError"),
  },
});

const remove = (operationId: string, summary: string, notFound: string): OperationObject => ({
  operationId,
  summary,
  description: `${summary}. Tokens resolved before keep working for up to 2 s in other isolates.`,
  tags: [TAG_ACL],
  security: WRITE_SECURITY,
  responses: {
    "200": writeOk("Deleted. The body is empty."),
    "400": textError("A malformed name, ID or Idempotency-Key.", IDEMPOTENCY_EXAMPLES),
    "403": forbiddenManagement,
    "404": textError("Not found.", { notFound: example("Not found", notFound) }),
    "422": ref("responses", "KeyReused"),
    "500": ref("responses", "InternalError"),
  },
});

const getPolicy = read("readPolicy", "Read a policy", "A policy with its rules.", schemaRef("ACLPolicy"), "ACL policy not found");
getPolicy.parameters = [policyName];
const deletePolicy = remove("deletePolicy", "Delete a policy", "ACL policy not found");
deletePolicy.parameters = [policyName, IDEMPOTENCY_PARAMETER];
const getToken = read("readToken", "Read a token", "A token, its secret blanked.", schemaRef("ACLToken"), ErrorText.aclTokenNotFound);
getToken.parameters = [accessorId];
const deleteToken = remove("deleteToken", "Delete a token", ErrorText.aclTokenNotFound);
deleteToken.parameters = [accessorId, IDEMPOTENCY_PARAMETER];

const tokenSelf: OperationObject = {
  operationId: "readTokenSelf",
  summary: "Read the caller's own token",
  description: "The token the request was made with, its secret blanked. Any valid token may ask; without a token it is `403`.",
  tags: [TAG_ACL],
  security: OPEN,
  responses: {
    "200": { description: "The caller's token.", content: { "application/json": { schema: schemaRef("ACLToken") } } },
    "403": textError("No token, or an unknown one.", { unknownToken: example("No or unknown token", ErrorText.aclTokenNotFound) }),
    "500": ref("responses", "InternalError"),
  },
};

const METHODS_NOTE = "Any other method answers `405 Invalid method` (text/plain).";

export const ACL_PATHS: Record<string, PathItemObject> = {
  "/v1/acl/policies": {
    description: METHODS_NOTE,
    get: read("listPolicies", "List policies", "Every policy, without rules.", { type: "array", items: schemaRef("ACLPolicyListStub") }),
  },
  "/v1/acl/policy/{name}": {
    description: METHODS_NOTE,
    get: getPolicy,
    post: upsertPolicy("upsertPolicy", "POST"),
    put: upsertPolicy("upsertPolicyPut", "PUT"),
    delete: deletePolicy,
  },
  "/v1/acl/tokens": {
    description: METHODS_NOTE,
    get: read("listTokens", "List tokens", "Every token, without secrets.", { type: "array", items: schemaRef("ACLTokenListStub") }),
  },
  "/v1/acl/token": {
    description: METHODS_NOTE,
    post: upsertToken("createToken", "POST", false),
    put: upsertToken("createTokenPut", "PUT", false),
  },
  "/v1/acl/token/self": {
    description: METHODS_NOTE,
    get: tokenSelf,
  },
  "/v1/acl/token/{accessor_id}": {
    description: METHODS_NOTE,
    get: getToken,
    post: upsertToken("updateToken", "POST", true),
    put: upsertToken("updateTokenPut", "PUT", true),
    delete: deleteToken,
  },
};
