import { purl } from "../../purl.js";
import type { CatalogResult, Package } from "../../types.js";

/** PEP 503 normalized name: lowercase, runs of `-`, `_` and `.` become one `-`. */
export function normalizeName(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, "-");
}

/** A PyPI package: the declared name in `name`, the normalized one in the purl. */
export function pypiPackage(
  name: string,
  version: string,
  path: string,
  extra: { licenses?: string[]; dev?: boolean } = {},
): Package {
  const p: Package = {
    name,
    version,
    ecosystem: "pypi",
    purl: purl({ type: "pypi", name: normalizeName(name), version }),
    path,
  };
  if (extra.licenses?.length) p.licenses = extra.licenses;
  if (extra.dev) p.dev = true;
  return p;
}

/** A distribution name per PEP 508: letters and digits, inner `.`, `_` and `-`. */
export function isValidName(name: string): boolean {
  return /^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$/.test(name);
}

/**
 * Text of a Python packaging file. pip accepts UTF-16 requirement files with a byte order
 * mark (Windows editors write them); everything else is UTF-8.
 */
export function decodeText(content: Buffer): string {
  if (content.length >= 2 && content[0] === 0xff && content[1] === 0xfe)
    return content.subarray(2).toString("utf16le");
  if (content.length >= 2 && content[0] === 0xfe && content[1] === 0xff) {
    const swapped = Buffer.from(content.subarray(2));
    swapped.swap16();
    return swapped.toString("utf16le");
  }
  const text = content.toString("utf8");
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** Error text for a problem: bounded, so a hostile file cannot make the report huge. */
export function errorText(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.length > 200 ? msg.slice(0, 200) + "…" : msg;
}

/** Runs a parser; anything it throws becomes a problem of the file (catalogers never throw). */
export function guarded(what: string, fn: () => CatalogResult): CatalogResult {
  try {
    return fn();
  } catch (e) {
    return { packages: [], problems: [`${what}: ${errorText(e)}`] };
  }
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function str(v: unknown): string | undefined {
  return typeof v === "string" && v !== "" ? v : undefined;
}

/** One package per name@version per file; development-only only if every occurrence is. */
export function dedupe(packages: Package[]): Package[] {
  const byPurl = new Map<string, Package>();
  for (const p of packages) {
    const seen = byPurl.get(p.purl);
    if (!seen) byPurl.set(p.purl, p);
    else if (!p.dev) delete seen.dev;
  }
  return [...byPurl.values()];
}

/** Paths inside an installed package tree: lock files there belong to someone else's project. */
export function insideInstalledTree(path: string): boolean {
  return (
    path.includes("/site-packages/") || path.includes("/dist-packages/") || path.includes("/node_modules/")
  );
}
