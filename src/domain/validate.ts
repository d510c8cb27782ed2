/**
 * Checks a decoded body against a wire schema and returns it normalized as Nomad would write it:
 * omitted struct fields get their Go zero value, times are re-formatted as RFC3339Nano, floats
 * carry a decimal point. Unknown fields of structs are kept as sent. Nothing is coerced: a wrong
 * type is a 400 naming the field.
 */
import { CodedError } from "../errors.ts";
import { isJsonObject, JsonNumber, type JsonObject, type JsonValue } from "../json/codec.ts";
import { normalizeRfc3339, ZERO_TIME } from "../json/go-time.ts";
import { refName, type Schema, zeroValueKind } from "./schema-dsl.ts";
import { SCHEMAS } from "./schemas.ts";

/** Go's `encoding/json` decodes `[]byte` with base64.StdEncoding: standard alphabet, `=` padding. */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

const INTEGER_RANGES: Record<string, [bigint, bigint]> = {
  int64: [-(1n << 63n), (1n << 63n) - 1n],
  uint64: [0n, (1n << 64n) - 1n],
};

function resolve(schema: Schema): Schema {
  if (!schema.$ref) return schema;
  const target = SCHEMAS[refName(schema.$ref)];
  if (!target) throw new Error(`unknown schema ${schema.$ref}`);
  return target;
}

function kindOf(value: JsonValue): string {
  if (value === null) return "null";
  if (value instanceof JsonNumber) return "number";
  if (Array.isArray(value)) return "array";
  return typeof value === "object" ? "object" : typeof value;
}

function invalid(path: string, why: string): never {
  throw new CodedError(400, `invalid field ${path}: ${why}`);
}

function childPath(path: string, key: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

/** The Go zero value for a field that was not sent. */
export function zeroValue(schema: Schema): JsonValue {
  const kind = zeroValueKind(schema);
  switch (kind) {
    case "null":
    case "any":
      return null;
    case "string":
      return "";
    case "time":
      return ZERO_TIME;
    case "integer":
      return new JsonNumber("0");
    case "number":
      return new JsonNumber("0.0");
    case "boolean":
      return false;
    case "struct": {
      const target = resolve(schema);
      return target.type === "object" ? fillStruct(Object.create(null), target) : zeroValue(target);
    }
  }
}

function fillStruct(obj: JsonObject, schema: Schema): JsonObject {
  for (const [key, field] of Object.entries(schema.properties ?? {})) {
    if (!(key in obj) && !field["x-checked-when-present"]) obj[key] = zeroValue(field);
  }
  return obj;
}

function typeMatches(type: string, value: JsonValue): boolean {
  switch (type) {
    case "null":
      return value === null;
    case "boolean":
      return typeof value === "boolean";
    case "string":
      return typeof value === "string";
    case "integer":
      return value instanceof JsonNumber && value.isInteger;
    case "number":
      return value instanceof JsonNumber;
    case "array":
      return Array.isArray(value);
    case "object":
      return isJsonObject(value);
    default:
      return false;
  }
}

/** Validates `value` at `path` and returns its normalized copy. */
function normalize(value: JsonValue, schema: Schema, path: string): JsonValue {
  if (schema.oneOf) {
    if (value === null && schema.oneOf.some((s) => s.type === "null")) return null;
    const nonNull = schema.oneOf.find((s) => s.type !== "null");
    return nonNull ? normalize(value, nonNull, path) : invalid(path, "expected null");
  }
  const target = resolve(schema);
  if (target.type !== undefined) {
    const types = Array.isArray(target.type) ? target.type : [target.type];
    if (!types.some((type) => typeMatches(type, value))) {
      const expected = types.map((type) => (type === "integer" && target.format ? `integer (${target.format})` : type)).join(" or ");
      invalid(path, `expected ${expected}, got ${kindOf(value)}${value instanceof JsonNumber ? ` ${value.raw}` : ""}`);
    }
  }
  if (target.enum && !target.enum.includes(value as string | null)) {
    invalid(path, `${JSON.stringify(value)} is not one of ${target.enum.map((v) => JSON.stringify(v)).join(", ")}`);
  }
  if (value instanceof JsonNumber) return normalizeNumber(value, target, path);
  if (typeof value === "string") {
    if (target.minLength !== undefined && value.length < target.minLength) invalid(path, "must not be empty");
    // JSON Schema counts characters (code points); UTF-16 length is an upper bound, so count only past it.
    if (target.maxLength !== undefined && value.length > target.maxLength && [...value].length > target.maxLength) {
      invalid(path, `longer than ${target.maxLength} characters`);
    }
    if (target.format === "date-time") return normalizeRfc3339(value) ?? invalid(path, "expected an RFC 3339 time");
    if (target.contentEncoding === "base64" && !BASE64.test(value))
      invalid(path, "expected base64 (Go's []byte: standard alphabet, padded)");
    return value;
  }
  if (Array.isArray(value)) {
    if (target.maxItems !== undefined && value.length > target.maxItems) invalid(path, `at most ${target.maxItems} items`);
    if (target.minItems !== undefined && value.length < target.minItems)
      invalid(path, `at least ${target.minItems} item${target.minItems === 1 ? "" : "s"}`);
    const items = target.items;
    return items ? value.map((item, i) => normalize(item, items, `${path}[${i}]`)) : value;
  }
  if (isJsonObject(value)) return normalizeObject(value, target, path);
  return value;
}

function normalizeNumber(value: JsonNumber, schema: Schema, path: string): JsonNumber {
  // Go's decoder refuses a number a float64 cannot hold (`1e400`); so must we, or Go readers fail.
  if (schema.type === "number" && !Number.isFinite(Number(value.raw))) invalid(path, `${value.raw} is out of range for float64`);
  if (value.isInteger) {
    const range = INTEGER_RANGES[schema.format ?? ""];
    if (range) {
      const n = value.toBigInt();
      if (n < range[0] || n > range[1]) invalid(path, `${value.raw} is out of range for ${schema.format}`);
    }
    // Go writes float64 values with a decimal point.
    if (schema.type === "number") return new JsonNumber(`${value.raw}.0`);
  }
  return value;
}

function normalizeObject(value: JsonObject, schema: Schema, path: string): JsonObject {
  const out: JsonObject = Object.create(null);
  for (const key of schema.required ?? []) {
    if (!(key in value)) invalid(childPath(path, key), "is required");
  }
  for (const [key, item] of Object.entries(value)) {
    // Own properties only: a client's key such as `constructor` must not find Object.prototype's.
    const field = schema.properties && Object.hasOwn(schema.properties, key) ? schema.properties[key] : undefined;
    const extra = schema.additionalProperties;
    if (field) out[key] = normalize(item, field, childPath(path, key));
    else if (extra === false) invalid(childPath(path, key), "unknown field");
    else if (extra === true || extra === undefined) out[key] = item;
    else out[key] = normalize(item, extra, childPath(path, key));
  }
  // Structs (open objects with declared fields) always carry every field, as Go writes them.
  return schema.additionalProperties === true ? fillStruct(out, schema) : out;
}

/** Validates a decoded body against the named component schema. */
export function normalizeAs(name: string, value: JsonValue): JsonValue {
  const schema = SCHEMAS[name];
  if (!schema) throw new Error(`unknown schema ${name}`);
  return normalize(value, schema, name);
}
