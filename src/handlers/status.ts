/**
 * The status endpoints clients call first. This server is its own leader in every region: one
 * logical server, answering for the regions configured in REGIONS.
 */
import { NEEDS } from "../acl/needs.ts";
import { config } from "../config.ts";
import { reply } from "../http/reply.ts";
import { encodeJson, JsonNumber } from "../json/codec.ts";
import { authorize } from "../pipeline/caller.ts";

/** The Nomad API version this server speaks (event stream, pagination: Nomad 1.x features). */
export const NOMAD_API_VERSION = "1.1.0";
const DATACENTER = "dc1";
/** Nomad's server RPC port, reported as the leader's address as Nomad does. */
const RPC_PORT = 4647;

function json(value: Parameters<typeof encodeJson>[0]): Response {
  return reply(encodeJson(value));
}

function leaderAddress(request: Request): string {
  return `${new URL(request.url).hostname}:${RPC_PORT}`;
}

export function getLeader(request: Request): Response {
  return json(leaderAddress(request));
}

export function getPeers(request: Request): Response {
  return json([leaderAddress(request)]);
}

export function getRegions(_request: Request, env: Env): Response {
  return json([...config(env).regions.keys()].sort());
}

export async function getAgentSelf(request: Request, env: Env): Promise<Response> {
  await authorize(request, env, NEEDS.agentRead);
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
}
