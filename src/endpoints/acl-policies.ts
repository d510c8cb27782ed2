/**
 * Nomad's ACL policy endpoints, managed with a management token only. The ACL store
 * (src/durable/acl-store.ts) keeps the policies.
 */
import type { ParameterObject } from "openapi3-ts/oas31";
import { parsePolicyRules } from "../acl/policy.ts";
import { aclStub } from "../durable/stub.ts";
import { CodedError, ErrorText } from "../errors.ts";
import { reply } from "../http/reply.ts";
import { bodyWriteErrors, example, schemaRef, thrownText } from "../openapi/common.ts";
import { param } from "../openapi/parameters.ts";
import { TAG } from "../openapi/tags.ts";
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

const POLICY_NAME_PATTERN = "^[a-zA-Z0-9-]{1,128}$";
const POLICY_NAME = new RegExp(POLICY_NAME_PATTERN);

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

// ---------------------------------------------------------------------------------------------
// The document's side of the declarations

const POLICY_NAME_PARAMETER: ParameterObject = {
  name: "name",
  in: "path",
  required: true,
  description: "The policy's name: 1 to 128 letters, digits and hyphens.",
  schema: { type: "string", pattern: POLICY_NAME_PATTERN, examples: ["anonymous"] },
};

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
      ...bodyWriteErrors(),
    },
  };
}

export const ACL_POLICY_ENDPOINTS: Endpoint[] = [
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
];
