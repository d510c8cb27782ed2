/**
 * The Nomad side: the calls the bridge makes to a Nomad agent's HTTP API (hashicorp/nomad
 * api/allocations.go, api/event_stream.go, api/fs.go are the Go client's versions of them).
 * All reads; the token needs `read-job` (allocations, event stream) and `read-logs`/`read-fs` (logs).
 */
import type { IncomingMessage } from "node:http";
import { isJsonObject, JsonNumber, type JsonObject, type JsonValue, parseJson } from "../src/json/codec.ts";
import { backoffMs, sleep } from "./backoff.ts";
import type { SyncConfig } from "./config.ts";
import { type HttpAnswer, HttpEndpoint, header, NetworkError } from "./http.ts";
import { ndjson } from "./ndjson.ts";

/** The fields of an `AllocListStub` the bridge uses (nomad/structs/alloc.go `AllocListStub`). */
export interface NomadStub {
  id: string;
  namespace: string;
  modifyIndex: bigint;
  jobVersion: bigint;
  clientStatus: string;
  /** The stub itself, when the list was asked for task states (the log shipper reads them). */
  raw?: JsonObject;
}

export interface NomadList {
  /** `X-Nomad-Index` of the list: the state index it reflects. */
  index: bigint;
  allocations: NomadStub[];
}

export interface FileInfo {
  name: string;
  size: number;
}

/** Attempts of a read that gets no answer before its failure is the caller's (about 4 s of backoff at most). */
const READ_ATTEMPTS = 5;

/** An HTTP answer from Nomad that is not a success. */
class NomadError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

export function uint(value: JsonValue | undefined): bigint {
  return value instanceof JsonNumber && value.isInteger ? value.toBigInt() : 0n;
}

export function text(value: JsonValue | undefined): string {
  return typeof value === "string" ? value : "";
}

function stubOf(value: JsonValue, keepRaw: boolean): NomadStub | undefined {
  if (!isJsonObject(value) || typeof value.ID !== "string") return undefined;
  return {
    raw: keepRaw ? value : undefined,
    id: value.ID,
    namespace: text(value.Namespace) || "default",
    modifyIndex: uint(value.ModifyIndex),
    jobVersion: uint(value.JobVersion),
    clientStatus: text(value.ClientStatus),
  };
}

export class NomadClient {
  readonly #http: HttpEndpoint;
  readonly #region?: string;
  readonly #namespace: string;

  constructor(config: SyncConfig, maxSockets: number) {
    const headers: Record<string, string> = { "User-Agent": "nomad-alloc-edge-sync" };
    if (config.nomadToken) headers["X-Nomad-Token"] = config.nomadToken;
    this.#http = new HttpEndpoint(config.nomadAddr, headers, { tls: config.nomadTls, maxSockets });
    this.#region = config.nomadRegion;
    this.#namespace = config.namespace;
  }

  get address(): string {
    return this.#http.origin;
  }

  #query(params: Record<string, string>): string {
    const all = new URLSearchParams(params);
    if (this.#region) all.set("region", this.#region);
    return all.toString();
  }

  /**
   * A read, tried again after a failure without an answer (a kept-alive socket the agent closed as
   * the request went out, an agent restarting): every call here is a read, safe to repeat.
   */
  async #get(path: string, params: Record<string, string>, signal?: AbortSignal): Promise<HttpAnswer> {
    for (let attempt = 1; ; attempt++) {
      let answer: HttpAnswer;
      try {
        answer = await this.#http.request(`${path}?${this.#query(params)}`, { signal, timeoutMs: 60_000 });
      } catch (error) {
        if (!(error instanceof NetworkError) || signal?.aborted || attempt >= READ_ATTEMPTS) throw error;
        console.log(`nomad ${path}: ${error.message}; retrying (attempt ${attempt + 1} of ${READ_ATTEMPTS})`);
        await sleep(backoffMs(attempt - 1), signal);
        continue;
      }
      if (answer.status !== 200) {
        throw new NomadError(answer.status, `Nomad ${path}: ${answer.status} ${answer.body.toString("utf8").slice(0, 200)}`);
      }
      return answer;
    }
  }

  /**
   * `GET /v1/allocations?namespace=…&task_states=…`: every allocation's stub and the list's index.
   * Task states (`task_states=false` drops them: command/agent/alloc_endpoint.go) only when the
   * log shipper needs them.
   */
  async listAllocations(signal?: AbortSignal, taskStates = false): Promise<NomadList> {
    const answer = await this.#get("/v1/allocations", { namespace: this.#namespace, task_states: String(taskStates) }, signal);
    const parsed = parseJson(answer.body.toString("utf8"), { maxDepth: 256 });
    const allocations = (Array.isArray(parsed) ? parsed : [])
      .map((v) => stubOf(v, taskStates))
      .filter((s): s is NomadStub => s !== undefined);
    return { index: BigInt(header(answer, "X-Nomad-Index") ?? "0"), allocations };
  }

  /** `GET /v1/allocation/<id>`: the full allocation, `Job` included; undefined when it is gone (404). */
  async getAllocation(id: string, namespace: string, signal?: AbortSignal): Promise<JsonObject | undefined> {
    try {
      const answer = await this.#get(`/v1/allocation/${id}`, { namespace }, signal);
      const parsed = parseJson(answer.body.toString("utf8"), { maxDepth: 256 });
      return isJsonObject(parsed) ? parsed : undefined;
    } catch (error) {
      if (error instanceof NomadError && error.status === 404) return undefined;
      throw error;
    }
  }

  /**
   * `GET /v1/event/stream?topic=Allocation&namespace=…&index=…`: the open response. Nomad answers
   * 200 at once and sends `{}` at connect (nomad/stream/ndjson.go `NewJsonStream`), so a resolved
   * promise means the subscription exists and events from here on are not missed.
   */
  async openEventStream(index: bigint, signal: AbortSignal): Promise<{ response: IncomingMessage; events: AsyncGenerator<JsonValue> }> {
    const path = `/v1/event/stream?${this.#query({ topic: "Allocation", namespace: this.#namespace, index: index.toString() })}`;
    const response = await this.#http.open(path, { signal });
    if (response.statusCode !== 200) {
      const chunks: Buffer[] = [];
      for await (const chunk of response) chunks.push(chunk as Buffer);
      throw new NomadError(
        response.statusCode ?? 0,
        `Nomad event stream: ${response.statusCode} ${Buffer.concat(chunks).toString("utf8").slice(0, 200)}`,
      );
    }
    return { response, events: ndjson(response as AsyncIterable<Buffer>) };
  }

  /** `GET /v1/client/fs/ls/<alloc>?path=…` (command/agent/fs_endpoint.go `DirectoryListRequest`). */
  async listFiles(allocId: string, path: string, signal?: AbortSignal): Promise<FileInfo[]> {
    const answer = await this.#get(`/v1/client/fs/ls/${allocId}`, { path }, signal);
    const parsed = parseJson(answer.body.toString("utf8"));
    if (!Array.isArray(parsed)) return [];
    return parsed.filter(isJsonObject).map((f) => ({ name: text(f.Name), size: Number(uint(f.Size)) }));
  }

  /** `GET /v1/client/fs/readat/<alloc>?path=&offset=&limit=`: exactly those bytes (fewer at the end of the file). */
  async readAt(allocId: string, path: string, offset: number, limit: number, signal?: AbortSignal): Promise<Buffer> {
    const answer = await this.#get(`/v1/client/fs/readat/${allocId}`, { path, offset: String(offset), limit: String(limit) }, signal);
    return answer.body;
  }

  close(): void {
    this.#http.close();
  }
}
