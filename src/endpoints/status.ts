/**
 * The status endpoints clients call first. This server is its own leader in every region: one
 * logical server, answering for the regions configured in REGIONS. `leader`, `peers` and
 * `regions` are public, as in Nomad; `agent/self` needs `agent:read`.
 */
import type { OperationObject } from "openapi3-ts/oas31";
import { config } from "../config.ts";
import { reply } from "../http/reply.ts";
import { encodeJson, JsonNumber } from "../json/codec.ts";
import { forbidden, ref, schemaRef } from "../openapi/common.ts";
import { TAG } from "../openapi/tags.ts";
import { ACCESS } from "../pipeline/access.ts";
import type { Endpoint, Handler, OperationDoc } from "../pipeline/endpoint.ts";

/** The Nomad API version this server speaks (event stream, pagination: Nomad 1.x features). */
const NOMAD_API_VERSION = "1.1.0";
const DATACENTER = "dc1";
/** Nomad's server RPC port, reported as the leader's address as Nomad does. */
const RPC_PORT = 4647;

function json(value: Parameters<typeof encodeJson>[0]): Response {
  return reply(encodeJson(value));
}

function leaderAddress(request: Request): string {
  return `${new URL(request.url).hostname}:${RPC_PORT}`;
}

const getLeader: Handler = (request) => json(leaderAddress(request));

const getPeers: Handler = (request) => json([leaderAddress(request)]);

const getRegions: Handler = (_request, { env }) => json([...config(env).regions.keys()].sort());

const getAgentSelf: Handler = (request, { env }) => {
  const region = config(env).defaultRegion;
  const host = new URL(request.url).hostname;
  return json({
    config: {
      Region: region,
      Datacenter: DATACENTER,
      Version: { Version: NOMAD_API_VERSION, VersionPrerelease: "", VersionMetadata: "" },
      Server: { Enabled: true },
      Client: { Enabled: false },
    },
    member: {
      Name: `${host}.${region}`,
      Addr: host,
      Port: JsonNumber.of(RPC_PORT + 1),
      Status: "alive",
      Tags: { region, dc: DATACENTER, role: "nomad", build: NOMAD_API_VERSION },
    },
    stats: {},
  });
};

function statusDoc(operationId: string, summary: string, description: string, schema: object, sample?: unknown): OperationDoc {
  return {
    operationId,
    summary,
    description,
    tags: [TAG.status],
    responses: {
      "200": { description: summary, content: { "application/json": { schema, example: sample } } },
      "500": ref("responses", "InternalError"),
    },
  };
}

const agentSelfDoc: OperationDoc = {
  ...statusDoc(
    "getAgentSelf",
    "Read agent information",
    "The agent's configuration and member entry, as far as Nomad clients need them (region, datacenter, version).",
    schemaRef("AgentSelf"),
  ),
  responses: {
    "200": { description: "Read agent information", content: { "application/json": { schema: schemaRef("AgentSelf") } } },
    "403": forbidden("`agent:read`"),
    "500": ref("responses", "InternalError"),
  } satisfies OperationObject["responses"],
};

const STRINGS = { type: "array", items: { type: "string" } };

export const STATUS_ENDPOINTS: Endpoint[] = [
  {
    path: "/v1/status/leader",
    operations: [
      {
        method: "get",
        access: ACCESS.public,
        handler: getLeader,
        doc: statusDoc(
          "getLeader",
          "Read the leader's address",
          "The address of the region's leader. This server is its own leader: its host name and Nomad's RPC port.",
          { type: "string" },
          `127.0.0.1:${RPC_PORT}`,
        ),
      },
    ],
  },
  {
    path: "/v1/status/peers",
    operations: [
      {
        method: "get",
        access: ACCESS.public,
        handler: getPeers,
        doc: statusDoc("getPeers", "List the server peers", "The addresses of the region's servers: this server only.", STRINGS, [
          `127.0.0.1:${RPC_PORT}`,
        ]),
      },
    ],
  },
  {
    path: "/v1/regions",
    operations: [
      {
        method: "get",
        access: ACCESS.public,
        handler: getRegions,
        doc: statusDoc(
          "listRegions",
          "List regions",
          "The regions this deployment serves (`REGIONS`), sorted. Any of them can be named with `?region=`.",
          STRINGS,
          ["asia", "europe", "global"],
        ),
      },
    ],
  },
  {
    path: "/v1/agent/self",
    operations: [{ method: "get", access: ACCESS.agentRead, handler: getAgentSelf, doc: agentSelfDoc }],
  },
];
