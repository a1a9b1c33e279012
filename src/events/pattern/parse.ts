import type { Branch, Condition, EventPattern, Matcher, NumericBound } from "./ast.js";
import { InvalidEventPatternError } from "./errors.js";
import { locationLine } from "./jackson-text.js";
import { CidrError, ipRangeOf, parseCidr } from "./ip.js";
import { JsonReadError, JsonReader, type JsonToken } from "./json-reader.js";
import { comparableNumber, NotComparableError } from "./numbers.js";
import { wildcardSegments, WildcardSyntaxError } from "./wildcard.js";
import { MAX_COMPLEXITY, wildcardComplexity } from "./wildcard-complexity.js";

/**
 * Parses an event pattern from the text PutRule or TestEventPattern receive, as EventBridge does
 * (event-ruler's JsonRuleCompiler): the same acceptance, the same first error and its text, the
 * same meaning. Notable points, all from event-ruler:
 * - keys are read in order and a path given twice keeps its last value (`{"a":[1],"a":[2]}` is
 *   `a = 2`; nesting and dotted keys are the same path);
 * - `$or` must hold an array of at least two objects; inside them the operator names (prefix,
 *   numeric, …) may not be used as field names; `$or` is expanded into branches;
 * - nothing after the closing brace of the pattern is read.
 * Limits of our own (AWS's texts for them are not known): the pattern's length (EventBridge's
 * default quota is 2,048 characters, raisable to 4,096) and the number of branches `$or` expands
 * to (1,000), so that no input costs unbounded time or memory.
 */

export interface ParseOptions {
  /** Longest pattern accepted, in UTF-16 units (characters as AWS counts them). Default 2048. */
  maxLength?: number;
  /** Most branches `$or` may expand to. Default 1000. */
  maxBranches?: number;
}

export const DEFAULT_MAX_PATTERN_LENGTH = 2048;
export const DEFAULT_MAX_BRANCHES = 1000;

/** Field names that event-ruler refuses inside `$or` objects (Constants.RESERVED_FIELD_NAMES_IN_OR_RELATIONSHIP). */
const RESERVED_IN_OR = new Set([
  "exactly",
  "equals-ignore-case",
  "prefix",
  "suffix",
  "anything-but",
  "exists",
  "wildcard",
  "numeric",
  "cidr",
  "html",
  "=",
  "<",
  "<=",
  ">",
  ">=",
  "regex",
  "not-wildcard",
  "not-equals-ignore-case",
  "date-after",
  "date-on-or-after",
  "date-before",
  "date-on-or-before",
  "in-date-range",
  "ip-address-in-range",
  "ip-address-not-in-range",
]);

const TOO_COMPLEX =
  "Rule is too complex - try using fewer wildcard characters or fewer repeating character sequences after a wildcard character";

export function parseEventPattern(text: string, options: ParseOptions = {}): EventPattern {
  const maxLength = options.maxLength ?? DEFAULT_MAX_PATTERN_LENGTH;
  if (text.length > maxLength) {
    throw new InvalidEventPatternError(
      `Event pattern is ${text.length} characters long, more than the maximum of ${maxLength}`,
    );
  }
  const branches = new PatternCompiler(text, options.maxBranches ?? DEFAULT_MAX_BRANCHES).compile();
  checkWildcardComplexity(branches);
  return { branches };
}

type Rules = Map<string, Matcher[]>[];

class PatternCompiler {
  private readonly reader: JsonReader;

  constructor(
    private readonly text: string,
    private readonly maxBranches: number,
  ) {
    this.reader = new JsonReader(text);
  }

  compile(): Branch[] {
    const first = this.next();
    if (!first || first.kind !== "startObject") throw this.fail("Filter is not an object");
    const rules: Rules = [];
    this.parseObject(rules, [], false);
    return rules.map((rule) => ({
      conditions: [...rule.entries()]
        .map(([path, matchers]): Condition => ({ path, matchers }))
        .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)),
    }));
  }

  // --- reading, with Jackson's errors turned into AWS's -------------------------------------

  private next(): JsonToken | null {
    try {
      return this.reader.next();
    } catch (e) {
      throw this.fromRead(e);
    }
  }

  /** The next token where the grammar needs one (the reader only returns null at the top level). */
  private need(): JsonToken {
    const t = this.next();
    if (!t) throw this.fail("Unexpected end-of-input");
    return t;
  }

  private textOf(): string {
    try {
      return this.reader.tokenText();
    } catch (e) {
      throw this.fromRead(e);
    }
  }

  private fromRead(e: unknown): unknown {
    if (!(e instanceof JsonReadError)) return e;
    return new InvalidEventPatternError(e.reason, {
      location: { offset: e.offset, ...lineCol(this.text, e.offset) },
      locationLines: [locationLine(this.text, e.offset)],
    });
  }

  /** An error where the reader stands, as event-ruler's barf(); `times` 2 where it reports it twice. */
  private fail(reason: string, times = 1): InvalidEventPatternError {
    const offset = this.reader.position;
    const line = locationLine(this.text, offset);
    return new InvalidEventPatternError(reason, {
      location: { offset, ...lineCol(this.text, offset) },
      locationLines: Array<string>(times).fill(line),
    });
  }

  // --- structure ----------------------------------------------------------------------------

  private parseObject(rules: Rules, path: string[], insideOr: boolean): void {
    let fields = false;
    for (;;) {
      const t = this.need();
      if (t.kind === "endObject") break;
      fields = true;
      const name = this.textOf();
      if (name === "$or") {
        this.parseOr(rules, path);
        continue;
      }
      if (insideOr && RESERVED_IN_OR.has(name)) {
        throw this.fail(`${name} is Ruler reserved fieldName which cannot be used inside $or.`);
      }
      const v = this.need();
      if (v.kind === "startObject") this.parseObject(rules, [...path, name], insideOr);
      else if (v.kind === "startArray") this.writeRules(rules, [...path, name].join("."));
      else throw this.fail(`"${name}" must be an object or an array`);
    }
    if (!fields) throw this.fail("Empty objects are not allowed");
  }

  private parseOr(rules: Rules, path: string[]): void {
    const before = rules.map((r) => new Map(r));
    rules.length = 0;
    if (this.need().kind !== "startArray") throw this.fail("It must be an Array followed with $or.");
    let count = 0;
    for (;;) {
      const t = this.need();
      if (t.kind === "endArray") break;
      count++;
      if (t.kind !== "startObject")
        throw this.fail("Only JSON object is allowed in array of $or relationship.");
      const branch = before.length > 0 ? before.map((r) => new Map(r)) : [new Map<string, Matcher[]>()];
      this.parseObject(branch, path, true);
      rules.push(...branch);
      if (rules.length > this.maxBranches) {
        throw new InvalidEventPatternError(
          `$or expands the pattern into more than ${this.maxBranches} combinations of conditions`,
        );
      }
    }
    if (count < 2) throw this.fail("There must have at least 2 Objects in $or relationship.");
  }

  private writeRules(rules: Rules, name: string): void {
    const values: Matcher[] = [];
    for (;;) {
      const t = this.need();
      if (t.kind === "endArray") break;
      switch (t.kind) {
        case "startObject":
          values.push(this.matchExpression());
          break;
        case "string": {
          const s = this.textOf();
          const range = ipRangeOf(s);
          values.push(range ? { kind: "ip", value: s, range } : { kind: "string", value: s });
          break;
        }
        case "int":
        case "float":
          values.push({ kind: "number", value: Number(t.text), text: t.text });
          break;
        case "true":
        case "false":
          values.push({ kind: "boolean", value: t.kind === "true" });
          break;
        case "null":
          values.push({ kind: "null" });
          break;
        default:
          throw this.fail("Match value must be String, number, true, false, or null");
      }
    }
    if (values.length === 0) throw this.fail("Empty arrays are not allowed");
    if (rules.length === 0) rules.push(new Map());
    for (const rule of rules) rule.set(name, values);
  }

  // --- operators ----------------------------------------------------------------------------

  private expectEnd(reason = "Only one key allowed in match expression"): void {
    if (this.need().kind !== "endObject") throw this.fail(reason);
  }

  private stringOperand(reason: string): string {
    if (this.need().kind !== "string") throw this.fail(reason);
    return this.textOf();
  }

  private matchExpression(): Matcher {
    if (this.need().kind !== "name") throw this.fail("Match expression name not found");
    const op = this.textOf();
    switch (op) {
      case "exactly": {
        const value = this.stringOperand("exact match pattern must be a string");
        this.expectEnd();
        return { kind: "string", value };
      }
      case "prefix":
      case "suffix": {
        const t = this.need();
        if (t.kind === "startObject") return this.ignoreCaseAffix(op);
        if (t.kind !== "string") throw this.fail(`${op} match pattern must be a string`);
        const value = this.textOf();
        this.expectEnd();
        return { kind: op, value, ignoreCase: false };
      }
      case "numeric": {
        if (this.need().kind !== "startArray") throw this.fail("Value of numeric must be an array.");
        const m = this.numericExpression();
        this.expectEnd("Too many elements in numeric expression");
        return m;
      }
      case "anything-but":
        return this.anythingBut();
      case "exists": {
        const t = this.need();
        if (t.kind !== "true" && t.kind !== "false")
          throw this.fail("exists match pattern must be either true or false.");
        this.expectEnd();
        return { kind: "exists", value: t.kind === "true" };
      }
      case "cidr": {
        // event-ruler's text for a non-string CIDR really says "prefix".
        const value = this.stringOperand("prefix match pattern must be a string");
        let range;
        try {
          range = parseCidr(value);
        } catch (e) {
          // Thrown past the JSON parser in event-ruler: AWS gives no location for these.
          if (e instanceof CidrError) throw new InvalidEventPatternError(e.message);
          throw e;
        }
        this.expectEnd();
        return { kind: "cidr", value, range };
      }
      case "equals-ignore-case": {
        const value = this.stringOperand("equals-ignore-case match pattern must be a string");
        this.expectEnd();
        return { kind: "equals-ignore-case", value };
      }
      case "wildcard": {
        const value = this.stringOperand("wildcard match pattern must be a string");
        this.checkWildcard(value);
        this.expectEnd();
        return { kind: "wildcard", value };
      }
      default:
        throw this.fail(`Unrecognized match type ${op}`);
    }
  }

  /** `{"prefix": {"equals-ignore-case": "…"}}` and the same for suffix, after the inner `{`. */
  private ignoreCaseAffix(op: "prefix" | "suffix"): Matcher {
    const Op = op === "prefix" ? "Prefix" : "Suffix";
    if (this.need().kind !== "name") throw this.fail(`${Op} expression name not found`);
    const inner = this.textOf();
    if (inner !== "equals-ignore-case") throw this.fail(`Unsupported ${op} pattern: ${inner}`);
    const value = this.stringOperand("equals-ignore-case match pattern must be a string");
    this.expectEnd();
    this.expectEnd();
    return { kind: op, value, ignoreCase: true };
  }

  private checkWildcard(value: string, times = 1): void {
    try {
      wildcardSegments(value);
    } catch (e) {
      if (e instanceof WildcardSyntaxError) throw this.fail(e.message, times);
      throw e;
    }
  }

  private comparable(text: string): number {
    try {
      return comparableNumber(text);
    } catch (e) {
      if (e instanceof NotComparableError) throw this.fail(e.message);
      throw e;
    }
  }

  private numericExpression(): Matcher {
    const isNumber = (t: JsonToken) => t.kind === "int" || t.kind === "float";
    let t = this.need();
    if (t.kind !== "string") throw this.fail(`Invalid member in numeric match: ${this.textOf()}`);
    const op = this.textOf();
    t = this.need();
    const single = (valueOf: string): string => {
      if (!isNumber(t)) throw this.fail(`Value of ${valueOf} must be numeric`);
      const v = this.textOf();
      if (this.need().kind !== "endArray") throw this.fail("Too many elements in numeric expression");
      return v;
    };
    switch (op) {
      case "=": {
        const v = this.comparable(single("equals"));
        return {
          kind: "numeric",
          lower: { value: v, inclusive: true },
          upper: { value: v, inclusive: true },
        };
      }
      case "<":
      case "<=": {
        const v = this.comparable(single(op));
        return { kind: "numeric", upper: { value: v, inclusive: op === "<=" } };
      }
      case ">":
      case ">=": {
        if (!isNumber(t)) throw this.fail(`Value of ${op} must be numeric`);
        const bottomText = this.textOf();
        const lower = { inclusive: op === ">=" };
        t = this.need();
        if (t.kind === "endArray")
          return { kind: "numeric", lower: { value: this.comparable(bottomText), ...lower } };
        if (t.kind !== "string") throw this.fail(`Bad value in numeric range: ${this.textOf()}`);
        const op2 = this.textOf();
        if (op2 !== "<" && op2 !== "<=") throw this.fail(`Bad numeric range operator: ${op2}`);
        if (!isNumber(this.need())) throw this.fail(`Value of ${op2} must be numeric`);
        const topText = this.textOf();
        if (this.need().kind !== "endArray") throw this.fail("Too many terms in numeric range expression");
        const bottom: NumericBound = { value: this.comparable(bottomText), ...lower };
        const top: NumericBound = { value: this.comparable(topText), inclusive: op2 === "<=" };
        if (!(bottom.value < top.value)) throw this.fail("Bottom must be less than top");
        return { kind: "numeric", lower: bottom, upper: top };
      }
      default:
        throw this.fail(`Unrecognized numeric range operator: ${op}`);
    }
  }

  private anythingBut(): Matcher {
    type Flavour = "plain" | "ignore-case" | "prefix" | "suffix" | "wildcard";
    let flavour: Flavour = "plain";
    let t = this.need();
    if (t.kind === "startObject") {
      if (this.need().kind !== "name") throw this.fail("Anything-But expression name not found");
      const op = this.textOf();
      if (op === "equals-ignore-case") flavour = "ignore-case";
      else if (op === "prefix" || op === "suffix" || op === "wildcard") flavour = op;
      else throw this.fail(`Unsupported anything-but pattern: ${op}`);
      t = this.need();
    }
    if (t.kind !== "startArray" && t.kind !== "string" && t.kind !== "int" && t.kind !== "float") {
      throw this.fail("Value of anything-but must be an array or single string/number value.");
    }
    let m: Matcher;
    if (flavour === "plain") {
      m = t.kind === "startArray" ? this.anythingButList() : this.anythingButSingle(t);
    } else {
      // event-ruler reports problems inside the list twice (it catches and re-reports them).
      const times = t.kind === "startArray" ? 2 : 1;
      const values: string[] = [];
      const take = (tok: JsonToken) => {
        if (tok.kind !== "string") {
          throw this.fail(
            flavour === "ignore-case"
              ? "Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported."
              : flavour === "wildcard"
                ? "wildcard match pattern must be a string"
                : "prefix/suffix match pattern must be a string",
            times,
          );
        }
        const s = this.textOf();
        if ((flavour === "prefix" || flavour === "suffix") && s === "") {
          throw this.fail("Null prefix/suffix not allowed", times);
        }
        if (!values.includes(s)) values.push(s);
      };
      if (t.kind === "startArray") {
        for (let e = this.need(); e.kind !== "endArray"; e = this.need()) take(e);
      } else {
        take(t);
      }
      if (flavour === "wildcard") for (const v of values) this.checkWildcard(v);
      m =
        flavour === "ignore-case"
          ? { kind: "anything-but-ignore-case", values }
          : flavour === "prefix"
            ? { kind: "anything-but-prefix", values }
            : flavour === "suffix"
              ? { kind: "anything-but-suffix", values }
              : { kind: "anything-but-wildcard", values };
    }
    this.expectEnd("Too many elements in numeric expression");
    if (flavour !== "plain") this.expectEnd("Too many elements in numeric expression");
    return m;
  }

  private anythingButList(): Matcher {
    const strings: string[] = [];
    const numbers: number[] = [];
    for (let t = this.need(); t.kind !== "endArray"; t = this.need()) {
      if (t.kind === "string") {
        const s = this.textOf();
        if (!strings.includes(s)) strings.push(s);
      } else if (t.kind === "int" || t.kind === "float") {
        numbers.push(this.comparable(t.text));
      } else {
        throw this.fail("Inside anything but list, start|null|boolean is not supported.", 2);
      }
    }
    if (strings.length > 0 === numbers.length > 0) {
      throw this.fail(
        "Inside anything but list, either all values are number or string, mixed type is not supported",
      );
    }
    return strings.length > 0 ? { kind: "anything-but", strings } : { kind: "anything-but-number", numbers };
  }

  private anythingButSingle(t: JsonToken): Matcher {
    if (t.kind === "string") return { kind: "anything-but", strings: [this.textOf()] };
    try {
      return { kind: "anything-but-number", numbers: [comparableNumber(t.text)] };
    } catch (e) {
      // Not caught by event-ruler's parser: no location in AWS's message.
      if (e instanceof NotComparableError) throw new InvalidEventPatternError(e.message);
      throw e;
    }
  }
}

function lineCol(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let start = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x0a || (c === 0x0d && text.charCodeAt(i + 1) !== 0x0a)) {
      line++;
      start = i + 1;
    }
  }
  return { line, column: offset - start + 1 };
}

/** Wildcards event-ruler would put in one machine are measured together (see wildcard-complexity.ts). */
function checkWildcardComplexity(branches: Branch[]): void {
  const groups = new Map<string, Set<string>>();
  for (const b of branches) {
    b.conditions.forEach((c, i) => {
      const wildcards = c.matchers.filter((m) => m.kind === "wildcard").map((m) => m.value);
      if (wildcards.length === 0) return;
      const key = JSON.stringify([c.path, b.conditions.slice(0, i)]);
      let g = groups.get(key);
      if (!g) groups.set(key, (g = new Set()));
      for (const w of wildcards) g.add(w);
    });
  }
  for (const g of groups.values()) {
    if (wildcardComplexity([...g]) > MAX_COMPLEXITY) throw new InvalidEventPatternError(TOO_COMPLEX);
  }
}
