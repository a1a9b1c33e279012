import type { Distro, Ecosystem, Package } from "../catalog/types.js";
import { versionSchemes } from "../versions/registry.js";
import type { VersionScheme } from "../versions/types.js";
import type { LookupKey, Matcher, RangeType } from "./matcher-types.js";

/**
 * What the matchers of os.ts and lang.ts share: the OSV rule choosing a range's version scheme.
 * OSV event ranges of type SEMVER, and ECOSYSTEM event ranges of the SemVer ecosystems (npm,
 * Go, crates.io), use OSV's lenient SemVer order (`1` = `1.0.0`); native ranges (node-semver,
 * Cargo requirements) and every other ecosystem use the key's own scheme.
 */
export function osvRangeScheme(
  key: LookupKey,
  rangeType: RangeType,
  semverEcosystem: boolean,
): VersionScheme | undefined {
  if (rangeType === "SEMVER" || (rangeType === "ECOSYSTEM" && semverEcosystem))
    return versionSchemes["osv-semver"];
  return versionSchemes[key.scheme];
}

/** A matcher of one language ecosystem: keyed by its purl type, no distro involved. */
export interface LanguageMatcherSpec {
  ecosystem: Ecosystem;
  /** Version scheme id of the ecosystem. */
  scheme: string;
  /** Whether ECOSYSTEM event ranges are OSV SemVer (npm, Go, crates.io). */
  semverRanges?: boolean;
  /** The name as the database stores it (default: as found). */
  name?(p: Package): string;
  /** The version compared, or null when the package cannot be matched (default: as found). */
  version?(p: Package): string | null;
  /** Packages that are the application's own code, not registry packages. */
  ownCode?(p: Package): boolean;
}

export function languageMatcher(spec: LanguageMatcherSpec): Matcher {
  const { ecosystem, scheme } = spec;
  return {
    id: ecosystem,
    ecosystems: [ecosystem],
    handles: (p: Package, _distro: Distro | null) => p.ecosystem === ecosystem,
    lookupKeys(p, distro) {
      if (spec.ownCode?.(p)) return [];
      // Installed by an OS package (image/applications.ts): the distro's advisories cover it,
      // with the distro's backported fixes. Without a known distro nothing would.
      if (typeof p.metadata?.ownedBy === "string" && distro !== null) return [];
      const version = spec.version ? spec.version(p) : p.version;
      if (version === null) return [];
      return [{ ecosystem, name: spec.name ? spec.name(p) : p.name, version, scheme }];
    },
    ownsKey: (key) => key === ecosystem,
    rangeScheme: (key, rangeType) => osvRangeScheme(key, rangeType, spec.semverRanges === true),
  };
}
