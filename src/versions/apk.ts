import type { Comparison, VersionScheme } from "./types.js";

/**
 * Alpine versions: `digit{.digit}...{letter}{_suffix{#}}...{~hash}{-r#}`, ordered as
 * apk_version_compare orders them (apk-tools 3, src/version.c). The string is read as a token
 * stream; two versions are compared token by token while both streams have the same token
 * type, then the type that ended the walk decides.
 *
 * `isValid` is apk-tools 3's apk_version_validate. `compare` reads two things apk-tools 3
 * rejects the way apk-tools 2 (the apk of most Alpine releases) reads them: digits straight
 * after a letter (`6.0.2p1-r8`, found in real secdb advisories) and an empty digit run (read as
 * 0). apk 3 turns the stream INVALID there, which would make 6.0.2p1-r0 equal 6.0.2p1-r8.
 * Everything apk 3 accepts compares exactly as in apk 3; every string has an order.
 */

// Token types, in the order that decides the tail of a comparison.
const INITIAL_DIGIT = 0;
const DIGIT = 1;
const LETTER = 2;
const SUFFIX = 3;
const SUFFIX_NO = 4;
const COMMIT_HASH = 5;
const REVISION_NO = 6;
const END = 7;
const INVALID = 8;

// Suffix ranks: pre-release suffixes below NONE, post-release ones above.
const SUFFIX_INVALID = 0;
const SUFFIX_NONE = 5;
const SUFFIXES: ReadonlyMap<string, number> = new Map([
  ["alpha", 1],
  ["beta", 2],
  ["pre", 3],
  ["rc", 4],
  ["cvs", 6],
  ["svn", 7],
  ["git", 8],
  ["hg", 9],
  ["p", 10],
]);

interface TokenState {
  token: number;
  suffix: number;
  /** The token's text is s[start, end). */
  start: number;
  end: number;
  pos: number;
  /** Read digits after a letter and empty digit runs as apk-tools 2 does (see the top). */
  lenient: boolean;
}

const newState = (lenient: boolean): TokenState => ({
  token: INITIAL_DIGIT,
  suffix: 0,
  start: 0,
  end: 0,
  pos: 0,
  lenient,
});

const isDigit = (c: number): boolean => c >= 48 && c <= 57;
const isLower = (c: number): boolean => c >= 97 && c <= 122;
const isHex = (c: number): boolean => isDigit(c) || (c >= 97 && c <= 102);

function parseDigits(s: string, t: TokenState): void {
  t.start = t.pos;
  while (t.pos < s.length && isDigit(s.charCodeAt(t.pos))) t.pos++;
  t.end = t.pos;
  if (t.end === t.start && !t.lenient) t.token = INVALID;
}

function first(s: string, t: TokenState): void {
  t.pos = 0;
  t.token = INITIAL_DIGIT;
  parseDigits(s, t);
}

function next(s: string, t: TokenState): void {
  if (t.pos >= s.length) {
    t.token = END;
    return;
  }
  const c = s.charCodeAt(t.pos);
  if (isLower(c)) {
    if (t.token > DIGIT) {
      t.token = INVALID;
      return;
    }
    t.start = t.pos;
    t.end = ++t.pos;
    t.token = LETTER;
  } else if (c === 46 || isDigit(c)) {
    // `.` then digits, or digits straight after a suffix name
    if (c === 46) {
      if (t.token > DIGIT) {
        t.token = INVALID;
        return;
      }
      t.pos++;
    }
    if (t.token === INITIAL_DIGIT || t.token === DIGIT) t.token = DIGIT;
    else if (t.token === SUFFIX) t.token = SUFFIX_NO;
    else if (t.token === LETTER && c !== 46 && t.lenient) t.token = DIGIT;
    else {
      t.token = INVALID;
      return;
    }
    parseDigits(s, t);
  } else if (c === 95) {
    // `_suffix`
    if (t.token > SUFFIX_NO) {
      t.token = INVALID;
      return;
    }
    t.start = ++t.pos;
    while (t.pos < s.length && isLower(s.charCodeAt(t.pos))) t.pos++;
    t.end = t.pos;
    t.suffix = SUFFIXES.get(s.slice(t.start, t.end)) ?? SUFFIX_INVALID;
    t.token = t.suffix === SUFFIX_INVALID ? INVALID : SUFFIX;
  } else if (c === 126) {
    // `~hash`
    if (t.token >= COMMIT_HASH) {
      t.token = INVALID;
      return;
    }
    t.start = ++t.pos;
    while (t.pos < s.length && isHex(s.charCodeAt(t.pos))) t.pos++;
    t.end = t.pos;
    t.token = t.end === t.start ? INVALID : COMMIT_HASH;
  } else if (c === 45) {
    // `-r#`
    if (t.token >= REVISION_NO || s.charCodeAt(t.pos + 1) !== 114) {
      t.token = INVALID;
      return;
    }
    t.pos += 2;
    t.token = REVISION_NO;
    parseDigits(s, t);
  } else {
    t.token = INVALID;
  }
}

/** apk_blob_sort: bytewise, then the shorter first. */
function blobSort(a: string, as: number, ae: number, b: string, bs: number, be: number): Comparison {
  const la = ae - as;
  const lb = be - bs;
  const n = la < lb ? la : lb;
  for (let k = 0; k < n; k++) {
    const d = a.charCodeAt(as + k) - b.charCodeAt(bs + k);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return la === lb ? 0 : la < lb ? -1 : 1;
}

/** Numeric comparison of two digit runs of any length (apk reads them as uint64). */
function numeric(a: string, as: number, ae: number, b: string, bs: number, be: number): Comparison {
  while (as < ae && a.charCodeAt(as) === 48) as++;
  while (bs < be && b.charCodeAt(bs) === 48) bs++;
  if (ae - as !== be - bs) return ae - as < be - bs ? -1 : 1;
  return blobSort(a, as, ae, b, bs, be);
}

function tokenCompare(a: string, ta: TokenState, b: string, tb: TokenState): Comparison {
  switch (ta.token) {
    case DIGIT:
      // A leading zero makes the component a string (Gentoo's rule: 1.02 < 1.1).
      if (a.charCodeAt(ta.start) === 48 || b.charCodeAt(tb.start) === 48) {
        return blobSort(a, ta.start, ta.end, b, tb.start, tb.end);
      }
      return numeric(a, ta.start, ta.end, b, tb.start, tb.end);
    case INITIAL_DIGIT:
    case SUFFIX_NO:
    case REVISION_NO:
      return numeric(a, ta.start, ta.end, b, tb.start, tb.end);
    case LETTER: {
      const d = a.charCodeAt(ta.start) - b.charCodeAt(tb.start);
      return d < 0 ? -1 : d > 0 ? 1 : 0;
    }
    case SUFFIX:
      return ta.suffix < tb.suffix ? -1 : ta.suffix > tb.suffix ? 1 : 0;
    default:
      return blobSort(a, ta.start, ta.end, b, tb.start, tb.end);
  }
}

const sa = newState(true);
const sb = newState(true);

/** apk_version_compare, or with `fuzzy` the prefix match behind `~`. */
function compareFuzzy(a: string, b: string, fuzzy: boolean): Comparison {
  first(a, sa);
  first(b, sb);
  while (sa.token === sb.token && sa.token < END) {
    const r = tokenCompare(a, sa, b, sb);
    if (r !== 0) return r;
    next(a, sa);
    next(b, sb);
  }
  if (sa.token === sb.token) return 0;
  if (sb.token === END && fuzzy) return 0;
  // Equal so far: the longer version is newer unless what follows is a pre-release suffix.
  if (sa.token === SUFFIX && sa.suffix < SUFFIX_NONE) return -1;
  if (sb.token === SUFFIX && sb.suffix < SUFFIX_NONE) return 1;
  if (sa.token > sb.token) return -1;
  if (sb.token > sa.token) return 1;
  return 0;
}

export function compareApk(a: string, b: string): Comparison {
  if (a === b) return 0;
  return compareFuzzy(a, b, false);
}

/**
 * apk_version_match with a dependency operator: any of `<`, `>`, `=` combined, `~` for a fuzzy
 * (prefix) match, and a leading `!` to negate, e.g. `>=`, `~`, `<~`, `!~`.
 */
export function apkVersionMatch(version: string, op: string, against: string): boolean {
  let negate = false;
  let i = 0;
  if (op.startsWith("!")) {
    negate = true;
    i = 1;
  }
  let less = false;
  let equal = false;
  let greater = false;
  let fuzzy = false;
  for (; i < op.length; i++) {
    const c = op[i];
    if (c === "<") less = true;
    else if (c === ">") greater = true;
    else if (c === "=") equal = true;
    else if (c === "~") fuzzy = equal = true;
    else throw new Error(`unknown apk version operator: ${op}`);
  }
  const r = compareFuzzy(version, against, fuzzy);
  const ok = (r < 0 && less) || (r === 0 && equal) || (r > 0 && greater);
  return negate ? !ok : ok;
}

export function isValidApk(version: string): boolean {
  const t = newState(false);
  for (first(version, t); t.token < END; next(version, t));
  return t.token === END;
}

export const apkScheme: VersionScheme = {
  id: "apk",
  isValid: isValidApk,
  compare: compareApk,
};
