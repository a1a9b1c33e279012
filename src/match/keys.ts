import type { Distro, Package } from "../catalog/types.js";
import { normalizeEcosystem, normalizePackage } from "../vulndb/ecosystems.js";
import type { LookupKey } from "./matcher-types.js";
import { matcherFor } from "./registry.js";

/**
 * Which database entries a package is looked up under, and the match keys an inventory index
 * stores. The per-family rules live in the matchers (os.ts, lang.ts, listed in registry.ts);
 * this is the one entry point the core and the index use.
 */

export type { LookupKey } from "./matcher-types.js";
export { distroKey } from "./os.js";

/**
 * The index string of a database key: `<ecosystem key> <package name>`, both in the
 * database's stored form. The same string for a package's lookup key and for the
 * `(ecosystem, package)` a database diff reports (vulndb/diff.ts PackageKey), so an index of
 * `packageMatchKeys` answers "which inventories does this changed key concern".
 */
export function matchKeyOf(key: { ecosystem: string; package: string }): string {
  const ecosystem = normalizeEcosystem(key.ecosystem);
  // A space separates (ecosystem keys have none; one that had would read as "_"); not NUL,
  // which PostgreSQL's text cannot hold.
  return `${ecosystem.replaceAll(" ", "_")} ${normalizePackage(ecosystem, key.package)}`;
}

/** The `(ecosystem, package)` of a match key. */
export function parseMatchKey(matchKey: string): { ecosystem: string; package: string } {
  const sep = matchKey.indexOf(" ");
  if (sep < 0) throw new Error(`not a match key: ${JSON.stringify(matchKey)}`);
  return { ecosystem: matchKey.slice(0, sep), package: matchKey.slice(sep + 1) };
}

/**
 * Lookup keys of one package, from the matcher that handles it; empty when it cannot be
 * matched (no version, no matcher, no known distro release, local code).
 */
export function lookupKeys(p: Package, distro: Distro | null): LookupKey[] {
  if (!p.version) return [];
  return matcherFor(p, distro)?.lookupKeys(p, distro) ?? [];
}

/**
 * The match keys of one package: what an inventory index stores for it, distinct, in lookup
 * order. A package whose match keys meet a database diff's keys (`matchKeyOf`) is one whose
 * findings the change may alter; no other package's can change.
 */
export function packageMatchKeys(p: Package, distro: Distro | null): string[] {
  return [
    ...new Set(lookupKeys(p, distro).map((k) => matchKeyOf({ ecosystem: k.ecosystem, package: k.name }))),
  ];
}
