import { purl } from "../../purl.js";
import type { Package } from "../../types.js";

/**
 * NuGet packages: names keep their case (NuGet ids are case-insensitive but advisories and
 * purls carry the canonical casing), purl pkg:nuget/<Name>@<version>. Projects of the solution
 * itself (deps.json `project` libraries) have no registry identity: they still get a purl (SBOM
 * references are purls) but are marked metadata.project, so matching can tell them from a NuGet
 * package of the same name.
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
    purl: purl({ type: "nuget", name, version }),
    path: file,
  };
  if (opts.project) pkg.metadata = { project: true };
  if (opts.dev) pkg.dev = true;
  return pkg;
}
