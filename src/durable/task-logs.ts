/**
 * The task logs of one allocation, as its object serves them: appends (in order, with the writer's
 * offset precondition), log streams and their followers, each checked against the allocation and
 * its task states first with the refusals Nomad's logs API gives. Log appends never change the
 * allocation's index.
 */
import { allowsNamespace } from "../acl/policy.ts";
import { namespaceOf } from "../domain/namespace.ts";
import { taskNames } from "../domain/task-state.ts";
import { ErrorText, RefusalText } from "../errors.ts";
import { isJsonObject, type JsonObject } from "../json/codec.ts";
import { ZERO_TIME } from "../json/go-time.ts";
import { type LogQuery, logOffsetMismatch, type Refusal, refusalOf } from "./contract.ts";
import { LogStore, type LogType } from "./log-store.ts";
import { type LogFollower, openLogStream, type SharedLogReads } from "./log-stream.ts";

/** Default bytes kept per log stream when LOG_RETENTION_BYTES is unset: 10 MiB. */
const DEFAULT_LOG_RETENTION = 10 * 1024 * 1024;

export function logRetention(env: Env): number {
  return Number(env.LOG_RETENTION_BYTES) || DEFAULT_LOG_RETENTION;
}

export class TaskLogs {
  readonly #storage: DurableObjectStorage;
  readonly #allocation: () => JsonObject | null;
  readonly #store: LogStore;
  /** The streams' shared reads. */
  readonly reads: SharedLogReads;
  /** Streams that follow appends: woken by appends and by allocation changes. */
  readonly followers = new Set<LogFollower>();

  /**
   * `allocation` answers the allocation's current decoded document (null when there is none);
   * `sharedReads` makes the streams' shared reads over the store.
   */
  constructor(storage: DurableObjectStorage, allocation: () => JsonObject | null, sharedReads: (store: LogStore) => SharedLogReads) {
    this.#storage = storage;
    this.#allocation = allocation;
    this.#store = new LogStore(storage.sql);
    this.reads = sharedReads(this.#store);
  }

  /** The refusal Nomad's logs API gives for `task` of allocation `id`, or undefined to proceed. */
  #refusal(id: string, task: string, requireStarted: boolean, access?: LogQuery["access"]): Refusal | undefined {
    const allocation = this.#allocation();
    if (!allocation) return { ok: false, status: 404, message: RefusalText.unknownAllocation(id) };
    // Nomad checks read-logs/read-fs in the allocation's namespace once it found the allocation.
    if (access && !allowsNamespace(access.acl, namespaceOf(allocation), access.anyOf)) {
      return { ok: false, status: 403, message: ErrorText.permissionDenied };
    }
    let known: Set<string>;
    try {
      known = taskNames(allocation);
    } catch (error) {
      return refusalOf(error);
    }
    if (!known.has(task)) return { ok: false, status: 400, message: RefusalText.unknownTask(task) };
    if (!requireStarted) return undefined;
    const states = isJsonObject(allocation.TaskStates) ? allocation.TaskStates : {};
    const state = states[task];
    if (!isJsonObject(state) || state.StartedAt === ZERO_TIME) {
      return { ok: false, status: 404, message: RefusalText.taskNotStarted(task) };
    }
    return undefined;
  }

  #taskFinished(task: string): boolean {
    const allocation = this.#allocation();
    if (!allocation) return true;
    const states = isJsonObject(allocation.TaskStates) ? allocation.TaskStates : {};
    const state = states[task];
    return isJsonObject(state) && state.State === "dead";
  }

  /**
   * Appends bytes to a task's stream of allocation `id` and answers its new end offset; with
   * `expected`, only when exactly that many bytes were appended before (else a 409 with the
   * current total). `remember` runs inside the append's transaction with the new end.
   */
  append(
    id: string,
    task: string,
    type: LogType,
    bytes: Uint8Array,
    retention: number,
    expected: number | undefined,
    remember: (end: number) => void,
  ): { ok: true; offset: number } | Refusal {
    const refusal = this.#refusal(id, task, false);
    if (refusal) return refusal;
    if (expected !== undefined) {
      const { end } = this.#store.bounds(task, type);
      if (end !== expected) return logOffsetMismatch(expected, end);
    }
    const offset = this.#storage.transactionSync(() => {
      const end = this.#store.append(task, type, bytes, retention);
      remember(end);
      return end;
    });
    for (const follower of this.followers) {
      if (follower.task === task && follower.type === type) follower.wake();
    }
    return { ok: true, offset };
  }

  /** Opens a task's log stream of allocation `id`, or refuses (checked before any byte is sent). */
  open(id: string, query: LogQuery, signal?: AbortSignal): { ok: true; stream: ReadableStream<Uint8Array> } | Refusal {
    const refusal = this.#refusal(id, query.task, true, query.access);
    if (refusal) return refusal;
    const { floor, end } = this.#store.bounds(query.task, query.type);
    const requested = query.origin === "end" ? end - query.offset : query.offset;
    const start = Math.min(Math.max(requested, floor), end);
    const stream = openLogStream({
      store: this.#store,
      reads: this.reads,
      task: query.task,
      type: query.type,
      start,
      follow: query.follow,
      plain: query.plain,
      finished: () => this.#taskFinished(query.task),
      followers: this.followers,
      signal,
    });
    return { ok: true, stream };
  }

  /** Drops every stored log (the allocation is deleted); call inside the delete's transaction. */
  clear(): void {
    this.#store.clear();
  }

  /** Wakes every follower, to re-check whether its task died or the allocation is gone. */
  wakeAll(): void {
    for (const follower of this.followers) follower.wake();
  }
}
