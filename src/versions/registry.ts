import { apkScheme } from "./apk.js";
import { cargoScheme } from "./cargo.js";
import { composerScheme } from "./composer-constraint.js";
import { debScheme } from "./deb.js";
import { gemScheme } from "./gem-requirement.js";
import { goScheme } from "./go.js";
import { mavenScheme } from "./maven-range.js";
import { npmScheme } from "./npm.js";
import { osvSemverScheme } from "./osv-semver.js";
import { nugetScheme } from "./nuget-range.js";
import { pep440Scheme } from "./pep440-specifiers.js";
import { rpmScheme } from "./rpm.js";
import type { VersionScheme } from "./types.js";

/**
 * Every version scheme, in one explicit list. Keys are scheme ids; `schemeFor` maps package
 * ecosystems (purl types) and advisory ecosystems onto them.
 */
export const versionSchemes: Readonly<Record<string, VersionScheme>> = {
  deb: debScheme,
  rpm: rpmScheme,
  apk: apkScheme,
  semver: npmScheme,
  // OSV's lenient SemVer, for SEMVER ranges and npm/Go/crates.io event ranges in advisories.
  "osv-semver": osvSemverScheme,
  go: goScheme,
  cargo: cargoScheme,
  pep440: pep440Scheme,
  maven: mavenScheme,
  gem: gemScheme,
  nuget: nugetScheme,
  composer: composerScheme,
};

/** The scheme that orders versions of a package ecosystem (purl type) or distro family. */
export const ECOSYSTEM_SCHEME: Readonly<Record<string, string>> = {
  deb: "deb",
  rpm: "rpm",
  apk: "apk",
  npm: "semver",
  pypi: "pep440",
  maven: "maven",
  golang: "go",
  gem: "gem",
  nuget: "nuget",
  composer: "composer",
  cargo: "cargo",
};

export function schemeFor(ecosystem: string): VersionScheme | undefined {
  const id = ECOSYSTEM_SCHEME[ecosystem] ?? ecosystem;
  return versionSchemes[id];
}
