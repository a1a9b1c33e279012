import type { Distro, Package } from "../catalog/types.js";
import { normalizePackage } from "../vulndb/ecosystems.js";
import { debianEcosystem } from "../vulndb/importers/debian-releases.js";

/**
 * Which database entries a package is looked up under, and which version is compared.
 * Distro packages are keyed by their distro release and (for Debian/Ubuntu/Alpine/
 * AlmaLinux/Rocky) their source package, since the feeds describe source packages; rpm
 * distros whose OVAL names binary packages are looked up by the binary name too.
 * Language packages are keyed by purl type and a name normalized as the feeds spell it.
 */
export interface LookupKey {
  ecosystem: string;
  name: string;
  /** The version compared against that key's advisories. */
  version: string;
  /** Version scheme id. */
  scheme: string;
  /** rpm: the package's epoch, assumed for advisory versions written without one (AlmaLinux). */
  epoch?: number;
}

/** `ubuntu:22.04`, `debian:12`, `alpine:3.19`, `rhel:9`, … — the release key of a distro. */
export function distroKey(distro: Distro): string | null {
  const id = distro.id.toLowerCase();
  const v = distro.versionId ?? "";
  switch (id) {
    case "debian": {
      // Stable releases have VERSION_ID (12, 12.5 in old images); testing and unstable only a
      // codename (trixie), which the feeds key under the release number (debian:13).
      const major = /^\d+/.exec(v)?.[0];
      if (major) return `debian:${major}`;
      return (distro.codename && debianEcosystem(distro.codename)) || "debian:sid";
    }
    case "ubuntu":
      return `ubuntu:${v}`;
    case "alpine": {
      // Edge reports a pre-release VERSION_ID (3.21_alpha20240807): its advisories are edge's.
      const m = /^(\d+)\.(\d+)(?:\.\d+)*$/.exec(v);
      return m ? `alpine:${m[1]}.${m[2]}` : "alpine:edge";
    }
    case "wolfi":
    case "chainguard":
      return "wolfi";
    case "rhel":
    case "centos":
    case "almalinux":
    case "rocky":
    case "ol":
    case "amzn":
    case "fedora":
      return `${id}:${v.split(".")[0]}`;
    case "azurelinux":
    case "mariner":
      return `${id}:${v.split(".").slice(0, 2).join(".")}`;
    default:
      return v ? `${id}:${v}` : null;
  }
}

/** The rpm EVR of a package: `[epoch:]version-release` (the cataloger's version already is). */
function rpmVersion(p: Package): string {
  return p.version;
}

/** Lookup keys of one package; empty when it cannot be matched (no version, local code). */
export function lookupKeys(p: Package, distro: Distro | null): LookupKey[] {
  if (!p.version) return [];
  // Local crates and solution projects are the application's own code, not registry packages.
  if (p.metadata?.local === true || p.metadata?.project === true) return [];
  switch (p.ecosystem) {
    case "deb": {
      const eco = distro ? distroKey(distro) : null;
      if (!eco) return [];
      const keys: LookupKey[] = [
        {
          ecosystem: eco,
          name: p.sourceName ?? p.name,
          version: p.sourceVersion ?? p.version,
          scheme: "deb",
        },
      ];
      // Ubuntu OVAL names binary packages.
      if (p.sourceName && p.sourceName !== p.name)
        keys.push({ ecosystem: eco, name: p.name, version: p.version, scheme: "deb" });
      return keys;
    }
    case "apk": {
      const eco = distro ? distroKey(distro) : null;
      if (!eco) return [];
      return [{ ecosystem: eco, name: p.sourceName ?? p.name, version: p.version, scheme: "apk" }];
    }
    case "rpm": {
      const eco = distro ? distroKey(distro) : null;
      if (!eco) return [];
      const epoch = p.epoch;
      const keys: LookupKey[] = [
        { ecosystem: eco, name: p.name, version: rpmVersion(p), scheme: "rpm", epoch },
      ];
      if (p.sourceName && p.sourceName !== p.name) {
        keys.push({ ecosystem: eco, name: p.sourceName, version: rpmVersion(p), scheme: "rpm", epoch });
      }
      return keys;
    }
    case "pypi":
      return [
        { ecosystem: "pypi", name: normalizePackage("pypi", p.name), version: p.version, scheme: "pep440" },
      ];
    case "nuget":
      return [
        { ecosystem: "nuget", name: normalizePackage("nuget", p.name), version: p.version, scheme: "nuget" },
      ];
    case "golang": {
      // Go advisories use semver without the `v`. A version that is not one (a `devel`
      // toolchain) would compare as 0.0.0 and match every advisory: not matched.
      const version = p.version.replace(/^v/, "");
      if (!/^\d/.test(version)) return [];
      return [{ ecosystem: "golang", name: p.name, version, scheme: "go" }];
    }
    case "npm":
      return [{ ecosystem: "npm", name: p.name, version: p.version, scheme: "semver" }];
    case "maven":
      return [{ ecosystem: "maven", name: p.name, version: p.version, scheme: "maven" }];
    case "gem":
      return [{ ecosystem: "gem", name: p.name, version: p.version, scheme: "gem" }];
    case "cargo":
      return [{ ecosystem: "cargo", name: p.name, version: p.version, scheme: "cargo" }];
    case "composer":
      return [
        {
          ecosystem: "composer",
          name: normalizePackage("composer", p.name),
          version: p.version,
          scheme: "composer",
        },
      ];
    default:
      return [];
  }
}
