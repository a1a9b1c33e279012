import { purl } from "../../purl.js";
import type { Package } from "../../types.js";

/**
 * Go packages as Drydock reports them, from binaries and go.mod alike:
 *
 * - modules by module path, with their Go version (`v1.2.3`, pseudo-versions kept as they are);
 *   purl pkg:golang/<module path>@<version> (the path's last element is the purl name);
 * - the toolchain a binary was built with as the `stdlib` pseudo-module, the name the Go
 *   vulnerability database (OSV) uses; its version in the same `v`-prefixed semver form as every
 *   other Go module version (trivy's choice; syft keeps `go1.x.y` as the version and strips the
 *   prefix in the purl): `go1.22.1` → `v1.22.1`, `go1.21rc2` → `v1.21.0-rc.2`, `go1.20` →
 *   `v1.20.0`. The raw toolchain string stays in metadata.goVersion;
 * - an empty version when none is known (`(devel)` main modules, local replacements): the
 *   module is part of the build, and an empty version never matches an advisory by accident.
 */

export function goPackage(
  path: string,
  version: string,
  file: string,
  metadata?: Record<string, string | boolean>,
): Package {
  const slash = path.lastIndexOf("/");
  const pkg: Package = {
    name: path,
    version,
    ecosystem: "golang",
    purl: purl({
      type: "golang",
      namespace: slash > 0 ? path.slice(0, slash) : undefined,
      name: path.slice(slash + 1),
      version: version || undefined,
    }),
    path: file,
  };
  if (metadata && Object.keys(metadata).length) pkg.metadata = metadata;
  return pkg;
}

/** `go1.22.1 X:boringcrypto` → `v1.22.1`; undefined for development toolchains (`devel ...`). */
export function stdlibVersion(goVersion: string): string | undefined {
  const token = goVersion.trim().split(/\s+/)[0] ?? "";
  const m = /^go(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:(rc|beta|alpha)(\d+))?$/.exec(token);
  if (!m) return undefined;
  const pre = m[4] ? `-${m[4]}.${m[5]}` : "";
  return `v${m[1]}.${m[2] ?? 0}.${m[3] ?? 0}${pre}`;
}

/** A replacement by a directory (`./x`, `../x`, `/x`) rather than by another module version. */
export function isLocalReplacement(path: string, version: string | undefined): boolean {
  return !version || version === "(devel)" || /^(\.\.?(\/|\\|$)|\/|[A-Za-z]:[\\/])/.test(path);
}
