import type { Distro, Package } from "../catalog/types.js";
import type { ImageInventory } from "../image/types.js";
import type { Finding } from "../findings/finding.js";
import { compareStrings } from "../core/compare.js";

/**
 * What both exporters share: the document order of packages, their unique references, and the
 * `drydock:...` properties (CycloneDX property taxonomy style: lower-case namespaces separated
 * by `:`). SPDX carries the same names in annotations, so one vocabulary serves both formats.
 */

export interface SbomOptions {
  /** Creation time (CycloneDX metadata.timestamp, SPDX creationInfo.created). Default: now. */
  now?: Date;
  /** The document's UUID (CycloneDX serialNumber, SPDX documentNamespace). Default: random. */
  uuid?: string;
  /** Drydock version named as the creating tool. Default: package.json's. */
  toolVersion?: string;
  /** Findings to include as CycloneDX `vulnerabilities` (drydock scan --format cyclonedx-json). */
  vulnerabilities?: readonly Finding[];
  /** CycloneDX version written: 1.6 (the default) or 1.4 (what Inspector2's SBOM exports are). */
  cyclonedxVersion?: "1.4" | "1.6";
  /** Extra document-level properties (CycloneDX metadata.properties), after Drydock's own. */
  metadataProperties?: readonly Property[];
}

export type Property = readonly [name: string, value: string];

export const PROP = {
  layerDiffID: "drydock:layer:diffID",
  path: "drydock:location:path",
  archivePath: "drydock:location:archivePath",
  sourceName: "drydock:package:sourceName",
  sourceVersion: "drydock:package:sourceVersion",
  arch: "drydock:package:arch",
  epoch: "drydock:package:epoch",
  release: "drydock:package:release",
  development: "drydock:package:development",
  metadataPrefix: "drydock:metadata:",
  imageConfigDigest: "drydock:image:configDigest",
  imageMediaType: "drydock:image:mediaType",
  imageOs: "drydock:image:os",
  imageArchitecture: "drydock:image:architecture",
  imageVariant: "drydock:image:variant",
  /** Followed by `<index>:diffID` / `<index>:digest`, index 0 = bottom layer. */
  imageLayerPrefix: "drydock:image:layer:",
  distroCodename: "drydock:distro:codename",
  distroIdLike: "drydock:distro:idLike",
  problem: "drydock:problem",
} as const;

/** Where a package was read: the file, plus `!inner/path` for packages inside archives. */
export function packageLocation(pkg: Package): string {
  return pkg.archivePath ? `${pkg.path}!${pkg.archivePath}` : pkg.path;
}

/** Taxonomy names allow only ALPHA / DIGIT / "-" / "_" / " "; cataloger keys may not comply. */
function propertyNameSegment(key: string): string {
  return key.replace(/[^A-Za-z0-9_ -]/g, "_") || "_";
}

/** The drydock properties of a package, in a fixed order. */
export function packageProperties(pkg: Package): Property[] {
  const props: Property[] = [];
  const add = (name: string, value: string | number | undefined) => {
    if (value !== undefined && value !== "") props.push([name, String(value)]);
  };
  add(PROP.layerDiffID, pkg.layer);
  add(PROP.path, pkg.path);
  add(PROP.archivePath, pkg.archivePath);
  add(PROP.sourceName, pkg.sourceName);
  add(PROP.sourceVersion, pkg.sourceVersion);
  add(PROP.arch, pkg.arch);
  add(PROP.epoch, pkg.epoch);
  add(PROP.release, pkg.release);
  if (pkg.dev) add(PROP.development, "true");
  for (const key of Object.keys(pkg.metadata ?? {}).sort(compareStrings)) {
    const value = pkg.metadata![key]!;
    const name = PROP.metadataPrefix + propertyNameSegment(key);
    // Arrays become repeated properties: CycloneDX allows a name to appear more than once.
    for (const v of Array.isArray(value) ? value : [value]) add(name, v === "" ? undefined : String(v));
  }
  return props;
}

export function imageProperties(image: ImageInventory["image"]): Property[] {
  const props: Property[] = [
    [PROP.imageConfigDigest, image.configDigest],
    [PROP.imageMediaType, image.mediaType],
    [PROP.imageOs, image.platform.os],
    [PROP.imageArchitecture, image.platform.architecture],
  ];
  if (image.platform.variant) props.push([PROP.imageVariant, image.platform.variant]);
  image.layers.forEach((layer, i) => {
    props.push([`${PROP.imageLayerPrefix}${i}:diffID`, layer.diffID]);
    props.push([`${PROP.imageLayerPrefix}${i}:digest`, layer.digest]);
  });
  return props;
}

export function distroProperties(distro: Distro): Property[] {
  const props: Property[] = [];
  if (distro.codename) props.push([PROP.distroCodename, distro.codename]);
  for (const like of distro.idLike ?? []) props.push([PROP.distroIdLike, like]);
  return props;
}

/** One line per problem, so that a reader of the SBOM knows which files were not inventoried. */
export function problemProperties(inv: ImageInventory): Property[] {
  return inv.problems.map((p): Property => [
    PROP.problem,
    `${p.source}: ${p.path}${p.layer ? ` (layer ${p.layer})` : ""}: ${p.reason}`,
  ]);
}

export interface PackageEntry {
  pkg: Package;
  /** `path` or `path!archivePath`. */
  location: string;
  /**
   * Unique in the document: the purl when only one package has it, else `purl|location`
   * (and `|2`, `|3`... if even that repeats, e.g. a lock file listing a package twice).
   */
  ref: string;
}

/**
 * Packages in document order (purl, location, layer, then the rest) with unique refs. The
 * order does not depend on the order the catalogers reported packages in, so the same
 * inventory always gives the same document.
 */
export function packageEntries(packages: readonly Package[]): PackageEntry[] {
  const keyed = packages.map((pkg) => ({
    pkg,
    location: packageLocation(pkg),
    sortKey: [pkg.purl, packageLocation(pkg), pkg.layer ?? "", pkg.name, pkg.version, JSON.stringify(pkg)],
  }));
  keyed.sort((a, b) => {
    for (let i = 0; i < a.sortKey.length; i++) {
      const c = compareStrings(a.sortKey[i]!, b.sortKey[i]!);
      if (c !== 0) return c;
    }
    return 0;
  });

  const purlCount = new Map<string, number>();
  for (const { pkg } of keyed) purlCount.set(pkg.purl, (purlCount.get(pkg.purl) ?? 0) + 1);

  const used = new Set<string>();
  return keyed.map(({ pkg, location }) => {
    const base = purlCount.get(pkg.purl) === 1 ? pkg.purl : `${pkg.purl}|${location}`;
    let ref = base;
    for (let n = 2; used.has(ref); n++) ref = `${base}|${n}`;
    used.add(ref);
    return { pkg, location, ref };
  });
}
