/** The Nomad stand-in's wire behaviour, as Nomad's source has it (citations in its modules). */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isJsonObject, type JsonObject, parseJson } from "../../src/json/codec.ts";
import { NomadStandIn } from "../support/nomad-standin/server.ts";

let nomad: NomadStandIn;

beforeAll(async () => {
  nomad = new NomadStandIn({ logs: { maxFileSize: 100, maxFiles: 2 } });
  await nomad.start();
});

afterAll(async () => {
  await nomad.stop();
});

/** The first `lines` NDJSON lines of an event stream, then disconnects. */
async function streamLines(query: string, lines: number): Promise<string[]> {
  const controller = new AbortController();
  const r = await fetch(`${nomad.url}/v1/event/stream?${query}`, { signal: controller.signal });
  expect(r.status).toBe(200);
  const reader = (r.body as ReadableStream<Uint8Array>).getReader();
  let text = "";
  while (text.split("\n").length <= lines) {
    const { value, done } = await reader.read();
    if (done) break;
    text += new TextDecoder().decode(value);
  }
  controller.abort();
  return text.split("\n").slice(0, lines);
}

describe("Nomad stand-in", () => {
  it("streams {} at connect, then one line per Raft index with the Allocation events, Job null", async () => {
    const [id] = nomad.place(1) as [string];
    nomad.clientUpdate([id], "running");
    const lines = await streamLines("topic=Allocation&namespace=*&index=1", 3);
    expect(lines[0]).toBe("{}");
    const plan = parseJson(lines[1] as string) as JsonObject;
    const update = parseJson(lines[2] as string) as JsonObject;
    const event = (plan.Events as JsonObject[])[0] as JsonObject;
    expect(event).toMatchObject({ Topic: "Allocation", Type: "PlanResult", Key: id, Namespace: "default" });
    expect(((event.Payload as JsonObject).Allocation as JsonObject).Job).toBeNull();
    expect(((update.Events as JsonObject[])[0] as JsonObject).Type).toBe("AllocationUpdated");
  });

  it("emits nothing on GC; the list's X-Nomad-Index still moves; the alloc read answers 404", async () => {
    const [id] = nomad.place(1) as [string];
    const before = Number((await fetch(`${nomad.url}/v1/allocations?namespace=*`)).headers.get("X-Nomad-Index"));
    const buffered = nomad.bufferedIndexes;
    nomad.gc([id]);
    expect(nomad.bufferedIndexes).toBe(buffered);
    const list = await fetch(`${nomad.url}/v1/allocations?namespace=*&task_states=false`);
    expect(Number(list.headers.get("X-Nomad-Index"))).toBeGreaterThan(before);
    const stubs = parseJson(await list.text()) as JsonObject[];
    expect(stubs.some((s) => s.ID === id)).toBe(false);
    expect(stubs.every((s) => s.TaskStates === null)).toBe(true);
    const gone = await fetch(`${nomad.url}/v1/allocation/${id}`);
    expect(gone.status).toBe(404);
    expect(await gone.text()).toBe("alloc not found");
  });

  it("re-sends the newest index for an index past the end", async () => {
    nomad.place(1);
    const lines = await streamLines(`topic=Allocation&namespace=*&index=${nomad.index + 100n}`, 2);
    expect((parseJson(lines[1] as string) as JsonObject).Index).toEqual(parseJson(String(nomad.index)));
  });

  it("lists log files, reads exact ranges, and frames logs per file after rotation", async () => {
    const [id] = nomad.place(1) as [string];
    for (let i = 0; i < 10; i++) nomad.writeLog(id, "app", "stdout", `${String(i).padStart(2, "0")}${"-".repeat(37)}\n`);
    const ls = parseJson(await (await fetch(`${nomad.url}/v1/client/fs/ls/${id}?path=alloc/logs`)).text()) as JsonObject[];
    expect(ls.map((f) => f.Name)).toEqual(["app.stdout.3", "app.stdout.4"]); // max_files = 2
    const at = await fetch(`${nomad.url}/v1/client/fs/readat/${id}?path=alloc/logs/app.stdout.4&offset=2&limit=5`);
    expect(await at.text()).toBe("-----");
    const frames = await (await fetch(`${nomad.url}/v1/client/fs/logs/${id}?task=app&type=stdout`)).text();
    const first = parseJson(frames.slice(0, frames.indexOf("}") + 1));
    expect(isJsonObject(first) && first.File).toBe("alloc/logs/app.stdout.3");
  });
});
