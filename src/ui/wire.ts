/**
 * The API's response types for the pages, taken from the generated `openapi/openapi.d.ts` (so an
 * API change breaks the pages' typecheck) with every number as the exact `JsonNumber` the
 * project's JSON codec parses: int64 nanoseconds and indexes exceed 2^53 and never pass through a
 * JS `number` here.
 */
import type { components } from "../../openapi/openapi.d.ts";
import { isJsonObject, JsonNumber, type JsonValue, parseJson } from "../json/codec.ts";

type Schemas = components["schemas"];

/** `T` as the codec parses it: numbers become `JsonNumber`, everything else keeps its shape. */
type Exact<T> = T extends number
  ? JsonNumber
  : T extends string | boolean | null | undefined
    ? T
    : T extends readonly (infer Item)[]
      ? Exact<Item>[]
      : T extends object
        ? { [K in keyof T]: Exact<T[K]> }
        : T;

export type Allocation = Exact<Schemas["Allocation"]>;
export type AllocListStub = Exact<Schemas["AllocListStub"]>;
export type TaskState = Exact<Schemas["TaskState"]>;
export type TaskEvent = Exact<Schemas["TaskEvent"]>;
type TaskLogFrame = Exact<Schemas["TaskLogFrame"]>;

/** Raised when an answer is not the JSON shape the page expects. */
class WireError extends Error {}

/** The response's JSON, exactly; `check` confirms the outer shape before the page trusts it. */
function parse(text: string): JsonValue {
  // Answers can be large lists; the depth limit only guards recursion.
  return parseJson(text, { maxDepth: 256 });
}

export function parseAllocation(text: string): Allocation {
  const value = parse(text);
  if (!isJsonObject(value) || typeof value.ID !== "string") throw new WireError("the allocation answer is not an allocation object");
  return value as Allocation;
}

export function parseAllocList(text: string): AllocListStub[] {
  const value = parse(text);
  if (!Array.isArray(value) || !value.every((item) => isJsonObject(item) && typeof item.ID === "string")) {
    throw new WireError("the list answer is not an array of allocations");
  }
  return value as AllocListStub[];
}

export function parseFrame(text: string): TaskLogFrame {
  const value = parse(text);
  if (!isJsonObject(value)) throw new WireError("a log frame is not a JSON object");
  return value as TaskLogFrame;
}

/** An exact integer field as a BigInt (absent or not an integer: undefined). */
export function bigOf(value: JsonNumber | undefined | null): bigint | undefined {
  return value instanceof JsonNumber && value.isInteger ? value.toBigInt() : undefined;
}

/** A small integer field (restarts, offsets, exit codes) as a number. */
export function smallOf(value: JsonNumber | undefined | null): number | undefined {
  return value instanceof JsonNumber ? Number(value.raw) : undefined;
}
