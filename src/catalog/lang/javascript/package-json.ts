import type { Cataloger, CatalogFile, CatalogResult } from "../../types.js";
import { guarded, isObject, isValidNpmName, npmLicenses, npmPackage, str } from "./common.js";

const NM = "/node_modules/";
const MANIFEST = "/package.json";

/**
 * Whether `path` is the manifest of an installed package: `…/node_modules/<name>/package.json`
 * or `…/node_modules/@scope/<name>/package.json`. Deeper package.json files (`dist/esm/`
 * markers, test fixtures shipped inside packages) and package.json files outside node_modules
 * (the application itself) are not installed packages.
 */
export function isInstalledManifest(path: string): boolean {
  if (!path.endsWith(MANIFEST)) return false;
  const nm = path.lastIndexOf(NM);
  if (nm < 0) return false;
  const start = nm + NM.length;
  const end = path.length - MANIFEST.length;
  if (end <= start || path.charCodeAt(start) === 46 /* . : .bin, .pnpm, .cache */) return false;
  const slash = path.indexOf("/", start);
  if (slash < 0 || slash >= end) return true; // node_modules/<name>/package.json
  // node_modules/@scope/<name>/package.json: exactly one more level, under an @scope directory
  return (
    path.charCodeAt(start) === 64 &&
    slash > start + 1 &&
    path.indexOf("/", slash + 1) >= end &&
    end > slash + 1
  );
}

function parse(file: CatalogFile): CatalogResult {
  return guarded("invalid package.json", () => {
    const doc: unknown = JSON.parse(file.content.toString("utf8"));
    if (!isObject(doc)) return { packages: [], problems: ["package.json is not a JSON object"] };
    const name = str(doc.name);
    const version = str(doc.version);
    // Neither: a directory that is not a package (some tools drop bare package.json files).
    if (!name && !version) return { packages: [] };
    if (!name) return { packages: [], problems: ["package.json has a version but no name"] };
    if (!version) return { packages: [], problems: [`package.json of ${name} has no version`] };
    if (!isValidNpmName(name))
      return { packages: [], problems: [`invalid npm package name ${JSON.stringify(name)}`] };
    const licenses = npmLicenses(doc.license ?? doc.licenses);
    return { packages: [npmPackage(name, version, file.path, { licenses })] };
  });
}

/** Installed npm packages: the truth of what an image's node_modules trees contain. */
export const npmPackageJsonCataloger: Cataloger = {
  id: "npm-package-json",
  version: 1,
  ecosystem: "npm",
  matches: (path) => isInstalledManifest(path),
  parse,
};
