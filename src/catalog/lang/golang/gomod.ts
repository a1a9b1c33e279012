import type { CatalogFile, CatalogResult, Cataloger, Package } from "../../types.js";
import { goPackage, isLocalReplacement } from "./package.js";

/**
 * go.mod (https://go.dev/ref/mod#go-mod-file): the main module, its requirements with
 * `exclude` and `replace` applied. A requirement replaced by another module version is
 * reported as that replacement (what the build uses); one replaced by a directory is reported
 * under its own path without a version (its code is local, not a released version). Excluded
 * versions are dropped, as Go never selects them. `// indirect` requirements are kept and
 * marked (metadata.indirect). The main module is reported without a version (metadata.main).
 */

export interface GoModRequire {
  path: string;
  version: string;
  indirect: boolean;
}

export interface GoModReplace {
  oldPath: string;
  oldVersion?: string;
  newPath: string;
  newVersion?: string;
}

export interface GoModFile {
  module?: string;
  go?: string;
  toolchain?: string;
  requires: GoModRequire[];
  replaces: GoModReplace[];
  excludes: { path: string; version: string }[];
}

interface Line {
  tokens: string[];
  comment: string;
  no: number;
}

/** Splits one line into tokens (quoted strings unquoted) and its trailing `//` comment. */
function lex(text: string, no: number): Line | string {
  const tokens: string[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === " " || c === "\t" || c === "\r") {
      i++;
    } else if (text.startsWith("//", i)) {
      return { tokens, comment: text.slice(i + 2).trim(), no };
    } else if (c === '"' || c === "`") {
      let j = i + 1;
      while (j < text.length && text[j] !== c) j += c === '"' && text[j] === "\\" ? 2 : 1;
      if (j >= text.length) return `line ${no}: unterminated string`;
      const body = text.slice(i + 1, j);
      tokens.push(c === '"' ? body.replace(/\\(.)/g, "$1") : body);
      i = j + 1;
    } else if (c === "(" || c === ")") {
      tokens.push(c);
      i++;
    } else {
      let j = i;
      while (j < text.length && !" \t\r()".includes(text[j]!) && !text.startsWith("//", j)) j++;
      tokens.push(text.slice(i, j));
      i = j;
    }
  }
  return { tokens, comment: "", no };
}

export function parseGoMod(text: string, problems: string[]): GoModFile {
  const mod: GoModFile = { requires: [], replaces: [], excludes: [] };
  let block: string | undefined;
  const lines = text.split("\n");
  for (let n = 0; n < lines.length; n++) {
    const lexed = lex(lines[n]!, n + 1);
    if (typeof lexed === "string") {
      problems.push(lexed);
      continue;
    }
    let { tokens } = lexed;
    if (!tokens.length) continue;
    if (block) {
      if (tokens[0] === ")") {
        block = undefined;
        continue;
      }
      tokens = [block, ...tokens];
    } else if (tokens.length === 2 && tokens[1] === "(") {
      block = tokens[0];
      continue;
    }
    directive(mod, tokens, lexed, problems);
  }
  if (block) problems.push(`unterminated ${block} block`);
  return mod;
}

function directive(mod: GoModFile, t: string[], line: Line, problems: string[]): void {
  const bad = () => problems.push(`line ${line.no}: malformed ${t[0]} directive`);
  switch (t[0]) {
    case "module":
      if (t.length === 2) mod.module = t[1];
      else bad();
      break;
    case "go":
      if (t.length === 2) mod.go = t[1];
      else bad();
      break;
    case "toolchain":
      if (t.length === 2) mod.toolchain = t[1];
      else bad();
      break;
    case "require":
      if (t.length === 3) {
        const c = line.comment;
        mod.requires.push({
          path: t[1]!,
          version: t[2]!,
          indirect: c === "indirect" || c.startsWith("indirect;"),
        });
      } else bad();
      break;
    case "exclude":
      if (t.length === 3) mod.excludes.push({ path: t[1]!, version: t[2]! });
      else bad();
      break;
    case "replace": {
      const arrow = t.indexOf("=>");
      const left = t.slice(1, arrow);
      const right = t.slice(arrow + 1);
      if (arrow < 0 || left.length < 1 || left.length > 2 || right.length < 1 || right.length > 2) {
        bad();
        break;
      }
      mod.replaces.push({ oldPath: left[0]!, oldVersion: left[1], newPath: right[0]!, newVersion: right[1] });
      break;
    }
    // retract, godebug, tool, ignore and future directives say nothing about dependencies.
  }
}

/** The modules a go.mod resolves to (see the file comment). */
export function goModPackages(mod: GoModFile, file: string): Package[] {
  const out: Package[] = [];
  if (mod.module) {
    const meta: Record<string, string | boolean> = { main: true };
    if (mod.go) meta.go = mod.go;
    if (mod.toolchain) meta.toolchain = mod.toolchain;
    out.push(goPackage(mod.module, "", file, meta));
  }
  const excluded = new Set(mod.excludes.map((e) => `${e.path}@${e.version}`));
  for (const req of mod.requires) {
    if (excluded.has(`${req.path}@${req.version}`)) continue;
    // A version-specific replacement wins over a path-wide one.
    const rep =
      mod.replaces.find((r) => r.oldPath === req.path && r.oldVersion === req.version) ??
      mod.replaces.find((r) => r.oldPath === req.path && r.oldVersion === undefined);
    const meta: Record<string, string | boolean> = req.indirect ? { indirect: true } : {};
    if (rep && isLocalReplacement(rep.newPath, rep.newVersion))
      out.push(goPackage(req.path, "", file, { ...meta, replace: rep.newPath }));
    else if (rep)
      out.push(
        goPackage(rep.newPath, rep.newVersion!, file, { ...meta, replaces: `${req.path}@${req.version}` }),
      );
    else out.push(goPackage(req.path, req.version, file, meta));
  }
  return out;
}

export function catalogGoMod(file: Pick<CatalogFile, "path" | "content">): CatalogResult {
  const problems: string[] = [];
  const mod = parseGoMod(file.content.toString("utf8"), problems);
  if (!mod.module) problems.push("no module directive");
  const packages = goModPackages(mod, file.path);
  return problems.length ? { packages, problems } : { packages };
}

export const goModCataloger: Cataloger = {
  id: "go-mod",
  version: 1,
  ecosystem: "golang",
  // The module cache (…/pkg/mod/) holds the go.mod of every downloaded dependency, and
  // testdata/ directories are ignored by the go tool: neither declares what the image runs.
  matches: (path) => path.endsWith("/go.mod") && !path.includes("/pkg/mod/") && !path.includes("/testdata/"),
  parse: (file) => catalogGoMod(file),
};
