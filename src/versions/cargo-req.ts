import {
  CargoSemverError,
  Cursor,
  charAt,
  comparePre,
  quoteChar,
  type CargoVersion,
  type Position,
  type U64,
} from "./cargo-version.js";
import { VersionRangeError } from "./types.js";

/**
 * Cargo version requirements (semver::VersionReq): comma-separated comparators, all of which
 * must match (no `||`). A bare version means `^`; `1.*` / `1.2.x` are wildcards; `*` alone
 * matches every release. A pre-release version matches only if some comparator names a
 * pre-release of the same major.minor.patch. Parsing follows the crate's parser, error
 * messages included (thrown as VersionRangeError).
 */

export type CargoOp = "=" | ">" | ">=" | "<" | "<=" | "~" | "^" | "*";

export interface CargoComparator {
  readonly op: CargoOp;
  readonly major: U64;
  readonly minor?: U64;
  readonly patch?: U64;
  /** "" for none. */
  readonly pre: string;
}

/** No comparators means `*`. */
export interface CargoReq {
  readonly comparators: readonly CargoComparator[];
}

const MAX_COMPARATORS = 32;

const isWildcard = (c: number): boolean => c === 42 || c === 120 || c === 88; // * x X

function readOp(cur: Cursor): CargoOp | null {
  const c = cur.peek();
  if (c === 61) return (cur.pos++, "=");
  if (c === 62) return (cur.pos++, cur.eat(61) ? ">=" : ">");
  if (c === 60) return (cur.pos++, cur.eat(61) ? "<=" : "<");
  if (c === 126) return (cur.pos++, "~");
  if (c === 94) return (cur.pos++, "^");
  return null;
}

/** One comparator; leaves the cursor after trailing spaces and reports the last position read. */
function comparator(cur: Cursor): { c: CargoComparator; pos: Position } {
  const explicit = readOp(cur);
  let op: CargoOp = explicit ?? "^";
  cur.skipSpaces();
  let pos: Position = "major version number";
  const major = cur.number(pos);
  let minor: U64 | undefined;
  let patch: U64 | undefined;
  let hasWildcard = false;
  if (cur.eat(46)) {
    pos = "minor version number";
    if (isWildcard(cur.peek())) {
      cur.pos++;
      hasWildcard = true;
      if (!explicit) op = "*";
    } else minor = cur.number(pos);
  }
  if (cur.eat(46)) {
    pos = "patch version number";
    if (isWildcard(cur.peek())) {
      cur.pos++;
      if (!explicit) op = "*";
    } else if (hasWildcard) cur.fail("unexpected character after wildcard in version req");
    else patch = cur.number(pos);
  }
  let pre = "";
  if (patch !== undefined && cur.eat(45)) {
    pos = "pre-release identifier";
    pre = cur.identifier(pos);
    if (pre === "") cur.fail(`empty identifier segment in ${pos}`);
  }
  if (patch !== undefined && cur.eat(43)) {
    pos = "build metadata";
    // Build metadata is accepted and dropped: requirements never look at it.
    if (cur.identifier(pos) === "") cur.fail(`empty identifier segment in ${pos}`);
  }
  cur.skipSpaces();
  return { c: { op, major, minor, patch, pre }, pos };
}

/** Text after a wildcard at the cursor, if one is there: null when there is none. */
function afterWildcard(cur: Cursor): string | null {
  if (!isWildcard(cur.peek())) return null;
  return cur.s.slice(cur.pos + 1).replace(/^ +/, "");
}

function parse(text: string): CargoReq {
  const cur = new Cursor(text);
  cur.skipSpaces();
  const rest = afterWildcard(cur);
  if (rest !== null) {
    if (rest === "") return { comparators: [] };
    cur.fail(
      rest.startsWith(",")
        ? `wildcard req (${charAt(text, cur.pos)}) must be the only comparator in the version req`
        : "unexpected character after wildcard in version req",
    );
  }
  const comparators: CargoComparator[] = [];
  for (;;) {
    const start = cur.pos;
    let parsed: { c: CargoComparator; pos: Position };
    try {
      parsed = comparator(cur);
    } catch (e) {
      cur.pos = start;
      const after = afterWildcard(cur);
      if (e instanceof CargoSemverError && after !== null && (after === "" || after.startsWith(","))) {
        cur.fail(`wildcard req (${charAt(text, start)}) must be the only comparator in the version req`);
      }
      throw e;
    }
    comparators.push(parsed.c);
    if (cur.done) return { comparators };
    if (!cur.eat(44)) {
      cur.fail(`expected comma after ${parsed.pos}, found ${quoteChar(charAt(text, cur.pos))}`);
    }
    cur.skipSpaces();
    if (comparators.length === MAX_COMPARATORS) cur.fail("excessive number of version comparators");
  }
}

/** VersionReq::parse; throws VersionRangeError with the crate's message. */
export function parseCargoReq(text: string): CargoReq {
  try {
    return parse(text);
  } catch (e) {
    if (e instanceof CargoSemverError) throw new VersionRangeError(e.message);
    throw e;
  }
}

const lt = (a: U64, b: U64): boolean => a < b;
const gt = (a: U64, b: U64): boolean => a > b;

function matchesExact(c: CargoComparator, v: CargoVersion): boolean {
  if (v.major !== c.major) return false;
  if (c.minor !== undefined && v.minor !== c.minor) return false;
  if (c.patch !== undefined && v.patch !== c.patch) return false;
  return v.pre === c.pre;
}

/** matches_greater (`toward` = gt) and matches_less (`toward` = lt) share their shape. */
function matchesBeyond(c: CargoComparator, v: CargoVersion, toward: (a: U64, b: U64) => boolean): boolean {
  if (v.major !== c.major) return toward(v.major, c.major);
  if (c.minor === undefined) return false;
  if (v.minor !== c.minor) return toward(v.minor, c.minor);
  if (c.patch === undefined) return false;
  if (v.patch !== c.patch) return toward(v.patch, c.patch);
  const r = comparePre(v.pre, c.pre);
  return toward === gt ? r > 0 : r < 0;
}

function matchesTilde(c: CargoComparator, v: CargoVersion): boolean {
  if (v.major !== c.major) return false;
  if (c.minor !== undefined && v.minor !== c.minor) return false;
  if (c.patch !== undefined && v.patch !== c.patch) return v.patch > c.patch;
  return comparePre(v.pre, c.pre) >= 0;
}

function matchesCaret(c: CargoComparator, v: CargoVersion): boolean {
  if (v.major !== c.major) return false;
  const minor = c.minor;
  if (minor === undefined) return true;
  const patch = c.patch;
  if (patch === undefined) return c.major > 0 ? v.minor >= minor : v.minor === minor;
  if (c.major > 0) {
    if (v.minor !== minor) return v.minor > minor;
    if (v.patch !== patch) return v.patch > patch;
  } else if (minor > 0) {
    if (v.minor !== minor) return false;
    if (v.patch !== patch) return v.patch > patch;
  } else if (v.minor !== minor || v.patch !== patch) return false;
  return comparePre(v.pre, c.pre) >= 0;
}

function matchesComparator(c: CargoComparator, v: CargoVersion): boolean {
  switch (c.op) {
    case "=":
    case "*":
      return matchesExact(c, v);
    case ">":
      return matchesBeyond(c, v, gt);
    case ">=":
      return matchesExact(c, v) || matchesBeyond(c, v, gt);
    case "<":
      return matchesBeyond(c, v, lt);
    case "<=":
      return matchesExact(c, v) || matchesBeyond(c, v, lt);
    case "~":
      return matchesTilde(c, v);
    case "^":
      return matchesCaret(c, v);
  }
}

/** VersionReq::matches: every comparator, and pre-releases only where a comparator opts in. */
export function matchesCargoReq(req: CargoReq, v: CargoVersion): boolean {
  for (const c of req.comparators) if (!matchesComparator(c, v)) return false;
  if (v.pre === "") return true;
  for (const c of req.comparators) {
    if (c.pre !== "" && c.major === v.major && c.minor === v.minor && c.patch === v.patch) return true;
  }
  return false;
}

/** VersionReq's Display: `^1.0.0`, `>=0.5.1-alpha3, <0.6`, `0.*`, `*`. */
export function formatCargoReq(req: CargoReq): string {
  if (req.comparators.length === 0) return "*";
  return req.comparators
    .map((c) => {
      let s = (c.op === "*" ? "" : c.op) + String(c.major);
      if (c.minor !== undefined) {
        s += `.${c.minor}`;
        if (c.patch !== undefined) {
          s += `.${c.patch}`;
          if (c.pre) s += `-${c.pre}`;
        } else if (c.op === "*") s += ".*";
      } else if (c.op === "*") s += ".*";
      return s;
    })
    .join(", ");
}
