import { describe, expect, it } from "vitest";
import {
  compareGem,
  gemApproximateRecommendation,
  gemBump,
  gemCanonicalSegments,
  gemEql,
  gemRelease,
  parseGem,
} from "./gem.js";
import { gemSatisfiedBy, gemScheme, parseGemRequirement } from "./gem-requirement.js";
import { VersionRangeError } from "./types.js";
import {
  checkPairs,
  describeSchemeContract,
  describeVectors,
  loadVectors,
  type OsvVectors,
  type VectorCase,
} from "./testing.js";

type Case = VectorCase;

/** compare(a, b) == sign and compare(b, a) == -sign; returns the failures. */
const check = (cases: readonly Case[]): string[] => checkPairs(cases, compareGem);

interface GemFile {
  cases: Case[];
  not_equal: { a: string; b: string }[];
  eql: [string, string][];
  not_eql: [string, string][];
  whitespace_equal: [string, string][];
  invalid: string[];
  empty_is_zero: string[];
  prerelease: string[];
  not_prerelease: string[];
  release: [string, string][];
  bump: [string, string][];
  approximate_recommendation: [string, string][];
  canonical_segments: [string, (number | string)[]][];
}

const gem = loadVectors<GemFile>("rubygems.json");

describeVectors<{ g: GemFile }>(
  "gem versions (rubygems test_gem_version.rb)",
  { g: "rubygems.json" },
  ({ g }) => {
    it("orders every case in both directions", () => {
      expect(check(g.cases)).toEqual([]);
      expect(check(g.whitespace_equal.map(([a, b]): Case => [a, b, 0]))).toEqual([]);
      expect(g.not_equal.filter(({ a, b }) => compareGem(a, b) === 0)).toEqual([]);
    });
    it("eql? is exact after normalization", () => {
      expect(g.eql.filter(([a, b]) => !gemEql(a, b))).toEqual([]);
      expect(g.not_eql.filter(([a, b]) => gemEql(a, b))).toEqual([]);
    });
    it("validity, blank = 0, pre-release flag", () => {
      expect(g.invalid.filter((v) => gemScheme.isValid(v))).toEqual([]);
      for (const v of g.empty_is_zero) {
        expect(gemScheme.isValid(v)).toBe(true);
        expect(compareGem(v, "0")).toBe(0);
      }
      expect(g.prerelease.filter((v) => !parseGem(v)!.prerelease)).toEqual([]);
      expect(g.not_prerelease.filter((v) => parseGem(v)!.prerelease)).toEqual([]);
    });
    it("release, bump, approximate_recommendation, canonical_segments", () => {
      for (const [v, want] of g.release) expect(gemRelease(parseGem(v)!).version).toBe(want);
      for (const [v, want] of g.bump) expect(gemBump(parseGem(v)!).version).toBe(want);
      for (const [v, want] of g.approximate_recommendation) {
        expect(gemApproximateRecommendation(parseGem(v)!)).toBe(want);
      }
      for (const [v, want] of g.canonical_segments) expect(gemCanonicalSegments(parseGem(v)!)).toEqual(want);
    });
  },
);

interface RangeFile {
  cases: { version: string; range: string; requirements: string[]; expected: boolean }[];
  bad_requirements: (string | null)[];
  parse: [string, string, string][];
}

describeVectors<{ r: RangeFile }>(
  "gem requirements (rubygems test_gem_requirement.rb)",
  { r: "rubygems-ranges.json" },
  ({ r }) => {
    it("satisfied_by? for every case, as clause lists and as joined range strings", () => {
      const bad = r.cases.filter(
        (c) =>
          gemSatisfiedBy(c.version, c.requirements) !== c.expected ||
          gemScheme.satisfies!(c.version, c.range) !== c.expected,
      );
      expect(bad).toEqual([]);
      expect(r.cases.length).toBe(119);
    });
    it("rejects ill-formed requirements (nil reads as the empty string)", () => {
      for (const req of r.bad_requirements) {
        expect(() => parseGemRequirement(req ?? "")).toThrow(VersionRangeError);
      }
    });
    it("parses operator and version", () => {
      for (const [input, op, version] of r.parse) {
        const p = parseGemRequirement(input);
        expect([p.op, p.version.version]).toEqual([op, version]);
      }
    });
  },
);

const osv = loadVectors<OsvVectors>("osv-semantic/rubygems.json");

describeVectors<{ osv: OsvVectors }>(
  "gem against OSV's comparisons (native Gem::Version)",
  { osv: "osv-semantic/rubygems.json" },
  ({ osv }) => {
    it("hand-written and generated lines hold in both directions", () => {
      expect(check(osv.cases)).toEqual([]);
      expect(check(osv.generated_cases)).toEqual([]);
      expect(osv.generated_cases.length).toBe(4098);
    });
  },
);

describe("gem scheme", () => {
  it("orders pre-releases and long numbers", () => {
    expect(compareGem("1.0.0.rc1", "1.0.0")).toBe(-1);
    expect(compareGem("1.0.0-1", "1")).toBe(-1);
    expect(compareGem("1.999999999999999999999", "1.999999999999999999998")).toBe(1);
  });
  it("sorts strings Ruby rejects after valid versions", () => {
    expect(compareGem("junk", "999")).toBe(1);
    expect(compareGem("1beta", "1")).toBe(-1);
    expect(gemScheme.isValid("1beta")).toBe(false);
    expect(gemScheme.satisfies!("junk", ">= 0")).toBe(false);
  });
  it("pessimistic requirements", () => {
    expect(gemScheme.satisfies!("2.9", "~> 2.2")).toBe(true);
    expect(gemScheme.satisfies!("3.0.a", "~> 2.2")).toBe(false);
    expect(gemScheme.satisfies!("2.2.9", "~> 2.2.1, != 2.2.5")).toBe(true);
    expect(gemScheme.satisfies!("2.2.5", "~> 2.2.1, != 2.2.5")).toBe(false);
  });
});

const CONTRACT_SAMPLE = (): string[] =>
  gem
    ? gem.cases
        .flatMap(([a, b]) => [a, b])
        .concat(osv ? osv.generated_cases.slice(0, 60).flatMap(([a, b]) => [a, b]) : [])
    : ["1.0", "1.0.a", "1.0.0"];

describeSchemeContract(gemScheme, CONTRACT_SAMPLE(), ">= 1.0");
