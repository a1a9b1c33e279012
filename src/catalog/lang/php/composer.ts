import { purl } from "../../purl.js";
import type { Cataloger, CatalogFile, CatalogResult, Package } from "../../types.js";

/**
 * PHP Composer: an application's composer.lock (`packages`, `packages-dev`) and what Composer
 * installed, vendor/composer/installed.json (Composer 1: an array; Composer 2:
 * `{packages: [...], dev-package-names: [...]}`).
 */

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * composer.json `license`: an array of SPDX ids or one string, where "A or B" (older packages)
 * lists alternatives.
 */
export function composerLicenses(value: unknown): string[] | undefined {
  const raw = Array.isArray(value) ? value : [value];
  const out = raw
    .filter((v): v is string => typeof v === "string")
    .flatMap((v) => v.replace(/^\(|\)$/g, "").split(/\s+(?:or|and)\s+/i))
    .map((v) => v.trim())
    .filter((v) => v !== "");
  return out.length ? out : undefined;
}

function composerPackage(entry: unknown, path: string, dev: boolean): Package | undefined {
  if (!isObject(entry)) return undefined;
  const name = typeof entry.name === "string" ? entry.name : "";
  const version = typeof entry.version === "string" ? entry.version : "";
  const slash = name.indexOf("/");
  if (slash <= 0 || slash === name.length - 1 || !version) return undefined;
  const p: Package = {
    name,
    version,
    ecosystem: "composer",
    purl: purl({ type: "composer", namespace: name.slice(0, slash), name: name.slice(slash + 1), version }),
    path,
  };
  const licenses = composerLicenses(entry.license);
  if (licenses) p.licenses = licenses;
  if (dev) p.dev = true;
  return p;
}

function errorText(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.length > 200 ? msg.slice(0, 200) + "…" : msg;
}

function readJson(file: CatalogFile): { doc?: unknown; problem?: string } {
  try {
    return { doc: JSON.parse(file.content.toString("utf8")) };
  } catch (e) {
    return { problem: `invalid JSON: ${errorText(e)}` };
  }
}

function collect(entries: unknown[], path: string, isDev: (name: unknown) => boolean): CatalogResult {
  const packages: Package[] = [];
  let skipped = 0;
  for (const e of entries) {
    const p = composerPackage(e, path, isObject(e) && isDev(e.name));
    if (p) packages.push(p);
    else skipped++;
  }
  return {
    packages,
    problems: skipped ? [`${skipped} entries without a vendor/name and version`] : undefined,
  };
}

function parseLock(file: CatalogFile): CatalogResult {
  const { doc, problem } = readJson(file);
  if (problem) return { packages: [], problems: [problem] };
  if (!isObject(doc) || (!Array.isArray(doc.packages) && !Array.isArray(doc["packages-dev"])))
    return { packages: [], problems: ["composer.lock has no packages list"] };
  const prod = Array.isArray(doc.packages) ? doc.packages : [];
  const dev = Array.isArray(doc["packages-dev"]) ? doc["packages-dev"] : [];
  const devNames = new Set(dev.map((e) => (isObject(e) ? e.name : undefined)));
  return collect([...prod, ...dev], file.path, (name) => devNames.has(name));
}

function parseInstalled(file: CatalogFile): CatalogResult {
  const { doc, problem } = readJson(file);
  if (problem) return { packages: [], problems: [problem] };
  if (Array.isArray(doc)) return collect(doc, file.path, () => false);
  if (isObject(doc) && Array.isArray(doc.packages)) {
    const devNames = new Set(Array.isArray(doc["dev-package-names"]) ? doc["dev-package-names"] : []);
    return collect(doc.packages, file.path, (name) => devNames.has(name));
  }
  return { packages: [], problems: ["installed.json is neither a package array nor {packages: [...]}"] };
}

export const composerLockCataloger: Cataloger = {
  id: "composer-lock",
  version: 1,
  ecosystem: "composer",
  // composer.lock files inside vendor/ belong to the installed packages' own projects
  matches: (path) => path.endsWith("/composer.lock") && !path.includes("/vendor/"),
  parse: parseLock,
};

export const composerInstalledCataloger: Cataloger = {
  id: "composer-installed",
  version: 1,
  ecosystem: "composer",
  matches: (path) => path.endsWith("/vendor/composer/installed.json"),
  parse: parseInstalled,
};

/** PHP catalogers: what Composer installed first, then an application's lock file. */
export const phpCatalogers: readonly Cataloger[] = [composerInstalledCataloger, composerLockCataloger];
