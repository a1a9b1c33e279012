import { compareMaven, isValidMaven } from "./maven.js";
import { type VersionScheme, VersionRangeError } from "./types.js";

/**
 * Maven version ranges as maven-artifact's `VersionRange.createFromVersionSpec` and
 * `containsVersion` read them, with ComparableVersion order: `[a,b]` / `(a,b)` bounds, an empty
 * bound is unbounded, `[v]` is exactly v, comma-separated restrictions are OR-ed and must be
 * ascending and disjoint. A bare version ("1.0") is Maven's *soft* requirement: it recommends
 * that version but contains every version, exactly as upstream.
 *
 * One addition from Maven Resolver: `[1.2.*]` contains every version whose text starts with the
 * prefix "1.2" followed by a separator or the end ("1.2", "1.2.9", "1.2-SNAPSHOT", not "1.20").
 */

export interface MavenRestriction {
  readonly lower: string | null;
  readonly lowerInclusive: boolean;
  readonly upper: string | null;
  readonly upperInclusive: boolean;
  /** `[prefix.*]`: matches by prefix instead of bounds. */
  readonly wildcardPrefix?: string;
}

export interface MavenRange {
  readonly restrictions: readonly MavenRestriction[];
  /** Set for a bare (soft) version; its restriction is then "everything". */
  readonly recommendedVersion: string | null;
}

const EVERYTHING: MavenRestriction = {
  lower: null,
  lowerInclusive: false,
  upper: null,
  upperInclusive: false,
};

function fail(spec: string, why: string): never {
  throw new VersionRangeError(`invalid Maven version range ${JSON.stringify(spec)}: ${why}`);
}

function bound(spec: string, text: string): string {
  // A bound is one version: brackets or commas inside it mean a malformed set.
  if (!isValidMaven(text) || /[[\](),]/.test(text)) fail(spec, `bad version ${JSON.stringify(text)}`);
  return text;
}

function parseRestriction(spec: string, part: string): MavenRestriction {
  const lowerInclusive = part.startsWith("[");
  const upperInclusive = part.endsWith("]");
  const body = part.slice(1, -1).trim();
  const comma = body.indexOf(",");
  if (comma < 0) {
    if (!lowerInclusive || !upperInclusive) fail(spec, "a single version must be surrounded by []");
    if (body.endsWith(".*") && body.length > 2) {
      const prefix = bound(spec, body.slice(0, -2));
      return { lower: null, lowerInclusive: true, upper: null, upperInclusive: true, wildcardPrefix: prefix };
    }
    const v = bound(spec, body);
    return { lower: v, lowerInclusive: true, upper: v, upperInclusive: true };
  }
  const lo = body.slice(0, comma).trim();
  const hi = body.slice(comma + 1).trim();
  const lower = lo === "" ? null : bound(spec, lo);
  const upper = hi === "" ? null : bound(spec, hi);
  if (lower !== null && upper !== null) {
    const d = compareMaven(upper, lower);
    if (d < 0 || (d === 0 && (!lowerInclusive || !upperInclusive)))
      fail(spec, "range defies version ordering");
  }
  return { lower, lowerInclusive, upper, upperInclusive };
}

/** `VersionRange.createFromVersionSpec(spec)`; throws VersionRangeError when invalid. */
export function parseMavenRange(spec: string): MavenRange {
  const restrictions: MavenRestriction[] = [];
  let rest = spec.trim();
  let upperBound: string | null = null;
  while (rest.startsWith("[") || rest.startsWith("(")) {
    const close1 = rest.indexOf(")");
    const close2 = rest.indexOf("]");
    let index = close2;
    if ((close2 < 0 || close1 < close2) && close1 >= 0) index = close1;
    if (index < 0) fail(spec, "unbounded range");
    const r = parseRestriction(spec, rest.slice(0, index + 1));
    if (upperBound !== null) {
      // Restrictions must ascend without overlapping (upstream checks only after a bounded one).
      const lower = r.lower ?? r.wildcardPrefix ?? null;
      if (lower === null || compareMaven(lower, upperBound) < 0) fail(spec, "ranges overlap");
    }
    restrictions.push(r);
    upperBound = r.upper ?? r.wildcardPrefix ?? null;
    rest = rest.slice(index + 1).trim();
    if (rest.startsWith(",")) rest = rest.slice(1).trim();
  }
  if (rest !== "") {
    if (restrictions.length > 0) fail(spec, "only fully-qualified sets are allowed in a multiple set");
    return { restrictions: [EVERYTHING], recommendedVersion: bound(spec, rest) };
  }
  if (restrictions.length === 0) fail(spec, "empty range");
  return { restrictions, recommendedVersion: null };
}

function inRestriction(r: MavenRestriction, version: string): boolean {
  if (r.wildcardPrefix !== undefined) return hasPrefix(version, r.wildcardPrefix);
  if (r.lower !== null) {
    const d = compareMaven(r.lower, version);
    if (d > 0 || (d === 0 && !r.lowerInclusive)) return false;
  }
  if (r.upper !== null) {
    const d = compareMaven(r.upper, version);
    if (d < 0 || (d === 0 && !r.upperInclusive)) return false;
  }
  return true;
}

function hasPrefix(version: string, prefix: string): boolean {
  const v = version.toLowerCase();
  const p = prefix.toLowerCase();
  if (!v.startsWith(p)) return false;
  if (v.length === p.length) return true;
  const next = v.charCodeAt(p.length);
  const last = p.charCodeAt(p.length - 1);
  const digit = (c: number): boolean => c >= 48 && c <= 57;
  // "." / "-" separate; so does a digit/letter transition ("1.2alpha").
  return next === 46 || next === 45 || digit(next) !== digit(last);
}

const RANGE_CACHE_LIMIT = 2048;
const rangeCache = new Map<string, MavenRange>();

/** Ranges repeat across the packages matched against one advisory: parse each once (bounded). */
function cachedRange(range: string): MavenRange {
  let r = rangeCache.get(range);
  if (r === undefined) {
    r = parseMavenRange(range); // an invalid range throws and is not cached
    if (rangeCache.size >= RANGE_CACHE_LIMIT) rangeCache.clear();
    rangeCache.set(range, r);
  }
  return r;
}

/** `VersionRange.createFromVersionSpec(range).containsVersion(version)`. */
export function mavenSatisfies(version: string, range: string): boolean {
  return cachedRange(range).restrictions.some((r) => inRestriction(r, version));
}

export const mavenScheme: VersionScheme = {
  id: "maven",
  isValid: isValidMaven,
  compare: compareMaven,
  satisfies: mavenSatisfies,
};
