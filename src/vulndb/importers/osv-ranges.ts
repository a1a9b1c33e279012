import { osvSemverScheme } from "../../versions/osv-semver.js";
import type { EventRange, RangeEvent } from "../types.js";
import type { OsvRange } from "./osv-schema.js";

/**
 * OSV range checks. A range the matchers could misread is refused with a reason rather than
 * stored: events must be single-key objects with non-empty string values, start from an
 * `introduced`, use `limit` only in GIT ranges, and (for SEMVER, the one ordering we can check
 * without an ecosystem's version scheme) hold versions that never go below the `introduced`
 * they follow. SEMVER versions are read as OSV evaluators read them (versions/osv-semver.ts:
 * `1` is `1.0.0`, a leading `v` is allowed), not as strict SemVer 2.0: a record with
 * `fixed: "1"` is evaluated by osv.dev and osv-scalibr, so refusing it would hide a
 * vulnerability. Only a value with no leading number, which no evaluator can order, is refused.
 */

const EVENT_KEYS = new Set(["introduced", "fixed", "last_affected", "limit"]);

export class OsvRangeError extends Error {
  override readonly name = "OsvRangeError";
}

function events(r: OsvRange): RangeEvent[] {
  if (!r.events.length) throw new OsvRangeError(`${r.type} range without events`);
  const out: RangeEvent[] = [];
  for (const e of r.events) {
    const keys = Object.keys(e);
    if (keys.length !== 1 || !EVENT_KEYS.has(keys[0]!)) {
      throw new OsvRangeError(
        `${r.type} range event ${JSON.stringify(e)} is not one of introduced/fixed/last_affected/limit`,
      );
    }
    const k = keys[0]!;
    const v = e[k];
    if (typeof v !== "string" || v === "") {
      throw new OsvRangeError(
        `${r.type} range event ${k} must be a non-empty string, got ${JSON.stringify(v)}`,
      );
    }
    if (k === "limit" && r.type !== "GIT") throw new OsvRangeError(`limit events belong to GIT ranges only`);
    out.push({ [k]: v } as RangeEvent);
  }
  if (!out.some((e) => "introduced" in e)) throw new OsvRangeError(`${r.type} range has no introduced event`);
  return out;
}

/**
 * Checks that SEMVER values can be ordered, and that no fixed/last_affected lies below every
 * introduced: OSV evaluates events in version order whatever their order in the record
 * (osv-scalibr's unsorted vectors), so `introduced 2.1.0, fixed 1` is fine when an
 * `introduced 0` opens the line, but `introduced 1.5.0, fixed 1.2.0` closes nothing: a
 * reversed pair the matcher would read as "affected from 1.5.0 on, never fixed".
 */
function checkSemver(evs: RangeEvent[]): void {
  const starts: string[] = [];
  for (const e of evs) {
    const [k, v] = Object.entries(e)[0] as [string, string];
    if (k === "introduced" && v === "0") {
      starts.push(v);
      continue;
    }
    if (!osvSemverScheme.isValid(v)) {
      throw new OsvRangeError(`SEMVER range: ${k} "${v}" is not a SemVer version (no leading number)`);
    }
    if (k === "introduced") starts.push(v);
  }
  if (starts.includes("0")) return;
  const lowest = starts.reduce((a, b) => (osvSemverScheme.compare(a, b) <= 0 ? a : b));
  for (const e of evs) {
    const [k, v] = Object.entries(e)[0] as [string, string];
    // fixed == introduced is an empty interval (RustSec writes a few): useless but not wrong.
    if (k !== "introduced" && osvSemverScheme.compare(v, lowest) < 0) {
      throw new OsvRangeError(`SEMVER range: ${k} ${v} is below introduced ${lowest}`);
    }
  }
}

/**
 * The ranges to store for an affected entry: SEMVER and ECOSYSTEM ranges validated; GIT ranges
 * validated and then dropped (matching by commit needs the repository graph; `versions[]`
 * enumerates what they cover). Throws OsvRangeError on a bad range.
 */
export function convertRanges(ranges: readonly OsvRange[]): EventRange[] {
  const out: EventRange[] = [];
  for (const r of ranges) {
    if (r.type !== "SEMVER" && r.type !== "ECOSYSTEM" && r.type !== "GIT") {
      throw new OsvRangeError(`unknown range type ${JSON.stringify(r.type)}`);
    }
    const evs = events(r);
    if (r.type === "GIT") {
      if (!r.repo) throw new OsvRangeError("GIT range without repo");
      continue;
    }
    if (r.type === "SEMVER") checkSemver(evs);
    out.push({ type: r.type, events: evs });
  }
  return out;
}
