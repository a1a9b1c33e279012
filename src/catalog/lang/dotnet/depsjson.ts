import type { CatalogFile, CatalogResult, Cataloger, Package } from "../../types.js";
import { nugetPackage } from "./package.js";

/**
 * `<app>.deps.json`, written next to every .NET (Core) application: `libraries` lists what the
 * app was built with (`package` from NuGet, `project` of the solution, `runtimepack` for the
 * runtime bundled into a self-contained app), `targets[<runtimeTarget.name>]` what it loads.
 *
 * Like trivy: a library that the runtime target lists without any `runtime`, `runtimeTargets`
 * or `native` assets ships no code (reference and meta packages) and is left out; one missing
 * from the target is kept; without the target, every library is kept. `runtimepack.` prefixes
 * are dropped: the bundled runtime is reported under its NuGet name
 * (Microsoft.NETCore.App.Runtime.linux-x64).
 */

interface TargetLib {
  runtime?: unknown;
  runtimeTargets?: unknown;
  native?: unknown;
}

interface DepsJson {
  runtimeTarget?: { name?: unknown };
  targets?: Record<string, Record<string, TargetLib | null> | null>;
  libraries?: Record<string, { type?: unknown } | null>;
}

const RUNTIME_PACK = "runtimepack.";
const stripPack = (id: string) => (id.startsWith(RUNTIME_PACK) ? id.slice(RUNTIME_PACK.length) : id);

export function catalogDepsJson(file: Pick<CatalogFile, "path" | "content">): CatalogResult {
  let doc: DepsJson;
  try {
    doc = JSON.parse(file.content.toString("utf8")) as DepsJson;
  } catch (e) {
    return { packages: [], problems: [`not valid JSON: ${(e as Error).message}`] };
  }
  if (!doc || typeof doc !== "object" || Array.isArray(doc))
    return { packages: [], problems: ["not a deps.json object"] };

  const targetName = typeof doc.runtimeTarget?.name === "string" ? doc.runtimeTarget.name : undefined;
  const rawTarget = targetName ? doc.targets?.[targetName] : undefined;
  const target = new Map<string, TargetLib>();
  if (rawTarget && typeof rawTarget === "object")
    for (const [id, lib] of Object.entries(rawTarget)) target.set(stripPack(id), lib ?? {});

  const packages: Package[] = [];
  const problems: string[] = [];
  for (const [id, lib] of Object.entries(doc.libraries ?? {})) {
    const type = typeof lib?.type === "string" ? lib.type.toLowerCase() : "";
    if (type !== "package" && type !== "project" && type !== "runtimepack") continue;
    const slash = id.indexOf("/");
    if (slash <= 0 || slash === id.length - 1) {
      problems.push(`library "${id}" is not name/version`);
      continue;
    }
    const name = stripPack(id.slice(0, slash));
    const version = id.slice(slash + 1);
    if (rawTarget) {
      const t = target.get(`${name}/${version}`);
      const present = (v: unknown) => v !== undefined && v !== null;
      if (t && !present(t.runtime) && !present(t.runtimeTargets) && !present(t.native)) continue;
    }
    packages.push(nugetPackage(name, version, file.path, { project: type === "project" }));
  }
  return problems.length ? { packages, problems } : { packages };
}

export const dotnetDepsCataloger: Cataloger = {
  id: "dotnet-deps",
  version: 1,
  ecosystem: "nuget",
  matches: (path) => path.endsWith(".deps.json"),
  parse: (file) => catalogDepsJson(file),
};
