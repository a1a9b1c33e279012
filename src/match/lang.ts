import { normalizePackage } from "../vulndb/ecosystems.js";
import { languageMatcher } from "./base.js";
import type { Matcher } from "./matcher-types.js";

/**
 * The language ecosystem matchers: one per purl type, keyed by that type (as the importers
 * store OSV's `npm`, `PyPI`, `Go`, … and the native feeds) and the name as the feeds spell it.
 */

/** npm: names are case-sensitive and kept as found, scopes included; OSV SemVer event ranges. */
export const npmMatcher: Matcher = languageMatcher({
  ecosystem: "npm",
  scheme: "semver",
  semverRanges: true,
});

/** PyPI: PEP 503 names (`zope.interface` → `zope-interface`, `PyYAML` → `pyyaml`); PEP 440. */
export const pypiMatcher: Matcher = languageMatcher({
  ecosystem: "pypi",
  scheme: "pep440",
  name: (p) => normalizePackage("pypi", p.name),
});

/** Maven: `group:artifact` as the catalogers write it; Maven version order. */
export const mavenMatcher: Matcher = languageMatcher({ ecosystem: "maven", scheme: "maven" });

/**
 * Go: modules (and `stdlib`, `toolchain`) by path; advisories write versions without the `v`.
 * A version that is not one (a `devel go1.23-abc` toolchain) would compare as 0.0.0 and match
 * every advisory: not matched.
 */
export const golangMatcher: Matcher = languageMatcher({
  ecosystem: "golang",
  scheme: "go",
  semverRanges: true,
  version(p) {
    const version = p.version.replace(/^v/, "");
    return /^\d/.test(version) ? version : null;
  },
});

/** RubyGems: names as found; RubyGems version order. */
export const gemMatcher: Matcher = languageMatcher({ ecosystem: "gem", scheme: "gem" });

/**
 * crates.io: OSV SemVer event ranges. Local crates (path dependencies, the workspace's own
 * crates: `metadata.local`) are the application's code, not the crates.io crate of that name.
 */
export const cargoMatcher: Matcher = languageMatcher({
  ecosystem: "cargo",
  scheme: "cargo",
  semverRanges: true,
  ownCode: (p) => p.metadata?.local === true,
});

/** NuGet: lowercase ids; solution projects (`metadata.project`, from deps.json) are not matched. */
export const nugetMatcher: Matcher = languageMatcher({
  ecosystem: "nuget",
  scheme: "nuget",
  name: (p) => normalizePackage("nuget", p.name),
  ownCode: (p) => p.metadata?.project === true,
});

/** Packagist: `vendor/package` as stored (normalizePackage's form); Composer version order. */
export const composerMatcher: Matcher = languageMatcher({
  ecosystem: "composer",
  scheme: "composer",
  name: (p) => normalizePackage("composer", p.name),
});
