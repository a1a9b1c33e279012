import {
  cachedNormalize,
  compareComposer,
  composerVersionCompare,
  isValidComposer,
  MODIFIER,
  normalizeComposer,
  parseStability,
  phpTrim,
  phpVersionCompareOp,
} from "./composer.js";
import { type VersionScheme, VersionRangeError } from "./types.js";

/**
 * Composer constraints as `VersionParser::parseConstraints` reads them and `Semver::satisfies`
 * evaluates them: "||" (or "|") separates alternatives, "," or a space separates clauses that
 * must all hold; a clause is `^v`, `~v`, `v.*` / `v.x`, `a - b`, `*`, or an operator
 * (= == != <> < <= > >=) and a version, each with an optional `@stability` flag. Every clause
 * becomes one or two atomic `Constraint(op, normalizedVersion)`s.
 */

export type ComposerOp = "==" | "!=" | "<" | "<=" | ">" | ">=";

export interface ComposerAtom {
  readonly op: ComposerOp;
  readonly version: string;
}

/** OR of ANDs; an empty AND list (from `*`) matches everything. */
export type ComposerConstraint = readonly (readonly ComposerAtom[])[];

const OP_NAMES: Record<string, ComposerOp> = {
  "=": "==",
  "==": "==",
  "<": "<",
  "<=": "<=",
  ">=": ">=",
  ">": ">",
  "<>": "!=",
  "!=": "!=",
};

function atom(op: string, version: string): ComposerAtom {
  return { op: OP_NAMES[op]!, version };
}

function fail(constraint: string, why = ""): never {
  throw new VersionRangeError(`could not parse Composer constraint ${JSON.stringify(constraint)}${why}`);
}

function normalizeOrFail(constraint: string, version: string): string {
  return normalizeComposer(version) ?? fail(constraint, `: invalid version ${JSON.stringify(version)}`);
}

const VERSION = String.raw`v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:\.(\d+))?(?:${MODIFIER}|\.([xX*][.-]?dev))(?:\+\S+)?`;
const TILDE_RE = new RegExp(`^~>?${VERSION}$`, "i");
const CARET_RE = new RegExp(String.raw`^\^${VERSION}($)`, "i");
const XRANGE_RE = /^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:\.[xX*])+$/;
const HYPHEN_RE = new RegExp(`^(?<from>${VERSION}) +- +(?<to>${VERSION})($)`, "i");
const BASIC_RE = /^(<>|!=|>=?|<=?|==?)?\s*(.*)/;
const FLAG_RE = /^([^,\s]*?)@(stable|RC|beta|alpha|dev)$/i;
const REF_RE = /^(dev-[^,\s@]+?|[^,\s@]+?\.x-dev)#.+$/i;
const ANY_RE = /^(v)?[xX*](\.[xX*])*$/i;
const DEV_MODIFIER_RE = new RegExp(`-${MODIFIER}$`);

const set = (s: string | undefined): boolean => s !== undefined && s !== "";

/** `manipulateVersionString`: bump part `position` by `increment`, zero the ones after it. */
function manipulate(parts: readonly (string | undefined)[], position: number, increment = 0): string {
  const m = parts.slice();
  for (let i = 4; i > 0; i--) {
    if (i > position) m[i] = "0";
    else if (i === position && increment) m[i] = String(Number(m[i] ?? 0) + increment);
  }
  return `${m[1]}.${m[2]}.${m[3]}.${m[4]}`;
}

/** One clause (`VersionParser::parseConstraint`). */
function parseClause(input: string): ComposerAtom[] {
  let constraint = input;
  let stabilityModifier: string | null = null;
  const alias = /^([^,\s]+) +as +([^,\s]+)$/.exec(constraint);
  if (alias !== null) constraint = alias[1]!;
  const flag = FLAG_RE.exec(constraint);
  if (flag !== null) {
    constraint = flag[1] !== "" ? flag[1]! : "*";
    if (flag[2] !== "stable") stabilityModifier = flag[2]!;
  }
  const ref = REF_RE.exec(constraint);
  if (ref !== null) constraint = ref[1]!;

  const any = ANY_RE.exec(constraint);
  if (any !== null) return any[1] || any[2] ? [atom(">=", "0.0.0.0-dev")] : [];

  let m = TILDE_RE.exec(constraint);
  if (m !== null) {
    if (constraint.startsWith("~>")) fail(input, ': invalid operator "~>", you probably meant "~"');
    let position = set(m[4]) ? 4 : set(m[3]) ? 3 : set(m[2]) ? 2 : 1;
    if (set(m[8])) position++; // 2.x-dev / 3.0.x-dev shift the next part
    const suffix = !set(m[5]) && !set(m[7]) && !set(m[8]) ? "-dev" : "";
    const low = normalizeOrFail(input, (constraint + suffix).slice(1));
    const high = manipulate(m, Math.max(1, position - 1), 1) + "-dev";
    return [atom(">=", low), atom("<", high)];
  }

  m = CARET_RE.exec(constraint);
  if (m !== null) {
    let position: number;
    if (m[1] !== "0" || !set(m[2])) position = 1;
    else if (m[2] !== "0" || !set(m[3])) position = 2;
    else position = 3;
    const suffix = !set(m[5]) && !set(m[7]) && !set(m[8]) ? "-dev" : "";
    const low = normalizeOrFail(input, (constraint + suffix).slice(1));
    const high = manipulate(m, position, 1) + "-dev";
    return [atom(">=", low), atom("<", high)];
  }

  m = XRANGE_RE.exec(constraint);
  if (m !== null) {
    const position = set(m[3]) ? 3 : set(m[2]) ? 2 : 1;
    const low = manipulate(m, position) + "-dev";
    const high = manipulate(m, position, 1) + "-dev";
    return low === "0.0.0.0-dev" ? [atom("<", high)] : [atom(">=", low), atom("<", high)];
  }

  m = HYPHEN_RE.exec(constraint);
  if (m !== null) {
    const from = m.groups!["from"]!;
    const to = m.groups!["to"]!;
    const lowSuffix = !set(m[6]) && !set(m[8]) && !set(m[9]) ? "-dev" : "";
    const lower = atom(">=", normalizeOrFail(input, from) + lowSuffix);
    // PHP's empty() with "0" counting as present.
    const present = (x: string | undefined): boolean => x === "0" || set(x);
    if ((present(m[12]) && present(m[13])) || set(m[15]) || set(m[17]) || set(m[18])) {
      return [lower, atom("<=", normalizeOrFail(input, to))];
    }
    normalizeOrFail(input, to); // validates the upper version
    const high = manipulate(["", m[11], m[12], m[13], m[14]], present(m[12]) ? 2 : 1, 1) + "-dev";
    return [lower, atom("<", high)];
  }

  m = BASIC_RE.exec(constraint);
  if (m !== null) {
    const text = m[2]!;
    let version = normalizeComposer(text);
    if (version === null && text.endsWith("-dev") && /^[0-9a-zA-Z-./]+$/.test(text)) {
      // "foobar-dev" means "dev-foobar"
      version = normalizeComposer(`dev-${text.slice(0, -4)}`);
    }
    if (version !== null) {
      const op = m[1] || "=";
      if (op !== "==" && op !== "=" && stabilityModifier !== null && parseStability(version) === "stable") {
        version += `-${stabilityModifier}`;
      } else if ((op === "<" || op === ">=") && !DEV_MODIFIER_RE.test(text.toLowerCase())) {
        // "< 1.0" and ">= 1.0" also take 1.0's pre-releases into account.
        if (!text.startsWith("dev-")) version += "-dev";
      }
      return [atom(op, version)];
    }
  }
  return fail(input);
}

const AND_SPLIT = /(?<!^|as|[=>< ,]) *(?<!-)[, ](?!-) *(?!,|as|$)/;

/** `VersionParser::parseConstraints`; throws VersionRangeError when invalid. */
export function parseComposerConstraint(constraints: string): ComposerConstraint {
  const trimmed = phpTrim(constraints);
  return trimmed.split(/\s*\|\|?\s*/).map((alternative) => alternative.split(AND_SPLIT).flatMap(parseClause));
}

/** `Constraint(op, c)->matches(Constraint('==', v))`: `Semver::satisfies` on one atom. */
function atomMatches(a: ComposerAtom, v: string): boolean {
  if (a.op === "==") return composerVersionCompare(a.version, v, "==", false);
  return composerVersionCompare(v, a.version, a.op, false);
}

export function composerConstraintMatches(c: ComposerConstraint, normalizedVersion: string): boolean {
  return c.some((all) => all.every((a) => atomMatches(a, normalizedVersion)));
}

const RANGE_CACHE_LIMIT = 2048;
const rangeCache = new Map<string, ComposerConstraint>();

/** Ranges repeat across the packages matched against one advisory: parse each once (bounded). */
function cachedConstraint(range: string): ComposerConstraint {
  let r = rangeCache.get(range);
  if (r === undefined) {
    r = parseComposerConstraint(range); // an invalid range throws and is not cached
    if (rangeCache.size >= RANGE_CACHE_LIMIT) rangeCache.clear();
    rangeCache.set(range, r);
  }
  return r;
}

/** `Semver::satisfies(version, constraints)`; an unparsable version satisfies nothing. */
export function composerSatisfies(version: string, constraints: string): boolean {
  const c = cachedConstraint(constraints);
  const v = cachedNormalize(version);
  return v !== null && composerConstraintMatches(c, v);
}

const NO_EQ: Record<ComposerOp, string> = { "==": "", "!=": "!", "<": "<", "<=": "<", ">": ">", ">=": ">" };

/**
 * `Constraint::matchSpecific`: whether two atomic constraints can hold at once ("require"
 * `this`, "provide" `provider`), as composer decides whether a provided package fits.
 */
export function composerAtomsIntersect(
  self: ComposerAtom,
  provider: ComposerAtom,
  compareBranches = false,
): boolean {
  const isEq = self.op === "==";
  const isNe = self.op === "!=";
  const isProviderEq = provider.op === "==";
  const isProviderNe = provider.op === "!=";
  if (isNe || isProviderNe) {
    if (isNe && !isProviderNe && !isProviderEq && provider.version.startsWith("dev-")) return false;
    if (isProviderNe && !isNe && !isEq && self.version.startsWith("dev-")) return false;
    if (!isEq && !isProviderEq) return true;
    return composerVersionCompare(provider.version, self.version, "!=", compareBranches);
  }
  // e.g. <= 2.0 and < 1.0 always overlap
  if (!isEq && NO_EQ[self.op] === NO_EQ[provider.op]) {
    return !(self.version.startsWith("dev-") || provider.version.startsWith("dev-"));
  }
  const v1 = isEq ? self.version : provider.version;
  const v2 = isEq ? provider.version : self.version;
  const op = isEq ? provider.op : self.op;
  if (composerVersionCompare(v1, v2, op, compareBranches)) {
    // require >= 1.0 and provide < 1.0: 1.0 >= 1.0, yet 1.0 is outside the provided interval
    return !(
      provider.op === NO_EQ[provider.op] &&
      self.op !== NO_EQ[self.op] &&
      phpVersionCompareOp(provider.version, self.version, "==")
    );
  }
  return false;
}

export const composerScheme: VersionScheme = {
  id: "composer",
  isValid: isValidComposer,
  compare: compareComposer,
  satisfies: composerSatisfies,
};
