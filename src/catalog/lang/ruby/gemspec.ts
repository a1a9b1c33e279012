import type { Cataloger, CatalogFile, CatalogResult } from "../../types.js";
import { gemPackage, guarded } from "./common.js";

/**
 * Installed gems: `specifications/<name>-<version>.gemspec`, the Ruby file RubyGems generates
 * at install time. It is code, but generated in a fixed shape:
 *
 *     Gem::Specification.new do |s|
 *       s.name = "rake".freeze
 *       s.version = "13.0.3"
 *       s.licenses = ["MIT".freeze]
 *
 * We read the assignments to the block variable; string literals ("…", '…', %q<…>) with
 * `.freeze` are what the generator writes. Nothing is evaluated.
 */
export function isInstalledGemspec(path: string): boolean {
  return path.endsWith(".gemspec") && path.includes("/specifications/");
}

const CLOSERS: Record<string, string> = { "<": ">", "(": ")", "[": "]", "{": "}" };

/** Unescapes the escapes the generator writes in double-quoted strings. */
function unescape(s: string): string {
  return s.replace(/\\(u\{[0-9a-fA-F]+\}|u[0-9a-fA-F]{4}|.)/g, (_m, e: string) => {
    if (e.startsWith("u{")) return String.fromCodePoint(Number.parseInt(e.slice(2, -1), 16));
    if (e.length === 5 && e[0] === "u") return String.fromCharCode(Number.parseInt(e.slice(1), 16));
    return e === "n" ? "\n" : e === "t" ? "\t" : e;
  });
}

/** The string literals of a right-hand side, up to a trailing comment. */
export function stringLiterals(rhs: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < rhs.length) {
    const c = rhs[i]!;
    if (c === "#") break; // comment
    let open = "";
    let close = "";
    let escapes = true;
    if (c === '"' || c === "'") {
      open = close = c;
      escapes = c === '"';
      i++;
    } else if (c === "%" && (rhs[i + 1] === "q" || rhs[i + 1] === "Q") && CLOSERS[rhs[i + 2] ?? ""]) {
      open = rhs[i + 2]!;
      close = CLOSERS[open]!;
      escapes = rhs[i + 1] === "Q";
      i += 3;
    } else {
      i++;
      continue;
    }
    let j = i;
    let depth = 0;
    while (j < rhs.length) {
      const d = rhs[j]!;
      if (d === "\\") j += 2;
      else if (open !== close && d === open) {
        depth++;
        j++;
      } else if (d === close && depth > 0) {
        depth--;
        j++;
      } else if (d === close) break;
      else j++;
    }
    const raw = rhs.slice(i, Math.min(j, rhs.length));
    out.push(escapes ? unescape(raw) : raw.replace(/\\([\\'])/g, "$1"));
    i = j + 1;
  }
  return out;
}

/** `Gem::Specification.new do |s|` → `s`. */
function blockVariable(text: string): string | undefined {
  const at = text.indexOf("Gem::Specification.new");
  if (at < 0) return undefined;
  const eol = text.indexOf("\n", at);
  const line = text.slice(at, eol < 0 ? text.length : eol);
  const a = line.indexOf("|");
  const b = line.indexOf("|", a + 1);
  if (a < 0 || b < 0) return undefined;
  const v = line.slice(a + 1, b).trim();
  return /^[a-z_][A-Za-z0-9_]*$/.test(v) ? v : undefined;
}

/** `<var>.<attr> = <rhs>` assignments, last one winning (as in Ruby). */
function assignments(text: string, v: string): Map<string, string> {
  const out = new Map<string, string>();
  const prefix = v + ".";
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf("\n", start);
    if (end < 0) end = text.length;
    const line = text.slice(start, end).trim();
    start = end + 1;
    if (!line.startsWith(prefix)) continue;
    let i = prefix.length;
    while (i < line.length && /[a-z_]/.test(line[i]!)) i++;
    const attr = line.slice(prefix.length, i);
    const rest = line.slice(i).trimStart();
    if (!attr || !rest.startsWith("=") || rest.startsWith("==")) continue;
    out.set(attr, rest.slice(1).trim());
  }
  return out;
}

function parse(file: CatalogFile): CatalogResult {
  return guarded("unreadable gemspec", () => {
    const text = file.content.toString("utf8");
    if (text.includes("\0")) return { packages: [], problems: ["gemspec has binary content"] };
    const v = blockVariable(text);
    if (!v) return { packages: [], problems: ["gemspec has no Gem::Specification.new block"] };
    const a = assignments(text, v);
    const name = stringLiterals(a.get("name") ?? "")[0];
    const version = stringLiterals(a.get("version") ?? "")[0];
    if (!name || !version)
      return { packages: [], problems: [`gemspec without ${name ? "version" : "name"}`] };
    if (name.includes("#{") || version.includes("#{"))
      return { packages: [], problems: ["gemspec name or version is computed (string interpolation)"] };
    const licenses = [...stringLiterals(a.get("license") ?? ""), ...stringLiterals(a.get("licenses") ?? "")];
    return { packages: [gemPackage(name, version, file.path, { licenses })] };
  });
}

export const gemspecCataloger: Cataloger = {
  id: "gem-specification",
  version: 1,
  ecosystem: "gem",
  matches: (path) => isInstalledGemspec(path),
  parse,
};
