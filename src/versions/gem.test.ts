import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
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
import { describeSchemeContract } from "./testing.js";

const dir = process.env.DRYDOCK_SHARED
  ? join(process.env.DRYDOCK_SHARED, "testdata/versions")
  : fileURLToPath(new URL("../../../shared/testdata/versions", import.meta.url));

/** The vectors, or null when ../shared is absent (the tests then report themselves skipped). */
function vectors<T>(file: string): T | null {
  const path = join(dir, file);
  return existsSync(path) ? (JSON.parse(readFileSync(path, "utf8")) as T) : null;
}

type Case = [string, string, number];

function checkPairs(cases: readonly Case[]): string[] {
  const bad: string[] = [];
  for (const [a, b, sign] of cases) {
    const ab = compareGem(a, b);
    const ba = compareGem(b, a);
    if (ab !== sign || ba !== -sign) bad.push(`${a} vs ${b}: want ${sign}, got ${ab} / reverse ${ba}`);
  }
  return bad;
}

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

const gem = vectors<GemFile>("rubygems.json");

describe.skipIf(gem === null)("gem versions (rubygems test_gem_version.rb)", () => {
  const g = gem!;
  it("orders every case in both directions", () => {
    expect(checkPairs(g.cases)).toEqual([]);
    expect(checkPairs(g.whitespace_equal.map(([a, b]): Case => [a, b, 0]))).toEqual([]);
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
});

if (gem === null) it.skip(`rubygems vectors not found at ${dir} (set DRYDOCK_SHARED)`, () => {});

interface RangeFile {
  cases: { version: string; range: string; requirements: string[]; expected: boolean }[];
  bad_requirements: (string | null)[];
  parse: [string, string, string][];
}

const ranges = vectors<RangeFile>("rubygems-ranges.json");

describe.skipIf(ranges === null)("gem requirements (rubygems test_gem_requirement.rb)", () => {
  const r = ranges!;
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
});

if (ranges === null) it.skip(`rubygems range vectors not found at ${dir} (set DRYDOCK_SHARED)`, () => {});

interface OsvFile {
  cases: Case[];
  generated_cases: Case[];
}

const osv = vectors<OsvFile>("osv-semantic/rubygems.json");

describe.skipIf(osv === null)("gem against OSV's comparisons (native Gem::Version)", () => {
  it("hand-written and generated lines hold in both directions", () => {
    expect(checkPairs(osv!.cases)).toEqual([]);
    expect(checkPairs(osv!.generated_cases)).toEqual([]);
    expect(osv!.generated_cases.length).toBe(4098);
  });
});

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
