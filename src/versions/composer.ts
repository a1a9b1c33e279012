import type { Comparison } from "./types.js";

/**
 * Composer (Packagist) versions, as composer/semver reads and orders them: `VersionParser`
 * normalizes a version to four numbers plus a stability suffix ("v1.0" → "1.0.0.0",
 * "1.0.0-beta1" → "1.0.0.0-beta1", "1.x-dev" → "1.9999999.9999999.9999999-dev") or a
 * "dev-<branch>" name, and normalized versions are ordered by PHP's `version_compare`
 * (dev < alpha < beta < RC < stable < patch).
 */

// ---- PHP version_compare (ext/standard/versioning.c) ----

const isDigit = (c: number): boolean => c >= 48 && c <= 57;
const isAlnum = (c: number): boolean => isDigit(c) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
const isSpecial = (c: number): boolean => c === 45 || c === 95 || c === 43; // - _ +

/** php_canonicalize_version: "-_+" and other punctuation become ".", digit/letter runs split. */
export function phpCanonicalize(v: string): string {
  if (v.length === 0) return v;
  let out = v[0]!;
  let lp = v.charCodeAt(0);
  for (let i = 1; i < v.length; i++) {
    const p = v.charCodeAt(i);
    const lastDot = out.charCodeAt(out.length - 1) === 46;
    const dig = (c: number): boolean => isDigit(c);
    const ndig = (c: number): boolean => !isDigit(c) && c !== 46;
    if (isSpecial(p)) {
      if (!lastDot) out += ".";
    } else if ((ndig(lp) && dig(p)) || (dig(lp) && ndig(p))) {
      if (!lastDot) out += ".";
      out += v[i];
    } else if (!isAlnum(p)) {
      if (!lastDot) out += ".";
    } else out += v[i];
    lp = p;
  }
  return out;
}

const SPECIAL_FORMS: readonly [string, number][] = [
  ["dev", 0],
  ["alpha", 1],
  ["a", 1],
  ["beta", 2],
  ["b", 2],
  ["RC", 3],
  ["rc", 3],
  ["#", 4],
  ["pl", 5],
  ["p", 5],
];

function specialOrder(form: string): number {
  for (const [name, order] of SPECIAL_FORMS) if (form.startsWith(name)) return order;
  return -1; // any other word sorts before "dev"
}

function cmpSpecial(a: string, b: string): number {
  return Math.sign(specialOrder(a) - specialOrder(b));
}

/** Leading digits compared exactly (PHP's strtol would saturate; OSV compares them exactly). */
function cmpNumeric(a: string, b: string): number {
  let i = 0;
  while (i < a.length - 1 && a.charCodeAt(i) === 48) i++;
  let j = 0;
  while (j < b.length - 1 && b.charCodeAt(j) === 48) j++;
  const x = a.slice(i);
  const y = b.slice(j);
  if (x.length !== y.length) return x.length < y.length ? -1 : 1;
  return x < y ? -1 : x > y ? 1 : 0;
}

/** What version_compare compares: the canonical form (strings starting with "#" stay as they are). */
function canonicalForm(v: string): string {
  return v[0] === "#" ? v : phpCanonicalize(v);
}

/** `version_compare($a, $b)`: -1, 0 or 1. */
export function phpVersionCompare(v1: string, v2: string): number {
  if (v1 === "" || v2 === "") return v1 === v2 ? 0 : v1 !== "" ? 1 : -1;
  return compareCanonical(canonicalForm(v1), canonicalForm(v2));
}

/** php_version_compare after canonicalization (both non-empty). */
function compareCanonical(s1: string, s2: string): number {
  let p1 = 0;
  let p2 = 0;
  let n1: number | null = 0;
  let n2: number | null = 0;
  let compare = 0;
  while (p1 < s1.length && p2 < s2.length && n1 !== null && n2 !== null) {
    const d1 = s1.indexOf(".", p1);
    const d2 = s2.indexOf(".", p2);
    n1 = d1 < 0 ? null : d1;
    n2 = d2 < 0 ? null : d2;
    const seg1 = s1.slice(p1, n1 ?? s1.length);
    const seg2 = s2.slice(p2, n2 ?? s2.length);
    const dig1 = isDigit(seg1.charCodeAt(0));
    const dig2 = isDigit(seg2.charCodeAt(0));
    if (dig1 && dig2) compare = cmpNumeric(seg1, seg2);
    else if (!dig1 && !dig2) compare = cmpSpecial(seg1, seg2);
    else compare = dig1 ? cmpSpecial("#N#", seg2) : cmpSpecial(seg1, "#N#");
    if (compare !== 0) break;
    if (n1 !== null) p1 = n1 + 1;
    if (n2 !== null) p2 = n2 + 1;
  }
  if (compare === 0) {
    // One side has parts left: a number makes it newer, a word is weighed against a number.
    if (n1 !== null) compare = isDigit(s1.charCodeAt(p1)) ? 1 : phpVersionCompare(s1.slice(p1), "#N#");
    else if (n2 !== null) compare = isDigit(s2.charCodeAt(p2)) ? -1 : phpVersionCompare("#N#", s2.slice(p2));
  }
  return compare;
}

/** `version_compare($a, $b, $op)` for the operators composer uses. */
export function phpVersionCompareOp(a: string, b: string, op: string): boolean {
  const c = phpVersionCompare(a, b);
  switch (op) {
    case "<":
    case "lt":
      return c === -1;
    case "<=":
    case "le":
      return c !== 1;
    case ">":
    case "gt":
      return c === 1;
    case ">=":
    case "ge":
      return c !== -1;
    case "==":
    case "=":
    case "eq":
      return c === 0;
    case "!=":
    case "<>":
    case "ne":
      return c !== 0;
    default:
      throw new Error(`unknown version_compare operator ${op}`);
  }
}

// ---- VersionParser ----

/** composer/semver's `$modifierRegex` (possessive quantifiers dropped: nothing after them backtracks into them). */
export const MODIFIER = String.raw`[._-]?(?:(stable|beta|b|RC|alpha|a|patch|pl|p)((?:[.-]?\d+)*)?)?([.-]?dev)?`;
const STABILITIES = "stable|RC|beta|alpha|dev";

const ALIAS_RE = /^([^,\s]+) +as +([^,\s]+)$/;
const FLAG_RE = new RegExp(`@(?:${STABILITIES})$`, "i");
const METADATA_RE = /^([^,\s+]+)\+\S+$/;
const CLASSICAL_RE = new RegExp(String.raw`^v?(\d{1,5})(\.\d+)?(\.\d+)?(\.\d+)?${MODIFIER}$`, "i");
const DATE_RE = new RegExp(String.raw`^v?(\d{4}(?:[.:-]?\d{2}){1,6}(?:[.:-]?\d{1,3}){0,2})${MODIFIER}$`, "i");
const DEV_SUFFIX_RE = /^(.*?)[.-]?dev$/i;
const BRANCH_RE = /^v?(\d+)(\.(?:\d+|[xX*]))?(\.(?:\d+|[xX*]))?(\.(?:\d+|[xX*]))?$/i;

function expandStability(s: string): string {
  switch (s.toLowerCase()) {
    case "a":
      return "alpha";
    case "b":
      return "beta";
    case "p":
    case "pl":
      return "patch";
    case "rc":
      return "RC";
    default:
      return s.toLowerCase();
  }
}

/** PHP `trim()`'s default set: space, \t, \n, \r, \0, \x0B. */
export function phpTrim(s: string): string {
  let a = 0;
  let b = s.length;
  const ws = (c: number): boolean => c === 32 || c === 9 || c === 10 || c === 13 || c === 0 || c === 11;
  while (a < b && ws(s.charCodeAt(a))) a++;
  while (b > a && ws(s.charCodeAt(b - 1))) b--;
  return s.slice(a, b);
}

/** `VersionParser::normalize`; null where composer throws UnexpectedValueException. */
export function normalizeComposer(input: string): string | null {
  let version = phpTrim(input);
  const alias = ALIAS_RE.exec(version);
  if (alias !== null) version = alias[1]!;
  const flag = FLAG_RE.exec(version);
  if (flag !== null) version = version.slice(0, version.length - flag[0].length);
  if (version === "master" || version === "trunk" || version === "default") version = `dev-${version}`;
  if (version.slice(0, 4).toLowerCase() === "dev-") return `dev-${version.slice(4)}`;
  const meta = METADATA_RE.exec(version);
  if (meta !== null) version = meta[1]!;

  let m = CLASSICAL_RE.exec(version);
  let index: number;
  if (m !== null) {
    version = m[1]! + (m[2] || ".0") + (m[3] || ".0") + (m[4] || ".0");
    index = 5;
  } else {
    m = DATE_RE.exec(version);
    if (m !== null) {
      version = m[1]!.replace(/\D/g, ".");
      index = 2;
    } else index = 0;
  }
  if (m !== null && index > 0) {
    const stability = m[index];
    if (stability) {
      if (stability === "stable") return version;
      const n = m[index + 1];
      version += `-${expandStability(stability)}${n ? n.replace(/^[.-]+/, "") : ""}`;
    }
    if (m[index + 2]) version += "-dev";
    return version;
  }

  // A branch ending in -dev is only a version when its name is numeric ("1.x-dev").
  const dev = DEV_SUFFIX_RE.exec(version);
  if (dev !== null) {
    const branch = normalizeBranch(dev[1]!);
    if (!branch.includes("dev-")) return branch;
  }
  return null;
}

/** `VersionParser::normalizeBranch`: "1.x" → "1.9999999.9999999.9999999-dev", else "dev-<name>". */
export function normalizeBranch(input: string): string {
  const name = phpTrim(input);
  const m = BRANCH_RE.exec(name);
  if (m !== null) {
    let version = "";
    for (let i = 1; i < 5; i++) version += m[i] !== undefined ? m[i]!.replace(/[*X]/g, "x") : ".x";
    return `${version.replaceAll("x", "9999999")}-dev`;
  }
  return `dev-${name}`;
}

/** `VersionParser::normalizeDefaultBranch`: dev-master/default/trunk sort as 9999999-dev. */
export function normalizeDefaultBranch(name: string): string {
  return name === "dev-master" || name === "dev-default" || name === "dev-trunk" ? "9999999-dev" : name;
}

const STABILITY_RE = new RegExp(String.raw`${MODIFIER}(?:\+.*)?$`, "i");

/** `VersionParser::parseStability`. */
export function parseStability(input: string): "stable" | "RC" | "beta" | "alpha" | "dev" {
  const version = input.replace(/#.+$/, "");
  if (version.startsWith("dev-") || version.endsWith("-dev")) return "dev";
  const m = STABILITY_RE.exec(version.toLowerCase());
  if (m === null) return "stable";
  if (m[3]) return "dev";
  switch (m[1]) {
    case "beta":
    case "b":
      return "beta";
    case "alpha":
    case "a":
      return "alpha";
    case "rc":
      return "RC";
    default:
      return "stable";
  }
}

/** `VersionParser::parseNumericAliasPrefix`: "1.2.x-dev" → "1.2.", else false. */
export function parseNumericAliasPrefix(branch: string): string | false {
  const m = /^((?:\d+\.)*\d+)(?:\.x)?-dev$/i.exec(branch);
  return m === null ? false : `${m[1]}.`;
}

// ---- ordering ----

interface SortKey {
  /** `VersionParser::normalize`, or null when not a version. */
  readonly normalized: string | null;
  /** The normalized form (default branches as 9999999-dev), or null when not a version. */
  readonly key: string | null;
  /** The canonical form of `key` (what version_compare compares); "" when `key` is null. */
  readonly canon: string;
}

const CACHE_LIMIT = 8192;
const cache = new Map<string, SortKey>();

/** Normalizing runs regexes and canonicalizing builds strings: both are cached (bounded). */
function sortKey(version: string): SortKey {
  let k = cache.get(version);
  if (k === undefined) {
    const n = normalizeComposer(version);
    const key = n === null ? null : normalizeDefaultBranch(n);
    k = { normalized: n, key, canon: key === null ? "" : canonicalForm(key) };
    // Dropping the whole cache when full is O(1); evicting the oldest key from a Map is not
    // (V8 skips the deleted slots at the front on every keys().next()).
    if (cache.size >= CACHE_LIMIT) cache.clear();
    cache.set(version, k);
  }
  return k;
}

/** `VersionParser::normalize` through the bounded cache. */
export function cachedNormalize(version: string): string | null {
  return sortKey(version).normalized;
}

/**
 * Composer order (what `Semver::sort` does): both versions normalized, then `version_compare`;
 * "dev-*" branches sort before numbered versions (dev-master/trunk/default last). Two different
 * branches are not comparable in composer; they are ordered by name here to keep the order
 * total. When either string cannot be normalized, both are compared as written (a leading "v"
 * aside) with `version_compare`: the rule OSV applies to every Packagist version.
 */
export function compareComposer(a: string, b: string): Comparison {
  if (a === b) return 0;
  const ka = sortKey(a);
  const kb = sortKey(b);
  if (ka.key === null || kb.key === null) {
    // Either is not a version: both compared as written (a leading "v" aside), as OSV does.
    // version_compare is not antisymmetric on some junk ("." vs "💥"); then the text decides.
    const ra = stripV(a);
    const rb = stripV(b);
    const x = phpVersionCompare(ra, rb);
    if (x === -phpVersionCompare(rb, ra)) return x as Comparison;
    return ra < rb ? -1 : ra > rb ? 1 : 0;
  }
  if (ka.key === kb.key) return 0;
  if (ka.key.startsWith("dev-") && kb.key.startsWith("dev-")) return ka.key < kb.key ? -1 : 1;
  return compareCanonical(ka.canon, kb.canon) as Comparison;
}

function stripV(v: string): string {
  return v.replace(/^[vV]+/, "");
}

export function isValidComposer(version: string): boolean {
  return normalizeComposer(version) !== null;
}

/**
 * `Constraint::versionCompare`: "dev-*" branches are equal only to themselves, and with
 * `compareBranches` false never compare with numbered versions.
 */
export function composerVersionCompare(a: string, b: string, op: string, compareBranches: boolean): boolean {
  const aBranch = a.startsWith("dev-");
  const bBranch = b.startsWith("dev-");
  if ((op === "!=" || op === "<>") && (aBranch || bBranch)) return a !== b;
  if (aBranch && bBranch) return (op === "==" || op === "=") && a === b;
  if (!compareBranches && (aBranch || bBranch)) return false;
  return phpVersionCompareOp(a, b, op);
}

/** `Comparator::compare($a, $op, $b)` on the strings as given (Comparator does not normalize). */
export function composerCompareOp(a: string, op: string, b: string): boolean {
  return composerVersionCompare(a, b, op, true);
}
