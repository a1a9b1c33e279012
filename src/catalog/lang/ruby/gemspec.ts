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
 *
 * Above the block, RubyGems (Gem::Specification#to_ruby) writes the lines its
 * StubSpecification reads without loading the file:
 *
 *     # stub: json 2.6.1 ruby lib
 *     # stub: ext/json/ext/generator/extconf.rb\0ext/json/ext/parser/extconf.rb
 *
 * the first `name version platform require_paths`, the second (gems with native extensions,
 * such as the default gems json and digest) the extensions; lists are joined with NUL bytes.
 * NUL is accepted there and nowhere else, and the stub's name and version stand in when the
 * block does not state them as literals.
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

const STUB = "# stub: ";

export interface GemStub {
  name: string;
  version: string;
  platform: string;
  requirePaths: string[];
  /** Native extensions (the second stub line), when the gem has any. */
  extensions: string[];
}

/**
 * The `# stub:` lines of the leading comment block (RubyGems' StubSpecification), and whether
 * a NUL byte occurs anywhere else in the file (a binary file is no gemspec). Null stub when
 * the first stub line is absent or malformed.
 */
export function readStub(text: string): { stub: GemStub | null; binaryOutsideStub: boolean } {
  const stubLines: string[] = [];
  let pos = 0;
  // The leading comment block: `# -*- encoding -*-`, `# frozen_string_literal`, `# stub:` lines.
  while (pos < text.length && text.startsWith("#", pos)) {
    let end = text.indexOf("\n", pos);
    if (end < 0) end = text.length;
    const line = text.slice(pos, end).replace(/\r$/, "");
    if (line.startsWith(STUB)) stubLines.push(line.slice(STUB.length));
    else if (line.includes("\0")) return { stub: null, binaryOutsideStub: true };
    pos = end + 1;
  }
  const binaryOutsideStub = text.indexOf("\0", pos) >= 0;
  // `name version platform require_paths`, split at the first three spaces (as RubyGems'
  // `split(" ", 4)`): only the paths may hold NUL (and spaces).
  const m = /^([^ \0]+) ([^ \0]+) ([^ \0]+) (.+)$/.exec(stubLines[0] ?? "");
  if (!m) return { stub: null, binaryOutsideStub };
  const [, name, version, platform, paths] = m as unknown as [string, string, string, string, string];
  const list = (s: string) => s.split("\0").filter((x) => x !== "");
  return {
    stub: { name, version, platform, requirePaths: list(paths), extensions: list(stubLines[1] ?? "") },
    binaryOutsideStub,
  };
}

function parse(file: CatalogFile): CatalogResult {
  return guarded("unreadable gemspec", () => {
    const text = file.content.toString("utf8");
    const { stub, binaryOutsideStub } = readStub(text);
    if (binaryOutsideStub) return { packages: [], problems: ["gemspec has binary content"] };
    const v = blockVariable(text);
    if (!v) return { packages: [], problems: ["gemspec has no Gem::Specification.new block"] };
    const a = assignments(text, v);
    const computed = (s: string | undefined) => s === undefined || s.includes("#{");
    let name = stringLiterals(a.get("name") ?? "")[0];
    let version = stringLiterals(a.get("version") ?? "")[0];
    // What RubyGems itself lists the gem as, when the block's own values are not literals.
    if (stub && computed(name)) name = stub.name;
    if (stub && computed(version)) version = stub.version;
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
  version: 2,
  ecosystem: "gem",
  matches: (path) => isInstalledGemspec(path),
  parse,
};
