import { isInstalledManifest } from "./lang/javascript/package-json.js";
import { isInstalledMetadata as isPythonMetadata } from "./lang/python/installed.js";
import { isInstalledGemspec } from "./lang/ruby/gemspec.js";

/**
 * What kind of evidence a language package was read from, by the path of the file: the
 * metadata a package manager wrote when it installed a package, or a lock file (a pin list)
 * in which an application declares what it wants installed. The image analysis uses it to
 * decide which packages are matched (docs/inventory.md, "Installed packages, lock files and
 * OS-owned files"), and the OS catalogers to keep, of the files their packages own, only the
 * ones that can be such evidence.
 */

/**
 * Installed-package metadata of the interpreted ecosystems: a Python distribution's
 * `METADATA`/`PKG-INFO`/`.egg-info`, a gem specification, a `node_modules/<name>/package.json`.
 * A package read from one of them *is* the files beside it: when an OS package owns that file,
 * the OS package installed it.
 */
export function isInstalledMetadata(path: string): boolean {
  return isPythonMetadata(path) || isInstalledGemspec(path) || isInstalledManifest(path);
}

/** The application lock-file families whose installed counterpart the image analysis can see. */
export type LockFamily = "npm" | "python" | "ruby" | "composer";

const LOCK_FILES: ReadonlyMap<string, LockFamily> = new Map([
  ["package-lock.json", "npm"],
  ["npm-shrinkwrap.json", "npm"],
  ["yarn.lock", "npm"],
  ["pnpm-lock.yaml", "npm"],
  ["requirements.txt", "python"],
  ["Pipfile.lock", "python"],
  ["poetry.lock", "python"],
  ["uv.lock", "python"],
  ["Gemfile.lock", "ruby"],
  ["gems.locked", "ruby"],
  ["composer.lock", "composer"],
]);

const basename = (path: string) => path.slice(path.lastIndexOf("/") + 1);

/**
 * The family of a lock file (by its name), or null. Other declared-dependency files
 * (Cargo.lock, go.mod, packages.lock.json, packages.config) have no installed counterpart that
 * the analysis can tie to them (compiled programs), and stay counted.
 */
export function lockFamily(path: string): LockFamily | null {
  return LOCK_FILES.get(basename(path)) ?? null;
}

/**
 * A cheap first test on a file name, for OS databases that list every file of every package
 * (hundreds of thousands of names): false means the path can be neither installed metadata
 * nor a lock file.
 */
export function mayBeEvidenceName(name: string): boolean {
  return (
    name === "METADATA" ||
    name === "PKG-INFO" ||
    name === "package.json" ||
    name.endsWith(".gemspec") ||
    name.endsWith(".egg-info") ||
    name.endsWith(".EGG-INFO") ||
    LOCK_FILES.has(name)
  );
}

/**
 * Whether an OS package owning `path` matters to the image analysis: the path is installed
 * metadata or a lock file. The OS catalogers record ownership of these paths only, which keeps
 * what each layer stores small (tens of paths in an image with Python, not the 10,000 files
 * of its packages).
 */
export function isOwnershipRelevant(path: string): boolean {
  return mayBeEvidenceName(basename(path)) && (isInstalledMetadata(path) || lockFamily(path) !== null);
}
