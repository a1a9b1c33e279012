import type { Comparison } from "./types.js";

/**
 * PEP 440 versions, ordered exactly as pypa/packaging's `Version` (its `_cmpkey`). Strings that
 * are not PEP 440 are ordered as packaging's old `LegacyVersion` did (before every PEP 440
 * version): that is the rule OSV and pip < 22 apply to them, and it keeps `compare` total.
 *
 * The parser is a hand-written cursor over the string rather than packaging's regex: `compare`
 * sits on the matching hot path, and parsed versions are cached (bounded).
 */

/** A release/pre/post/dev number: exact `number` up to 15 digits, else its canonical digits. */
export type Pep440Num = number | string;

export interface Pep440Version {
  readonly epoch: Pep440Num;
  readonly release: readonly Pep440Num[];
  readonly pre: readonly ["a" | "b" | "rc", Pep440Num] | null;
  readonly post: Pep440Num | null;
  readonly dev: Pep440Num | null;
  /** Local segment parts, lower-cased; all-digit parts compare as numbers. */
  readonly local: readonly string[] | null;
}

export function numOf(digits: string): Pep440Num {
  let i = 0;
  while (i < digits.length - 1 && digits.charCodeAt(i) === 48) i++;
  const d = i === 0 ? digits : digits.slice(i);
  // 15 digits always fit a double exactly; longer runs (dates, hashes) compare as digit strings.
  return d.length <= 15 ? Number(d) : d;
}

export function cmpNum(a: Pep440Num, b: Pep440Num): number {
  if (typeof a === "number" && typeof b === "number") return a < b ? -1 : a > b ? 1 : 0;
  const sa = String(a);
  const sb = String(b);
  if (sa.length !== sb.length) return sa.length < sb.length ? -1 : 1;
  return sa < sb ? -1 : sa > sb ? 1 : 0;
}

/** Python's `str.isspace()` set, which packaging's `\s*` strips around a version. */
export function isPyWhitespace(c: number): boolean {
  return (
    (c >= 9 && c <= 13) ||
    c === 32 ||
    (c >= 0x1c && c <= 0x1f) ||
    c === 0x85 ||
    c === 0xa0 ||
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000
  );
}

export function pyStrip(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && isPyWhitespace(s.charCodeAt(a))) a++;
  while (b > a && isPyWhitespace(s.charCodeAt(b - 1))) b--;
  return a === 0 && b === s.length ? s : s.slice(a, b);
}

const isDigit = (c: number): boolean => c >= 48 && c <= 57;
/** ASCII-only lower-casing: packaging accepts no non-ASCII letter ("1.0+İ" is invalid). */
const lower = (c: number): number => (c >= 65 && c <= 90 ? c + 32 : c);
const isAlnum = (c: number): boolean => isDigit(c) || (c >= 97 && c <= 122);
const isSep = (c: number): boolean => c === 46 || c === 95 || c === 45; // . _ -

/** A cursor over an ASCII-lower-cased copy of the input. */
class Cursor {
  pos = 0;
  constructor(readonly s: string) {}
  at(i = this.pos): number {
    return i < this.s.length ? this.s.charCodeAt(i) : -1;
  }
  digits(): string | null {
    const start = this.pos;
    while (isDigit(this.at())) this.pos++;
    return this.pos > start ? this.s.slice(start, this.pos) : null;
  }
  /** Consumes the first of `words` found at the cursor (order matters: "alpha" before "a"). */
  word(words: readonly string[]): string | null {
    for (const w of words) {
      if (this.s.startsWith(w, this.pos)) {
        this.pos += w.length;
        return w;
      }
    }
    return null;
  }
  optSep(): void {
    if (isSep(this.at())) this.pos++;
  }
}

const PRE_WORDS = ["alpha", "a", "beta", "b", "preview", "pre", "c", "rc"] as const;
const PRE_NORMAL: Record<string, "a" | "b" | "rc"> = {
  alpha: "a",
  a: "a",
  beta: "b",
  b: "b",
  preview: "rc",
  pre: "rc",
  c: "rc",
  rc: "rc",
};
const POST_WORDS = ["post", "rev", "r"] as const;

function lowerAscii(s: string): string {
  let out = "";
  for (let i = 0; i < s.length; i++) out += String.fromCharCode(lower(s.charCodeAt(i)));
  return out;
}

/**
 * Parses the body of a version (no surrounding whitespace) from `c`, stopping where the grammar
 * ends. Returns null when no version starts at the cursor. `allowLocal` is false for the
 * specifier operators that forbid a local segment.
 */
export function parseVersionAt(c: Cursor, allowLocal = true): Pep440Version | null {
  if (c.at() === 118) c.pos++; // optional leading "v"
  let first = c.digits();
  if (first === null) return null;
  let epoch: Pep440Num = 0;
  if (c.at() === 33) {
    // "!": the digits were the epoch
    c.pos++;
    epoch = numOf(first);
    first = c.digits();
    if (first === null) return null;
  }
  const release: Pep440Num[] = [numOf(first)];
  while (c.at() === 46 && isDigit(c.at(c.pos + 1))) {
    c.pos++;
    release.push(numOf(c.digits()!));
  }

  let pre: ["a" | "b" | "rc", Pep440Num] | null = null;
  let save = c.pos;
  c.optSep();
  const preWord = c.word(PRE_WORDS);
  if (preWord !== null) {
    c.optSep();
    const n = c.digits();
    pre = [PRE_NORMAL[preWord]!, n === null ? 0 : numOf(n)];
  } else c.pos = save;

  let post: Pep440Num | null = null;
  save = c.pos;
  if (c.at() === 45 && isDigit(c.at(c.pos + 1))) {
    c.pos++;
    post = numOf(c.digits()!);
  } else {
    c.optSep();
    if (c.word(POST_WORDS) !== null) {
      c.optSep();
      const n = c.digits();
      post = n === null ? 0 : numOf(n);
    } else c.pos = save;
  }

  let dev: Pep440Num | null = null;
  save = c.pos;
  c.optSep();
  if (c.word(["dev"]) !== null) {
    c.optSep();
    const n = c.digits();
    dev = n === null ? 0 : numOf(n);
  } else c.pos = save;

  let local: string[] | null = null;
  if (allowLocal && c.at() === 43 && isAlnum(c.at(c.pos + 1))) {
    c.pos++;
    local = [];
    for (;;) {
      const start = c.pos;
      while (isAlnum(c.at())) c.pos++;
      local.push(c.s.slice(start, c.pos));
      if (isSep(c.at()) && isAlnum(c.at(c.pos + 1))) c.pos++;
      else break;
    }
  }
  return { epoch, release, pre, post, dev, local };
}

/** Parses a PEP 440 version, or null. Surrounding (Unicode) whitespace is ignored, as upstream. */
export function parsePep440(version: string): Pep440Version | null {
  const c = new Cursor(lowerAscii(pyStrip(version)));
  const v = parseVersionAt(c);
  return v !== null && c.pos === c.s.length ? v : null;
}

/** `Cursor` is exported for the specifier parser only. */
export { Cursor as Pep440Cursor, lowerAscii };

function localPartCmp(a: string, b: string): number {
  const an = isAllDigits(a);
  const bn = isAllDigits(b);
  if (an && bn) return cmpNum(numOf(a), numOf(b));
  if (an !== bn) return an ? 1 : -1; // numeric local parts sort after alphanumeric ones
  return a < b ? -1 : a > b ? 1 : 0;
}

function isAllDigits(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (!isDigit(s.charCodeAt(i))) return false;
  return s.length > 0;
}

/** Compares release tuples as packaging does: trailing zeros do not count. */
export function cmpRelease(a: readonly Pep440Num[], b: readonly Pep440Num[]): number {
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = cmpNum(a[i] ?? 0, b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

const PRE_RANK = { a: 0, b: 1, rc: 2 } as const;

/**
 * The public part of packaging's `_cmpkey`: epoch, release, then pre (a dev release of a final
 * sorts before its pre-releases), post, dev.
 */
export function cmpPublic(a: Pep440Version, b: Pep440Version): number {
  let d = cmpNum(a.epoch, b.epoch);
  if (d !== 0) return d;
  d = cmpRelease(a.release, b.release);
  if (d !== 0) return d;
  d = preKey(a) - preKey(b);
  if (d !== 0) return d;
  if (a.pre !== null && b.pre !== null) {
    d = cmpNum(a.pre[1], b.pre[1]);
    if (d !== 0) return d;
  }
  // post: absent sorts first
  if (a.post === null || b.post === null) {
    if (a.post !== b.post) return a.post === null ? -1 : 1;
  } else {
    d = cmpNum(a.post, b.post);
    if (d !== 0) return d;
  }
  // dev: absent sorts last
  if (a.dev === null || b.dev === null) {
    if (a.dev !== b.dev) return a.dev === null ? 1 : -1;
  } else {
    d = cmpNum(a.dev, b.dev);
    if (d !== 0) return d;
  }
  return 0;
}

/** -1: bare dev release (before any pre), 0..2: a/b/rc, 3: no pre-release. */
function preKey(v: Pep440Version): number {
  if (v.pre !== null) return PRE_RANK[v.pre[0]];
  return v.post === null && v.dev !== null ? -1 : 3;
}

export function cmpLocal(a: readonly string[] | null, b: readonly string[] | null): number {
  if (a === null || b === null) return a === b ? 0 : a === null ? -1 : 1;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = localPartCmp(a[i]!, b[i]!);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

export function comparePep440Parsed(a: Pep440Version, b: Pep440Version): number {
  return cmpPublic(a, b) || cmpLocal(a.local, b.local);
}

export function isPrerelease(v: Pep440Version): boolean {
  return v.pre !== null || v.dev !== null;
}

/** `str(Version(...))`: the normalized form. */
export function formatPep440(v: Pep440Version): string {
  let s = v.release.map(String).join(".");
  if (v.epoch !== 0) s = `${v.epoch}!${s}`;
  if (v.pre !== null) s += `${v.pre[0]}${v.pre[1]}`;
  if (v.post !== null) s += `.post${v.post}`;
  if (v.dev !== null) s += `.dev${v.dev}`;
  if (v.local !== null) s += `+${v.local.map((p) => (isAllDigits(p) ? String(numOf(p)) : p)).join(".")}`;
  return s;
}

export function normalizePep440(version: string): string | null {
  const v = parsePep440(version);
  return v === null ? null : formatPep440(v);
}

// ---- LegacyVersion (packaging < 22) for strings that are not PEP 440 ----

const LEGACY_REPLACE: Record<string, string> = {
  pre: "c",
  preview: "c",
  "-": "final-",
  rc: "c",
  dev: "@",
};

/** packaging's `_legacy_cmpkey` parts (its epoch is -1: every legacy version sorts first). */
export function legacyKey(version: string): string[] {
  const s = version.toLowerCase();
  const raw: string[] = [];
  // re.split(r"(\d+|[a-z]+|\.|-)") keeps both the matched tokens and the text between them.
  let i = 0;
  let between = "";
  while (i < s.length) {
    const c = s.charCodeAt(i);
    let j = i;
    if (isDigit(c)) while (isDigit(s.charCodeAt(j))) j++;
    else if (c >= 97 && c <= 122) while (j < s.length && s.charCodeAt(j) >= 97 && s.charCodeAt(j) <= 122) j++;
    else if (c === 46 || c === 45) j = i + 1;
    if (j === i) {
      between += s[i];
      i++;
      continue;
    }
    if (between !== "") raw.push(between);
    between = "";
    raw.push(s.slice(i, j));
    i = j;
  }
  if (between !== "") raw.push(between);

  const parts: string[] = [];
  const emit = (p: string): void => {
    if (p.startsWith("*")) {
      if (p < "*final") while (parts.length > 0 && parts[parts.length - 1] === "*final-") parts.pop();
      while (parts.length > 0 && parts[parts.length - 1] === "00000000") parts.pop();
    }
    parts.push(p);
  };
  for (const r of raw) {
    const p = LEGACY_REPLACE[r] ?? r;
    if (p === "" || p === ".") continue;
    emit(isDigit(p.charCodeAt(0)) ? p.padStart(8, "0") : `*${p}`);
  }
  emit("*final");
  return parts;
}

function cmpStrings(a: readonly string[], b: readonly string[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) return a[i]! < b[i]! ? -1 : 1;
  }
  return a.length - b.length;
}

// ---- the scheme ----

type Parsed = { pep: Pep440Version } | { legacy: string[] };

const CACHE_LIMIT = 8192;
const cache = new Map<string, Parsed>();

function parsedOf(version: string): Parsed {
  let p = cache.get(version);
  if (p === undefined) {
    const pep = parsePep440(version);
    p = pep !== null ? { pep } : { legacy: legacyKey(version) };
    // Dropping the whole cache when full is O(1); evicting the oldest key from a Map is not
    // (V8 skips the deleted slots at the front on every keys().next()).
    if (cache.size >= CACHE_LIMIT) cache.clear();
    cache.set(version, p);
  }
  return p;
}

/** Parses through the bounded cache (for the specifier matcher). */
export function cachedPep440(version: string): Pep440Version | null {
  const p = parsedOf(version);
  return "pep" in p ? p.pep : null;
}

export function comparePep440(a: string, b: string): Comparison {
  if (a === b) return 0;
  const pa = parsedOf(a);
  const pb = parsedOf(b);
  let d: number;
  if ("pep" in pa) d = "pep" in pb ? comparePep440Parsed(pa.pep, pb.pep) : 1;
  else d = "pep" in pb ? -1 : cmpStrings(pa.legacy, pb.legacy);
  return d < 0 ? -1 : d > 0 ? 1 : 0;
}
