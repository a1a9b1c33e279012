import {
  cachedGem,
  compareGem,
  compareGemParsed,
  gemBump,
  gemRelease,
  type GemVersion,
  isValidGem,
  parseGem,
} from "./gem.js";
import { type VersionScheme, VersionRangeError } from "./types.js";

/**
 * RubyGems requirements (`Gem::Requirement`): clauses `op version` with op one of
 * = != > < >= <= ~> (none means =), AND-ed; in a range string they are separated by commas.
 * `~> 1.4` means `>= 1.4` and `release < 1.4.bump` (= 2), so "2.0.a" is out.
 */

export type GemOp = "=" | "!=" | ">" | "<" | ">=" | "<=" | "~>";

export interface GemRequirement {
  readonly op: GemOp;
  readonly version: GemVersion;
}

const isRubySpace = (c: number): boolean => c === 32 || (c >= 9 && c <= 13);
const TWO_CHAR_OPS: readonly GemOp[] = ["!=", ">=", "<=", "~>"];

/** `Gem::Requirement.parse`: `\A\s*(op)?\s*(version)\s*\z`; throws VersionRangeError. */
export function parseGemRequirement(text: string): GemRequirement {
  let i = 0;
  while (i < text.length && isRubySpace(text.charCodeAt(i))) i++;
  let op: GemOp = "=";
  const two = text.slice(i, i + 2);
  if ((TWO_CHAR_OPS as readonly string[]).includes(two)) {
    op = two as GemOp;
    i += 2;
  } else if (text[i] === "=" || text[i] === ">" || text[i] === "<") {
    op = text[i] as GemOp;
    i++;
  }
  const rest = text.slice(i);
  // The version part must be present (a blank requirement is ill-formed) and correct.
  const version = rest.trim() === "" || !isValidGem(rest) ? null : parseGem(rest);
  if (version === null)
    throw new VersionRangeError(`ill-formed RubyGems requirement ${JSON.stringify(text)}`);
  return { op, version };
}

/** A range string: comma-separated clauses, all of which must hold. */
export function parseGemRequirements(range: string): GemRequirement[] {
  return range.split(",").map(parseGemRequirement);
}

function holds(req: GemRequirement, v: GemVersion): boolean {
  const d = compareGemParsed(v, req.version);
  switch (req.op) {
    case "=":
      return d === 0;
    case "!=":
      return d !== 0;
    case ">":
      return d > 0;
    case "<":
      return d < 0;
    case ">=":
      return d >= 0;
    case "<=":
      return d <= 0;
    case "~>":
      return d >= 0 && compareGemParsed(gemRelease(v), gemBump(req.version)) < 0;
  }
}

/** `Gem::Requirement.new(*clauses).satisfied_by?(Gem::Version.new(version))`. */
export function gemSatisfiedBy(version: string, clauses: readonly string[]): boolean {
  const reqs = clauses.map(parseGemRequirement);
  const v = cachedGem(version);
  // Ruby raises on a malformed version; such a version satisfies nothing here.
  return v !== null && reqs.every((r) => holds(r, v));
}

const RANGE_CACHE_LIMIT = 2048;
const rangeCache = new Map<string, GemRequirement[]>();

/** Ranges repeat across the packages matched against one advisory: parse each once (bounded). */
function cachedRequirements(range: string): GemRequirement[] {
  let r = rangeCache.get(range);
  if (r === undefined) {
    r = parseGemRequirements(range); // an invalid range throws and is not cached
    if (rangeCache.size >= RANGE_CACHE_LIMIT) rangeCache.clear();
    rangeCache.set(range, r);
  }
  return r;
}

export function gemSatisfies(version: string, range: string): boolean {
  const reqs = cachedRequirements(range);
  const v = cachedGem(version);
  return v !== null && reqs.every((r) => holds(r, v));
}

export const gemScheme: VersionScheme = {
  id: "gem",
  isValid: isValidGem,
  compare: compareGem,
  satisfies: gemSatisfies,
};
