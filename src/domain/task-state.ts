/**
 * Nomad's task tracking rules, applied to the wire form of an allocation (pure functions).
 * Sources: Nomad's client `setTaskState`/`appendTaskEvent` (0.5.6 with the 0.6 FinishedAt fix)
 * and `getClientStatus`.
 */
import { CodedError, RefusalText } from "../errors.ts";
import { isJsonObject, JsonNumber, type JsonObject } from "../json/codec.ts";
import { formatUnixNanos, ZERO_TIME } from "../json/go-time.ts";
import { displayMessage } from "./display-message.ts";
import type { TaskStateName } from "./schemas.ts";
import { zeroValue } from "./validate.ts";

const UINT64_MAX = (1n << 64n) - 1n;

/** Nomad keeps the latest 10 events per task. */
const MAX_TASK_EVENTS = 10;

/** The state an event moves its task to when the sender does not say (docs/nomad-compatibility.md, Task-state tracking). */
const STATE_BY_EVENT_TYPE: Record<string, TaskStateName> = {
  Received: "pending",
  "Task Setup": "pending",
  Driver: "pending",
  "Downloading Artifacts": "pending",
  Restarting: "pending",
  Started: "running",
  "Setup Failure": "dead",
  "Failed Validation": "dead",
  "Not Restarting": "dead",
  Killed: "dead",
};

export interface TaskEventUpdate {
  Task: string;
  Event: JsonObject;
  State?: TaskStateName;
}

function newTaskState(): JsonObject {
  const state = zeroValue({ $ref: "#/components/schemas/TaskState" }) as JsonObject;
  state.State = "pending";
  return state;
}

function nanosOf(event: JsonObject): bigint {
  const time = event.Time;
  return time instanceof JsonNumber ? time.toBigInt() : 0n;
}

/** The task names of the allocation's task group; an event for any other task is rejected. */
export function taskNames(allocation: JsonObject): Set<string> {
  const job = allocation.Job;
  const groupName = allocation.TaskGroup;
  const groups = isJsonObject(job) && Array.isArray(job.TaskGroups) ? job.TaskGroups : [];
  const group = groups.find((g) => isJsonObject(g) && g.Name === groupName);
  if (!isJsonObject(group)) throw new CodedError(400, "Failed to lookup task group for allocation");
  const tasks = Array.isArray(group.Tasks) ? group.Tasks : [];
  return new Set(tasks.flatMap((task) => (isJsonObject(task) && typeof task.Name === "string" ? [task.Name] : [])));
}

/**
 * Applies one event to a task state (mutating `state`), exactly in Nomad's order: the event is
 * appended first, then the state transition sets StartedAt/FinishedAt.
 */
function applyTaskEvent(state: JsonObject, event: JsonObject, explicitState: TaskStateName | undefined, now: bigint): void {
  if (nanosOf(event) === 0n) event.Time = JsonNumber.of(now);
  const time = nanosOf(event);
  if (event.DisplayMessage === "") event.DisplayMessage = displayMessage(event);
  if (event.Details === null) event.Details = Object.create(null) as JsonObject;

  if (event.FailsTask === true) state.Failed = true;
  const type = event.Type as string;
  if (type === "Restarting") {
    const restarts = state.Restarts instanceof JsonNumber ? state.Restarts.toBigInt() : 0n;
    // TaskState.Restarts is a uint64: one more would not fit (Go would wrap it to 0).
    if (restarts >= UINT64_MAX) throw new CodedError(400, "invalid event Restarting: TaskState.Restarts is at the uint64 maximum");
    state.Restarts = JsonNumber.of(restarts + 1n);
    state.LastRestart = formatUnixNanos(time);
  }
  const events = Array.isArray(state.Events) ? state.Events : [];
  events.push(event);
  state.Events = events.slice(-MAX_TASK_EVENTS);

  const previous = state.State as TaskStateName;
  const next = explicitState ?? STATE_BY_EVENT_TYPE[type] ?? previous;
  if (next === "running" && previous !== "running") state.StartedAt = formatUnixNanos(time);
  // Only a task that started can finish (Nomad 0.6+); a never-started task keeps the zero time.
  if (next === "dead" && previous !== "dead" && state.StartedAt !== ZERO_TIME) state.FinishedAt = formatUnixNanos(time);
  state.State = next;
}

/** The allocation's ClientStatus and ClientDescription, as Nomad's client derives them. */
function clientStatus(taskStates: JsonObject): [string, string] | undefined {
  let failed = false;
  let running = false;
  let pending = false;
  let dead = false;
  for (const state of Object.values(taskStates)) {
    if (!isJsonObject(state)) continue;
    if (state.State === "running") running = true;
    else if (state.State === "pending") pending = true;
    else if (state.State === "dead") {
      if (state.Failed === true) failed = true;
      else dead = true;
    }
  }
  if (failed) return ["failed", "Failed tasks"];
  if (running) return ["running", "Tasks are running"];
  if (pending) return ["pending", "No tasks have started"];
  if (dead) return ["complete", "All tasks have completed"];
  return undefined;
}

/**
 * Applies a batch of events to the allocation (mutating it) as one change. Rejects the whole batch,
 * before touching anything, if any task is not in the allocation's task group.
 */
export function applyTaskEvents(allocation: JsonObject, updates: TaskEventUpdate[], now: bigint): void {
  const known = taskNames(allocation);
  const group = allocation.TaskGroup as string;
  for (const update of updates) {
    if (!known.has(update.Task)) {
      throw new CodedError(400, RefusalText.taskNotInGroup(group, update.Task));
    }
  }
  const states: JsonObject = isJsonObject(allocation.TaskStates) ? allocation.TaskStates : Object.create(null);
  for (const update of updates) {
    const state = isJsonObject(states[update.Task]) ? (states[update.Task] as JsonObject) : newTaskState();
    applyTaskEvent(state, update.Event, update.State, now);
    states[update.Task] = state;
  }
  allocation.TaskStates = states;
  const status = clientStatus(states);
  if (status) [allocation.ClientStatus, allocation.ClientDescription] = status;
}
