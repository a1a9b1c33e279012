import type { Comparison } from "./types.js";

/**
 * RubyGems versions, ordered as `Gem::Version#<=>`: the string is split into numeric and
 * alphabetic segments ("1.2.b1" → 1, 2, "b", 1); any letter makes a pre-release, which sorts
 * before the numbers it precedes ("1.0.a" < "1.0"); trailing zeros of the numeric and of the
 * alphabetic part do not count ("1.0.0" == "1"); a "-" reads as ".pre.".
 */

/** A numeric segment (exact up to 15 digits, else canonical digits) or a letter run. */
export type GemSegment = number | { readonly digits: string } | string;

export interface GemVersion {
  /** The normalized text: stripped, "-" replaced by ".pre.", "" → "0". */
  readonly version: string;
  readonly segments: readonly GemSegment[];
  readonly canonical: readonly GemSegment[];
  readonly prerelease: boolean;
}

/** Ruby's `\s`: space, \t, \n, \v, \f, \r. */
const isRubySpace = (c: number): boolean => c === 32 || (c >= 9 && c <= 13);
const isDigit = (c: number): boolean => c >= 48 && c <= 57;
const isAlpha = (c: number): boolean => (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
const isAlnum = (c: number): boolean => isDigit(c) || isAlpha(c);

function rubyStrip(s: string): string {
  let a = 0;
  let b = s.length;
  // String#strip also drops NUL characters.
  while (a < b && (isRubySpace(s.charCodeAt(a)) || s.charCodeAt(a) === 0)) a++;
  while (b > a && (isRubySpace(s.charCodeAt(b - 1)) || s.charCodeAt(b - 1) === 0)) b--;
  return s.slice(a, b);
}

/**
 * `Gem::Version.correct?`: `\A\s*([0-9]+(?>\.[0-9a-zA-Z]+)*(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?)?\s*\z`.
 */
export function isValidGem(version: string): boolean {
  let a = 0;
  let b = version.length;
  while (a < b && isRubySpace(version.charCodeAt(a))) a++;
  while (b > a && isRubySpace(version.charCodeAt(b - 1))) b--;
  if (a === b) return true; // blank means "0"
  let i = a;
  const c = (k: number): number => (k < b ? version.charCodeAt(k) : -1);
  if (!isDigit(c(i))) return false;
  while (isDigit(c(i))) i++;
  while (c(i) === 46 && isAlnum(c(i + 1))) {
    i++;
    while (isAlnum(c(i))) i++;
  }
  if (c(i) === 45) {
    const word = (): boolean => {
      const start = i;
      while (isAlnum(c(i)) || c(i) === 45) i++;
      return i > start;
    };
    i++;
    if (!word()) return false;
    while (c(i) === 46) {
      i++;
      if (!word()) return false;
    }
  }
  return i === b;
}

function segmentOf(run: string): GemSegment {
  if (!isDigit(run.charCodeAt(0))) return run;
  let i = 0;
  while (i < run.length - 1 && run.charCodeAt(i) === 48) i++;
  const d = i === 0 ? run : run.slice(i);
  // 15 digits fit a double exactly; Ruby's Integers are unbounded, so longer runs stay digits.
  return d.length <= 15 ? Number(d) : { digits: d };
}

const isString = (s: GemSegment): s is string => typeof s === "string";
const isZero = (s: GemSegment): boolean => s === 0;

/** `Gem::Version.new(version)`, or null when `correct?` rejects it. */
export function parseGem(input: string): GemVersion | null {
  return isValidGem(input) ? segmentsOf(input) : null;
}

/**
 * Versions Ruby rejects but that still start with a number ("1beta", "1.0 final") are split
 * into segments the same way, as OSV does: "1beta" is a pre-release of 1, not junk.
 */
function parseLenient(input: string): GemVersion | null {
  const v = parseGem(input);
  if (v !== null) return v;
  return isDigit(rubyStrip(input).charCodeAt(0)) ? segmentsOf(input) : null;
}

function segmentsOf(input: string): GemVersion {
  let version = rubyStrip(input);
  if (version === "") version = "0";
  version = version.replaceAll("-", ".pre.");
  const segments: GemSegment[] = [];
  // @version.scan(/[0-9]+|[a-z]+/i)
  for (let i = 0; i < version.length;) {
    const c0 = version.charCodeAt(i);
    const kind = isDigit(c0) ? isDigit : isAlpha(c0) ? isAlpha : null;
    if (kind === null) {
      i++;
      continue;
    }
    const start = i;
    while (i < version.length && kind(version.charCodeAt(i))) i++;
    segments.push(segmentOf(version.slice(start, i)));
  }
  // canonical_segments: drop trailing zeros of the numeric part and of the rest separately.
  const firstString = segments.findIndex(isString);
  const numeric = firstString < 0 ? segments.slice() : segments.slice(0, firstString);
  const rest = firstString < 0 ? [] : segments.slice(firstString);
  while (numeric.length > 0 && isZero(numeric[numeric.length - 1]!)) numeric.pop();
  while (rest.length > 0 && isZero(rest[rest.length - 1]!)) rest.pop();
  return { version, segments, canonical: [...numeric, ...rest], prerelease: firstString >= 0 };
}

function cmpNumbers(a: number | { digits: string }, b: number | { digits: string }): number {
  if (typeof a === "number" && typeof b === "number") return a < b ? -1 : a > b ? 1 : 0;
  const da = typeof a === "number" ? String(a) : a.digits;
  const db = typeof b === "number" ? String(b) : b.digits;
  if (da.length !== db.length) return da.length < db.length ? -1 : 1;
  return da < db ? -1 : da > db ? 1 : 0;
}

/** `Gem::Version#<=>` on parsed versions. */
export function compareGemParsed(a: GemVersion, b: GemVersion): number {
  if (a.version === b.version) return 0;
  const l = a.canonical;
  const r = b.canonical;
  const n = Math.max(l.length, r.length);
  for (let i = 0; i < n; i++) {
    const x = l[i] ?? 0;
    const y = r[i] ?? 0;
    const xs = isString(x);
    const ys = isString(y);
    if (xs && ys) {
      if (x !== y) return x < y ? -1 : 1; // byte order, case-sensitive, as Ruby's String#<=>
    } else if (xs)
      return -1; // a letter before a number: pre-release
    else if (ys) return 1;
    else {
      const d = cmpNumbers(x, y as number | { digits: string });
      if (d !== 0) return d;
    }
  }
  return 0;
}

const CACHE_LIMIT = 8192;
const cache = new Map<string, GemVersion | null>();

/** Parses through the bounded cache, leniently (see parseLenient). */
function cachedLenient(version: string): GemVersion | null {
  let p = cache.get(version);
  if (p === undefined) {
    p = parseLenient(version);
    // Dropping the whole cache when full is O(1); evicting the oldest key from a Map is not
    // (V8 skips the deleted slots at the front on every keys().next()).
    if (cache.size >= CACHE_LIMIT) cache.clear();
    cache.set(version, p);
  }
  return p;
}

/** A valid version through the cache, or null. */
export function cachedGem(version: string): GemVersion | null {
  return isValidGem(version) ? cachedLenient(version) : null;
}

/**
 * Gem::Version order. Strings Ruby rejects are split leniently when they start with a digit
 * (see parseLenient); the rest (Ruby raises, OSV has no rule) sort after every version,
 * lexically, so the order stays total.
 */
export function compareGem(a: string, b: string): Comparison {
  if (a === b) return 0;
  const pa = cachedLenient(a);
  const pb = cachedLenient(b);
  let d: number;
  if (pa !== null && pb !== null) d = compareGemParsed(pa, pb);
  else if (pa !== null) d = -1;
  else if (pb !== null) d = 1;
  else d = a < b ? -1 : 1;
  return d < 0 ? -1 : d > 0 ? 1 : 0;
}

function segmentText(s: GemSegment): string {
  return typeof s === "string" ? s : typeof s === "number" ? String(s) : s.digits;
}

/** `Gem::Version#eql?`: same normalized text ("1.2" is not eql "1.2.0"). */
export function gemEql(a: string, b: string): boolean {
  const pa = parseGem(a);
  const pb = parseGem(b);
  return pa !== null && pb !== null && pa.version === pb.version;
}

function numericPrefix(v: GemVersion): GemSegment[] {
  const segs = v.segments.slice();
  while (segs.some(isString)) segs.pop();
  return segs;
}

/** `Gem::Version#release`: the version without its pre-release segments. */
export function gemRelease(v: GemVersion): GemVersion {
  return v.prerelease ? parseGem(numericPrefix(v).map(segmentText).join("."))! : v;
}

/** `Gem::Version#bump`: drop pre-release and last segment, increment the new last one. */
export function gemBump(v: GemVersion): GemVersion {
  const segs = numericPrefix(v);
  if (segs.length > 1) segs.pop();
  const last = segs[segs.length - 1] ?? 0;
  segs[segs.length - 1] = typeof last === "number" ? last + 1 : incrementDigits(segmentText(last));
  return parseGem(segs.map(segmentText).join("."))!;
}

function incrementDigits(d: string): { digits: string } {
  const out = d.split("");
  for (let i = out.length - 1; i >= 0; i--) {
    if (out[i] !== "9") {
      out[i] = String(Number(out[i]) + 1);
      return { digits: out.join("") };
    }
    out[i] = "0";
  }
  return { digits: "1" + out.join("") };
}

/** `Gem::Version#approximate_recommendation`, e.g. "1.2.3" → "~> 1.2". */
export function gemApproximateRecommendation(v: GemVersion): string {
  const segs = numericPrefix(v);
  while (segs.length > 2) segs.pop();
  while (segs.length < 2) segs.push(0);
  return `~> ${segs.map(segmentText).join(".")}${v.prerelease ? ".a" : ""}`;
}

/** `Gem::Version#canonical_segments` as plain values. */
export function gemCanonicalSegments(v: GemVersion): (number | string)[] {
  return v.canonical.map((s) => (typeof s === "object" ? s.digits : s));
}
