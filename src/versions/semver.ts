import type { Comparison } from "./types.js";

/**
 * SemVer 2.0 versions as node-semver reads them in its default (strict) mode: the string is
 * trimmed, one leading `v` is allowed, numeric parts have no leading zeros and stay within
 * Number.MAX_SAFE_INTEGER, the whole input is at most 256 characters. Precedence is SemVer 2.0
 * §11 (build metadata ignored), which is also what OSV `SEMVER` ranges use, so the npm scheme
 * (registered as `semver`) serves both.
 *
 * Parsing is a character loop (this is on the matching hot path); the loose grammar, which only
 * npm ranges with `{loose: true}` need, lives in npm.ts.
 */

export interface SemVer {
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
  /** Dot-separated pre-release identifiers, empty for a release. */
  readonly prerelease: readonly string[];
  readonly build: readonly string[];
}

export const MAX_LENGTH = 256;

const isDigit = (c: number): boolean => c >= 48 && c <= 57;
const isIdentChar = (c: number): boolean =>
  isDigit(c) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 45;

const NONE: readonly string[] = [];

/** Reads `0` or `[1-9][0-9]*` at s[i]; returns the end index, or -1. */
function numericEnd(s: string, i: number): number {
  const c = s.charCodeAt(i);
  if (c === 48) return i + 1;
  if (!(c >= 49 && c <= 57)) return -1;
  let j = i + 1;
  while (j < s.length && isDigit(s.charCodeAt(j))) j++;
  return j;
}

/** Where the last `identifiers` call stopped (saves allocating a result pair per parse). */
let identifiersEnd = 0;

/**
 * Reads dot-separated identifiers from s[i] up to `stop` (a char code) or the end; returns them,
 * or null when one is empty, holds a character outside [0-9A-Za-z-], or (when `strictNumbers`)
 * is numeric with a leading zero.
 */
function identifiers(s: string, i: number, stop: number, strictNumbers: boolean): string[] | null {
  const out: string[] = [];
  let start = i;
  let allDigits = true;
  for (let j = i; ; j++) {
    const c = j < s.length ? s.charCodeAt(j) : -1;
    if (c === 46 || c === stop || c === -1) {
      if (j === start) return null;
      if (strictNumbers && allDigits && j - start > 1 && s.charCodeAt(start) === 48) return null;
      out.push(s.slice(start, j));
      if (c !== 46) {
        identifiersEnd = j;
        return out;
      }
      start = j + 1;
      allDigits = true;
    } else if (isIdentChar(c)) {
      if (!isDigit(c)) allDigits = false;
    } else {
      return null;
    }
  }
}

/** node-semver's strict parse (`new SemVer(v)`), or null where it throws. */
export function parseSemVer(input: string): SemVer | null {
  if (input.length > MAX_LENGTH) return null;
  const s = input.trim();
  let i = s.charCodeAt(0) === 118 ? 1 : 0; // v
  const majorEnd = numericEnd(s, i);
  if (majorEnd < 0 || s.charCodeAt(majorEnd) !== 46) return null;
  const minorEnd = numericEnd(s, majorEnd + 1);
  if (minorEnd < 0 || s.charCodeAt(minorEnd) !== 46) return null;
  const patchEnd = numericEnd(s, minorEnd + 1);
  if (patchEnd < 0) return null;
  const major = Number(s.slice(i, majorEnd));
  const minor = Number(s.slice(majorEnd + 1, minorEnd));
  const patch = Number(s.slice(minorEnd + 1, patchEnd));
  if (major > Number.MAX_SAFE_INTEGER || minor > Number.MAX_SAFE_INTEGER || patch > Number.MAX_SAFE_INTEGER) {
    return null;
  }
  i = patchEnd;
  let prerelease = NONE;
  let build = NONE;
  if (s.charCodeAt(i) === 45) {
    const ids = identifiers(s, i + 1, 43, true);
    if (!ids) return null;
    prerelease = ids;
    i = identifiersEnd;
  }
  if (s.charCodeAt(i) === 43) {
    const ids = identifiers(s, i + 1, -2, false);
    if (!ids) return null;
    build = ids;
    i = identifiersEnd;
  }
  if (i !== s.length) return null;
  return { major, minor, patch, prerelease, build };
}

const allDigits = (s: string): boolean => {
  for (let k = 0; k < s.length; k++) if (!isDigit(s.charCodeAt(k))) return false;
  return true;
};

/** Numeric identifiers of any length, compared by value (leading zeros ignored). */
export function compareDigits(a: string, b: string): Comparison {
  let ai = 0;
  let bi = 0;
  while (ai < a.length - 1 && a.charCodeAt(ai) === 48) ai++;
  while (bi < b.length - 1 && b.charCodeAt(bi) === 48) bi++;
  const la = a.length - ai;
  const lb = b.length - bi;
  if (la !== lb) return la < lb ? -1 : 1;
  for (let k = 0; k < la; k++) {
    const d = a.charCodeAt(ai + k) - b.charCodeAt(bi + k);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}

/** SemVer §11.4: numeric identifiers by value and below alphanumeric ones, those in ASCII order. */
export function compareIdentifier(a: string, b: string): Comparison {
  if (a === b) return 0;
  const an = allDigits(a);
  const bn = allDigits(b);
  if (an && bn) return compareDigits(a, b);
  if (an) return -1;
  if (bn) return 1;
  return a < b ? -1 : 1;
}

/** Pre-release precedence: a release is above its pre-releases; more fields win a tie. */
export function comparePrerelease(a: readonly string[], b: readonly string[]): Comparison {
  if (a.length === 0 || b.length === 0) {
    if (a.length === b.length) return 0;
    return a.length === 0 ? 1 : -1;
  }
  const n = a.length < b.length ? a.length : b.length;
  for (let k = 0; k < n; k++) {
    const c = compareIdentifier(a[k] as string, b[k] as string);
    if (c !== 0) return c;
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

export function compareMain(a: SemVer, b: SemVer): Comparison {
  if (a.major !== b.major) return a.major < b.major ? -1 : 1;
  if (a.minor !== b.minor) return a.minor < b.minor ? -1 : 1;
  if (a.patch !== b.patch) return a.patch < b.patch ? -1 : 1;
  return 0;
}

/** SemVer 2.0 precedence; build metadata does not count. */
export function compareSemVer(a: SemVer, b: SemVer): Comparison {
  return compareMain(a, b) || comparePrerelease(a.prerelease, b.prerelease);
}

/** `M.m.p[-pre]`, node-semver's `version` (no build): the text comparators are keyed by. */
export function formatSemVer(v: SemVer): string {
  const main = `${v.major}.${v.minor}.${v.patch}`;
  return v.prerelease.length ? `${main}-${v.prerelease.join(".")}` : main;
}
