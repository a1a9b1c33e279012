import { purl } from "../../purl.js";
import type { CatalogResult, Package } from "../../types.js";

/**
 * Helpers shared by the npm/yarn/pnpm catalogers: one place for npm names, purls, license
 * fields, de-duplication and the "never throw" wrapper.
 */

/** `@scope/name` → namespace `@scope` (the purl spec keeps the `@`, percent-encoded). */
export function npmPurl(name: string, version: string): string {
  const slash = name.startsWith("@") ? name.indexOf("/") : -1;
  return slash > 0
    ? purl({ type: "npm", namespace: name.slice(0, slash), name: name.slice(slash + 1), version })
    : purl({ type: "npm", name, version });
}

export function npmPackage(
  name: string,
  version: string,
  path: string,
  extra: { licenses?: string[]; dev?: boolean } = {},
): Package {
  const p: Package = { name, version, ecosystem: "npm", purl: npmPurl(name, version), path };
  if (extra.licenses?.length) p.licenses = extra.licenses;
  if (extra.dev) p.dev = true;
  return p;
}

/**
 * The checks of validate-npm-package-name that matter for identity: a bare name or exactly one
 * `@scope/name`, URL-safe, no leading dot or underscore, at most 214 characters.
 */
export function isValidNpmName(name: string): boolean {
  if (name.length === 0 || name.length > 214 || name.trim() !== name) return false;
  let parts = [name];
  if (name.startsWith("@")) {
    const rest = name.slice(1).split("/");
    if (rest.length !== 2) return false;
    parts = rest;
  } else if (name.includes("/")) return false;
  return parts.every(
    (p) => p.length > 0 && !p.startsWith(".") && !p.startsWith("_") && encodeURIComponent(p) === p,
  );
}

/**
 * package.json / package-lock `license` values: "MIT", {type: "MIT"}, ["MIT", "Apache2"] or the
 * legacy [{type, url}] list. Anything else (numbers, null, objects without a type) declares
 * nothing.
 */
export function npmLicenses(value: unknown): string[] | undefined {
  const one = (v: unknown): string | undefined => {
    if (typeof v === "string") return v.trim() || undefined;
    if (v && typeof v === "object" && !Array.isArray(v)) {
      const t = (v as { type?: unknown }).type;
      return typeof t === "string" ? t.trim() || undefined : undefined;
    }
    return undefined;
  };
  const list = Array.isArray(value) ? value.map(one) : [one(value)];
  const out = list.filter((s): s is string => s !== undefined);
  return out.length ? out : undefined;
}

/**
 * One package per name@version per file: lock files list the same version at several
 * install locations (nested node_modules, peer variants). It is development-only only if every
 * occurrence is.
 */
export function dedupe(packages: Package[]): Package[] {
  const byPurl = new Map<string, Package>();
  for (const p of packages) {
    const seen = byPurl.get(p.purl);
    if (!seen) {
      byPurl.set(p.purl, p);
      continue;
    }
    if (!p.dev) delete seen.dev;
    if (!seen.licenses && p.licenses) seen.licenses = p.licenses;
  }
  return [...byPurl.values()];
}

/** A version lock files record for non-registry sources ("file:..", "git+https:..", "link:.."). */
export function hasProtocol(v: string): boolean {
  const colon = v.indexOf(":");
  if (colon <= 0) return false;
  for (let i = 0; i < colon; i++) {
    const c = v.charCodeAt(i);
    const ok =
      (c >= 97 && c <= 122) ||
      (c >= 65 && c <= 90) ||
      (c >= 48 && c <= 57) ||
      c === 43 ||
      c === 45 ||
      c === 46;
    if (!ok) return false;
  }
  return true;
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

/** Plain JSON object (not an array, not null). */
export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function str(v: unknown): string | undefined {
  return typeof v === "string" && v !== "" ? v : undefined;
}

/**
 * Whether YAML flow collections (`[`, `{`) nest deeper than `max`, skipping quoted scalars.
 * The YAML parser's time and memory grow badly with flow nesting; lock files nest two or three
 * levels, so a deeper file is refused before parsing (one linear scan).
 */
export function yamlFlowTooDeep(text: string, max = 64): boolean {
  let depth = 0;
  let prev = 10; // last non-blank character; a quote only opens a scalar at a token start
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if ((c === 91 || c === 123) && (depth > 0 || TOKEN_START.has(prev))) {
      // (inside a plain block scalar a bracket is just a character)
      if (++depth > max) return true;
    } else if (c === 93 || c === 125) {
      if (depth > 0) depth--;
    } else if ((c === 34 || c === 39) && TOKEN_START.has(prev)) {
      // quoted scalar: skip to its end ("\" escapes in double quotes, '' in single quotes)
      for (i++; i < text.length; i++) {
        const d = text.charCodeAt(i);
        if (c === 34 && d === 92) i++;
        else if (d === c) {
          if (c === 39 && text.charCodeAt(i + 1) === 39) i++;
          else break;
        }
      }
    }
    if (c !== 32 && c !== 9 && c !== 13) prev = c;
  }
  return false;
}

/** Characters after which a YAML token starts: line start, `[`, `{`, `,`, `:`, `-`, `?`. */
const TOKEN_START = new Set([10, 91, 123, 44, 58, 45, 63]);
