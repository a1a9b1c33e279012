import type { CatalogFile, CatalogResult, Cataloger, Package } from "../../types.js";
import { nugetPackage } from "./package.js";

/**
 * NuGet's packages.lock.json: `dependencies[<target framework>][<Name>] = {type, resolved}`.
 * Every Direct, Transitive and CentralTransitive entry is a package at its resolved version,
 * once per name and version across frameworks; `Project` entries are the solution's own
 * projects and are not packages.
 */

interface LockEntry {
  type?: unknown;
  resolved?: unknown;
}

export function catalogPackagesLock(file: Pick<CatalogFile, "path" | "content">): CatalogResult {
  let doc: { dependencies?: Record<string, Record<string, LockEntry | null> | null> };
  try {
    doc = JSON.parse(file.content.toString("utf8")) as typeof doc;
  } catch (e) {
    return { packages: [], problems: [`not valid JSON: ${(e as Error).message}`] };
  }
  if (!doc || typeof doc !== "object" || typeof doc.dependencies !== "object" || !doc.dependencies)
    return { packages: [], problems: ["no dependencies object"] };
  const packages: Package[] = [];
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const [framework, deps] of Object.entries(doc.dependencies)) {
    for (const [name, entry] of Object.entries(deps ?? {})) {
      if (entry?.type === "Project") continue;
      if (typeof entry?.resolved !== "string" || !entry.resolved) {
        problems.push(`${framework}: ${name} has no resolved version`);
        continue;
      }
      const key = `${name}@${entry.resolved}`;
      if (seen.has(key)) continue;
      seen.add(key);
      packages.push(nugetPackage(name, entry.resolved, file.path));
    }
  }
  return problems.length ? { packages, problems } : { packages };
}

export const nugetLockCataloger: Cataloger = {
  id: "nuget-packages-lock",
  version: 1,
  ecosystem: "nuget",
  matches: (path) => path.endsWith("/packages.lock.json"),
  parse: (file) => catalogPackagesLock(file),
};
