import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { lstat, readdir, readFile } from "node:fs/promises";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { parsePurl } from "./purl.js";
import type { CatalogContext, Cataloger, Package } from "./types.js";

/**
 * Test support for catalogers, and the one harness of the catalog fixture tests
 * (`*\/fixtures.test.ts`), which run catalogers (and distro detectors) over the upstream fixtures
 * of ../shared/testdata/catalogers and compare with their `.expected.json` (format described in
 * that folder's PROVENANCE.md):
 * - catalogPath runs catalogers over a directory tree or a file exactly as the image analysis
 *   does over a layer, the fixture standing for the image root (or for one file in it);
 * - describeFixtures is the frame every fixture test runs in: one vitest case per fixture (or
 *   per upstream case), reported skipped with the reason when ../shared is absent; fixtures that
 *   are not ours listed with why (skipped); deviations listed with why, and a listed deviation
 *   must really deviate, so no list can go stale; a summary line per format;
 * - describeUpstreamCases (one vitest case per upstream test case, packages compared as a
 *   multiset of name+version, plus purl and licenses where stated) and describeUpstreamFiles
 *   (one vitest case per fixture file, presented where it sits in an image, compared on name,
 *   version, and dev flags, licenses and purl where stated) are the two comparisons of package
 *   lists built on it; the OS and distro tests give describeFixtures checks of their own.
 */

export const catalogerFixtures = resolve(
  process.env.DRYDOCK_SHARED ?? join(dirname(fileURLToPath(import.meta.url)), "../../../shared"),
  "testdata/catalogers",
);

/** Null when the fixtures exist, else why not (tests then report themselves skipped). */
export function missingCatalogerFixtures(): string | null {
  return existsSync(catalogerFixtures) ? null : `cataloger fixtures not found at ${catalogerFixtures}`;
}

export const testContext: CatalogContext = { maxNestedArchiveBytes: 256 * 1024 * 1024 };

export interface DirectoryInventory {
  packages: Package[];
  problems: { path: string; source: string; reason: string }[];
  /** What OS package databases say their packages own (CatalogResult.owned), when any. */
  owned?: [string, string][];
}

/**
 * Walks `root` without following symlinks; every regular file some cataloger matches is
 * parsed. Paths are reported absolute as inside an image: `/` + path relative to `root`.
 * `root` may also be a single file: it is then presented at `/` + `asPath` (default: its name).
 */
export async function catalogPath(
  root: string,
  list: readonly Cataloger[],
  opts: { asPath?: string; ctx?: CatalogContext } = {},
): Promise<DirectoryInventory> {
  const out: DirectoryInventory = { packages: [], problems: [] };
  const ctx = opts.ctx ?? testContext;
  const visit = async (file: string, imagePath: string) => {
    const st = await lstat(file);
    if (st.isDirectory()) {
      for (const name of (await readdir(file)).sort())
        await visit(join(file, name), `${imagePath === "/" ? "" : imagePath}/${name}`);
      return;
    }
    if (!st.isFile()) return;
    for (const c of list) {
      if (!c.matches(imagePath, st.mode)) continue;
      const content = await readFile(file);
      try {
        const r = await c.parse({ path: imagePath, size: st.size, mode: st.mode, content }, ctx);
        out.packages.push(...r.packages);
        if (r.owned?.length) (out.owned ??= []).push(...r.owned);
        for (const reason of r.problems ?? []) out.problems.push({ path: imagePath, source: c.id, reason });
      } catch (e) {
        out.problems.push({
          path: imagePath,
          source: c.id,
          reason: `cataloger crashed: ${(e as Error).message}`,
        });
      }
    }
  };
  const st = await lstat(root);
  if (st.isDirectory()) await visit(root, "/");
  else await visit(root, "/" + (opts.asPath ?? relative(dirname(root), root).split(sep).join("/")));
  return out;
}

export async function readExpected<T = unknown>(path: string): Promise<T> {
  return JSON.parse(await readFile(path, "utf8")) as T;
}

// ---------------------------------------------------------------------------------------------
// Fixtures and the frame of every fixture test

/** One upstream fixture: a file or directory and, beside it, its `.expected.json`. */
export interface UpstreamFixture {
  /**
   * Its path relative to the fixtures root, `/`-separated, without `.expected.json` (e.g.
   * `golang/syft-golang/go.mod`): the key its deviations are listed under.
   */
  rel: string;
  /** The `.expected.json`. */
  expectedPath: string;
  /** The fixture file or directory. */
  fixturePath: string;
}

/** The regular files under `dir`, depth first in name order (no symlink is followed). */
function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...filesUnder(p));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

/** Every fixture under `dirs` (relative to the fixtures root; a missing one has none), in order. */
export function upstreamFixtures(dirs: readonly string[]): UpstreamFixture[] {
  const out: UpstreamFixture[] = [];
  for (const dir of dirs) {
    const root = join(catalogerFixtures, dir);
    if (!existsSync(root)) continue;
    for (const expectedPath of filesUnder(root)) {
      if (!expectedPath.endsWith(".expected.json")) continue;
      const fixturePath = expectedPath.slice(0, -".expected.json".length);
      const rel = relative(catalogerFixtures, fixturePath).split(sep).join("/");
      out.push({ rel, expectedPath, fixturePath });
    }
  }
  return out;
}

/** What a fixture check found. */
export interface FixtureCheck {
  /**
   * Differences from the expectation as compared (a listed deviation applied, for a check
   * that applies deviations itself); empty when they agree.
   */
  diffs: string[];
  /**
   * For a check that applies a listed deviation itself: the differences without it, which must
   * not be empty (else the deviation is not needed any more). Without `strict`, a listed
   * deviation means that `diffs` must not be empty.
   */
  strict?: string[];
  /** A line for the summary. */
  note?: string;
}

export interface FixtureSuite<U> {
  /** The describe() title. */
  title: string;
  /** The units, one vitest case each (fixtures or upstream cases); asked only when ../shared exists. */
  units: () => U[];
  /** A unit's test name. */
  name: (u: U) => string;
  /** The keys the lists below may name a unit by, most specific first (the first is its key). */
  keys: (u: U) => string[];
  /** The summary line a unit counts in (default: the title). */
  group?: (u: U) => string;
  /** A test fails when there are fewer units (a moved or emptied fixture folder); default 1. */
  atLeast?: number;
  /**
   * Units not run (reported skipped), with why: not our format, nothing comparable. (A function
   * is asked once the units are known.)
   */
  notApplicable?: Record<string, string> | (() => Record<string, string>);
  /** Units that differ from upstream on purpose, with why; a listed unit must still differ. */
  deviations?: Record<string, string>;
  /** Lines printed under the summary (adjustments applied to every comparison, ...). */
  notes?: string[];
  /** Compares one unit with its expectation; may also assert on its own (expect). */
  check: (u: U) => Promise<FixtureCheck> | FixtureCheck;
  /** Registers the suite's own further tests (when the fixtures exist). */
  more?: () => void;
}

/**
 * Registers a suite's vitest cases, and prints its summary afterwards: per group, how many units
 * pass (how many of them with a listed deviation) and how many are not applicable, then every
 * deviation and note.
 */
export function describeFixtures<U>(suite: FixtureSuite<U>): void {
  const missing = missingCatalogerFixtures();
  describe(suite.title, () => {
    if (missing) {
      it.skip(`skipped: ${missing}`, () => {});
      return;
    }
    const units = suite.units();
    const notApplicable =
      typeof suite.notApplicable === "function" ? suite.notApplicable() : suite.notApplicable;
    const listed = (table: Record<string, string> | undefined, u: U) => {
      for (const k of suite.keys(u)) if (table?.[k] !== undefined) return table[k];
      return undefined;
    };
    const tally = new Map<
      string,
      { pass: number; deviations: number; total: number; notApplicable: number }
    >();
    const counts = (u: U) => {
      const g = suite.group?.(u) ?? suite.title;
      const t = tally.get(g) ?? { pass: 0, deviations: 0, total: 0, notApplicable: 0 };
      tally.set(g, t);
      return t;
    };
    const lines: string[] = [];
    const atLeast = suite.atLeast ?? 1;

    it(`finds the fixtures (at least ${atLeast})`, () =>
      expect(units.length).toBeGreaterThanOrEqual(atLeast));
    const keys = [...Object.keys(suite.deviations ?? {}), ...Object.keys(notApplicable ?? {})];
    if (keys.length)
      it("lists deviations and fixtures not applicable only for fixtures that exist", () => {
        const known = new Set(units.flatMap((u) => suite.keys(u)));
        expect(keys.filter((k) => !known.has(k))).toEqual([]);
      });
    suite.more?.();

    for (const u of units) {
      const key = suite.keys(u)[0]!;
      const t = counts(u);
      const na = listed(notApplicable, u);
      if (na !== undefined) {
        t.notApplicable++;
        lines.push(`  not applicable ${key}: ${na}`);
        it.skip(`${suite.name(u)}: ${na}`, () => {});
        continue;
      }
      t.total++;
      it(suite.name(u), async () => {
        const r = await suite.check(u);
        if (r.note) lines.push(`  ${key}: ${r.note}`);
        const reason = listed(suite.deviations, u);
        if (reason === undefined) {
          expect(r.diffs).toEqual([]);
          t.pass++;
          return;
        }
        lines.push(`  deviation ${key}: ${reason}`);
        if (r.strict) {
          expect(r.strict, `listed as deviation but passes without it: ${key}`).not.toEqual([]);
          expect(r.diffs).toEqual([]);
        } else {
          // A listed deviation that no longer deviates must be removed from the list.
          expect(r.diffs, `listed as deviation but passes: ${key}`).not.toEqual([]);
        }
        t.pass++;
        t.deviations++;
      });
    }

    afterAll(() => {
      const summary = [...tally].map(([group, t]) => {
        const parts = [
          ...(t.total ? [`${t.pass}/${t.total} pass`] : []),
          ...(t.deviations ? [`${t.deviations} with listed deviations`] : []),
          ...(t.notApplicable ? [`${t.notApplicable} not applicable (not run)`] : []),
        ];
        return `[fixtures] ${group}: ${parts.join(", ")}`;
      });
      console.log([...summary, ...(suite.notes ?? []).map((n) => `  ${n}`), ...lines.sort()].join("\n"));
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Package lists per upstream case (Java, Go, Rust, .NET)

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

/** One upstream test case of a fixture. */
export interface FixtureCase extends UpstreamFixture {
  isDirectory: boolean;
  file: ExpectedFile;
  case: ExpectedCase;
  /** `<rel>#<case.test>`: the key deviations of this case alone are listed under. */
  key: string;
}

export interface UpstreamCaseSuite {
  /** Printed in the summary, e.g. `go.mod`. */
  format: string;
  catalogers: Cataloger[];
  /** Folders (relative to the fixtures root) whose fixtures belong to this format. */
  dirs: string[];
  /** Restricts the fixtures taken from `dirs` (by their rel). */
  include?: (rel: string) => boolean;
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
  /** Cases (by key, or by rel for all cases of a fixture) that deviate, with the reason. */
  deviations?: Record<string, string>;
  /** Cases (by key or rel) that assert something other than a package list (another function's result). */
  notComparable?: Record<string, string>;
  /** A check other than the package comparison (e.g. a parser's value); returns differences. */
  check?: (c: FixtureCase) => Promise<string[]> | string[];
}

/** Every upstream case of the suite's folders. */
export function fixtureCases(suite: Pick<UpstreamCaseSuite, "dirs" | "include">): FixtureCase[] {
  const out: FixtureCase[] = [];
  for (const f of upstreamFixtures(suite.dirs)) {
    if (suite.include && !suite.include(f.rel)) continue;
    const file = JSON.parse(readFileSync(f.expectedPath, "utf8")) as ExpectedFile;
    const isDirectory = existsSync(f.fixturePath) && statSync(f.fixturePath).isDirectory();
    for (const c of file.cases) out.push({ ...f, isDirectory, file, case: c, key: `${f.rel}#${c.test}` });
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

async function compareUpstreamCase(suite: UpstreamCaseSuite, fc: FixtureCase): Promise<string[]> {
  if (suite.check) return suite.check(fc);
  const asPath = fc.isDirectory ? undefined : suite.asPath?.(fc.fixturePath);
  const inv = await catalogPath(fc.fixturePath, suite.catalogers, asPath ? { asPath } : {});
  if (expectsError(fc.case))
    return inv.problems.length
      ? []
      : [`expected a problem (upstream error "${fc.case.error}"), none recorded`];
  let pkgs = inv.packages;
  for (const a of suite.adjustments ?? []) if (a.appliesTo(fc)) pkgs = a.apply(pkgs);
  const diffs = diffPackages(pkgs, expectedPackages(fc.case));
  for (const p of inv.problems) diffs.push(`problem: ${p.reason}`);
  return diffs;
}

/**
 * One vitest case per upstream test case. A case passes when the packages match as a multiset
 * of name+version (and purl / licenses where the expectation states them) and no problem was
 * recorded, or, for an expected error, when a problem was recorded.
 */
export function describeUpstreamCases(suite: UpstreamCaseSuite): void {
  describeFixtures<FixtureCase>({
    title: `upstream fixtures: ${suite.format}`,
    units: () => fixtureCases(suite),
    name: (fc) => `${fc.rel} ${fc.case.test}`,
    keys: (fc) => [fc.key, fc.rel],
    group: () => suite.format,
    ...(suite.notComparable ? { notApplicable: suite.notComparable } : {}),
    ...(suite.deviations ? { deviations: suite.deviations } : {}),
    notes: (suite.adjustments ?? []).map((a) => `adjustment: ${a.reason}`),
    check: async (fc) => ({ diffs: await compareUpstreamCase(suite, fc) }),
  });
}

// ---------------------------------------------------------------------------------------------
// Package lists per fixture file, presented inside an image (JavaScript, Python, Ruby, PHP)

export interface Expected {
  name: string;
  version: string;
  purl?: string;
  licenses?: string[];
  dev?: boolean;
}

export interface ComparedCase {
  test: string;
  /** packages: compare; error: upstream expects a parse error; none: no package facts to compare. */
  kind: "packages" | "error" | "none";
  packages: Expected[];
  /** The expectation states dev flags (trivy `Dev`): absent means false. */
  hasDev: boolean;
  /** The expectation states licenses as strings: absent means none. */
  hasLicenses: boolean;
}

/** Why and how our result may differ from one upstream fixture. */
export interface Deviation {
  reason: string;
  /** Expected `name@version` we deliberately do not report. */
  omit?: string[];
  /** We also report the development dependencies this upstream test leaves out (flagged dev). */
  extraDev?: boolean;
  /** Packages (`name@version`) we report beyond the expectation. */
  extra?: string[];
  /** Licenses we report instead of the expected ones, per `name@version`. */
  licenses?: Record<string, string[]>;
  /** Licenses not compared at all. */
  ignoreLicenses?: boolean;
  /** We record a problem for this file where upstream reports none. */
  problems?: boolean;
  /** Upstream fails on this file; we report its packages (no problem). */
  packagesDespiteError?: boolean;
  /** Cases (by test name) compared against our non-dev packages only (upstream excludes dev). */
  nonDevCases?: string[];
  /** Cases (by test name) not compared. */
  skipCases?: string[];
}

export interface FixtureRule {
  /** Summary label. */
  format: string;
  /** Whether the fixture (its rel) is this format. */
  match: (rel: string) => boolean;
  /** Where the file (or directory) is presented inside the image, absolute. */
  at: (rel: string) => string;
  /** Upstream names are normalized (syft's python names): compare with this applied to ours. */
  nameKey?: (name: string) => string;
}

export interface Fixture {
  rel: string;
  rule: FixtureRule;
  cases: ComparedCase[];
}

function asString(v: unknown): string | undefined {
  return typeof v === "string" ? v : undefined;
}

function normalize(p: Record<string, unknown>): Expected {
  const e: Expected = {
    name: asString(p.Name ?? p.name) ?? "",
    version: asString(p.Version ?? p.version) ?? "",
  };
  const purl = asString(p.PURL);
  if (purl) e.purl = purl;
  if (Array.isArray(p.Licenses) && p.Licenses.every((l) => typeof l === "string")) e.licenses = p.Licenses;
  if (typeof p.Dev === "boolean") e.dev = p.Dev;
  return e;
}

function readCase(c: Record<string, unknown>): ComparedCase {
  const test = asString(c.test) ?? "";
  const error = c.error;
  let kind: ComparedCase["kind"] = "none";
  let raw: Record<string, unknown>[] = [];
  if (error !== undefined && error !== null && error !== false && error !== "assert.NoError") kind = "error";
  else if (Array.isArray(c.packages)) {
    kind = "packages";
    raw = c.packages as Record<string, unknown>[];
  } else if (c.want && typeof c.want === "object" && "Package" in c.want) {
    // trivy package.json parser: one Package; without name or version it is no package
    kind = "packages";
    const p = (c.want as { Package: Record<string, unknown> }).Package;
    raw = p.Name && p.Version ? [p] : [];
  } else if (Array.isArray(c.package_strings)) {
    kind = "packages";
    raw = (c.package_strings as string[]).map((s) => {
      const m = /^(.*) @ (.*) \(.*\)$/.exec(s);
      return { Name: m?.[1] ?? s, Version: m?.[2] ?? "" };
    });
  }
  const packages = raw.map(normalize);
  return {
    test,
    kind,
    packages,
    hasDev: raw.some((p) => "Dev" in p),
    hasLicenses:
      raw.some((p) => Array.isArray(p.Licenses)) && raw.every((p) => packagesLicensesAreStrings(p)),
  };
}

function packagesLicensesAreStrings(p: Record<string, unknown>): boolean {
  return !Array.isArray(p.Licenses) || p.Licenses.every((l) => typeof l === "string");
}

/** Every fixture under `<ecosystem>/` dirs, classified by the first matching rule. */
export function discover(
  ecosystems: string[],
  rules: FixtureRule[],
): { fixtures: Fixture[]; unclassified: string[] } {
  const fixtures: Fixture[] = [];
  const unclassified: string[] = [];
  for (const f of upstreamFixtures(ecosystems)) {
    const rule = rules.find((r) => r.match(f.rel));
    if (!rule) {
      unclassified.push(f.rel);
      continue;
    }
    const doc = JSON.parse(readFileSync(f.expectedPath, "utf8")) as { cases: Record<string, unknown>[] };
    fixtures.push({ rel: f.rel, rule, cases: doc.cases.map(readCase) });
  }
  return { fixtures, unclassified };
}

/** Runs `list` over the fixture presented at `at` (a directory keeps its inner layout). */
export async function runFixture(
  rel: string,
  at: string,
  list: readonly Cataloger[],
): Promise<DirectoryInventory> {
  const abs = join(catalogerFixtures, rel);
  const out: DirectoryInventory = { packages: [], problems: [] };
  const files = statSync(abs).isDirectory() ? filesUnder(abs) : [abs];
  for (const file of files) {
    const inner = file === abs ? "" : "/" + relative(abs, file).split(sep).join("/");
    const r = await catalogPath(file, list, { asPath: (at + inner).slice(1) });
    out.packages.push(...r.packages);
    out.problems.push(...r.problems);
  }
  return out;
}

const sameSet = (a: string[], b: string[]) =>
  a.length === b.length && [...a].sort().every((x, i) => x === [...b].sort()[i]);

/**
 * Differences between one expectation and our result; empty when they agree. `dev` is the
 * fixture's deviation (undefined for the strict comparison).
 */
export function compareCase(
  c: ComparedCase,
  result: DirectoryInventory,
  rule: FixtureRule,
  dev?: Deviation,
): string[] {
  if (c.kind === "none" || dev?.skipCases?.includes(c.test)) return [];
  const diffs: string[] = [];
  const problems = result.problems.map((p) => `${p.path}: ${p.reason}`);
  if (c.kind === "error") {
    if (dev?.packagesDespiteError) {
      if (problems.length) diffs.push(`unexpected problems: ${problems.join("; ")}`);
      return diffs;
    }
    if (!problems.length) diffs.push("upstream expects an error; we recorded no problem");
    if (result.packages.length)
      diffs.push(`upstream expects an error; we reported ${result.packages.length} packages`);
    return diffs;
  }
  if (problems.length && !dev?.problems) diffs.push(`unexpected problems: ${problems.join("; ")}`);
  if (!problems.length && dev?.problems) diffs.push("deviation lists a problem but none was recorded");

  const key = (name: string, version: string) => `${rule.nameKey ? rule.nameKey(name) : name}@${version}`;
  const ours = new Map<string, Package>();
  const nonDevOnly = dev?.nonDevCases?.includes(c.test);
  for (const p of result.packages) {
    if (nonDevOnly && p.dev) continue;
    const k = key(p.name, p.version);
    const seen = ours.get(k);
    if (!seen) ours.set(k, { ...p });
    else if (!p.dev) delete seen.dev;
  }
  const expected = new Map<string, Expected>();
  for (const e of c.packages) {
    const k = key(e.name, e.version);
    if (dev?.omit?.includes(`${e.name}@${e.version}`)) continue;
    const seen = expected.get(k);
    if (!seen) expected.set(k, { ...e });
    else if (!e.dev) seen.dev = false;
  }
  for (const [k, e] of expected) {
    const p = ours.get(k);
    if (!p) {
      diffs.push(`missing ${k}`);
      continue;
    }
    if (c.hasDev && (e.dev ?? false) !== (p.dev ?? false))
      diffs.push(`${k}: dev ${p.dev ?? false}, expected ${e.dev ?? false}`);
    if (c.hasLicenses && !dev?.ignoreLicenses) {
      const want = dev?.licenses?.[`${e.name}@${e.version}`] ?? e.licenses ?? [];
      const got = p.licenses ?? [];
      if (!sameSet(want, got))
        diffs.push(`${k}: licenses ${JSON.stringify(got)}, expected ${JSON.stringify(want)}`);
    }
    if (e.purl) {
      const strip = (s: string) => {
        const pp = parsePurl(s);
        return pp
          ? `pkg:${pp.type}/${pp.namespace ? pp.namespace + "/" : ""}${pp.name}@${pp.version ?? ""}`
          : s;
      };
      if (strip(e.purl) !== strip(p.purl)) diffs.push(`${k}: purl ${p.purl}, expected ${e.purl}`);
    }
  }
  for (const [k, p] of ours) {
    if (expected.has(k) || c.packages.some((e) => key(e.name, e.version) === k)) continue;
    if (dev?.extra?.includes(k) || (dev?.extraDev && p.dev)) continue;
    diffs.push(`unexpected ${k}${p.dev ? " (dev)" : ""}`);
  }
  return diffs;
}

/** Compares one fixture, strictly and, when it has one, with its deviation (see FixtureCheck). */
export async function checkFixture(
  f: Fixture,
  list: readonly Cataloger[],
  dev: Deviation | undefined,
): Promise<FixtureCheck> {
  const comparable = f.cases.filter((c) => c.kind !== "none" && !dev?.skipCases?.includes(c.test));
  if (!comparable.length) return { diffs: ["no comparable case: list it with a reason"] };
  const result = await runFixture(f.rel, f.rule.at(f.rel), list);
  const strict = f.cases.flatMap((c) => compareCase(c, result, f.rule).map((d) => `${c.test}: ${d}`));
  if (!dev) return { diffs: strict };
  const withDev = f.cases.flatMap((c) => compareCase(c, result, f.rule, dev).map((d) => `${c.test}: ${d}`));
  return { diffs: withDev, strict };
}

export interface UpstreamFileSuite {
  /** The describe() title, e.g. `upstream JavaScript fixtures`. */
  title: string;
  /** The fixtures root's folders to read, e.g. `["javascript"]`. */
  ecosystems: string[];
  /** Our formats; every fixture must be one of them or listed in outOfScope. */
  rules: FixtureRule[];
  /** Fixtures (by rel prefix) of formats that are not ours, with why (listed so that a new one is noticed). */
  outOfScope?: Record<string, string>;
  /** By rel. A deviation of a fixture without a comparable case makes it not applicable. */
  deviations?: Record<string, Deviation>;
  catalogers: readonly Cataloger[];
}

/**
 * One vitest case per fixture file, presented where it would sit in an image. Deviations are
 * explicit and checked both ways: a fixture that fails without its listed deviation must pass
 * with it, and a listed deviation that is not needed fails the test.
 */
export function describeUpstreamFiles(suite: UpstreamFileSuite): void {
  const deviations = suite.deviations ?? {};
  let found: { fixtures: Fixture[]; unclassified: string[] } | undefined;
  const discovered = () => (found ??= discover(suite.ecosystems, suite.rules));
  const comparable = (f: Fixture) =>
    f.cases.some((c) => c.kind !== "none" && !deviations[f.rel]?.skipCases?.includes(c.test));
  describeFixtures<Fixture>({
    title: suite.title,
    units: () => discovered().fixtures,
    name: (f) => f.rel,
    keys: (f) => [f.rel],
    group: (f) => f.rule.format,
    // A listed fixture with nothing to compare is not applicable: the reason says why.
    notApplicable: () =>
      Object.fromEntries(
        discovered()
          .fixtures.filter((f) => deviations[f.rel] && !comparable(f))
          .map((f) => [f.rel, deviations[f.rel]!.reason]),
      ),
    deviations: Object.fromEntries(Object.entries(deviations).map(([rel, d]) => [rel, d.reason])),
    check: (f) => checkFixture(f, suite.catalogers, deviations[f.rel]),
    more: () =>
      it(`classifies every fixture as one of our formats${suite.outOfScope ? " or out of scope" : ""}`, () => {
        const outOfScope = Object.keys(suite.outOfScope ?? {});
        expect(discovered().unclassified.filter((r) => !outOfScope.some((p) => r.startsWith(p)))).toEqual([]);
      }),
  });
}
