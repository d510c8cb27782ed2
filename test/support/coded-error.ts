import { CodedError } from "../../src/errors.ts";

/** The status and text of the CodedError `fn` throws; fails if it throws anything else or nothing. */
export function codeOf(fn: () => unknown): [number, string] {
  try {
    fn();
  } catch (error) {
    if (error instanceof CodedError) return [error.status, error.message];
    throw error;
  }
  throw new Error("did not throw");
}
