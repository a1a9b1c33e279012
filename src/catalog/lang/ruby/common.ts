import { purl } from "../../purl.js";
import type { CatalogResult, Package } from "../../types.js";

/** A RubyGems package. */
export function gemPackage(
  name: string,
  version: string,
  path: string,
  extra: { licenses?: string[] } = {},
): Package {
  const p: Package = { name, version, ecosystem: "gem", purl: purl({ type: "gem", name, version }), path };
  if (extra.licenses?.length) p.licenses = extra.licenses;
  return p;
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
