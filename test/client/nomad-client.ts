/**
 * A small typed client of this API: openapi-fetch over the types openapi-typescript generated from
 * the committed document (`openapi/openapi.d.ts`, written by `npm run openapi`). It is what a user
 * generating a client from /openapi.json gets; test/blackbox/openapi-client.test.ts compiles it
 * under strict tsc (test/client/tsconfig.json) and runs it against a real server.
 */
import createClient from "openapi-fetch";
import type { components, paths } from "../../openapi/openapi.d.ts";

export type Allocation = components["schemas"]["Allocation"];
export type TaskState = components["schemas"]["TaskState"];

export interface ReadResult {
  allocation: Allocation;
  /** `X-Nomad-Index`: send it back as `index` to block until the allocation changes. */
  index: number;
}

export function nomadClient(baseUrl: string) {
  return createClient<paths>({ baseUrl });
}

/** Reads an allocation; with `index` (and optionally `wait`) a blocking query. */
export async function readAllocation(baseUrl: string, allocId: string, blocking?: { index: number; wait?: string }): Promise<ReadResult> {
  const { data, error, response } = await nomadClient(baseUrl).GET("/v1/allocation/{alloc_id}", {
    params: { path: { alloc_id: allocId }, query: blocking ?? {} },
  });
  if (data === undefined) throw new Error(`read ${allocId}: ${response.status} ${String(error)}`);
  return { allocation: data, index: Number(response.headers.get("X-Nomad-Index")) };
}

/** The error text of a failed read (Nomad's plain-text errors), or undefined when it succeeded. */
export async function readError(baseUrl: string, allocId: string): Promise<{ status: number; text: string } | undefined> {
  const { error, response } = await nomadClient(baseUrl).GET("/v1/allocation/{alloc_id}", { params: { path: { alloc_id: allocId } } });
  return error === undefined ? undefined : { status: response.status, text: String(error) };
}

/** The task names and states of an allocation, sorted by name. */
export function taskStates(allocation: Allocation): [string, TaskState["State"]][] {
  return Object.entries(allocation.TaskStates ?? {})
    .map(([name, state]): [string, TaskState["State"]] => [name, state.State])
    .sort(([a], [b]) => a.localeCompare(b));
}
