import type { VersionScheme } from "../versions/types.js";
import type { Affected, EventRange, NativeRange, RangeEvent } from "../vulndb/types.js";

export interface RangeVerdict {
  affected: boolean;
  /** How it matched: a range (rendered as text) or the explicit versions list. */
  matched?: "range" | "versions";
  range?: string;
  /** First fixed version above the installed one, when a fix is known. */
  fixed?: string;
}

const eventValue = (e: RangeEvent): string =>
  "introduced" in e
    ? e.introduced
    : "fixed" in e
      ? e.fixed
      : "last_affected" in e
        ? e.last_affected
        : e.limit;

/** `>=1.0 <1.2.3, >=2.0 <=2.1` — how a range reads in an explanation. */
export function describeEvents(events: RangeEvent[]): string {
  const parts: string[] = [];
  let cur = "";
  for (const e of events) {
    if ("introduced" in e) cur = e.introduced === "0" ? "" : `>=${e.introduced}`;
    else if ("fixed" in e) {
      parts.push(`${cur ? cur + " " : ""}<${e.fixed}`);
      cur = "";
    } else if ("last_affected" in e) {
      parts.push(`${cur ? cur + " " : ""}<=${e.last_affected}`);
      cur = "";
    }
  }
  if (cur || events.some((e) => "introduced" in e && e.introduced === "0" && events.length === 1))
    parts.push(cur || ">=0");
  return parts.join(", ");
}

/**
 * The OSV evaluation of one event range: walk the events in version order; `introduced`
 * opens an affected interval, `fixed` closes it (exclusive), `last_affected` closes it after
 * that version (inclusive). Events need not be sorted in the record.
 */
export function inEventRange(version: string, range: EventRange, scheme: VersionScheme): RangeVerdict {
  // `introduced: "0"` means "from the beginning"; any other "0" (a `fixed: "0"`) is a version.
  const isStart = (e: RangeEvent) => "introduced" in e && e.introduced === "0";
  const order = (e: RangeEvent) => ("introduced" in e ? 0 : "last_affected" in e ? 1 : 2);
  const events = range.events
    .filter((e) => !("limit" in e))
    .slice()
    .sort((a, b) => {
      if (isStart(a) || isStart(b)) return isStart(a) && isStart(b) ? 0 : isStart(a) ? -1 : 1;
      // At equal versions: introduced before last_affected before fixed.
      return scheme.compare(eventValue(a), eventValue(b)) || order(a) - order(b);
    });
  let affected = false;
  let fixed: string | undefined;
  for (const e of events) {
    if ("introduced" in e) {
      if (e.introduced === "0" || scheme.compare(version, e.introduced) >= 0) affected = true;
    } else if ("fixed" in e) {
      if (scheme.compare(version, e.fixed) >= 0) affected = false;
      else if (affected && fixed === undefined) fixed = e.fixed;
    } else if ("last_affected" in e) {
      if (scheme.compare(version, e.last_affected) > 0) affected = false;
    }
    if (!affected) fixed = undefined;
  }
  // The fix is the first `fixed` event above the installed version in its interval.
  if (affected) {
    fixed = undefined;
    let open = false;
    for (const e of events) {
      if ("introduced" in e)
        open = e.introduced === "0" || scheme.compare(version, e.introduced) >= 0 || open;
      else if ("fixed" in e && open && scheme.compare(version, e.fixed) < 0) {
        fixed = e.fixed;
        break;
      }
    }
  }
  return { affected, matched: affected ? "range" : undefined, range: describeEvents(range.events), fixed };
}

/** Whether a native range holds; a range the scheme cannot parse holds nothing (see evaluateAffected). */
function nativeHolds(version: string, range: NativeRange, scheme: VersionScheme): boolean {
  if (!scheme.satisfies) return false;
  if (range.vulnerable !== undefined && !scheme.satisfies(version, range.vulnerable)) return false;
  for (const u of range.unaffected ?? []) if (scheme.satisfies(version, u)) return false;
  return true;
}

/** Version-looking tokens of a constraint (`>=4.17.19`, `~> 5.2.4.3`, `<1.2`): candidate fixes. */
const VERSION_TOKEN = /(?<![\w.])v?(\d+(?:[.\w+-]*[\w])?)/g;

function describeNative(range: NativeRange): string {
  return [range.vulnerable, ...(range.unaffected ?? []).map((u) => `not ${u}`)].filter(Boolean).join(", ");
}

/** A native-syntax range: vulnerable when `vulnerable` holds (if given) and no `unaffected` does. */
export function inNativeRange(version: string, range: NativeRange, scheme: VersionScheme): RangeVerdict {
  if (!nativeHolds(version, range, scheme)) return { affected: false };
  return { affected: true, matched: "range", range: describeNative(range), fixed: undefined };
}

/**
 * The fix of a native range, which feeds write as constraints rather than a version
 * (`patched: ">=4.17.19"`, `vulnerable: "<1.2"`): the lowest version named in the entry's
 * constraints that is above the installed one and that no range of the entry holds.
 */
function nativeFix(version: string, ranges: NativeRange[], scheme: VersionScheme): string | undefined {
  const candidates = new Set<string>();
  for (const r of ranges)
    for (const text of [r.vulnerable ?? "", ...(r.unaffected ?? [])])
      for (const m of text.matchAll(VERSION_TOKEN)) candidates.add(m[1]!);
  let best: string | undefined;
  for (const c of candidates) {
    if (scheme.compare(c, version) <= 0) continue;
    if (best !== undefined && scheme.compare(c, best) >= 0) continue;
    if (ranges.some((r) => nativeHolds(c, r, scheme))) continue;
    best = c;
  }
  return best;
}

/**
 * Is `version` affected by this entry? A version is affected if listed (equal in the
 * scheme's order: PEP 440 `2.2` is `2.2.0`), or inside any range. The fix comes from the ranges
 * even when the version matched by the list (OSV records list versions *and* give ranges).
 * A native range the scheme cannot parse is skipped (the entry's other ranges still count):
 * one malformed constraint in a feed must not abort a scan.
 */
export function evaluateAffected(version: string, affected: Affected, scheme: VersionScheme): RangeVerdict {
  let result: RangeVerdict = { affected: false };
  const native: NativeRange[] = [];
  for (const r of affected.ranges) {
    let v: RangeVerdict;
    if (r.type === "NATIVE") {
      try {
        v = inNativeRange(version, r, scheme);
        native.push(r);
      } catch {
        continue;
      }
    } else v = inEventRange(version, r, scheme);
    if (v.affected) {
      // Prefer a verdict that knows the fix.
      if (!result.affected || (!result.fixed && v.fixed)) result = v;
    }
  }
  if (result.affected && !result.fixed && native.length) {
    try {
      const fixed = nativeFix(version, native, scheme);
      if (fixed) result = { ...result, fixed };
    } catch {
      // A candidate the scheme cannot parse: no fix rather than a wrong one.
    }
  }
  const versions = affected.versions;
  if (!versions?.length) return result;
  // The list decides only when the ranges did not (or to say the exact version is listed); the
  // scan by the scheme's equality runs only then, as most packages are not affected.
  const listed =
    versions.includes(version) ||
    (!result.affected && versions.some((v) => scheme.compare(v, version) === 0));
  if (listed)
    return {
      affected: true,
      matched: "versions",
      range: "listed version",
      fixed: result.affected ? result.fixed : undefined,
    };
  return result;
}
