import type { Distro, Package } from "../catalog/types.js";
import { normalizeEcosystem } from "../vulndb/ecosystems.js";
import {
  cargoMatcher,
  composerMatcher,
  gemMatcher,
  golangMatcher,
  mavenMatcher,
  npmMatcher,
  nugetMatcher,
  pypiMatcher,
} from "./lang.js";
import type { Matcher } from "./matcher-types.js";
import { apkMatcher, debMatcher, rpmMatcher } from "./os.js";

/**
 * Every matcher Drydock runs, in one explicit list (no side-effect registration): one per
 * distro family and one per language ecosystem. Each package ecosystem belongs to exactly one
 * of them; the order is the order `matchersFor` reports them in.
 */
export const matchers: readonly Matcher[] = [
  // OS packages, by distro family (os.ts)
  debMatcher,
  apkMatcher,
  rpmMatcher,
  // language ecosystems (lang.ts)
  npmMatcher,
  pypiMatcher,
  mavenMatcher,
  golangMatcher,
  gemMatcher,
  cargoMatcher,
  nugetMatcher,
  composerMatcher,
];

const byEcosystem = new Map<string, Matcher>();
for (const m of matchers) {
  for (const e of m.ecosystems) {
    const prev = byEcosystem.get(e);
    if (prev) throw new Error(`package ecosystem ${e} has two matchers: ${prev.id} and ${m.id}`);
    byEcosystem.set(e, m);
  }
}

/** The matcher of a package in an image of this distro; undefined when none matches it. */
export function matcherFor(pkg: Package, distro: Distro | null): Matcher | undefined {
  const m = byEcosystem.get(pkg.ecosystem);
  return m?.handles(pkg, distro) ? m : undefined;
}

/** The ecosystem key of a match key (`debian:12` of `debian:12 openssl`), or of a key object. */
function ecosystemOf(key: string | { ecosystem: string; package: string }): string {
  if (typeof key !== "string") return normalizeEcosystem(key.ecosystem);
  const sep = key.indexOf(" ");
  return normalizeEcosystem(sep < 0 ? key : key.slice(0, sep));
}

/**
 * The matchers concerned by changed database keys: match key strings (`matchKeyOf`) or the
 * `(ecosystem, package)` keys of a database diff. A matcher is concerned when it owns one of
 * the keys' ecosystems; keys no matcher owns (`pub`, `hex`: no cataloger reads those) concern
 * none. In registry order.
 */
export function matchersFor(keys: Iterable<string | { ecosystem: string; package: string }>): Matcher[] {
  const ecosystems = new Set<string>();
  for (const k of keys) ecosystems.add(ecosystemOf(k));
  return matchers.filter((m) => [...ecosystems].some((e) => m.ownsKey(e)));
}
