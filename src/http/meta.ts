/**
 * Nomad's query meta headers, set together on every read response (errors included). This server
 * answers every read itself, so it is always its own leader: KnownLeader true, LastContact 0.
 */
export function queryMetaHeaders(index: number): Record<string, string> {
  return {
    "X-Nomad-Index": String(Math.max(index, 1)),
    "X-Nomad-KnownLeader": "true",
    "X-Nomad-LastContact": "0",
  };
}

export const JSON_HEADERS = { "Content-Type": "application/json", Vary: "Accept-Encoding" };
