import type { VersionScheme } from "./types.js";

/**
 * Every version scheme, in one explicit list. Keys are scheme ids; `schemeFor` maps package
 * ecosystems (purl types) and advisory ecosystems onto them.
 */
export const versionSchemes: Readonly<Record<string, VersionScheme>> = {};

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
