/**
 * A TOML (v1.0) reader for what lock files use: tables, arrays of tables, dotted and quoted
 * keys, basic/literal/multi-line strings, arrays, inline tables, booleans; numbers and dates are
 * kept as numbers or strings without further checks. Malformed input is a TomlError with a line
 * number. Nesting of arrays and inline tables is bounded, so hostile input cannot exhaust the
 * stack.
 */

export class TomlError extends Error {
  override readonly name = "TomlError";
}

export type TomlValue = string | number | boolean | TomlValue[] | TomlTable;
export interface TomlTable {
  [key: string]: TomlValue;
}

const MAX_NESTING = 64;
const BARE_KEY = /[A-Za-z0-9_-]/;

function isTable(v: TomlValue | undefined): v is TomlTable {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function parseToml(text: string): TomlTable {
  const src = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  let i = 0;
  const root: TomlTable = {};
  let current = root;

  const line = (pos = i) => {
    let n = 1;
    for (let j = src.indexOf("\n"); j >= 0 && j < pos; j = src.indexOf("\n", j + 1)) n++;
    return n;
  };
  const fail = (msg: string, pos = i): never => {
    throw new TomlError(`line ${line(pos)}: ${msg}`);
  };
  const skipBlanks = () => {
    while (src[i] === " " || src[i] === "\t") i++;
  };
  const skipComment = () => {
    if (src[i] === "#") while (i < src.length && src[i] !== "\n") i++;
  };
  /** Blanks, newlines and comments (inside arrays, between statements). */
  const skipAll = () => {
    for (;;) {
      skipBlanks();
      if (src[i] === "#") skipComment();
      else if (src[i] === "\n" || src[i] === "\r") i++;
      else return;
    }
  };
  const endOfLine = () => {
    skipBlanks();
    skipComment();
    if (src[i] === "\r") i++;
    if (i < src.length && src[i] !== "\n") fail(`unexpected ${JSON.stringify(src[i])} after value`);
    i++;
  };

  const escape = (): string => {
    const c = src[i++];
    switch (c) {
      case "b":
        return "\b";
      case "t":
        return "\t";
      case "n":
        return "\n";
      case "f":
        return "\f";
      case "r":
        return "\r";
      case '"':
        return '"';
      case "\\":
        return "\\";
      case "u":
      case "U": {
        const n = c === "u" ? 4 : 8;
        const hex = src.slice(i, i + n);
        if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length !== n) fail("bad unicode escape");
        const cp = parseInt(hex, 16);
        if (cp > 0x10ffff) fail("bad unicode escape");
        i += n;
        return String.fromCodePoint(cp);
      }
      default:
        return fail(`bad escape \\${c ?? ""}`);
    }
  };

  const basicString = (): string => {
    i++; // opening quote
    let out = "";
    for (;;) {
      const c = src[i];
      if (c === undefined || c === "\n") fail("unterminated string");
      i++;
      if (c === '"') return out;
      out += c === "\\" ? escape() : c;
    }
  };

  const literalString = (): string => {
    const end = src.indexOf("'", i + 1);
    const nl = src.indexOf("\n", i + 1);
    if (end < 0 || (nl >= 0 && nl < end)) fail("unterminated string");
    const s = src.slice(i + 1, end);
    i = end + 1;
    return s;
  };

  const multiline = (quote: string): string => {
    const delim = quote.repeat(3);
    i += 3;
    if (src[i] === "\n") i++;
    else if (src.startsWith("\r\n", i)) i += 2;
    let end = src.indexOf(delim, i);
    if (end < 0) fail("unterminated multi-line string");
    // Up to two quotes right before the closing delimiter belong to the content.
    for (let extra = 0; extra < 2 && src[end + 3] === quote; extra++) end++;
    const raw = src.slice(i, end);
    i = end + 3;
    if (quote === "'") return raw;
    let out = "";
    for (let j = 0; j < raw.length; j++) {
      const c = raw[j]!;
      if (c !== "\\") {
        out += c;
        continue;
      }
      // Line-ending backslash: trims the newline and the whitespace after it.
      const rest = raw.slice(j + 1);
      const m = /^[ \t]*\r?\n[\s]*/.exec(rest);
      if (m) {
        j += m[0].length;
        continue;
      }
      const e = rest[0];
      const simple: Record<string, string> = {
        b: "\b",
        t: "\t",
        n: "\n",
        f: "\f",
        r: "\r",
        '"': '"',
        "\\": "\\",
      };
      if (e !== undefined && e in simple) {
        out += simple[e];
        j++;
      } else if (e === "u" || e === "U") {
        const n = e === "u" ? 4 : 8;
        const hex = rest.slice(1, 1 + n);
        if (hex.length !== n || !/^[0-9a-fA-F]+$/.test(hex) || parseInt(hex, 16) > 0x10ffff)
          fail("bad unicode escape");
        out += String.fromCodePoint(parseInt(hex, 16));
        j += n + 1;
      } else fail(`bad escape \\${e ?? ""}`);
    }
    return out;
  };

  const key = (): string[] => {
    const parts: string[] = [];
    for (;;) {
      skipBlanks();
      const c = src[i];
      if (c === '"') parts.push(basicString());
      else if (c === "'") parts.push(literalString());
      else {
        const start = i;
        while (i < src.length && BARE_KEY.test(src[i]!)) i++;
        if (i === start) fail("expected a key");
        parts.push(src.slice(start, i));
      }
      skipBlanks();
      if (src[i] !== ".") return parts;
      i++;
    }
  };

  const value = (depth: number): TomlValue => {
    if (depth > MAX_NESTING) fail("values nested too deeply");
    const c = src[i];
    if (c === '"') return src.startsWith('"""', i) ? multiline('"') : basicString();
    if (c === "'") return src.startsWith("'''", i) ? multiline("'") : literalString();
    if (c === "[") {
      i++;
      const arr: TomlValue[] = [];
      for (;;) {
        skipAll();
        if (src[i] === "]") {
          i++;
          return arr;
        }
        arr.push(value(depth + 1));
        skipAll();
        if (src[i] === ",") i++;
        else if (src[i] !== "]") fail("expected , or ] in array");
      }
    }
    if (c === "{") {
      i++;
      const table: TomlTable = {};
      skipBlanks();
      if (src[i] === "}") {
        i++;
        return table;
      }
      for (;;) {
        const k = key();
        if (src[i] !== "=") fail("expected = in inline table");
        i++;
        skipBlanks();
        assign(table, k, value(depth + 1));
        skipBlanks();
        if (src[i] === "}") {
          i++;
          return table;
        }
        if (src[i] !== ",") fail("expected , or } in inline table");
        i++;
      }
    }
    const m = /^[0-9A-Za-z_+\-.:]+/.exec(src.slice(i, i + 64));
    if (!m) return fail("expected a value");
    let tok = m[0];
    // A local date and a time separated by a space (RFC 3339 allows it) are one value.
    const time = /^\d{4}-\d{2}-\d{2}$/.test(tok)
      ? /^ \d{2}:[0-9:.+\-Z]*/.exec(src.slice(i + tok.length, i + 64))
      : null;
    if (time) tok += time[0];
    i += tok.length;
    if (tok === "true") return true;
    if (tok === "false") return false;
    const num = Number(tok.replace(/_/g, ""));
    if (/^[+-]?(\d[\d_]*)(\.\d[\d_]*)?([eE][+-]?\d+)?$/.test(tok) && Number.isFinite(num)) return num;
    // Dates, hex/octal/binary numbers, inf/nan: kept as written.
    return tok;
  };

  const assign = (table: TomlTable, path: string[], v: TomlValue) => {
    let t = table;
    for (const p of path.slice(0, -1)) {
      const next = t[p];
      if (next === undefined) t = t[p] = {};
      else if (isTable(next)) t = next;
      else fail(`key ${p} is not a table`);
    }
    const last = path[path.length - 1]!;
    if (last in t) fail(`duplicate key ${path.join(".")}`);
    t[last] = v;
  };

  /** Walks/creates the tables of a header; the last element of `[[x]]` arrays is the one walked into. */
  const tableAt = (path: string[]): TomlTable => {
    let t = root;
    for (const p of path) {
      const next = t[p];
      if (next === undefined) t = t[p] = {};
      else if (isTable(next)) t = next;
      else if (Array.isArray(next) && isTable(next[next.length - 1])) t = next[next.length - 1] as TomlTable;
      else fail(`key ${p} is not a table`);
    }
    return t;
  };

  for (;;) {
    skipAll();
    if (i >= src.length) break;
    if (src.startsWith("[[", i)) {
      i += 2;
      const path = key();
      if (!src.startsWith("]]", i)) fail("expected ]]");
      i += 2;
      endOfLine();
      const parent = tableAt(path.slice(0, -1));
      const last = path[path.length - 1]!;
      const arr = parent[last] ?? (parent[last] = []);
      if (!Array.isArray(arr)) fail(`key ${last} is not an array of tables`);
      const t: TomlTable = {};
      (arr as TomlValue[]).push(t);
      current = t;
    } else if (src[i] === "[") {
      i++;
      const path = key();
      if (src[i] !== "]") fail("expected ]");
      i++;
      endOfLine();
      current = tableAt(path);
    } else {
      const k = key();
      if (src[i] !== "=") fail("expected =");
      i++;
      skipBlanks();
      assign(current, k, value(0));
      endOfLine();
    }
  }
  return root;
}
