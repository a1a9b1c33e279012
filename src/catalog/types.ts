/**
 * The package inventory model and the Cataloger contract.
 *
 * A cataloger reads one kind of file (a dpkg status database, a package.json under
 * node_modules, a jar, a Go binary, ...) and reports the packages it declares. Catalogers are
 * pure: bytes in, packages out. They never touch storage, the network or the filesystem
 * outside the file they are given, so the same code runs over a layer stream, an unpacked
 * directory or a test fixture. They are listed in one file, ./registry.ts.
 */

/** Package types, named as purl types. */
export type Ecosystem =
  "deb" | "apk" | "rpm" | "npm" | "pypi" | "maven" | "golang" | "gem" | "cargo" | "nuget" | "composer";

export interface Package {
  name: string;
  version: string;
  ecosystem: Ecosystem;
  /** Package URL (https://github.com/package-url/purl-spec); OS purls get their distro qualifier at merge time. */
  purl: string;
  /** diffID of the layer that introduced the package (filled in by the image analysis). */
  layer?: string;
  /** Absolute path, inside the image, of the file the package was read from. */
  path: string;
  /** For packages inside archives (nested jars): the path inside the outer file, `!`-separated. */
  archivePath?: string;
  licenses?: string[];
  /** OS packages: the source package (what distro advisories are keyed on). */
  sourceName?: string;
  sourceVersion?: string;
  arch?: string;
  epoch?: number;
  /** rpm release. */
  release?: string;
  /** rpm modularity label, apk origin etc. live here when there is no dedicated field. */
  metadata?: Record<string, string | number | boolean | string[]>;
  /** npm/yarn/pnpm lock files: a development-only dependency. */
  dev?: boolean;
}

/** A file a cataloger could not read: recorded, never thrown, never silently skipped. */
export interface Problem {
  path: string;
  /** Cataloger id, or "image" for problems of the image itself (bad layer, limits). */
  source: string;
  reason: string;
  layer?: string;
}

/** What a cataloger reports for one file. */
export interface CatalogResult {
  packages: Package[];
  /** Reasons this file (or part of it) could not be read; the path is the file's. */
  problems?: string[];
  /**
   * OS package databases only: files the packages of this database install, as [absolute path,
   * owning package name], limited to the paths that can be evidence of a language package
   * (evidence.ts isOwnershipRelevant). The image analysis uses them to tell the language
   * packages an OS package installed (docs/inventory.md).
   */
  owned?: [path: string, owner: string][];
}

/** One file handed to a cataloger. */
export interface CatalogFile {
  /** Absolute, normalized path inside the image root: `/var/lib/dpkg/status`. */
  path: string;
  size: number;
  /** Permission bits (for "is it executable" decisions). */
  mode: number;
  /**
   * The whole content; files over the configured limit are not handed over (a Problem is
   * recorded). Valid only until `parse` settles: the image analysis reuses the memory for the
   * next file, so a cataloger copies (or decodes to strings) whatever it keeps.
   */
  content: Buffer;
}

export interface CatalogContext {
  /** Largest nested archive read into memory (jars in jars). */
  maxNestedArchiveBytes: number;
}

export interface Cataloger {
  /** Stable id, e.g. "dpkg-status". */
  readonly id: string;
  /**
   * Bump when the output for the same input changes: it is part of the per-layer
   * inventory cache key, so a new version re-reads layers.
   */
  readonly version: number;
  readonly ecosystem: Ecosystem;
  /**
   * Whether this cataloger wants the file at `path` (absolute, normalized). Called for every
   * file of every layer: must be cheap (string tests, no regex backtracking on long paths).
   * `mode` lets binary catalogers ask only for executables.
   */
  matches(path: string, mode: number): boolean;
  parse(file: CatalogFile, ctx: CatalogContext): Promise<CatalogResult> | CatalogResult;
}

/** The distribution an image is built on, from os-release and its fallbacks. */
export interface Distro {
  /** os-release ID: debian, ubuntu, alpine, rhel, rocky, almalinux, amzn, ... */
  id: string;
  /** os-release VERSION_ID: 12, 22.04, 3.19.1, 9.3 */
  versionId: string;
  /** VERSION_CODENAME where known: bookworm, jammy. */
  codename?: string;
  /** ID_LIKE, for family decisions (rhel fedora, debian). */
  idLike?: string[];
  prettyName?: string;
}

/** Reads distro identity from one file; listed in ./registry.ts beside the catalogers. */
export interface DistroDetector {
  readonly id: string;
  readonly version: number;
  /** Absolute paths this detector reads, in order of preference. */
  readonly paths: readonly string[];
  /** `content` is valid only during the call (see CatalogFile.content). */
  parse(path: string, content: Buffer): Distro | null;
}
