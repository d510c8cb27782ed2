/**
 * Each test file's storage starts empty, ACLs included. Like `npm start`'s demo, make reads public
 * with an `anonymous` policy (read-job and read-logs in the default namespace); tests of ACL
 * enforcement itself change or delete it.
 */
import { exports } from "cloudflare:workers";
import { beforeAll } from "vitest";
import { ANONYMOUS_READ_RULES } from "../../src/demo/allocation.ts";
import { TEST_MANAGEMENT_TOKEN } from "./constants.ts";

beforeAll(async () => {
  const response = await exports.default.fetch(
    new Request("http://alloc.test/v1/acl/policy/anonymous", {
      method: "POST",
      headers: { "X-Nomad-Token": TEST_MANAGEMENT_TOKEN },
      body: JSON.stringify({ Name: "anonymous", Description: "public reads", Rules: ANONYMOUS_READ_RULES }),
    }),
  );
  if (response.status !== 200) throw new Error(`anonymous policy: ${response.status} ${await response.text()}`);
});
