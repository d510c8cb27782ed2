/**
 * Nomad's ACL token endpoints: tokens managed with a management token only, and the caller's own
 * token. The ACL store (src/durable/acl-store.ts) keeps the tokens.
 */
import type { ParameterObject } from "openapi3-ts/oas31";
import { UUID_PATTERN } from "../domain/alloc-id.ts";
import type { TokenRequest } from "../durable/contract.ts";
import { aclStub } from "../durable/stub.ts";
import { CodedError, ErrorText, RefusalText } from "../errors.ts";
import { reply } from "../http/reply.ts";
import type { JsonObject } from "../json/codec.ts";
import { bodyWriteErrors, example, ref, schemaRef, textError, thrownText } from "../openapi/common.ts";
import { param } from "../openapi/parameters.ts";
import { TAG } from "../openapi/tags.ts";
import { ACCESS } from "../pipeline/access.ts";
import type { Endpoint, Handler, OperationDoc } from "../pipeline/endpoint.ts";
import { idempotencyKey } from "../pipeline/idempotency.ts";
import {
  AclErrors,
  answer,
  badBody,
  forbiddenManagement,
  found,
  jsonObject,
  lastSegment,
  managed,
  optionalString,
  readDoc,
  removeDoc,
  writeOk,
} from "./acl-shared.ts";
import { invalidMethod } from "./methods.ts";

const UUID = new RegExp(UUID_PATTERN);

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

const ACCESSOR_ID_PARAMETER: ParameterObject = {
  name: "accessor_id",
  in: "path",
  required: true,
  description: "The token's `AccessorID`.",
  schema: { type: "string", pattern: UUID_PATTERN },
};

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
      ...bodyWriteErrors(),
    },
  };
}

export const ACL_TOKEN_ENDPOINTS: Endpoint[] = [
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
