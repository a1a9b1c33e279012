import {
  cachedNuGetLoose,
  compareNuGet,
  compareNuGetParsed,
  formatNuGet,
  isValidNuGet,
  type NuGetVersion,
  parseNuGet,
} from "./nuget.js";
import { type VersionScheme, VersionRangeError } from "./types.js";

/**
 * NuGet version ranges (`VersionRange.Parse` with floating allowed, then `Satisfies` with the
 * default comparer): a bare "1.0" means >= 1.0; "[a,b]" / "(a,b)" with either side empty for
 * unbounded; "[a]" is exactly a. A floating lower bound ("1.*", "1.0.0-beta*", "*") contributes
 * its minimum version, which is all `Satisfies` uses of it.
 */

export interface NuGetRange {
  readonly min: NuGetVersion | null;
  readonly minInclusive: boolean;
  readonly max: NuGetVersion | null;
  readonly maxInclusive: boolean;
  /** The floating text of the lower bound ("1.*"), when it floats. */
  readonly float: string | null;
  /** No brackets: "1.0" (printed back without them). */
  readonly bare: boolean;
}

function fail(range: string): never {
  throw new VersionRangeError(`invalid NuGet version range ${JSON.stringify(range)}`);
}

/** The minimum version of a floating range (`FloatRange.TryParse(...).MinVersion`), or null. */
export function floatMinVersion(text: string): NuGetVersion | null {
  if (text === "*") return parseNuGet("0.0.0");
  if (text === "*-*") return parseNuGet("0.0.0-0");
  const first = text.indexOf("*");
  const last = text.lastIndexOf("*");
  if (last !== text.length - 1 || text.includes("+")) return null;
  if (first !== last) {
    // "1.*-*", "1.0.*-beta*": floating release and pre-release.
    const dash = text.indexOf("-");
    if (dash < 0 || first !== dash - 1 || text[first - 1] !== ".") return null;
    const prefix = text.slice(dash + 1, -1);
    return parseNuGet(`${text.slice(0, first)}0-${prefix === "" ? "0" : prefix}`);
  }
  const body = text.slice(0, -1);
  const dash = body.indexOf("-");
  if (dash < 0) {
    // "1.*", "1.0.*": the floating part starts at 0.
    return body.endsWith(".") ? parseNuGet(`${body}0`) : null;
  }
  // "1.0.0-*", "1.0.0-beta*": the lowest pre-release with that prefix.
  const prefix = body.slice(dash + 1);
  return parseNuGet(prefix === "" ? `${body}0` : body);
}

/** `VersionRange.Parse(range)`; throws VersionRangeError when invalid. */
export function parseNuGetRange(range: string): NuGetRange {
  const text = range.trim();
  if (text === "") fail(range);
  if (text === "*") {
    return {
      min: floatMinVersion("*"),
      minInclusive: true,
      max: null,
      maxInclusive: false,
      float: "*",
      bare: true,
    };
  }
  let minText: string | null;
  let maxText: string | null = null;
  let minInclusive = true;
  let maxInclusive = false;
  const bare = !(text.startsWith("[") || text.startsWith("("));
  if (bare) minText = text;
  else {
    minInclusive = text.startsWith("[");
    const close = text[text.length - 1];
    if (close !== "]" && close !== ")") fail(range);
    maxInclusive = close === "]";
    const parts = text.slice(1, -1).split(",");
    if (parts.length > 2 || parts.every((p) => p === "")) fail(range);
    minText = parts[0]!;
    maxText = parts.length === 2 ? parts[1]! : parts[0]!;
  }
  let min: NuGetVersion | null = null;
  let float: string | null = null;
  if (minText.trim() !== "") {
    if (minText.includes("*")) {
      float = minText.trim();
      min = floatMinVersion(float);
    } else min = parseNuGet(minText);
    if (min === null) fail(range);
  }
  let max: NuGetVersion | null = null;
  if (maxText !== null && maxText.trim() !== "") {
    max = parseNuGet(maxText); // the upper bound cannot float
    if (max === null) fail(range);
  }
  if (min !== null && max !== null) {
    const d = compareNuGetParsed(min, max);
    // Reversed bounds, or equal bounds that are not both inclusive ("(1.0)", "[1.0, 1.0)"), are empty.
    if (d > 0 || (d === 0 && (!minInclusive || !maxInclusive))) fail(range);
  }
  return { min, minInclusive, max, maxInclusive, float, bare };
}

export function nugetRangeSatisfiedBy(r: NuGetRange, v: NuGetVersion): boolean {
  if (r.min !== null) {
    const d = compareNuGetParsed(r.min, v);
    if (d > 0 || (d === 0 && !r.minInclusive)) return false;
  }
  if (r.max !== null) {
    const d = compareNuGetParsed(r.max, v);
    if (d < 0 || (d === 0 && !r.maxInclusive)) return false;
  }
  return true;
}

const RANGE_CACHE_LIMIT = 2048;
const rangeCache = new Map<string, NuGetRange>();

/** Ranges repeat across the packages matched against one advisory: parse each once (bounded). */
function cachedRange(range: string): NuGetRange {
  let r = rangeCache.get(range);
  if (r === undefined) {
    r = parseNuGetRange(range); // an invalid range throws and is not cached
    if (rangeCache.size >= RANGE_CACHE_LIMIT) rangeCache.clear();
    rangeCache.set(range, r);
  }
  return r;
}

/** `VersionRange.Parse(range).Satisfies(NuGetVersion.Parse(version))`. */
export function nugetSatisfies(version: string, range: string): boolean {
  const r = cachedRange(range);
  const v = cachedNuGetLoose(version);
  return v !== null && nugetRangeSatisfiedBy(r, v);
}

/** `VersionRange.ToString()` (normalized; a floating lower bound keeps its text). */
export function formatNuGetRange(r: NuGetRange): string {
  const lo = r.float ?? (r.min === null ? "" : formatNuGet(r.min));
  if (r.bare) return lo;
  const hi = r.max === null ? "" : formatNuGet(r.max);
  if (r.min !== null && r.max !== null && r.minInclusive && r.maxInclusive && lo === hi) return `[${lo}]`;
  return `${r.minInclusive ? "[" : "("}${lo}, ${hi}${r.maxInclusive ? "]" : ")"}`;
}

/** `VersionRange.PrettyPrint()`, e.g. "(>= 1.0.0 && < 2.0.0)". */
export function prettyNuGetRange(r: NuGetRange): string {
  const lo = r.min === null ? null : formatNuGet(r.min);
  const hi = r.max === null ? null : formatNuGet(r.max);
  if (lo !== null && hi !== null && lo === hi && r.minInclusive && r.maxInclusive) return `(= ${lo})`;
  const parts: string[] = [];
  if (lo !== null) parts.push(`${r.minInclusive ? ">=" : ">"} ${lo}`);
  if (hi !== null) parts.push(`${r.maxInclusive ? "<=" : "<"} ${hi}`);
  return `(${parts.join(" && ")})`;
}

export const nugetScheme: VersionScheme = {
  id: "nuget",
  isValid: isValidNuGet,
  compare: compareNuGet,
  satisfies: nugetSatisfies,
};
