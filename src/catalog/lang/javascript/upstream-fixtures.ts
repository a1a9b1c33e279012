import { readdir, stat } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import { parsePurl } from "../../purl.js";
import { catalogerFixtures, catalogPath, readExpected, type DirectoryInventory } from "../../testing.js";
import type { Cataloger, Package } from "../../types.js";

/**
 * Test support shared by the JavaScript, Python, Ruby and PHP fixture tests: reads the
 * upstream expectation files of ../shared/testdata/catalogers (format: PROVENANCE.md there),
 * presents each fixture at a realistic path inside an image, runs the catalogers, and compares
 * name, version and — where the expectation states them — purl, licenses and dev flags.
 *
 * Deviations are explicit and checked both ways: a fixture that fails without its listed
 * deviation must pass with it, and a listed deviation that is not needed fails the test.
 */

export interface Expected {
  name: string;
  version: string;
  purl?: string;
  licenses?: string[];
  dev?: boolean;
}

export interface ExpectedCase {
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
  /** Whether the fixture (path relative to the fixtures root, without .expected.json) is this format. */
  match: (rel: string) => boolean;
  /** Where the file (or directory) is presented inside the image, absolute. */
  at: (rel: string) => string;
  /** Upstream names are normalized (syft's python names): compare with this applied to ours. */
  nameKey?: (name: string) => string;
}

export interface Fixture {
  rel: string;
  rule: FixtureRule;
  cases: ExpectedCase[];
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

function readCase(c: Record<string, unknown>): ExpectedCase {
  const test = asString(c.test) ?? "";
  const error = c.error;
  let kind: ExpectedCase["kind"] = "none";
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

async function* walk(dir: string): AsyncGenerator<string> {
  for (const name of (await readdir(dir)).sort()) {
    const p = join(dir, name);
    if ((await stat(p)).isDirectory()) yield* walk(p);
    else yield p;
  }
}

/** Every expectation under `<ecosystem>/` dirs, classified by the first matching rule. */
export async function discover(
  ecosystems: string[],
  rules: FixtureRule[],
): Promise<{ fixtures: Fixture[]; unclassified: string[] }> {
  const fixtures: Fixture[] = [];
  const unclassified: string[] = [];
  for (const eco of ecosystems) {
    for await (const file of walk(join(catalogerFixtures, eco))) {
      if (!file.endsWith(".expected.json")) continue;
      const rel = relative(catalogerFixtures, file).split(sep).join("/").slice(0, -".expected.json".length);
      const rule = rules.find((r) => r.match(rel));
      if (!rule) {
        unclassified.push(rel);
        continue;
      }
      const doc = await readExpected<{ cases: Record<string, unknown>[] }>(file);
      fixtures.push({ rel, rule, cases: doc.cases.map(readCase) });
    }
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
  const files = (await stat(abs)).isDirectory() ? walk(abs) : single(abs);
  for await (const file of files) {
    const inner = file === abs ? "" : "/" + relative(abs, file).split(sep).join("/");
    const r = await catalogPath(file, list, { asPath: (at + inner).slice(1) });
    out.packages.push(...r.packages);
    out.problems.push(...r.problems);
  }
  return out;
}

async function* single(p: string): AsyncGenerator<string> {
  yield p;
}

const sameSet = (a: string[], b: string[]) =>
  a.length === b.length && [...a].sort().every((x, i) => x === [...b].sort()[i]);

/**
 * Differences between one expectation and our result; empty when they agree. `dev` is the
 * fixture's deviation (undefined for the strict comparison).
 */
export function compareCase(
  c: ExpectedCase,
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

/** Outcome of one fixture: exact, passing with its deviation, or failing (with reasons). */
export interface Outcome {
  rel: string;
  format: string;
  status: "exact" | "deviation" | "not comparable" | "fail";
  details: string[];
}

export async function checkFixture(
  f: Fixture,
  list: readonly Cataloger[],
  deviations: Record<string, Deviation>,
): Promise<Outcome> {
  const result = await runFixture(f.rel, f.rule.at(f.rel), list);
  const base = { rel: f.rel, format: f.rule.format };
  const dev = deviations[f.rel];
  const comparable = f.cases.filter((c) => c.kind !== "none" && !dev?.skipCases?.includes(c.test));
  if (!comparable.length) {
    return dev
      ? { ...base, status: "not comparable", details: [dev.reason] }
      : { ...base, status: "fail", details: ["no comparable case: list it with a reason"] };
  }
  const strict = f.cases.flatMap((c) => compareCase(c, result, f.rule).map((d) => `${c.test}: ${d}`));
  if (!strict.length) {
    return dev
      ? { ...base, status: "fail", details: ["passes without its listed deviation: remove the deviation"] }
      : { ...base, status: "exact", details: [] };
  }
  if (!dev) return { ...base, status: "fail", details: strict };
  const withDev = f.cases.flatMap((c) => compareCase(c, result, f.rule, dev).map((d) => `${c.test}: ${d}`));
  return withDev.length
    ? { ...base, status: "fail", details: withDev }
    : { ...base, status: "deviation", details: [dev.reason] };
}

/** One line per format: passing / total, and how many pass only with listed deviations. */
export function summarize(outcomes: Outcome[]): string[] {
  const byFormat = new Map<string, Outcome[]>();
  for (const o of outcomes) byFormat.set(o.format, [...(byFormat.get(o.format) ?? []), o]);
  return [...byFormat].map(([format, os]) => {
    const n = (s: Outcome["status"]) => os.filter((o) => o.status === s).length;
    const pass = n("exact") + n("deviation");
    return (
      `${format}: ${pass}/${os.length} fixtures pass (${n("exact")} exactly, ${n("deviation")} with listed deviations` +
      `${n("not comparable") ? `, ${n("not comparable")} not comparable` : ""}${n("fail") ? `, ${n("fail")} FAILING` : ""})`
    );
  });
}
