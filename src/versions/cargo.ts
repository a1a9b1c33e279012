import { matchesCargoReq, parseCargoReq } from "./cargo-req.js";
import { compareCargo, tryParseCargoVersion } from "./cargo-version.js";
import type { VersionScheme } from "./types.js";

/**
 * Cargo: versions ordered by the `semver` crate's Ord (cargo-version.ts), requirements in
 * Cargo's syntax (cargo-req.ts: bare versions are `^`, `~`, `*`, comparators, comma = AND).
 */
export const cargoScheme: VersionScheme = {
  id: "cargo",
  isValid: (version) => tryParseCargoVersion(version) !== null,
  compare: compareCargo,
  satisfies(version, range) {
    const req = parseCargoReq(range);
    const v = tryParseCargoVersion(version);
    return v !== null && matchesCargoReq(req, v);
  },
};
