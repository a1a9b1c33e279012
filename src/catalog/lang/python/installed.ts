import type { Cataloger, CatalogFile, CatalogResult } from "../../types.js";
import { decodeText, guarded, pypiPackage } from "./common.js";

/**
 * Installed Python distributions: `<name>.dist-info/METADATA` (wheels), `<name>.egg-info/PKG-INFO`
 * and `EGG-INFO/PKG-INFO` (eggs, setup.py installs) and `<name>.egg-info` as a single file
 * (distutils). Directory names are matched case-insensitively, as pip's importlib does.
 */
export function isInstalledMetadata(path: string): boolean {
  if (path.endsWith("/METADATA")) return parentEndsWith(path, 9, "dist-info");
  if (path.endsWith("/PKG-INFO")) return parentEndsWith(path, 9, "egg-info");
  return path.endsWith(".egg-info") || path.endsWith(".EGG-INFO");
}

/** Whether the directory holding the last `tail` characters of `path` ends with `suffix`, ignoring case. */
function parentEndsWith(path: string, tail: number, suffix: string): boolean {
  const end = path.length - tail;
  const start = end - suffix.length;
  return start > 0 && path.slice(start, end).toLowerCase() === suffix;
}

/**
 * The header block of a core-metadata file (RFC 822 style, like Python's email parser): it ends
 * at the first empty line; continuation lines start with whitespace. Keys are case-insensitive.
 */
export function readHeaders(text: string): Map<string, string[]> {
  const headers = new Map<string, string[]>();
  let last: { key: string; index: number } | undefined;
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf("\n", start);
    if (end < 0) end = text.length;
    let line = text.slice(start, end);
    start = end + 1;
    if (line.endsWith("\r")) line = line.slice(0, -1);
    if (line.trim() === "") break; // end of headers: the body is the description
    if ((line[0] === " " || line[0] === "\t") && last) {
      const values = headers.get(last.key)!;
      values[last.index] += "\n" + line.trim();
      continue;
    }
    const colon = line.indexOf(":");
    if (colon <= 0) {
      last = undefined; // not a header (tolerated like Go's textproto does)
      continue;
    }
    const key = line.slice(0, colon).trim().toLowerCase();
    const values = headers.get(key) ?? [];
    values.push(line.slice(colon + 1).trim());
    headers.set(key, values);
    last = { key, index: values.length - 1 };
  }
  return headers;
}

/**
 * Declared licenses, most precise first: the SPDX `License-Expression` (PEP 639); else the
 * `License` field when it names a license (not when it holds a license text); else the license
 * trove classifiers. Sibling license files are not read (a cataloger sees one file).
 */
export function declaredLicenses(h: Map<string, string[]>): string[] | undefined {
  const expression = h.get("license-expression")?.[0];
  if (expression) return [expression];
  const license = h.get("license")?.[0];
  if (license && !license.includes("\n") && license.length <= 200) return [license];
  const fromClassifiers = (h.get("classifier") ?? [])
    .filter((c) => c.startsWith("License :: "))
    .map((c) => c.slice(c.lastIndexOf(" :: ") + 4).trim())
    .filter((l) => l !== "" && l !== "OSI Approved");
  return fromClassifiers.length ? fromClassifiers : undefined;
}

function parse(file: CatalogFile): CatalogResult {
  return guarded("unreadable Python metadata", () => {
    const text = decodeText(file.content);
    if (text.includes("\0")) return { packages: [], problems: ["Python metadata has binary content"] };
    const h = readHeaders(text);
    const name = h.get("name")?.[0];
    const version = h.get("version")?.[0];
    if (!name || !version)
      return { packages: [], problems: [`Python metadata without ${name ? "Version" : "Name"} header`] };
    return { packages: [pypiPackage(name, version, file.path, { licenses: declaredLicenses(h) })] };
  });
}

export const pythonInstalledCataloger: Cataloger = {
  id: "python-installed",
  version: 1,
  ecosystem: "pypi",
  matches: (path) => isInstalledMetadata(path),
  parse,
};
