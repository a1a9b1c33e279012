import type { Comparison, VersionScheme } from "./types.js";

/**
 * The SemVer ordering OSV uses to evaluate `SEMVER` ranges (and npm/crates.io/Go advisories):
 * lenient where strict SemVer 2.0 would refuse — a leading `v`, fewer or more than three
 * numeric components (missing ones are 0: `1` = `1.0.0`, `0.0.0.1` > `0.0.0`) — and SemVer
 * 2.0 precedence otherwise: a pre-release sorts before its release; pre-release identifiers
 * compare numerically when both are numeric, numeric before alphanumeric, alphanumerics by
 * ASCII; build metadata is ignored. Checked against google/osv-scalibr's semver vectors.
 */
interface Parsed {
  /** Numeric components without leading zeros (strings: they may exceed 2^53). */
  nums: string[];
  pre: string[] | null;
}

const cache = new Map<string, Parsed>();

function parse(v: string): Parsed {
  let p = cache.get(v);
  if (p) return p;
  let s = v.trim();
  if (s.startsWith("v") || s.startsWith("V")) s = s.slice(1);
  const plus = s.indexOf("+");
  if (plus >= 0) s = s.slice(0, plus);
  const nums: string[] = [];
  let i = 0;
  for (;;) {
    let j = i;
    while (j < s.length && s.charCodeAt(j) >= 48 && s.charCodeAt(j) <= 57) j++;
    if (j === i) break;
    nums.push(s.slice(i, j).replace(/^0+(?=.)/, ""));
    i = j;
    if (s[i] === "." && /[0-9]/.test(s[i + 1] ?? "")) i++;
    else break;
  }
  let rest = s.slice(i);
  if (rest.startsWith("-") || rest.startsWith(".")) rest = rest.slice(1);
  p = { nums, pre: rest === "" ? null : rest.split(".") };
  if (cache.size > 50_000) cache.clear();
  cache.set(v, p);
  return p;
}

const isNum = (s: string) => /^[0-9]+$/.test(s);

/** Compares digit strings without leading zeros, of any length. */
function compareDigits(a: string, b: string): Comparison {
  if (a.length !== b.length) return a.length < b.length ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

function comparePre(a: string[] | null, b: string[] | null): number {
  if (a === null) return b === null ? 0 : 1;
  if (b === null) return -1;
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i];
    const y = b[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    if (x === y) continue;
    const xn = isNum(x);
    const yn = isNum(y);
    if (xn && yn) {
      const d = compareDigits(x.replace(/^0+(?=.)/, ""), y.replace(/^0+(?=.)/, ""));
      if (d !== 0) return d;
      continue;
    }
    if (xn) return -1;
    if (yn) return 1;
    return x < y ? -1 : 1;
  }
  return 0;
}

export function compareOsvSemver(a: string, b: string): Comparison {
  const pa = parse(a);
  const pb = parse(b);
  for (let i = 0; i < Math.max(pa.nums.length, pb.nums.length, 3); i++) {
    const d = compareDigits(pa.nums[i] ?? "0", pb.nums[i] ?? "0");
    if (d !== 0) return d;
  }
  const c = comparePre(pa.pre, pb.pre);
  return c < 0 ? -1 : c > 0 ? 1 : 0;
}

export const osvSemverScheme: VersionScheme = {
  id: "osv-semver",
  isValid: (v) => parse(v).nums.length > 0,
  compare: compareOsvSemver,
};
