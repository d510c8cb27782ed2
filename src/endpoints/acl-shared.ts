/**
 * What the ACL endpoints (acl-policies.ts, acl-tokens.ts) share: their error texts, the body and
 * path readers, the answer of a write, and the document's pieces for management-only operations.
 */
import type { OperationObject, ParameterObject } from "openapi3-ts/oas31";
import { decodePathText } from "../domain/alloc-id.ts";
import { type AclOutcome, unwrap } from "../durable/contract.ts";
import { CodedError } from "../errors.ts";
import { decodeJsonBody, readBody } from "../http/body.ts";
import { reply, replyEmpty } from "../http/reply.ts";
import { isJsonObject, type JsonObject } from "../json/codec.ts";
import { type Examples, example, forbidden, IDEMPOTENCY_EXAMPLES, READ_HEADERS, ref, schemaRef, textError } from "../openapi/common.ts";
import { param } from "../openapi/parameters.ts";
import { TAG } from "../openapi/tags.ts";
import { ACCESS } from "../pipeline/access.ts";
import { invalidateAclCache } from "../pipeline/caller.ts";
import type { Handler, Operation, OperationDoc } from "../pipeline/endpoint.ts";

/** The texts of the ACL endpoints' own checks, as Nomad words them where Nomad has them. */
export const AclErrors = {
  notObject: "invalid request body: expected a JSON object",
  policyNameMismatch: "Policy name does not match request path",
  emptyRules: "Invalid policy rules: Rules must not be empty",
  clientWithoutPolicies: "client token missing policies",
  managementWithPolicies: "management token cannot be associated with policies",
  tokenNameTooLong: "token name too long",
  accessorMismatch: "Token accessor ID does not match request path",
} as const;

export function lastSegment(request: Request): string {
  return decodePathText(new URL(request.url).pathname.split("/").pop() ?? "");
}

export function answer(outcome: AclOutcome): Response {
  const done = unwrap(outcome);
  invalidateAclCache();
  // Policy writes and deletes answer no body at all, as Nomad's do.
  return done.body ? reply(done.body, { write: done.index }) : replyEmpty({ write: done.index });
}

export function found(body: string | null, index: number, notFound: string): Response {
  if (body === null) throw new CodedError(404, notFound);
  return reply(body, { read: index });
}

export async function jsonObject(request: Request, env: Env): Promise<{ body: JsonObject; bytes: Uint8Array }> {
  const bytes = await readBody(request, env);
  const body = decodeJsonBody(bytes, env);
  if (!isJsonObject(body)) throw new CodedError(400, AclErrors.notObject);
  return { body, bytes };
}

export function optionalString(body: JsonObject, field: string): string {
  const value = body[field];
  if (value === undefined || value === null) return "";
  if (typeof value !== "string") throw new CodedError(400, `invalid field ${field}: expected string`);
  return value;
}

// ---------------------------------------------------------------------------------------------
// The document's side

export const forbiddenManagement = forbidden("ACL management (a management token)");

export const writeOk = (description: string, schema?: string) => ({
  description,
  headers: { "X-Nomad-Index": ref("headers", "XNomadWriteIndex") },
  ...(schema ? { content: { "application/json": { schema: schemaRef(schema) } } } : {}),
});

export const badBody = (examples: Examples) =>
  textError("The body, a name or the Idempotency-Key is invalid. Nothing was written.", {
    notObject: example("The body is not a JSON object", AclErrors.notObject),
    ...examples,
    ...IDEMPOTENCY_EXAMPLES,
  });

export function readDoc(
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

export function removeDoc(operationId: string, summary: string, parameter: ParameterObject, notFound: string): OperationDoc {
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
export const managed = (method: Operation["method"], handler: Handler, doc: OperationDoc): Operation => ({
  method,
  access: ACCESS.management,
  handler,
  doc,
});
