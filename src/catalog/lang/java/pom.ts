import { childText, childrenNamed, parseXml } from "../xml.js";

/**
 * The Maven metadata jars carry: META-INF/maven/<groupId>/<artifactId>/pom.properties (written
 * by maven-archiver: the exact coordinates of the artifact that was built) and the pom.xml beside
 * it (read only for declared licenses).
 */

export interface PomProperties {
  groupId: string;
  artifactId: string;
  version: string;
}

/**
 * java.util.Properties, the subset maven-archiver writes plus what hand edits produce:
 * `key=value`, `key: value`, `key value`; `#`/`!` comments; backslash line continuations;
 * `\uXXXX` and single-character escapes.
 */
export function parseProperties(text: string): Map<string, string> {
  const out = new Map<string, string>();
  const lines = text.split(/\r\n|\r|\n/);
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i]!.replace(/^[ \t\f]+/, "");
    if (!line || line[0] === "#" || line[0] === "!") continue;
    // An odd number of trailing backslashes joins the next line (leading blanks dropped).
    while (endsWithOddBackslashes(line) && i + 1 < lines.length)
      line = line.slice(0, -1) + lines[++i]!.replace(/^[ \t\f]+/, "");
    const m = /^((?:\\.|[^\\=: \t\f])*)[ \t\f]*[=: \t\f]?[ \t\f]*(.*)$/.exec(line);
    if (!m) continue;
    out.set(unescape(m[1]!), unescape(m[2]!));
  }
  return out;
}

function endsWithOddBackslashes(s: string): boolean {
  let n = 0;
  while (n < s.length && s.charCodeAt(s.length - 1 - n) === 0x5c) n++;
  return n % 2 === 1;
}

function unescape(s: string): string {
  if (!s.includes("\\")) return s;
  return s.replace(/\\(u[0-9a-fA-F]{4}|.)/g, (_, e: string) => {
    if (e.length === 5) return String.fromCharCode(parseInt(e.slice(1), 16));
    return e === "t" ? "\t" : e === "n" ? "\n" : e === "r" ? "\r" : e === "f" ? "\f" : e;
  });
}

/** The coordinates in a pom.properties, or null when one of them is missing. */
export function pomProperties(text: string): PomProperties | null {
  const p = parseProperties(text);
  const groupId = p.get("groupId")?.trim();
  const artifactId = p.get("artifactId")?.trim();
  const version = p.get("version")?.trim();
  if (!groupId || !artifactId || !version) return null;
  return { groupId, artifactId, version };
}

/**
 * Licenses declared in a pom.xml: `project/licenses/license/name`, else its `url`. Throws
 * XmlError on malformed XML. Licenses inherited from a parent pom are not visible here.
 */
export function pomLicenses(xml: string): string[] {
  const project = parseXml(xml);
  const out: string[] = [];
  for (const block of childrenNamed(project, "licenses"))
    for (const lic of childrenNamed(block, "license")) {
      const v = childText(lic, "name") ?? childText(lic, "url");
      if (v && !out.includes(v)) out.push(v);
    }
  return out;
}
