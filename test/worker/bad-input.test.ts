/**
 * The bad-input corpus: every case asserts its status, its exact text, that nothing changed, and
 * that no client mistake is ever a 5xx.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { TASK_EVENT_TYPES } from "../../src/domain/schemas.ts";
import { allocationJson, call, createAllocation, TOKEN, write } from "../support/worker.ts";

let F = ""; // the fixture allocation
const FIXED = "203266e5-e0d6-9486-5e05-397ed2b184af";
const MGMT = { "X-Nomad-Token": TOKEN };

/**
 * The snapshots' own management tokens: the rate limit counts per token, and the snapshots (twelve
 * reads a case) must neither spend the cases' budget nor exceed one token's own.
 */
const SNAPSHOT_TOKENS: string[] = [];
let snapshots = 0;

beforeAll(async () => {
  for (let i = 0; i < 4; i++) {
    const minted = await write("POST", "/v1/acl/token", `{"Name":"bad-input snapshots ${i}","Type":"management"}`);
    SNAPSHOT_TOKENS.push(((await minted.json()) as { SecretID: string }).SecretID);
  }
  F = (await createAllocation()).id;
  await write("POST", `/v1/allocation/${F}/task-events`, '{"Events":[{"Task":"redis","Event":{"Type":"Started"}}]}');
  await write("POST", `/v1/client/fs/logs/${F}?task=redis&type=stdout`, "fixture log\n");
  await write("PUT", `/v1/allocation/${FIXED}`, allocationJson(FIXED));
});

async function snapshot(): Promise<string> {
  const token = SNAPSHOT_TOKENS[snapshots++ % SNAPSHOT_TOKENS.length] as string;
  const texts = await Promise.all(
    [
      `/v1/allocation/${F}`,
      `/v1/allocation/${FIXED}`,
      "/v1/allocations",
      "/v1/acl/policies",
      "/v1/acl/tokens",
      `/v1/client/fs/logs/${F}?task=redis&type=stdout&plain=true`,
    ].map(async (path) => {
      const r = await call(path, { headers: { "X-Nomad-Token": token } });
      return `${r.status} ${r.headers.get("X-Nomad-Index")} ${await r.text()}`;
    }),
  );
  return texts.join("\n");
}

type Case = [name: string, method: string, path: () => string, init: RequestInit, status: number, text: string | (() => string)];

const get = (name: string, path: () => string, status: number, text: string, headers: Record<string, string> = {}): Case => [
  name,
  "GET",
  path,
  { headers },
  status,
  text,
];
const put = (name: string, body: string, status: number, text: Case[5], headers: Record<string, string> = MGMT): Case => [
  name,
  "PUT",
  () => `/v1/allocation/${F}`,
  { body, headers },
  status,
  text,
];
const events = (name: string, body: string, status: number, text: Case[5]): Case => [
  name,
  "POST",
  () => `/v1/allocation/${F}/task-events`,
  { body, headers: MGMT },
  status,
  text,
];
const policy = (name: string, rules: string, text: string): Case => [
  name,
  "POST",
  () => "/v1/acl/policy/p1",
  { body: JSON.stringify({ Rules: rules }), headers: MGMT },
  400,
  text,
];
const logs = (name: string, query: string, status: number, text: string): Case =>
  get(name, () => `/v1/client/fs/logs/${F}?${query}`, status, text);

const INVALID_INDEX = "Invalid index";
const INVALID_WAIT = "Invalid wait time";
const UUID_LEN = "alloc lookup failed: index error: UUID must be 36 characters";
const NO_REGION = "No path to region";
const DENIED = "Permission denied";
const NO_TOKEN = "ACL token not found";
const alloc = () => `/v1/allocation/${F}`;

const CASES: Case[] = [
  // index
  ...["abc", "-1", "1.5", "1e3", "0x10", "%205", "+5", "18446744073709551616", "1%2C2", "NaN"].map((v) =>
    get(`index=${v}`, () => `${alloc()}?index=${v}`, 400, INVALID_INDEX),
  ),
  // wait
  ...["10", "abc", "1e9h", "5%20s", "s", ".s", "1.2.3s", "3000000000h", "1sx", "10S", "1d", "--1s"].map((v) =>
    get(`wait=${v}`, () => `${alloc()}?index=1&wait=${v}`, 400, INVALID_WAIT),
  ),
  get("stale=maybe", () => `${alloc()}?stale=maybe`, 400, "Expect `true` or `false` for `stale` query string parameter"),
  // ids and path tricks
  get("short id", () => "/v1/allocation/abcd1234", 400, UUID_LEN),
  get("empty id", () => "/v1/allocation/", 400, UUID_LEN),
  get("trailing slash", () => `${alloc()}/`, 400, UUID_LEN),
  get("extra segment", () => `${alloc()}/extra`, 400, UUID_LEN),
  get("double slash", () => `/v1/allocation//${F}`, 400, UUID_LEN),
  get(
    "non-hex",
    () => "/v1/allocation/g03266e5-e0d6-9486-5e05-397ed2b184af",
    400,
    "alloc lookup failed: index error: Invalid UUID: encoding/hex: invalid byte: U+0067 'g'",
  ),
  get(
    "NUL byte",
    () => "/v1/allocation/203266e5-e0d6-9486-5e05-397ed2b184a%00",
    400,
    "alloc lookup failed: index error: Invalid UUID: encoding/hex: invalid byte: U+0000",
  ),
  get(
    "too many hyphens",
    () => "/v1/allocation/203266e5-e0d6-9486-5e05-397ed2b1-4-f",
    400,
    'alloc lookup failed: index error: UUID should have maximum of 4 "-"; got 6',
  ),
  get(
    "odd hex",
    () => "/v1/allocation/203266e5-e0d6-9486-5e05397ed2b184af0",
    400,
    "alloc lookup failed: index error: Input (without hyphens) must be even length",
  ),
  get(
    "bad escape",
    () => "/v1/allocation/%zz3266e5-e0d6-9486-5e05-397ed2b184af",
    400,
    "alloc lookup failed: index error: Invalid UUID: invalid URL escape",
  ),
  get(
    "encoded slash",
    () => "/v1/allocation/203266e5-e0d6-9486-5e05-397ed2b1%2F4af",
    400,
    "alloc lookup failed: index error: Invalid UUID: encoding/hex: invalid byte: U+002F '/'",
  ),
  get("dot-dot traversal", () => "/v1/allocation/../../etc/passwd", 404, "404 page not found"),
  get("encoded traversal", () => "/v1/allocation/%2e%2e/%2e%2e/etc/passwd", 404, "404 page not found"),
  get("long id", () => `/v1/allocation/${"a".repeat(9000)}`, 414, "Request URL too long"),
  get("unknown path", () => "/v1/allocationz", 404, "404 page not found"),
  get("upper-case path", () => `/V1/ALLOCATION/${F}`, 404, "404 page not found"),
  get("unknown valid UUID", () => "/v1/allocation/00000000-0000-0000-0000-000000000000", 404, "alloc not found"),
  // regions
  ...["mars", "Europe", "global%20", "%00", "x".repeat(1024), "%C3%BCnicode", "*", "global,europe"].map((r) =>
    get(`region=${r.slice(0, 20)}`, () => `${alloc()}?region=${r}`, 400, NO_REGION),
  ),
  [`PUT region=mars`, "PUT", () => `${alloc()}?region=mars`, { body: "{}", headers: MGMT }, 400, NO_REGION],
  // tokens
  put("PUT without token", allocationJson(FIXED), 403, DENIED, {}),
  put("PUT with unknown token", "{}", 403, NO_TOKEN, { "X-Nomad-Token": "not-a-token" }),
  put("PUT with blank token", "{}", 403, DENIED, { "X-Nomad-Token": "   " }),
  put("PUT with empty Bearer", "{}", 403, DENIED, { Authorization: "Bearer " }),
  put("PUT with Basic auth", "{}", 403, DENIED, { Authorization: `Basic ${btoa(`x:${TOKEN}`)}` }),
  [`token in query`, "PUT", () => `${alloc()}?X-Nomad-Token=${TOKEN}`, { body: "{}" }, 403, DENIED],
  put("100 KB token header", "{}", 431, "Request header fields too large", { "X-Nomad-Token": "t".repeat(100_000) }),
  get("ACL list without token", () => "/v1/acl/tokens", 403, DENIED),
  get("ACL list with unknown token", () => "/v1/acl/tokens", 403, NO_TOKEN, { "X-Nomad-Token": crypto.randomUUID() }),
  // allocation bodies
  put("empty body", "", 400, "failed to decode body: unexpected end of input at offset 0"),
  put("truncated", '{"Name":', 400, "failed to decode body: unexpected end of input at offset 8"),
  put("trailing comma", '{"Name":"x",}', 400, "failed to decode body: expected string key at offset 12"),
  put("single quotes", "{'Name':'x'}", 400, "failed to decode body: expected string key at offset 1"),
  put("NaN", '{"CreateTime":NaN}', 400, "failed to decode body: unexpected character at offset 14"),
  put("Infinity", '{"CreateTime":Infinity}', 400, "failed to decode body: unexpected character at offset 14"),
  put("leading zero", '{"CreateTime":01}', 400, "failed to decode body: expected , or } at offset 15"),
  put("comment", '{"Name":"x"} // c', 400, "failed to decode body: unexpected data after JSON value at offset 13"),
  put("two values", "{}{}", 400, "failed to decode body: unexpected data after JSON value at offset 2"),
  ["invalid UTF-8", "PUT", alloc, { body: new Uint8Array([0x7b, 0xff, 0x7d]), headers: MGMT }, 400, "failed to decode body: invalid UTF-8"],
  put("duplicate keys", '{"Name":"a","Name":"b"}', 400, 'failed to decode body: duplicate key "Name" at offset 12'),
  put("deep nesting", `${"[".repeat(100_000)}${"]".repeat(100_000)}`, 400, "failed to decode body: nesting deeper than 64 at offset 64"),
  put("array body", "[]", 400, "invalid field Allocation: expected object"),
  put("string body", '"x"', 400, "invalid field Allocation: expected object"),
  put("null body", "null", 400, "invalid field Allocation: expected object"),
  put("ID mismatch", `{"ID":"${FIXED}"}`, 400, () => `invalid field Allocation.ID: does not match the path ID ${F}`),
  put("ID not a string", '{"ID":5}', 400, () => `invalid field Allocation.ID: does not match the path ID ${F}`),
  put("Name number", '{"Name":5}', 400, "invalid field Allocation.Name: expected string, got number 5"),
  put("Name bool", '{"Name":true}', 400, "invalid field Allocation.Name: expected string, got boolean"),
  put("CreateTime string", '{"CreateTime":"1"}', 400, "invalid field Allocation.CreateTime: expected integer (int64), got string"),
  put("CreateTime float", '{"CreateTime":1.5}', 400, "invalid field Allocation.CreateTime: expected integer (int64), got number 1.5"),
  put("CreateTime exponent", '{"CreateTime":1e18}', 400, "invalid field Allocation.CreateTime: expected integer (int64), got number 1e18"),
  put(
    "CreateTime > int64",
    '{"CreateTime":9223372036854775808}',
    400,
    "invalid field Allocation.CreateTime: 9223372036854775808 is out of range for int64",
  ),
  put("Job array", '{"Job":[]}', 400, "invalid field Allocation.Job: expected object, got array"),
  put("TaskStates string", '{"TaskStates":"x"}', 400, "invalid field Allocation.TaskStates: expected object or null, got string"),
  put(
    "bad State",
    '{"TaskStates":{"r":{"State":"asleep"}}}',
    400,
    'invalid field Allocation.TaskStates.r.State: "asleep" is not one of "pending", "running", "dead"',
  ),
  put(
    "bad StartedAt",
    '{"TaskStates":{"r":{"StartedAt":"2017-13-01T00:00:00Z"}}}',
    400,
    "invalid field Allocation.TaskStates.r.StartedAt: expected an RFC 3339 time",
  ),
  put(
    "Restarts negative",
    '{"TaskStates":{"r":{"Restarts":-1}}}',
    400,
    "invalid field Allocation.TaskStates.r.Restarts: -1 is out of range for uint64",
  ),
  put(
    "event Time string",
    '{"TaskStates":{"r":{"Events":[{"Type":"Started","Time":"x"}]}}}',
    400,
    "invalid field Allocation.TaskStates.r.Events[0].Time: expected integer (int64), got string",
  ),
  put(
    "Networks object",
    '{"Resources":{"Networks":{}}}',
    400,
    "invalid field Allocation.Resources.Networks: expected array or null, got object",
  ),
  put(
    "Port value string",
    '{"Resources":{"Networks":[{"DynamicPorts":[{"Value":"80"}]}]}}',
    400,
    "invalid field Allocation.Resources.Networks[0].DynamicPorts[0].Value: expected integer (int64), got string",
  ),
  put("Scores string", '{"Metrics":{"Scores":{"a":"1"}}}', 400, "invalid field Allocation.Metrics.Scores.a: expected number, got string"),
  put("Meta number", '{"Job":{"Meta":{"a":1}}}', 400, "invalid field Allocation.Job.Meta.a: expected string, got number 1"),
  put("body over 1 MiB", `{"Name":"${"x".repeat(1024 * 1024)}"}`, 413, "Request body too large"),
  put("bad Idempotency-Key", "{}", 400, "Invalid Idempotency-Key: 1 to 255 printable ASCII characters, no spaces", {
    ...MGMT,
    "Idempotency-Key": "a b",
  }),
  put("long Idempotency-Key", "{}", 400, "Invalid Idempotency-Key: 1 to 255 printable ASCII characters, no spaces", {
    ...MGMT,
    "Idempotency-Key": "k".repeat(256),
  }),
  // task-event bodies
  events("no Events", "{}", 400, "invalid field TaskEventsRequest.Events: is required"),
  events("Events object", '{"Events":{}}', 400, "invalid field TaskEventsRequest.Events: expected array, got object"),
  events(
    "unknown task",
    '{"Events":[{"Task":"web","Event":{"Type":"Started"}}]}',
    400,
    'task group "cache" does not have task with name "web"',
  ),
  events(
    "empty task",
    '{"Events":[{"Task":"","Event":{"Type":"Started"}}]}',
    400,
    "invalid field TaskEventsRequest.Events[0].Task: must not be empty",
  ),
  events(
    "unknown type",
    '{"Events":[{"Task":"redis","Event":{"Type":"Exploded"}}]}',
    400,
    `invalid field TaskEventsRequest.Events[0].Event.Type: "Exploded" is not one of ${Object.keys(TASK_EVENT_TYPES)
      .map((t) => JSON.stringify(t))
      .join(", ")}`,
  ),
  events("no type", '{"Events":[{"Task":"redis","Event":{}}]}', 400, "invalid field TaskEventsRequest.Events[0].Event.Type: is required"),
  events(
    "bad state",
    '{"Events":[{"Task":"redis","State":"gone","Event":{"Type":"Started"}}]}',
    400,
    'invalid field TaskEventsRequest.Events[0].State: "gone" is not one of "pending", "running", "dead"',
  ),
  events(
    "extra field",
    '{"Events":[{"Task":"redis","Event":{"Type":"Started"}}],"More":1}',
    400,
    "invalid field TaskEventsRequest.More: unknown field",
  ),
  events(
    "Details number",
    '{"Events":[{"Task":"redis","Event":{"Type":"Started","Details":{"a":1}}}]}',
    400,
    "invalid field TaskEventsRequest.Events[0].Event.Details.a: expected string, got number 1",
  ),
  events(
    "too many events",
    `{"Events":[${Array(1001).fill('{"Task":"redis","Event":{"Type":"Driver"}}').join(",")}]}`,
    400,
    "invalid field TaskEventsRequest.Events: at most 1000 items",
  ),
  events(
    "FailsTask string",
    '{"Events":[{"Task":"redis","Event":{"Type":"Started","FailsTask":"yes"}}]}',
    400,
    "invalid field TaskEventsRequest.Events[0].Event.FailsTask: expected boolean, got string",
  ),
  // methods
  [`PATCH allocation`, "PATCH", alloc, {}, 405, "Invalid method"],
  [`POST allocation`, "POST", alloc, { body: "{}" }, 405, "Invalid method"],
  [`OPTIONS allocation`, "OPTIONS", alloc, {}, 405, "Invalid method"],
  [`GET task-events`, "GET", () => `${alloc()}/task-events`, {}, 405, "Invalid method"],
  [`PUT allocations`, "PUT", () => "/v1/allocations", { body: "{}" }, 405, "Invalid method"],
  [`DELETE event stream`, "DELETE", () => "/v1/event/stream", {}, 405, "Invalid method"],
  [`PUT logs`, "PUT", () => `/v1/client/fs/logs/${F}?task=redis&type=stdout`, { body: "x", headers: MGMT }, 405, "Invalid method"],
  [`PATCH acl token`, "PATCH", () => "/v1/acl/token", {}, 405, "Invalid method"],
  // logs parameters
  logs("no task", "type=stdout", 400, "must provide task name"),
  logs("no type", "task=redis", 400, "must provide log type (stdout/stderr)"),
  logs("type=stdin", "task=redis&type=stdin", 400, "must provide log type (stdout/stderr)"),
  logs("origin=middle", "task=redis&type=stdout&origin=middle", 400, "origin must be start or end"),
  logs(
    "follow=maybe",
    "task=redis&type=stdout&follow=maybe",
    400,
    'failed to parse follow field to boolean: strconv.ParseBool: parsing "maybe": invalid syntax',
  ),
  logs(
    "plain=2",
    "task=redis&type=stdout&plain=2",
    400,
    'failed to parse plain field to boolean: strconv.ParseBool: parsing "2": invalid syntax',
  ),
  logs("offset=abc", "task=redis&type=stdout&offset=abc", 400, 'error parsing offset: strconv.ParseInt: parsing "abc": invalid syntax'),
  logs("offset negative", "task=redis&type=stdout&offset=-1", 400, "error parsing offset: offset must not be negative"),
  logs(
    "offset huge",
    "task=redis&type=stdout&offset=99999999999999999999",
    400,
    'error parsing offset: strconv.ParseInt: parsing "99999999999999999999": value out of range',
  ),
  logs("unknown task", "task=web&type=stdout", 400, 'unknown task name "web"'),
  logs("region", "task=redis&type=stdout&region=mars", 400, NO_REGION),
  get(
    "logs of a missing allocation",
    () => "/v1/client/fs/logs/00000000-0000-0000-0000-000000000000?task=redis&type=stdout",
    404,
    'Unknown allocation "00000000-0000-0000-0000-000000000000"',
  ),
  [
    `log append unknown task`,
    "POST",
    () => `/v1/client/fs/logs/${F}?task=web&type=stdout`,
    { body: "x", headers: MGMT },
    400,
    'unknown task name "web"',
  ],
  [
    `log append over 1 MiB`,
    "POST",
    () => `/v1/client/fs/logs/${F}?task=redis&type=stdout`,
    { body: "x".repeat(1024 * 1024 + 1), headers: MGMT },
    413,
    "Request body too large",
  ],
  // list and stream parameters
  get(
    "list prefix non-hex",
    () => "/v1/allocations?prefix=zz",
    400,
    'Invalid prefix "zz": an allocation ID prefix has only hexadecimal digits and hyphens',
  ),
  // command/agent/http.go (parsePagination), v1.10.0
  get("list per_page", () => "/v1/allocations?per_page=abc", 400, "Expect a number for `per_page` query string parameter"),
  get(
    "list per_page beyond int32",
    () => "/v1/allocations?per_page=2147483648",
    400,
    "Expect a number for `per_page` query string parameter",
  ),
  // command/agent/http.go (parseBool), v1.10.0
  get(
    "list task_states",
    () => "/v1/allocations?task_states=maybe",
    400,
    'Failed to parse value of "task_states" (maybe) as a bool: strconv.ParseBool: parsing "maybe": invalid syntax',
  ),
  get("list index", () => "/v1/allocations?index=-5", 400, INVALID_INDEX),
  // command/agent/event_endpoint.go (strconv.Atoi, parseTopic), v1.10.0
  get("stream index", () => "/v1/event/stream?index=x", 400, 'Unable to parse index: strconv.Atoi: parsing "x": invalid syntax'),
  get(
    "stream index beyond int64",
    () => "/v1/event/stream?index=9223372036854775808",
    400,
    'Unable to parse index: strconv.Atoi: parsing "9223372036854775808": value out of range',
  ),
  get(
    "stream topic with two colons",
    () => "/v1/event/stream?topic=Allocation:a:b",
    400,
    "Invalid topic query: error parsing topics: Invalid key value pair for topic, topic: Allocation:a:b",
  ),
  // ACL bodies
  [
    `policy bad rules`,
    "POST",
    () => "/v1/acl/policy/p1",
    { body: '{"Rules":"{\\"node\\":{\\"policy\\":\\"root\\"}}"}', headers: MGMT },
    400,
    "Invalid policy rules: node: policy must be one of deny, read, write",
  ],
  [
    `policy bad name`,
    "POST",
    () => "/v1/acl/policy/a%20b",
    { body: '{"Rules":"{}"}', headers: MGMT },
    400,
    'invalid policy name "a b": 1 to 128 letters, digits and hyphens',
  ],
  [
    `token bad type`,
    "POST",
    () => "/v1/acl/token",
    { body: '{"Type":"root"}', headers: MGMT },
    400,
    'Invalid token type "root": client or management',
  ],
  [`token bad accessor`, "GET", () => "/v1/acl/token/not-a-uuid", { headers: MGMT }, 400, 'invalid accessor ID "not-a-uuid"'],
  [`token missing`, "GET", () => "/v1/acl/token/00000000-0000-0000-0000-000000000000", { headers: MGMT }, 404, "ACL token not found"],
  [`policy missing`, "DELETE", () => "/v1/acl/policy/nope", { headers: MGMT }, 404, "ACL policy not found"],
  // Malformed percent-escapes in ACL paths; bytes that are not UTF-8.
  get("policy %ZZ", () => "/v1/acl/policy/%ZZ", 400, 'invalid URL escape "%ZZ"', MGMT),
  get("policy lone %", () => "/v1/acl/policy/ab%", 400, 'invalid URL escape "%"', MGMT),
  get("policy %FF", () => "/v1/acl/policy/%FF", 400, 'invalid policy name "\uFFFD": 1 to 128 letters, digits and hyphens', MGMT),
  get("token %C0%AF", () => "/v1/acl/token/%C0%AF", 400, 'invalid accessor ID "\uFFFD\uFFFD"', MGMT),
  [`token delete %ZZ`, "DELETE", () => "/v1/acl/token/%ZZ", { headers: MGMT }, 400, 'invalid URL escape "%ZZ"'],
  // AccessorID on token creation: Nomad's upsert updates the named token; junk is refused.
  ...["true", "{}", "5", '"not-a-uuid"'].map(
    (accessor): Case => [
      `token create AccessorID ${accessor}`,
      "POST",
      () => "/v1/acl/token",
      { body: `{"AccessorID":${accessor},"Type":"management"}`, headers: MGMT },
      400,
      accessor === '"not-a-uuid"' ? 'invalid accessor ID "not-a-uuid"' : "invalid field AccessorID: expected string",
    ],
  ),
  [
    `token create unknown AccessorID`,
    "POST",
    () => "/v1/acl/token",
    { body: '{"AccessorID":"00000000-0000-0000-0000-000000000000","Type":"management"}', headers: MGMT },
    404,
    "ACL token not found",
  ],
  // Go struct types at ingest (nomad/structs): float64 range, []byte as base64, uint64 Job.Version.
  put(
    "Scores 1e400",
    '{"Metrics":{"Scores":{"x":1e400}}}',
    400,
    "invalid field Allocation.Metrics.Scores.x: 1e400 is out of range for float64",
  ),
  put(
    "Scores -1e309",
    '{"Metrics":{"Scores":{"x":-1e309}}}',
    400,
    "invalid field Allocation.Metrics.Scores.x: -1e309 is out of range for float64",
  ),
  put(
    "Scores 400 digits",
    `{"Metrics":{"Scores":{"x":1${"0".repeat(400)}}}}`,
    400,
    () => `invalid field Allocation.Metrics.Scores.x: 1${"0".repeat(400)} is out of range for float64`,
  ),
  put(
    "Payload not base64",
    '{"Job":{"Payload":"not base64!"}}',
    400,
    "invalid field Allocation.Job.Payload: expected base64 (Go's []byte: standard alphabet, padded)",
  ),
  put(
    "Payload unpadded",
    '{"Job":{"Payload":"YWI"}}',
    400,
    "invalid field Allocation.Job.Payload: expected base64 (Go's []byte: standard alphabet, padded)",
  ),
  put(
    "Payload url alphabet",
    '{"Job":{"Payload":"-_8="}}',
    400,
    "invalid field Allocation.Job.Payload: expected base64 (Go's []byte: standard alphabet, padded)",
  ),
  put("Job.Version -1", '{"Job":{"Version":-1}}', 400, "invalid field Allocation.Job.Version: -1 is out of range for uint64"),
  put("Job.Version 1.5", '{"Job":{"Version":1.5}}', 400, "invalid field Allocation.Job.Version: expected integer (uint64), got number 1.5"),
  put("Job.Version string", '{"Job":{"Version":"1"}}', 400, "invalid field Allocation.Job.Version: expected integer (uint64), got string"),
  put(
    "Restarts above uint64",
    '{"TaskStates":{"redis":{"Restarts":18446744073709551616}}}',
    400,
    "invalid field Allocation.TaskStates.redis.Restarts: 18446744073709551616 is out of range for uint64",
  ),
  // A batch with no event would be a change with nothing in it.
  events("empty Events", '{"Events":[]}', 400, "invalid field TaskEventsRequest.Events: at least 1 item"),
  // Storage-limit probes: more distinct topics than a stream may ask for.
  get(
    "stream 101 topics",
    () => `/v1/event/stream?${Array.from({ length: 101 }, () => `topic=Allocation:${crypto.randomUUID()}`).join("&")}`,
    400,
    "Invalid topic query: at most 100 distinct topic values, got 101",
    MGMT,
  ),
  // Prototype keys, wherever a client's key lands: policy blocks, namespace and key names, the JSON
  // form, task names, query parameters. None may reach Object.prototype (the state snapshot and
  // the later cases would see it).
  ...[
    ['__proto__ "default" { policy = "read" }', 'Invalid policy rules: unknown block "__proto__"'],
    ['prototype "x" { policy = "read" }', 'Invalid policy rules: unknown block "prototype"'],
    ['namespace "__proto__" { policy = "write" }', 'Invalid policy rules: Invalid namespace name: "__proto__"'],
    ['node { policy = "write"\n constructor = "x" }', 'Invalid policy rules: node: unknown key "constructor"'],
    ['{"__proto__":{"default":{"policy":"read"}}}', 'Invalid policy rules: unknown block "__proto__"'],
    ['{"namespace":{"__proto__":{"policy":"read"}}}', 'Invalid policy rules: Invalid namespace name: "__proto__"'],
    ['{"node":{"__proto__":{"policy":"write"}}}', 'Invalid policy rules: node: unknown key "__proto__"'],
  ].map(([rules, text]): Case => policy(`policy ${rules}`, rules as string, text as string)),
  events(
    "task named __proto__",
    '{"Events":[{"Task":"__proto__","Event":{"Type":"Started"}}]}',
    400,
    'task group "cache" does not have task with name "__proto__"',
  ),
  events(
    "task named constructor",
    '{"Events":[{"Task":"constructor","Event":{"Type":"Started"}}]}',
    400,
    'task group "cache" does not have task with name "constructor"',
  ),
  get(
    "list prefix __proto__",
    () => "/v1/allocations?prefix=__proto__",
    400,
    'Invalid prefix "__proto__": an allocation ID prefix has only hexadecimal digits and hyphens',
  ),
  // Policy rules the parser must refuse rather than skip; invalid escapes; rules with no rule.
  ...[
    ['node { policy := "write" }', 'Invalid policy rules: Failed to parse ACL Policy: At 1:15: illegal character ":"'],
    ['node { policy = "write" } ; @@@', 'Invalid policy rules: Failed to parse ACL Policy: At 1:27: illegal character ";"'],
    [
      "node { policy = write }",
      'Invalid policy rules: Failed to parse ACL Policy: At 1:17: expected a quoted string after policy =, got "write"',
    ],
    ['node { policy = "\\x" }', "Invalid policy rules: Failed to parse ACL Policy: At 1:18: invalid escape \\x in string"],
    ["!!!", 'Invalid policy rules: Failed to parse ACL Policy: At 1:1: illegal character "!"'],
    ["# nothing here", 'Invalid policy rules: Invalid policy: "# nothing here"'],
    ['{"namespace":{"default":"write"}}', 'Invalid policy rules: namespace "default" must be a block'],
  ].map(([rules, text]): Case => policy(`policy ${rules}`, rules as string, text as string)),
];

describe("bad-input corpus", () => {
  it("has at least 100 cases", () => {
    expect(CASES.length).toBeGreaterThanOrEqual(100);
  });

  it.each(CASES)("%s", async (_name, method, path, init, status, text) => {
    const before = await snapshot();
    const r = await call(path(), { ...init, method });
    const body = await r.text();
    expect(r.status).toBeLessThan(500);
    expect(r.status).toBe(status);
    expect(body).toBe(typeof text === "function" ? text() : text);
    expect(body).not.toMatch(/\n$/);
    expect(await snapshot()).toBe(before);
  });
});
