import { compareStrings } from "../core/compare.js";
/**
 * Package URLs (purl spec): pkg:type/namespace/name@version?qualifiers#subpath.
 * One builder for every cataloger so that encoding rules live in one place.
 */
export interface PurlParts {
  type: string;
  namespace?: string;
  name: string;
  version?: string;
  qualifiers?: Record<string, string | undefined>;
  subpath?: string;
}

/** Percent-encodes like the purl spec: everything but unreserved characters (and ':' is kept). */
function enc(s: string): string {
  return encodeURIComponent(s).replace(/%3A/gi, ":");
}

export function purl(p: PurlParts): string {
  let out = `pkg:${p.type.toLowerCase()}/`;
  if (p.namespace) out += p.namespace.split("/").map(enc).join("/") + "/";
  out += enc(p.name);
  if (p.version) out += "@" + enc(p.version);
  // Keys lowercased, then sorted in code-point order (the purl spec; localeCompare is neither
  // the spec's order nor cheap: its first call set up ICU collation, 6 ms of a cold analysis).
  const q = Object.entries(p.qualifiers ?? {})
    .filter((e): e is [string, string] => e[1] !== undefined && e[1] !== "")
    .map(([k, v]): [string, string] => [k.toLowerCase(), v])
    .sort(([a], [b]) => compareStrings(a, b));
  if (q.length) out += "?" + q.map(([k, v]) => `${k}=${enc(v)}`).join("&");
  if (p.subpath) out += "#" + p.subpath.split("/").filter(Boolean).map(enc).join("/");
  return out;
}

/** Parses a purl back into parts (for tests and matching). */
export function parsePurl(s: string): PurlParts | null {
  const m = /^pkg:([a-zA-Z][a-zA-Z0-9.+-]*)\/([^?#]+?)(?:@([^?#]+))?(?:\?([^#]*))?(?:#(.*))?$/.exec(s);
  if (!m) return null;
  const path = m[2]!.split("/").map(decodeURIComponent);
  const name = path.pop()!;
  const qualifiers: Record<string, string> = {};
  for (const kv of (m[4] ?? "").split("&").filter(Boolean)) {
    const i = kv.indexOf("=");
    qualifiers[kv.slice(0, i)] = decodeURIComponent(kv.slice(i + 1));
  }
  return {
    type: m[1]!.toLowerCase(),
    namespace: path.length ? path.join("/") : undefined,
    name,
    version: m[3] ? decodeURIComponent(m[3]) : undefined,
    qualifiers,
    subpath: m[5],
  };
}
