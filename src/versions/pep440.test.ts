import { describe, expect, it } from "vitest";
import {
  comparePep440,
  formatPep440,
  isPrerelease,
  normalizePep440,
  parsePep440,
  type Pep440Version,
} from "./pep440.js";
import {
  parseSpecifier,
  parseSpecifierSet,
  pep440Contains,
  pep440Filter,
  type Pep440Item,
  pep440Scheme,
} from "./pep440-specifiers.js";
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
const check = (cases: readonly Case[]): string[] => checkPairs(cases, comparePep440);

interface PypiFile {
  ordered: string[];
  cases: Case[];
  normalization: [string, string][];
  str: [string, string][];
  invalid: string[];
  extra_equalities: Case[];
  properties: Record<string, [string, unknown][]>;
}

const pypi = loadVectors<PypiFile>("pypi.json");

describeVectors<{ v: PypiFile }>(
  "pep440 versions (pypa/packaging test_version.py)",
  { v: "pypi.json" },
  ({ v }) => {
    it("orders every pair of the upstream list, both directions (cases)", () => {
      expect(check(v.cases)).toEqual([]);
      expect(v.cases.length).toBe(8464);
    });
    it("keeps the ascending list ascending and equalities equal", () => {
      const pairs: Case[] = [];
      for (let i = 1; i < v.ordered.length; i++) pairs.push([v.ordered[i - 1]!, v.ordered[i]!, -1]);
      expect(check([...pairs, ...v.extra_equalities])).toEqual([]);
    });
    it("normalizes like str(Version(...))", () => {
      const bad = [...v.normalization, ...v.str].filter(([input, want]) => normalizePep440(input) !== want);
      expect(bad).toEqual([]);
    });
    it("rejects invalid versions", () => {
      expect(v.invalid.filter((s) => pep440Scheme.isValid(s))).toEqual([]);
    });
    it("exposes Version's attributes (properties)", () => {
      const attr: Record<string, (p: Pep440Version) => unknown> = {
        public: (p) => formatPep440({ ...p, local: null }),
        base_version: (p) => formatPep440({ ...p, pre: null, post: null, dev: null, local: null }),
        epoch: (p) => p.epoch,
        release: (p) => p.release,
        local: (p) => p.local?.join(".") ?? null,
        pre: (p) => p.pre,
        dev: (p) => p.dev,
        post: (p) => p.post,
        is_prerelease: (p) => isPrerelease(p),
        is_devrelease: (p) => p.dev !== null,
        is_postrelease: (p) => p.post !== null,
      };
      const bad: string[] = [];
      for (const [name, rows] of Object.entries(v.properties)) {
        for (const [version, want] of rows) {
          const got = attr[name]!(parsePep440(version)!);
          if (JSON.stringify(got) !== JSON.stringify(want))
            bad.push(`${name}(${version}) = ${JSON.stringify(got)}`);
        }
      }
      expect(bad).toEqual([]);
      expect(Object.keys(v.properties).every((k) => k in attr)).toBe(true);
    });
  },
);

interface RangeCase {
  version: string;
  range: string;
  expected: boolean;
  kind: "Specifier" | "SpecifierSet";
  spec_prereleases?: boolean | null;
  contains_prereleases?: boolean | null;
  installed?: boolean | null;
  version_passed_as_object?: boolean;
}

interface FilterCase {
  kind: "Specifier" | "SpecifierSet";
  range: string;
  spec_prereleases: boolean | null;
  filter_prereleases: boolean | null;
  input: (string | { __version__: string })[];
  expected: (string | { __version__: string })[];
}

interface PypiRanges {
  cases: RangeCase[];
  filter_cases: FilterCase[];
  invalid_specifiers: string[];
}

describeVectors<{ r: PypiRanges }>(
  "pep440 specifiers (pypa/packaging test_specifiers.py)",
  { r: "pypi-ranges.json" },
  ({ r }) => {
    it("contains() every case with its constructor/contains/installed options", () => {
      const bad: string[] = [];
      for (const c of r.cases) {
        const item: Pep440Item = c.version_passed_as_object ? parsePep440(c.version)! : c.version;
        const got = pep440Contains(item, c.range, {
          kind: c.kind,
          specPrereleases: c.spec_prereleases,
          prereleases: c.contains_prereleases,
          installed: c.installed,
        });
        if (got !== c.expected) bad.push(`${JSON.stringify(c)} -> ${got}`);
      }
      expect(bad).toEqual([]);
      expect(r.cases.length).toBe(706);
    });
    it("filter() keeps packaging's selection and order", () => {
      const bad: string[] = [];
      const toItem = (x: string | { __version__: string }): Pep440Item =>
        typeof x === "string" ? x : parsePep440(x.__version__)!;
      const show = (x: Pep440Item): string => (typeof x === "string" ? x : `Version(${JSON.stringify(x)})`);
      for (const c of r.filter_cases) {
        const got = pep440Filter(c.input.map(toItem), c.range, {
          kind: c.kind,
          specPrereleases: c.spec_prereleases,
          prereleases: c.filter_prereleases,
        }).map(show);
        const want = c.expected.map(toItem).map(show);
        if (JSON.stringify(got) !== JSON.stringify(want))
          bad.push(`${JSON.stringify(c)} -> ${JSON.stringify(got)}`);
      }
      expect(bad).toEqual([]);
    });
    it("rejects invalid specifiers", () => {
      const accepted = r.invalid_specifiers.filter((s) => {
        try {
          parseSpecifier(s);
          return true;
        } catch (e) {
          expect(e).toBeInstanceOf(VersionRangeError);
          return false;
        }
      });
      expect(accepted).toEqual([]);
    });
  },
);

const osv = loadVectors<OsvVectors>("osv-semantic/pypi.json");

describeVectors<{ osv: OsvVectors }>(
  "pep440 against OSV's PyPI comparisons (native packaging)",
  { osv: "osv-semantic/pypi.json" },
  ({ osv }) => {
    it("hand-written and generated lines hold in both directions", () => {
      expect(check(osv.cases)).toEqual([]);
      expect(check(osv.generated_cases)).toEqual([]);
    });
  },
);

describe("pep440 scheme", () => {
  it("orders non-PEP 440 strings before PEP 440 ones, as LegacyVersion did", () => {
    expect(comparePep440("2.0.1rc2-git", "0.8")).toBe(-1);
    expect(comparePep440("0.1-bulbasaur", "0.1-charmander")).toBe(-1);
    expect(pep440Scheme.isValid("0.1-bulbasaur")).toBe(false);
  });
  it("compares very long numbers exactly", () => {
    expect(comparePep440("1.12345678901234567890", "1.12345678901234567891")).toBe(-1);
    expect(comparePep440("1.012345678901234567890", "1.12345678901234567890")).toBe(0);
  });
  it("satisfies() is a SpecifierSet with matching pre-releases included", () => {
    expect(pep440Scheme.satisfies!("1.5a1", ">=1.0,<2.0")).toBe(true);
    expect(pep440Scheme.satisfies!("2.0a1", "<2.0")).toBe(false);
    expect(pep440Scheme.satisfies!("1.0+local", "==1.0")).toBe(true);
    expect(pep440Scheme.satisfies!("1.2.3", "==1.2.*")).toBe(true);
    expect(pep440Scheme.satisfies!("1.3", "~=1.2.0")).toBe(false);
    expect(() => pep440Scheme.satisfies!("1.0", "=>1.0")).toThrow(VersionRangeError);
    expect(parseSpecifierSet("")).toEqual([]);
  });
});

const CONTRACT_SAMPLE = (): string[] =>
  pypi
    ? pypi.ordered.concat(
        osv
          ? osv.generated_cases
              .slice(0, 60)
              .flat()
              .filter((x): x is string => typeof x === "string")
          : [],
      )
    : ["1.0", "1.0a1", "1.0.post1", "1!0.1"];

describeSchemeContract(pep440Scheme, CONTRACT_SAMPLE(), ">=1.0");
