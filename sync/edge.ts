/**
 * The edge side, in one module: every write the bridge makes to the edge and how it is retried.
 * - Allocation changes carry the Nomad `ModifyIndex` they mirror as their source index
 *   (`X-Source-Index` / `SourceIndex`): the edge applies a change only when it is newer than what it
 *   holds, and a tombstone remembers its index, so retries and reordering can never make state go back.
 * - Changes go in batches (`POST /v1/allocations/batch`, at most 500 each); an edge without that
 *   route (404/405) gets single `PUT`/`DELETE`s instead.
 * - Log appends carry `X-Log-Offset`, the bytes already shipped for the stream; a mismatch is a 409
 *   with the edge's total, so a retried append is never written twice.
 * - 429 waits for `Retry-After`; 5xx and network errors back off exponentially with jitter and are
 *   retried until they succeed or the bridge stops; any other 4xx is the answer (a rejection).
 */
import { encodeString, isJsonObject, JsonNumber, type JsonValue, parseJson } from "../src/json/codec.ts";
import { backoffMs, retryAfterMs, sleep } from "./backoff.ts";
import type { SyncConfig } from "./config.ts";
import { type HttpAnswer, HttpEndpoint, header, NetworkError } from "./http.ts";
import type { Metrics } from "./metrics.ts";

export type EdgeChange =
  | { op: "put"; id: string; sourceIndex: bigint; allocation: string }
  | { op: "delete"; id: string; sourceIndex: bigint };

export type EdgeOutcome =
  | { kind: "applied"; index: string }
  | { kind: "stale"; index: string }
  /** A delete of an allocation the edge does not have. */
  | { kind: "absent" }
  | { kind: "rejected"; status: number; error: string }
  /** The batch answered this change with a 429 or 5xx of its own: send it again later. */
  | { kind: "retry"; error: string };

type LogAppendOutcome =
  | { kind: "appended"; total: number }
  | { kind: "mismatch"; total: number }
  | { kind: "rejected"; status: number; error: string };

interface EdgeStub {
  id: string;
  namespace: string;
}

/** Stopped while waiting to retry. */
class Stopped extends Error {}

export class EdgeClient {
  readonly #http: HttpEndpoint;
  readonly #region?: string;
  readonly #metrics: Metrics;
  readonly #signal: AbortSignal;
  #batched: boolean | undefined;

  constructor(config: SyncConfig, metrics: Metrics, signal: AbortSignal) {
    const headers: Record<string, string> = { "User-Agent": "nomad-alloc-edge-sync" };
    if (config.edgeToken) headers["X-Nomad-Token"] = config.edgeToken;
    this.#http = new HttpEndpoint(config.edgeAddr, headers, { maxSockets: config.maxInflight + 4 });
    this.#region = config.edgeRegion;
    this.#metrics = metrics;
    this.#signal = signal;
  }

  get address(): string {
    return this.#http.origin;
  }

  #path(path: string, params: Record<string, string> = {}): string {
    const query = new URLSearchParams(params);
    if (this.#region) query.set("region", this.#region);
    const text = query.toString();
    return text ? `${path}?${text}` : path;
  }

  /** Sends until there is an answer that is not 429, 5xx or a network error. */
  async #send(
    kind: string,
    path: string,
    method: string,
    body?: Buffer | string,
    headers: Record<string, string> = {},
  ): Promise<HttpAnswer> {
    for (let attempt = 0; ; attempt++) {
      if (this.#signal.aborted) throw new Stopped("stopped");
      let wait: number;
      let why: string;
      try {
        const answer = await this.#http.request(path, { method, body, headers, timeoutMs: 120_000 });
        this.#metrics.edgeRequests.inc({ kind, code: String(answer.status) });
        if (answer.status === 429) {
          wait = retryAfterMs(header(answer, "Retry-After")) ?? backoffMs(attempt);
          why = "429 Too Many Requests";
        } else if (answer.status >= 500) {
          wait = backoffMs(attempt);
          why = `${answer.status} ${answer.body.toString("utf8").slice(0, 120)}`;
        } else {
          return answer;
        }
      } catch (error) {
        if (!(error instanceof NetworkError)) throw error;
        this.#metrics.edgeRequests.inc({ kind, code: "network" });
        wait = backoffMs(attempt);
        why = error.message;
      }
      this.#metrics.retries.inc({ kind });
      if (attempt === 0 || attempt % 10 === 9) console.log(`edge ${kind}: ${why}; retrying in ${wait} ms (attempt ${attempt + 1})`);
      await sleep(wait, this.#signal);
    }
  }

  /** Writes changes (at most 500): batched when the edge has the route, else one by one; outcomes in order. */
  async write(changes: readonly EdgeChange[]): Promise<EdgeOutcome[]> {
    if (changes.length === 0) return [];
    if (this.#batched !== false) {
      const outcomes = await this.#writeBatch(changes);
      if (outcomes) return outcomes;
    }
    return Promise.all(changes.map((change) => this.#writeOne(change)));
  }

  async #writeBatch(changes: readonly EdgeChange[]): Promise<EdgeOutcome[] | undefined> {
    const items = changes.map((c) =>
      c.op === "put"
        ? `{"Allocation":${c.allocation},"ID":${encodeString(c.id)},"Op":"put","SourceIndex":"${c.sourceIndex}"}`
        : `{"ID":${encodeString(c.id)},"Op":"delete","SourceIndex":"${c.sourceIndex}"}`,
    );
    const answer = await this.#send("batch", this.#path("/v1/allocations/batch"), "POST", `{"Changes":[${items.join(",")}]}`, {
      "Content-Type": "application/json",
    });
    if (this.#batched === undefined && (answer.status === 404 || answer.status === 405)) {
      this.#batched = false;
      console.log("edge has no batched ingest (POST /v1/allocations/batch); writing allocations one by one");
      return undefined;
    }
    this.#batched = true;
    const text = answer.body.toString("utf8");
    if (answer.status !== 200) {
      // The whole request was refused (e.g. 413 for a body over the edge's cap): each change alone.
      if (changes.length > 1) return Promise.all(changes.map((c) => this.#writeOne(c)));
      return [{ kind: "rejected", status: answer.status, error: text.slice(0, 500) }];
    }
    const parsed = parseJson(text, { maxDepth: 16 });
    const results = isJsonObject(parsed) && Array.isArray(parsed.Results) ? parsed.Results : [];
    return changes.map((change, i) => batchOutcome(change, results[i]));
  }

  async #writeOne(change: EdgeChange): Promise<EdgeOutcome> {
    const path = this.#path(`/v1/allocation/${change.id}`);
    const headers = { "X-Source-Index": change.sourceIndex.toString(), "Content-Type": "application/json" };
    const answer =
      change.op === "put"
        ? await this.#send("put", path, "PUT", change.allocation, headers)
        : await this.#send("delete", path, "DELETE", undefined, headers);
    const text = answer.body.toString("utf8");
    if (answer.status === 404 && change.op === "delete") return { kind: "absent" };
    if (answer.status !== 200) return { kind: "rejected", status: answer.status, error: text.slice(0, 500) };
    return writeAnswer(parseJson(text, { maxDepth: 8 }));
  }

  /** Every allocation the edge holds in the region, in every namespace (following `X-Nomad-NextToken` if it pages). */
  async listAllocations(): Promise<EdgeStub[]> {
    const stubs: EdgeStub[] = [];
    let next: string | undefined;
    do {
      const params: Record<string, string> = { namespace: "*" };
      if (next) params.next_token = next;
      const answer = await this.#send("list", this.#path("/v1/allocations", params), "GET");
      if (answer.status !== 200) throw new Error(`edge list: ${answer.status} ${answer.body.toString("utf8").slice(0, 200)}`);
      const parsed = parseJson(answer.body.toString("utf8"), { maxDepth: 256 });
      for (const s of (Array.isArray(parsed) ? parsed : []).filter(isJsonObject)) {
        if (typeof s.ID === "string") stubs.push({ id: s.ID, namespace: typeof s.Namespace === "string" ? s.Namespace : "default" });
      }
      next = header(answer, "X-Nomad-NextToken") || undefined;
    } while (next);
    return stubs;
  }

  /** Appends log bytes if the edge holds exactly `expected` bytes of the stream. */
  async appendLog(id: string, task: string, type: string, bytes: Buffer, expected: number): Promise<LogAppendOutcome> {
    const path = this.#path(`/v1/client/fs/logs/${id}`, { task, type });
    const answer = await this.#send("log", path, "POST", bytes, {
      "X-Log-Offset": String(expected),
      "Content-Type": "application/octet-stream",
    });
    const total = Number(header(answer, "X-Log-Offset") ?? Number.NaN);
    if (answer.status === 200 && Number.isSafeInteger(total)) return { kind: "appended", total };
    if (answer.status === 409 && Number.isSafeInteger(total)) return { kind: "mismatch", total };
    return { kind: "rejected", status: answer.status, error: answer.body.toString("utf8").slice(0, 500) };
  }

  close(): void {
    this.#http.close();
  }
}

function indexText(value: JsonValue | undefined): string {
  return value instanceof JsonNumber ? value.raw : typeof value === "string" ? value : "0";
}

function writeAnswer(parsed: JsonValue): EdgeOutcome {
  if (!isJsonObject(parsed)) return { kind: "rejected", status: 200, error: "unreadable answer" };
  return parsed.Stale === true ? { kind: "stale", index: indexText(parsed.Index) } : { kind: "applied", index: indexText(parsed.Index) };
}

function batchOutcome(change: EdgeChange, result: JsonValue | undefined): EdgeOutcome {
  if (!isJsonObject(result)) return { kind: "rejected", status: 502, error: "the batch answer has no result for this change" };
  if (result.Error !== undefined || result.Status !== undefined) {
    const status = result.Status instanceof JsonNumber ? Number(result.Status.raw) : 400;
    if (status === 404 && change.op === "delete") return { kind: "absent" };
    if (status === 429 || status >= 500) return { kind: "retry", error: `${status} ${String(result.Error ?? "")}` };
    return { kind: "rejected", status, error: typeof result.Error === "string" ? result.Error : "rejected" };
  }
  return writeAnswer(result);
}
