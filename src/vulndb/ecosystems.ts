import { isCve } from "../core/cve.js";
import type { Advisory, EcosystemKey } from "./types.js";

/**
 * Ecosystem keys and package names as the database stores and looks them up. Language
 * ecosystems are purl types; distro releases are `<os-release ID>:<release>`. Normalizing
 * names here, on both the write and the read side, means a matcher asking for `Django` in
 * pypi finds advisories published for `django`, whichever importer wrote them.
 */

/** OSV ecosystem names (without release suffix) → purl type / os-release ID. */
const OSV_ECOSYSTEMS: Readonly<Record<string, string>> = {
  Go: "golang",
  PyPI: "pypi",
  "crates.io": "cargo",
  npm: "npm",
  Maven: "maven",
  NuGet: "nuget",
  RubyGems: "gem",
  Packagist: "composer",
  Pub: "pub",
  Hex: "hex",
  SwiftURL: "swift",
  Hackage: "hackage",
  CRAN: "cran",
  Bitnami: "bitnami",
  AlmaLinux: "almalinux",
  "Rocky Linux": "rocky",
  "Red Hat": "rhel",
  Debian: "debian",
  Ubuntu: "ubuntu",
  Alpine: "alpine",
  Wolfi: "wolfi",
  Chainguard: "chainguard",
  "Photon OS": "photon",
  "Azure Linux": "azurelinux",
  Mageia: "mageia",
  openSUSE: "opensuse",
  SUSE: "sles",
  openEuler: "openeuler",
};

/**
 * Maps an OSV `package.ecosystem` to an ecosystem key: `Go` → `golang`, `AlmaLinux:9` →
 * `almalinux:9`, `Alpine:v3.19` → `alpine:3.19`, `Ubuntu:22.04:LTS` and
 * `Ubuntu:Pro:16.04:LTS` → `ubuntu:22.04` / `ubuntu:16.04` (Pro only decides where the fixed
 * version is published; an image without Pro is just as affected), `Debian:12` → `debian:12`,
 * `Red Hat:enterprise_linux:9::baseos` → `rhel:9`.
 * Unknown ecosystems are lowercased with spaces turned into dashes, so they are stored and
 * findable rather than dropped.
 */
export function osvEcosystemKey(ecosystem: string): EcosystemKey {
  const colon = ecosystem.indexOf(":");
  const base = colon < 0 ? ecosystem : ecosystem.slice(0, colon);
  const suffix = colon < 0 ? "" : ecosystem.slice(colon + 1);
  const key = OSV_ECOSYSTEMS[base] ?? base.toLowerCase().replace(/\s+/g, "-");
  if (!suffix) return key;
  let release = suffix;
  if (key === "ubuntu") {
    release = suffix
      .split(":")
      .filter((p) => p !== "Pro" && p !== "LTS" && p !== "FIPS" && !p.startsWith("FIPS"))
      .join(":");
  } else if (key === "alpine") {
    release = suffix.replace(/^v/, "");
  } else if (key === "rhel") {
    // Red Hat's OSV names a CPE-derived stream: `enterprise_linux:9::baseos`. The base
    // product's streams (baseos, appstream, …) are what an image of RHEL 9 installs from:
    // `rhel:9`, as distroKey names it. Extended-support products (`rhel_eus:9.2::baseos`)
    // publish other fixed versions and keep a key of their own.
    const m = /^enterprise_linux:(\d+)(?::|$)/.exec(suffix);
    if (m) release = m[1]!;
  }
  return release ? `${key}:${release.toLowerCase()}` : key;
}

/** PEP 503: lowercase, runs of `-`, `_`, `.` become one `-`. */
export function pep503(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, "-");
}

/** The lookup form of a package name in an ecosystem (idempotent). */
export function normalizePackage(ecosystem: EcosystemKey, name: string): string {
  const colon = ecosystem.indexOf(":");
  const type = colon < 0 ? ecosystem : ecosystem.slice(0, colon);
  switch (type) {
    case "pypi":
      return pep503(name);
    case "nuget":
      return name.toLowerCase();
    default:
      return name;
  }
}

/** Lowercase, no surrounding spaces: how ecosystem keys are stored. */
export function normalizeEcosystem(ecosystem: EcosystemKey): EcosystemKey {
  return ecosystem.trim().toLowerCase();
}

/** core/cve.ts's, for the importers that take it from here. */
export { isCve };

/**
 * The CVE ids an advisory is about, for enrichment lookups: its id, aliases and upstream, and
 * the CVEs in `related` (AlmaLinux and other distro feeds list the CVEs an erratum fixes
 * there rather than as aliases).
 */
export function cvesOf(a: Advisory): string[] {
  const out = new Set<string>();
  for (const id of [a.id, ...a.aliases, ...(a.upstream ?? []), ...(a.related ?? [])]) {
    if (isCve(id)) out.add(id);
  }
  return [...out];
}
