/**
 * Building blocks of the OpenAPI document's operations: references, plain-text error responses
 * with Nomad's exact texts as examples, and the security requirements. Example texts are taken
 * from the code that answers them: a constant, or the message a parser throws for a sample input.
 */
import type { ExampleObject, ResponseObject, SecurityRequirementObject } from "openapi3-ts/oas31";
import { parseAllocId } from "../domain/alloc-id.ts";
import { CodedError, ErrorText } from "../errors.ts";
import type { Access } from "../pipeline/access.ts";
import { checkIdempotencyKey } from "../pipeline/idempotency.ts";

export const ref = (kind: string, name: string) => ({ $ref: `#/components/${kind}/${name}` });

export const schemaRef = (name: string) => ref("schemas", name);

/**
 * What a write with a body may answer besides its own: too large, a reused `Idempotency-Key`, an
 * internal error. (Status keys are integer-like, so a spread keeps the document's order.)
 */
export const bodyWriteErrors = () => ({
  "413": ref("responses", "TooLarge"),
  "422": ref("responses", "KeyReused"),
  "500": ref("responses", "InternalError"),
});

/** The text `fails` throws: how an example shows exactly what the code answers for a sample input. */
export function thrownText(fails: () => unknown): string {
  try {
    fails();
  } catch (error) {
    if (error instanceof CodedError) return error.message;
    throw error;
  }
  throw new Error("an example input was accepted: the document's example of its error is wrong");
}

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
  idLength: example(
    "The id is not 36 characters long",
    thrownText(() => parseAllocId("203266e5")),
  ),
  idHex: example(
    "The id holds a character that is not hex",
    thrownText(() => parseAllocId("203266e5-e0d6-9486-5e05-397ed2b184ag")),
  ),
  idHyphens: example(
    "The id has too many hyphens",
    thrownText(() => parseAllocId("203266e5-e0d6-9486-5e05-397ed2b1-4af")),
  ),
  region: REGION_EXAMPLE,
};

/** 403: the token is unknown, or its policies do not allow the operation. */
export function forbidden(what: string): ResponseObject {
  return textError(`The token is unknown, or its policies do not grant ${what}.`, {
    denied: example("The token's policies do not allow this", ErrorText.permissionDenied),
    unknownToken: example("No token has this secret", ErrorText.aclTokenNotFound),
  });
}

export const IDEMPOTENCY_EXAMPLES: Examples = {
  invalidKey: example(
    "A malformed `Idempotency-Key`",
    thrownText(() => checkIdempotencyKey("two words")),
  ),
};

/** The note on methods a path does not declare. */
export const METHODS_NOTE = `Any other method answers \`405 ${ErrorText.invalidMethod}\` (text/plain).`;

/** How an operation's ACL requirement reads at the end of its description. */
export function aclNote(access: Access): string {
  return `\n\n**ACL:** ${access.note}.`;
}

/** The security requirement of each kind of access: no token, a token or the anonymous policy, a token. */
export const SECURITY: Record<Access["token"], SecurityRequirementObject[]> = {
  open: [{}],
  optional: [{}, { NomadToken: [] }, { BearerToken: [] }],
  required: [{ NomadToken: [] }, { BearerToken: [] }],
};
