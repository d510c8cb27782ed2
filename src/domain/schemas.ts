/**
 * The wire schemas, named and shaped as Nomad names them (Nomad 0.5.6, plus the fields
 * its allocation API page omits and the TaskEvent fields of 0.7). Consumers:
 * - `validate.ts` checks write bodies against them and fills Go zero values;
 * - `src/openapi` publishes them as the OpenAPI `components.schemas`.
 * There is no other copy: change a field here and both follow.
 */
import { type Schema, struct, t, withRequired } from "./schema-dsl.ts";

/** Task event types: the exact strings Nomad's client writes, and what each one means. */
export const TASK_EVENT_TYPES: Record<string, string> = {
  Received: "The task has been pulled by the client at the given timestamp. Moves the task to `pending`.",
  "Task Setup": "Task setup messages (`Message` is e.g. `Building Task Directory`). Moves the task to `pending`.",
  Driver: "A message from the driver (`DriverMessage`, e.g. image-pull progress). Moves the task to `pending`.",
  "Setup Failure":
    "The task could not be started because there was a failure setting up the task prior to it running (`SetupError`, usually `FailsTask`). Moves the task to `dead`.",
  "Failed Validation": "The task was invalid and as such it didn't run (`ValidationError`, `FailsTask`). Moves the task to `dead`.",
  "Downloading Artifacts": "The task is downloading the artifact(s) specified in the task. Moves the task to `pending`.",
  "Failed Artifact Download":
    "Artifact(s) specified in the task failed to download (`DownloadError`). No state change; the restart policy decides.",
  "Driver Failure":
    "The task could not be started due to a failure in the driver (`DriverError`). No state change; the restart policy decides.",
  Started: "The task was started; either for the first time or due to a restart. Moves the task to `running` and sets `StartedAt`.",
  Terminated:
    "The task was started and exited (`ExitCode`, `Signal`, `Message`). No state change; a `Restarting` or `Not Restarting` event follows.",
  Restarting:
    "The task terminated and is being restarted (`StartDelay`, `RestartReason`). Moves the task to `pending`, increments `Restarts` and sets `LastRestart`.",
  "Not Restarting":
    "The task has failed and is not being restarted because it has exceeded its restart policy (`RestartReason`, `FailsTask`). Moves the task to `dead`.",
  "Restart Signaled": "The task was signalled to be restarted (`RestartReason`). No state change.",
  Signaling: "The task is being sent a signal (`TaskSignal`, `TaskSignalReason`). No state change.",
  Killing:
    "The task has been sent the kill signal (`KillTimeout`, `KillReason`, optionally `FailsTask`). No state change: the task is still running.",
  Killed: "The task was killed by a user (`KillError` is empty on success). Moves the task to `dead`.",
  "Sibling Task Failed": "A task in the same task group failed (`FailedSibling`). No state change; `Killing` and `Killed` follow.",
  "Leader Task Dead": "The group's leader task is dead. No state change; `Killing` and `Killed` follow.",
  "Building Task Directory": "A task-directory setup message (Nomad uses it as the `Message` of `Task Setup`). No state change.",
  "Disk Resources Exceeded": "The task exceeded its ephemeral disk (`DiskLimit`). No state change.",
  Generic: "A generic event from a plugin (`GenericSource`, `Message`). No state change.",
  "Task hook failed": "A task lifecycle hook failed (newer Nomad). No state change.",
  "Task hook message": "A message from a task lifecycle hook (newer Nomad). No state change.",
  "Main Tasks Dead": "All main tasks of the group are dead, so sidecar tasks are stopped (newer Nomad). No state change.",
  "Failed Restoring Task": "The client failed to restore the task after a restart (newer Nomad). No state change.",
  "Plugin became unhealthy": "The task's driver plugin became unhealthy (newer Nomad). No state change.",
  "Plugin became healthy": "The task's driver plugin became healthy again (newer Nomad). No state change.",
  Reconnected: "The client reconnected after a disconnect (newer Nomad). No state change.",
  "Waiting for shutdown delay": "The task waits for its shutdown delay before being killed (newer Nomad). No state change.",
  "Skipping shutdown delay": "The shutdown delay was skipped (newer Nomad). No state change.",
  Running: "The task is running (newer Nomad, schedules). No state change.",
  Pausing: "The task is being paused by its schedule (newer Nomad). No state change.",
};

const TASK_STATES = ["pending", "running", "dead"] as const;
export type TaskStateName = (typeof TASK_STATES)[number];

const port = struct("A port: a label and its number.", {
  Label: t.string("Port label referenced by tasks and services."),
  Value: t.int("Port number."),
});

const networkResource = struct("A network interface and the ports reserved or assigned on it.", {
  Device: t.string("Name of the device."),
  CIDR: t.string("CIDR block of addresses."),
  IP: t.string("Host IP address."),
  MBits: t.int("Throughput in megabits per second."),
  ReservedPorts: t.list(t.ref("Port"), "Statically reserved ports."),
  DynamicPorts: t.list(t.ref("Port"), "Dynamically assigned ports."),
});

const resources = struct("Resources requested by a task or consumed by an allocation.", {
  CPU: t.int("CPU in MHz."),
  MemoryMB: t.int("Memory in MB."),
  DiskMB: t.int("Disk in MB."),
  IOPS: t.int("Disk I/O operations per second."),
  Networks: t.list(t.ref("NetworkResource"), "Network interfaces and ports."),
});

const constraint = struct("A placement constraint.", {
  LTarget: t.string("Left-hand side, e.g. `${attr.kernel.name}`."),
  RTarget: t.string("Right-hand side, e.g. `linux`."),
  Operand: t.string("Operator, e.g. `=`, `!=`, `regexp`, `version`, `distinct_hosts`."),
});

const updateStrategy = struct("How updates of the job are rolled out.", {
  Stagger: t.duration("Delay between updates."),
  MaxParallel: t.int("How many allocations are updated at once."),
});

const restartPolicy = struct("How the client restarts a failed task.", {
  Attempts: t.int("Restarts allowed within `Interval`."),
  Interval: t.duration("The window over which `Attempts` is counted."),
  Delay: t.duration("Wait before a restart."),
  Mode: t.string("`delay` or `fail` once attempts are exhausted."),
});

const ephemeralDisk = struct("The task group's ephemeral disk.", {
  Sticky: t.bool("Try to place replacement allocations on the same node."),
  SizeMB: t.int("Size in MB."),
  Migrate: t.bool("Migrate the data to a new node on replacement."),
});

const serviceCheck = struct("A health check of a service.", {
  Name: t.string("Check name."),
  Type: t.string("`http`, `tcp` or `script`."),
  Command: t.string("Command of a script check."),
  Args: t.list({ type: "string" }, "Arguments of a script check."),
  Path: t.string("HTTP path of an http check."),
  Protocol: t.string("`http` or `https`."),
  PortLabel: t.string("Port label the check targets."),
  Interval: t.duration("Check interval."),
  Timeout: t.duration("Check timeout."),
  InitialStatus: t.string("Status before the first check runs."),
  TLSSkipVerify: t.bool("Skip TLS verification of an https check."),
});

const service = struct("A service registered in Consul for a task.", {
  Name: t.string("Service name."),
  PortLabel: t.string("Port label of the service."),
  Tags: t.list({ type: "string" }, "Service tags."),
  Checks: t.list(t.ref("ServiceCheck"), "Health checks."),
});

const logConfig = struct("Log rotation of a task.", {
  MaxFiles: t.int("How many rotated files are kept."),
  MaxFileSizeMB: t.int("Size of one file before rotation."),
});

const task = struct("A task: one unit of work run by a driver.", {
  Name: t.string("Task name, unique in its group; the key of `TaskStates`."),
  Driver: t.string("Driver that runs the task, e.g. `docker`, `exec`."),
  User: t.string("User the task runs as."),
  Config: t.map(t.any("A driver-specific value."), "Driver configuration, kept as sent."),
  Env: t.map({ type: "string" }, "Environment variables."),
  Services: t.list(t.ref("Service"), "Services the task registers."),
  Vault: { type: ["object", "null"], additionalProperties: true, description: "Vault policies and settings, kept as sent." },
  Templates: t.list({ type: "object", additionalProperties: true }, "Templates rendered for the task, kept as sent."),
  Constraints: t.list(t.ref("Constraint"), "Task-level constraints."),
  Resources: t.ptr("Resources", "Resources the task asks for."),
  DispatchPayload: {
    type: ["object", "null"],
    additionalProperties: true,
    description: "Where a dispatch payload is written, kept as sent.",
  },
  Meta: t.map({ type: "string" }, "Free-form metadata."),
  KillTimeout: t.duration("Time between the kill signal and a forced kill."),
  LogConfig: t.ptr("LogConfig", "Log rotation."),
  Artifacts: t.list({ type: "object", additionalProperties: true }, "Artifacts downloaded before start, kept as sent."),
  Leader: t.bool("Whether this is the group's leader task."),
});

const taskGroup = struct("A group of tasks placed together in one allocation.", {
  Name: t.string("Group name; an allocation's `TaskGroup` names one."),
  Count: t.int("How many allocations of this group are wanted."),
  Constraints: t.list(t.ref("Constraint"), "Group-level constraints."),
  RestartPolicy: t.ptr("RestartPolicy", "How failed tasks are restarted."),
  Tasks: t.list(t.ref("Task"), "The group's tasks."),
  EphemeralDisk: t.ptr("EphemeralDisk", "The group's ephemeral disk."),
  Meta: t.map({ type: "string" }, "Free-form metadata."),
});

const job = struct("The job the allocation belongs to, as it was when the allocation was made.", {
  Region: t.string("Region of the job."),
  ID: t.string("Job ID."),
  ParentID: t.string("ID of the parent job for periodic and dispatched jobs."),
  Name: t.string("Job name."),
  Type: t.string("`service`, `batch` or `system`."),
  Priority: t.int("Scheduling priority, 1 to 100."),
  AllAtOnce: t.bool("Place all allocations at once or none."),
  Datacenters: t.list({ type: "string" }, "Datacenters the job may run in."),
  Constraints: t.list(t.ref("Constraint"), "Job-level constraints."),
  TaskGroups: t.list(t.ref("TaskGroup"), "The job's task groups."),
  Update: t.val("UpdateStrategy", "Rolling update strategy."),
  Periodic: { type: ["object", "null"], additionalProperties: true, description: "Periodic configuration, kept as sent." },
  ParameterizedJob: { type: ["object", "null"], additionalProperties: true, description: "Parameterized job configuration, kept as sent." },
  Payload: t.bytes("Dispatch payload (base64)."),
  Version: {
    ...t.uint(
      "Version of the job (Nomad 0.6 and later; the list stub's `JobVersion`). Checked as Go's uint64 when sent; not added when absent.",
    ),
    "x-checked-when-present": true,
  },
  Meta: t.map({ type: "string" }, "Free-form metadata."),
  VaultToken: t.string("Vault token used to submit the job (normally empty in reads)."),
  Status: t.string("Job status: `pending`, `running` or `dead`."),
  StatusDescription: t.string("Human-readable status detail."),
  CreateIndex: t.uint("Index at which the job was created."),
  ModifyIndex: t.uint("Index at which the job was last modified."),
  JobModifyIndex: t.uint("Index at which the job specification last changed."),
});

const allocMetric = struct("Scheduler metrics of the placement that created the allocation.", {
  NodesEvaluated: t.int("Nodes evaluated."),
  NodesFiltered: t.int("Nodes filtered out by constraints."),
  NodesAvailable: t.map(t.int("Nodes."), "Available nodes per datacenter."),
  ClassFiltered: t.map(t.int("Nodes."), "Nodes filtered per node class."),
  ConstraintFiltered: t.map(t.int("Nodes."), "Nodes filtered per constraint."),
  NodesExhausted: t.int("Nodes skipped for lack of resources."),
  ClassExhausted: t.map(t.int("Nodes."), "Exhausted nodes per node class."),
  DimensionExhausted: t.map(t.int("Nodes."), "Exhausted nodes per resource dimension."),
  Scores: t.map(t.float("Score."), "Score of each node and scoring step, e.g. `<node>.binpack`."),
  AllocationTime: t.duration("Time spent placing the allocation."),
  CoalescedFailures: t.int("Identical failed placements folded into this one."),
});

/**
 * Characters in any one string of a task event (and in each `Details` value). Nomad has no such
 * limit; here it bounds what one event adds to the stored document (`DisplayMessage` may repeat a
 * message), with the document cap (src/durable/document-cap.ts) bounding the total.
 */
export const MAX_EVENT_STRING = 8192;
const eventString = (description: string): Schema =>
  t.string(`${description} At most ${MAX_EVENT_STRING} characters.`, { maxLength: MAX_EVENT_STRING });

const taskEvent: Schema = withRequired(
  ["Type"],
  struct(
    "One event in the life of a task. Which annotation fields are set depends on `Type` (see `TaskEventType`); the others hold their zero value. All fields are always present.",
    {
      Type: t.ref("TaskEventType"),
      Time: t.unixNanos("When the event happened."),
      FailsTask: t.bool("Whether this event fails the task: `TaskState.Failed` latches true."),
      RestartReason: eventString("Why the task is (or is not) restarted (`Restarting`, `Not Restarting`, `Restart Signaled`)."),
      SetupError: eventString("Setup error (`Setup Failure`)."),
      DriverError: eventString("Driver error (`Driver Failure`)."),
      ExitCode: t.int("Exit code (`Terminated`)."),
      Signal: t.int("Signal that ended the task (`Terminated`)."),
      Message: eventString("Free-form message (`Terminated`: the exit error; `Task Setup`: the step)."),
      KillTimeout: t.duration("Time given to the task before a forced kill (`Killing`)."),
      KillError: eventString("Error while killing (`Killed`); empty on success."),
      KillReason: eventString("Why the task is killed (`Killing`)."),
      StartDelay: t.duration("Delay before the restart (`Restarting`)."),
      DownloadError: eventString("Artifact download error (`Failed Artifact Download`)."),
      ValidationError: eventString("Validation error (`Failed Validation`)."),
      DiskLimit: t.int("Disk limit in MB that was exceeded (`Disk Resources Exceeded`)."),
      FailedSibling: eventString("Name of the sibling task that failed (`Sibling Task Failed`)."),
      VaultError: eventString("Vault error."),
      TaskSignalReason: eventString("Why the task is signalled (`Signaling`)."),
      TaskSignal: eventString("The signal sent, e.g. `interrupt` (`Signaling`)."),
      DriverMessage: eventString("Message from the driver (`Driver`)."),
      DisplayMessage: eventString(
        "Human-readable summary. Filled by the server from the type and annotations as Nomad does (e.g. `Task started by client`, `Exit Code: 0`) unless the sender set one.",
      ),
      Details: t.map({ type: "string", maxLength: MAX_EVENT_STRING }, "Annotations as a string map; `{}` when none."),
      GenericSource: eventString("Source of a `Generic` event."),
    },
  ),
);

const taskState = struct(
  "The state of one task of the allocation and its latest events. `State` is `pending` (waiting to run, for the first time or after a restart), `running`, or `dead` (will not run again).",
  {
    State: { type: "string", enum: [...TASK_STATES], description: "`pending`, `running` or `dead`." },
    Failed: t.bool("True once any event with `FailsTask` was recorded; it never goes back to false."),
    Restarts: t.uint("How many times the task restarted (`Restarting` events)."),
    LastRestart: t.time("Time of the last `Restarting` event."),
    StartedAt: t.time(
      "When the task last started: set on every transition into `running`, so it changes on each restart. A task whose `StartedAt` is unset has no logs yet.",
    ),
    FinishedAt: t.time("When the task finished: set only on the transition to `dead`, and only if the task had started."),
    Events: t.list(
      t.ref("TaskEvent"),
      "The latest 10 events, oldest first; the 11th event evicts the oldest. `null` until the first event.",
    ),
  },
);

const allocation = struct("An allocation: the placement of one task group of a job on a node, and the state of its tasks.", {
  ID: t.string("Allocation ID, a UUID.", { examples: ["203266e5-e0d6-9486-5e05-397ed2b184af"] }),
  EvalID: t.string("ID of the evaluation that created the allocation."),
  Name: t.string("Allocation name, `<job>.<group>[<index>]`."),
  Namespace: t.string(
    "The namespace of the allocation's job: letters, digits and hyphens, at most 128 (Nomad's namespace names). `default` when omitted or empty. ACL capabilities are checked in this namespace.",
    { examples: ["default"] },
  ),
  NodeID: t.string("ID of the node the allocation is placed on."),
  JobID: t.string("ID of the job."),
  Job: t.ptr("Job", "The job, as it was when the allocation was made."),
  TaskGroup: t.string("Name of the task group this allocation runs; one of `Job.TaskGroups`."),
  Resources: t.ptr("Resources", "Total resources of the allocation."),
  SharedResources: t.ptr("Resources", "Resources shared by the group's tasks (e.g. ephemeral disk)."),
  TaskResources: t.map(t.ref("Resources"), "Resources of each task, by task name."),
  Metrics: t.ptr("AllocationMetric", "Scheduler metrics of the placement."),
  DesiredStatus: t.string("What the servers want: `run`, `stop` or `evict`."),
  DesiredDescription: t.string("Why the desired status was set."),
  ClientStatus: t.string(
    "What the client reports, derived from the task states: `failed` if any task failed, else `running` if any runs, else `pending` if any waits, else `complete`; also `lost`.",
  ),
  ClientDescription: t.string("Human-readable detail of `ClientStatus`."),
  TaskStates: t.map(t.ref("TaskState"), "State of each task, by task name; `null` before the client has reported."),
  PreviousAllocation: t.string("ID of the allocation this one replaces."),
  CreateIndex: t.uint("Index at which the allocation was created. Set by the server."),
  ModifyIndex: t.uint("Index of the latest change to the allocation; the `X-Nomad-Index` of a read. Set by the server."),
  AllocModifyIndex: t.uint("Index of the latest change to the allocation by the servers (not by task updates). Set by the server."),
  CreateTime: t.unixNanos("When the allocation was created."),
  ModifyTime: t.unixNanos(
    "When the allocation last changed: the value the writer sent (a mirrored cluster's own time), else the time of the write; task events set it to their time of arrival.",
  ),
});

/** Every wire schema by component name. */
export const SCHEMAS: Record<string, Schema> = {
  Allocation: allocation,
  TaskState: taskState,
  TaskEvent: taskEvent,
  TaskEventType: {
    type: "string",
    enum: Object.keys(TASK_EVENT_TYPES),
    description: `The type of a task event:\n\n${Object.entries(TASK_EVENT_TYPES)
      .map(([type, meaning]) => `- \`${type}\`: ${meaning}`)
      .join("\n")}`,
  },
  Resources: resources,
  NetworkResource: networkResource,
  Port: port,
  AllocationMetric: allocMetric,
  Job: job,
  TaskGroup: taskGroup,
  Task: task,
  Constraint: constraint,
  UpdateStrategy: updateStrategy,
  RestartPolicy: restartPolicy,
  EphemeralDisk: ephemeralDisk,
  Service: service,
  ServiceCheck: serviceCheck,
  LogConfig: logConfig,
  TaskEventUpdate: {
    type: "object",
    description: "One task event to record.",
    required: ["Task", "Event"],
    additionalProperties: false,
    properties: {
      Task: t.string("Name of the task, one of the allocation's task group.", { minLength: 1 }),
      Event: t.ref("TaskEvent"),
      State: {
        type: "string",
        enum: [...TASK_STATES],
        description: "The task's state after the event. When omitted, derived from the event type as Nomad's client does.",
      },
    },
  },
  TaskEventsRequest: {
    type: "object",
    description: "A batch of task events, applied in order as one change (one index, one wake-up).",
    required: ["Events"],
    additionalProperties: false,
    properties: {
      Events: {
        type: "array",
        items: t.ref("TaskEventUpdate"),
        minItems: 1,
        maxItems: 1000,
        description: "The events, oldest first; an empty batch is refused (it would be a change with nothing in it).",
      },
    },
  },
  WriteResponse: {
    type: "object",
    description: "The answer to a write.",
    required: ["Index"],
    additionalProperties: false,
    properties: {
      Index: t.uint("Index of the change; also sent as `X-Nomad-Index`. For a stale write, the index of the current state."),
      Stale: {
        type: "boolean",
        description:
          "Always `true` when present; present only when the write carried `X-Source-Index` not above the stored one: nothing was applied.",
      },
    },
  },
};
