import type { Comparison, VersionScheme } from "./types.js";

/**
 * Debian package versions, `[epoch:]upstream[-revision]`, ordered exactly as dpkg orders them
 * (lib/dpkg/parsehelp.c parseversion, lib/dpkg/version.c verrevcmp). Comparison works on index
 * ranges of the input string, so the hot path allocates nothing.
 *
 * Validity has dpkg's two levels: an *error* (empty, embedded blanks, a bad epoch, an empty
 * upstream part or revision) makes dpkg refuse the version; a *warning* (upstream not starting
 * with a digit, a character outside the allowed sets) still compares normally. `isValid` is
 * false for both, as Dpkg::Version::is_valid is. `compare` follows dpkg for warning-level
 * versions and, because dpkg has no ordering for error-level ones, sorts those after every
 * parseable version, lexically among themselves.
 */

const INT_MAX = 2147483647;

const enum Level {
  Ok = 0,
  Warn = 1,
  Error = 2,
}

/** Where the parts of one version lie in its string. */
interface Parts {
  level: Level;
  epoch: number;
  vStart: number;
  vEnd: number;
  rStart: number;
  rEnd: number;
}

const newParts = (): Parts => ({ level: Level.Ok, epoch: 0, vStart: 0, vEnd: 0, rStart: 0, rEnd: 0 });

const isDigit = (c: number): boolean => c >= 48 && c <= 57;
const isAlpha = (c: number): boolean => (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
/** dpkg's c_isblank: only space and tab are trimmed. */
const isBlank = (c: number): boolean => c === 32 || c === 9;
/** C isspace, which strtol skips before an epoch. */
const isSpace = (c: number): boolean => c === 32 || (c >= 9 && c <= 13);

/**
 * Fills `p` with the parts of `s`; mirrors parseversion's checks and their order. The
 * character checks only tell Ok from Warn, which comparison ignores, so `chars` can skip them.
 */
function parse(s: string, p: Parts, chars = true): Parts {
  const n = s.length;
  p.level = Level.Error;
  let i = 0;
  while (i < n && isBlank(s.charCodeAt(i))) i++;
  if (i === n) return p; // empty
  // One pass finds the end, the first colon and the last hyphen.
  let end = n;
  let colon = -1;
  let hyphen = -1;
  for (let k = i; k < n; k++) {
    const c = s.charCodeAt(k);
    if (c === 45) hyphen = k;
    else if (c === 58) {
      if (colon < 0) colon = k;
    } else if (isBlank(c)) {
      end = k;
      break;
    }
  }
  for (let k = end; k < n; k++) if (!isBlank(s.charCodeAt(k))) return p; // embedded blanks

  let vStart = i;
  p.epoch = 0;
  if (colon >= 0) {
    // strtol: optional space and sign, then digits that must end exactly at the colon.
    let k = i;
    while (k < colon && isSpace(s.charCodeAt(k))) k++;
    let negative = false;
    const sign = s.charCodeAt(k);
    if (sign === 45 || sign === 43) {
      negative = sign === 45;
      k++;
    }
    const digits = k;
    let epoch = 0;
    while (k < colon && isDigit(s.charCodeAt(k))) {
      epoch = epoch * 10 + (s.charCodeAt(k) - 48);
      k++;
    }
    if (k === digits || k !== colon) return p; // empty or not a number
    if (negative && epoch !== 0) return p;
    if (epoch > INT_MAX) return p;
    if (colon + 1 === end) return p; // nothing after the colon
    p.epoch = epoch;
    vStart = colon + 1;
  }
  let vEnd = end;
  let rStart = end;
  if (hyphen >= vStart) {
    vEnd = hyphen;
    rStart = hyphen + 1;
    if (rStart === end) return p; // empty revision
  }
  if (vStart === vEnd) return p; // empty upstream version
  p.vStart = vStart;
  p.vEnd = vEnd;
  p.rStart = rStart;
  p.rEnd = end;

  p.level = Level.Ok;
  if (!chars) return p;
  if (!isDigit(s.charCodeAt(vStart))) {
    p.level = Level.Warn;
    return p;
  }
  for (let k = vStart + 1; k < vEnd; k++) {
    const c = s.charCodeAt(k);
    // . - + ~ :
    if (!isDigit(c) && !isAlpha(c) && c !== 46 && c !== 45 && c !== 43 && c !== 126 && c !== 58) {
      p.level = Level.Warn;
      return p;
    }
  }
  for (let k = rStart; k < end; k++) {
    const c = s.charCodeAt(k);
    if (!isDigit(c) && !isAlpha(c) && c !== 46 && c !== 43 && c !== 126) {
      p.level = Level.Warn;
      return p;
    }
  }
  return p;
}

/** dpkg's weight of one character in a non-digit run: `~` first, then end/digit, letters, the rest. */
function order(c: number): number {
  if (isDigit(c)) return 0;
  if (isAlpha(c)) return c;
  if (c === 126) return -1;
  return c + 256;
}

/** verrevcmp over a[ai, ae) and b[bi, be); the sign is the result. */
function verrevcmpRange(a: string, ai: number, ae: number, b: string, bi: number, be: number): number {
  while (ai < ae || bi < be) {
    let firstDiff = 0;
    while ((ai < ae && !isDigit(a.charCodeAt(ai))) || (bi < be && !isDigit(b.charCodeAt(bi)))) {
      const ac = ai < ae ? order(a.charCodeAt(ai)) : 0;
      const bc = bi < be ? order(b.charCodeAt(bi)) : 0;
      if (ac !== bc) return ac - bc;
      // Equal weights are never 0 here, so both sides hold a character to step over.
      ai++;
      bi++;
    }
    while (ai < ae && a.charCodeAt(ai) === 48) ai++;
    while (bi < be && b.charCodeAt(bi) === 48) bi++;
    while (ai < ae && bi < be && isDigit(a.charCodeAt(ai)) && isDigit(b.charCodeAt(bi))) {
      if (firstDiff === 0) firstDiff = a.charCodeAt(ai) - b.charCodeAt(bi);
      ai++;
      bi++;
    }
    if (ai < ae && isDigit(a.charCodeAt(ai))) return 1;
    if (bi < be && isDigit(b.charCodeAt(bi))) return -1;
    if (firstDiff !== 0) return firstDiff;
  }
  return 0;
}

const sign = (n: number): Comparison => (n < 0 ? -1 : n > 0 ? 1 : 0);

/** dpkg's verrevcmp on two bare fragments (an upstream version or a revision), no splitting. */
export function verrevcmp(a: string, b: string): Comparison {
  return sign(verrevcmpRange(a, 0, a.length, b, 0, b.length));
}

const pa = newParts();
const pb = newParts();

export function compareDeb(a: string, b: string): Comparison {
  if (a === b) return 0;
  parse(a, pa, false);
  parse(b, pb, false);
  if (pa.level === Level.Error || pb.level === Level.Error) {
    if (pa.level !== Level.Error) return -1;
    if (pb.level !== Level.Error) return 1;
    return a < b ? -1 : 1;
  }
  if (pa.epoch !== pb.epoch) return pa.epoch < pb.epoch ? -1 : 1;
  const r = verrevcmpRange(a, pa.vStart, pa.vEnd, b, pb.vStart, pb.vEnd);
  if (r !== 0) return sign(r);
  return sign(verrevcmpRange(a, pa.rStart, pa.rEnd, b, pb.rStart, pb.rEnd));
}

export interface DebVersion {
  epoch: number;
  upstream: string;
  revision: string;
}

/** The parts of a version dpkg accepts (possibly with a warning), or null where dpkg errors. */
export function parseDeb(version: string): DebVersion | null {
  const p = parse(version, newParts());
  if (p.level === Level.Error) return null;
  return {
    epoch: p.epoch,
    upstream: version.slice(p.vStart, p.vEnd),
    revision: version.slice(p.rStart, p.rEnd),
  };
}

/** dpkg relation operators; `<` and `>` are the obsolete spellings of `<=` and `>=`. */
export type DebRelation = "<<" | "<=" | "=" | ">=" | ">>" | "<" | ">";

export function debRelation(a: string, op: DebRelation, b: string): boolean {
  const c = compareDeb(a, b);
  switch (op) {
    case "<<":
      return c < 0;
    case "<=":
    case "<":
      return c <= 0;
    case "=":
      return c === 0;
    case ">=":
    case ">":
      return c >= 0;
    case ">>":
      return c > 0;
  }
}

export const debScheme: VersionScheme = {
  id: "deb",
  isValid: (version) => parse(version, newParts()).level === Level.Ok,
  compare: compareDeb,
};
