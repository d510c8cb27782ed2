/**
 * The OpenAPI 3.1 document of this API, built from the endpoint table (src/endpoints/): every
 * path, operation, ACL note and security requirement comes from the same declarations the router
 * serves. `components.schemas` is `SCHEMAS` itself, the same objects the Worker validates write
 * bodies with, so the document cannot drift from the server. Served at `/openapi.json`;
 * `npm run openapi` writes it to `openapi/openapi.json`.
 */
import { type OpenAPIObject, OpenApiBuilder, type OperationObject, type PathItemObject, type SchemaObject } from "openapi3-ts/oas31";
import { SCHEMAS } from "../domain/schemas.ts";
import type { Endpoint, Operation } from "../pipeline/endpoint.ts";
import { ACL_SCHEMAS } from "./acl-schemas.ts";
import { BATCH_SCHEMAS } from "./batch-schemas.ts";
import { aclNote, METHODS_NOTE, ref, SECURITY } from "./common.ts";
import { API_DESCRIPTION } from "./description.ts";
import { HEADERS } from "./headers.ts";
import { PARAMETERS } from "./parameters.ts";
import { RESPONSE_SCHEMAS } from "./response-schemas.ts";
import { RESPONSES } from "./responses.ts";
import { TAGS } from "./tags.ts";

export const API_TITLE = "Nomad Allocation API";
const API_VERSION = "0.1.0";

/**
 * One operation as the document shows it: its declaration, the security its access implies, its
 * ACL requirement at the end of its description, and the per-caller rate limit's 429 (which the
 * gate applies before routing, to every request).
 */
function operationObject({ doc, access }: Operation): OperationObject {
  const { operationId, summary, description, tags, parameters, requestBody, responses } = structuredClone(doc);
  const operation: OperationObject = { operationId, summary, description: `${description ?? ""}${aclNote(access)}`, tags };
  operation.security = SECURITY[access.token];
  if (parameters) operation.parameters = parameters;
  if (requestBody) operation.requestBody = requestBody;
  operation.responses = { ...responses, "429": ref("responses", "RateLimited") };
  return operation;
}

function pathItem(endpoint: Endpoint): PathItemObject {
  const item: PathItemObject = {};
  if (endpoint.summary) item.summary = endpoint.summary;
  const note = endpoint.otherMethods ? METHODS_NOTE : undefined;
  const description = [endpoint.description, note].filter(Boolean).join(" ");
  if (description) item.description = description;
  for (const operation of endpoint.operations) item[operation.method] = operationObject(operation);
  return item;
}

export function buildOpenApiDocument(endpoints: readonly Endpoint[]): OpenAPIObject {
  const builder = OpenApiBuilder.create()
    .addOpenApiVersion("3.1.0")
    .addInfo({
      title: API_TITLE,
      version: API_VERSION,
      description: API_DESCRIPTION,
    })
    .addServer({ url: "/", description: "This server (same origin)." });
  for (const tag of TAGS) builder.addTag(tag);
  builder
    .addSecurityScheme("NomadToken", {
      type: "apiKey",
      in: "header",
      name: "X-Nomad-Token",
      description:
        "An ACL token's secret in Nomad's `X-Nomad-Token` header. Writes and ACL management need one; reads without one are governed by the `anonymous` policy.",
    })
    .addSecurityScheme("BearerToken", {
      type: "http",
      scheme: "bearer",
      description: "An ACL token's secret as `Authorization: Bearer <secret>`; the same as `X-Nomad-Token`.",
    });

  // The wire schemas the Worker validates with, as they are; then the response-only ones.
  for (const [name, schema] of Object.entries(SCHEMAS)) builder.addSchema(name, schema as SchemaObject);
  for (const [name, schema] of Object.entries({ ...RESPONSE_SCHEMAS, ...BATCH_SCHEMAS, ...ACL_SCHEMAS })) {
    builder.addSchema(name, schema as SchemaObject);
  }
  for (const [name, parameter] of Object.entries(PARAMETERS)) builder.addParameter(name, parameter);
  for (const [name, header] of Object.entries(HEADERS)) builder.addHeader(name, header);
  for (const [name, response] of Object.entries(RESPONSES)) builder.addResponse(name, response);

  for (const endpoint of endpoints) {
    if (endpoint.operations.length > 0) builder.addPath(endpoint.path, pathItem(endpoint));
  }
  return builder.getSpec();
}

/** The document as served and committed: 2-space JSON and a trailing newline. */
export function openApiJson(endpoints: readonly Endpoint[]): string {
  return `${JSON.stringify(buildOpenApiDocument(endpoints), null, 2)}\n`;
}
