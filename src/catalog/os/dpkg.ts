import { isOwnershipRelevant, mayBeEvidenceName } from "../evidence.js";
import type { CatalogFile, CatalogResult, Cataloger, Package } from "../types.js";
import { readStanzas } from "./deb822.js";
import { Problems } from "./problems.js";
import { osPurl } from "./purl.js";

/**
 * dpkg's database of installed packages: `/var/lib/dpkg/status`, and the per-package files of
 * `/var/lib/dpkg/status.d/` that distroless images carry instead (each a set of status-format
 * paragraphs, usually the package's control file without a Status field; the `.md5sums` files
 * beside them are file lists, not paragraphs).
 *
 * Versions are the full Debian version as dpkg compares it: `[epoch:]upstream[-revision]`.
 * The source package comes from `Source: name (version)`; without it the package is its own
 * source, and without a version in parentheses the source version is the binary's version.
 */

const STATUS = "/var/lib/dpkg/status";
const STATUS_D = "/var/lib/dpkg/status.d/";
const INFO = "/var/lib/dpkg/info/";

const WANTED: ReadonlySet<string> = new Set(["package", "status", "version", "source", "architecture"]);

/**
 * Current states (third word of Status) whose files are on disk. half-installed (interrupted
 * unpack or removal), config-files and not-installed are not installed packages; unpacked and
 * half-configured are (their files, and so their vulnerabilities, are there).
 */
const INSTALLED_STATES: ReadonlySet<string> = new Set([
  "installed",
  "triggers-awaited",
  "triggers-pending",
  "half-configured",
  "unpacked",
]);

export interface DpkgEntry {
  name: string;
  version: string;
  arch?: string;
  sourceName: string;
  sourceVersion: string;
  /** The Status field when present (status.d paragraphs usually have none). */
  status?: string;
}

/** Installed packages of one status-format text; what cannot be read goes to `problems`. */
export function parseDpkgStatus(text: string, problems: Problems): DpkgEntry[] {
  const out: DpkgEntry[] = [];
  for (const { line, fields } of readStanzas(text, WANTED, problems)) {
    const name = fields.get("package");
    if (!name) {
      problems.add(`line ${line}: paragraph without a Package name`);
      continue;
    }
    const status = fields.get("status");
    if (status !== undefined) {
      const words = status.split(/\s+/);
      if (words.length !== 3) {
        problems.add(`line ${line}: ${name}: malformed Status "${status}"`);
        continue;
      }
      const [want, , state] = words as [string, string, string];
      // deinstall/purge: selected for removal (apt remove/purge); not an installed package.
      if (want === "deinstall" || want === "purge" || !INSTALLED_STATES.has(state)) continue;
    }
    const version = fields.get("version");
    if (!version) {
      problems.add(`line ${line}: ${name}: installed package without a Version`);
      continue;
    }
    if (!isDebVersion(version)) {
      problems.add(`line ${line}: ${name}: invalid Version "${version}"`);
      continue;
    }
    const src = parseSource(fields.get("source"));
    out.push({
      name,
      version,
      arch: fields.get("architecture") || undefined,
      sourceName: src?.name ?? name,
      sourceVersion: src?.version ?? version,
      status,
    });
  }
  return out;
}

/** `gcc-5 (5.1.1-12ubuntu1)` → name and version; `pam` → name only. */
function parseSource(s: string | undefined): { name: string; version?: string } | null {
  if (!s) return null;
  const paren = s.indexOf("(");
  if (paren < 0) return { name: s.trim() };
  const close = s.indexOf(")", paren);
  const version = s.slice(paren + 1, close < 0 ? undefined : close).trim();
  return { name: s.slice(0, paren).trim(), version: version || undefined };
}

/**
 * Debian policy 5.6.12: `[epoch:]upstream[-revision]`, upstream starting with a digit. dpkg
 * refuses anything else, so such a paragraph is corrupt (a truncated or hand-edited file), and
 * a version matchers cannot compare is worse than a recorded problem.
 */
export function isDebVersion(v: string): boolean {
  let rest = v;
  const colon = v.indexOf(":");
  if (colon >= 0) {
    if (!/^\d+$/.test(v.slice(0, colon))) return false;
    rest = v.slice(colon + 1);
  }
  const dash = rest.lastIndexOf("-");
  const upstream = dash >= 0 ? rest.slice(0, dash) : rest;
  if (dash >= 0 && !/^[A-Za-z0-9.+~]+$/.test(rest.slice(dash + 1))) return false;
  return /^[0-9][A-Za-z0-9.+~:-]*$/.test(upstream) && (colon >= 0 || !upstream.includes(":"));
}

function debEpoch(version: string): number | undefined {
  const i = version.indexOf(":");
  if (i <= 0) return undefined;
  const n = Number(version.slice(0, i));
  return Number.isInteger(n) && n >= 0 ? n : undefined;
}

export const dpkgCataloger: Cataloger = {
  id: "dpkg-status",
  version: 1,
  ecosystem: "deb",
  matches(path: string): boolean {
    if (path === STATUS) return true;
    // status.d/<pkg> files only: not nested, not the .md5sums file lists.
    return path.startsWith(STATUS_D) && path.indexOf("/", STATUS_D.length) < 0 && !path.endsWith(".md5sums");
  },
  parse(file: CatalogFile): CatalogResult {
    const problems = new Problems();
    const packages: Package[] = [];
    for (const e of parseDpkgStatus(file.content.toString("utf8"), problems)) {
      const pkg: Package = {
        name: e.name,
        version: e.version,
        ecosystem: "deb",
        purl: "",
        path: file.path,
        arch: e.arch,
        epoch: debEpoch(e.version),
        sourceName: e.sourceName,
        sourceVersion: e.sourceVersion,
      };
      // Not fully configured: worth telling (dpkg -l shows iU/iF), still installed files.
      if (e.status && !e.status.endsWith(" installed")) pkg.metadata = { status: e.status };
      pkg.purl = osPurl(pkg, null);
      packages.push(pkg);
    }
    return { packages, problems: problems.list() };
  },
};

/** `<dir><name><suffix>` with nothing nested: the package name, without a `:arch` qualifier. */
function ownerOf(path: string, dir: string, suffix: string): string | null {
  if (!path.startsWith(dir) || !path.endsWith(suffix) || path.indexOf("/", dir.length) >= 0) return null;
  const file = path.slice(dir.length, path.length - suffix.length);
  const colon = file.indexOf(":");
  const name = colon < 0 ? file : file.slice(0, colon);
  return name === "" ? null : name;
}

/**
 * dpkg's file lists: `/var/lib/dpkg/info/<package>[:<arch>].list` (every path the package
 * installed, one absolute path a line, directories included) and, in distroless images that
 * have no info directory, `/var/lib/dpkg/status.d/<package>.md5sums` (`<md5>  <path without
 * the leading />`, files only). Reports no package: only the owned paths that can be evidence
 * of a language package (evidence.ts), for the image analysis to tell the language packages
 * dpkg installed. A removed package's list goes with it (dpkg deletes the file; a later
 * layer's whiteout hides it), so ownership follows what is installed.
 */
export const dpkgFilesCataloger: Cataloger = {
  id: "dpkg-files",
  version: 1,
  ecosystem: "deb",
  matches(path: string): boolean {
    return ownerOf(path, INFO, ".list") !== null || ownerOf(path, STATUS_D, ".md5sums") !== null;
  },
  parse(file: CatalogFile): CatalogResult {
    const md5sums = file.path.endsWith(".md5sums");
    const owner = md5sums ? ownerOf(file.path, STATUS_D, ".md5sums") : ownerOf(file.path, INFO, ".list");
    if (owner === null) return { packages: [] };
    const text = file.content.toString("utf8");
    const owned: [string, string][] = [];
    let pos = 0;
    while (pos < text.length) {
      const start = pos;
      let end = text.indexOf("\n", pos);
      if (end < 0) end = text.length;
      pos = end + 1;
      if (end > start && text.charCodeAt(end - 1) === 0x0d) end--;
      // The file name first (no string built for the thousands of lines that fail it).
      const slash = text.lastIndexOf("/", end - 1);
      if (slash < start || !mayBeEvidenceName(text.slice(slash + 1, end))) continue;
      let line = text.slice(start, end);
      if (md5sums) {
        const sep = line.indexOf("  ");
        if (sep < 0) continue;
        line = "/" + line.slice(sep + 2);
      }
      if (line.startsWith("/") && isOwnershipRelevant(line)) owned.push([line, owner]);
    }
    return { packages: [], owned };
  },
};
