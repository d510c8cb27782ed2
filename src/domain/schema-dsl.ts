/**
 * A small vocabulary for writing the wire schemas once. Every schema built here is a plain JSON
 * Schema 2020-12 object (what OpenAPI 3.1 embeds), and the same objects drive:
 * - validation of write bodies (`validate.ts`),
 * - filling Go zero values for omitted struct fields (`validate.ts`),
 * - the OpenAPI document's `components.schemas` (`src/openapi`).
 */
import { ZERO_TIME } from "../json/go-time.ts";

type JsonType = "string" | "integer" | "number" | "boolean" | "object" | "array" | "null";

export interface Schema {
  $ref?: string;
  type?: JsonType | JsonType[];
  format?: string;
  title?: string;
  description?: string;
  properties?: Record<string, Schema>;
  additionalProperties?: Schema | boolean;
  required?: string[];
  items?: Schema;
  enum?: (string | null)[];
  oneOf?: Schema[];
  pattern?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  default?: unknown;
  examples?: unknown[];
  contentEncoding?: string;
  /**
   * A field of a newer Nomad than the seed's: type-checked when sent, but not filled with its zero
   * value when absent, so documents in the seed's shape keep their exact bytes.
   */
  "x-checked-when-present"?: boolean;
}

const COMPONENT_PREFIX = "#/components/schemas/";

const INT64_WARNING =
  "Serialized as a plain JSON integer that can exceed 2^53: parse it with a big-integer aware JSON decoder, or the low digits are lost.";

export const t = {
  string: (description: string, extra: Schema = {}): Schema => ({ type: "string", description, ...extra }),
  bool: (description: string): Schema => ({ type: "boolean", description }),
  /** Go `int`/`int64`. */
  int: (description: string): Schema => ({ type: "integer", format: "int64", description }),
  /** Go `uint64` (Raft-style indexes, counters). */
  uint: (description: string): Schema => ({ type: "integer", format: "uint64", minimum: 0, description }),
  /** int64 unix nanoseconds: exceeds 2^53. */
  unixNanos: (description: string): Schema => ({
    type: "integer",
    format: "int64",
    description: `${description} Unix time in nanoseconds. ${INT64_WARNING}`,
  }),
  /** Go `time.Duration`: int64 nanoseconds. */
  duration: (description: string): Schema => ({
    type: "integer",
    format: "int64",
    description: `${description} A Go duration in nanoseconds (e.g. 10000000000 = 10s).`,
  }),
  float: (description: string): Schema => ({ type: "number", format: "double", description }),
  /** Go `time.Time`, RFC3339Nano; `0001-01-01T00:00:00Z` when unset. */
  time: (description: string): Schema => ({
    type: "string",
    format: "date-time",
    description: `${description} RFC 3339 with nanoseconds; \`${ZERO_TIME}\` (Go's zero time) when unset.`,
  }),
  /** Go `[]byte`: base64, `null` when nil. */
  bytes: (description: string): Schema => ({ type: ["string", "null"], contentEncoding: "base64", description }),
  /** Go slice: `null` when nil, `[]` when empty. */
  list: (items: Schema, description: string): Schema => ({ type: ["array", "null"], items, description }),
  /** Go map keyed by string: `null` when nil, `{}` when empty. */
  map: (values: Schema, description: string): Schema => ({ type: ["object", "null"], additionalProperties: values, description }),
  /** A pointer to a struct: `null` when nil. */
  ptr: (name: string, description: string): Schema => ({
    oneOf: [{ $ref: COMPONENT_PREFIX + name }, { type: "null" }],
    description,
  }),
  /** A struct held by value: never null. */
  val: (name: string, description: string): Schema => ({ $ref: COMPONENT_PREFIX + name, description }),
  ref: (name: string): Schema => ({ $ref: COMPONENT_PREFIX + name }),
  /** Any JSON value, kept as sent (driver config and the like). */
  any: (description: string): Schema => ({ description }),
};

/** A Go struct: every field always present on the wire; unknown fields are kept as sent. */
export function struct(description: string, properties: Record<string, Schema>): Schema {
  return { type: "object", description, properties, additionalProperties: true };
}

export function withRequired(required: string[], schema: Schema): Schema {
  return { ...schema, required };
}

export function refName(ref: string): string {
  return ref.slice(COMPONENT_PREFIX.length);
}

/** The Go zero value of a field, as Nomad would write it when nobody set it. */
export function zeroValueKind(schema: Schema): "null" | "string" | "time" | "integer" | "number" | "boolean" | "struct" | "any" {
  if (schema.oneOf?.some((s) => s.type === "null")) return "null";
  if (schema.$ref) return "struct";
  const type = schema.type;
  if (Array.isArray(type)) return type.includes("null") ? "null" : "any";
  if (type === "string") return schema.format === "date-time" ? "time" : "string";
  if (type === "integer" || type === "number" || type === "boolean") return type;
  if (type === "object") return "struct";
  return "any";
}
