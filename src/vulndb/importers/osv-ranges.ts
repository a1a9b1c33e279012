import type { EventRange, RangeEvent } from "../types.js";
import type { OsvRange } from "./osv-schema.js";

/**
 * OSV range checks. A range the matchers could misread is refused with a reason rather than
 * stored: events must be single-key objects with non-empty string values, start from an
 * `introduced`, use `limit` only in GIT ranges, and (for SEMVER, the one ordering we can check
 * without an ecosystem's version scheme) hold valid SemVer 2.0 versions that never go below the `introduced` they follow.
 */

const EVENT_KEYS = new Set(["introduced", "fixed", "last_affected", "limit"]);

const SEMVER_RE =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;

export function isSemver(v: string): boolean {
  return SEMVER_RE.test(v);
}

/** SemVer 2.0 precedence (build metadata ignored). Both arguments must be valid. */
export function compareSemver(a: string, b: string): number {
  const ma = SEMVER_RE.exec(a)!;
  const mb = SEMVER_RE.exec(b)!;
  for (let i = 1; i <= 3; i++) {
    const d = Number(ma[i]) - Number(mb[i]);
    if (d) return Math.sign(d);
  }
  const pa = ma[4];
  const pb = mb[4];
  if (pa === undefined || pb === undefined) return pa === pb ? 0 : pa === undefined ? 1 : -1;
  const xa = pa.split(".");
  const xb = pb.split(".");
  for (let i = 0; i < Math.max(xa.length, xb.length); i++) {
    const ia = xa[i];
    const ib = xb[i];
    if (ia === undefined) return -1;
    if (ib === undefined) return 1;
    const na = /^\d+$/.test(ia);
    const nb = /^\d+$/.test(ib);
    if (na && nb) {
      const d = Number(ia) - Number(ib);
      if (d) return Math.sign(d);
    } else if (na !== nb) return na ? -1 : 1;
    else if (ia !== ib) return ia < ib ? -1 : 1;
  }
  return 0;
}

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

/** Checks SemVer syntax and that introduced/fixed/last_affected increase along each pair. */
function checkSemver(evs: RangeEvent[]): void {
  let lower: string | undefined;
  for (const e of evs) {
    const [k, v] = Object.entries(e)[0] as [string, string];
    if (k === "introduced" && v === "0") {
      lower = undefined;
      continue;
    }
    if (!isSemver(v)) throw new OsvRangeError(`SEMVER range: ${k} "${v}" is not a SemVer 2.0 version`);
    if (k === "introduced") lower = v;
    else if (lower !== undefined) {
      const c = compareSemver(lower, v);
      // fixed == introduced is an empty interval (RustSec writes a few): useless but not wrong.
      if (c > 0) throw new OsvRangeError(`SEMVER range: ${k} ${v} is below introduced ${lower}`);
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
