import { isInstalledMetadata, lockFamily, type LockFamily } from "../catalog/evidence.js";
import { isInstalledManifest } from "../catalog/lang/javascript/package-json.js";
import { normalizeName } from "../catalog/lang/python/common.js";
import { isInstalledMetadata as isPythonMetadata } from "../catalog/lang/python/installed.js";
import { isInstalledGemspec } from "../catalog/lang/ruby/gemspec.js";
import type { Package } from "../catalog/types.js";
import { gemScheme } from "../versions/gem-requirement.js";
import { pep440Scheme } from "../versions/pep440-specifiers.js";

/**
 * What an image's merged package list keeps, once every layer is stacked (docs/inventory.md,
 * "Installed packages, lock files and OS-owned files"):
 *
 * 1. A language package read from installed metadata (a Python `METADATA`/`PKG-INFO`, a gem
 *    specification, a `node_modules/<name>/package.json`) whose file an installed OS package
 *    owns (per dpkg's, rpm's or apk's file lists) is the OS package's software: it stays in the
 *    inventory with `metadata.ownedBy` (the OS package's name), and matching leaves it to the
 *    distro's advisories, which know the distro's backported fixes.
 * 2. A lock file is an application only where nothing is installed for its project: it is left
 *    out (listed in `skippedLockFiles` with the reason) when it lies inside an installed package
 *    or an OS package ships it, or when the packages it pins are installed (npm: the project's
 *    `node_modules`; Composer: its `vendor/composer/installed.json`; Python and Ruby, which
 *    install into shared environments: a package it pins installed at the same version by a
 *    package manager other than the OS's). Installed packages are then the truth; counting the
 *    lock file too would report every vulnerability twice.
 */

export interface SkippedLockFile {
  path: string;
  /** The layer the lock file comes from. */
  layer?: string;
  reason: string;
  /** How many packages it lists. */
  packages: number;
}

const OS_ECOSYSTEMS: ReadonlySet<string> = new Set(["deb", "rpm", "apk"]);

/** Directories that hold installed packages: a lock file below one belongs to a package. */
const PACKAGE_TREES = [
  "/node_modules/",
  "/site-packages/",
  "/dist-packages/",
  "/gems/",
  "/vendor/",
  "/pkg/mod/",
];

const dirOf = (path: string) => path.slice(0, path.lastIndexOf("/"));

function insidePackageTree(path: string): string | undefined {
  return PACKAGE_TREES.find((t) => path.includes(t));
}

/** Installed versions by name, for the families that install into shared environments. */
class Installed {
  private readonly byName = new Map<string, string[]>();
  constructor(
    private readonly key: (name: string) => string,
    private readonly same: (a: string, b: string) => boolean,
  ) {}
  add(p: Package): void {
    const k = this.key(p.name);
    const list = this.byName.get(k);
    if (list) list.push(p.version);
    else this.byName.set(k, [p.version]);
  }
  /** The first of `pins` installed at its version, if any. */
  find(pins: readonly Package[]): Package | undefined {
    return pins.find((p) => this.byName.get(this.key(p.name))?.some((v) => this.same(v, p.version)));
  }
}

/**
 * Applies the two rules above to a merged package list. `owned` gives, per OS database file
 * still in the image, the files its packages own; an owner that is not an installed package
 * (a leftover list) owns nothing.
 */
export function reconcileApplications(
  all: readonly Package[],
  owned: Iterable<readonly [string, string][]>,
): { packages: Package[]; skippedLockFiles: SkippedLockFile[] } {
  const osNames = new Set<string>();
  for (const p of all) if (OS_ECOSYSTEMS.has(p.ecosystem)) osNames.add(p.name);
  const ownerOf = new Map<string, string>();
  for (const list of owned)
    for (const [path, owner] of list) if (osNames.has(owner)) ownerOf.set(path, owner);

  // 1. OS-owned installed packages, and what is installed where (for rule 2).
  const npmProjects = new Set<string>();
  const composerProjects = new Set<string>();
  const python = new Installed(normalizeName, (a, b) => pep440Scheme.compare(a, b) === 0);
  const ruby = new Installed(
    (n) => n,
    (a, b) => gemScheme.compare(a, b) === 0,
  );
  const locks = new Map<string, Package[]>();
  const marked: Package[] = [];
  for (const p of all) {
    if (lockFamily(p.path) !== null) {
      const list = locks.get(p.path);
      if (list) list.push(p);
      else locks.set(p.path, [p]);
      continue;
    }
    const owner = ownerOf.get(p.path);
    if (owner !== undefined && !OS_ECOSYSTEMS.has(p.ecosystem) && isInstalledMetadata(p.path)) {
      marked.push({ ...p, metadata: { ...p.metadata, ownedBy: owner } });
      continue;
    }
    marked.push(p);
    if (p.ecosystem === "npm" && isInstalledManifest(p.path)) {
      npmProjects.add(p.path.slice(0, p.path.indexOf("/node_modules/")));
    } else if (p.ecosystem === "composer" && p.path.endsWith("/vendor/composer/installed.json")) {
      composerProjects.add(p.path.slice(0, -"/vendor/composer/installed.json".length));
    } else if (p.ecosystem === "pypi" && isPythonMetadata(p.path)) {
      python.add(p);
    } else if (
      p.ecosystem === "gem" &&
      isInstalledGemspec(p.path) &&
      !p.path.includes("/specifications/default/")
    ) {
      // Default gems come with Ruby itself: they say nothing of what bundler installed.
      ruby.add(p);
    }
  }

  // 2. Lock files.
  const skippedLockFiles: SkippedLockFile[] = [];
  const installedFor = (family: LockFamily, path: string, pins: Package[]): string | null => {
    const dir = dirOf(path);
    switch (family) {
      case "npm":
        return npmProjects.has(dir)
          ? `the packages installed in ${dir}/node_modules are counted instead`
          : null;
      case "composer":
        return composerProjects.has(dir)
          ? `the packages of ${dir}/vendor/composer/installed.json are counted instead`
          : null;
      case "python":
      case "ruby": {
        const hit = (family === "python" ? python : ruby).find(pins);
        return hit
          ? `its packages are installed (${hit.name} ${hit.version} among them): the installed ones are counted instead`
          : null;
      }
    }
  };
  const packages = marked; // the lock files counted are appended
  for (const [path, pins] of locks) {
    const family = lockFamily(path)!;
    const tree = insidePackageTree(dirOf(path) + "/");
    const owner = ownerOf.get(path);
    const reason =
      owner !== undefined
        ? `shipped by the OS package ${owner}, not an application`
        : tree !== undefined
          ? `inside an installed package (${tree.slice(1, -1)}), not an application`
          : installedFor(family, path, pins);
    if (reason === null) {
      packages.push(...pins);
      continue;
    }
    skippedLockFiles.push({
      path,
      ...(pins[0]?.layer ? { layer: pins[0].layer } : {}),
      reason,
      packages: pins.length,
    });
  }
  skippedLockFiles.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { packages, skippedLockFiles };
}
