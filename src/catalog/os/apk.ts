import { isOwnershipRelevant, mayBeEvidenceName } from "../evidence.js";
import type { CatalogFile, CatalogResult, Cataloger, Package } from "../types.js";
import { exactPaths } from "./paths.js";
import { Problems } from "./problems.js";
import { osPurl } from "./purl.js";

/**
 * apk's database of installed packages, `lib/apk/db/installed` (also under /usr for merged-usr
 * systems): paragraphs of `X:value` lines separated by blank lines. Only P (name), V (version),
 * A (arch), L (license) and o (origin, the source package advisories are keyed on) are read,
 * and of the file lists (F: directory, R: file in it) only the files that can be evidence of a
 * language package (evidence.ts), tested by name first; the rest of the file lists (Z/a/M
 * lines, most of the file) is skipped after one character test.
 */

const isDatabase = exactPaths(["/lib/apk/db/installed", "/usr/lib/apk/db/installed"]);

interface ApkRecord {
  line: number;
  name?: string;
  version?: string;
  arch?: string;
  license?: string;
  origin?: string;
  /** Owned files that can be evidence of a language package. */
  owned?: string[];
}

export interface ApkEntry {
  name: string;
  version: string;
  arch?: string;
  licenses?: string[];
  origin: string;
  /** Owned files that can be evidence of a language package (evidence.ts). */
  owned?: string[];
}

export function parseApkInstalled(text: string, problems: Problems): ApkEntry[] {
  const records: ApkRecord[] = [];
  let cur: ApkRecord | null = null;
  let dir = "";
  let pos = 0;
  let lineNo = 0;
  while (pos < text.length) {
    let end = text.indexOf("\n", pos);
    if (end < 0) end = text.length;
    const start = pos;
    pos = end + 1;
    lineNo++;
    if (end > start && text.charCodeAt(end - 1) === 0x0d) end--;
    if (end === start) {
      cur = null;
      dir = "";
      continue;
    }
    if (end - start < 2 || text.charCodeAt(start + 1) !== 0x3a /* ':' */) {
      problems.add(`line ${lineNo}: not a "X:value" line`);
      continue;
    }
    if (!cur) {
      cur = { line: lineNo };
      records.push(cur);
    }
    switch (text.charCodeAt(start)) {
      case 0x50 /* P */:
        cur.name = text.slice(start + 2, end);
        break;
      case 0x56 /* V */:
        cur.version = text.slice(start + 2, end);
        break;
      case 0x41 /* A */:
        cur.arch = text.slice(start + 2, end);
        break;
      case 0x4c /* L */:
        cur.license = text.slice(start + 2, end);
        break;
      case 0x6f /* o */:
        cur.origin = text.slice(start + 2, end);
        break;
      case 0x46 /* F */:
        dir = text.slice(start + 2, end);
        break;
      case 0x52 /* R */: {
        const name = text.slice(start + 2, end);
        if (!mayBeEvidenceName(name)) break;
        const path = `/${dir ? dir + "/" : ""}${name}`;
        if (isOwnershipRelevant(path)) (cur.owned ??= []).push(path);
        break;
      }
    }
  }
  const out: ApkEntry[] = [];
  for (const r of records) {
    if (!r.name || !r.version) {
      problems.add(`line ${r.line}: package ${r.name ? `${r.name} without a version` : "without a name"}`);
      continue;
    }
    out.push({
      name: r.name,
      version: r.version,
      arch: r.arch || undefined,
      licenses: apkLicenses(r.license),
      // Every apk has an origin (the aport it was built from); old databases may lack `o:`.
      origin: r.origin || r.name,
      ...(r.owned ? { owned: r.owned } : {}),
    });
  }
  return out;
}

/**
 * `L:` is either a legacy space-separated list (`MIT BSD GPL2+`: each applies) or, in newer
 * aports, an SPDX expression (`(Apache-2.0 OR MIT) AND MPL-2.0`) whose operators matter and
 * must not be split away. Values are kept as declared; SPDX normalization belongs to export.
 */
export function apkLicenses(l: string | undefined): string[] | undefined {
  const v = l?.trim();
  if (!v) return undefined;
  const tokens = v.split(/\s+/);
  const expression = tokens.some((t) => /^(and|or|with)$/i.test(t) || t.includes("(") || t.includes(")"));
  if (expression) return [tokens.join(" ").replace(/\( /g, "(").replace(/ \)/g, ")")];
  return tokens;
}

export const apkCataloger: Cataloger = {
  id: "apk-installed",
  version: 2,
  ecosystem: "apk",
  matches(path: string): boolean {
    return isDatabase(path);
  },
  parse(file: CatalogFile): CatalogResult {
    const problems = new Problems();
    const packages: Package[] = [];
    const owned: [string, string][] = [];
    for (const e of parseApkInstalled(file.content.toString("utf8"), problems)) {
      for (const path of e.owned ?? []) owned.push([path, e.name]);
      const pkg: Package = {
        name: e.name,
        version: e.version,
        ecosystem: "apk",
        purl: "",
        path: file.path,
        arch: e.arch,
        licenses: e.licenses,
        // Subpackages share the origin's version: one aport build makes them all.
        sourceName: e.origin,
        sourceVersion: e.version,
      };
      pkg.purl = osPurl(pkg, null);
      packages.push(pkg);
    }
    return { packages, problems: problems.list(), ...(owned.length ? { owned } : {}) };
  },
};
