import type { CatalogFile, CatalogResult, Cataloger, Package } from "../../types.js";
import { nugetPackage } from "./package.js";
import { childrenNamed, parseXml } from "../xml.js";

/**
 * packages.config (NuGet's classic format): `<packages><package id version .../></packages>`.
 * `developmentDependency="true"` packages are reported with `dev: true` (trivy drops them); the
 * policy layer decides whether they count.
 */

export function catalogPackagesConfig(file: Pick<CatalogFile, "path" | "content">): CatalogResult {
  let root;
  try {
    root = parseXml(file.content.toString("utf8"));
  } catch (e) {
    return { packages: [], problems: [`malformed XML: ${(e as Error).message}`] };
  }
  if (root.name !== "packages")
    return { packages: [], problems: [`root element is <${root.name}>, not <packages>`] };
  const packages: Package[] = [];
  const problems: string[] = [];
  for (const el of childrenNamed(root, "package")) {
    const { id, version } = el.attrs;
    if (!id || !version) {
      problems.push(`<package> without id or version (${JSON.stringify(el.attrs)})`);
      continue;
    }
    packages.push(nugetPackage(id, version, file.path, { dev: el.attrs.developmentDependency === "true" }));
  }
  return problems.length ? { packages, problems } : { packages };
}

export const nugetConfigCataloger: Cataloger = {
  id: "nuget-packages-config",
  version: 1,
  ecosystem: "nuget",
  matches: (path) => path.endsWith("/packages.config"),
  parse: (file) => catalogPackagesConfig(file),
};
