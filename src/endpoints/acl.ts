/**
 * Nomad's ACL endpoints: policies and tokens, managed with a management token only, and the
 * caller's own token. The ACL store (src/durable/acl-store.ts) keeps them.
 */
import type { OperationObject, ParameterObject } from "openapi3-ts/oas31";
import { parsePolicyRules } from "../acl/policy.ts";
import { decodePathText, UUID_PATTERN } from "../domain/alloc-id.ts";
import type { AclOutcome, TokenRequest } from "../durable/contract.ts";
import { unwrap } from "../durable/contract.ts";
import { aclStub } from "../durable/stub.ts";
import { CodedError, ErrorText, RefusalText } from "../errors.ts";
import { decodeJsonBody, readBody } from "../http/body.ts";
import { reply, replyEmpty } from "../http/reply.ts";
import { isJsonObject, type JsonObject } from "../json/codec.ts";
import {
  type Examples,
  example,
  forbidden,
  IDEMPOTENCY_EXAMPLES,
  READ_HEADERS,
  ref,
  schemaRef,
  textError,
  thrownText,
} from "../openapi/common.ts";
import { param } from "../openapi/parameters.ts";
import { TAG } from "../openapi/tags.ts";
import { ACCESS } from "../pipeline/access.ts";
import { invalidateAclCache } from "../pipeline/caller.ts";
import type { Endpoint, Handler, Operation, OperationDoc } from "../pipeline/endpoint.ts";
import { idempotencyKey } from "../pipeline/idempotency.ts";
import { invalidMethod } from "./methods.ts";

const POLICY_NAME_PATTERN = "^[a-zA-Z0-9-]{1,128}$";
const POLICY_NAME = new RegExp(POLICY_NAME_PATTERN);
const UUID = new RegExp(UUID_PATTERN);

/** The texts of the ACL endpoints' own checks, as Nomad words them where Nomad has them. */
const AclErrors = {
  notObject: "invalid request body: expected a JSON object",
  policyNameMismatch: "Policy name does not match request path",
  emptyRules: "Invalid policy rules: Rules must not be empty",
  clientWithoutPolicies: "client token missing policies",
  managementWithPolicies: "management token cannot be associated with policies",
  tokenNameTooLong: "token name too long",
  accessorMismatch: "Token accessor ID does not match request path",
} as const;

function lastSegment(request: Request): string {
  return decodePathText(new URL(request.url).pathname.split("/").pop() ?? "");
}

function answer(outcome: AclOutcome): Response {
  const done = unwrap(outcome);
  invalidateAclCache();
  // Policy writes and deletes answer no body at all, as Nomad's do.
  return done.body ? reply(done.body, { write: done.index }) : replyEmpty({ write: done.index });
}

function found(body: string | null, index: number, notFound: string): Response {
  if (body === null) throw new CodedError(404, notFound);
  return reply(body, { read: index });
}

async function jsonObject(request: Request, env: Env): Promise<{ body: JsonObject; bytes: Uint8Array }> {
  const bytes = await readBody(request, env);
  const body = decodeJsonBody(bytes, env);
  if (!isJsonObject(body)) throw new CodedError(400, AclErrors.notObject);
  return { body, bytes };
}

function optionalString(body: JsonObject, field: string): string {
  const value = body[field];
  if (value === undefined || value === null) return "";
  if (typeof value !== "string") throw new CodedError(400, `invalid field ${field}: expected string`);
  return value;
}

function checkPolicyName(name: string): string {
  if (!POLICY_NAME.test(name))
    throw new CodedError(400, `invalid policy name ${JSON.stringify(name)}: 1 to 128 letters, digits and hyphens`);
  return name;
}

const policyName = (request: Request) => checkPolicyName(lastSegment(request));

const putPolicy: Handler = async (request, { env }) => {
  const name = policyName(request);
  const { body, bytes } = await jsonObject(request, env);
  const bodyName = optionalString(body, "Name");
  if (bodyName && bodyName !== name) throw new CodedError(400, AclErrors.policyNameMismatch);
  const rules = optionalString(body, "Rules");
  if (!rules) throw new CodedError(400, AclErrors.emptyRules);
  parsePolicyRules(rules);
  const idem = await idempotencyKey(request, bytes);
  return answer(await aclStub(env).upsertPolicy(name, optionalString(body, "Description"), rules, idem));
};

const getPolicy: Handler = async (request, { env }) => {
  const { body, index } = await aclStub(env).getPolicy(policyName(request));
  return found(body, index, ErrorText.aclPolicyNotFound);
};

const deletePolicy: Handler = async (request, { env }) => {
  const idem = await idempotencyKey(request, new Uint8Array());
  return answer(await aclStub(env).deletePolicy(policyName(request), idem));
};

const listPolicies: Handler = async (_request, { env }) => {
  const { index, body } = await aclStub(env).listPolicies();
  return reply(body, { read: index });
};

function tokenRequest(body: JsonObject): TokenRequest {
  const type = optionalString(body, "Type") || "client";
  if (type !== "client" && type !== "management")
    throw new CodedError(400, `Invalid token type ${JSON.stringify(type)}: client or management`);
  const policies = body.Policies ?? [];
  if (!Array.isArray(policies) || policies.some((p) => typeof p !== "string")) {
    throw new CodedError(400, "invalid field Policies: expected a list of policy names");
  }
  const names = policies as string[];
  if (type === "client" && names.length === 0) throw new CodedError(400, AclErrors.clientWithoutPolicies);
  if (type === "management" && names.length > 0) throw new CodedError(400, AclErrors.managementWithPolicies);
  const name = optionalString(body, "Name");
  if (name.length > 256) throw new CodedError(400, AclErrors.tokenNameTooLong);
  return { Name: name, Type: type, Policies: names };
}

function checkAccessorId(id: string): string {
  if (!UUID.test(id)) throw new CodedError(400, `invalid accessor ID ${JSON.stringify(id)}`);
  return id;
}

const accessorId = (request: Request) => checkAccessorId(lastSegment(request));

/**
 * `POST /v1/acl/token` is Nomad's upsert: without an `AccessorID` it mints a token; with one it
 * updates that token (404 when there is none), as Nomad's `ACL.UpsertTokens` does.
 */
const createToken: Handler = async (request, { env }) => {
  const { body, bytes } = await jsonObject(request, env);
  const accessor = optionalString(body, "AccessorID");
  if (accessor) checkAccessorId(accessor);
  const token = tokenRequest(body);
  const idem = await idempotencyKey(request, bytes);
  const store = aclStub(env);
  return answer(await (accessor ? store.updateToken(accessor, token, idem) : store.createToken(token, idem)));
};

const updateToken: Handler = async (request, { env }) => {
  const accessor = accessorId(request);
  const { body, bytes } = await jsonObject(request, env);
  const bodyAccessor = optionalString(body, "AccessorID");
  if (bodyAccessor && bodyAccessor !== accessor) throw new CodedError(400, AclErrors.accessorMismatch);
  const idem = await idempotencyKey(request, bytes);
  return answer(await aclStub(env).updateToken(accessor, tokenRequest(body), idem));
};

const getToken: Handler = async (request, { env }) => {
  const { body, index } = await aclStub(env).getToken(accessorId(request));
  return found(body, index, ErrorText.aclTokenNotFound);
};

const deleteToken: Handler = async (request, { env }) => {
  const idem = await idempotencyKey(request, new Uint8Array());
  return answer(await aclStub(env).deleteToken(accessorId(request), idem));
};

const listTokens: Handler = async (_request, { env }) => {
  const { index, body } = await aclStub(env).listTokens();
  return reply(body, { read: index });
};

/** The caller's own token (SecretID blanked); anonymous callers have none. */
const getTokenSelf: Handler = async (_request, { caller }) => {
  const who = await caller();
  if (who.token === null) throw new CodedError(403, ErrorText.aclTokenNotFound);
  return reply(who.token);
};

// ---------------------------------------------------------------------------------------------
// The document's side of the declarations

const forbiddenManagement = forbidden("ACL management (a management token)");

const POLICY_NAME_PARAMETER: ParameterObject = {
  name: "name",
  in: "path",
  required: true,
  description: "The policy's name: 1 to 128 letters, digits and hyphens.",
  schema: { type: "string", pattern: POLICY_NAME_PATTERN, examples: ["anonymous"] },
};

const ACCESSOR_ID_PARAMETER: ParameterObject = {
  name: "accessor_id",
  in: "path",
  required: true,
  description: "The token's `AccessorID`.",
  schema: { type: "string", pattern: UUID_PATTERN },
};

const writeOk = (description: string, schema?: string) => ({
  description,
  headers: { "X-Nomad-Index": ref("headers", "XNomadWriteIndex") },
  ...(schema ? { content: { "application/json": { schema: schemaRef(schema) } } } : {}),
});

const badBody = (examples: Examples) =>
  textError("The body, a name or the Idempotency-Key is invalid. Nothing was written.", {
    notObject: example("The body is not a JSON object", AclErrors.notObject),
    ...examples,
    ...IDEMPOTENCY_EXAMPLES,
  });

function upsertPolicyDoc(operationId: string, method: string): OperationDoc {
  return {
    operationId,
    summary: method === "POST" ? "Create or replace a policy" : "Create or replace a policy (PUT)",
    description: `Creates the policy, or replaces its description and rules. Nomad's method is \`POST\`; \`PUT\` does the same. Tokens that name the policy get the new rules within 2 s (each Worker isolate caches resolved tokens that long).`,
    tags: [TAG.acl],
    parameters: [POLICY_NAME_PARAMETER, param("IdempotencyKey")],
    requestBody: { required: true, content: { "application/json": { schema: schemaRef("ACLPolicyRequest") } } },
    responses: {
      "200": writeOk("Stored. The body is empty."),
      "400": badBody({
        name: example(
          "The path's name is not valid",
          thrownText(() => checkPolicyName("a b")),
        ),
        mismatch: example("`Name` differs from the path", AclErrors.policyNameMismatch),
        emptyRules: example("No rules", AclErrors.emptyRules),
      }),
      "403": forbiddenManagement,
      "413": ref("responses", "TooLarge"),
      "422": ref("responses", "KeyReused"),
      "500": ref("responses", "InternalError"),
    },
  };
}

function upsertTokenDoc(operationId: string, method: string, update: boolean): OperationDoc {
  const what = update ? "Update a token" : "Create a token";
  return {
    operationId,
    summary: method === "POST" ? what : `${what} (PUT)`,
    description: update
      ? "Changes a token's name, type and policies; its secret stays. Nomad's method is `POST`; `PUT` does the same."
      : "Creates a token and answers it with its `SecretID`, the only time the secret is shown. Nomad's method is `POST`; `PUT` does the same. A retry with the same `Idempotency-Key` answers the token with the secret blanked.",
    tags: [TAG.acl],
    parameters: update ? [ACCESSOR_ID_PARAMETER, param("IdempotencyKey")] : [param("IdempotencyKey")],
    requestBody: { required: true, content: { "application/json": { schema: schemaRef("ACLTokenRequest") } } },
    responses: {
      "200": writeOk(update ? "The updated token (secret blanked)." : "The new token, with its secret.", "ACLToken"),
      "400": badBody({
        type: example(
          "An unknown type",
          thrownText(() => tokenRequest({ Type: "root" })),
        ),
        noPolicies: example("A client token without policies", AclErrors.clientWithoutPolicies),
        managementPolicies: example("A management token with policies", AclErrors.managementWithPolicies),
        // Checked by the ACL store, which knows the policies.
        unknownPolicy: example("A policy that does not exist", RefusalText.unknownPolicy("ops")),
        ...(update ? { mismatch: example("`AccessorID` differs from the path", AclErrors.accessorMismatch) } : {}),
      }),
      "403": forbiddenManagement,
      ...(update ? { "404": textError("No such token.", { notFound: example("No such token", ErrorText.aclTokenNotFound) }) } : {}),
      "413": ref("responses", "TooLarge"),
      "422": ref("responses", "KeyReused"),
      "500": ref("responses", "InternalError"),
    },
  };
}

function readDoc(
  operationId: string,
  summary: string,
  description: string,
  schema: object,
  parameters?: OperationDoc["parameters"],
  notFound?: string,
): OperationDoc {
  return {
    operationId,
    summary,
    description,
    tags: [TAG.acl],
    ...(parameters ? { parameters } : {}),
    responses: {
      "200": { description: summary, headers: READ_HEADERS, content: { "application/json": { schema } } },
      "403": forbiddenManagement,
      ...(notFound ? { "404": textError("Not found.", { notFound: example("Not found", notFound) }) } : {}),
      "500": ref("responses", "InternalError"),
    } satisfies OperationObject["responses"],
  };
}

function removeDoc(operationId: string, summary: string, parameter: ParameterObject, notFound: string): OperationDoc {
  return {
    operationId,
    summary,
    description: `${summary}. Tokens resolved before keep working for up to 2 s in other isolates.`,
    tags: [TAG.acl],
    parameters: [parameter, param("IdempotencyKey")],
    responses: {
      "200": writeOk("Deleted. The body is empty."),
      "400": textError("A malformed name, ID or Idempotency-Key.", IDEMPOTENCY_EXAMPLES),
      "403": forbiddenManagement,
      "404": textError("Not found.", { notFound: example("Not found", notFound) }),
      "422": ref("responses", "KeyReused"),
      "500": ref("responses", "InternalError"),
    },
  };
}

/** An operation only a management token may call. */
const managed = (method: Operation["method"], handler: Handler, doc: OperationDoc): Operation => ({
  method,
  access: ACCESS.management,
  handler,
  doc,
});

export const ACL_ENDPOINTS: Endpoint[] = [
  {
    path: "/v1/acl/policies",
    otherMethods: invalidMethod,
    operations: [
      managed(
        "get",
        listPolicies,
        readDoc("listPolicies", "List policies", "Every policy, without rules.", { type: "array", items: schemaRef("ACLPolicyListStub") }),
      ),
    ],
  },
  {
    path: "/v1/acl/policy/{name}",
    otherMethods: invalidMethod,
    operations: [
      managed(
        "get",
        getPolicy,
        readDoc(
          "readPolicy",
          "Read a policy",
          "A policy with its rules.",
          schemaRef("ACLPolicy"),
          [POLICY_NAME_PARAMETER],
          ErrorText.aclPolicyNotFound,
        ),
      ),
      managed("post", putPolicy, upsertPolicyDoc("upsertPolicy", "POST")),
      managed("put", putPolicy, upsertPolicyDoc("upsertPolicyPut", "PUT")),
      managed("delete", deletePolicy, removeDoc("deletePolicy", "Delete a policy", POLICY_NAME_PARAMETER, ErrorText.aclPolicyNotFound)),
    ],
  },
  {
    path: "/v1/acl/tokens",
    otherMethods: invalidMethod,
    operations: [
      managed(
        "get",
        listTokens,
        readDoc("listTokens", "List tokens", "Every token, without secrets.", { type: "array", items: schemaRef("ACLTokenListStub") }),
      ),
    ],
  },
  {
    path: "/v1/acl/token",
    otherMethods: invalidMethod,
    operations: [
      managed("post", createToken, upsertTokenDoc("createToken", "POST", false)),
      managed("put", createToken, upsertTokenDoc("createTokenPut", "PUT", false)),
    ],
  },
  // Before `/v1/acl/token/{accessor_id}`, which would otherwise take `self` as an accessor ID.
  {
    path: "/v1/acl/token/self",
    otherMethods: invalidMethod,
    operations: [
      {
        method: "get",
        access: ACCESS.anyToken,
        handler: getTokenSelf,
        doc: {
          operationId: "readTokenSelf",
          summary: "Read the caller's own token",
          description: "The token the request was made with, its secret blanked. Any valid token may ask; without a token it is `403`.",
          tags: [TAG.acl],
          responses: {
            "200": { description: "The caller's token.", content: { "application/json": { schema: schemaRef("ACLToken") } } },
            "403": textError("No token, or an unknown one.", { unknownToken: example("No or unknown token", ErrorText.aclTokenNotFound) }),
            "500": ref("responses", "InternalError"),
          },
        },
      },
    ],
  },
  {
    path: "/v1/acl/token/{accessor_id}",
    otherMethods: invalidMethod,
    operations: [
      managed(
        "get",
        getToken,
        readDoc(
          "readToken",
          "Read a token",
          "A token, its secret blanked.",
          schemaRef("ACLToken"),
          [ACCESSOR_ID_PARAMETER],
          ErrorText.aclTokenNotFound,
        ),
      ),
      managed("post", updateToken, upsertTokenDoc("updateToken", "POST", true)),
      managed("put", updateToken, upsertTokenDoc("updateTokenPut", "PUT", true)),
      managed("delete", deleteToken, removeDoc("deleteToken", "Delete a token", ACCESSOR_ID_PARAMETER, ErrorText.aclTokenNotFound)),
    ],
  },
];
