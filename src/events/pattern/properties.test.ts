import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { EventPattern } from "./ast.js";
import { InvalidEventPatternError } from "./errors.js";
import { matches } from "./match.js";
import { parseEventPattern } from "./parse.js";
import { eventObject, patternObject } from "./pattern-arbitraries.js";
import { compileRules } from "./rule-index.js";

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

describe("compileRules agrees with matches", () => {
  it("on random rule sets and events (differential)", () => {
    let hits = 0;
    fc.assert(
      fc.property(
        fc.array(patternObject, { minLength: 1, maxLength: 25 }),
        fc.array(eventObject, { minLength: 1, maxLength: 10 }),
        (patterns, events) => {
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
