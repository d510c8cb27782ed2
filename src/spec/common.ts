/**
 * Building blocks shared by the OpenAPI document's modules: references, plain-text error
 * responses with Nomad's exact texts as examples, and the security requirement of writes.
 */
import type { ExampleObject, ResponseObject, SecurityRequirementObject } from "openapi3-ts/oas31";
import { ErrorText } from "../errors.ts";

export const ref = (kind: string, name: string) => ({ $ref: `#/components/${kind}/${name}` });

export const schemaRef = (name: string) => ref("schemas", name);

/** Security requirement of every write: either scheme. */
export const WRITE_SECURITY: SecurityRequirementObject[] = [{ NomadToken: [] }, { BearerToken: [] }];

export const LOOKUP = "alloc lookup failed: index error: ";

export const READ_HEADERS = {
  "X-Nomad-Index": ref("headers", "XNomadIndex"),
  "X-Nomad-KnownLeader": ref("headers", "XNomadKnownLeader"),
  "X-Nomad-LastContact": ref("headers", "XNomadLastContact"),
};

export type Examples = Record<string, { summary: string; value: string }>;

/** A plain-text error response with its exact texts as named examples. */
export function textError(description: string, examples: Examples, withHeaders?: ResponseObject["headers"]): ResponseObject {
  const response: ResponseObject = {
    description,
    content: { "text/plain": { schema: { type: "string" }, examples: examples as Record<string, ExampleObject> } },
  };
  if (withHeaders) response.headers = withHeaders;
  return response;
}

export const example = (summary: string, value: string) => ({ summary, value });

export const REGION_EXAMPLE = example("The region is not served by this deployment", ErrorText.noRegionPath);

export const BAD_ID_EXAMPLES: Examples = {
  idLength: example("The id is not 36 characters long", `${LOOKUP}UUID must be 36 characters`),
  idHex: example("The id holds a character that is not hex", `${LOOKUP}Invalid UUID: encoding/hex: invalid byte: U+0067 'g'`),
  idHyphens: example("The id has too many hyphens", `${LOOKUP}UUID should have maximum of 4 "-"; got 5`),
  region: REGION_EXAMPLE,
};

/** Security of operations the anonymous token may be allowed (by the `anonymous` policy): none, or either scheme. */
export const READ_SECURITY: SecurityRequirementObject[] = [{}, { NomadToken: [] }, { BearerToken: [] }];

/** How an operation's ACL requirement reads in its description. */
export function aclNote(capability: string): string {
  return `\n\n**ACL:** ${capability}.`;
}

/** 403: the token is unknown, or its policies do not allow the operation. */
export function forbidden(what: string): ResponseObject {
  return textError(`The token is unknown, or its policies do not grant ${what}.`, {
    denied: example("The token's policies do not allow this", ErrorText.permissionDenied),
    unknownToken: example("No token has this secret", ErrorText.aclTokenNotFound),
  });
}

/** The `Idempotency-Key` request header every write accepts. */
export const IDEMPOTENCY_PARAMETER = ref("parameters", "IdempotencyKey");

export const IDEMPOTENCY_EXAMPLES: Examples = {
  invalidKey: example("A malformed `Idempotency-Key`", "Invalid Idempotency-Key: 1 to 255 printable ASCII characters, no spaces"),
};

/** Security of operations anyone may call (no ACL check). */
export const OPEN: SecurityRequirementObject[] = [{}];
