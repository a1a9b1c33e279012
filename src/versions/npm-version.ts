import { RE } from "./npm-re.js";
import { boundedMemo } from "./semver-cache.js";
import { MAX_LENGTH, compareSemVer, parseSemVer, type SemVer } from "./semver.js";
import type { Comparison } from "./types.js";

/** node-semver's options; `includePrerelease` only matters to ranges. */
export interface NpmOptions {
  loose?: boolean;
  includePrerelease?: boolean;
}

/**
 * Loose node-semver versions (`{loose: true}`): `=` and blanks before the version, leading
 * zeros, a pre-release without its hyphen (`1.2.3beta`). Rare, so the regex is fine here.
 * Numeric pre-release identifiers are rewritten as numbers, as node-semver's `version` shows
 * them (`1.2.3-01` is `1.2.3-1`).
 */
function parseLoose(input: string): SemVer | null {
  if (input.length > MAX_LENGTH) return null;
  const m = RE.loose.exec(input.trim());
  if (!m) return null;
  const major = Number(m[1]);
  const minor = Number(m[2]);
  const patch = Number(m[3]);
  if (major > Number.MAX_SAFE_INTEGER || minor > Number.MAX_SAFE_INTEGER || patch > Number.MAX_SAFE_INTEGER) {
    return null;
  }
  const prerelease = m[4]
    ? m[4].split(".").map((id) => {
        if (/^[0-9]+$/.test(id)) {
          const n = Number(id);
          if (n < Number.MAX_SAFE_INTEGER) return String(n);
        }
        return id;
      })
    : [];
  return { major, minor, patch, prerelease, build: m[5] ? m[5].split(".") : [] };
}

const parseStrictMemo = boundedMemo(parseSemVer);

/** `new SemVer(version, options)`, or null where node-semver throws. */
export function parseNpm(version: string, options?: NpmOptions): SemVer | null {
  return options?.loose ? parseLoose(version) : parseStrictMemo(version);
}

/**
 * node-semver `compare` (SemVer 2.0 precedence) made total: versions node-semver rejects sort
 * after every valid one, lexically among themselves.
 */
export function compareNpm(a: string, b: string, options?: NpmOptions): Comparison {
  if (a === b) return 0;
  const va = parseNpm(a, options);
  const vb = parseNpm(b, options);
  if (va && vb) return compareSemVer(va, vb);
  if (va) return -1;
  if (vb) return 1;
  return a < b ? -1 : 1;
}
