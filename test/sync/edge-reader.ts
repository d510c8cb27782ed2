/** Reads the edge the way a user does (HTTP, management token), for the sync tests' checks. */
import { isJsonObject, type JsonObject, type JsonValue, parseJson } from "../../src/json/codec.ts";
import type { DevServer } from "../support/dev-server.ts";

export async function edgeAllocation(edge: DevServer, region: string, id: string): Promise<JsonObject | undefined> {
  const r = await fetch(`${edge.url}/v1/allocation/${id}?region=${region}`, { headers: { "X-Nomad-Token": edge.token } });
  if (r.status === 404) return undefined;
  if (r.status !== 200) throw new Error(`edge GET ${id}: ${r.status} ${await r.text()}`);
  return parseJson(await r.text(), { maxDepth: 256 }) as JsonObject;
}

export async function edgeIds(edge: DevServer, region: string): Promise<Set<string>> {
  const r = await fetch(`${edge.url}/v1/allocations?region=${region}&namespace=*`, { headers: { "X-Nomad-Token": edge.token } });
  const list = parseJson(await r.text(), { maxDepth: 256 }) as JsonValue[];
  return new Set(list.filter(isJsonObject).map((s) => String(s.ID)));
}

export async function edgeLog(edge: DevServer, region: string, id: string, task: string, type: string): Promise<Buffer> {
  const r = await fetch(`${edge.url}/v1/client/fs/logs/${id}?task=${task}&type=${type}&plain=true&region=${region}`, {
    headers: { "X-Nomad-Token": edge.token },
  });
  if (r.status !== 200) return Buffer.alloc(0);
  return Buffer.from(await r.arrayBuffer());
}

const EDGE_OWNED = new Set(["CreateIndex", "ModifyIndex", "AllocModifyIndex"]);

/** Paths where `sent` (what Nomad has) differs from `stored` (what the edge reads back); fields the edge adds are ignored. */
export function differences(sent: JsonValue, stored: JsonValue | undefined, path = ""): string[] {
  if (isJsonObject(sent)) {
    if (!isJsonObject(stored)) return [`${path || "."}: expected an object`];
    return Object.entries(sent).flatMap(([k, v]) => (path === "" && EDGE_OWNED.has(k) ? [] : differences(v, stored[k], `${path}.${k}`)));
  }
  if (Array.isArray(sent)) {
    if (!Array.isArray(stored) || stored.length !== sent.length) return [`${path}: expected ${sent.length} items`];
    return sent.flatMap((v, i) => differences(v, stored[i], `${path}[${i}]`));
  }
  const a = JSON.stringify(sent, (_k, v) => (typeof v === "object" && v && "raw" in v ? v.raw : v));
  const b = JSON.stringify(stored ?? null, (_k, v) => (typeof v === "object" && v && "raw" in v ? v.raw : v));
  return a === b ? [] : [`${path}: Nomad ${a}, edge ${b}`];
}
