import { parseNpmRange, rangeTest } from "./npm-range.js";
import { compareNpm, parseNpm } from "./npm-version.js";
import type { VersionScheme } from "./types.js";

/**
 * npm versions and ranges (node-semver, default options), registered as `semver`: its compare
 * is strict SemVer 2.0 precedence (plus node-semver's tolerance of surrounding blanks and one
 * leading `v`), so the same scheme orders OSV `SEMVER` ranges for every ecosystem. Loose mode
 * and includePrerelease are available through npm-version.ts / npm-range.ts options.
 */
export const npmScheme: VersionScheme = {
  id: "semver",
  isValid: (version) => parseNpm(version) !== null,
  compare: (a, b) => compareNpm(a, b),
  satisfies(version, range) {
    const r = parseNpmRange(range);
    const v = parseNpm(version);
    return v !== null && rangeTest(r, v);
  },
};
