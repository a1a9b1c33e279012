import type { Distro, DistroDetector } from "../types.js";

/**
 * os-release(5): shell-style KEY=value lines, values optionally quoted. The file every current
 * distribution ships, and the one Drydock prefers.
 *
 * A file without ID is not an identity (null). A file without VERSION_ID still names the
 * distribution: rolling systems (Debian testing/sid, Arch) have none, and the id alone still
 * decides the package namespace and matcher family, so the Distro is kept with an empty
 * versionId (and the codename where there is one).
 */

/** KEY=value pairs; quotes and backslash escapes removed. */
export function parseShellVars(text: string): Map<string, string> {
  const vars = new Map<string, string>();
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const eq = line.indexOf("=");
    if (eq <= 0) continue;
    const key = line.slice(0, eq).trim();
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) continue;
    vars.set(key, unquote(line.slice(eq + 1).trim()));
  }
  return vars;
}

function unquote(v: string): string {
  const q = v[0];
  if ((q === '"' || q === "'") && v.length >= 2 && v.endsWith(q)) {
    const inner = v.slice(1, -1);
    return q === '"' ? inner.replace(/\\(["\\$`])/g, "$1") : inner;
  }
  return v;
}

export function parseOsRelease(content: Buffer): Distro | null {
  const vars = parseShellVars(content.toString("utf8"));
  const id = vars.get("ID")?.trim().toLowerCase();
  if (!id) return null;
  const idLike = vars.get("ID_LIKE")?.toLowerCase().split(/\s+/).filter(Boolean);
  const codename = vars.get("VERSION_CODENAME") || vars.get("UBUNTU_CODENAME") || undefined;
  const distro: Distro = { id, versionId: vars.get("VERSION_ID")?.trim() ?? "" };
  if (codename) distro.codename = codename;
  if (idLike?.length) distro.idLike = idLike;
  const pretty = vars.get("PRETTY_NAME") || vars.get("NAME");
  if (pretty) distro.prettyName = pretty;
  return distro;
}

export const osReleaseDetector: DistroDetector = {
  id: "os-release",
  version: 1,
  paths: ["/etc/os-release", "/usr/lib/os-release"],
  parse: (_path, content) => parseOsRelease(content),
};
