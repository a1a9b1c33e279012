import {
  cachedPep440,
  cmpNum,
  cmpPublic,
  cmpRelease,
  comparePep440,
  comparePep440Parsed,
  formatPep440,
  isPrerelease,
  lowerAscii,
  parsePep440,
  parseVersionAt,
  Pep440Cursor,
  type Pep440Num,
  type Pep440Version,
  pyStrip,
} from "./pep440.js";
import { type VersionScheme, VersionRangeError } from "./types.js";

/**
 * PEP 440 specifiers (`Specifier`) and comma-separated specifier sets (`SpecifierSet`) with the
 * semantics of pypa/packaging's `contains` and `filter`: each operator is the version interval
 * packaging's `_ranges` builds for it, and pre-releases are governed by packaging's
 * `prereleases` rules (default: a matching pre-release is contained; only an explicit
 * `prereleases=False` excludes it).
 */

export type SpecOp = "===" | "~=" | "==" | "!=" | "<=" | ">=" | "<" | ">";

export interface Pep440Specifier {
  readonly op: SpecOp;
  /** The version text as written (for `===`, the arbitrary string). */
  readonly text: string;
  /** The parsed version; null only for `===` with a non-PEP 440 string. */
  readonly version: Pep440Version | null;
  /** `==V.*` / `!=V.*`. */
  readonly wildcard: boolean;
}

export interface Pep440Options {
  /** `prereleases=` given to the Specifier/SpecifierSet constructor (null: default). */
  specPrereleases?: boolean | null;
  /** `prereleases=` given to `contains` / `filter` (null: default). */
  prereleases?: boolean | null;
  /** `installed=` given to `SpecifierSet.contains`: an installed pre-release is always allowed. */
  installed?: boolean | null;
  /** "Specifier" parses exactly one clause; "SpecifierSet" (default) a comma-separated AND. */
  kind?: "Specifier" | "SpecifierSet";
}

const OPS: readonly SpecOp[] = ["===", "~=", "==", "!=", "<=", ">=", "<", ">"];

/** One clause, e.g. `>=1.0` or `== 1.2.*`; throws VersionRangeError when invalid. */
export function parseSpecifier(spec: string): Pep440Specifier {
  const s = pyStrip(spec);
  const op = OPS.find((o) => s.startsWith(o));
  if (op === undefined) throw new VersionRangeError(`invalid PEP 440 specifier: ${JSON.stringify(spec)}`);
  const text = pyStrip(s.slice(op.length));
  const bad = (): never => {
    throw new VersionRangeError(`invalid PEP 440 specifier: ${JSON.stringify(spec)}`);
  };
  if (op === "===") {
    // Anything but whitespace, ";" and ")" (packaging's `[^\s;)]*`).
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === 59 || c === 41 || /\s/.test(text[i]!)) bad();
    }
    return { op, text, version: parsePep440(text), wildcard: false };
  }
  const c = new Pep440Cursor(lowerAscii(text));
  if (text.endsWith(".*")) {
    if (op !== "==" && op !== "!=") bad();
    // Only `v? (E!)? release` may precede the wildcard.
    const body = new Pep440Cursor(c.s.slice(0, -2));
    const v = parseVersionAt(body, false);
    if (v === null || body.pos !== body.s.length || v.pre || v.post !== null || v.dev !== null) bad();
    return { op, text, version: v, wildcard: true };
  }
  const allowLocal = op === "==" || op === "!=";
  const v = parseVersionAt(c, allowLocal);
  if (v === null || c.pos !== c.s.length) bad();
  if (op === "~=" && v!.release.length < 2) bad();
  return { op, text, version: v, wildcard: false };
}

/** A comma-separated specifier set (empty string: no constraint). */
export function parseSpecifierSet(specs: string): Pep440Specifier[] {
  return specs
    .split(",")
    .map((p) => pyStrip(p))
    .filter((p) => p !== "")
    .map(parseSpecifier);
}

/** A version's "next prefix" bound: `E!r[0..n-2].(r[n-1]+1).dev0`. */
function nextPrefixDev0(epoch: Pep440Num, release: readonly Pep440Num[]): Pep440Version {
  const last = release[release.length - 1]!;
  const bumped = typeof last === "number" ? last + 1 : incrementDigits(last);
  return { epoch, release: [...release.slice(0, -1), bumped], pre: null, post: null, dev: 0, local: null };
}

function incrementDigits(d: string): string {
  const out = d.split("");
  for (let i = out.length - 1; i >= 0; i--) {
    if (out[i] !== "9") {
      out[i] = String(Number(out[i]) + 1);
      return out.join("");
    }
    out[i] = "0";
  }
  return "1" + out.join("");
}

/** Same epoch, release (trailing zeros aside) and pre-release: V's "post family" for `>V`. */
function sameEpochReleasePre(a: Pep440Version, b: Pep440Version): boolean {
  if (cmpNum(a.epoch, b.epoch) !== 0 || cmpRelease(a.release, b.release) !== 0) return false;
  if (a.pre === null || b.pre === null) return a.pre === b.pre;
  return a.pre[0] === b.pre[0] && cmpNum(a.pre[1], b.pre[1]) === 0;
}

/**
 * Whether `v` lies in the interval packaging builds for `spec` (pre-release policy aside).
 * `>V` excludes V's post-releases and local versions; `<V` excludes V's pre-releases unless V is
 * one; `<=V`/`==V`/`!=V` without a local match V's local versions.
 */
export function inSpecifier(spec: Pep440Specifier, v: Pep440Version): boolean {
  const V = spec.version!;
  if (spec.wildcard) {
    const lo: Pep440Version = {
      epoch: V.epoch,
      release: V.release,
      pre: null,
      post: null,
      dev: 0,
      local: null,
    };
    const inside =
      comparePep440Parsed(v, lo) >= 0 && comparePep440Parsed(v, nextPrefixDev0(V.epoch, V.release)) < 0;
    return spec.op === "==" ? inside : !inside;
  }
  switch (spec.op) {
    case ">=":
      return comparePep440Parsed(v, V) >= 0;
    case "<=":
      return cmpPublic(v, V) <= 0;
    case "==":
    case "!=": {
      const eq = V.local !== null ? comparePep440Parsed(v, V) === 0 : cmpPublic(v, V) === 0;
      return spec.op === "==" ? eq : !eq;
    }
    case "<": {
      const bound = isPrerelease(V) ? V : { ...V, dev: 0, local: null };
      return comparePep440Parsed(v, bound) < 0;
    }
    case ">": {
      if (V.dev !== null) {
        const dev = V.dev;
        const next = typeof dev === "number" ? dev + 1 : incrementDigits(dev);
        return comparePep440Parsed(v, { ...V, dev: next, local: null }) >= 0;
      }
      if (V.post !== null) {
        const post = V.post;
        const next = typeof post === "number" ? post + 1 : incrementDigits(post);
        return comparePep440Parsed(v, { ...V, post: next, dev: 0, local: null }) >= 0;
      }
      return comparePep440Parsed(v, V) > 0 && !sameEpochReleasePre(v, V);
    }
    case "~=":
      return (
        comparePep440Parsed(v, V) >= 0 &&
        comparePep440Parsed(v, nextPrefixDev0(V.epoch, V.release.slice(0, -1))) < 0
      );
    default:
      return false;
  }
}

/** packaging's `Specifier.prereleases` when not set explicitly. */
function impliedPrereleases(spec: Pep440Specifier): boolean | null {
  if (spec.op === "!=") return false;
  if (spec.op === "==" && spec.wildcard) return false;
  if (spec.version === null) return null;
  return isPrerelease(spec.version);
}

/** A filter/contains item: a version string, or an already parsed `Version` object. */
export type Pep440Item = string | Pep440Version;

function itemVersion(item: Pep440Item): Pep440Version | null {
  return typeof item === "string" ? cachedPep440(item) : item;
}

/** `===` compares the item's text (a Version object's normalized text) case-insensitively. */
function arbitraryMatch(spec: Pep440Specifier, item: Pep440Item): boolean {
  const text = typeof item === "string" ? item : formatPep440(item);
  return text.toLowerCase() === spec.text.toLowerCase();
}

function matchOne(spec: Pep440Specifier, item: Pep440Item): boolean {
  if (spec.op === "===") return arbitraryMatch(spec, item);
  const v = itemVersion(item);
  return v !== null && inSpecifier(spec, v);
}

/** The `prereleases` value packaging settles on before filtering. */
function resolvePrereleases(specs: readonly Pep440Specifier[], opts: Pep440Options): boolean | null {
  if (opts.prereleases !== undefined && opts.prereleases !== null) return opts.prereleases;
  if (opts.specPrereleases !== undefined && opts.specPrereleases !== null) return opts.specPrereleases;
  if (opts.kind === "Specifier") return impliedPrereleases(specs[0]!) === true ? true : null;
  return specs.some((s) => impliedPrereleases(s) === true) ? true : null;
}

const RANGE_CACHE_LIMIT = 2048;
const rangeCache = new Map<string, Pep440Specifier[]>();

/** Ranges repeat across the packages matched against one advisory: parse each once (bounded). */
function cachedSpecifierSet(range: string): Pep440Specifier[] {
  let r = rangeCache.get(range);
  if (r === undefined) {
    r = parseSpecifierSet(range); // an invalid range throws and is not cached
    if (rangeCache.size >= RANGE_CACHE_LIMIT) rangeCache.clear();
    rangeCache.set(range, r);
  }
  return r;
}

function parseFor(range: string, opts: Pep440Options): Pep440Specifier[] {
  return opts.kind === "Specifier" ? [parseSpecifier(range)] : cachedSpecifierSet(range);
}

/**
 * `Specifier(range).contains(version)` / `SpecifierSet(range).contains(version)` with the given
 * options. Throws VersionRangeError on an invalid specifier.
 */
export function pep440Contains(version: Pep440Item, range: string, opts: Pep440Options = {}): boolean {
  const specs = parseFor(range, opts);
  const v = itemVersion(version);
  let pre = resolvePrereleases(specs, opts);
  if (opts.installed === true && v !== null && isPrerelease(v)) pre = true;
  if (specs.length === 0) {
    // An empty set contains everything, unparsable strings included, unless pre-releases are off.
    return !(pre === false && v !== null && isPrerelease(v));
  }
  if (!specs.every((s) => matchOne(s, version))) return false;
  // For one item, the default policy (null) keeps a matching pre-release: no final competes.
  return !(pre === false && v !== null && isPrerelease(v));
}

/** `list(spec.filter(items, prereleases=...))`, including packaging's ordering of the output. */
export function pep440Filter<T extends Pep440Item>(
  items: readonly T[],
  range: string,
  opts: Pep440Options = {},
): T[] {
  const specs = parseFor(range, opts);
  const pre = resolvePrereleases(specs, opts);
  const arbitrary = specs.some((s) => s.op === "===");
  // Unparsable items survive only an empty set or a set with `===` (they cannot be pre-releases).
  const keepUnparsable = specs.length === 0 || arbitrary;
  const matched = items.filter((item) => {
    if (!keepUnparsable && itemVersion(item) === null) return false;
    return specs.every((s) => matchOne(s, item));
  });
  if (pre === true) return matched;
  if (pre === false) {
    return matched.filter((item) => {
      const v = itemVersion(item);
      return v === null || !isPrerelease(v);
    });
  }
  // Default: pre-releases only when no final release matched; unparsable strings are held back
  // until the first final (or the end) like packaging's buffering filter.
  const out: T[] = [];
  const held: T[] = [];
  const nonFinal: T[] = [];
  let final = false;
  for (const item of matched) {
    const v = itemVersion(item);
    if (v === null) {
      if (final) out.push(item);
      else {
        held.push(item);
        nonFinal.push(item);
      }
    } else if (!isPrerelease(v)) {
      if (!final) out.push(...held);
      final = true;
      out.push(item);
    } else if (!final) nonFinal.push(item);
  }
  return final ? out : nonFinal;
}

/** Vulnerability-matching default: a SpecifierSet, matching pre-releases included. */
export function pep440Satisfies(version: string, range: string): boolean {
  return pep440Contains(version, range);
}

export const pep440Scheme: VersionScheme = {
  id: "pep440",
  isValid: (version) => parsePep440(version) !== null,
  compare: comparePep440,
  satisfies: pep440Satisfies,
};
