import type { Cataloger, CatalogFile, CatalogResult, Package } from "../../types.js";
import {
  decodeText,
  dedupe,
  guarded,
  insideInstalledTree,
  isObject,
  normalizeName,
  pypiPackage,
  str,
} from "./common.js";
import { parseLockToml } from "../toml.js";

/**
 * Python lock files of an application: poetry.lock, Pipfile.lock and uv.lock. They name exact
 * versions; development-only packages are flagged `dev`.
 */

function readToml(file: CatalogFile): Record<string, unknown> {
  return parseLockToml(decodeText(file.content));
}

function packagesOf(doc: Record<string, unknown>): Record<string, unknown>[] | undefined {
  return Array.isArray(doc.package) ? doc.package.filter(isObject) : undefined;
}

/**
 * poetry.lock: `[[package]]` tables. Poetry 1 marks development packages with
 * `category = "dev"`; Poetry 2 lists `groups`, where only `main` is the runtime.
 */
function parsePoetry(file: CatalogFile): CatalogResult {
  return guarded("invalid poetry.lock", () => {
    const doc = readToml(file);
    const packages = packagesOf(doc);
    if (!packages) return { packages: [], problems: ["poetry.lock has no [[package]] tables"] };
    const out: Package[] = [];
    for (const p of packages) {
      const name = str(p.name);
      const version = str(p.version);
      if (!name || !version) continue;
      const groups = Array.isArray(p.groups) ? p.groups : undefined;
      const dev = groups ? !groups.includes("main") : p.category === "dev";
      out.push(pypiPackage(name, version, file.path, { dev }));
    }
    return { packages: dedupe(out) };
  });
}

/** Pipfile.lock: JSON; `default` is the runtime, `develop` the development environment. */
function parsePipfile(file: CatalogFile): CatalogResult {
  return guarded("invalid Pipfile.lock", () => {
    const doc: unknown = JSON.parse(decodeText(file.content));
    if (!isObject(doc) || (!isObject(doc.default) && !isObject(doc.develop)))
      return { packages: [], problems: ["Pipfile.lock has no default or develop section"] };
    const out: Package[] = [];
    for (const [section, dev] of [
      ["default", false],
      ["develop", true],
    ] as const) {
      const entries = doc[section];
      if (!isObject(entries)) continue;
      for (const [name, e] of Object.entries(entries)) {
        // VCS and path entries have no `version`: nothing to match on
        const pin = isObject(e) ? str(e.version) : undefined;
        if (!pin?.startsWith("==")) continue;
        out.push(pypiPackage(name, pin.replace(/^=+/, ""), file.path, { dev }));
      }
    }
    return { packages: dedupe(out) };
  });
}

/**
 * uv.lock: `[[package]]` tables with dependency edges. The project itself (source virtual or
 * editable ".") is the application, not a dependency. Development-only packages are those
 * reachable from its `dev-dependencies` groups and not from its dependencies or extras.
 */
function parseUv(file: CatalogFile): CatalogResult {
  return guarded("invalid uv.lock", () => {
    const doc = readToml(file);
    const packages = packagesOf(doc);
    if (!packages) return { packages: [], problems: ["uv.lock has no [[package]] tables"] };
    const byName = new Map<string, Record<string, unknown>[]>();
    for (const p of packages) {
      const name = str(p.name);
      if (name) byName.set(normalizeName(name), [...(byName.get(normalizeName(name)) ?? []), p]);
    }
    const isRoot = (p: Record<string, unknown>) =>
      isObject(p.source) && (p.source.virtual === "." || p.source.editable === ".");
    const edges = (p: Record<string, unknown>, sections: unknown[]): Record<string, unknown>[] => {
      const out: Record<string, unknown>[] = [];
      for (const section of sections) {
        const lists = Array.isArray(section) ? [section] : isObject(section) ? Object.values(section) : [];
        for (const list of lists) {
          if (!Array.isArray(list)) continue;
          for (const d of list) {
            if (!isObject(d) || !str(d.name)) continue;
            const candidates = byName.get(normalizeName(str(d.name)!)) ?? [];
            const v = str(d.version);
            out.push(...(v ? candidates.filter((c) => c.version === v) : candidates));
          }
        }
      }
      return out;
    };
    const reach = (roots: Record<string, unknown>[]): Set<Record<string, unknown>> => {
      const seen = new Set(roots);
      const queue = [...roots];
      while (queue.length) {
        const p = queue.pop()!;
        for (const d of edges(p, [p.dependencies, p["optional-dependencies"]]))
          if (!seen.has(d)) {
            seen.add(d);
            queue.push(d);
          }
      }
      return seen;
    };
    const roots = packages.filter(isRoot);
    const prod = reach(roots.flatMap((r) => edges(r, [r.dependencies, r["optional-dependencies"]])));
    const devOnly = reach(roots.flatMap((r) => edges(r, [r["dev-dependencies"]])));
    const out: Package[] = [];
    for (const p of packages) {
      const name = str(p.name);
      const version = str(p.version);
      if (!name || !version || isRoot(p)) continue;
      out.push(pypiPackage(name, version, file.path, { dev: devOnly.has(p) && !prod.has(p) }));
    }
    return { packages: dedupe(out) };
  });
}

export const poetryLockCataloger: Cataloger = {
  id: "poetry-lock",
  version: 1,
  ecosystem: "pypi",
  matches: (path) => path.endsWith("/poetry.lock") && !insideInstalledTree(path),
  parse: parsePoetry,
};

export const pipfileLockCataloger: Cataloger = {
  id: "pipfile-lock",
  version: 1,
  ecosystem: "pypi",
  matches: (path) => path.endsWith("/Pipfile.lock") && !insideInstalledTree(path),
  parse: parsePipfile,
};

export const uvLockCataloger: Cataloger = {
  id: "uv-lock",
  version: 1,
  ecosystem: "pypi",
  matches: (path) => path.endsWith("/uv.lock") && !insideInstalledTree(path),
  parse: parseUv,
};
