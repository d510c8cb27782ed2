/**
 * A stand-in for a Nomad server's HTTP API, for the sync bridge's end-to-end tests (no Nomad binary
 * exists on these machines). It reproduces what the bridge depends on, as Nomad's source has it
 * (hashicorp/nomad at aa026cc99c); each behaviour cites its source:
 * - `GET /v1/event/stream` (command/agent/event_endpoint.go → nomad/event_endpoint.go): 200 with
 *   NDJSON `{"Index":N,"Events":[…]}` lines, one per Raft index with every event of that index; `{}`
 *   at connect and every 30 s (nomad/stream/ndjson.go `NewJsonStream`: "sends an initial heartbeat",
 *   ticker of 30 s); `index` as the event buffer resolves it (./event-buffer.ts); `topic=Allocation`
 *   and `namespace` (`*` = the namespaces existing at subscribe time).
 * - Allocation events (nomad/state/events.go): Topic `Allocation`, Key the alloc ID, FilterKeys
 *   `[JobID, DeploymentID]`, Payload `{"Allocation":…}` with `Job` set to null; Type from the Raft
 *   message (`MsgTypeEvents`): `PlanResult` (ApplyPlanResultsRequestType: placements, stops, in-place
 *   updates), `AllocationUpdated` (AllocClientUpdateRequestType: client state), and
 *   `AllocationUpdateDesiredStatus` (AllocUpdateDesiredTransitionRequestType). Deleting an
 *   allocation (GC, `-purge`) emits no event (`eventFromChange` has no "allocs" case for deletions).
 *   Other writes (evaluations) take Raft indexes and buffer slots too, so alloc indexes have holes.
 * - `GET /v1/allocations` (command/agent/alloc_endpoint.go `AllocsRequest`, nomad/alloc_endpoint.go
 *   `List`): `AllocListStub`s (nomad/structs/alloc.go `Stub`), `task_states=false` drops TaskStates,
 *   `X-Nomad-Index` = the allocs table index, which a GC also raises.
 * - `GET /v1/allocation/<id>`: the full allocation, Job included; 404 `alloc not found`.
 * - `GET /v1/client/fs/ls/<alloc>?path=` (command/agent/fs_endpoint.go `DirectoryListRequest`):
 *   `AllocFileInfo`s; `GET /v1/client/fs/readat/<alloc>?path=&offset=&limit=` (`FileReadAtRequest`):
 *   the bytes of that range; `GET /v1/client/fs/logs/<alloc>?task=&type=&origin=&offset=&plain=`
 *   (`Logs`, client/fs_endpoint.go `logsImpl`): frames `{"Offset","Data","File"}` of at most 64 KiB
 *   (`streamFrameSize`), offsets per file, `origin=start` counting from the oldest file kept.
 * - Log files rotate as logmon rotates them (./log-files.ts).
 * - ACL: with a token configured, requests without it answer 403 `Permission denied`.
 * - `restart()`: the event buffer empties and every stream closes, as a server restart does (the
 *   broker is in memory); the Raft index and the state survive.
 * The JSON key order of the stand-in's answers is the project codec's (sorted); clients must not
 * depend on key order, and the bridge does not.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createTlsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { encodeJson, encodeString, isJsonObject, JsonNumber, type JsonObject } from "../../../src/json/codec.ts";
import { allocation, job, nowNanos, rfc3339, taskEvent, taskState } from "./allocation.ts";
import { EventBuffer, type StandInEvent } from "./event-buffer.ts";
import { RotatingLog, type RotationLimits } from "./log-files.ts";

const HEARTBEAT_MS = 30_000;
const FRAME_BYTES = 64 * 1024;

interface Subscriber {
  res: ServerResponse;
  next: number;
  topics: Set<string>;
  namespaces: Set<string> | "all";
}

interface StandInOptions {
  token?: string;
  bufferSize?: number;
  logs?: RotationLimits;
  /** Serve HTTPS and require a client certificate signed by `ca`, as a Nomad agent with `tls { http = true, verify_https_client = true }`. */
  tls?: { key: Buffer; cert: Buffer; ca: Buffer };
}

export class NomadStandIn {
  readonly allocs = new Map<string, JsonObject>();
  readonly namespaces = new Set(["default"]);
  readonly logs = new Map<string, RotatingLog>();
  readonly #buffer: EventBuffer;
  readonly #subscribers = new Set<Subscriber>();
  readonly #token?: string;
  readonly #logLimits: RotationLimits;
  readonly #tls?: StandInOptions["tls"];
  #index = 10n;
  /** Index of the last change to the allocs table (what list answers carry). */
  #allocsIndex = 1n;
  #server?: Server;
  #heartbeat?: NodeJS.Timeout;
  #ordinal = 0;
  /** Requests served, by path, so tests can see what a client did. */
  readonly requests: string[] = [];
  /**
   * Requests to these paths get no answer: the connection is reset instead, as a client sees it
   * when the server closed a kept-alive socket just as the request went out, or restarted. Each
   * entry is used up by one request.
   */
  readonly resets: string[] = [];

  constructor(options: StandInOptions = {}) {
    this.#buffer = new EventBuffer(options.bufferSize);
    this.#token = options.token;
    this.#logLimits = options.logs ?? { maxFileSize: 10 * 1024 * 1024, maxFiles: 10 };
    this.#tls = options.tls;
  }

  get url(): string {
    const address = this.#server?.address() as AddressInfo;
    return `${this.#tls ? "https" : "http"}://127.0.0.1:${address.port}`;
  }

  get index(): bigint {
    return this.#index;
  }

  get bufferedIndexes(): number {
    return this.#buffer.length;
  }

  async start(port = 0): Promise<void> {
    const handler = (req: IncomingMessage, res: ServerResponse) => this.#handle(req, res);
    this.#server = this.#tls
      ? createTlsServer({ ...this.#tls, requestCert: true, rejectUnauthorized: true }, handler)
      : createServer(handler);
    await new Promise<void>((resolve) => this.#server?.listen(port, "127.0.0.1", resolve));
    this.#heartbeat = setInterval(() => {
      for (const sub of this.#subscribers) sub.res.write("{}\n");
    }, HEARTBEAT_MS);
  }

  async stop(): Promise<void> {
    clearInterval(this.#heartbeat);
    for (const sub of this.#subscribers) sub.res.destroy();
    this.#subscribers.clear();
    this.#server?.closeAllConnections();
    await new Promise<void>((resolve) => this.#server?.close(() => resolve()));
  }

  /** A server restart: the in-memory event buffer is gone and every stream is closed. */
  restart(): void {
    this.#buffer.clear();
    for (const sub of this.#subscribers) sub.res.destroy();
    this.#subscribers.clear();
  }

  // ---- cluster changes (each one Raft index) ----

  #commit(type: string, changed: JsonObject[]): bigint {
    const index = ++this.#index;
    const events: StandInEvent[] = changed.map((alloc) => {
      alloc.ModifyIndex = JsonNumber.of(index);
      alloc.ModifyTime = JsonNumber.of(nowNanos());
      this.allocs.set(String(alloc.ID), alloc);
      return {
        Topic: "Allocation",
        Type: type,
        Key: String(alloc.ID),
        Namespace: String(alloc.Namespace),
        FilterKeys: [String(alloc.JobID), String(alloc.DeploymentID ?? "")],
        Index: index,
        Payload: encodeJson({ Allocation: { ...alloc, Job: null } }),
      };
    });
    this.#allocsIndex = index;
    this.#publish(index, events);
    return index;
  }

  #publish(index: bigint, events: StandInEvent[]): void {
    this.#buffer.append(index, events);
    for (const sub of this.#subscribers) this.#flush(sub);
  }

  /** Other writes (e.g. evaluations): they take Raft indexes and event-buffer slots too. */
  otherWrites(count: number): void {
    for (let i = 0; i < count; i++) {
      const index = ++this.#index;
      const id = crypto.randomUUID();
      this.#publish(index, [
        {
          Topic: "Evaluation",
          Type: "EvaluationUpdated",
          Key: id,
          Namespace: "default",
          FilterKeys: null,
          Index: index,
          Payload: `{"Evaluation":{"ID":"${id}"}}`,
        },
      ]);
    }
  }

  /** Places `count` allocations of a job in one plan (`PlanResult`). */
  place(count: number, options: { namespace?: string; jobId?: string; tasks?: string[] } = {}): string[] {
    const namespace = options.namespace ?? "default";
    this.namespaces.add(namespace);
    const index = this.#index + 1n;
    const spec = job(namespace, options.jobId ?? `job-${this.#ordinal}`, 0, options.tasks ?? ["app"], index);
    const created = Array.from({ length: count }, () => {
      const time = nowNanos();
      return allocation({ id: crypto.randomUUID(), namespace, job: spec, index, ordinal: this.#ordinal++, time });
    });
    this.#commit("PlanResult", created);
    return created.map((a) => String(a.ID));
  }

  #alloc(id: string): JsonObject {
    const alloc = this.allocs.get(id);
    if (!alloc) throw new Error(`no allocation ${id}`);
    return alloc;
  }

  /** The client reports its tasks (`AllocationUpdated`): running, or dead (complete). */
  clientUpdate(ids: string[], status: "running" | "complete"): bigint {
    const changed = ids.map((id) => {
      const alloc = this.#alloc(id);
      const spec = alloc.Job as JsonObject;
      const group = (spec.TaskGroups as JsonObject[])[0] as JsonObject;
      const now = nowNanos();
      const states: JsonObject = {};
      const previous = isJsonObject(alloc.TaskStates) ? alloc.TaskStates : {};
      for (const task of group.Tasks as JsonObject[]) {
        const name = String(task.Name);
        const before = previous[name];
        const startedAt = isJsonObject(before) && before.StartedAt !== "0001-01-01T00:00:00Z" ? String(before.StartedAt) : rfc3339(now);
        const events = [
          taskEvent("Received", now - 3000n),
          taskEvent("Task Setup", now - 2000n, "Building Task Directory"),
          taskEvent("Started", now - 1000n),
        ];
        if (status === "complete") events.push(taskEvent("Terminated", now, "Exit Code: 0"));
        const state = taskState(status === "running" ? "running" : "dead", now - 1000n, events);
        state.StartedAt = startedAt;
        states[name] = state;
      }
      return { ...alloc, TaskStates: states, ClientStatus: status };
    });
    return this.#commit("AllocationUpdated", changed);
  }

  /** `nomad alloc stop`: a desired transition (`AllocationUpdateDesiredStatus`). */
  desiredTransition(ids: string[]): bigint {
    return this.#commit(
      "AllocationUpdateDesiredStatus",
      ids.map((id) => ({ ...this.#alloc(id), DesiredTransition: { Migrate: true, Reschedule: null, ForceReschedule: null } })),
    );
  }

  /** The scheduler stops allocations (`PlanResult`: a server-side change, AllocModifyIndex moves). */
  stopByPlan(ids: string[]): bigint {
    const index = this.#index + 1n;
    return this.#commit(
      "PlanResult",
      ids.map((id) => ({
        ...this.#alloc(id),
        DesiredStatus: "stop",
        DesiredDescription: "alloc is being migrated",
        AllocModifyIndex: JsonNumber.of(index),
      })),
    );
  }

  /** An in-place job update (`PlanResult`): a new Job version on the allocation, AllocModifyIndex moves. */
  updateJob(ids: string[]): bigint {
    const index = this.#index + 1n;
    return this.#commit(
      "PlanResult",
      ids.map((id) => {
        const alloc = this.#alloc(id);
        const spec = { ...(alloc.Job as JsonObject) };
        spec.Version = JsonNumber.of(Number((spec.Version as JsonNumber).raw) + 1);
        spec.ModifyIndex = JsonNumber.of(index);
        spec.JobModifyIndex = JsonNumber.of(index);
        spec.Meta = { owner: "team-b" };
        return { ...alloc, Job: spec, AllocModifyIndex: JsonNumber.of(index) };
      }),
    );
  }

  /** Garbage collection: the allocations are deleted; the allocs index moves; no event. */
  gc(ids: string[]): void {
    const index = ++this.#index;
    for (const id of ids) {
      this.allocs.delete(id);
      for (const key of this.logs.keys()) if (key.startsWith(`${id}/`)) this.logs.delete(key);
    }
    this.#allocsIndex = index;
  }

  /** The task writes to its stdout/stderr (through logmon's rotator). */
  writeLog(id: string, task: string, type: "stdout" | "stderr", data: Buffer | string): void {
    const key = `${id}/${task}/${type}`;
    const log = this.logs.get(key) ?? new RotatingLog(this.#logLimits);
    this.logs.set(key, log);
    log.write(Buffer.from(data));
  }

  // ---- HTTP ----

  #handle(req: IncomingMessage, res: ServerResponse): unknown {
    const url = new URL(req.url ?? "/", "http://standin");
    this.requests.push(url.pathname);
    const reset = this.resets.indexOf(url.pathname);
    if (reset >= 0) {
      this.resets.splice(reset, 1);
      return req.socket.destroy();
    }
    const send = (status: number, body: string | Buffer, headers: Record<string, string> = {}) => {
      res.writeHead(status, { "Content-Type": status === 200 ? "application/json" : "text/plain; charset=utf-8", ...headers });
      res.end(body);
    };
    if (this.#token !== undefined && req.headers["x-nomad-token"] !== this.#token) return send(403, "Permission denied");
    const path = url.pathname;
    const q = url.searchParams;
    if (path === "/v1/event/stream") return this.#stream(q, res);
    if (path === "/v1/allocations") {
      const ns = q.get("namespace") || "default";
      const withStates = q.get("task_states") !== "false";
      const stubs = [...this.allocs.values()]
        .filter((a) => ns === "*" || a.Namespace === ns)
        .sort((a, b) => String(a.ID).localeCompare(String(b.ID)))
        .map((a) => stub(a, withStates));
      return send(200, encodeJson(stubs), { "X-Nomad-Index": String(this.#allocsIndex) });
    }
    if (path.startsWith("/v1/allocation/")) {
      const alloc = this.allocs.get(path.slice("/v1/allocation/".length));
      if (!alloc) return send(404, "alloc not found");
      return send(200, encodeJson(alloc), { "X-Nomad-Index": (alloc.ModifyIndex as JsonNumber).raw });
    }
    const fs = /^\/v1\/client\/fs\/(ls|readat|logs)\/([^/]+)$/.exec(path);
    if (fs) return this.#fs(fs[1] as string, fs[2] as string, q, send);
    send(404, "404 page not found");
  }

  #files(allocId: string): Map<string, Buffer> {
    const out = new Map<string, Buffer>();
    for (const [key, log] of this.logs) {
      const [id, task, type] = key.split("/");
      if (id !== allocId) continue;
      for (const [n, data] of log.files) out.set(`${task}.${type}.${n}`, data);
    }
    return out;
  }

  #fs(kind: string, allocId: string, q: URLSearchParams, send: (status: number, body: string | Buffer) => unknown): unknown {
    if (!this.allocs.has(allocId)) return send(404, `Unknown allocation "${allocId}"`);
    const files = this.#files(allocId);
    if (kind === "ls") {
      if (q.get("path") !== "alloc/logs") return send(200, "[]");
      const infos = [...files].map(([name, data]) => ({
        Name: name,
        IsDir: false,
        Size: JsonNumber.of(data.length),
        FileMode: "-rw-r--r--",
        ModTime: rfc3339(nowNanos()),
        ContentType: "text/plain; charset=utf-8",
      }));
      return send(200, encodeJson(infos));
    }
    if (kind === "readat") {
      const name = (q.get("path") ?? "").replace(/^alloc\/logs\//, "");
      const data = files.get(name);
      if (!data) return send(500, `stat failed: open alloc/logs/${name}: no such file or directory`);
      const offset = Number(q.get("offset") ?? "0");
      const limit = q.get("limit") ? Number(q.get("limit")) : data.length;
      return send(200, data.subarray(offset, offset + limit));
    }
    // logs (not following): frames over the files of the task's stream, oldest first.
    const task = q.get("task");
    const type = q.get("type");
    if (!task) return send(400, "must provide task name");
    if (type !== "stdout" && type !== "stderr") return send(400, "must provide log type (stdout/stderr)");
    const mine = [...files]
      .filter(([name]) => name.startsWith(`${task}.${type}.`))
      .sort(([a], [b]) => Number(a.split(".").pop()) - Number(b.split(".").pop()));
    let frames = "";
    let plain = Buffer.alloc(0);
    for (const [name, data] of mine) {
      for (let at = 0; at < data.length; at += FRAME_BYTES) {
        const chunk = data.subarray(at, at + FRAME_BYTES);
        plain = Buffer.concat([plain, chunk]);
        frames += `{"Offset":${at + chunk.length},"Data":${encodeString(chunk.toString("base64"))},"File":${encodeString(`alloc/logs/${name}`)}}`;
      }
    }
    send(200, q.get("plain") === "true" ? plain : frames);
  }

  #stream(q: URLSearchParams, res: ServerResponse): void {
    const topics = new Set(q.getAll("topic").map((t) => t.split(":")[0] as string));
    const ns = q.get("namespace") || "default";
    const sub: Subscriber = {
      res,
      next: this.#buffer.startAt(BigInt(q.get("index") || "0")),
      topics: topics.size === 0 ? new Set(["*"]) : topics,
      namespaces: ns === "*" ? new Set(this.namespaces) : new Set([ns]),
    };
    res.writeHead(200, { "Content-Type": "application/json", "Cache-Control": "no-cache" });
    res.write("{}\n");
    this.#subscribers.add(sub);
    res.on("close", () => this.#subscribers.delete(sub));
    this.#flush(sub);
  }

  #flush(sub: Subscriber): void {
    for (const item of this.#buffer.from(sub.next)) {
      sub.next = item.seq + 1;
      const events = item.events.filter(
        (e) => (sub.topics.has("*") || sub.topics.has(e.Topic)) && (sub.namespaces === "all" || sub.namespaces.has(e.Namespace)),
      );
      if (events.length === 0) continue;
      const encoded = events.map(
        (e) =>
          `{"Topic":${encodeString(e.Topic)},"Type":${encodeString(e.Type)},"Key":${encodeString(e.Key)},"Namespace":${encodeString(e.Namespace)},` +
          `"FilterKeys":${e.FilterKeys ? encodeJson(e.FilterKeys) : "null"},"Index":${e.Index},"Payload":${e.Payload}}`,
      );
      sub.res.write(`{"Index":${item.index},"Events":[${encoded.join(",")}]}\n`);
    }
  }
}

/**
 * Nomad's own `Allocation.Stub()` as a current Nomad lists it (more fields than the edge's
 * src/domain/alloc-stub.ts). Deliberately not shared with that module: the stand-in plays Nomad to
 * test the bridge and the edge, so it must not be built from the code under test.
 */
function stub(alloc: JsonObject, withStates: boolean): JsonObject {
  const spec = alloc.Job as JsonObject;
  const fields = [
    "ID",
    "EvalID",
    "Name",
    "Namespace",
    "NodeID",
    "NodeName",
    "JobID",
    "TaskGroup",
    "DesiredStatus",
    "DesiredDescription",
    "ClientStatus",
    "ClientDescription",
    "DesiredTransition",
    "TaskStates",
    "FollowupEvalID",
    "NextAllocation",
    "PreemptedAllocations",
    "PreemptedByAllocation",
    "CreateIndex",
    "ModifyIndex",
    "CreateTime",
    "ModifyTime",
  ];
  const out: JsonObject = {};
  for (const field of fields) out[field] = alloc[field] ?? null;
  out.JobType = spec.Type ?? "";
  out.JobVersion = spec.Version ?? JsonNumber.of(0);
  out.DeploymentStatus = null;
  out.RescheduleTracker = null;
  if (!withStates) out.TaskStates = null;
  return out;
}
