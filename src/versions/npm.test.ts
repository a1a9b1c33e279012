import { describe, expect, it } from "vitest";
import { checkPairs, describeVectors, type OsvVectors, type VectorCase } from "./testing.js";
import { npmOutside, npmSatisfies, npmValidRange } from "./npm-range.js";
import { compareNpm, parseNpm, type NpmOptions } from "./npm-version.js";
import { npmScheme } from "./npm.js";
import { versionSchemes } from "./registry.js";
import { VersionRangeError } from "./types.js";

type Case = VectorCase;

const check = (cases: readonly Case[], options?: NpmOptions): string[] =>
  checkPairs(cases, (a, b) => compareNpm(a, b, options));

interface NpmFile {
  cases: Case[];
  loose_cases: Case[];
  valid: {
    version: string;
    major: number;
    minor: number;
    patch: number;
    prerelease: (string | number)[];
    build: string[];
  }[];
  invalid: { version: string | { nonString: string }; reason: string; options: NpmOptions }[];
}

interface RangesFile {
  cases: { version: string | null; range: string; expected: boolean; options?: NpmOptions }[];
  outside_cases: {
    version: string;
    range: string;
    function: "gtr" | "ltr";
    expected: boolean;
    options?: NpmOptions;
  }[];
  range_parse: { range: string; canonical: string | null; options?: NpmOptions }[];
}

describeVectors<{ d: NpmFile; r: RangesFile }>(
  "npm against node-semver's fixtures",
  { d: "npm.json", r: "npm-ranges.json" },
  ({ d, r }) => {
    it("comparisons, both directions", () => expect(check(d.cases)).toEqual([]));
    it("loose comparisons", () => expect(check(d.loose_cases, { loose: true })).toEqual([]));
    it("loose-only versions are invalid by default", () => {
      expect(npmScheme.isValid("=1.2.3")).toBe(false);
      expect(npmScheme.isValid("1.2.3beta")).toBe(false);
    });
    it("valid versions parse into their parts", () => {
      for (const v of d.valid) {
        expect(parseNpm(v.version), v.version).toEqual({
          major: v.major,
          minor: v.minor,
          patch: v.patch,
          prerelease: v.prerelease.map(String),
          build: v.build,
        });
      }
    });
    it("invalid versions (non-string inputs are excluded by the type)", () => {
      for (const v of d.invalid) {
        if (typeof v.version !== "string") continue;
        expect(parseNpm(v.version, v.options), v.reason).toBeNull();
      }
    });

    it("satisfies (a null version, a non-string upstream, is left to the type)", () => {
      const bad = r.cases.filter(
        (c) => c.version !== null && npmSatisfies(c.version, c.range, c.options) !== c.expected,
      );
      expect(bad).toEqual([]);
      expect(r.cases.filter((c) => c.version === null).every((c) => !c.expected)).toBe(true);
    });
    it("gtr / ltr", () => {
      const bad = r.outside_cases.filter(
        (c) => npmOutside(c.version, c.range, c.function === "gtr" ? ">" : "<", c.options) !== c.expected,
      );
      expect(bad).toEqual([]);
    });
    it("canonical ranges (validRange)", () => {
      const bad = r.range_parse.filter((c) => npmValidRange(c.range, c.options) !== c.canonical);
      expect(bad).toEqual([]);
    });
  },
);

describeVectors<{ o: OsvVectors }>(
  "semver against OSV's SemVer list",
  { o: "osv-semantic/semver.json" },
  ({ o }) => {
    // Lines with 30-digit or 5-part versions are not SemVer for node-semver either; they pass
    // through the invalid-version rule (lexical order after all valid versions).
    it("all cases, both directions, through the registered scheme", () => {
      const s = versionSchemes.semver!;
      expect(checkPairs([...o.cases, ...o.generated_cases], (a, b) => s.compare(a, b))).toEqual([]);
    });
  },
);

describe("npm / semver", () => {
  it("is registered as semver", () => expect(versionSchemes.semver).toBe(npmScheme));

  it("orders invalid versions after valid ones, lexically", () => {
    expect(compareNpm("1.0", "99.0.0")).toBe(1);
    expect(compareNpm("99.0.0", "1.0")).toBe(-1);
    expect(compareNpm("1.0", "1.1")).toBe(-1);
  });

  it("compares numeric pre-release identifiers of any length by value", () => {
    expect(compareNpm("1.0.0-99999999999999999999", "1.0.0-100000000000000000000")).toBe(-1);
  });

  it("satisfies throws VersionRangeError on a range it cannot parse", () => {
    expect(npmScheme.satisfies!("1.2.3", "^1.0.0 || 2.x")).toBe(true);
    expect(npmScheme.satisfies!("1.2.3-beta", "^1.0.0")).toBe(false);
    expect(() => npmScheme.satisfies!("1.2.3", ">=foo")).toThrow(VersionRangeError);
    expect(npmScheme.satisfies!("not-a-version", "*")).toBe(false);
  });

  it("caches ranges without mixing options", () => {
    expect(npmSatisfies("1.1.0-a", "1.1.x")).toBe(false);
    expect(npmSatisfies("1.1.0-a", "1.1.x", { includePrerelease: true })).toBe(true);
    expect(npmSatisfies("1.1.0-a", "1.1.x")).toBe(false);
  });
});
