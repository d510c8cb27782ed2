/** A few DOM helpers: elements from a tag, attributes and children; status badges; times. */
import { absoluteTime, relativeTime, type Tone, toneOf } from "./format.ts";

type Child = Node | string | null | undefined | false;
type Attributes = Record<string, string | number | boolean | undefined>;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Attributes = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue;
    element.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children) if (child !== null && child !== undefined && child !== false) element.append(child);
  return element;
}

/** A status word with its colour: the word is the meaning, the colour only repeats it. */
export function badge(status: string | undefined, failed = false): HTMLElement {
  const tone: Tone = toneOf(status, failed);
  const word = status || "unknown";
  return h("span", { class: `badge tone-${tone}` }, failed && word !== "failed" ? `${word} (failed)` : word);
}

/**
 * A `<time>` showing "5 min ago"; the absolute time follows in small print and `exact` (e.g. the
 * nanosecond value) is on hover and focus. `data-ms` lets the page refresh the relative part.
 */
export function timeElement(ms: number, exact: string, iso: string): HTMLElement {
  return h(
    "span",
    { class: "when" },
    h("time", { datetime: iso, title: exact, "data-ms": ms, tabindex: 0 }, relativeTime(ms, Date.now())),
    " ",
    h("span", { class: "abs" }, absoluteTime(ms)),
  );
}

/** Re-renders every relative time under `root` (called on a timer). */
export function refreshTimes(root: ParentNode): void {
  const now = Date.now();
  for (const element of root.querySelectorAll<HTMLTimeElement>("time[data-ms]")) {
    element.textContent = relativeTime(Number(element.dataset.ms), now);
  }
}

export function clear(element: Element, ...children: Child[]): void {
  element.replaceChildren(...children.filter((c): c is Node | string => c !== null && c !== undefined && c !== false));
}
