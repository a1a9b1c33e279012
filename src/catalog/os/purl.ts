import { purl } from "../purl.js";
import type { Distro, Package } from "../types.js";

/**
 * Package URLs of OS packages. The distro is known only once all layers are merged, so the
 * catalogers call `osPurl(pkg, null)` (no namespace, no distro qualifier) and the image analysis
 * calls `osPurl(pkg, distro)` again after merging. This is the one place that knows the shape:
 *
 *   deb: pkg:deb/<distro id>/<name>@<[epoch:]version>?arch=..&distro=<id>-<version>&upstream=<src>[@<srcver>]
 *   apk: pkg:apk/<distro id>/<name>@<version>?arch=..&distro=..&upstream=<origin>
 *   rpm: pkg:rpm/<distro id>/<name>@<version-release>?arch=..&distro=..&epoch=N&upstream=<source rpm file>
 *
 * The namespace is the os-release ID (debian, ubuntu, alpine, wolfi, rhel, rocky, amzn, ...), the
 * same string matchers key on. `upstream` follows syft's convention: a deb/apk package built
 * from a source of another name or version names it; an rpm names its source rpm file.
 */
export function osPurl(pkg: Package, distro: Distro | null): string {
  const qualifiers: Record<string, string | undefined> = { arch: pkg.arch };
  if (distro) qualifiers.distro = distroQualifier(distro);
  let version = pkg.version;
  switch (pkg.ecosystem) {
    case "rpm": {
      // purl-spec: the epoch is a qualifier for rpm, the version is version-release.
      if (pkg.epoch !== undefined) {
        qualifiers.epoch = String(pkg.epoch);
        version = stripEpoch(version);
      }
      const src = pkg.metadata?.sourceRpm;
      if (typeof src === "string") qualifiers.upstream = src;
      break;
    }
    case "deb":
    case "apk":
      qualifiers.upstream = upstream(pkg);
      break;
    default:
      // Not an OS package: its cataloger's purl stands.
      return pkg.purl;
  }
  return purl({ type: pkg.ecosystem, namespace: distro?.id, name: pkg.name, version, qualifiers });
}

/** `debian-12`, `ubuntu-22.04`, `alpine-3.19.1`; the codename when there is no version (sid). */
export function distroQualifier(d: Distro): string {
  const v = d.versionId || d.codename;
  return v ? `${d.id}-${v}` : d.id;
}

function stripEpoch(v: string): string {
  const i = v.indexOf(":");
  return i > 0 && /^\d+$/.test(v.slice(0, i)) ? v.slice(i + 1) : v;
}

function upstream(pkg: Package): string | undefined {
  const { sourceName, sourceVersion } = pkg;
  if (!sourceName) return undefined;
  const otherVersion = sourceVersion !== undefined && sourceVersion !== pkg.version;
  if (sourceName === pkg.name && !otherVersion) return undefined;
  return otherVersion ? `${sourceName}@${sourceVersion}` : sourceName;
}
