import type { Condition, Matcher } from "./ast.js";
import type { Leaf } from "./flatten.js";
import {
  caseAlternatives,
  endsWithIgnoreCase,
  equalsIgnoreCase,
  startsWithIgnoreCase,
} from "./ignore-case.js";
import { inRange } from "./ip.js";
import { matchSegments, wildcardSegments } from "./wildcard.js";

/**
 * What each matcher means for one value of the event, as event-ruler decides it. event-ruler
 * compares a string with its JSON quotes and a number as its text (or as a number), which gives
 * the typing rules: prefix, suffix, equals-ignore-case, wildcard and exact strings only match
 * strings; numeric only numbers; `anything-but` matches every value that is not one it names,
 * numbers, booleans and null included (so `{"anything-but": "x"}` matches 5 and null, and
 * `{"anything-but": {"prefix": "in"}}` matches 12), but never a missing field.
 */

export type LeafTest = (leaf: Leaf) => boolean;

export interface ConditionTest {
  path: string;
  /** Some value at the path passes (null: no positive alternative, only `exists: false`). */
  test: LeafTest | null;
  /** `{"exists": false}` is one of the alternatives: no value at the path also matches. */
  absent: boolean;
}

export function compileCondition(c: Condition): ConditionTest {
  const tests: LeafTest[] = [];
  let absent = false;
  for (const m of c.matchers) {
    if (m.kind === "exists" && !m.value) absent = true;
    else tests.push(compileMatcher(m));
  }
  const test: LeafTest | null =
    tests.length === 0 ? null : tests.length === 1 ? tests[0]! : (leaf) => tests.some((t) => t(leaf));
  return { path: c.path, test, absent };
}

const isString = (v: unknown): v is string => typeof v === "string";

export function compileMatcher(m: Matcher): LeafTest {
  switch (m.kind) {
    case "string": {
      const want = m.value;
      return (l) => l.value === want;
    }
    case "ip": {
      const range = m.range;
      return (l) => {
        const ip = l.ipAddress;
        return ip !== null && inRange(ip, range);
      };
    }
    case "number": {
      const want = m.value;
      return (l) => l.value === want;
    }
    case "boolean": {
      const want = m.value;
      return (l) => l.value === want;
    }
    case "null":
      return (l) => l.value === null;
    case "prefix": {
      if (m.ignoreCase) {
        const alts = caseAlternatives(m.value);
        return (l) => isString(l.value) && startsWithIgnoreCase(alts, l.value);
      }
      const p = m.value;
      return (l) => isString(l.value) && l.value.startsWith(p);
    }
    case "suffix": {
      if (m.ignoreCase) {
        const alts = caseAlternatives(m.value);
        return (l) => isString(l.value) && endsWithIgnoreCase(alts, l.value);
      }
      const s = m.value;
      return (l) => isString(l.value) && l.value.endsWith(s);
    }
    case "equals-ignore-case": {
      const alts = caseAlternatives(m.value);
      return (l) => isString(l.value) && equalsIgnoreCase(alts, l.value);
    }
    case "wildcard": {
      const segments = wildcardSegments(m.value);
      return (l) => isString(l.value) && matchSegments(segments, l.value);
    }
    case "numeric": {
      const { lower, upper } = m;
      return (l) => {
        const v = l.value;
        if (typeof v !== "number" || !Number.isFinite(v)) return false;
        if (lower && (lower.inclusive ? v < lower.value : v <= lower.value)) return false;
        if (upper && (upper.inclusive ? v > upper.value : v >= upper.value)) return false;
        return true;
      };
    }
    case "cidr": {
      const range = m.range;
      return (l) => {
        const ip = l.ipAddress;
        return ip !== null && inRange(ip, range);
      };
    }
    case "exists":
      // exists: true: any value at the path (exists: false is handled by the condition).
      return () => m.value;
    case "anything-but": {
      const set = new Set(m.strings);
      return (l) => !(isString(l.value) && set.has(l.value));
    }
    case "anything-but-number": {
      const set = new Set(m.numbers);
      return (l) => !(typeof l.value === "number" && set.has(l.value));
    }
    case "anything-but-ignore-case": {
      const alts = m.values.map(caseAlternatives);
      return (l) => !(isString(l.value) && alts.some((a) => equalsIgnoreCase(a, l.value as string)));
    }
    case "anything-but-prefix": {
      const ps = m.values;
      return (l) => !(isString(l.value) && ps.some((p) => (l.value as string).startsWith(p)));
    }
    case "anything-but-suffix": {
      const ss = m.values;
      return (l) => !(isString(l.value) && ss.some((s) => (l.value as string).endsWith(s)));
    }
    case "anything-but-wildcard": {
      const all = m.values.map(wildcardSegments);
      return (l) => !(isString(l.value) && all.some((segs) => matchSegments(segs, l.value as string)));
    }
  }
}
