/**
 * Nomad's filter expressions: hashicorp/go-bexpr's grammar (grammar/grammar.peg) parsed the way its
 * PEG parser parses it (ordered choice with backtracking, errors at the farthest failure, worded as
 * its pigeon-generated parser words them), and evaluated over JSON documents with go-bexpr's rules
 * (evaluate.go): selectors walk fields, map keys and list indexes; a missing map key takes the
 * operator's "not present" answer; values are coerced to the selected field's kind.
 */
import { isJsonObject, JsonNumber, type JsonValue } from "../json/codec.ts";
import { parseGoBool } from "../json/go-bool.ts";

type MatchOperator = "==" | "!=" | "in" | "not in" | "is empty" | "is not empty" | "matches" | "not matches" | "is nil" | "is not nil";

type Expression =
  | { kind: "and" | "or"; left: Expression; right: Expression }
  | { kind: "not"; operand: Expression }
  | { kind: "match"; selector: string[]; operator: MatchOperator; value?: string }
  | { kind: "collection"; op: "any" | "all"; selector: string[]; binding: Binding; inner: Expression };

interface Binding {
  /** `as x`: the value for lists, the key for maps. */
  default?: string;
  index?: string;
  value?: string;
}

/** A filter that cannot be parsed or evaluated; the message is go-bexpr's. */
export class FilterError extends Error {}

const FAIL = Symbol("fail");
type Result<T> = T | typeof FAIL;

const WHITESPACE = "[ \\t\\r\\n]";

/** A PEG parser over one expression, tracking the farthest failure as pigeon does. */
class Parser {
  pos = 0;
  #farthest = 0;
  #expected = new Set<string>();
  #inverted = 0;
  readonly errors: string[] = [];
  readonly #rules: string[] = [];

  readonly text: string;

  constructor(text: string) {
    this.text = text;
  }

  #fail(at: number, want: string): void {
    if (this.#inverted % 2 === 1) want = `!${want}`;
    if (at < this.#farthest) return;
    if (at > this.#farthest) {
      this.#farthest = at;
      this.#expected.clear();
    }
    this.#expected.add(want);
  }

  #succeedInverted(at: number, want: string): void {
    // Inside a not-predicate pigeon records what did match (as `!want`).
    if (this.#inverted % 2 === 1) this.#fail(at, want);
  }

  position(offset: number): string {
    let line = 1;
    let col = 1;
    for (const char of this.text.slice(0, offset)) {
      if (char === "\n") {
        line++;
        col = 1;
      } else col++;
    }
    return `${line}:${col} (${new TextEncoder().encode(this.text.slice(0, offset)).length})`;
  }

  /** A custom error of a grammar predicate, prefixed by the innermost named rule. */
  error(message: string): void {
    const rule = this.#rules.at(-1);
    this.errors.push(`${this.position(this.pos)}: ${rule ? `rule "${rule}": ` : ""}${message}`);
  }

  noMatch(): string {
    const expected = [...this.#expected].filter((e) => e !== "!.").sort();
    if (this.#expected.has("!.")) expected.push("EOF");
    const list = expected.length <= 1 ? expected.join("") : `${expected.slice(0, -1).join(", ")} or ${expected.at(-1)}`;
    return `${this.position(this.#farthest)}: no match found, expected: ${list}`;
  }

  rule<T>(name: string, body: () => Result<T>): Result<T> {
    this.#rules.push(name);
    try {
      return body();
    } finally {
      this.#rules.pop();
    }
  }

  /** Tries `body`; on failure restores the position. */
  attempt<T>(body: () => Result<T>): Result<T> {
    const start = this.pos;
    const result = body();
    if (result === FAIL) this.pos = start;
    return result;
  }

  /** `!body`: succeeds (consuming nothing) when body fails. */
  not(body: () => unknown): boolean {
    const start = this.pos;
    this.#inverted++;
    const matched = body() !== FAIL;
    this.#inverted--;
    this.pos = start;
    return !matched;
  }

  /** `&body`: succeeds (consuming nothing) when body matches. */
  and(body: () => unknown): boolean {
    const start = this.pos;
    const matched = body() !== FAIL;
    this.pos = start;
    return matched;
  }

  literal(word: string): Result<string> {
    if (this.text.startsWith(word, this.pos)) {
      this.#succeedInverted(this.pos, JSON.stringify(word));
      this.pos += word.length;
      return word;
    }
    this.#fail(this.pos, JSON.stringify(word));
    return FAIL;
  }

  charClass(test: (char: string) => boolean, description: string): Result<string> {
    const char = this.#charAt(this.pos);
    if (char !== undefined && test(char)) {
      this.#succeedInverted(this.pos, description);
      this.pos += char.length;
      return char;
    }
    this.#fail(this.pos, description);
    return FAIL;
  }

  anyChar(): Result<string> {
    const char = this.#charAt(this.pos);
    if (char !== undefined) {
      this.#succeedInverted(this.pos, ".");
      this.pos += char.length;
      return char;
    }
    this.#fail(this.pos, ".");
    return FAIL;
  }

  #charAt(at: number): string | undefined {
    const code = this.text.codePointAt(at);
    return code === undefined ? undefined : String.fromCodePoint(code);
  }

  eof(): boolean {
    return this.not(() => this.anyChar());
  }
}

const isSpace = (c: string) => c === " " || c === "\t" || c === "\r" || c === "\n";
const isLetter = (c: string) => /^[a-zA-Z]$/.test(c);
const isIdentChar = (c: string) => /^[a-zA-Z0-9_/]$/.test(c);
const isDigit = (c: string) => c >= "0" && c <= "9";

/** `_ <- [ \t\r\n]+` */
function ws(p: Parser): Result<true> {
  return p.rule("whitespace", () => {
    if (p.charClass(isSpace, WHITESPACE) === FAIL) return FAIL;
    while (p.charClass(isSpace, WHITESPACE) !== FAIL);
    return true;
  });
}

const optWs = (p: Parser) => {
  ws(p);
  return true as const;
};

/** A sequence of steps; fails (restoring the position) when any step fails. */
function seq(p: Parser, ...steps: Array<() => unknown>): Result<true> {
  return p.attempt(() => {
    for (const step of steps) if (step() === FAIL) return FAIL;
    return true;
  });
}

function identifier(p: Parser): Result<string> {
  return p.attempt(() => {
    const start = p.pos;
    if (p.charClass(isLetter, "[a-zA-Z]") === FAIL) return FAIL;
    while (p.charClass(isIdentChar, "[a-zA-Z0-9_/]") !== FAIL);
    return p.text.slice(start, p.pos);
  });
}

/** Go's strconv.Unquote for the two literal forms the grammar has. */
function unquote(raw: string): string | undefined {
  if (raw.startsWith("`")) return raw.slice(1, -1).replaceAll("\r", "");
  try {
    // JSON's escapes are a subset of Go's; Go's others (\a \v \x.. \' octal \U) are rewritten first.
    const rewritten = raw.slice(1, -1).replace(/\\(x[0-9a-fA-F]{2}|[0-7]{3}|U[0-9a-fA-F]{8}|a|v|')|\\(.)/gs, (all, goOnly, other) => {
      if (other !== undefined) return all;
      if (goOnly === "a") return "\\u0007";
      if (goOnly === "v") return "\\u000b";
      if (goOnly === "'") return "'";
      if (goOnly[0] === "x") return `\\u00${goOnly.slice(1)}`;
      if (goOnly[0] === "U") return JSON.stringify(String.fromCodePoint(Number.parseInt(goOnly.slice(1), 16))).slice(1, -1);
      return `\\u${Number.parseInt(goOnly, 8).toString(16).padStart(4, "0")}`;
    });
    const value = JSON.parse(`"${rewritten}"`) as string;
    return value;
  } catch {
    return undefined;
  }
}

function stringLiteral(p: Parser): Result<string> {
  return p.rule("string", () => {
    const start = p.pos;
    /** `quote`, everything up to the next `quote`, then `end`. */
    const opened = (quote: string, end: () => unknown) =>
      seq(
        p,
        () => p.literal(quote),
        () => {
          while (p.attempt(() => (p.not(() => p.literal(quote)) ? p.anyChar() : FAIL)) !== FAIL);
          return true;
        },
        end,
      );
    const quoted = (quote: string) => opened(quote, () => p.literal(quote));
    if (quoted("`") !== FAIL || quoted('"') !== FAIL) {
      const value = unquote(p.text.slice(start, p.pos));
      if (value === undefined) {
        p.error("invalid syntax");
        return FAIL;
      }
      return value;
    }
    const unterminated = (quote: string) => opened(quote, () => (p.eof() ? true : FAIL));
    if (unterminated("`") !== FAIL || unterminated('"') !== FAIL) p.error("Unterminated string literal");
    p.pos = start;
    return FAIL;
  });
}

function indexExpression(p: Parser): Result<string> {
  return p.rule("index", () => {
    const start = p.pos;
    let key: Result<string> = FAIL;
    const closed = seq(
      p,
      () => p.literal("["),
      () => optWs(p),
      () => {
        key = stringLiteral(p);
        return key;
      },
      () => optWs(p),
      () => p.literal("]"),
    );
    if (closed !== FAIL) return key;
    p.pos = start;
    if (
      seq(
        p,
        () => p.literal("["),
        () => optWs(p),
      ) !== FAIL
    ) {
      if (p.not(() => stringLiteral(p))) {
        p.error("Invalid index");
        p.pos = start;
        return FAIL;
      }
      if (
        seq(
          p,
          () => stringLiteral(p),
          () => optWs(p),
        ) !== FAIL &&
        p.not(() => p.literal("]"))
      )
        p.error("Unclosed index expression");
    }
    p.pos = start;
    return FAIL;
  });
}

function jsonPointerSegment(p: Parser): Result<string> {
  return p.attempt(() => {
    if (p.literal("/") === FAIL) return FAIL;
    const start = p.pos;
    const isSegmentChar = (c: string) => /^[\p{L}\p{N}\-_.~:|]$/u.test(c);
    if (p.charClass(isSegmentChar, "[\\pL\\pN-_.~:|]") === FAIL) return FAIL;
    while (p.charClass(isSegmentChar, "[\\pL\\pN-_.~:|]") !== FAIL);
    return p.text.slice(start, p.pos);
  });
}

/** A selector's path, and whether it was a JSON pointer (its `String()` joins with `/` then). */
interface SelectorPath {
  path: string[];
  pointer: boolean;
}

function selector(p: Parser): Result<SelectorPath> {
  return p.rule("selector", () => {
    const bexpr = p.attempt((): Result<SelectorPath> => {
      const first = identifier(p);
      if (first === FAIL) return FAIL;
      const path = [first];
      for (;;) {
        const part = p.attempt((): Result<string> => {
          const dotted = p.attempt(() => (p.literal(".") === FAIL ? FAIL : identifier(p)));
          if (dotted !== FAIL) return dotted;
          const indexed = indexExpression(p);
          if (indexed !== FAIL) return indexed;
          return p.attempt(() => {
            if (p.literal(".") === FAIL) return FAIL;
            const start = p.pos;
            if (p.charClass(isDigit, "[0-9]") === FAIL) return FAIL;
            while (p.charClass(isDigit, "[0-9]") !== FAIL);
            return p.text.slice(start, p.pos);
          });
        });
        if (part === FAIL) break;
        path.push(part);
      }
      return { path, pointer: false };
    });
    if (bexpr !== FAIL) return bexpr;
    return p.attempt((): Result<SelectorPath> => {
      if (p.literal('"') === FAIL) return FAIL;
      const segments: string[] = [];
      for (let segment = jsonPointerSegment(p); segment !== FAIL; segment = jsonPointerSegment(p)) segments.push(segment);
      if (p.literal('"') === FAIL) return FAIL;
      // pointerstructure.Parse: `~1` is `/`, `~0` is `~`; an empty pointer `/` has one empty part.
      const path = segments.length === 0 ? [""] : segments.map((s) => s.replaceAll("~1", "/").replaceAll("~0", "~"));
      return { path, pointer: true };
    });
  });
}

const selectorText = (s: SelectorPath) => s.path.join(s.pointer ? "/" : ".");

function numberLiteral(p: Parser): Result<string> {
  return p.rule("number", () => {
    const start = p.pos;
    const integerOrFloat = () =>
      seq(
        p,
        () => {
          p.literal("-");
          return true;
        },
        () => {
          if (p.literal("0") !== FAIL) return true;
          if (p.charClass((c) => c >= "1" && c <= "9", "[1-9]") === FAIL) return FAIL;
          while (p.charClass(isDigit, "[0-9]") !== FAIL);
          return true;
        },
        () => {
          p.attempt(() => {
            if (p.literal(".") === FAIL || p.charClass(isDigit, "[0-9]") === FAIL) return FAIL;
            while (p.charClass(isDigit, "[0-9]") !== FAIL);
            return true;
          });
          return true;
        },
      );
    const afterNumbers = () => p.and(() => (ws(p) !== FAIL || p.eof() || p.literal(")") !== FAIL ? true : FAIL));
    if (integerOrFloat() !== FAIL) {
      if (afterNumbers()) return p.text.slice(start, p.pos);
      p.error("Invalid number literal");
    }
    p.pos = start;
    return FAIL;
  });
}

function value(p: Parser): Result<string> {
  return p.rule("value", () => {
    const sel = selector(p);
    if (sel !== FAIL) return selectorText(sel);
    const number = numberLiteral(p);
    if (number !== FAIL) return number;
    return stringLiteral(p);
  });
}

/** `_? "==" _?` and the other operators, each a sequence of words separated by whitespace. */
function operator(p: Parser, words: string[], leadingOptional = false, trailing = true): Result<true> {
  return seq(
    p,
    () => (leadingOptional ? optWs(p) : ws(p)),
    ...words.flatMap((word, i) => [() => p.literal(word), ...(i < words.length - 1 ? [() => ws(p)] : [])]),
    ...(trailing ? [() => (leadingOptional ? optWs(p) : ws(p))] : []),
  );
}

function matchExpression(p: Parser): Result<Expression> {
  return p.rule("match", () => {
    // Selector (== | != | contains | not contains | matches | not matches) Value
    const withValue = p.attempt((): Result<Expression> => {
      const sel = selector(p);
      if (sel === FAIL) return FAIL;
      const ops: Array<[MatchOperator, () => Result<true>]> = [
        ["==", () => operator(p, ["=="], true)],
        ["!=", () => operator(p, ["!="], true)],
        ["in", () => operator(p, ["contains"])],
        ["not in", () => operator(p, ["not", "contains"])],
        ["matches", () => operator(p, ["matches"])],
        ["not matches", () => operator(p, ["not", "matches"])],
      ];
      for (const [op, parse] of ops) {
        if (parse() === FAIL) continue;
        const v = value(p);
        return v === FAIL ? FAIL : { kind: "match", selector: sel.path, operator: op, value: v };
      }
      return FAIL;
    });
    if (withValue !== FAIL) return withValue;
    // Selector (is empty | is not empty | is nil | is not nil)
    const unary = p.attempt((): Result<Expression> => {
      const sel = selector(p);
      if (sel === FAIL) return FAIL;
      const ops: Array<[MatchOperator, string[]]> = [
        ["is empty", ["is", "empty"]],
        ["is not empty", ["is", "not", "empty"]],
        ["is nil", ["is", "nil"]],
        ["is not nil", ["is", "not", "nil"]],
      ];
      for (const [op, words] of ops)
        if (operator(p, words, false, false) !== FAIL) return { kind: "match", selector: sel.path, operator: op };
      return FAIL;
    });
    if (unary !== FAIL) return unary;
    // Value (in | not in) Selector
    const start = p.pos;
    const v = value(p);
    if (v === FAIL) return FAIL;
    const ops: Array<[MatchOperator, string[]]> = [
      ["in", ["in"]],
      ["not in", ["not", "in"]],
    ];
    for (const [op, words] of ops) {
      const afterValue = p.pos;
      if (operator(p, words) === FAIL) continue;
      const sel = selector(p);
      if (sel !== FAIL) return { kind: "match", selector: sel.path, operator: op, value: v };
      if (p.not(() => selector(p))) p.error("Invalid selector");
      p.pos = afterValue;
    }
    p.pos = start;
    return FAIL;
  });
}

function parenthesized(p: Parser): Result<Expression> {
  return p.rule("grouping", () => {
    let inner: Result<Expression> = FAIL;
    const grouped = seq(
      p,
      () => p.literal("("),
      () => optWs(p),
      () => {
        inner = orExpression(p);
        return inner;
      },
      () => optWs(p),
      () => p.literal(")"),
    );
    if (grouped !== FAIL) return inner;
    const match = matchExpression(p);
    if (match !== FAIL) return match;
    const start = p.pos;
    if (
      seq(
        p,
        () => p.literal("("),
        () => optWs(p),
        () => orExpression(p),
        () => optWs(p),
      ) !== FAIL &&
      p.not(() => p.literal(")"))
    ) {
      p.error("Unmatched parentheses");
    }
    p.pos = start;
    return FAIL;
  });
}

function notExpression(p: Parser): Result<Expression> {
  const negated = p.attempt((): Result<Expression> => {
    if (
      seq(
        p,
        () => p.literal("not"),
        () => ws(p),
      ) === FAIL
    )
      return FAIL;
    const operand = notExpression(p);
    if (operand === FAIL) return FAIL;
    // not not x is x (go-bexpr folds double negation).
    return operand.kind === "not" ? operand.operand : { kind: "not", operand };
  });
  return negated !== FAIL ? negated : parenthesized(p);
}

function andExpression(p: Parser): Result<Expression> {
  const both = p.attempt((): Result<Expression> => {
    const left = notExpression(p);
    if (
      left === FAIL ||
      seq(
        p,
        () => ws(p),
        () => p.literal("and"),
        () => ws(p),
      ) === FAIL
    )
      return FAIL;
    const right = andExpression(p);
    return right === FAIL ? FAIL : { kind: "and", left, right };
  });
  return both !== FAIL ? both : notExpression(p);
}

function collectionBinding(p: Parser): Result<Binding> {
  return p.rule("collection-identifiers", () => {
    const comma = () =>
      seq(
        p,
        () => optWs(p),
        () => p.literal(","),
        () => optWs(p),
      );
    const indexAndValue = p.attempt((): Result<Binding> => {
      const index = identifier(p);
      if (index === FAIL || comma() === FAIL) return FAIL;
      const v = identifier(p);
      return v === FAIL ? FAIL : { index, value: v };
    });
    if (indexAndValue !== FAIL) return indexAndValue;
    const indexOnly = p.attempt((): Result<Binding> => {
      const index = identifier(p);
      return index === FAIL || comma() === FAIL || p.literal("_") === FAIL ? FAIL : { index };
    });
    if (indexOnly !== FAIL) return indexOnly;
    const valueOnly = p.attempt((): Result<Binding> => {
      if (p.literal("_") === FAIL || comma() === FAIL) return FAIL;
      const v = identifier(p);
      return v === FAIL ? FAIL : { value: v };
    });
    if (valueOnly !== FAIL) return valueOnly;
    const single = identifier(p);
    return single === FAIL ? FAIL : { default: single };
  });
}

function collectionExpression(p: Parser): Result<Expression> {
  return p.attempt((): Result<Expression> => {
    let op: "any" | "all";
    if (
      seq(
        p,
        () => p.literal("any"),
        () => ws(p),
      ) !== FAIL
    )
      op = "any";
    else if (
      seq(
        p,
        () => p.literal("all"),
        () => ws(p),
      ) !== FAIL
    )
      op = "all";
    else return FAIL;
    const sel = selector(p);
    if (
      sel === FAIL ||
      seq(
        p,
        () => ws(p),
        () => p.literal("as"),
        () => ws(p),
      ) === FAIL
    )
      return FAIL;
    const binding = collectionBinding(p);
    if (
      binding === FAIL ||
      seq(
        p,
        () => optWs(p),
        () => p.literal("{"),
        () => optWs(p),
      ) === FAIL
    )
      return FAIL;
    const inner = orExpression(p);
    if (
      inner === FAIL ||
      seq(
        p,
        () => optWs(p),
        () => p.literal("}"),
      ) === FAIL
    )
      return FAIL;
    return { kind: "collection", op, selector: sel.path, binding, inner };
  });
}

function orExpression(p: Parser): Result<Expression> {
  const both = p.attempt((): Result<Expression> => {
    const left = andExpression(p);
    if (
      left === FAIL ||
      seq(
        p,
        () => ws(p),
        () => p.literal("or"),
        () => ws(p),
      ) === FAIL
    )
      return FAIL;
    const right = orExpression(p);
    return right === FAIL ? FAIL : { kind: "or", left, right };
  });
  if (both !== FAIL) return both;
  const and = andExpression(p);
  return and !== FAIL ? and : collectionExpression(p);
}

/** Parses a filter expression; throws a FilterError with go-bexpr's message when it is invalid. */
export function parseFilter(text: string): Expression {
  const p = new Parser(text);
  const parsed = p.attempt((): Result<Expression> => {
    optWs(p);
    const expression = orExpression(p);
    if (expression === FAIL) return FAIL;
    optWs(p);
    return p.eof() ? expression : FAIL;
  });
  if (p.errors.length > 0) throw new FilterError([...new Set(p.errors)].join("\n"));
  if (parsed === FAIL) throw new FilterError(p.noMatch());
  return parsed;
}

// ---- evaluation ----------------------------------------------------------------------------

type Kind = "bool" | "int" | "float" | "string" | "list" | "map" | "nil";

function kindOf(value: JsonValue): Kind {
  if (value === null) return "nil";
  if (typeof value === "boolean") return "bool";
  if (typeof value === "string") return "string";
  if (value instanceof JsonNumber) return value.isInteger ? "int" : "float";
  return Array.isArray(value) ? "list" : "map";
}

const GO_KIND: Record<Kind, string> = {
  bool: "bool",
  int: "int64",
  float: "float64",
  string: "string",
  list: "slice",
  map: "map",
  nil: "ptr",
};

/** strconv.ParseBool, ParseInt(…, 0, 64) and ParseFloat as go-bexpr's coercions use them. */
function coerce(raw: string, kind: "bool" | "int" | "float"): boolean | bigint | number {
  if (kind === "bool") {
    const value = parseGoBool(raw);
    if (value !== undefined) return value;
    throw new FilterError(`error getting match value in expression: strconv.ParseBool: parsing ${JSON.stringify(raw)}: invalid syntax`);
  }
  if (kind === "int") {
    const m = /^([+-]?)(0[xX][0-9a-fA-F_]+|0[bB][01_]+|0[oO]?[0-7_]*|[1-9][0-9_]*)$/.exec(raw);
    if (m) {
      const sign = m[1] === "-" ? -1n : 1n;
      let digits = (m[2] ?? "").replaceAll("_", "");
      if (/^0[0-7]/.test(digits)) digits = `0o${digits.slice(1)}`;
      else if (/^0[oO]/.test(digits)) digits = `0o${digits.slice(2)}`;
      const n = sign * BigInt(digits);
      if (n >= -(1n << 63n) && n < 1n << 63n) return n;
      throw new FilterError(
        `error getting match value in expression: strconv.ParseInt: parsing ${JSON.stringify(raw)}: value out of range`,
      );
    }
    throw new FilterError(`error getting match value in expression: strconv.ParseInt: parsing ${JSON.stringify(raw)}: invalid syntax`);
  }
  const n = /^[+-]?(\d+\.?\d*([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?|[iI]nf(inity)?|NaN)$/.test(raw)
    ? Number(raw.replace(/^([+-]?)[iI]nf(inity)?$/, "$1Infinity"))
    : Number.NaN;
  if (Number.isNaN(n) && raw !== "NaN") {
    throw new FilterError(`error getting match value in expression: strconv.ParseFloat: parsing ${JSON.stringify(raw)}: invalid syntax`);
  }
  return n;
}

function equals(raw: string, value: JsonValue): boolean {
  const kind = kindOf(value);
  switch (kind) {
    case "bool":
      return coerce(raw, "bool") === value;
    case "int":
      return coerce(raw, "int") === (value as JsonNumber).toBigInt();
    case "float":
      return coerce(raw, "float") === Number((value as JsonNumber).raw);
    case "string":
      return raw === value;
    default:
      throw new FilterError("unable to find suitable primitive comparison function for matching");
  }
}

interface Scope {
  name: string;
  /** The path it stands for, or (for a map key or a list index) the value itself. */
  path?: string[];
  value?: JsonValue;
}

type Lookup = { present: true; value: JsonValue } | { present: false };

function lookup(datum: JsonValue, selectorPath: string[], scopes: Scope[]): Lookup {
  let path = selectorPath;
  for (let i = scopes.length - 1; i >= 0; i--) {
    const scope = scopes[i];
    if (!scope || path[0] !== scope.name) continue;
    if (scope.path === undefined) {
      if (path.length > 1) throw new FilterError(`/${path[0]} references a value so /${path.join("/")} is invalid`);
      return { present: true, value: scope.value ?? null };
    }
    path = [...scope.path, ...path.slice(1)];
  }
  let current: JsonValue = datum;
  const pointer = `/${path.join("/")}`;
  for (const [i, part] of path.entries()) {
    if (isJsonObject(current)) {
      if (Object.hasOwn(current, part)) {
        current = current[part] ?? null;
        continue;
      }
      // A missing key of a map at depth > 0 is "not present"; a missing top-level field is an error,
      // as for a Go struct field that does not exist.
      if (i > 0) return { present: false };
      throw new FilterError(
        `error finding value in datum: ${pointer} at part ${i}: couldn't find key: struct field with name ${JSON.stringify(part)}`,
      );
    }
    if (Array.isArray(current)) {
      const index = /^\d+$/.test(part) ? Number(part) : Number.NaN;
      if (!(index < current.length)) {
        throw new FilterError(
          `error finding value in datum: ${pointer} at part ${i}: index ${part} is out of range (length = ${current.length})`,
        );
      }
      current = current[index] ?? null;
      continue;
    }
    // A nil map (JSON null) holds no keys; a nil struct pointer would be an error in Go, but JSON
    // does not tell the two apart.
    if (current === null) return { present: false };
    throw new FilterError(`error finding value in datum: ${pointer}: at part ${i}, invalid value kind: ${GO_KIND[kindOf(current)]}`);
  }
  return { present: true, value: current };
}

const NOT_PRESENT: Record<MatchOperator, boolean> = {
  "==": false,
  "!=": true,
  in: false,
  "not in": true,
  "is empty": true,
  "is not empty": false,
  matches: false,
  "not matches": true,
  "is nil": true,
  "is not nil": false,
};

const regexCache = new Map<string, RegExp>();

/**
 * Why a pattern could backtrack without bound in a JavaScript engine (Go's RE2, which Nomad uses,
 * runs in linear time and rejects backreferences and lookarounds): backreferences, lookarounds,
 * and a repeated group that itself holds a repetition or an alternation, e.g. `(a+)+` or `(a|aa)*`.
 */
export function unboundedBacktracking(source: string): string | undefined {
  if (/\\[1-9]|\\k</.test(source)) return "backreferences are not supported";
  if (/\(\?<?[=!]/.test(source)) return "lookarounds are not supported";
  const groups: Array<{ risky: boolean }> = [];
  let escaped = false;
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (escaped) {
      escaped = false;
      continue;
    }
    if (c === "\\") escaped = true;
    else if (inClass) inClass = c !== "]";
    else if (c === "[") inClass = true;
    else if (c === "(") groups.push({ risky: false });
    else if (c === "?" && source[i - 1] === "(") continue;
    else if (c === "|" || c === "*" || c === "+" || c === "?" || c === "{") {
      const top = groups.at(-1);
      if (top) top.risky = true;
    } else if (c === ")") {
      const group = groups.pop();
      const next = source[i + 1];
      const repeated = next === "*" || next === "+" || next === "{";
      if (group?.risky && repeated) return "a repeated group may not hold a repetition or an alternation";
      const parent = groups.at(-1);
      if (parent && (group?.risky || repeated)) parent.risky = true;
    }
  }
  return undefined;
}

function compileRegex(source: string): RegExp {
  let re = regexCache.get(source);
  if (!re) {
    const unsafe = unboundedBacktracking(source);
    if (unsafe) throw new FilterError(`failed to compile regular expression ${JSON.stringify(source)}: ${unsafe}`);
    try {
      re = new RegExp(source, "u");
    } catch (error) {
      throw new FilterError(`failed to compile regular expression ${JSON.stringify(source)}: ${(error as Error).message}`);
    }
    if (regexCache.size > 256) regexCache.clear();
    regexCache.set(source, re);
  }
  return re;
}

function contains(raw: string, value: JsonValue, selector: string[]): boolean {
  const kind = kindOf(value);
  if (kind === "string") return (value as string).includes(raw);
  if (kind === "map") return Object.hasOwn(value as object, raw);
  if (kind === "nil") return false;
  if (kind === "list") {
    for (const item of value as JsonValue[]) {
      const itemKind = kindOf(item);
      if (itemKind === "list" || itemKind === "map" || itemKind === "nil") {
        throw new FilterError(
          `unable to find suitable primitive comparison function for "in" comparison in interface slice: ${GO_KIND[itemKind]}`,
        );
      }
      try {
        if (equals(raw, item)) return true;
      } catch (error) {
        // A mixed list: items the value cannot be coerced to are skipped, as go-bexpr skips syntax errors.
        if (!(error instanceof FilterError) || !error.message.includes("invalid syntax")) throw error;
      }
    }
    return false;
  }
  throw new FilterError(
    `cannot perform in/contains operations on type ${GO_KIND[kind]} for selector: ${JSON.stringify(selector.join("."))}`,
  );
}

function match(expression: Extract<Expression, { kind: "match" }>, datum: JsonValue, scopes: Scope[]): boolean {
  const found = lookup(datum, expression.selector, scopes);
  if (!found.present) return NOT_PRESENT[expression.operator];
  const value = found.value;
  const raw = expression.value ?? "";
  const kind = kindOf(value);
  const selectorName = JSON.stringify(expression.selector.join("."));
  switch (expression.operator) {
    case "==":
      return equals(raw, value);
    case "!=":
      return !equals(raw, value);
    case "in":
      return contains(raw, value, expression.selector);
    case "not in":
      return !contains(raw, value, expression.selector);
    case "is empty":
    case "is not empty": {
      let empty: boolean;
      if (kind === "string") empty = value === "";
      else if (kind === "list") empty = (value as JsonValue[]).length === 0;
      else if (kind === "map") empty = Object.keys(value as object).length === 0;
      else if (kind === "nil") empty = true;
      else throw new FilterError(`cannot perform is-empty operations on type ${GO_KIND[kind]} for selector: ${selectorName}`);
      return expression.operator === "is empty" ? empty : !empty;
    }
    case "matches":
    case "not matches": {
      if (kind !== "string") throw new FilterError(`value of type ${GO_KIND[kind]} is not convertible to []byte`);
      const matched = compileRegex(raw).test(value as string);
      return expression.operator === "matches" ? matched : !matched;
    }
    case "is nil":
    case "is not nil": {
      if (kind !== "nil" && kind !== "list" && kind !== "map") {
        throw new FilterError(`cannot perform is-nil operations on type ${GO_KIND[kind]} for selector: ${selectorName}`);
      }
      return (kind === "nil") === (expression.operator === "is nil");
    }
  }
}

function collection(expression: Extract<Expression, { kind: "collection" }>, datum: JsonValue, scopes: Scope[]): boolean {
  const found = lookup(datum, expression.selector, scopes);
  if (!found.present) return expression.op === "all";
  const value = found.value;
  const { binding } = expression;
  if (binding.index !== undefined && binding.index === binding.value) {
    throw new FilterError(`${JSON.stringify(binding.index)} cannot be used as a placeholder for both the index and the value`);
  }
  const entries: Array<[JsonValue, string]> = Array.isArray(value)
    ? value.map((_, i) => [new JsonNumber(String(i)), String(i)])
    : isJsonObject(value)
      ? Object.keys(value).map((key) => [key, key])
      : value === null
        ? []
        : (() => {
            throw new FilterError(`${expression.selector.join(".")} is not a list or a map`);
          })();
  for (const [key, part] of entries) {
    const inner: Scope[] = [...scopes];
    const valuePath = [...expression.selector, part];
    if (Array.isArray(value)) {
      if (binding.index !== undefined) inner.push({ name: binding.index, value: key });
      if (binding.default !== undefined) inner.push({ name: binding.default, path: valuePath });
    } else {
      if (binding.default !== undefined) inner.push({ name: binding.default, value: key });
      if (binding.index !== undefined) inner.push({ name: binding.index, value: key });
    }
    if (binding.value !== undefined) inner.push({ name: binding.value, path: valuePath });
    const result = evaluateIn(expression.inner, datum, inner);
    if (result && expression.op === "any") return true;
    if (!result && expression.op === "all") return false;
  }
  return expression.op === "all";
}

function evaluateIn(expression: Expression, datum: JsonValue, scopes: Scope[]): boolean {
  switch (expression.kind) {
    case "not":
      return !evaluateIn(expression.operand, datum, scopes);
    case "and":
      return evaluateIn(expression.left, datum, scopes) && evaluateIn(expression.right, datum, scopes);
    case "or":
      return evaluateIn(expression.left, datum, scopes) || evaluateIn(expression.right, datum, scopes);
    case "match":
      return match(expression, datum, scopes);
    case "collection":
      return collection(expression, datum, scopes);
  }
}

/** Whether `datum` matches; throws a FilterError where go-bexpr's evaluation fails. */
export function evaluateFilter(expression: Expression, datum: JsonValue): boolean {
  return evaluateIn(expression, datum, []);
}
