/**
 * `/ui/allocation/<id>?region=`: one allocation as Nomad's UI shows it (status, job, task group,
 * node; per task its state, start and finish, restarts, failure; the latest events as a
 * timeline; a log pane per task), kept current by a blocking query on the allocation.
 */
import { allocationHref } from "./allocations-page.ts";
import { api } from "./api.ts";
import { WAIT } from "./blocking.ts";
import { badge, clear, h, refreshTimes, timeElement } from "./dom.ts";
import { nanosTime, rfc3339ToMs, shortId } from "./format.ts";
import { LogPane } from "./log-pane.ts";
import { Notice, tokenControl } from "./notice.ts";
import { LivePoll, type PollAnswer } from "./poll.ts";
import { indexOf, problemOf, withIndex } from "./problem.ts";
import { type Allocation, bigOf, parseAllocation, smallOf, type TaskEvent, type TaskState } from "./wire.ts";

/** Log panes open (and following) from the start; more would crowd the browser's connections. */
const OPEN_LOG_PANES = 3;
const MARK_MS = 4000;

/** The allocation, or its absence (404: the page keeps waiting for it to appear). */
type Watched = { allocation: Allocation } | { missing: string };

function listHref(region: string): string {
  return region ? `/ui/allocations?region=${encodeURIComponent(region)}` : "/ui/allocations";
}

function rfcTime(text: string | undefined): Node | string {
  const ms = rfc3339ToMs(text);
  return ms === undefined || text === undefined ? "—" : timeElement(ms, text, text);
}

function nanosElement(nanos: bigint | undefined): Node | string {
  if (nanos === undefined || nanos === 0n) return "—";
  const time = nanosTime(nanos);
  return timeElement(time.ms, time.exact, time.iso);
}

function summary(allocation: Allocation): HTMLElement {
  const item = (term: string, ...value: Array<Node | string>) => [h("dt", {}, term), h("dd", {}, ...value)];
  return h(
    "dl",
    { class: "summary" },
    ...item("Client status", badge(allocation.ClientStatus), allocation.ClientDescription ? ` ${allocation.ClientDescription}` : ""),
    ...item("Desired status", badge(allocation.DesiredStatus), allocation.DesiredDescription ? ` ${allocation.DesiredDescription}` : ""),
    ...item("Job", allocation.JobID ?? "—"),
    ...item("Task group", allocation.TaskGroup ?? "—"),
    ...item("Node", allocation.NodeID ? h("code", { title: allocation.NodeID }, shortId(allocation.NodeID)) : "—"),
    ...item("Name", allocation.Name ?? "—"),
    ...item("Created", nanosElement(bigOf(allocation.CreateTime))),
    ...item("Modify index", allocation.ModifyIndex?.raw ?? "—"),
  );
}

function taskTable(tasks: Array<[string, TaskState]>): HTMLElement {
  return h(
    "div",
    { class: "table-wrap", tabindex: 0, role: "region", "aria-label": "Task states (scrolls sideways on narrow screens)" },
    h(
      "table",
      { class: "tasks" },
      h("caption", {}, "Task states"),
      h(
        "thead",
        {},
        h("tr", {}, ...["Task", "State", "Started", "Finished", "Restarts", "Failed"].map((n) => h("th", { scope: "col" }, n))),
      ),
      h(
        "tbody",
        {},
        ...tasks.map(([name, state]) =>
          h(
            "tr",
            {},
            h("th", { scope: "row" }, h("a", { href: `#${taskSlug(name)}` }, name)),
            h("td", {}, badge(state.State, state.Failed === true)),
            h("td", {}, rfcTime(state.StartedAt)),
            h("td", {}, rfcTime(state.FinishedAt)),
            h("td", {}, String(smallOf(state.Restarts) ?? 0)),
            h("td", {}, state.Failed ? "yes" : "no"),
          ),
        ),
      ),
    ),
  );
}

/** An id fragment for a task name (any text) that is valid in `id` and `href="#…"`. */
function taskSlug(name: string): string {
  return `task-${name.replace(/[^A-Za-z0-9_-]/g, "_")}`;
}

function eventKey(event: TaskEvent): string {
  return `${event.Time?.raw ?? ""}|${event.Type}|${event.DisplayMessage ?? ""}`;
}

function timeline(task: string, events: TaskEvent[], known: Set<string>, first: boolean): HTMLElement {
  if (events.length === 0) return h("p", { class: "empty" }, "No events yet.");
  const newest = [...events].reverse();
  return h(
    "ol",
    { class: "timeline", "aria-label": `Events of ${task}, newest first` },
    ...newest.map((event) => {
      const key = eventKey(event);
      const fresh = !first && !known.has(key);
      known.add(key);
      return h(
        "li",
        { class: fresh ? "changed" : undefined },
        h("span", { class: "event-time" }, nanosElement(bigOf(event.Time))),
        " ",
        h("strong", { class: "event-type" }, event.Type),
        " ",
        h("span", { class: "event-message" }, event.DisplayMessage || event.Message || ""),
        fresh && h("span", { class: "visually-hidden" }, " (new)"),
      );
    }),
  );
}

export function allocationPage(main: HTMLElement, allocId: string): void {
  const region = new URLSearchParams(location.search).get("region") ?? "";
  const heading = h("h1", {}, "Allocation ", h("code", {}, shortId(allocId)));
  const back = h(
    "p",
    { class: "subtitle" },
    h("code", {}, allocId),
    ` · region ${region || "(default)"} · `,
    h("a", { href: listHref(region) }, "All allocations"),
  );
  const missing = h("div", { class: "problem", role: "alert", hidden: true });
  const details = h("div", { class: "details" });
  const tasksSection = h("section", { "aria-labelledby": "tasks-heading" });
  const notice = new Notice(
    { retryNow: () => poll.retryNow(), restart: () => restart(), regionHref: (r) => allocationHref(allocId, r) },
    region,
  );
  const token = tokenControl(() => restart());
  clear(main, heading, back, token.element, notice.element, notice.panel, missing, details, tasksSection);
  document.title = `Allocation ${shortId(allocId)}`;

  const panes = new Map<string, LogPane>();
  const knownEvents = new Map<string, Set<string>>();
  const timelines = new Map<string, HTMLElement>();
  let first = true;

  const render = (watched: Watched) => {
    if ("missing" in watched) {
      missing.hidden = false;
      clear(
        missing,
        h("h2", {}, "Unknown allocation"),
        h(
          "p",
          {},
          `There is no allocation ${allocId} in region ${region || "(default)"} (the server said: ${watched.missing}). It may have been garbage-collected, or live in another region. This page keeps watching and shows it if it appears. `,
          h("a", { href: listHref(region) }, "See the region's allocations"),
        ),
      );
      clear(details);
      clear(tasksSection);
      for (const pane of panes.values()) pane.update(undefined);
      return;
    }
    missing.hidden = true;
    const { allocation } = watched;
    document.title = `Allocation ${shortId(allocId)} · ${allocation.ClientStatus ?? ""}`;
    clear(details, summary(allocation));
    const tasks = Object.entries(allocation.TaskStates ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const sections = tasks.map(([name, state], position) => {
      let pane = panes.get(name);
      if (!pane) {
        pane = new LogPane(allocId, region, name, position < OPEN_LOG_PANES, () => restart());
        panes.set(name, pane);
      }
      const known = knownEvents.get(name) ?? new Set<string>();
      knownEvents.set(name, known);
      const line = timeline(name, state.Events ?? [], known, first);
      timelines.set(name, line);
      return h(
        "section",
        { class: "task", id: taskSlug(name), "aria-labelledby": `${taskSlug(name)}-heading` },
        h("h3", { id: `${taskSlug(name)}-heading` }, name, " ", badge(state.State, state.Failed === true)),
        h("h4", {}, "Recent events"),
        line,
        pane.element,
      );
    });
    clear(
      tasksSection,
      h("h2", { id: "tasks-heading" }, "Tasks"),
      tasks.length ? taskTable(tasks) : h("p", { class: "empty" }, "No task has reported a state yet."),
      ...sections,
    );
    for (const [name, state] of tasks) panes.get(name)?.update(state);
    first = false;
    setTimeout(() => {
      for (const marked of tasksSection.querySelectorAll(".changed")) marked.classList.remove("changed");
    }, MARK_MS);
  };

  const request = async (index: bigint, signal: AbortSignal): Promise<PollAnswer<Watched>> => {
    const { data, error, response } = await api.GET("/v1/allocation/{alloc_id}", {
      params: { path: { alloc_id: allocId }, query: { region, wait: WAIT } },
      querySerializer: withIndex(index),
      parseAs: "text",
      signal,
    });
    const index_ = indexOf(response);
    if (data !== undefined) return { ok: true, value: { allocation: parseAllocation(data) }, index: index_ };
    const problem = problemOf(response.status, String(error ?? ""), response.headers.get("Retry-After"));
    if (problem.kind === "not-found") return { ok: true, value: { missing: problem.text }, index: index_ };
    return { ok: false, problem };
  };

  const poll = new LivePoll<Watched>({ request, onValue: render, onState: (state) => notice.show(state) });
  const restart = () => {
    token.render();
    poll.start();
  };
  setInterval(() => refreshTimes(main), 5000);
  poll.start();
}
