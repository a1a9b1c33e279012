import { describe, expect, it } from "vitest";
import { compareNuGet, formatNuGet, parseNuGet, parseNuGetStrict } from "./nuget.js";
import { formatNuGetRange, nugetScheme, parseNuGetRange, prettyNuGetRange } from "./nuget-range.js";
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
const check = (cases: readonly Case[]): string[] => checkPairs(cases, compareNuGet);

interface NuGetFile {
  cases: Case[];
  not_equal: [string, string][];
  semver_strict_valid: string[];
  semver_strict_invalid: string[];
  nuget_invalid: string[];
  nuget_valid: { version: string; major: number; minor: number; patch: number; revision: number }[];
  legacy_parse: { input: string; expected_normalized: string }[];
}

const nuget = loadVectors<NuGetFile>("nuget.json");

/**
 * These rows of nuget_invalid come from NuGet's TryParseStrict test (strict SemVer needs three
 * parts), not from NuGetVersion.Parse: "1", "1.0" and "1.0.3.120" are valid NuGet versions (the
 * same file's cases and legacy_parse use them). They are checked against the strict parser.
 */
const STRICT_ONLY_INVALID = new Set(["1", "1.0", "1.0.3.120"]);

/**
 * Upstream's VersionComparisonDefaultNotEqual calls the two-argument `Equals(version1, version2)`,
 * which resolves to object.Equals on the two *strings*, not to the comparer. Under
 * VersionComparer.Default this pair is equal (case-insensitive labels, metadata ignored), as the
 * same file's VersionComparisonDefaultEqual rows show for "1.0.0-BETA+AA" / "1.0.0-beta+aa".
 */
const NOT_EQUAL_ONLY_AS_STRINGS = new Set(["1.0.0-BETA+AA|1.0.0-beta"]);

describeVectors<{ n: NuGetFile }>("nuget versions (NuGet.Versioning tests)", { n: "nuget.json" }, ({ n }) => {
  it("orders every case in both directions (VersionComparer.Default)", () => {
    expect(check(n.cases)).toEqual([]);
    expect(n.cases.length).toBe(94);
    const notEqual = n.not_equal.filter(([a, b]) => !NOT_EQUAL_ONLY_AS_STRINGS.has(`${a}|${b}`));
    expect(n.not_equal.length - notEqual.length).toBe(NOT_EQUAL_ONLY_AS_STRINGS.size);
    expect(notEqual.filter(([a, b]) => compareNuGet(a, b) === 0)).toEqual([]);
    expect(compareNuGet("1.0.0-BETA+AA", "1.0.0-beta")).toBe(0);
  });
  it("strict SemVer 2.0 parsing (SemanticVersion.TryParse)", () => {
    expect(n.semver_strict_valid.filter((v) => parseNuGetStrict(v) === null)).toEqual([]);
    expect(n.semver_strict_invalid.filter((v) => parseNuGetStrict(v) !== null)).toEqual([]);
  });
  it("NuGetVersion.TryParse rejects the invalid strings", () => {
    const invalid = n.nuget_invalid.filter((v) => !STRICT_ONLY_INVALID.has(v));
    expect(invalid.filter((v) => nugetScheme.isValid(v))).toEqual([]);
    for (const v of STRICT_ONLY_INVALID) {
      expect(n.nuget_invalid).toContain(v);
      expect(nugetScheme.isValid(v)).toBe(true);
      expect(parseNuGetStrict(v)).toBeNull();
    }
  });
  it("NuGetVersion.TryParse reads the valid ones, whitespace and leading zeros included", () => {
    for (const c of n.nuget_valid) {
      expect(parseNuGet(c.version)?.parts, c.version).toEqual(
        [c.major, c.minor, c.patch, c.revision].map(String),
      );
    }
    for (const c of n.legacy_parse) {
      expect(parseNuGet(c.input)?.parts.join(".")).toBe(c.expected_normalized);
    }
  });
});

interface RangeFile {
  cases: { version: string; range: string; expected: boolean }[];
  parse_tokens: {
    range: string;
    min: string | null;
    minInclusive: boolean;
    max: string | null;
    maxInclusive: boolean;
  }[];
  missing_components: { short: string; long: string }[];
  invalid: string[];
  to_string_short: { range: string; normalized: string }[];
  pretty_print: { range: string; pretty: string }[];
}

describeVectors<{ r: RangeFile }>(
  "nuget version ranges (NuGet VersionRangeTests)",
  { r: "nuget-ranges.json" },
  ({ r }) => {
    it("Satisfies for every case", () => {
      expect(r.cases.filter((c) => nugetScheme.satisfies!(c.version, c.range) !== c.expected)).toEqual([]);
    });
    it("parses bounds", () => {
      for (const t of r.parse_tokens) {
        const p = parseNuGetRange(t.range);
        const same = (got: typeof p.min, want: string | null): boolean =>
          got === null || want === null ? got === want : compareNuGet(formatNuGet(got), want) === 0;
        expect(same(p.min, t.min), t.range).toBe(true);
        expect(same(p.max, t.max), t.range).toBe(true);
        expect([p.minInclusive, p.maxInclusive]).toEqual([t.minInclusive, t.maxInclusive]);
      }
    });
    it("short forms equal long forms", () => {
      for (const m of r.missing_components) {
        const a = parseNuGetRange(m.short);
        const b = parseNuGetRange(m.long);
        expect(prettyNuGetRange(a)).toBe(prettyNuGetRange(b));
        expect(formatNuGetRange(a)).toBe(formatNuGetRange(b));
      }
    });
    it("rejects invalid ranges", () => {
      const accepted = r.invalid.filter((s) => {
        try {
          parseNuGetRange(s);
          return true;
        } catch (e) {
          expect(e).toBeInstanceOf(VersionRangeError);
          return false;
        }
      });
      expect(accepted).toEqual([]);
    });
    it("ToString() and PrettyPrint()", () => {
      for (const t of r.to_string_short)
        expect(formatNuGetRange(parseNuGetRange(t.range))).toBe(t.normalized);
      for (const t of r.pretty_print) expect(prettyNuGetRange(parseNuGetRange(t.range))).toBe(t.pretty);
    });
  },
);

describeVectors<{ osv: OsvVectors }>(
  "nuget against OSV's comparisons",
  { osv: "osv-semantic/nuget.json" },
  ({ osv }) => {
    it("every line holds in both directions (parts beyond Int32 ordered numerically)", () => {
      expect(check([...osv.cases, ...osv.generated_cases])).toEqual([]);
      expect(nugetScheme.isValid("999999999999999999999999999991")).toBe(false);
    });
  },
);

describe("nuget scheme", () => {
  it("orders four parts, labels case-insensitively, ignores metadata", () => {
    expect(compareNuGet("1.0.0.1", "1.0.0")).toBe(1);
    expect(compareNuGet("1.0.0-RC.1", "1.0.0-rc.1+build")).toBe(0);
    expect(compareNuGet("1.0.0-alpha", "1.0.0")).toBe(-1);
    expect(compareNuGet("not a version", "1.0.0")).toBe(1);
  });
  it("ranges: bare minimum, brackets, floating lower bounds", () => {
    expect(nugetScheme.satisfies!("2.0.0", "1.0")).toBe(true);
    expect(nugetScheme.satisfies!("2.0.0", "[1.0,2.0)")).toBe(false);
    expect(nugetScheme.satisfies!("1.5.0", "1.*")).toBe(true);
    expect(nugetScheme.satisfies!("0.9.0", "1.*")).toBe(false);
    expect(nugetScheme.satisfies!("1.0.0-beta.2", "1.0.0-beta*")).toBe(true);
    expect(nugetScheme.satisfies!("1.0.0-alpha", "1.0.0-beta*")).toBe(false);
    expect(() => nugetScheme.satisfies!("1.0.0", "[1.0")).toThrow(VersionRangeError);
  });
});

const CONTRACT_SAMPLE = (): string[] =>
  nuget ? nuget.cases.flatMap(([a, b]) => [a, b]) : ["1.0", "1.0.0-beta", "1.0.0.1"];

describeSchemeContract(nugetScheme, CONTRACT_SAMPLE(), "[1.0,2.0)");
