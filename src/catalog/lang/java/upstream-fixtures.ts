import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  catalogerFixtures,
  catalogPath,
  missingCatalogerFixtures,
  type DirectoryInventory,
} from "../../testing.js";
import type { Cataloger, Package } from "../../types.js";

/**
 * Test support (imported by *.test.ts only): runs catalogers over the upstream fixtures of
 * ../shared/testdata/catalogers and compares with their `.expected.json` (format described in
 * that folder's PROVENANCE.md). Shared by the Java, Go, Rust and .NET fixture tests.
 *
 * Every upstream test case is one vitest case. A case passes when the packages match as a
 * multiset of name+version (and purl / licenses where the expectation states them) and no
 * problem was recorded, or, for an expected error, when a problem was recorded. Deviations are
 * listed with a reason, and a listed case must really deviate, so the list cannot go stale.
 */

export interface ExpectedPackage {
  name: string;
  version: string;
  purl?: string;
  licenses?: string[];
}

export interface ExpectedCase {
  test: string;
  options?: unknown;
  packages?: Record<string, unknown>[];
  error?: string;
  expected_value?: unknown;
  want?: unknown;
}

export interface ExpectedFile {
  fixture: string;
  fixture_is_directory?: boolean;
  cases: ExpectedCase[];
}

export interface FixtureCase {
  /** Path of the .expected.json relative to the fixtures root, e.g. `golang/syft-golang/x.expected.json`. */
  expectedRel: string;
  /** The fixture file or directory. */
  fixturePath: string;
  isDirectory: boolean;
  file: ExpectedFile;
  case: ExpectedCase;
  /** `<expectedRel>#<case.test>`: the key deviations are listed under. */
  key: string;
}

export interface FixtureSuite {
  /** Printed in the summary, e.g. `go.mod`. */
  format: string;
  catalogers: Cataloger[];
  /** Folders (relative to the fixtures root) whose expected files belong to this format. */
  dirs: string[];
  /** Restricts the expected files taken from `dirs` (by their relative path). */
  include?: (expectedRel: string) => boolean;
  /** The image path a fixture file is presented at, so `matches()` sees its real name. */
  asPath?: (fixturePath: string) => string | undefined;
  /**
   * Differences of scope applied to our output before comparing with one origin, each with
   * its reason (printed in the summary).
   */
  adjustments?: {
    appliesTo: (c: FixtureCase) => boolean;
    reason: string;
    apply: (p: Package[]) => Package[];
  }[];
  /** Cases (by key, or by expectedRel for all cases of a file) that deviate, with the reason. */
  deviations?: Record<string, string>;
  /** Cases that assert something other than a package list (another function's result). */
  notComparable?: Record<string, string>;
  /** A check other than the package comparison (e.g. a parser's value); returns differences. */
  check?: (c: FixtureCase) => Promise<string[]> | string[];
}

function listExpected(dir: string): string[] {
  const root = join(catalogerFixtures, dir);
  if (!existsSync(root)) return [];
  const out: string[] = [];
  const visit = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) visit(p);
      else if (name.endsWith(".expected.json")) out.push(relative(catalogerFixtures, p));
    }
  };
  visit(root);
  return out;
}

/** Every upstream case of the suite's folders. */
export function fixtureCases(suite: Pick<FixtureSuite, "dirs" | "include">): FixtureCase[] {
  const out: FixtureCase[] = [];
  for (const dir of suite.dirs)
    for (const expectedRel of listExpected(dir)) {
      if (suite.include && !suite.include(expectedRel)) continue;
      const file = JSON.parse(readFileSync(join(catalogerFixtures, expectedRel), "utf8")) as ExpectedFile;
      const fixturePath = join(catalogerFixtures, expectedRel.slice(0, -".expected.json".length));
      const isDirectory = existsSync(fixturePath) && statSync(fixturePath).isDirectory();
      for (const c of file.cases)
        out.push({ expectedRel, fixturePath, isDirectory, file, case: c, key: `${expectedRel}#${c.test}` });
    }
  return out;
}

/** Expected packages in one shape, from trivy (`Name`, `Version`) or syft (`PURL`, `Licenses`) fields. */
export function expectedPackages(c: ExpectedCase): ExpectedPackage[] {
  return (c.packages ?? []).map((p) => {
    const e: ExpectedPackage = { name: String(p.Name ?? ""), version: String(p.Version ?? "") };
    if (typeof p.PURL === "string") e.purl = p.PURL;
    if (Array.isArray(p.Licenses) && p.Licenses.length)
      e.licenses = p.Licenses.map((l) =>
        typeof l === "string" ? l : String((l as { Value?: unknown }).Value),
      );
    return e;
  });
}

/** An upstream case that expects the parser to fail (`assert.NoError` means it must not). */
export function expectsError(c: ExpectedCase): boolean {
  return typeof c.error === "string" && c.error !== "assert.NoError";
}

const show = (p: { name: string; version: string }) => `${p.name}@${p.version}`;

/** Differences between our packages and the expectation; empty when they agree. */
export function diffPackages(actual: Package[], expected: ExpectedPackage[]): string[] {
  const diffs: string[] = [];
  const left = [...actual];
  for (const e of expected) {
    const i = left.findIndex(
      (a) =>
        a.name === e.name &&
        a.version === e.version &&
        (e.purl === undefined || a.purl === e.purl) &&
        (e.licenses === undefined || JSON.stringify(a.licenses ?? []) === JSON.stringify(e.licenses)),
    );
    if (i >= 0) {
      left.splice(i, 1);
      continue;
    }
    const near = left.find((a) => a.name === e.name && a.version === e.version);
    diffs.push(
      near
        ? `${show(e)}: expected purl ${e.purl ?? "-"} licenses ${JSON.stringify(e.licenses)}, got ${near.purl} ${JSON.stringify(near.licenses)}`
        : `missing ${show(e)}`,
    );
  }
  for (const a of left) diffs.push(`unexpected ${show(a)}`);
  return diffs;
}

async function run(
  suite: FixtureSuite,
  fc: FixtureCase,
): Promise<{ diffs: string[]; inv?: DirectoryInventory }> {
  if (suite.check) return { diffs: await suite.check(fc) };
  const asPath = fc.isDirectory ? undefined : suite.asPath?.(fc.fixturePath);
  const inv = await catalogPath(fc.fixturePath, suite.catalogers, asPath ? { asPath } : {});
  if (expectsError(fc.case)) {
    return {
      diffs: inv.problems.length
        ? []
        : [`expected a problem (upstream error "${fc.case.error}"), none recorded`],
      inv,
    };
  }
  let pkgs = inv.packages;
  for (const a of suite.adjustments ?? []) if (a.appliesTo(fc)) pkgs = a.apply(pkgs);
  const diffs = diffPackages(pkgs, expectedPackages(fc.case));
  for (const p of inv.problems) diffs.push(`problem: ${p.reason}`);
  return { diffs, inv };
}

/** Registers one vitest case per upstream case and prints `format: passing / total` afterwards. */
export function describeFixtureSuite(suite: FixtureSuite): void {
  const missing = missingCatalogerFixtures();
  describe(`upstream fixtures: ${suite.format}`, () => {
    if (missing) {
      it.skip(`skipped: ${missing}`, () => {});
      return;
    }
    const cases = fixtureCases(suite);
    const deviationOf = (fc: FixtureCase) => suite.deviations?.[fc.key] ?? suite.deviations?.[fc.expectedRel];
    let passing = 0;
    const lines: string[] = [];
    it("has fixtures", () => expect(cases.length).toBeGreaterThan(0));
    const notComparableOf = (fc: FixtureCase) =>
      suite.notComparable?.[fc.key] ?? suite.notComparable?.[fc.expectedRel];
    let skipped = 0;
    for (const fc of cases) {
      const why = notComparableOf(fc);
      if (why) {
        skipped++;
        lines.push(`  not comparable ${fc.key}: ${why}`);
        it.skip(`${fc.expectedRel} ${fc.case.test}: ${why}`, () => {});
        continue;
      }
      it(`${fc.expectedRel} ${fc.case.test}`, async () => {
        const { diffs } = await run(suite, fc);
        const reason = deviationOf(fc);
        if (reason) {
          lines.push(`  deviation ${fc.key}: ${reason}`);
          // A listed deviation that no longer deviates must be removed from the list.
          expect(diffs, `listed as deviation but passes: ${fc.key}`).not.toEqual([]);
          return;
        }
        expect(diffs).toEqual([]);
        passing++;
      });
    }
    afterAll(() => {
      const adjust = (suite.adjustments ?? []).map((a) => `  adjustment: ${a.reason}`);
      console.log(
        [
          `[fixtures] ${suite.format}: ${passing}/${cases.length - skipped} upstream cases pass` +
            (skipped ? ` (${skipped} not comparable)` : ""),
          ...adjust,
          ...lines.sort(),
        ].join("\n"),
      );
    });
  });
}
