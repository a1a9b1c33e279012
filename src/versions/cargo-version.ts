import { boundedMemo } from "./semver-cache.js";
import type { Comparison } from "./types.js";

/**
 * Cargo / crates.io versions as the `semver` crate (dtolnay/semver) parses and orders them:
 * strict `MAJOR.MINOR.PATCH[-pre][+build]`, no `v`, no blanks, numbers up to u64::MAX, no
 * leading zeros in numbers or numeric pre-release identifiers.
 *
 * `compare` is the crate's `Ord`, which after SemVer precedence also orders by build metadata
 * (1.2.3+23 < 1.2.3+42): a refinement of precedence that keeps the order total and matches
 * Cargo. Requirement matching ignores build metadata, as Cargo does. Versions the crate rejects
 * sort after every valid one, lexically among themselves. Parse errors carry the crate's
 * messages.
 */

/** A component: a number, or a bigint above 2^53 (the two compare correctly with < and >). */
export type U64 = number | bigint;

export interface CargoVersion {
  major: U64;
  minor: U64;
  patch: U64;
  /** The pre-release identifiers as written, "" for none. */
  pre: string;
  build: string;
}

export class CargoSemverError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CargoSemverError";
  }
}

export type Position =
  | "major version number"
  | "minor version number"
  | "patch version number"
  | "pre-release identifier"
  | "build metadata";

const U64_MAX = 18446744073709551615n;
const isDigit = (c: number): boolean => c >= 48 && c <= 57;

/** Rust's `{:?}` of a char, as the crate quotes unexpected characters. */
export function quoteChar(ch: string): string {
  const escapes: Record<string, string> = {
    "\0": "\\0",
    "\t": "\\t",
    "\n": "\\n",
    "\r": "\\r",
    "'": "\\'",
    "\\": "\\\\",
  };
  return `'${escapes[ch] ?? ch}'`;
}

/** The first character (code point) at s[i]. */
export const charAt = (s: string, i: number): string => String.fromCodePoint(s.codePointAt(i)!);

/** A small cursor over the input; errors are thrown as CargoSemverError with the crate's text. */
export class Cursor {
  pos = 0;
  constructor(readonly s: string) {}

  get done(): boolean {
    return this.pos >= this.s.length;
  }
  peek(): number {
    return this.s.charCodeAt(this.pos);
  }
  eat(c: number): boolean {
    if (this.s.charCodeAt(this.pos) !== c) return false;
    this.pos++;
    return true;
  }
  skipSpaces(): void {
    while (this.s.charCodeAt(this.pos) === 32) this.pos++;
  }
  fail(message: string): never {
    throw new CargoSemverError(message);
  }

  /** numeric_identifier: digits, no leading zero, at most u64::MAX. */
  number(pos: Position): U64 {
    const start = this.pos;
    while (isDigit(this.s.charCodeAt(this.pos))) {
      if (this.pos > start && this.s.charCodeAt(start) === 48) this.fail(`invalid leading zero in ${pos}`);
      this.pos++;
      if (this.pos - start > 20) this.fail(`value of ${pos} exceeds u64::MAX`);
    }
    if (this.pos === start) {
      if (this.done) this.fail(`unexpected end of input while parsing ${pos}`);
      this.fail(`unexpected character ${quoteChar(charAt(this.s, this.pos))} while parsing ${pos}`);
    }
    const digits = this.s.slice(start, this.pos);
    if (digits.length < 16) return Number(digits);
    const big = BigInt(digits);
    if (big > U64_MAX) this.fail(`value of ${pos} exceeds u64::MAX`);
    return big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big;
  }

  /** identifier: dot-separated [0-9A-Za-z-]+ segments; "" when none starts here. */
  identifier(pos: "pre-release identifier" | "build metadata"): string {
    const start = this.pos;
    let segStart = this.pos;
    for (;;) {
      const c = this.s.charCodeAt(this.pos);
      if (isDigit(c) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 45) {
        this.pos++;
        continue;
      }
      if (this.pos === segStart) {
        if (segStart === start && c !== 46) return "";
        this.fail(`empty identifier segment in ${pos}`);
      }
      if (pos === "pre-release identifier" && this.pos - segStart > 1 && this.s.charCodeAt(segStart) === 48) {
        let numeric = true;
        for (let k = segStart; k < this.pos; k++) if (!isDigit(this.s.charCodeAt(k))) numeric = false;
        if (numeric) this.fail(`invalid leading zero in ${pos}`);
      }
      if (c !== 46) return this.s.slice(start, this.pos);
      segStart = ++this.pos;
    }
  }
}

/** Version::parse; throws CargoSemverError with the crate's message. */
export function parseCargoVersion(text: string): CargoVersion {
  const cur = new Cursor(text);
  if (text.length === 0) cur.fail("empty string, expected a semver version");
  let pos: Position = "major version number";
  const dot = (): void => {
    if (cur.eat(46)) return;
    if (cur.done) cur.fail(`unexpected end of input while parsing ${pos}`);
    cur.fail(`unexpected character ${quoteChar(charAt(text, cur.pos))} after ${pos}`);
  };
  const major = cur.number(pos);
  dot();
  pos = "minor version number";
  const minor = cur.number(pos);
  dot();
  pos = "patch version number";
  const patch = cur.number(pos);
  let pre = "";
  let build = "";
  if (cur.eat(45)) {
    pos = "pre-release identifier";
    pre = cur.identifier(pos);
    if (pre === "") cur.fail(`empty identifier segment in ${pos}`);
  }
  if (cur.eat(43)) {
    pos = "build metadata";
    build = cur.identifier(pos);
    if (build === "") cur.fail(`empty identifier segment in ${pos}`);
  }
  if (!cur.done) cur.fail(`unexpected character ${quoteChar(charAt(text, cur.pos))} after ${pos}`);
  return { major, minor, patch, pre, build };
}

/** Version::parse, or null where it fails. */
export const tryParseCargoVersion = boundedMemo((text: string): CargoVersion | null => {
  try {
    return parseCargoVersion(text);
  } catch (e) {
    if (e instanceof CargoSemverError) return null;
    throw e;
  }
});

const allDigits = (s: string): boolean => {
  for (let k = 0; k < s.length; k++) if (!isDigit(s.charCodeAt(k))) return false;
  return true;
};

const cmp = (a: U64, b: U64): Comparison => (a < b ? -1 : a > b ? 1 : 0);
const cmpStr = (a: string, b: string): Comparison => (a < b ? -1 : a > b ? 1 : 0);

/** Prerelease Ord: the empty pre-release (a release) is greatest. */
export function comparePre(a: string, b: string): Comparison {
  if (a === b) return 0;
  if (a === "") return 1;
  if (b === "") return -1;
  const xs = a.split(".");
  const ys = b.split(".");
  for (let i = 0; i < xs.length; i++) {
    if (i >= ys.length) return 1;
    const x = xs[i]!;
    const y = ys[i]!;
    const xn = allDigits(x);
    const yn = allDigits(y);
    // Numeric identifiers have no leading zeros, so length then text is numeric order.
    const r = xn && yn ? cmp(x.length, y.length) || cmpStr(x, y) : xn ? -1 : yn ? 1 : cmpStr(x, y);
    if (r !== 0) return r;
  }
  return xs.length === ys.length ? 0 : -1;
}

/** BuildMetadata Ord: the empty build is least; numeric parts by value, then by length. */
function compareBuild(a: string, b: string): Comparison {
  if (a === b) return 0;
  const xs = a.split(".");
  const ys = b.split(".");
  for (let i = 0; i < xs.length; i++) {
    if (i >= ys.length) return 1;
    const x = xs[i]!;
    const y = ys[i]!;
    const xn = allDigits(x);
    const yn = allDigits(y);
    let r: Comparison;
    if (xn && yn) {
      // 0 < 00 < 1 < 01 < 001 < 2
      const xv = x.replace(/^0+/, "");
      const yv = y.replace(/^0+/, "");
      r = cmp(xv.length, yv.length) || cmpStr(xv, yv) || cmp(x.length, y.length);
    } else if (xn) return -1;
    else if (yn) return 1;
    else r = cmpStr(x, y);
    if (r !== 0) return r;
  }
  return xs.length === ys.length ? 0 : -1;
}

/** The crate's `Ord for Version`. */
export function compareCargoVersions(a: CargoVersion, b: CargoVersion): Comparison {
  return (
    cmp(a.major, b.major) ||
    cmp(a.minor, b.minor) ||
    cmp(a.patch, b.patch) ||
    comparePre(a.pre, b.pre) ||
    compareBuild(a.build, b.build)
  );
}

export function compareCargo(a: string, b: string): Comparison {
  if (a === b) return 0;
  const va = tryParseCargoVersion(a);
  const vb = tryParseCargoVersion(b);
  if (va && vb) return compareCargoVersions(va, vb);
  if (va) return -1;
  if (vb) return 1;
  return a < b ? -1 : 1;
}
