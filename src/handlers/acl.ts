/**
 * Nomad's ACL endpoints: policies and tokens. Only management tokens manage ACLs.
 */
import { NEEDS } from "../acl/needs.ts";
import { parsePolicyRules } from "../acl/policy.ts";
import { decodePathText } from "../domain/alloc-id.ts";
import { type AclOutcome, POLICY_NOT_FOUND, type TokenRequest } from "../durable/acl-store.ts";
import { unwrap } from "../durable/contract.ts";
import { aclStub } from "../durable/stub.ts";
import { CodedError, ErrorText } from "../errors.ts";
import { decodeJsonBody, readBody } from "../http/body.ts";
import { reply, replyEmpty } from "../http/reply.ts";
import { isJsonObject, type JsonObject } from "../json/codec.ts";
import { authorize, invalidateAclCache, resolveCaller } from "../pipeline/caller.ts";
import { idempotencyKey } from "../pipeline/idempotency.ts";

const POLICY_NAME = /^[a-zA-Z0-9-]{1,128}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

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
  if (!isJsonObject(body)) throw new CodedError(400, "invalid request body: expected a JSON object");
  return { body, bytes };
}

function optionalString(body: JsonObject, field: string): string {
  const value = body[field];
  if (value === undefined || value === null) return "";
  if (typeof value !== "string") throw new CodedError(400, `invalid field ${field}: expected string`);
  return value;
}

function policyName(request: Request): string {
  const name = lastSegment(request);
  if (!POLICY_NAME.test(name))
    throw new CodedError(400, `invalid policy name ${JSON.stringify(name)}: 1 to 128 letters, digits and hyphens`);
  return name;
}

export async function putPolicy(request: Request, env: Env): Promise<Response> {
  await authorize(request, env, NEEDS.management);
  const name = policyName(request);
  const { body, bytes } = await jsonObject(request, env);
  const bodyName = optionalString(body, "Name");
  if (bodyName && bodyName !== name) throw new CodedError(400, "Policy name does not match request path");
  const rules = optionalString(body, "Rules");
  if (!rules) throw new CodedError(400, "Invalid policy rules: Rules must not be empty");
  parsePolicyRules(rules);
  const idem = await idempotencyKey(request, bytes);
  return answer(await aclStub(env).upsertPolicy(name, optionalString(body, "Description"), rules, idem));
}

export async function getPolicy(request: Request, env: Env): Promise<Response> {
  await authorize(request, env, NEEDS.management);
  const { body, index } = await aclStub(env).getPolicy(policyName(request));
  return found(body, index, POLICY_NOT_FOUND);
}

export async function deletePolicy(request: Request, env: Env): Promise<Response> {
  await authorize(request, env, NEEDS.management);
  const idem = await idempotencyKey(request, new Uint8Array());
  return answer(await aclStub(env).deletePolicy(policyName(request), idem));
}

export async function listPolicies(request: Request, env: Env): Promise<Response> {
  await authorize(request, env, NEEDS.management);
  const { index, body } = await aclStub(env).listPolicies();
  return reply(body, { read: index });
}

function tokenRequest(body: JsonObject): TokenRequest {
  const type = optionalString(body, "Type") || "client";
  if (type !== "client" && type !== "management")
    throw new CodedError(400, `Invalid token type ${JSON.stringify(type)}: client or management`);
  const policies = body.Policies ?? [];
  if (!Array.isArray(policies) || policies.some((p) => typeof p !== "string")) {
    throw new CodedError(400, "invalid field Policies: expected a list of policy names");
  }
  const names = policies as string[];
  if (type === "client" && names.length === 0) throw new CodedError(400, "client token missing policies");
  if (type === "management" && names.length > 0) throw new CodedError(400, "management token cannot be associated with policies");
  const name = optionalString(body, "Name");
  if (name.length > 256) throw new CodedError(400, "token name too long");
  return { Name: name, Type: type, Policies: names };
}

/**
 * `POST /v1/acl/token` is Nomad's upsert: without an `AccessorID` it mints a token; with one it
 * updates that token (404 when there is none), as Nomad's `ACL.UpsertTokens` does.
 */
export async function createToken(request: Request, env: Env): Promise<Response> {
  await authorize(request, env, NEEDS.management);
  const { body, bytes } = await jsonObject(request, env);
  const accessor = optionalString(body, "AccessorID");
  if (accessor && !UUID.test(accessor)) throw new CodedError(400, `invalid accessor ID ${JSON.stringify(accessor)}`);
  const token = tokenRequest(body);
  const idem = await idempotencyKey(request, bytes);
  const store = aclStub(env);
  return answer(await (accessor ? store.updateToken(accessor, token, idem) : store.createToken(token, idem)));
}

function accessorId(request: Request): string {
  const id = lastSegment(request);
  if (!UUID.test(id)) throw new CodedError(400, `invalid accessor ID ${JSON.stringify(id)}`);
  return id;
}

export async function updateToken(request: Request, env: Env): Promise<Response> {
  await authorize(request, env, NEEDS.management);
  const accessor = accessorId(request);
  const { body, bytes } = await jsonObject(request, env);
  const bodyAccessor = optionalString(body, "AccessorID");
  if (bodyAccessor && bodyAccessor !== accessor) throw new CodedError(400, "Token accessor ID does not match request path");
  const idem = await idempotencyKey(request, bytes);
  return answer(await aclStub(env).updateToken(accessor, tokenRequest(body), idem));
}

export async function getToken(request: Request, env: Env): Promise<Response> {
  await authorize(request, env, NEEDS.management);
  const { body, index } = await aclStub(env).getToken(accessorId(request));
  return found(body, index, ErrorText.aclTokenNotFound);
}

export async function deleteToken(request: Request, env: Env): Promise<Response> {
  await authorize(request, env, NEEDS.management);
  const idem = await idempotencyKey(request, new Uint8Array());
  return answer(await aclStub(env).deleteToken(accessorId(request), idem));
}

export async function listTokens(request: Request, env: Env): Promise<Response> {
  await authorize(request, env, NEEDS.management);
  const { index, body } = await aclStub(env).listTokens();
  return reply(body, { read: index });
}

/** The caller's own token (SecretID blanked); anonymous callers have none. */
export async function getTokenSelf(request: Request, env: Env): Promise<Response> {
  const caller = await resolveCaller(request, env);
  if (caller.token === null) throw new CodedError(403, ErrorText.aclTokenNotFound);
  return reply(caller.token);
}
