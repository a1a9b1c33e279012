/**
 * A parsed event pattern: plain data (JSON-serialisable), the same for the single matcher and
 * the compiled rule index.
 *
 * Like event-ruler, a pattern is flattened into field paths ("detail.state", dotted keys and
 * nesting alike) and `$or` is expanded: the pattern matches when one of its branches does; a
 * branch matches when every condition does; a condition matches when one of its matchers does
 * (the values in the pattern's array are alternatives).
 */
export interface EventPattern {
  /** At least one. Without `$or` there is exactly one. */
  branches: Branch[];
}

export interface Branch {
  /** One per path, sorted by path (UTF-16 order, as event-ruler visits them). */
  conditions: Condition[];
}

export interface Condition {
  path: string;
  /** At least one; any may match. */
  matchers: Matcher[];
}

export type Matcher =
  /** An exact string (`"value"` or `{"exactly": "value"}`). */
  | { kind: "string"; value: string }
  /** A string in the pattern that reads as an IP address: equal addresses match whatever their spelling. */
  | { kind: "ip"; value: string; range: IpRange }
  /** An exact number; matched by value. `text` as written. */
  | { kind: "number"; value: number; text: string }
  | { kind: "boolean"; value: boolean }
  | { kind: "null" }
  | { kind: "prefix"; value: string; ignoreCase: boolean }
  | { kind: "suffix"; value: string; ignoreCase: boolean }
  | { kind: "equals-ignore-case"; value: string }
  /** `*` matches any run of characters; `\*` and `\\` are literal. `value` as written. */
  | { kind: "wildcard"; value: string }
  /** Bounds absent mean unbounded (up to the largest finite double). */
  | { kind: "numeric"; lower?: NumericBound; upper?: NumericBound }
  | { kind: "cidr"; value: string; range: IpRange }
  | { kind: "exists"; value: boolean }
  /** Anything but these strings (and, unlike them, any number, boolean or null). */
  | { kind: "anything-but"; strings: string[] }
  /** Anything but these numbers. */
  | { kind: "anything-but-number"; numbers: number[] }
  | { kind: "anything-but-ignore-case"; values: string[] }
  | { kind: "anything-but-prefix"; values: string[] }
  | { kind: "anything-but-suffix"; values: string[] }
  | { kind: "anything-but-wildcard"; values: string[] };

export interface NumericBound {
  value: number;
  inclusive: boolean;
}

/** An address range of one family; bounds as fixed-length upper-case hex (8 or 32 digits). */
export interface IpRange {
  family: 4 | 6;
  low: string;
  high: string;
}

export type MatcherKind = Matcher["kind"];
