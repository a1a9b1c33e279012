import type { Distro, Ecosystem, Package } from "../catalog/types.js";
import type { VersionScheme } from "../versions/types.js";
import type { Affected, AffectedRange } from "../vulndb/types.js";

/**
 * Which database entry a package is looked up under, and which version is compared there.
 * `ecosystem` and `name` are in the database's stored form (vulndb/ecosystems.ts: lowercase
 * ecosystem keys, PEP 503 PyPI names, lowercase NuGet names), so `matchKeyOf` of a lookup key
 * is the same string as `matchKeyOf` of the (ecosystem, package) a database diff reports.
 */
export interface LookupKey {
  ecosystem: string;
  name: string;
  /** The version compared against that key's advisories. */
  version: string;
  /** Version scheme id (versions/registry.ts). */
  scheme: string;
  /** rpm: the package's epoch, assumed for advisory versions written without one (AlmaLinux). */
  epoch?: number;
}

/** An OSV range type: ECOSYSTEM and SEMVER event ranges, NATIVE constraints of the native feeds. */
export type RangeType = AffectedRange["type"];

/**
 * How one distro family or language ecosystem is matched. The shared core (matcher.ts) does
 * the rest identically for every family: read the advisories of each lookup key, skip
 * withdrawn advisories and `not_affected` entries, evaluate ranges (ranges.ts), report distro
 * statuses, decide vulnerability ids, severity and enrichment.
 *
 * Contract:
 * - Every package ecosystem is handled by exactly one matcher (the registry checks it).
 * - `lookupKeys` is called only for packages this matcher `handles` that have a version; its
 *   keys are in the database's stored form (see LookupKey).
 * - `ownsKey(e)` is true for every ecosystem key `e` this matcher's `lookupKeys` can produce
 *   (so `matchersFor` never misses a matcher a changed key concerns), and as few others as
 *   the key allows (a key of an unknown distro is owned by every OS family matcher).
 */
export interface Matcher {
  /** Stable id: the family (`deb`, `apk`, `rpm`) or the language ecosystem (`npm`, `pypi`, …). */
  readonly id: string;
  /** The package ecosystems (`Package.ecosystem`, purl types) it matches. */
  readonly ecosystems: readonly Ecosystem[];
  /**
   * Whether this matcher is the one for this package in an image of this distro. OS package
   * matchers take their package format in their family's distros and in distros no family
   * knows (Kali, Raspbian: keyed under their own release key).
   */
  handles(pkg: Package, distro: Distro | null): boolean;
  /** The database keys of one package, in stored form; empty when it cannot be matched. */
  lookupKeys(pkg: Package, distro: Distro | null): LookupKey[];
  /** Whether a database ecosystem key (`debian:12`, `alpine:3.19`, `npm`) is one of this matcher's. */
  ownsKey(ecosystemKey: string): boolean;
  /**
   * The version scheme that evaluates ranges of this type for this key; undefined: ranges of
   * that type are not evaluated. (OSV: SEMVER ranges are OSV's lenient SemVer everywhere;
   * ECOSYSTEM ranges of npm, Go and crates.io too; others use the ecosystem's own scheme.)
   */
  rangeScheme(key: LookupKey, rangeType: RangeType): VersionScheme | undefined;
  /** Rewrites an affected entry before it is evaluated for this key (rpm: the package's epoch). */
  adjust?(key: LookupKey, affected: Affected): Affected;
}
