/**
 * `/ui/allocations?region=&namespace=`: the region's allocations as a table, kept current by a
 * blocking query on the list; rows that changed since the last answer are marked for a moment.
 */
import { api } from "./api.ts";
import { WAIT } from "./blocking.ts";
import { badge, clear, h, refreshTimes, timeElement } from "./dom.ts";
import { nanosTime, shortId } from "./format.ts";
import { Notice, tokenControl } from "./notice.ts";
import { LivePoll, type PollAnswer } from "./poll.ts";
import { indexOf, problemOf, withIndex } from "./problem.ts";
import { type AllocListStub, bigOf, parseAllocList } from "./wire.ts";

/** How long a changed row stays marked. */
const MARK_MS = 4000;

interface ListQuery {
  region: string;
  namespace: string;
  prefix: string;
  filter: string;
}

function readQuery(): ListQuery {
  const params = new URLSearchParams(location.search);
  return {
    region: params.get("region") ?? "",
    namespace: params.get("namespace") ?? "",
    prefix: params.get("prefix") ?? "",
    filter: params.get("filter") ?? "",
  };
}

function pageHref(path: string, query: Partial<ListQuery>): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) if (value) params.set(name, value);
  const search = params.toString();
  return search ? `${path}?${search}` : path;
}

export function allocationHref(id: string, region: string): string {
  return pageHref(`/ui/allocation/${encodeURIComponent(id)}`, { region });
}

function field(id: string, label: string, value: string, hint: string): HTMLElement {
  return h(
    "div",
    { class: "field" },
    h("label", { for: id }, label),
    h("input", { id, name: id, type: "search", value, spellcheck: "false", autocomplete: "off", "aria-describedby": `${id}-hint` }),
    h("small", { id: `${id}-hint` }, hint),
  );
}

/** `namespace=*` lists several namespaces: then each row says which. */
function allNamespaces(query: ListQuery): boolean {
  return query.namespace === "*";
}

function columns(withNamespace: boolean): string[] {
  // Statuses right after the ID: on a narrow screen they stay in view, the rest scrolls.
  const names = ["ID", "Client status", "Desired status", "Name", "Job", "Task group", "Modified"];
  if (withNamespace) names.splice(4, 0, "Namespace");
  return names;
}

function row(stub: AllocListStub, region: string, changed: boolean, withNamespace: boolean): HTMLTableRowElement {
  const id = stub.ID ?? "";
  const modified = bigOf(stub.ModifyTime) ?? bigOf(stub.CreateTime);
  const time = modified === undefined ? undefined : nanosTime(modified);
  return h(
    "tr",
    { class: changed ? "changed" : undefined, "data-id": id },
    h(
      "th",
      { scope: "row" },
      h("a", { href: allocationHref(id, region), title: id }, h("code", {}, shortId(id))),
      changed && h("span", { class: "visually-hidden" }, " (changed)"),
    ),
    h("td", {}, badge(stub.ClientStatus)),
    h("td", {}, badge(stub.DesiredStatus)),
    h("td", { class: "name" }, stub.Name ?? ""),
    withNamespace && h("td", {}, stub.Namespace ?? ""),
    h("td", {}, stub.JobID ?? ""),
    h("td", {}, stub.TaskGroup ?? ""),
    h("td", {}, time ? timeElement(time.ms, time.exact, time.iso) : "—"),
  );
}

export function allocationsPage(main: HTMLElement): void {
  let query = readQuery();
  const regionLabel = () => `Region ${query.region || "(default)"}${query.namespace ? `, namespace ${query.namespace}` : ""}`;
  const subtitle = h("p", { class: "subtitle" }, regionLabel());
  const form = h(
    "form",
    { class: "filters", role: "search", "aria-label": "Filter allocations" },
    field("namespace", "Namespace", query.namespace, "Empty: default; * for every namespace (namespace=)"),
    field("prefix", "ID prefix", query.prefix, "Hex digits of the allocation ID (prefix=)"),
    field("filter", "Filter expression", query.filter, 'e.g. ClientStatus == "running" (filter=)'),
    h("div", { class: "field actions" }, h("button", { type: "submit" }, "Apply")),
  );
  const formError = h("p", { class: "form-error", role: "alert" });
  const caption = h("caption", {}, "Allocations");
  const head = h("thead");
  const renderHead = () => clear(head, h("tr", {}, ...columns(allNamespaces(query)).map((name) => h("th", { scope: "col" }, name))));
  renderHead();
  const body = h("tbody");
  const table = h("table", { class: "allocs" }, caption, head, body);
  const empty = h("p", { class: "empty", hidden: true });
  const notice = new Notice(
    {
      retryNow: () => poll.retryNow(),
      restart: () => restart(),
      regionHref: (region) => pageHref("/ui/allocations", { ...query, region }),
    },
    query.region,
  );
  const token = tokenControl(() => restart());
  clear(
    main,
    h("h1", {}, "Allocations"),
    subtitle,
    token.element,
    notice.element,
    notice.panel,
    form,
    formError,
    h("div", { class: "table-wrap", tabindex: 0, role: "region", "aria-label": "Allocations (scrolls sideways on narrow screens)" }, table),
    empty,
  );
  document.title = `Allocations · ${query.region || "default region"}`;

  const seen = new Map<string, string>();
  let first = true;

  const render = (stubs: AllocListStub[]) => {
    clear(formError);
    const rows: HTMLTableRowElement[] = [];
    const now = new Set<string>();
    for (const stub of stubs) {
      const id = stub.ID ?? "";
      const version = stub.ModifyIndex?.raw ?? "";
      now.add(id);
      const changed = !first && seen.get(id) !== version;
      seen.set(id, version);
      rows.push(row(stub, query.region, changed, allNamespaces(query)));
    }
    for (const id of seen.keys()) if (!now.has(id)) seen.delete(id);
    first = false;
    clear(body, ...rows);
    caption.textContent = `${stubs.length} allocation${stubs.length === 1 ? "" : "s"} · ${regionLabel()}`;
    empty.hidden = stubs.length > 0;
    empty.textContent = query.prefix || query.filter ? "No allocation matches this filter." : "No allocations in this region yet.";
    setTimeout(() => {
      for (const marked of body.querySelectorAll("tr.changed")) marked.classList.remove("changed");
    }, MARK_MS);
  };

  const request = async (index: bigint, signal: AbortSignal): Promise<PollAnswer<AllocListStub[]>> => {
    const { data, error, response } = await api.GET("/v1/allocations", {
      params: { query: { region: query.region, namespace: query.namespace, prefix: query.prefix, filter: query.filter, wait: WAIT } },
      querySerializer: withIndex(index),
      parseAs: "text",
      signal,
    });
    if (data === undefined)
      return { ok: false, problem: problemOf(response.status, String(error ?? ""), response.headers.get("Retry-After")) };
    return { ok: true, value: parseAllocList(data), index: indexOf(response) };
  };

  const poll = new LivePoll<AllocListStub[]>({
    request,
    onValue: render,
    onState: (state) => {
      // A refused filter or prefix is the person's to fix: say so next to the form.
      if (state.kind === "stopped" && state.problem.kind === "bad-request") {
        clear(formError, `The server refused this filter: ${state.problem.text}`);
        notice.show(state, false);
        // The rows on screen answered another filter: do not leave them looking like this one's.
        clear(body);
        caption.textContent = `No result: the filter was refused · ${regionLabel()}`;
        empty.hidden = true;
        return;
      }
      notice.show(state);
    },
  });

  const restart = () => {
    token.render();
    first = true;
    seen.clear();
    poll.start();
  };

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const text = (name: string) => String(data.get(name) ?? "").trim();
    query = { ...query, namespace: text("namespace"), prefix: text("prefix"), filter: text("filter") };
    history.replaceState(null, "", pageHref("/ui/allocations", query));
    subtitle.textContent = regionLabel();
    renderHead();
    restart();
  });

  setInterval(() => refreshTimes(body), 5000);
  poll.start();
}
