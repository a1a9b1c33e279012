import { purl } from "../../purl.js";
import type { Package } from "../../types.js";

/**
 * NuGet packages: names keep their case (NuGet ids are case-insensitive but advisories and
 * purls carry the canonical casing), purl pkg:nuget/<Name>@<version>. Projects of the solution
 * itself (deps.json `project` libraries) have no registry identity: empty purl and
 * metadata.project, so they are never matched against a NuGet package of the same name.
 */
export function nugetPackage(
  name: string,
  version: string,
  file: string,
  opts: { project?: boolean; dev?: boolean } = {},
): Package {
  const pkg: Package = {
    name,
    version,
    ecosystem: "nuget",
    purl: opts.project ? "" : purl({ type: "nuget", name, version }),
    path: file,
  };
  if (opts.project) pkg.metadata = { project: true };
  if (opts.dev) pkg.dev = true;
  return pkg;
}
