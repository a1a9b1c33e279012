import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { EventPattern } from "./ast.js";
import { InvalidEventPatternError } from "./errors.js";
import { matches } from "./match.js";
import { parseEventPattern } from "./parse.js";
import { arrayCase, eventObject, patternObject } from "./arbitraries-testing.js";
import { compileRules } from "./rule-index.js";
import { flattenEvent, type Leaf, type Membership } from "./flatten.js";
import { compileCondition } from "./value-tests.js";

/** Property tests: the parser on any input, and the compiled index against the single matcher. */

function parseOrError(text: string, maxLength?: number): EventPattern | InvalidEventPatternError {
  try {
    return parseEventPattern(text, { maxLength });
  } catch (e) {
    if (e instanceof InvalidEventPatternError) return e;
    throw e; // anything else is a bug
  }
}

/** Valid patterns mangled: characters dropped, doubled, swapped for JSON punctuation. */
const mutated = fc
  .tuple(
    patternObject.map((p) => JSON.stringify(p)),
    fc.array(
      fc.tuple(
        fc.nat(),
        fc.constantFrom("", "{", "}", "[", "]", ",", ":", '"', "\\", "*", "0", "-", "e", "$or"),
      ),
      {
        maxLength: 4,
      },
    ),
  )
  .map(([text, edits]) => {
    let t = text;
    for (const [at, s] of edits) {
      const i = at % (t.length + 1);
      t = t.slice(0, i) + s + t.slice(i + (s === "" ? 1 : 0));
    }
    return t;
  });

describe("parseEventPattern on any input", () => {
  it("ends in a pattern or an InvalidEventPatternError, quickly", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.json(),
          fc.string(),
          fc.string({ unit: "binary" }),
          mutated,
          patternObject.map((p) => JSON.stringify(p)),
        ),
        (text) => {
          const started = performance.now();
          const r = parseOrError(text, 100_000);
          expect(r instanceof InvalidEventPatternError || Array.isArray(r.branches)).toBe(true);
          if (r instanceof InvalidEventPatternError) {
            expect(r.message).toBe(`Event pattern is not valid. Reason: ${r.reason}`);
          }
          expect(performance.now() - started).toBeLessThan(1000);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it("hostile shapes are refused within bounds: deep nesting, huge $or products, long wildcards", () => {
    const hostile = [
      "[".repeat(100_000),
      '{"a":'.repeat(50_000),
      `{${Array.from({ length: 60 }, (_, i) => `"k${i}":{"$or":[{"a":[1]},{"b":[2]}]}`).join(",")}}`,
      `{"a":[{"wildcard":"${"*a".repeat(900)}"}]}`,
      `{"a":[{"anything-but":{"wildcard":[${Array.from({ length: 300 }, () => '"*a*b*"').join(",")}]}}]}`,
      `{"a":[${"1e999999999,".repeat(300)}1]}`,
    ];
    for (const text of hostile) {
      const started = performance.now();
      parseOrError(text, 1_000_000);
      expect(performance.now() - started, text.slice(0, 40)).toBeLessThan(3000);
    }
  });

  it("generated patterns parse, and their JSON text means the same as the parsed form", () => {
    fc.assert(
      fc.property(patternObject, eventObject, (p, e) => {
        const r = parseOrError(JSON.stringify(p), 100_000);
        if (r instanceof InvalidEventPatternError) return; // e.g. `*` wildcard combos; fine
        expect(matches(r, e)).toBe(matches(JSON.stringify(p), e));
      }),
      { numRuns: 500 },
    );
  });
});

/**
 * The array-consistent rule stated plainly, for comparison: conditions in path order, each taking
 * a value whose array elements agree with those taken before (or, for exists: false, finding no
 * such value), trying every possibility; no index, no shortcuts, no memory of dead ends.
 */
function reference(pattern: EventPattern, event: unknown, arrayConsistent: boolean): boolean {
  const flat = flattenEvent(event);
  const chain = (m: Membership | null) => {
    const out: [number, number][] = [];
    for (; m; m = m.outer) out.push([m.array, m.index]);
    return out;
  };
  const agrees = (leaf: Leaf, choice: Map<number, number>) =>
    chain(leaf.membership).every(([a, i]) => !choice.has(a) || choice.get(a) === i);
  return pattern.branches.some((b) => {
    const conds = b.conditions.map(compileCondition);
    const go = (k: number, choice: Map<number, number>): boolean => {
      if (k === conds.length) return true;
      const c = conds[k]!;
      const leaves = (flat.leaves.get(c.path) ?? []).filter((l) => !arrayConsistent || agrees(l, choice));
      for (const l of leaves) {
        if (c.test && c.test(l)) {
          const next = new Map(choice);
          if (arrayConsistent) for (const [a, i] of chain(l.membership)) next.set(a, i);
          if (go(k + 1, next)) return true;
        }
      }
      return c.absent && leaves.length === 0 && go(k + 1, choice);
    };
    return go(0, new Map());
  });
}

describe("matches agrees with the plain statement of its rules", () => {
  it("array-consistent and legacy, on random patterns and events", () => {
    let differ = 0;
    const cases = fc.oneof(
      fc.tuple(patternObject, fc.array(eventObject, { minLength: 1, maxLength: 5 })),
      arrayCase.map((c) => [c.pattern, [c.event]] as const),
    );
    fc.assert(
      fc.property(cases, ([p, events]) => {
        const r = parseOrError(JSON.stringify(p), 100_000);
        if (r instanceof InvalidEventPatternError) return;
        for (const e of events) {
          expect(matches(r, e)).toBe(reference(r, e, true));
          expect(matches(r, e, { arrayConsistent: false })).toBe(reference(r, e, false));
          if (reference(r, e, true) !== reference(r, e, false)) differ++;
        }
      }),
      { numRuns: 1500 },
    );
    // Only meaningful if the generated cases do exercise array consistency.
    expect(differ).toBeGreaterThan(10);
  });
});

describe("compileRules agrees with matches", () => {
  it("on random rule sets and events (differential)", () => {
    let hits = 0;
    fc.assert(
      fc.property(
        fc.oneof(
          fc.tuple(
            fc.array(patternObject, { minLength: 1, maxLength: 25 }),
            fc.array(eventObject, { minLength: 1, maxLength: 10 }),
          ),
          fc
            .array(arrayCase, { minLength: 1, maxLength: 10 })
            .map((cs) => [cs.map((c) => c.pattern), cs.map((c) => c.event)] as const),
        ),
        ([patterns, events]) => {
          const rules: { id: number; pattern: EventPattern }[] = [];
          patterns.forEach((p, id) => {
            const r = parseOrError(JSON.stringify(p), 100_000);
            if (!(r instanceof InvalidEventPatternError)) rules.push({ id, pattern: r });
          });
          const index = compileRules(rules);
          for (const e of events) {
            const expected = rules.filter((r) => matches(r.pattern, e)).map((r) => r.id);
            hits += expected.length;
            expect(index.matchingRules(e)).toEqual(expected);
          }
        },
      ),
      { numRuns: 400 },
    );
    // The comparison means something only if rules do match now and then.
    expect(hits).toBeGreaterThan(200);
  });

  it("matches something often enough for the comparison to mean something", () => {
    let hits = 0;
    fc.assert(
      fc.property(patternObject, eventObject, (p, e) => {
        if (matches(JSON.stringify(p), e)) hits++;
      }),
      { numRuns: 1000, seed: 42 },
    );
    expect(hits).toBeGreaterThan(20);
  });
});
