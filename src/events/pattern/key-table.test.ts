import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { foldKey } from "./ignore-case.js";
import { foldCode, hashNumber, hashString, KIND, KeyTable, mixKey, step } from "./key-table.js";
import { matches } from "./match.js";
import { compileRules } from "./rule-index.js";

/** The branches a table holds under `key` (empty when it has none). */
function idsOf(table: KeyTable, key: number): number[] {
  const slot = table.find(key);
  if (slot < 0) return [];
  const one = table.single(slot);
  if (one >= 0) return [one];
  return [...table.ids.subarray(table.start(slot), table.end(slot))];
}

describe("KeyTable", () => {
  it("finds every key with its branches, one or many, and nothing else", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer().filter((k) => k !== 0)),
        fc.array(fc.integer()),
        fc.nat(5),
        (keys, others, spread) => {
          const entries = new Map<number, number[]>();
          keys.forEach((k, i) =>
            entries.set(
              k,
              Array.from({ length: (i % (spread + 1)) + 1 }, (_, j) => i * 10 + j),
            ),
          );
          const table = new KeyTable(entries);
          for (const [k, ids] of entries) expect(idsOf(table, k)).toEqual(ids);
          for (const k of others) if (k !== 0 && !entries.has(k)) expect(table.find(k)).toBe(-1);
        },
      ),
    );
  });

  it("keys sharing their low bits probe on (linear probing past occupied slots)", () => {
    const entries = new Map<number, number[]>();
    for (let i = 1; i <= 20; i++) entries.set(i << 16, [i]);
    const table = new KeyTable(entries);
    for (let i = 1; i <= 20; i++) expect(idsOf(table, i << 16)).toEqual([i]);
    expect(table.find(21 << 16)).toBe(-1);
  });

  it("branch 0 alone is found (the single-branch encoding is not confused with a start)", () => {
    const table = new KeyTable(
      new Map([
        [5, [0]],
        [6, [0, 1]],
      ]),
    );
    expect(idsOf(table, 5)).toEqual([0]);
    expect(idsOf(table, 6)).toEqual([0, 1]);
  });
});

describe("key hashes", () => {
  it("mixKey is never 0 (the empty slot)", () => {
    fc.assert(
      fc.property(fc.nat(1000), fc.constantFrom(...Object.values(KIND)), fc.integer(), (path, kind, h) => {
        expect(mixKey(path, kind, h)).not.toBe(0);
      }),
    );
  });

  it("a rolling hash at length n is the hash of the first (or last) n units", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), (s) => {
        let h = 0;
        for (let i = 0; i < s.length; i++) {
          h = step(h, s.charCodeAt(i));
          expect(h).toBe(hashString(s.slice(0, i + 1)));
        }
        let r = 0;
        for (let i = 0; i < s.length; i++) {
          r = step(r, s.charCodeAt(s.length - 1 - i));
          expect(r).toBe(hashString(s.slice(s.length - 1 - i), true));
        }
      }),
    );
  });

  it("folding unit by unit is foldKey (the fold index hashes values without building their key)", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), (s) => {
        const folded = String.fromCharCode(
          ...[...Array(s.length).keys()].map((i) => foldCode(s.charCodeAt(i))),
        );
        expect(folded).toBe(foldKey(s));
      }),
    );
  });

  it("numbers hash by value: 0 and -0 alike", () => {
    expect(hashNumber(-0)).toBe(hashNumber(0));
    expect(hashNumber(300)).toBe(hashNumber(3e2));
    expect(hashNumber(1)).not.toBe(hashNumber(2));
  });
});

describe("compileRules: keys that collide", () => {
  // "Aa" and "BB" have the same polynomial hash (65·31+97 = 66·31+66): the index finds the
  // rules of one for the other, and the full check must turn them away.
  it("an exact value sharing another's hash matches only its own rule", () => {
    expect(hashString("Aa")).toBe(hashString("BB"));
    const index = compileRules([
      { id: "aa", pattern: '{"k":["Aa"]}' },
      { id: "bb", pattern: '{"k":["BB"]}' },
    ]);
    expect(index.matchingRules({ k: "Aa" })).toEqual(["aa"]);
    expect(index.matchingRules({ k: "BB" })).toEqual(["bb"]);
    expect(index.matchingRules({ k: "AaBB" })).toEqual([]);
  });

  it("prefixes, suffixes and ignore-case forms that collide", () => {
    const index = compileRules([
      { id: "prefix", pattern: '{"k":[{"prefix":"Aa"}]}' },
      { id: "suffix", pattern: '{"k":[{"suffix":"aA"}]}' },
      { id: "fold", pattern: '{"k":[{"equals-ignore-case":"aa"}]}' },
      { id: "fold-prefix", pattern: '{"k":[{"prefix":{"equals-ignore-case":"aa"}}]}' },
    ]);
    expect(index.matchingRules({ k: "BBx" })).toEqual([]);
    expect(index.matchingRules({ k: "AaX" })).toEqual(["prefix", "fold-prefix"]);
    expect(index.matchingRules({ k: "xBB" })).toEqual([]);
    expect(index.matchingRules({ k: "xaA" })).toEqual(["suffix"]);
    expect(index.matchingRules({ k: "AA" })).toEqual(["fold", "fold-prefix"]);
    expect(index.matchingRules({ k: "bb" })).toEqual([]);
  });

  it("the same value under different paths and kinds does not cross over", () => {
    const index = compileRules([
      { id: "a", pattern: '{"a":["x"]}' },
      { id: "b", pattern: '{"b":["x"]}' },
      { id: "n", pattern: '{"a":[120]}' },
      { id: "t", pattern: '{"a":[true]}' },
      { id: "z", pattern: '{"a":[null]}' },
    ]);
    expect(index.matchingRules({ a: "x" })).toEqual(["a"]);
    expect(index.matchingRules({ b: "x" })).toEqual(["b"]);
    expect(index.matchingRules({ a: 120 })).toEqual(["n"]);
    expect(index.matchingRules({ a: "x", b: "x" })).toEqual(["a", "b"]);
    expect(index.matchingRules({ a: [true, null, "x"] })).toEqual(["a", "t", "z"]);
    expect(index.matchingRules({ a: false })).toEqual([]);
  });
});

describe("compileRules on colliding values (differential)", () => {
  // "Aa" and "BB" share a hash, so do all strings of one length made of them: lookups find the
  // rules of other values, and only the full check decides. "aA", "bb" and "AA" add values
  // equal to those ignoring case.
  const word = fc
    .array(fc.constantFrom("Aa", "BB", "aA", "bb", "AA"), { minLength: 1, maxLength: 3 })
    .map((a) => a.join(""));
  const matcher = fc.oneof(
    word,
    word.map((w) => ({ prefix: w })),
    word.map((w) => ({ suffix: w })),
    word.map((w) => ({ "equals-ignore-case": w })),
    word.map((w) => ({ prefix: { "equals-ignore-case": w } })),
    word.map((w) => ({ suffix: { "equals-ignore-case": w } })),
    word.map((w) => ({ wildcard: `${w}*` })),
  );
  const pattern = fc.record({ k: fc.array(matcher, { minLength: 1, maxLength: 2 }) });
  const event = fc.record({ k: fc.oneof(word, fc.array(word, { maxLength: 3 })) });

  it("the index agrees with matches", () => {
    let hits = 0;
    fc.assert(
      fc.property(
        fc.array(pattern, { minLength: 1, maxLength: 30 }),
        fc.array(event, { maxLength: 10 }),
        (ps, es) => {
          const rules = ps.map((p, id) => ({ id, pattern: JSON.stringify(p) }));
          const index = compileRules(rules);
          for (const e of es) {
            const expected = rules.filter((r) => matches(r.pattern, e)).map((r) => r.id);
            hits += expected.length;
            expect(index.matchingRules(e)).toEqual(expected);
          }
        },
      ),
      { numRuns: 300 },
    );
    expect(hits).toBeGreaterThan(100);
  });
});
