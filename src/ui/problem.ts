/**
 * Failures sorted into what a person can do about them, and the blocking-query plumbing shared by
 * the pages' requests. Pure (no DOM), so unit tests run it.
 */
import { ErrorText } from "../errors.ts";

/** What went wrong, in the terms the page explains it. */
type ProblemKind =
  | "forbidden" // 403: a token (or a better one) is needed
  | "not-found" // 404: no such allocation (or task logs)
  | "bad-region" // 400 No path to region
  | "bad-request" // any other 4xx: the server's text says what
  | "busy" // 429: wait for Retry-After
  | "server" // 5xx: retry with backoff
  | "unreachable"; // no answer at all: retry with backoff

export interface Problem {
  kind: ProblemKind;
  status: number;
  /** The server's error text (Nomad's plain-text errors), or the browser's for "unreachable". */
  text: string;
  /** For "busy": how long the server asked us to wait. */
  retryAfterMs?: number;
}

export function problemOf(status: number, text: string, retryAfter: string | null): Problem {
  const trimmed = text.trim();
  if (status === 403) return { kind: "forbidden", status, text: trimmed };
  if (status === 404) return { kind: "not-found", status, text: trimmed };
  if (status === 429) {
    const seconds = Number(retryAfter);
    return { kind: "busy", status, text: trimmed, retryAfterMs: Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : 1000 };
  }
  if (status === 400 && trimmed === ErrorText.noRegionPath) return { kind: "bad-region", status, text: trimmed };
  if (status >= 400 && status < 500) return { kind: "bad-request", status, text: trimmed };
  return { kind: "server", status, text: trimmed || `HTTP ${status}` };
}

/** A failed fetch (network down, server stopped): the only case where fetch itself throws. */
export function unreachable(error: unknown): Problem {
  return { kind: "unreachable", status: 0, text: error instanceof Error ? error.message : String(error) };
}

export function isAbort(error: unknown): boolean {
  return error instanceof DOMException && error.name === "AbortError";
}

/** Whether retrying the same request later can succeed without the person doing anything. */
export function isTransient(problem: Problem): boolean {
  return problem.kind === "unreachable" || problem.kind === "server" || problem.kind === "busy";
}

/** `X-Nomad-Index` as an exact integer (absent or malformed: undefined). */
export function indexOf(response: Response): bigint | undefined {
  const raw = response.headers.get("X-Nomad-Index");
  return raw !== null && /^\d{1,20}$/.test(raw) ? BigInt(raw) : undefined;
}

/**
 * A query serializer that adds the blocking `index` as its exact digits (the generated type says
 * `number`; the value is an int64 and is never put through one). Empty values are left out.
 */
export function withIndex(index: bigint): (query: Record<string, unknown>) => string {
  return (query) => {
    const params = new URLSearchParams();
    for (const [name, value] of Object.entries(query)) {
      if (value !== undefined && value !== "") params.set(name, String(value));
    }
    if (index > 0n) params.set("index", index.toString());
    return params.toString();
  };
}
