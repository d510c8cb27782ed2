/**
 * Allocations as a Nomad 1.x server holds them (hashicorp/nomad nomad/structs/alloc.go
 * `Allocation`): `Namespace`, `Job` embedded, `TaskStates` reported by the client, the three
 * indexes and `CreateTime`/`ModifyTime` in Unix nanoseconds. Built with the project's codec so the
 * int64 times stay exact.
 */
import { JsonNumber, type JsonObject, type JsonValue } from "../../../src/json/codec.ts";

const n = (value: bigint | number) => JsonNumber.of(value);

export function nowNanos(): bigint {
  return BigInt(Date.now()) * 1_000_000n + BigInt(Math.floor(Math.random() * 1_000_000));
}

/** Go's `time.RFC3339Nano` layout, as encoding/json writes a time.Time: trailing zeros of the fraction dropped. */
export function rfc3339(nanos: bigint): string {
  const ms = Number(nanos / 1_000_000n);
  const frac = (nanos % 1_000_000_000n).toString().padStart(9, "0").replace(/0+$/, "");
  return `${new Date(ms).toISOString().slice(0, 19)}${frac ? `.${frac}` : ""}Z`;
}

const ZERO_TIME = "0001-01-01T00:00:00Z";

export function job(namespace: string, id: string, version: number, tasks: string[], modifyIndex: bigint): JsonObject {
  return {
    Region: "global",
    Namespace: namespace,
    ID: id,
    Name: id,
    Type: "service",
    Priority: n(50),
    AllAtOnce: false,
    Datacenters: ["dc1"],
    Constraints: null,
    TaskGroups: [
      {
        Name: "web",
        Count: n(1),
        Constraints: null,
        RestartPolicy: { Attempts: n(2), Interval: n(1_800_000_000_000), Delay: n(15_000_000_000), Mode: "fail" },
        Tasks: tasks.map((name) => ({
          Name: name,
          Driver: "docker",
          Config: { image: "nginx:1.27" },
          Env: null,
          Services: null,
          Constraints: null,
          Resources: { CPU: n(100), MemoryMB: n(64), DiskMB: n(0), IOPS: n(0), Networks: null },
          Meta: null,
        })),
        Meta: null,
      },
    ],
    Update: { Stagger: n(30_000_000_000), MaxParallel: n(1) },
    Meta: { owner: "team-a" },
    Status: "running",
    StatusDescription: "",
    Version: n(version),
    CreateIndex: n(modifyIndex),
    ModifyIndex: n(modifyIndex),
    JobModifyIndex: n(modifyIndex),
  };
}

export function taskState(state: "pending" | "running" | "dead", startedAt: bigint | undefined, events: JsonValue[]): JsonObject {
  return {
    State: state,
    Failed: false,
    Restarts: n(0),
    LastRestart: ZERO_TIME,
    StartedAt: startedAt === undefined ? ZERO_TIME : rfc3339(startedAt),
    FinishedAt: state === "dead" && startedAt !== undefined ? rfc3339(nowNanos()) : ZERO_TIME,
    Events: events,
  };
}

export function taskEvent(type: string, time: bigint, message = ""): JsonObject {
  return { Type: type, Time: n(time), DisplayMessage: message, Details: {}, Message: message, FailsTask: false };
}

export function allocation(options: {
  id: string;
  namespace: string;
  job: JsonObject;
  index: bigint;
  ordinal: number;
  time: bigint;
}): JsonObject {
  const jobId = String(options.job.ID);
  return {
    ID: options.id,
    Namespace: options.namespace,
    EvalID: crypto.randomUUID(),
    Name: `${jobId}.web[${options.ordinal}]`,
    NodeID: "e02b6169-83bd-9df6-69bd-832765f333eb",
    NodeName: "client-1",
    JobID: jobId,
    Job: options.job,
    TaskGroup: "web",
    AllocatedResources: { Shared: { DiskMB: n(300) }, Tasks: {} },
    DesiredStatus: "run",
    DesiredDescription: "",
    DesiredTransition: { Migrate: null, Reschedule: null, ForceReschedule: null },
    ClientStatus: "pending",
    ClientDescription: "",
    TaskStates: null,
    PreviousAllocation: "",
    NextAllocation: "",
    DeploymentID: "",
    FollowupEvalID: "",
    PreemptedAllocations: null,
    PreemptedByAllocation: "",
    CreateIndex: n(options.index),
    ModifyIndex: n(options.index),
    AllocModifyIndex: n(options.index),
    CreateTime: n(options.time),
    ModifyTime: n(options.time),
  };
}
