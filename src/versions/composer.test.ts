import { describe, expect, it } from "vitest";
import {
  compareComposer,
  composerCompareOp,
  normalizeBranch,
  normalizeComposer,
  parseNumericAliasPrefix,
  parseStability,
  phpVersionCompare,
} from "./composer.js";
import {
  type ComposerOp,
  composerAtomsIntersect,
  composerSatisfies,
  composerScheme,
  parseComposerConstraint,
} from "./composer-constraint.js";
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
const check = (cases: readonly Case[]): string[] => checkPairs(cases, compareComposer);

interface ComposerFile {
  cases: Case[];
  op_cases: [string, string, string, boolean][];
  normalization: [string, string][];
  normalization_failures: string[];
  branch_normalization: [string, string][];
  stability: [string, string][];
  is_valid: [string, boolean][];
  numeric_alias_prefix: [string, string | false][];
  sort: { input: string[]; sorted: string[]; rsorted: string[] }[];
}

describeVectors<{ c: ComposerFile }>(
  "composer versions (composer/semver tests)",
  { c: "composer.json" },
  ({ c }) => {
    it("orders every sign-certain case in both directions", () => {
      expect(check(c.cases)).toEqual([]);
    });
    it("Comparator::compare(a, op, b) for every op case", () => {
      expect(c.op_cases.filter(([a, op, b, want]) => composerCompareOp(a, op, b) !== want)).toEqual([]);
    });
    it("VersionParser::normalize, its failures and normalizeBranch", () => {
      expect(c.normalization.filter(([input, want]) => normalizeComposer(input) !== want)).toEqual([]);
      expect(c.normalization_failures.filter((v) => normalizeComposer(v) !== null)).toEqual([]);
      expect(c.branch_normalization.filter(([input, want]) => normalizeBranch(input) !== want)).toEqual([]);
    });
    it("parseStability, isValid, parseNumericAliasPrefix", () => {
      expect(c.stability.filter(([v, want]) => parseStability(v) !== want)).toEqual([]);
      expect(c.is_valid.filter(([v, want]) => composerScheme.isValid(v) !== want)).toEqual([]);
      expect(c.numeric_alias_prefix.filter(([v, want]) => parseNumericAliasPrefix(v) !== want)).toEqual([]);
    });
    it("Semver::sort and rsort", () => {
      for (const s of c.sort) {
        expect([...s.input].sort(compareComposer)).toEqual(s.sorted);
        expect([...s.input].sort((a, b) => compareComposer(b, a))).toEqual(s.rsorted);
      }
    });
  },
);

interface RangeFile {
  cases: { version: string; range: string; expected: boolean }[];
  satisfied_by: { range: string; input: string[]; expected: string[] }[];
  constraint_intersections: {
    require: [ComposerOp, string];
    provide: [ComposerOp, string];
    intersects: boolean;
  }[];
}

describeVectors<{ r: RangeFile }>(
  "composer constraints (composer/semver SemverTest, ConstraintTest)",
  { r: "composer-ranges.json" },
  ({ r }) => {
    it("Semver::satisfies for every case", () => {
      expect(r.cases.filter((c) => composerSatisfies(c.version, c.range) !== c.expected)).toEqual([]);
      expect(r.cases.length).toBe(118);
    });
    it("Semver::satisfiedBy", () => {
      for (const s of r.satisfied_by)
        expect(s.input.filter((v) => composerSatisfies(v, s.range))).toEqual(s.expected);
    });
    it("Constraint::matches between two atomic constraints, both ways", () => {
      const bad = r.constraint_intersections.filter(({ require, provide, intersects }) => {
        const a = { op: require[0], version: require[1] };
        const b = { op: provide[0], version: provide[1] };
        return composerAtomsIntersect(a, b) !== intersects || composerAtomsIntersect(b, a) !== intersects;
      });
      expect(bad).toEqual([]);
    });
  },
);

const osv = loadVectors<OsvVectors>("osv-semantic/packagist.json");

/**
 * OSV compares Packagist versions with PHP's raw version_compare; composer normalizes first. They
 * disagree where version_compare counts parts ("1.0.0" > "1.0", "3.0" < "3.0.0-beta"), reads
 * stability words case-sensitively ("ALPHA" == "BETA") or does not know "stable". Composer's
 * normalized order is the one used here (and the one its constraints use).
 */
const OSV_RAW_VERSION_COMPARE = new Set(["1.0.0|1.0"]);
/**
 * OSV's own (Go) comparator keeps "#" as a component equal to any number; PHP's version_compare
 * drops "#" while canonicalizing, so "1.2.3.#" reads as "1.2.3." and sorts below "1.2.3".
 */
const OSV_NOT_PHP = new Set(["1.2.3.#|1.2.3", "1.2.3.#|1.2.3.1"]);
const OSV_GENERATED_RAW_VERSION_COMPARE = new Set([
  "v3.0|v3.0.0-beta",
  "v3.4|v3.4.0-alpha",
  "v4.4|v4.4.0-beta",
  "v6.5|v6.5.0-beta-0",
  "v6.6|v6.6.0-beta",
  "v4-beta4|v4.0-alpha",
  "v1.9.0-ALPHA.1|v1.9.0-BETA.1",
  "v1.9.0-BETA.1|v1.9.0-ALPHA.2",
  "v1.9.0-ALPHA.2|v1.9.0-BETA.2",
  "5.1.0-stable|5.1.0-beta2",
]);

describeVectors<{ osv: OsvVectors }>(
  "composer against OSV's Packagist comparisons (PHP version_compare)",
  { osv: "osv-semantic/packagist.json" },
  ({ osv }) => {
    it("generated lines hold in both directions, except raw version_compare quirks", () => {
      const current = osv.generated_cases.filter(
        ([a, b]) => !OSV_GENERATED_RAW_VERSION_COMPARE.has(`${a}|${b}`),
      );
      expect(osv.generated_cases.length - current.length).toBe(OSV_GENERATED_RAW_VERSION_COMPARE.size);
      expect(check(current)).toEqual([]);
      expect(osv.generated_cases.length).toBe(10630);
      expect(compareComposer("v3.0", "v3.0.0-beta")).toBe(1);
      expect(phpVersionCompare("3.0", "3.0.0-beta")).toBe(-1);
    });
    it("hand-written lines hold, except normalization differences and OSV-only '#' handling", () => {
      const excused = new Set([...OSV_RAW_VERSION_COMPARE, ...OSV_NOT_PHP]);
      const current = osv.cases.filter(([a, b]) => !excused.has(`${a}|${b}`));
      expect(osv.cases.length - current.length).toBe(excused.size);
      expect(check(current)).toEqual([]);
      expect(phpVersionCompare("1.0.0", "1.0")).toBe(1);
      expect(compareComposer("1.0.0", "1.0")).toBe(0);
      expect(compareComposer("1.2.3.#", "1.2.3")).toBe(-1);
    });
  },
);

describe("composer scheme", () => {
  it("orders stabilities, branches and v-prefixed versions", () => {
    expect(compareComposer("v1.0.0", "1.0")).toBe(0);
    expect(compareComposer("1.0.0-beta1", "1.0.0-RC1")).toBe(-1);
    expect(compareComposer("1.0.0", "1.0.0-p1")).toBe(-1);
    expect(compareComposer("dev-master", "99.0")).toBe(1);
    expect(compareComposer("dev-feature", "0.1")).toBe(-1);
    expect(compareComposer("dev-a", "dev-b")).toBe(-1);
  });
  it("constraints: caret, tilde, wildcards, hyphen ranges, OR and AND", () => {
    expect(composerScheme.satisfies!("1.9.0", "^1.2")).toBe(true);
    expect(composerScheme.satisfies!("2.0.0", "^1.2")).toBe(false);
    expect(composerScheme.satisfies!("1.2.9", "~1.2.3")).toBe(true);
    expect(composerScheme.satisfies!("1.3.0", "~1.2.3")).toBe(false);
    expect(composerScheme.satisfies!("5.4.1", ">=5.4.0,<5.4.2 || >=6.0.0 <6.0.3")).toBe(true);
    expect(composerScheme.satisfies!("6.0.3", ">=5.4.0,<5.4.2 || >=6.0.0 <6.0.3")).toBe(false);
    expect(composerScheme.satisfies!("1.5.0", "1.0 - 2.0")).toBe(true);
    expect(composerScheme.satisfies!("1.0.0-beta", ">=1.0@beta")).toBe(true);
    expect(composerScheme.satisfies!("dev-master", "*")).toBe(true);
    expect(() => parseComposerConstraint("~>1.0")).toThrow(VersionRangeError);
    expect(() => composerScheme.satisfies!("1.0", "^8 || ^")).toThrow(VersionRangeError);
  });
});

const CONTRACT_SAMPLE = (): string[] =>
  osv
    ? osv.cases.concat(osv.generated_cases.slice(0, 60)).flatMap(([a, b]) => [a, b])
    : ["1.0", "1.0.0-beta1", "dev-master", "1.x-dev"];

describeSchemeContract(composerScheme, CONTRACT_SAMPLE(), "^1.0");
