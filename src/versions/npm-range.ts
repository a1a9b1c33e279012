import { RE } from "./npm-re.js";
import { parseNpm, type NpmOptions } from "./npm-version.js";
import { boundedMemo } from "./semver-cache.js";
import { compareSemVer, formatSemVer, type SemVer } from "./semver.js";
import { VersionRangeError } from "./types.js";

/**
 * node-semver ranges (classes/range.js): `||` sets of space-separated comparators, desugared
 * from hyphen ranges, x-ranges, `~`, `^` and partial versions into plain `<`, `<=`, `>`, `>=`,
 * `=` comparators exactly as node-semver rewrites them (the same regexes, the same string
 * rewriting, so corner cases such as `>x 2.x || * || <x` come out the same). Then a version
 * satisfies a set when it passes every comparator and, being a pre-release, some comparator
 * of that set names a pre-release of the same major.minor.patch (unless includePrerelease).
 */

type Operator = "" | "<" | ">" | "<=" | ">=";

export interface Comparator {
  readonly operator: Operator;
  /** null: matches anything (node-semver's ANY, written as the empty comparator). */
  readonly semver: SemVer | null;
  /** Canonical text, e.g. `>=1.2.3-0`; '' for ANY. */
  readonly value: string;
}

export interface NpmRange {
  readonly set: readonly (readonly Comparator[])[];
  readonly loose: boolean;
  readonly includePrerelease: boolean;
}

const isX = (id: string | undefined): boolean => !id || id.toLowerCase() === "x" || id === "*";

const invalidXRangeOrder = (M?: string, m?: string, p?: string): boolean =>
  (isX(M) && !isX(m)) || (isX(m) && !!p && !isX(p));

// The rewrites below keep node-semver's string arithmetic (`+M + 1`, M spliced in as written):
// a loose `>=09090` becomes `>=09090.0.0`, and an overflowing bump makes the comparator invalid.

function replaceCaret(comp: string, o: NpmOptions): string {
  const z = o.includePrerelease ? "-0" : "";
  return comp.replace(
    o.loose ? RE.caretLoose : RE.caret,
    (_: string, M?: string, m?: string, p?: string, pr?: string) => {
      if (isX(M)) return "";
      if (isX(m)) return `>=${M}.0.0${z} <${+M! + 1}.0.0-0`;
      if (isX(p)) {
        return M === "0" ? `>=${M}.${m}.0${z} <${M}.${+m! + 1}.0-0` : `>=${M}.${m}.0${z} <${+M! + 1}.0.0-0`;
      }
      if (pr) {
        if (M === "0") {
          return m === "0"
            ? `>=${M}.${m}.${p}-${pr} <${M}.${m}.${+p! + 1}-0`
            : `>=${M}.${m}.${p}-${pr} <${M}.${+m! + 1}.0-0`;
        }
        return `>=${M}.${m}.${p}-${pr} <${+M! + 1}.0.0-0`;
      }
      if (M === "0") {
        return m === "0"
          ? `>=${M}.${m}.${p} <${M}.${m}.${+p! + 1}-0`
          : `>=${M}.${m}.${p} <${M}.${+m! + 1}.0-0`;
      }
      return `>=${M}.${m}.${p} <${+M! + 1}.0.0-0`;
    },
  );
}

function replaceTilde(comp: string, o: NpmOptions): string {
  const z = o.includePrerelease ? "-0" : "";
  return comp.replace(
    o.loose ? RE.tildeLoose : RE.tilde,
    (_: string, M?: string, m?: string, p?: string, pr?: string) => {
      if (isX(M)) return "";
      if (isX(m)) return `>=${M}.0.0${z} <${+M! + 1}.0.0-0`;
      if (isX(p)) return `>=${M}.${m}.0${z} <${M}.${+m! + 1}.0-0`;
      if (pr) return `>=${M}.${m}.${p}-${pr} <${M}.${+m! + 1}.0-0`;
      return `>=${M}.${m}.${p} <${M}.${+m! + 1}.0-0`;
    },
  );
}

function replaceXRange(comp: string, o: NpmOptions): string {
  comp = comp.trim();
  return comp.replace(
    o.loose ? RE.xRangeLoose : RE.xRange,
    (ret: string, gtlt: string, M?: string, m?: string, p?: string) => {
      if (invalidXRangeOrder(M, m, p)) return comp;
      const xM = isX(M);
      const xm = xM || isX(m);
      const xp = xm || isX(p);
      if (gtlt === "=" && xp) gtlt = "";
      let pr = o.includePrerelease ? "-0" : "";
      if (xM) return gtlt === ">" || gtlt === "<" ? "<0.0.0-0" : "*";
      if (gtlt && xp) {
        let major: string | number = M!;
        let minor: string | number = xm ? 0 : m!;
        let patch: string | number = 0;
        if (gtlt === ">") {
          // >1 is >=2.0.0, >1.2 is >=1.3.0
          gtlt = ">=";
          if (xm) {
            major = +major + 1;
            minor = 0;
            patch = 0;
          } else {
            minor = +minor + 1;
            patch = 0;
          }
        } else if (gtlt === "<=") {
          // <=0.7.x is <0.8.0-0: every 0.7.x passes
          gtlt = "<";
          if (xm) major = +major + 1;
          else minor = +minor + 1;
        }
        if (gtlt === "<") pr = "-0";
        return `${gtlt}${major}.${minor}.${patch}${pr}`;
      }
      if (xm) return `>=${M}.0.0${pr} <${+M! + 1}.0.0-0`;
      if (xp) return `>=${M}.${m}.0${pr} <${M}.${+m! + 1}.0-0`;
      return ret;
    },
  );
}

const eachWord = (comp: string, f: (c: string) => string): string =>
  comp.trim().split(/\s+/).map(f).join(" ");

function desugarComparator(comp: string, o: NpmOptions): string {
  comp = comp.replace(RE.build, "");
  comp = eachWord(comp, (c) => replaceCaret(c, o));
  comp = eachWord(comp, (c) => replaceTilde(c, o));
  comp = comp
    .split(/\s+/)
    .map((c) => replaceXRange(c, o))
    .join(" ");
  // `*` is ANDed with the rest and means "anything", so it simply goes.
  return comp.trim().replace(RE.star, "");
}

/** `1.2 - 3.4` => `>=1.2.0 <3.5.0-0`. */
function hyphenReplacer(incPr: boolean) {
  return (
    _: string,
    from: string,
    fM?: string,
    fm?: string,
    fp?: string,
    fpr?: string,
    _fb?: string,
    to?: string,
    tM?: string,
    tm?: string,
    tp?: string,
    tpr?: string,
  ): string => {
    const z = incPr ? "-0" : "";
    if (isX(fM)) from = "";
    else if (isX(fm)) from = `>=${fM}.0.0${z}`;
    else if (isX(fp)) from = `>=${fM}.${fm}.0${z}`;
    else if (fpr) from = `>=${from}`;
    else from = `>=${from}${z}`;

    if (isX(tM)) to = "";
    else if (isX(tm)) to = `<${+tM! + 1}.0.0-0`;
    else if (isX(tp)) to = `<${tM}.${+tm! + 1}.0-0`;
    else if (tpr) to = `<=${tM}.${tm}.${tp}-${tpr}`;
    else if (incPr) to = `<${tM}.${tm}.${+tp! + 1}-0`;
    else to = `<=${to}`;
    return `${from} ${to}`.trim();
  };
}

function newComparator(text: string, o: NpmOptions): Comparator {
  text = text.trim().split(/\s+/).join(" ");
  const m = (o.loose ? RE.comparatorLoose : RE.comparator).exec(text);
  if (!m) throw new VersionRangeError(`invalid comparator: ${text}`);
  const operator = (m[1] === "=" ? "" : (m[1] ?? "")) as Operator;
  if (!m[2]) return { operator, semver: null, value: "" };
  const semver = parseNpm(m[2], { loose: o.loose });
  if (!semver) throw new VersionRangeError(`invalid version in comparator: ${text}`);
  return { operator, semver, value: operator + formatSemVer(semver) };
}

const NULL_SET = "<0.0.0-0";

function parseSet(range: string, o: NpmOptions): Comparator[] {
  range = range.replace(RE.buildStrip, "");
  range = range.replace(
    o.loose ? RE.hyphenRangeLoose : RE.hyphenRange,
    hyphenReplacer(!!o.includePrerelease),
  );
  range = range.replace(RE.comparatorTrim, "$1$2$3");
  range = range.replace(RE.tildeTrim, "$1~");
  range = range.replace(RE.caretTrim, "$1^");
  let list = range
    .split(" ")
    .map((c) => desugarComparator(c, o))
    .join(" ")
    .split(/\s+/)
    // >=0.0.0 is *
    .map((c) => c.trim().replace(o.includePrerelease ? RE.gte0Pre : RE.gte0, ""));
  // Loose mode drops what still is not a comparator instead of failing.
  if (o.loose) list = list.filter((c) => RE.comparatorLoose.test(c));
  // Every comparator must parse, even after a null set has been seen.
  const comparators = list.map((text) => newComparator(text, o));
  const byValue = new Map<string, Comparator>();
  for (const c of comparators) {
    if (c.value === NULL_SET) return [c];
    byValue.set(c.value, c);
  }
  if (byValue.size > 1) byValue.delete("");
  return [...byValue.values()];
}

function build(range: string, o: NpmOptions): NpmRange {
  const raw = range.trim().replace(/\s+/g, " ");
  let set = raw
    .split("||")
    .map((r) => parseSet(r.trim(), o))
    .filter((c) => c.length > 0);
  if (set.length === 0) throw new VersionRangeError(`invalid npm range: ${raw}`);
  if (set.length > 1) {
    // Null sets go unless all are null; a set that is just ANY makes the whole range ANY.
    const firstSet = set[0]!;
    set = set.filter((c) => c[0]!.value !== NULL_SET);
    if (set.length === 0) set = [firstSet];
    else if (set.length > 1) {
      const any = set.find((c) => c.length === 1 && c[0]!.value === "");
      if (any) set = [any];
    }
  }
  return { set, loose: !!o.loose, includePrerelease: !!o.includePrerelease };
}

/** Ranges by options and text; the key is `<loose 0|1><includePrerelease 0|1><range>`. */
const cached = boundedMemo((key: string): NpmRange | VersionRangeError => {
  try {
    return build(key.slice(2), { loose: key[0] === "1", includePrerelease: key[1] === "1" });
  } catch (e) {
    if (e instanceof VersionRangeError) return e;
    throw e;
  }
}, 2048);

/** Parses (and caches) a range; throws VersionRangeError where node-semver's Range throws. */
export function parseNpmRange(range: string, options: NpmOptions = {}): NpmRange {
  const r = cached(`${options.loose ? 1 : 0}${options.includePrerelease ? 1 : 0}${range}`);
  if (r instanceof VersionRangeError) throw r;
  return r;
}

function testComparator(c: Comparator, v: SemVer): boolean {
  if (c.semver === null) return true;
  const r = compareSemVer(v, c.semver);
  switch (c.operator) {
    case "":
      return r === 0;
    case "<":
      return r < 0;
    case "<=":
      return r <= 0;
    case ">":
      return r > 0;
    case ">=":
      return r >= 0;
  }
}

function testSet(set: readonly Comparator[], v: SemVer, includePrerelease: boolean): boolean {
  for (const c of set) if (!testComparator(c, v)) return false;
  if (v.prerelease.length === 0 || includePrerelease) return true;
  // A pre-release only passes through a comparator that names a pre-release of its own
  // major.minor.patch: ^1.2.3-pr.1 admits 1.2.3-pr.2 but not 1.2.4-alpha.
  for (const c of set) {
    const s = c.semver;
    if (s && s.prerelease.length > 0 && s.major === v.major && s.minor === v.minor && s.patch === v.patch) {
      return true;
    }
  }
  return false;
}

export function rangeTest(range: NpmRange, v: SemVer): boolean {
  for (const set of range.set) if (testSet(set, v, range.includePrerelease)) return true;
  return false;
}

/** node-semver `satisfies`: false for an invalid version or range. */
export function npmSatisfies(version: string, range: string, options: NpmOptions = {}): boolean {
  let r: NpmRange;
  try {
    r = parseNpmRange(range, options);
  } catch {
    return false;
  }
  const v = parseNpm(version, options);
  return v !== null && rangeTest(r, v);
}

/** node-semver `validRange`: the canonical comparator text, `*` for any, null when invalid. */
export function npmValidRange(range: string, options: NpmOptions = {}): string | null {
  let r: NpmRange;
  try {
    r = parseNpmRange(range, options);
  } catch {
    return null;
  }
  return r.set.map((set) => set.map((c) => c.value).join(" ")).join("||") || "*";
}

const ANY_AS_GTE0: Comparator = {
  operator: ">=",
  semver: { major: 0, minor: 0, patch: 0, prerelease: [], build: [] },
  value: ">=0.0.0",
};

/**
 * node-semver `outside`: whether the version is above (`>`, gtr) or below (`<`, ltr) every
 * version the range admits. Throws VersionRangeError for an invalid version or range.
 */
export function npmOutside(
  version: string,
  range: string,
  hilo: ">" | "<",
  options: NpmOptions = {},
): boolean {
  const v = parseNpm(version, options);
  if (!v) throw new VersionRangeError(`invalid version: ${version}`);
  const r = parseNpmRange(range, options);
  if (rangeTest(r, v)) return false;
  const high = hilo === ">";
  const gt = (a: SemVer, b: SemVer): boolean => (high ? compareSemVer(a, b) > 0 : compareSemVer(a, b) < 0);
  const lt = (a: SemVer, b: SemVer): boolean => (high ? compareSemVer(a, b) < 0 : compareSemVer(a, b) > 0);
  const comp = high ? ">" : "<";
  const ecomp = high ? ">=" : "<=";
  for (const set of r.set) {
    let hi: Comparator | null = null;
    let lo: Comparator | null = null;
    for (let c of set) {
      if (c.semver === null) c = ANY_AS_GTE0;
      hi ??= c;
      lo ??= c;
      if (gt(c.semver!, hi.semver!)) hi = c;
      else if (lt(c.semver!, lo.semver!)) lo = c;
    }
    if (!hi || !lo) continue;
    // An edge comparator that opens toward the version means the version is not outside.
    if (hi.operator === comp || hi.operator === ecomp) return false;
    if ((!lo.operator || lo.operator === comp) && !gt(v, lo.semver!)) return false;
    if (lo.operator === ecomp && lt(v, lo.semver!)) return false;
  }
  return true;
}
