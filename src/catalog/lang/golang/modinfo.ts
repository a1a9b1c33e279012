/**
 * The module-info text of a Go binary (runtime/debug.BuildInfo.String's format):
 *
 *   path  <main package path>
 *   mod   <main module path> <version> [<sum>]
 *   dep   <module path> <version> [<sum>]
 *   =>    <replacement path> [<version> <sum>]      (replaces the line above)
 *   build <key>=<value>                            (quoted when needed, Go string syntax)
 *
 * fields are tab-separated. Unknown lines are ignored (newer toolchains may add some).
 */

export interface GoModule {
  path: string;
  /** `(devel)` for modules built from a work tree; empty for local replacements. */
  version: string;
  sum?: string;
  replace?: GoModule;
}

export interface ModInfo {
  /** Main package path (`cmd/go`, `github.com/x/y/cmd/z`, `command-line-arguments`). */
  path?: string;
  main?: GoModule;
  deps: GoModule[];
  settings: Map<string, string>;
}

function moduleOf(fields: string[]): GoModule {
  const m: GoModule = { path: fields[0] ?? "", version: fields[1] ?? "" };
  if (fields[2]) m.sum = fields[2];
  return m;
}

/** Unquotes a Go double-quoted string literal (strconv.Quote output); null when malformed. */
export function unquoteGo(s: string): string | null {
  if (s.length < 2 || s[0] !== '"' || s[s.length - 1] !== '"') return null;
  const body = s.slice(1, -1);
  if (!body.includes("\\")) return body.includes('"') ? null : body;
  const bytes: number[] = [];
  const pushText = (t: string) => bytes.push(...Buffer.from(t, "utf8"));
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c !== "\\") {
      if (c === '"') return null;
      pushText(c);
      continue;
    }
    const e = body[++i];
    const simple: Record<string, number> = {
      a: 7,
      b: 8,
      f: 12,
      n: 10,
      r: 13,
      t: 9,
      v: 11,
      "\\": 92,
      '"': 34,
      "'": 39,
    };
    if (e !== undefined && e in simple) bytes.push(simple[e]!);
    else if (e === "x" && /^[0-9a-fA-F]{2}$/.test(body.slice(i + 1, i + 3))) {
      bytes.push(parseInt(body.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (
      (e === "u" || e === "U") &&
      /^[0-9a-fA-F]+$/.test(body.slice(i + 1, i + (e === "u" ? 5 : 9)))
    ) {
      const n = e === "u" ? 4 : 8;
      const cp = parseInt(body.slice(i + 1, i + 1 + n), 16);
      if (cp > 0x10ffff) return null;
      pushText(String.fromCodePoint(cp));
      i += n;
    } else if (e !== undefined && /^[0-7]{3}$/.test(body.slice(i, i + 3))) {
      bytes.push(parseInt(body.slice(i, i + 3), 8) & 0xff);
      i += 2;
    } else return null;
  }
  return Buffer.from(bytes).toString("utf8");
}

function parseSetting(s: string, settings: Map<string, string>): void {
  let key: string;
  let rest: string;
  if (s.startsWith('"')) {
    // A quoted key: find its closing quote (not escaped).
    let j = 1;
    while (j < s.length && s[j] !== '"') j += s[j] === "\\" ? 2 : 1;
    const k = unquoteGo(s.slice(0, j + 1));
    if (k === null || s[j + 1] !== "=") return;
    key = k;
    rest = s.slice(j + 2);
  } else {
    const eq = s.indexOf("=");
    if (eq <= 0) return;
    key = s.slice(0, eq);
    rest = s.slice(eq + 1);
  }
  const value = rest.startsWith('"') ? unquoteGo(rest) : rest;
  if (value !== null) settings.set(key, value);
}

export function parseModInfo(text: string): ModInfo {
  const info: ModInfo = { deps: [], settings: new Map() };
  let last: GoModule | undefined;
  for (const line of text.split("\n")) {
    const tab = line.indexOf("\t");
    if (tab < 0) continue;
    const word = line.slice(0, tab);
    const rest = line.slice(tab + 1);
    switch (word) {
      case "path":
        info.path = rest;
        last = undefined;
        break;
      case "mod":
        last = info.main = moduleOf(rest.split("\t"));
        break;
      case "dep":
        last = moduleOf(rest.split("\t"));
        info.deps.push(last);
        break;
      case "=>":
        if (last) last.replace = moduleOf(rest.split("\t"));
        last = undefined;
        break;
      case "build":
        parseSetting(rest, info.settings);
        last = undefined;
        break;
    }
  }
  return info;
}
