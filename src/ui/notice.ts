/**
 * What the page tells a person about the connection: live, paused, retrying (with the countdown
 * and a "Retry now" button), or stopped with what to do: paste a token, pick a known region, or
 * read the server's error.
 */

import { ErrorText } from "../errors.ts";
import { api, storedToken, storeToken } from "./api.ts";
import { clear, h } from "./dom.ts";
import type { PollState } from "./poll.ts";
import type { Problem } from "./problem.ts";

interface NoticeActions {
  retryNow: () => void;
  /** A token was pasted or forgotten: start over with it. */
  restart: () => void;
  /** Builds the same page's address for another region. */
  regionHref: (region: string) => string;
}

function describe(problem: Problem): string {
  switch (problem.kind) {
    case "unreachable":
      return "Cannot reach the server";
    case "busy":
      return `The server is busy (${problem.text || "429"})`;
    case "server":
      return `The server failed (${problem.status}: ${problem.text})`;
    default:
      return problem.text;
  }
}

/** The form that takes an ACL token into this tab's session storage. */
export function tokenForm(problem: Problem, restart: () => void, what: string): HTMLElement {
  const had = storedToken() !== "";
  const input = h("input", { id: "token", name: "token", type: "password", autocomplete: "off", spellcheck: "false", required: true });
  const form = h(
    "form",
    { class: "token-form" },
    h(
      "p",
      {},
      had
        ? `The token you gave is not enough to ${what} (the server said: ${problem.text}).`
        : `Reading ${what} needs an ACL token here (the server said: ${problem.text}).`,
      " Paste a token whose policy allows it. It is kept in this tab only (session storage) and sent as X-Nomad-Token.",
    ),
    h("label", { for: "token" }, "ACL token (SecretID)"),
    " ",
    input,
    " ",
    h("button", { type: "submit" }, "Use token"),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    storeToken(input.value.trim());
    restart();
  });
  return form;
}

async function regionLinks(actions: NoticeActions): Promise<HTMLElement> {
  const list = h("ul", { class: "regions" });
  try {
    const { data } = await api.GET("/v1/regions");
    for (const region of data ?? []) list.append(h("li", {}, h("a", { href: actions.regionHref(region) }, region)));
  } catch {
    // unreachable: the status line already says so on the next try
  }
  return list;
}

export class Notice {
  readonly element = h("div", { class: "notice", role: "status", "aria-live": "polite" });
  /** Problems that need the person stay visible in this panel until resolved. */
  readonly panel = h("div", { class: "problem", role: "alert" });
  readonly #actions: NoticeActions;
  #countdown: ReturnType<typeof setInterval> | undefined;
  #region: string;

  constructor(actions: NoticeActions, region: string) {
    this.#actions = actions;
    this.#region = region;
  }

  /** `explain: false` when the page explains a stop itself (a refused filter, next to its form). */
  show(state: PollState, explain = true): void {
    clearInterval(this.#countdown);
    if (state.kind !== "stopped") clear(this.panel);
    switch (state.kind) {
      case "live":
        this.element.className = "notice live";
        // Only "Live" is announced; the time changes with every answer and stays visual.
        clear(
          this.element,
          h("span", { class: "dot", "aria-hidden": "true" }),
          "Live",
          h("span", { "aria-hidden": "true" }, `: updated ${new Date().toLocaleTimeString()}`),
        );
        return;
      case "paused":
        this.element.className = "notice paused";
        clear(this.element, "Paused while this tab is hidden; resumes when it is visible.");
        return;
      case "retrying": {
        this.element.className = "notice retrying";
        // The ticking count is visual; a reader hears the first value once.
        const seconds = h("span", { class: "countdown", "aria-hidden": "true" });
        const spoken = h("span", { class: "visually-hidden" }, String(Math.max(0, Math.ceil((state.at - Date.now()) / 1000))));
        const tick = () => {
          seconds.textContent = String(Math.max(0, Math.ceil((state.at - Date.now()) / 1000)));
        };
        tick();
        this.#countdown = setInterval(tick, 1000);
        const retry = h("button", { type: "button" }, "Retry now");
        retry.addEventListener("click", () => this.#actions.retryNow());
        clear(this.element, `${describe(state.problem)}. Retrying in `, seconds, spoken, ` s (attempt ${state.attempt}). `, retry);
        return;
      }
      case "stopped":
        this.element.className = "notice stopped";
        clear(this.element, "Not updating: see below.");
        if (explain) void this.#explain(state.problem);
        else clear(this.panel);
        return;
    }
  }

  async #explain(problem: Problem): Promise<void> {
    if (problem.kind === "forbidden") {
      clear(this.panel, h("h2", {}, "A token is needed"), tokenForm(problem, this.#actions.restart, "these allocations"));
      return;
    }
    if (problem.kind === "bad-region") {
      clear(
        this.panel,
        h("h2", {}, "Unknown region"),
        h("p", {}, `This server has no region named "${this.#region}" (${ErrorText.noRegionPath}). Its regions:`),
        await regionLinks(this.#actions),
      );
      return;
    }
    clear(this.panel, h("h2", {}, "The server refused the request"), h("p", {}, h("code", {}, problem.text || `HTTP ${problem.status}`)));
  }
}

/** "Forget token" in the header, shown while a token is stored; `render` after the token changes. */
export function tokenControl(restart: () => void): { element: HTMLElement; render: () => void } {
  const element = h("p", { class: "token-control" });
  const render = () => {
    if (!storedToken()) {
      clear(element);
      element.hidden = true;
      return;
    }
    const forget = h("button", { type: "button" }, "Forget token");
    forget.addEventListener("click", () => {
      storeToken("");
      restart();
    });
    element.hidden = false;
    clear(element, "Reading with the token you gave (kept in this tab only). ", forget);
  };
  render();
  return { element, render };
}
