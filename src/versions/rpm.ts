import type { Comparison, VersionScheme } from "./types.js";

/**
 * RPM versions, `[epoch:]version[-release]`, ordered as rpm orders them: each part with
 * rpmvercmp (rpmio/rpmvercmp.c: alternating digit and letter segments, separators ignored,
 * `~` sorts before everything, `^` after the base version but before any further segment),
 * the epoch split off the way rpm's parseEVR does (only a leading run of digits before `:`
 * is an epoch; a missing epoch is 0), the release from the last `-`.
 *
 * Releases follow rpm.labelCompare: a version without a release sorts before the same
 * version with one. (rpm.ver objects and rpmdsCompare instead skip the release when either
 * side lacks it, which is a match rule, not an order: 1.0-1 = 1.0 = 1.0-5 would not be
 * transitive.) rpm orders every string, so there is no invalid-version fallback.
 */

const isDigit = (c: number): boolean => c >= 48 && c <= 57;
const isAlpha = (c: number): boolean => (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
const isAlnum = (c: number): boolean => isDigit(c) || isAlpha(c);
const TILDE = 126;
const CARET = 94;
/** Stands for the end of a string in the segment walk, like C's NUL. */
const END = -1;

/** rpmvercmp over a[ai, ae) and b[bi, be). */
function vercmpRange(a: string, ai: number, ae: number, b: string, bi: number, be: number): Comparison {
  const at = (s: string, i: number, e: number): number => (i < e ? s.charCodeAt(i) : END);
  while (ai < ae || bi < be) {
    let ca: number;
    let cb: number;
    while ((ca = at(a, ai, ae)) !== END && !isAlnum(ca) && ca !== TILDE && ca !== CARET) ai++;
    while ((cb = at(b, bi, be)) !== END && !isAlnum(cb) && cb !== TILDE && cb !== CARET) bi++;

    // A tilde sorts before everything, even the end of the string.
    if (ca === TILDE || cb === TILDE) {
      if (ca !== TILDE) return 1;
      if (cb !== TILDE) return -1;
      ai++;
      bi++;
      continue;
    }
    // A caret sorts after the end of the string but before any other segment.
    if (ca === CARET || cb === CARET) {
      if (ca === END) return -1;
      if (cb === END) return 1;
      if (ca !== CARET) return 1;
      if (cb !== CARET) return -1;
      ai++;
      bi++;
      continue;
    }
    if (ca === END || cb === END) break;

    // The segment type is taken from a; b's segment of that type may be empty.
    const numeric = isDigit(ca);
    const like = numeric ? isDigit : isAlpha;
    let aj = ai;
    while (aj < ae && like(a.charCodeAt(aj))) aj++;
    let bj = bi;
    while (bj < be && like(b.charCodeAt(bj))) bj++;
    if (bj === bi) return numeric ? 1 : -1; // numeric segments are newer than alpha ones

    if (numeric) {
      while (ai < aj && a.charCodeAt(ai) === 48) ai++;
      while (bi < bj && b.charCodeAt(bi) === 48) bi++;
      const la = aj - ai;
      const lb = bj - bi;
      if (la !== lb) return la > lb ? 1 : -1;
    }
    // strcmp of the two segments.
    const la = aj - ai;
    const lb = bj - bi;
    const n = la < lb ? la : lb;
    for (let k = 0; k < n; k++) {
      const d = a.charCodeAt(ai + k) - b.charCodeAt(bi + k);
      if (d !== 0) return d < 0 ? -1 : 1;
    }
    if (la !== lb) return la < lb ? -1 : 1;
    ai = aj;
    bi = bj;
  }
  if (ai >= ae && bi >= be) return 0;
  return ai >= ae ? -1 : 1;
}

/** rpmvercmp on two single version (or release) strings. */
export function rpmvercmp(a: string, b: string): Comparison {
  if (a === b) return 0;
  return vercmpRange(a, 0, a.length, b, 0, b.length);
}

/** Where epoch, version and release lie; eEnd < 0 means no epoch, rStart < 0 no release. */
interface Evr {
  eEnd: number;
  vStart: number;
  vEnd: number;
  rStart: number;
}

const newEvr = (): Evr => ({ eEnd: -1, vStart: 0, vEnd: 0, rStart: -1 });

/** rpm's parseEVR: an epoch is a run of digits ended by `:`; the release follows the last `-`. */
function split(s: string, p: Evr): Evr {
  let k = 0;
  while (k < s.length && isDigit(s.charCodeAt(k))) k++;
  const hyphen = s.lastIndexOf("-");
  if (k < s.length && s.charCodeAt(k) === 58) {
    p.eEnd = k;
    p.vStart = k + 1;
  } else {
    p.eEnd = -1;
    p.vStart = 0;
  }
  if (hyphen >= k) {
    p.vEnd = hyphen;
    p.rStart = hyphen + 1;
  } else {
    p.vEnd = s.length;
    p.rStart = -1;
  }
  return p;
}

const ea = newEvr();
const eb = newEvr();

/** Compares the epoch digits numerically; an absent or empty epoch is 0. */
function compareEpoch(a: string, ae: number, b: string, be: number): Comparison {
  let ai = 0;
  let bi = 0;
  while (ai < ae && a.charCodeAt(ai) === 48) ai++;
  while (bi < be && b.charCodeAt(bi) === 48) bi++;
  const la = Math.max(ae, 0) - ai;
  const lb = Math.max(be, 0) - bi;
  if (la !== lb) return la < lb ? -1 : 1;
  for (let k = 0; k < la; k++) {
    const d = a.charCodeAt(ai + k) - b.charCodeAt(bi + k);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}

export function compareRpm(a: string, b: string): Comparison {
  if (a === b) return 0;
  split(a, ea);
  split(b, eb);
  const e = compareEpoch(a, ea.eEnd, b, eb.eEnd);
  if (e !== 0) return e;
  const v = vercmpRange(a, ea.vStart, ea.vEnd, b, eb.vStart, eb.vEnd);
  if (v !== 0) return v;
  if (ea.rStart < 0 || eb.rStart < 0) {
    if (ea.rStart < 0 && eb.rStart < 0) return 0;
    return ea.rStart < 0 ? -1 : 1;
  }
  return vercmpRange(a, ea.rStart, a.length, b, eb.rStart, b.length);
}

export interface RpmEvr {
  epoch: string | null;
  version: string;
  release: string | null;
}

/** How rpm splits an EVR string (rpm.ver / parseEVR); an empty epoch before `:` reads as "0". */
export function parseEvr(evr: string): RpmEvr {
  const p = split(evr, newEvr());
  return {
    epoch: p.eEnd < 0 ? null : p.eEnd === 0 ? "0" : evr.slice(0, p.eEnd),
    version: evr.slice(p.vStart, p.vEnd),
    release: p.rStart < 0 ? null : evr.slice(p.rStart),
  };
}

/**
 * What rpm would build: printable ASCII without blanks, a non-empty version and, when a `-`
 * is present, a non-empty release. (rpm compares any string; this only flags nonsense.)
 */
function isValidRpm(version: string): boolean {
  if (version.length === 0) return false;
  for (let k = 0; k < version.length; k++) {
    const c = version.charCodeAt(k);
    if (c <= 32 || c >= 127) return false;
  }
  const p = split(version, newEvr());
  return p.vEnd > p.vStart && (p.rStart < 0 || p.rStart < version.length);
}

export const rpmScheme: VersionScheme = {
  id: "rpm",
  isValid: isValidRpm,
  compare: compareRpm,
};
