import { describe, expect, it } from "vitest";
import { MAX_EVENT_STRING } from "../../src/domain/schemas.ts";
import { MAX_DOCUMENT_BYTES } from "../../src/durable/document-cap.ts";
import { encodeJson, JsonNumber, type JsonObject, parseJson } from "../../src/json/codec.ts";
import { allocationJson, call, createAllocation, newAllocId, postEvents, write } from "../support/worker.ts";

const ZERO = "0001-01-01T00:00:00Z";

interface TaskStateWire {
  State: string;
  Failed: boolean;
  Restarts: number;
  LastRestart: string;
  StartedAt: string;
  FinishedAt: string;
  Events: Array<Record<string, unknown>> | null;
}
interface AllocWire {
  ClientStatus: string;
  ClientDescription: string;
  ModifyIndex: number;
  AllocModifyIndex: number;
  TaskStates: Record<string, TaskStateWire> | null;
}

async function read(id: string): Promise<{ alloc: AllocWire; text: string }> {
  const text = await (await call(`/v1/allocation/${id}`)).text();
  return { alloc: JSON.parse(text) as AllocWire, text };
}

function ev(type: string, time: bigint, extra = ""): string {
  return `{"Task":"redis","Event":{"Type":${JSON.stringify(type)},"Time":${time}${extra}}}`;
}

const T0 = 1490999500248633594n;
const SEC = 1_000_000_000n;

describe("task events", () => {
  it("tracks a start: pending → running, StartedAt = the event time, FinishedAt unset", async () => {
    const { id } = await createAllocation();
    expect((await postEvents(id, [ev("Received", T0), ev("Task Setup", T0 + SEC)].join(","))).status).toBe(200);
    let { alloc } = await read(id);
    expect(alloc.TaskStates?.redis).toMatchObject({ State: "pending", StartedAt: ZERO, FinishedAt: ZERO, Failed: false });
    expect(alloc.ClientStatus).toBe("pending");
    await postEvents(id, ev("Started", T0 + 2n * SEC));
    ({ alloc } = await read(id));
    expect(alloc.TaskStates?.redis).toMatchObject({ State: "running", StartedAt: "2017-03-31T22:31:42.248633594Z", FinishedAt: ZERO });
    expect(alloc.ClientStatus).toBe("running");
    expect(alloc.ClientDescription).toBe("Tasks are running");
  });

  it("applies a batch as one change: one index for the whole batch", async () => {
    const { id, index } = await createAllocation();
    const r = await postEvents(id, [ev("Received", T0), ev("Started", T0 + SEC)].join(","));
    const { Index } = (await r.json()) as { Index: number };
    expect(Index).toBeGreaterThan(index);
    expect(r.headers.get("X-Nomad-Index")).toBe(String(Index));
    const { alloc } = await read(id);
    expect(alloc.ModifyIndex).toBe(Index);
    expect(alloc.AllocModifyIndex).toBe(index);
    expect(alloc.TaskStates?.redis?.Events).toHaveLength(2);
  });

  it("follows a restart: Restarts and LastRestart count, StartedAt moves to the new start", async () => {
    const { id } = await createAllocation();
    await postEvents(
      id,
      [
        ev("Started", T0),
        ev("Terminated", T0 + SEC, ',"ExitCode":1'),
        ev("Restarting", T0 + 2n * SEC, ',"StartDelay":15000000000,"RestartReason":"Restart within policy"'),
        ev("Started", T0 + 17n * SEC),
      ].join(","),
    );
    const { alloc } = await read(id);
    const redis = alloc.TaskStates?.redis as TaskStateWire;
    expect(redis).toMatchObject({ State: "running", Restarts: 1, LastRestart: "2017-03-31T22:31:42.248633594Z" });
    expect(redis.StartedAt).toBe("2017-03-31T22:31:57.248633594Z");
    expect(redis.FinishedAt).toBe(ZERO);
    expect(redis.Events?.map((e) => e.DisplayMessage)).toEqual([
      "Task started by client",
      "Exit Code: 1",
      "Task restarting in 15s",
      "Task started by client",
    ]);
  });

  it("does not touch StartedAt on Killing; Killed moves to dead and sets FinishedAt", async () => {
    const { id } = await createAllocation();
    await postEvents(id, ev("Started", T0));
    await postEvents(id, ev("Killing", T0 + SEC, ',"KillTimeout":5000000000'));
    let redis = (await read(id)).alloc.TaskStates?.redis as TaskStateWire;
    expect(redis.State).toBe("running");
    expect(redis.StartedAt).toBe("2017-03-31T22:31:40.248633594Z");
    expect(redis.Events?.[1]?.DisplayMessage).toBe("Sent interrupt. Waiting 5s before force killing");
    await postEvents(id, ev("Killed", T0 + 3n * SEC));
    const { alloc } = await read(id);
    redis = alloc.TaskStates?.redis as TaskStateWire;
    expect(redis).toMatchObject({ State: "dead", FinishedAt: "2017-03-31T22:31:43.248633594Z", Failed: false });
    expect(alloc.ClientStatus).toBe("complete");
  });

  it("leaves FinishedAt unset when a task dies without having started, and latches Failed", async () => {
    const { id } = await createAllocation();
    await postEvents(
      id,
      [ev("Received", T0), ev("Failed Validation", T0 + SEC, ',"ValidationError":"bad config","FailsTask":true')].join(","),
    );
    const { alloc } = await read(id);
    expect(alloc.TaskStates?.redis).toMatchObject({ State: "dead", FinishedAt: ZERO, StartedAt: ZERO, Failed: true });
    expect(alloc.TaskStates?.redis?.Events?.[1]?.DisplayMessage).toBe("bad config");
    expect(alloc.ClientStatus).toBe("failed");
    await postEvents(id, ev("Received", T0 + 2n * SEC, ',"FailsTask":false'));
    expect((await read(id)).alloc.TaskStates?.redis?.Failed).toBe(true);
  });

  it("keeps the latest 10 events, oldest first: the 11th evicts the first", async () => {
    const { id } = await createAllocation();
    const events = Array.from({ length: 11 }, (_, i) => ev("Driver", T0 + BigInt(i), `,"DriverMessage":"step ${i}"`));
    await postEvents(id, events.slice(0, 10).join(","));
    let list = (await read(id)).alloc.TaskStates?.redis?.Events ?? [];
    expect(list).toHaveLength(10);
    expect(list[0]?.DriverMessage).toBe("step 0");
    await postEvents(id, events[10] as string);
    list = (await read(id)).alloc.TaskStates?.redis?.Events ?? [];
    expect(list).toHaveLength(10);
    expect(list.map((e) => e.DriverMessage)).toEqual(Array.from({ length: 10 }, (_, i) => `step ${i + 1}`));
    expect(list[9]?.DisplayMessage).toBe("step 10");
  });

  it("stores an event Time above 2^53 digit for digit, and stamps a missing Time with exact nanoseconds", async () => {
    const { id } = await createAllocation();
    const before = BigInt(Date.now()) * 1_000_000n;
    await postEvents(id, [ev("Received", 1490999500248633594n), '{"Task":"redis","Event":{"Type":"Started"}}'].join(","));
    const { text } = await read(id);
    expect(text).toContain('"Time":1490999500248633594');
    const stamped = /"Time":(\d+),"Type":"Started"/.exec(text)?.[1] as string;
    expect(BigInt(stamped)).toBeGreaterThanOrEqual(before);
    expect(BigInt(stamped) % 1_000_000n).toBe(0n);
  });

  it("honours an explicit State and keeps a sender's DisplayMessage and Details", async () => {
    const { id } = await createAllocation();
    await postEvents(
      id,
      `{"Task":"redis","State":"running","Event":{"Type":"Driver","Time":${T0},"DisplayMessage":"pulled","Details":{"image":"redis"}}}`,
    );
    const redis = (await read(id)).alloc.TaskStates?.redis as TaskStateWire;
    expect(redis.State).toBe("running");
    expect(redis.StartedAt).toBe("2017-03-31T22:31:40.248633594Z");
    expect(redis.Events?.[0]).toMatchObject({ DisplayMessage: "pulled", Details: { image: "redis" } });
  });

  it("derives ClientStatus across tasks: failed, then running, then pending, then complete", async () => {
    const id = newAllocId();
    const { allocationJson, write } = await import("../support/worker.ts");
    const twoTasks = allocationJson(id).replace('"Tasks":[{', '"Tasks":[{"Name":"sidecar","Driver":"exec"},{');
    expect((await write("PUT", `/v1/allocation/${id}`, twoTasks)).status).toBe(200);
    const side = (type: string, extra = "") => `{"Task":"sidecar","Event":{"Type":"${type}","Time":${T0}${extra}}}`;
    await postEvents(id, [ev("Received", T0), side("Received")].join(","));
    expect((await read(id)).alloc.ClientStatus).toBe("pending");
    await postEvents(id, ev("Started", T0 + SEC));
    expect((await read(id)).alloc.ClientStatus).toBe("running");
    await postEvents(id, side("Not Restarting", ',"FailsTask":true'));
    expect((await read(id)).alloc.ClientStatus).toBe("failed");
  });

  it.each([
    ['{"Task":"web","Event":{"Type":"Started"}}', 400, 'task group "cache" does not have task with name "web"'],
    ['{"Task":"redis","Event":{"Type":"Strated"}}', 400, "invalid field TaskEventsRequest.Events[1].Event.Type: "],
    [
      '{"Task":"redis","Event":{"Type":"Started","Time":"1490999500248633594"}}',
      400,
      "invalid field TaskEventsRequest.Events[1].Event.Time: expected integer (int64), got string",
    ],
    [
      '{"Task":"redis","Event":{"Type":"Started","Time":9223372036854775808}}',
      400,
      "invalid field TaskEventsRequest.Events[1].Event.Time: 9223372036854775808 is out of range for int64",
    ],
    [
      '{"Task":"redis","Event":{"Type":"Started","Time":1.5}}',
      400,
      "invalid field TaskEventsRequest.Events[1].Event.Time: expected integer (int64), got number 1.5",
    ],
    ['{"Task":"redis","Event":{"Time":1}}', 400, "invalid field TaskEventsRequest.Events[1].Event.Type: is required"],
    ['{"Task":"redis","State":"sleeping","Event":{"Type":"Started"}}', 400, "invalid field TaskEventsRequest.Events[1].State: "],
    ['{"Event":{"Type":"Started"}}', 400, "invalid field TaskEventsRequest.Events[1].Task: is required"],
    ['{"Task":"redis","Event":{"Type":"Started"},"Extra":1}', 400, "invalid field TaskEventsRequest.Events[1].Extra: unknown field"],
  ])("rejects %s with %i and changes nothing", async (event, status, text) => {
    const { id, index } = await createAllocation();
    await postEvents(id, ev("Received", T0));
    const before = (await read(id)).text;
    const r = await postEvents(id, `${ev("Started", T0 + SEC)},${event}`);
    expect(r.status).toBe(status);
    expect(await r.text()).toContain(text);
    const after = (await read(id)).text;
    expect(after).toBe(before);
    expect(JSON.parse(after).ModifyIndex).toBeGreaterThan(index);
  });

  it("answers 404 for events on a missing allocation", async () => {
    const r = await postEvents(newAllocId(), ev("Started", T0));
    expect(r.status).toBe(404);
    expect(await r.text()).toBe("alloc not found");
  });
});

describe("Go struct types through task events", () => {
  it("a Restarting event at Restarts = uint64 max is refused and changes nothing", async () => {
    const id = newAllocId();
    const states = '{"redis":{"State":"running","Restarts":18446744073709551615}}';
    const put = await write("PUT", `/v1/allocation/${id}`, allocationJson(id, { TaskStates: states }));
    expect(put.status).toBe(200);
    const before = await (await call(`/v1/allocation/${id}`)).text();
    const r = await postEvents(id, '{"Task":"redis","Event":{"Type":"Restarting"}}');
    expect([r.status, await r.text()]).toEqual([400, "invalid event Restarting: TaskState.Restarts is at the uint64 maximum"]);
    expect(await (await call(`/v1/allocation/${id}`)).text()).toBe(before);
  });

  it("Job.Version and Payload of the right Go types are accepted; Version reaches the list stub; absent stays absent", async () => {
    const id = newAllocId();
    const job = parseJson(allocationJson(id)) as JsonObject;
    const withVersion = { ...(job.Job as JsonObject), Version: new JsonNumber("7"), Payload: "aGVsbG8=" } as JsonObject;
    const r = await write("PUT", `/v1/allocation/${id}`, allocationJson(id, { Job: encodeJson(withVersion) }));
    expect(r.status).toBe(200);
    const list = (await (await call(`/v1/allocations?prefix=${id}`)).json()) as { JobVersion: number }[];
    expect(list.map((stub) => stub.JobVersion)).toEqual([7]);
    const other = (await createAllocation()).id;
    expect(await (await call(`/v1/allocation/${other}`)).text()).not.toContain('"Version"');
  });
});

describe("size caps on what an allocation stores", () => {
  const STRING_FIELDS = [
    "RestartReason",
    "SetupError",
    "DriverError",
    "Message",
    "KillError",
    "KillReason",
    "DownloadError",
    "ValidationError",
    "FailedSibling",
    "VaultError",
    "TaskSignalReason",
    "TaskSignal",
    "DriverMessage",
    "GenericSource",
  ];
  const fullEvent = (fill: string) =>
    JSON.stringify({
      Task: "redis",
      Event: { Type: "Driver", ...Object.fromEntries(STRING_FIELDS.map((f) => [f, fill.repeat(MAX_EVENT_STRING)])) },
    });

  it("refuses an event string over its cap with the field named, and stores nothing", async () => {
    const { id } = await createAllocation();
    const before = await (await call(`/v1/allocation/${id}`)).text();
    const r = await postEvents(
      id,
      JSON.stringify({ Task: "redis", Event: { Type: "Driver", DriverMessage: "m".repeat(MAX_EVENT_STRING + 1) } }),
    );
    expect([r.status, await r.text()]).toEqual([
      400,
      `invalid field TaskEventsRequest.Events[0].Event.DriverMessage: longer than ${MAX_EVENT_STRING} characters`,
    ]);
    expect(await (await call(`/v1/allocation/${id}`)).text()).toBe(before);
  });

  it("answers 413 once the stored document would pass its cap, keeping the state before it, and the region's list and history readable", async () => {
    const { id } = await createAllocation();
    let before = "";
    let refused: Response | undefined;
    for (let i = 0; i < 10 && !refused; i++) {
      before = await (await call(`/v1/allocation/${id}`)).text();
      const r = await postEvents(id, fullEvent(String(i)));
      if (r.status !== 200) refused = r;
    }
    expect(refused?.status).toBe(413);
    expect(await refused?.text()).toMatch(
      new RegExp(`^Allocation too large: the stored document would be \\d+ bytes, above the cap of ${MAX_DOCUMENT_BYTES}$`),
    );
    expect(await (await call(`/v1/allocation/${id}`)).text()).toBe(before);
    expect((await call(`/v1/allocations?prefix=${id}`)).status).toBe(200);
    // Smaller writes still go through.
    expect((await postEvents(id, '{"Task":"redis","Event":{"Type":"Started"}}')).status).toBe(200);
  });

  it("refuses a PUT whose stored document would pass the cap, though its body is under 1 MiB; nothing stored", async () => {
    const id = newAllocId();
    const r = await write(
      "PUT",
      `/v1/allocation/${id}`,
      allocationJson(id, { DesiredDescription: JSON.stringify("d".repeat(MAX_DOCUMENT_BYTES)) }),
    );
    expect(r.status).toBe(413);
    expect((await call(`/v1/allocation/${id}`)).status).toBe(404);
  });
});
