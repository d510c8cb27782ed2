/**
 * Go's `strconv.ParseBool`: the texts it takes, in the order Go lists them. Query parameters,
 * filter coercions and the OpenAPI document's enums all use these lists.
 */
const GO_TRUE = ["1", "t", "T", "TRUE", "true", "True"] as const;
const GO_FALSE = ["0", "f", "F", "FALSE", "false", "False"] as const;
export const GO_BOOLS: readonly string[] = [...GO_TRUE, ...GO_FALSE];

/** Returns undefined when the text is not a Go boolean, so each caller can word its own error. */
export function parseGoBool(raw: string): boolean | undefined {
  if ((GO_TRUE as readonly string[]).includes(raw)) return true;
  if ((GO_FALSE as readonly string[]).includes(raw)) return false;
  return undefined;
}
