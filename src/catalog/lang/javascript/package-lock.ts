import type { Cataloger, CatalogFile, CatalogResult, Package } from "../../types.js";
import { dedupe, guarded, hasProtocol, isObject, npmLicenses, npmPackage, str } from "./common.js";

const NM = "node_modules/";

/**
 * npm lock files (package-lock.json v1/v2/v3, npm-shrinkwrap.json) of an application. Lock
 * files inside node_modules (npm's hidden `.package-lock.json`, lock files shipped inside
 * packages) are ignored: the installed package.json files are the truth there.
 */
export function isNpmLock(path: string): boolean {
  return (
    (path.endsWith("/package-lock.json") || path.endsWith("/npm-shrinkwrap.json")) &&
    !path.includes("/node_modules/")
  );
}

/**
 * v2/v3 `packages`: keyed by install location. The root ("") is the application itself and is
 * not reported; keys outside node_modules are workspace sources, reported through the
 * `node_modules/<name>` link that points at them (under the link's name).
 */
function fromPackages(packages: Record<string, unknown>, path: string): Package[] {
  const out: Package[] = [];
  for (const [key, value] of Object.entries(packages)) {
    const nm = key.lastIndexOf(NM);
    if (nm < 0 || !isObject(value)) continue;
    let entry = value;
    if (value.link === true) {
      const resolved = str(value.resolved);
      const target = resolved === undefined ? undefined : packages[resolved];
      if (!isObject(target)) continue; // a broken link installs nothing
      entry = target;
    }
    const version = str(entry.version);
    if (!version) continue; // nothing to match on (e.g. a workspace without a version)
    // An alias (`"foo": "npm:bar@1"`) is installed under node_modules/foo but is bar.
    const name = (value.link !== true && str(value.name)) || key.slice(nm + NM.length);
    out.push(
      npmPackage(name, version, path, { licenses: npmLicenses(entry.license), dev: value.dev === true }),
    );
  }
  return out;
}

/**
 * v1 `dependencies`: a tree (nested `dependencies` are nested node_modules). What is nested
 * under a development-only package is installed only for it, so it is development-only too.
 */
function fromDependencies(deps: Record<string, unknown>, path: string, out: Package[]): void {
  // Iterative: a hostile lock file can nest deeper than the stack.
  const stack: [Record<string, unknown>, boolean][] = [[deps, false]];
  while (stack.length) {
    const [level, parentDev] = stack.pop()!;
    for (const [key, value] of Object.entries(level)) {
      if (!isObject(value)) continue;
      const dev = parentDev || value.dev === true;
      if (isObject(value.dependencies)) stack.push([value.dependencies, dev]);
      // some writers key entries by install path
      let name = key.includes(NM) ? key.slice(key.lastIndexOf(NM) + NM.length) : key;
      let version = str(value.version);
      if (!version) continue;
      if (version.startsWith("npm:")) {
        // alias: "version": "npm:real-name@1.2.3"
        const at = version.lastIndexOf("@");
        if (at <= 4) continue;
        name = version.slice(4, at);
        version = version.slice(at + 1);
      } else if (hasProtocol(version)) continue; // git, file, http tarballs: no registry version
      out.push(npmPackage(name, version, path, { dev }));
    }
  }
}

function parse(file: CatalogFile): CatalogResult {
  return guarded("invalid package-lock.json", () => {
    const doc: unknown = JSON.parse(file.content.toString("utf8"));
    if (!isObject(doc)) return { packages: [], problems: ["package-lock.json is not a JSON object"] };
    const out: Package[] = [];
    // v2 carries both sections; `packages` is the complete one.
    if (isObject(doc.packages)) out.push(...fromPackages(doc.packages, file.path));
    else if (isObject(doc.dependencies)) fromDependencies(doc.dependencies, file.path, out);
    else if (doc.lockfileVersion === undefined)
      return {
        packages: [],
        problems: ["not an npm lock file: no lockfileVersion, packages or dependencies"],
      };
    return { packages: dedupe(out) };
  });
}

export const npmPackageLockCataloger: Cataloger = {
  id: "npm-package-lock",
  version: 1,
  ecosystem: "npm",
  matches: (path) => isNpmLock(path),
  parse,
};
