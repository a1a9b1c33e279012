import { boundedMemo } from "./semver-cache.js";
import type { Comparison, VersionScheme } from "./types.js";

/**
 * Go module versions, as golang.org/x/mod/semver reads and orders them: a leading `v` is
 * required, `v1` and `v1.2` are shorthands for `v1.0.0` and `v1.2.0` (without pre-release or
 * build), build metadata (`+incompatible`, `+meta`) is ignored, pseudo-versions
 * (`v0.0.0-20210101000000-abcdef123456`) are ordinary pre-releases. Numbers have no size limit
 * and are compared as digit strings, like upstream.
 *
 * `compare` is semver.Compare: invalid versions are equal to each other and below every valid
 * one. One deliberate extension: a version without the `v` (`1.2.3`, `0`) is read as if it had
 * one, because OSV and GHSA write Go versions that way; `isValid` stays upstream's semver.IsValid.
 */

interface GoVersion {
  major: string;
  minor: string;
  patch: string;
  /** "" or the pre-release including its leading `-`. */
  prerelease: string;
  /** "" or the build including its leading `+`. */
  build: string;
}

const isDigit = (c: number): boolean => c >= 48 && c <= 57;
const isIdentChar = (c: number): boolean =>
  isDigit(c) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 45;

let pos = 0;

/** parseInt: digits at s[pos], no leading zero unless alone; returns them and advances pos. */
function parseInt(s: string): string | null {
  const start = pos;
  if (!isDigit(s.charCodeAt(pos))) return null;
  pos++;
  while (pos < s.length && isDigit(s.charCodeAt(pos))) pos++;
  if (s.charCodeAt(start) === 48 && pos - start !== 1) return null;
  return s.slice(start, pos);
}

const isBadNum = (s: string, start: number, end: number): boolean => {
  let i = start;
  while (i < end && isDigit(s.charCodeAt(i))) i++;
  return i === end && end - start > 1 && s.charCodeAt(start) === 48;
};

/** `-ident(.ident)*` up to `+` or the end; numeric identifiers without leading zeros. */
function parsePrerelease(s: string): string | null {
  const begin = pos;
  let start = ++pos;
  for (; pos < s.length && s.charCodeAt(pos) !== 43; pos++) {
    const c = s.charCodeAt(pos);
    if (c === 46) {
      if (start === pos || isBadNum(s, start, pos)) return null;
      start = pos + 1;
    } else if (!isIdentChar(c)) return null;
  }
  if (start === pos || isBadNum(s, start, pos)) return null;
  return s.slice(begin, pos);
}

function parseBuild(s: string): string | null {
  const begin = pos;
  let start = ++pos;
  for (; pos < s.length; pos++) {
    const c = s.charCodeAt(pos);
    if (c === 46) {
      if (start === pos) return null;
      start = pos + 1;
    } else if (!isIdentChar(c)) return null;
  }
  if (start === pos) return null;
  return s.slice(begin, pos);
}

/** x/mod/semver parse; `from` is 1 to skip the `v`, 0 for the unprefixed extension. */
function parse(v: string, from: number): GoVersion | null {
  pos = from;
  const major = parseInt(v);
  if (major === null) return null;
  if (pos === v.length) return { major, minor: "0", patch: "0", prerelease: "", build: "" };
  if (v.charCodeAt(pos) !== 46) return null;
  pos++;
  const minor = parseInt(v);
  if (minor === null) return null;
  if (pos === v.length) return { major, minor, patch: "0", prerelease: "", build: "" };
  if (v.charCodeAt(pos) !== 46) return null;
  pos++;
  const patch = parseInt(v);
  if (patch === null) return null;
  let prerelease = "";
  let build = "";
  if (v.charCodeAt(pos) === 45) {
    const p = parsePrerelease(v);
    if (p === null) return null;
    prerelease = p;
  }
  if (v.charCodeAt(pos) === 43) {
    const b = parseBuild(v);
    if (b === null) return null;
    build = b;
  }
  if (pos !== v.length) return null;
  return { major, minor, patch, prerelease, build };
}

/** Upstream's parse: only `v`-prefixed versions. */
const parseStrict = (v: string): GoVersion | null => (v.charCodeAt(0) === 118 ? parse(v, 1) : null);

/** The comparison reading: upstream's, plus unprefixed versions starting with a digit. */
const parseLenient = boundedMemo((v: string): GoVersion | null =>
  v.charCodeAt(0) === 118 ? parse(v, 1) : isDigit(v.charCodeAt(0)) ? parse(v, 0) : null,
);

function compareInt(x: string, y: string): Comparison {
  if (x === y) return 0;
  if (x.length !== y.length) return x.length < y.length ? -1 : 1;
  return x < y ? -1 : 1;
}

const isNum = (s: string): boolean => {
  for (let i = 0; i < s.length; i++) if (!isDigit(s.charCodeAt(i))) return false;
  return true;
};

function comparePrerelease(x: string, y: string): Comparison {
  if (x === y) return 0;
  if (x === "") return 1;
  if (y === "") return -1;
  const xs = x.slice(1).split(".");
  const ys = y.slice(1).split(".");
  const n = Math.min(xs.length, ys.length);
  for (let i = 0; i < n; i++) {
    const dx = xs[i]!;
    const dy = ys[i]!;
    if (dx === dy) continue;
    const ix = isNum(dx);
    const iy = isNum(dy);
    if (ix !== iy) return ix ? -1 : 1;
    if (ix && dx.length !== dy.length) return dx.length < dy.length ? -1 : 1;
    return dx < dy ? -1 : 1;
  }
  return xs.length === ys.length ? 0 : xs.length < ys.length ? -1 : 1;
}

export function compareGo(v: string, w: string): Comparison {
  if (v === w) return 0;
  const pv = parseLenient(v);
  const pw = parseLenient(w);
  if (!pv || !pw) {
    if (!pv && !pw) return 0;
    return pv ? 1 : -1;
  }
  return (
    compareInt(pv.major, pw.major) ||
    compareInt(pv.minor, pw.minor) ||
    compareInt(pv.patch, pw.patch) ||
    comparePrerelease(pv.prerelease, pw.prerelease)
  );
}

/** semver.Canonical: `vMAJOR.MINOR.PATCH[-pre]`, build dropped; "" when invalid. */
export function canonicalGo(v: string): string {
  const p = parseStrict(v);
  if (!p) return "";
  return `v${p.major}.${p.minor}.${p.patch}${p.prerelease}`;
}

export const goScheme: VersionScheme = {
  id: "go",
  isValid: (version) => parseStrict(version) !== null,
  compare: compareGo,
};

/** semver.Sort's order (ByVersion): by version, then by the strings themselves. */
export function byVersionGo(a: string, b: string): Comparison {
  return compareGo(a, b) || (a < b ? -1 : a > b ? 1 : 0);
}
