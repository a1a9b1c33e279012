import { yaml } from "../../../core/yaml.js";
import type { Cataloger, CatalogFile, CatalogResult, Package } from "../../types.js";
import {
  dedupe,
  errorText,
  guarded,
  hasProtocol,
  isObject,
  npmPackage,
  str,
  yamlFlowTooDeep,
} from "./common.js";

/**
 * pnpm-lock.yaml, lockfile versions 5 (`/name/1.0.0_peer`), 6 (`/name@1.0.0(peer)`) and 9
 * (`name@1.0.0` in `packages`, peer variants in `snapshots`), single- or multi-document.
 *
 * Development-only packages: v5/v6 entries carry `dev: true|false`; v9 does not, so it is
 * derived like pnpm does: reachable from an importer's devDependencies and not from its
 * dependencies or optionalDependencies.
 */

const SECTIONS = ["dependencies", "optionalDependencies", "devDependencies"] as const;

interface Node {
  name?: string;
  version?: string;
  /** v5/v6 explicit flag. */
  dev?: boolean;
  deps: [string, string][];
}

/** Cuts peer suffixes: `1.0.0(react@18.2.0)` (v6/v9) and `1.0.0_react@18.2.0` (v5). */
function stripPeers(s: string, v5: boolean): string {
  const paren = s.indexOf("(");
  let out = paren >= 0 ? s.slice(0, paren) : s;
  if (v5) {
    const slash = out.lastIndexOf("/");
    const us = out.indexOf("_", slash + 1);
    if (us > 0) out = out.slice(0, us);
  }
  return out;
}

/** dependency name → reference, from a v5 `{name: ref}` or v6+ `{name: {version: ref}}` map. */
function refs(section: unknown): [string, string][] {
  if (!isObject(section)) return [];
  const out: [string, string][] = [];
  for (const [name, v] of Object.entries(section)) {
    const ref = isObject(v) ? str(v.version) : str(v);
    if (ref) out.push([name, ref]);
  }
  return out;
}

function nodeIdentity(
  key: string,
  entry: Record<string, unknown>,
  v5: boolean,
): { name?: string; version?: string } {
  // Tarball and directory entries (v5/v6) name themselves.
  const ownName = str(entry.name);
  const ownVersion = str(entry.version);
  if (ownName && ownVersion) return { name: ownName, version: ownVersion };
  let k = key.startsWith("/") ? key.slice(1) : key;
  k = stripPeers(k, v5);
  let name: string;
  let ref: string;
  if (v5) {
    const slash = k.lastIndexOf("/");
    if (slash <= 0) return {};
    name = k.slice(0, slash);
    ref = k.slice(slash + 1);
  } else {
    const at = k.indexOf("@", 1);
    if (at <= 0) return {};
    name = k.slice(0, at);
    ref = k.slice(at + 1);
  }
  return { name, version: ownVersion ?? ref };
}

function catalogDocument(doc: Record<string, unknown>, path: string, out: Package[]): void {
  const major = Number.parseInt(String(doc.lockfileVersion ?? ""), 10);
  const v5 = Number.isFinite(major) && major < 6;
  const importers = isObject(doc.importers) ? Object.values(doc.importers).filter(isObject) : [doc];
  const hasDeps = importers.some((i) => SECTIONS.some((s) => isObject(i[s])));
  // pnpm 10+ writes the package manager's own lockfile as an extra first document (importers
  // with only packageManagerDependencies/configDependencies): a tool, not a project dependency.
  if (
    !hasDeps &&
    importers.some((i) => isObject(i.packageManagerDependencies) || isObject(i.configDependencies))
  )
    return;

  const packages = isObject(doc.packages) ? doc.packages : {};
  const snapshots = isObject(doc.snapshots) ? doc.snapshots : undefined;
  const nodes = new Map<string, Node>();
  const addNode = (key: string, entry: Record<string, unknown>, depsFrom: Record<string, unknown>) => {
    const dev = entry.dev === "true" ? true : entry.dev === "false" ? false : undefined;
    nodes.set(key, {
      ...nodeIdentity(key, entry, v5),
      dev,
      deps: [...refs(depsFrom.dependencies), ...refs(depsFrom.optionalDependencies)],
    });
  };
  // v9: a package is instantiated by its snapshots (one per peer variant)
  const instantiated = new Set<string>();
  for (const [key, snap] of Object.entries(snapshots ?? {})) {
    const base = stripPeers(key, false);
    instantiated.add(base);
    const entry = packages[key] ?? packages[base];
    addNode(key, isObject(entry) ? entry : {}, isObject(snap) ? snap : {});
  }
  for (const [key, entry] of Object.entries(packages))
    if (!nodes.has(key) && !instantiated.has(key) && isObject(entry)) addNode(key, entry, entry);

  const resolve = (name: string, ref: string): string | undefined => {
    for (const k of [`${name}@${ref}`, `/${name}@${ref}`, `/${name}/${ref}`, ref, `/${ref}`])
      if (nodes.has(k)) return k;
    return undefined;
  };
  const walk = (roots: [string, string][]): Set<string> => {
    const seen = new Set<string>();
    const queue: string[] = [];
    const push = (name: string, ref: string) => {
      const k = resolve(name, ref);
      if (k !== undefined && !seen.has(k)) {
        seen.add(k);
        queue.push(k);
      }
    };
    for (const [n, r] of roots) push(n, r);
    while (queue.length) for (const [n, r] of nodes.get(queue.pop()!)!.deps) push(n, r);
    return seen;
  };
  const prodRoots = importers.flatMap((i) => [...refs(i.dependencies), ...refs(i.optionalDependencies)]);
  const devRoots = importers.flatMap((i) => refs(i.devDependencies));
  const prod = walk(prodRoots);
  const devOnly = walk(devRoots);

  // A direct dependency states its resolved version even where the packages section lacks it
  // (trimmed lock files): report it from the importer.
  for (const [roots, dev] of [
    [prodRoots, false],
    [devRoots, true],
  ] as const) {
    for (const [name, ref] of roots) {
      if (resolve(name, ref) !== undefined) continue;
      const version = stripPeers(ref, v5);
      if (version && !hasProtocol(version) && !version.includes("/"))
        out.push(npmPackage(name, version, path, { dev }));
    }
  }

  for (const [key, node] of nodes) {
    const { name, version } = node;
    // local directories and unresolvable references have no version to match on
    if (!name || !version || hasProtocol(version) || version.includes("/")) continue;
    const dev = node.dev ?? (devOnly.has(key) && !prod.has(key));
    out.push(npmPackage(name, version, path, { dev }));
  }
}

function parse(file: CatalogFile): CatalogResult {
  return guarded("invalid pnpm-lock.yaml", () => {
    const text = file.content.toString("utf8");
    if (text.includes("\0")) return { packages: [], problems: ["pnpm-lock.yaml has binary content"] };
    if (yamlFlowTooDeep(text))
      return { packages: [], problems: ["pnpm-lock.yaml nests too deeply to be a lock file"] };
    const out: Package[] = [];
    const problems: string[] = [];
    // failsafe schema: every scalar stays a string (a version like 1.10 must not become 1.1).
    for (const [i, d] of yaml().parseAll(text, { rules: "failsafe" }).entries()) {
      if (!d.ok) {
        problems.push(`YAML document ${i + 1}: ${errorText(d.error)}`);
        continue;
      }
      const js = d.value;
      if (js === null || js === undefined) continue;
      if (!isObject(js)) {
        problems.push(`YAML document ${i + 1} is not a mapping`);
        continue;
      }
      catalogDocument(js, file.path, out);
    }
    return { packages: dedupe(out), problems: problems.length ? problems : undefined };
  });
}

export const pnpmLockCataloger: Cataloger = {
  id: "pnpm-lock",
  version: 1,
  ecosystem: "npm",
  matches: (path) => path.endsWith("/pnpm-lock.yaml") && !path.includes("/node_modules/"),
  parse,
};
