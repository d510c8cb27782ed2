/**
 * One task's log pane: follows `/v1/client/fs/logs/<id>?follow=true` (Nomad's frames, which carry
 * the absolute `Offset`, so a reconnect resumes exactly where the pane stopped), stdout by default
 * and stderr one click away. Says plainly when there is nothing to show yet, reconnects with
 * backoff when the stream breaks or goes silent (the server sends a heartbeat every second), and
 * stops while the tab is hidden or the pane is closed.
 */
import { api } from "./api.ts";
import { backoffMs } from "./blocking.ts";
import { clear, h } from "./dom.ts";
import { base64Bytes, FrameSplitter } from "./log-frames.ts";
import { tokenForm } from "./notice.ts";
import { isAbort, type Problem, problemOf, unreachable } from "./problem.ts";
import { parseFrame, smallOf, type TaskState } from "./wire.ts";

type LogType = "stdout" | "stderr";

/** The first read shows at most the last 64 KiB; the pane keeps at most 256 KiB of text. */
const TAIL_BYTES = 65_536;
const KEEP_CHARS = 262_144;
/** Heartbeats come every second: this much silence means the connection is dead. */
const SILENCE_MS = 5000;

const NOT_STARTED_TEXT = "No logs yet: the task has not started.";

/** The server's "not started yet" text (Nomad's): `task "<task>" not started yet. No logs available`. */
function isNotStarted(problem: Problem): boolean {
  return problem.kind === "not-found" && /not started yet/.test(problem.text);
}

export class LogPane {
  readonly element: HTMLDetailsElement;
  readonly #allocId: string;
  readonly #region: string;
  readonly #task: string;
  readonly #restart: () => void;
  readonly #pre: HTMLPreElement;
  readonly #status: HTMLElement;
  readonly #buttons: Record<LogType, HTMLButtonElement>;
  #type: LogType = "stdout";
  #text = "";
  /** Absolute offset just past the last byte shown; undefined until the first frame. */
  #offset: number | undefined;
  #state: "idle" | "following" | "not-started" | "ended" | "retrying" | "stopped" = "idle";
  #controller: AbortController | undefined;
  #generation = 0;
  #attempt = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #decoder = new TextDecoder();

  constructor(allocId: string, region: string, task: string, open: boolean, restart: () => void) {
    this.#allocId = allocId;
    this.#region = region;
    this.#task = task;
    this.#restart = restart;
    const id = `log-${task.replace(/[^A-Za-z0-9_-]/g, "_")}`;
    this.#buttons = {
      stdout: h("button", { type: "button", "aria-pressed": "true" }, "stdout"),
      stderr: h("button", { type: "button", "aria-pressed": "false" }, "stderr"),
    };
    this.#pre = h("pre", { class: "log", id, tabindex: 0, "aria-label": `${task} stdout` });
    this.#status = h("p", { class: "log-status", role: "status", "aria-live": "polite" });
    this.element = h(
      "details",
      { class: "logs", open },
      h("summary", {}, `Logs of ${task}`),
      h("div", { class: "log-switch", role: "group", "aria-label": `Log stream of ${task}` }, this.#buttons.stdout, this.#buttons.stderr),
      this.#status,
      this.#pre,
    );
    for (const type of ["stdout", "stderr"] as const) this.#buttons[type].addEventListener("click", () => this.#switch(type));
    this.element.addEventListener("toggle", () => (this.element.open ? this.#resume() : this.#cancel()));
    document.addEventListener("visibilitychange", () => (document.hidden ? this.#cancel() : this.#resume()));
  }

  /** The allocation changed: a task that has started (or restarted) can have logs now. */
  update(state: TaskState | undefined): void {
    if (this.#state === "not-started" && state?.StartedAt && !state.StartedAt.startsWith("0001-")) this.#open();
    else if (this.#state === "ended" && state?.State !== "dead") this.#open();
    else if (this.#state === "idle") this.#resume();
  }

  #switch(type: LogType): void {
    if (type === this.#type) return;
    this.#type = type;
    this.#buttons.stdout.setAttribute("aria-pressed", String(type === "stdout"));
    this.#buttons.stderr.setAttribute("aria-pressed", String(type === "stderr"));
    this.#pre.setAttribute("aria-label", `${this.#task} ${type}`);
    this.#text = "";
    this.#pre.textContent = "";
    this.#offset = undefined;
    this.#decoder = new TextDecoder();
    this.#attempt = 0;
    this.#open();
  }

  #resume(): void {
    if (!this.element.open || document.hidden) return;
    // Not when already following: opening the pane fires "toggle" right after it was built open.
    if (this.#state === "idle" || this.#state === "retrying") this.#open();
  }

  #cancel(): void {
    this.#generation++;
    clearTimeout(this.#timer);
    this.#controller?.abort();
    this.#controller = undefined;
    if (this.#state === "following" || this.#state === "retrying") this.#state = "idle";
  }

  #say(...children: Array<Node | string>): void {
    clear(this.#status, ...children);
  }

  #open(): void {
    this.#cancel();
    if (!this.element.open || document.hidden) {
      this.#state = "idle";
      return;
    }
    const generation = this.#generation;
    const controller = new AbortController();
    this.#controller = controller;
    void this.#follow(generation, controller).catch((error: unknown) => {
      if (generation !== this.#generation || (isAbort(error) && controller.signal.aborted)) return;
      this.#retry(unreachable(error));
    });
  }

  async #follow(generation: number, controller: AbortController): Promise<void> {
    const resume = this.#offset !== undefined;
    const { error, response } = await api.GET("/v1/client/fs/logs/{alloc_id}", {
      params: {
        path: { alloc_id: this.#allocId },
        query: {
          task: this.#task,
          type: this.#type,
          follow: "true",
          origin: resume ? "start" : "end",
          offset: resume ? (this.#offset ?? 0) : TAIL_BYTES,
          region: this.#region,
        },
      },
      parseAs: "stream",
      signal: controller.signal,
    });
    if (generation !== this.#generation) return;
    // With parseAs "stream" the answer's body is the stream itself.
    const body = response.ok ? response.body : null;
    if (!body) {
      this.#refused(problemOf(response.status, String(error ?? ""), response.headers.get("Retry-After")));
      return;
    }
    this.#state = "following";
    this.#attempt = 0;
    if (this.#text === "") this.#say(`Following ${this.#type}: nothing written yet; output appears here as the task writes it.`);
    else this.#say(`Following ${this.#type}.`);
    const reader = body.getReader();
    const text = new TextDecoder();
    const splitter = new FrameSplitter();
    let heard = Date.now();
    const watchdog = setInterval(() => {
      if (Date.now() - heard > SILENCE_MS) controller.abort(new DOMException("the log stream went silent", "TimeoutError"));
    }, 1000);
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (generation !== this.#generation) return;
        if (done) break;
        heard = Date.now();
        for (const frame of splitter.push(text.decode(value, { stream: true }))) this.#show(parseFrame(frame));
      }
    } finally {
      clearInterval(watchdog);
    }
    // The server ends a follow once the task is dead and every byte was sent.
    this.#state = "ended";
    this.#say(
      this.#text === "" ? `The task has finished without writing to ${this.#type}.` : `End of ${this.#type}: the task has finished.`,
    );
  }

  #show(frame: ReturnType<typeof parseFrame>): void {
    const offset = smallOf(frame.Offset);
    if (offset !== undefined) this.#offset = offset;
    if (!frame.Data) return;
    const atBottom = this.#pre.scrollTop + this.#pre.clientHeight >= this.#pre.scrollHeight - 4;
    const wasEmpty = this.#text === "";
    this.#text += this.#decoder.decode(base64Bytes(frame.Data), { stream: true });
    if (this.#text.length > KEEP_CHARS) this.#text = this.#text.slice(-KEEP_CHARS);
    this.#pre.textContent = this.#text;
    if (wasEmpty) this.#say(`Following ${this.#type}.`);
    if (atBottom) this.#pre.scrollTop = this.#pre.scrollHeight;
  }

  #refused(problem: Problem): void {
    if (isNotStarted(problem)) {
      this.#state = "not-started";
      this.#say(NOT_STARTED_TEXT);
      return;
    }
    if (problem.kind === "server" || problem.kind === "busy") {
      this.#retry(problem);
      return;
    }
    this.#state = "stopped";
    if (problem.kind === "forbidden") this.#say(tokenForm(problem, this.#restart, "task logs"));
    else if (problem.kind === "not-found") this.#say("No logs: this allocation does not exist (any more).");
    else this.#say(`The server refused the log read: ${problem.text}`);
  }

  #retry(problem: Problem): void {
    this.#attempt++;
    const delay = problem.retryAfterMs ?? backoffMs(this.#attempt);
    this.#state = "retrying";
    const what = problem.kind === "unreachable" ? "The log stream was cut" : `The log read failed (${problem.status}: ${problem.text})`;
    this.#say(`${what}. Reconnecting in ${Math.ceil(delay / 1000)} s (attempt ${this.#attempt}).`);
    clearTimeout(this.#timer);
    const generation = this.#generation;
    this.#timer = setTimeout(() => {
      if (generation === this.#generation) this.#open();
    }, delay);
  }
}
