/**
 * The HCL subset Nomad ACL policies are written in, parsed strictly: blocks with at most one
 * quoted label (`namespace "default" { … }`, `node { … }`), and inside them `key = "string"` or
 * `key = ["string", …]`, with `#`, `//` and `/* *\/` comments. Anything else — a character the
 * lexer does not know, an unquoted word as a value, `:=`, a stray `;`, a bad escape, a repeated
 * key or block — is a syntax error with its line and column, never skipped.
 *
 * The result is the JSON tree the same rules have in Nomad's JSON form, built from prototype-less
 * objects, so no key a policy author writes (`__proto__`, `constructor`) can reach a prototype.
 */
import type { JsonObject, JsonValue } from "../json/codec.ts";

export class HclSyntaxError extends Error {}

type TokenKind = "ident" | "string" | "punct";

interface Token {
  kind: TokenKind;
  /** The identifier, the punctuation character, or the decoded string value. */
  value: string;
  line: number;
  column: number;
}

const IDENT = /[A-Za-z_][A-Za-z0-9_.-]*/y;
const PUNCTUATION = new Set(["{", "}", "[", "]", "=", ","]);
const SIMPLE_ESCAPES: Record<string, string> = Object.assign(Object.create(null), {
  n: "\n",
  r: "\r",
  t: "\t",
  a: "\u0007",
  b: "\b",
  f: "\f",
  v: "\v",
  "\\": "\\",
  '"': '"',
});
/** Hex digits after `\x`, `\u` and `\U`, as Go string literals (and HCL) have them. */
const HEX_ESCAPE_DIGITS: Record<string, number> = Object.assign(Object.create(null), { x: 2, u: 4, U: 8 });

function describe(token: Token | undefined): string {
  if (!token) return "end of input";
  return token.kind === "string" ? `string ${JSON.stringify(token.value)}` : JSON.stringify(token.value);
}

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let pos = 0;
  let line = 1;
  let lineStart = 0;
  const fail = (what: string, at = pos): never => {
    throw new HclSyntaxError(`At ${line}:${at - lineStart + 1}: ${what}`);
  };
  while (pos < text.length) {
    const ch = text[pos] as string;
    if (ch === "\n") {
      pos++;
      line++;
      lineStart = pos;
    } else if (ch === " " || ch === "\t" || ch === "\r") {
      pos++;
    } else if (ch === "#" || text.startsWith("//", pos)) {
      const end = text.indexOf("\n", pos);
      pos = end === -1 ? text.length : end;
    } else if (text.startsWith("/*", pos)) {
      const end = text.indexOf("*/", pos + 2);
      if (end === -1) fail("unterminated comment");
      for (let i = pos; i < end; i++) {
        if (text[i] === "\n") {
          line++;
          lineStart = i + 1;
        }
      }
      pos = end + 2;
    } else if (PUNCTUATION.has(ch)) {
      tokens.push({ kind: "punct", value: ch, line, column: pos - lineStart + 1 });
      pos++;
    } else if (ch === '"') {
      const column = pos - lineStart + 1;
      pos++;
      let value = "";
      for (;;) {
        const c = text[pos];
        if (c === undefined || c === "\n") fail("unterminated string");
        if (c === '"') break;
        if (c !== "\\") {
          value += c;
          pos++;
          continue;
        }
        const esc = text[pos + 1] ?? "";
        const simple = SIMPLE_ESCAPES[esc];
        const digits = HEX_ESCAPE_DIGITS[esc];
        if (simple !== undefined) {
          value += simple;
          pos += 2;
        } else if (digits !== undefined) {
          const hex = text.slice(pos + 2, pos + 2 + digits);
          if (!new RegExp(`^[0-9a-fA-F]{${digits}}$`).test(hex)) fail(`invalid escape \\${esc} in string`);
          const code = Number.parseInt(hex, 16);
          if (code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) fail(`invalid escape \\${esc}${hex} in string`);
          value += String.fromCodePoint(code);
          pos += 2 + digits;
        } else {
          fail(`invalid escape \\${esc} in string`);
        }
      }
      pos++;
      tokens.push({ kind: "string", value, line, column });
    } else {
      IDENT.lastIndex = pos;
      const match = IDENT.exec(text);
      if (!match) fail(`illegal character ${JSON.stringify(ch)}`);
      tokens.push({ kind: "ident", value: (match as RegExpExecArray)[0], line, column: pos - lineStart + 1 });
      pos = IDENT.lastIndex;
    }
  }
  return tokens;
}

/** Parses policy HCL into its JSON-form tree (prototype-less objects; throws `HclSyntaxError`). */
export function parsePolicyHcl(text: string): JsonObject {
  const tokens = tokenize(text);
  let at = 0;
  const fail = (what: string, token = tokens[at]): never => {
    const where = token ? `At ${token.line}:${token.column}: ` : "At end of input: ";
    throw new HclSyntaxError(`${where}${what}`);
  };
  const take = (): Token => tokens[at++] ?? fail("unexpected end of input");
  const expect = (punct: string, after: string): void => {
    const token = tokens[at];
    if (token?.kind !== "punct" || token.value !== punct) fail(`expected ${punct} after ${after}, got ${describe(token)}`);
    at++;
  };
  const isPunct = (punct: string) => tokens[at]?.kind === "punct" && tokens[at]?.value === punct;

  const quoted = (after: string): string => {
    const token = tokens[at];
    if (token?.kind !== "string") fail(`expected a quoted string after ${after}, got ${describe(token)}`);
    at++;
    return (token as Token).value;
  };

  const value = (key: string): JsonValue => {
    if (!isPunct("[")) return quoted(`${key} =`);
    at++;
    const list: string[] = [];
    while (!isPunct("]")) {
      list.push(quoted(list.length ? "," : "["));
      if (isPunct(",")) at++;
      else if (!isPunct("]")) fail(`expected , or ] in the list of ${key}, got ${describe(tokens[at])}`);
    }
    at++;
    return list;
  };

  const body = (): JsonObject => {
    const out: JsonObject = Object.create(null);
    for (;;) {
      const token = take();
      if (token.kind === "punct" && token.value === "}") return out;
      if (token.kind === "punct") fail(`expected a key or }, got ${describe(token)}`, token);
      if (Object.hasOwn(out, token.value)) fail(`duplicate key ${JSON.stringify(token.value)}`, token);
      expect("=", token.value);
      out[token.value] = value(token.value);
      if (isPunct(",")) at++;
    }
  };

  const root: JsonObject = Object.create(null);
  while (at < tokens.length) {
    const block = take();
    if (block.kind !== "ident") fail(`expected a block name, got ${describe(block)}`, block);
    let label: string | undefined;
    if (tokens[at]?.kind === "string") label = take().value;
    expect("{", label === undefined ? block.value : `${block.value} ${JSON.stringify(label)}`);
    const content = body();
    if (label === undefined) {
      if (Object.hasOwn(root, block.value)) fail(`duplicate block ${JSON.stringify(block.value)}`, block);
      root[block.value] = content;
    } else {
      const existing = root[block.value];
      const labelled: JsonObject = existing === undefined ? Object.create(null) : (existing as JsonObject);
      if (existing !== undefined && (typeof existing !== "object" || Array.isArray(existing) || Object.hasOwn(labelled, label))) {
        fail(`duplicate block ${block.value} ${JSON.stringify(label)}`, block);
      }
      labelled[label] = content;
      root[block.value] = labelled;
    }
  }
  return root;
}
