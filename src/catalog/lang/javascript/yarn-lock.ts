import { yaml } from "../../../core/yaml.js";
import type { Cataloger, CatalogFile, CatalogResult, Package } from "../../types.js";
import { dedupe, guarded, isObject, isValidNpmName, npmPackage, str, yamlFlowTooDeep } from "./common.js";

/**
 * Sources whose entries are the project's own code or local files, not published packages:
 * the workspace itself, links, portals, patches of another entry (reported through the
 * entry they patch), local files and directories, and `exec:` generators. Any protocol not
 * known to yarn (e.g. a typo) is skipped too: it installs nothing yarn could resolve.
 */
const REGISTRY_LIKE = new Set(["npm", "git", "git+ssh", "git+https", "git+http", "github", "http", "https"]);

/** `name@range` → [name, range]; the name may be scoped (`@scope/name@range`). */
function splitDescriptor(d: string): [string, string] | null {
  const at = d.indexOf("@", 1);
  return at > 0 ? [d.slice(0, at), d.slice(at + 1)] : null;
}

function protocolOf(range: string): string | null {
  const colon = range.indexOf(":");
  if (colon <= 0) return null;
  const p = range.slice(0, colon);
  return /^[a-z][a-z0-9+.-]*$/.test(p) ? p : null;
}

/** The package a yarn v1 `resolved` registry URL points at: `…/<name>/-/<name>-<v>.tgz`. */
function nameFromResolved(resolved: string): string | undefined {
  const dash = resolved.indexOf("/-/");
  if (dash < 0) return undefined;
  const before = resolved.slice(0, dash);
  const last = before.lastIndexOf("/");
  let name: string;
  try {
    name = decodeURIComponent(before.slice(last + 1)); // scoped names may be encoded: @scope%2fname
  } catch {
    return undefined; // a malformed escape: fall back to the entry's own name
  }
  const prev = before.lastIndexOf("/", last - 1);
  const scope = before.slice(prev + 1, last);
  if (scope.startsWith("@") && !name.startsWith("@")) name = `${scope}/${name}`;
  return isValidNpmName(name) ? name : undefined;
}

function unquote(s: string): string {
  return s.length >= 2 && s.startsWith('"') && s.endsWith('"') ? s.slice(1, -1) : s;
}

/**
 * yarn v1: not YAML. Blocks start with an unindented `spec[, spec…]:` line; two-space-indented
 * `key value` lines follow (keys quoted in some writers); deeper lines are dependency lists.
 */
function parseV1(text: string, path: string): CatalogResult {
  const out: Package[] = [];
  let specs: string[] | null = null;
  let fields: Record<string, string> = {};
  let garbage = 0;
  let versionless = 0;
  const flush = () => {
    if (!specs) return;
    const version = fields.version;
    if (!version) versionless++;
    specs = specs.filter((s) => s.length > 0);
    const parsed = specs.map(splitDescriptor).filter((x): x is [string, string] => x !== null);
    const first = parsed[0];
    if (version && first) {
      const [alias, range] = first;
      const proto = protocolOf(range);
      let name = alias;
      if (proto === "npm") {
        // alias: `alias@npm:real@range` installs `real`
        const real = splitDescriptor(range.slice(4))?.[0] ?? range.slice(4);
        if (real) name = real;
      }
      if (proto === null || REGISTRY_LIKE.has(proto)) {
        const fromUrl = fields.resolved ? nameFromResolved(fields.resolved) : undefined;
        out.push(npmPackage(fromUrl ?? name, version, path));
      }
    }
    specs = null;
    fields = {};
  };
  let start = 0;
  while (start <= text.length) {
    let end = text.indexOf("\n", start);
    if (end < 0) end = text.length;
    let line = text.slice(start, end);
    start = end + 1;
    if (line.endsWith("\r")) line = line.slice(0, -1);
    if (line === "" || line.startsWith("#")) continue;
    if (line[0] !== " ") {
      flush();
      if (!line.endsWith(":")) {
        garbage++; // not a block header
        continue;
      }
      specs = line
        .slice(0, -1)
        .split(",")
        .map((s) => unquote(s.trim()));
      continue;
    }
    if (!specs || line[2] === " ") continue; // outside a block, or a nested dependency line
    const t = line.trim();
    const sp = t.search(/[\s:]/);
    if (sp <= 0) continue;
    const key = unquote(t.slice(0, sp));
    const value = unquote(t.slice(sp + 1).trim());
    if (value) fields[key] = value;
  }
  flush();
  const problems: string[] = [];
  if (garbage) problems.push(`${garbage} unindented lines are not yarn.lock entries`);
  if (versionless) problems.push(`${versionless} entries without a version`);
  return { packages: dedupe(out), problems: problems.length ? problems : undefined };
}

/** yarn berry (v2+): YAML; every entry has a `resolution` naming the package and its source. */
function parseBerry(text: string, path: string): CatalogResult {
  if (yamlFlowTooDeep(text))
    return { packages: [], problems: ["yarn.lock nests too deeply to be a lock file"] };
  // failsafe schema: every scalar stays a string (a version like 1.10 must not become 1.1).
  // (duplicate keys occur in hand-merged lock files: the last one wins, as in yarn)
  const doc: unknown = yaml().parse(text, { rules: "failsafe", duplicateKeys: "last" });
  if (!isObject(doc)) return { packages: [], problems: ["yarn.lock is not a YAML mapping"] };
  const out: Package[] = [];
  for (const [key, value] of Object.entries(doc)) {
    if (key === "__metadata" || !isObject(value)) continue;
    const version = str(value.version);
    const resolution = str(value.resolution);
    const d = resolution ? splitDescriptor(resolution) : null;
    if (!version || !d) continue;
    const proto = protocolOf(d[1]);
    if (proto !== null && !REGISTRY_LIKE.has(proto)) continue;
    out.push(npmPackage(d[0], version, path));
  }
  return { packages: dedupe(out) };
}

function parse(file: CatalogFile): CatalogResult {
  return guarded("invalid yarn.lock", () => {
    const text = file.content.toString("utf8");
    if (text.includes("\0")) return { packages: [], problems: ["yarn.lock has binary content"] };
    // berry lock files start with a `__metadata:` block (after comments)
    const berry = text.startsWith("__metadata:") || text.includes("\n__metadata:");
    return berry ? parseBerry(text, file.path) : parseV1(text, file.path);
  });
}

export const yarnLockCataloger: Cataloger = {
  id: "yarn-lock",
  version: 1,
  ecosystem: "npm",
  matches: (path) => path.endsWith("/yarn.lock") && !path.includes("/node_modules/"),
  parse,
};
