/**
 * A JSON codec that speaks Nomad's dialect.
 *
 * Numbers are kept as their source digits (`JsonNumber`) so that int64 nanosecond timestamps
 * above 2^53 survive parse → store → encode byte for byte; nothing here goes through a JS `number`.
 * The encoder writes object keys in byte-wise sorted order (Nomad's codec sorts struct fields; map
 * keys are sorted too so output is deterministic), leaves `<>&` unescaped, and has Nomad's
 * `?pretty` layout (4-space indent, trailing newline).
 */

/** A JSON number held as its exact source text, e.g. `1490999500248633594` or `6.133651487695705`. */
export class JsonNumber {
  readonly raw: string;
  constructor(raw: string) {
    this.raw = raw;
  }
  get isInteger(): boolean {
    return /^-?\d+$/.test(this.raw);
  }
  toBigInt(): bigint {
    if (!this.isInteger) throw new RangeError(`not an integer: ${this.raw}`);
    return BigInt(this.raw);
  }
  static of(value: bigint | number): JsonNumber {
    return new JsonNumber(typeof value === "bigint" ? value.toString() : formatSafeInteger(value));
  }
}

export type JsonValue = null | boolean | string | JsonNumber | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

export function isJsonObject(value: JsonValue | undefined): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value) && !(value instanceof JsonNumber);
}

function formatSafeInteger(value: number): string {
  if (!Number.isSafeInteger(value)) throw new RangeError(`unsafe integer: ${value}`);
  return String(value);
}

/** Raised for malformed JSON; `message` is safe to show to the client. */
export class JsonSyntaxError extends Error {}

interface ParseLimits {
  /** Deepest array/object nesting accepted; bounds recursion and CPU on hostile input. */
  maxDepth: number;
}

const DEFAULT_LIMITS: ParseLimits = { maxDepth: 64 };
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const WHITESPACE = /[ \t\n\r]*/y;
// biome-ignore lint/suspicious/noControlCharactersInRegex: JSON forbids raw control characters in strings
const PLAIN_STRING_RUN = /[^"\\\u0000-\u001f]*/y;

/** Parses strict JSON (RFC 8259). Duplicate keys are rejected: their meaning would be ambiguous. */
export function parseJson(text: string, limits: ParseLimits = DEFAULT_LIMITS): JsonValue {
  let pos = 0;

  const fail = (what: string): never => {
    throw new JsonSyntaxError(`${what} at offset ${pos}`);
  };
  const skipWhitespace = () => {
    WHITESPACE.lastIndex = pos;
    WHITESPACE.test(text);
    pos = WHITESPACE.lastIndex;
  };

  const parseString = (): string => {
    pos++; // opening quote
    let out = "";
    for (;;) {
      PLAIN_STRING_RUN.lastIndex = pos;
      PLAIN_STRING_RUN.test(text);
      out += text.slice(pos, PLAIN_STRING_RUN.lastIndex);
      pos = PLAIN_STRING_RUN.lastIndex;
      const ch = text[pos];
      if (ch === '"') {
        pos++;
        return out;
      }
      if (ch === undefined) fail("unterminated string");
      if (ch !== "\\") fail("control character in string");
      const esc = text[pos + 1];
      pos += 2;
      switch (esc) {
        case '"':
        case "\\":
        case "/":
          out += esc;
          break;
        case "b":
          out += "\b";
          break;
        case "f":
          out += "\f";
          break;
        case "n":
          out += "\n";
          break;
        case "r":
          out += "\r";
          break;
        case "t":
          out += "\t";
          break;
        case "u": {
          const hex = text.slice(pos, pos + 4);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) fail("invalid unicode escape");
          out += String.fromCharCode(Number.parseInt(hex, 16));
          pos += 4;
          break;
        }
        default:
          pos -= 2;
          fail("invalid escape");
      }
    }
  };

  const parseValue = (depth: number): JsonValue => {
    skipWhitespace();
    const ch = text[pos];
    if (ch === "{" || ch === "[") {
      if (depth >= limits.maxDepth) fail(`nesting deeper than ${limits.maxDepth}`);
      return ch === "{" ? parseObject(depth + 1) : parseArray(depth + 1);
    }
    if (ch === '"') return parseString();
    if (text.startsWith("true", pos)) {
      pos += 4;
      return true;
    }
    if (text.startsWith("false", pos)) {
      pos += 5;
      return false;
    }
    if (text.startsWith("null", pos)) {
      pos += 4;
      return null;
    }
    NUMBER.lastIndex = pos;
    const match = NUMBER.exec(text);
    if (match) {
      pos = NUMBER.lastIndex;
      return new JsonNumber(match[0]);
    }
    return fail(ch === undefined ? "unexpected end of input" : "unexpected character");
  };

  const parseArray = (depth: number): JsonValue[] => {
    pos++;
    const items: JsonValue[] = [];
    skipWhitespace();
    if (text[pos] === "]") {
      pos++;
      return items;
    }
    for (;;) {
      items.push(parseValue(depth));
      skipWhitespace();
      const ch = text[pos++];
      if (ch === "]") return items;
      if (ch !== ",") {
        pos--;
        fail("expected , or ]");
      }
    }
  };

  const parseObject = (depth: number): JsonObject => {
    pos++;
    const obj: JsonObject = Object.create(null);
    skipWhitespace();
    if (text[pos] === "}") {
      pos++;
      return obj;
    }
    for (;;) {
      skipWhitespace();
      if (text[pos] !== '"') fail("expected string key");
      const keyAt = pos;
      const key = parseString();
      if (Object.hasOwn(obj, key)) {
        pos = keyAt;
        fail(`duplicate key ${JSON.stringify(key)}`);
      }
      skipWhitespace();
      if (text[pos++] !== ":") {
        pos--;
        fail("expected :");
      }
      obj[key] = parseValue(depth);
      skipWhitespace();
      const ch = text[pos++];
      if (ch === "}") return obj;
      if (ch !== ",") {
        pos--;
        fail("expected , or }");
      }
    }
  };

  const value = parseValue(0);
  skipWhitespace();
  if (pos !== text.length) fail("unexpected data after JSON value");
  return value;
}

// Go's encoder escapes control characters, quote, backslash and U+2028/U+2029; <, > and & stay
// literal (Nomad's HTMLCharsAsIs).
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const NEEDS_ESCAPE = /["\\\u0000-\u001f\u2028\u2029]/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const ESCAPABLE = /["\\\u0000-\u001f\u2028\u2029]/g;
const SHORT_ESCAPES: Record<string, string> = { '"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t" };

export function encodeString(value: string): string {
  if (!NEEDS_ESCAPE.test(value)) return `"${value}"`;
  return `"${value.replace(ESCAPABLE, (ch) => SHORT_ESCAPES[ch] ?? `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`)}"`;
}

/**
 * UTF-8 byte order, as Go's `sort.Strings` orders map keys. It equals code point order, which
 * differs from JS's UTF-16 order only where a surrogate (U+D800–DFFF, the code units of characters
 * above U+FFFF) meets U+E000–U+FFFF: in UTF-8 the character above U+FFFF sorts last.
 */
function compareKeys(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0xd800 && y >= 0xd800) {
      x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
      y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
    }
    return x - y;
  }
  return a.length - b.length;
}

/**
 * Encodes compactly (no trailing newline), or with `pretty` as Nomad's `?pretty`:
 * 4-space indentation, `": "` separators and a trailing newline.
 */
export function encodeJson(value: JsonValue, pretty = false): string {
  const out: string[] = [];
  const write = (v: JsonValue, indent: string) => {
    if (v === null) out.push("null");
    else if (typeof v === "boolean") out.push(v ? "true" : "false");
    else if (typeof v === "string") out.push(encodeString(v));
    else if (v instanceof JsonNumber) out.push(v.raw);
    else if (Array.isArray(v)) {
      if (v.length === 0) {
        out.push("[]");
        return;
      }
      const inner = `${indent}    `;
      out.push("[");
      v.forEach((item, i) => {
        if (i > 0) out.push(",");
        if (pretty) out.push("\n", inner);
        write(item, inner);
      });
      if (pretty) out.push("\n", indent);
      out.push("]");
    } else {
      const keys = Object.keys(v).sort(compareKeys);
      if (keys.length === 0) {
        out.push("{}");
        return;
      }
      const inner = `${indent}    `;
      out.push("{");
      keys.forEach((key, i) => {
        if (i > 0) out.push(",");
        if (pretty) out.push("\n", inner);
        out.push(encodeString(key), pretty ? ": " : ":");
        write(v[key] as JsonValue, inner);
      });
      if (pretty) out.push("\n", indent);
      out.push("}");
    }
  };
  write(value, "");
  if (pretty) out.push("\n");
  return out.join("");
}
