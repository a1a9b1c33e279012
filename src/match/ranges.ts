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

/** A native-syntax range: vulnerable when `vulnerable` holds (if given) and no `unaffected` does. */
export function inNativeRange(version: string, range: NativeRange, scheme: VersionScheme): RangeVerdict {
  if (!scheme.satisfies) return { affected: false };
  if (range.vulnerable !== undefined && !scheme.satisfies(version, range.vulnerable))
    return { affected: false };
  for (const u of range.unaffected ?? []) if (scheme.satisfies(version, u)) return { affected: false };
  const text = [range.vulnerable, ...(range.unaffected ?? []).map((u) => `not ${u}`)]
    .filter(Boolean)
    .join(", ");
  return { affected: true, matched: "range", range: text, fixed: undefined };
}

/** Is `version` affected by this entry? A version is affected if listed, or inside any range. */
export function evaluateAffected(version: string, affected: Affected, scheme: VersionScheme): RangeVerdict {
  if (affected.versions?.includes(version))
    return { affected: true, matched: "versions", range: "listed version" };
  let result: RangeVerdict = { affected: false };
  for (const r of affected.ranges) {
    const v = r.type === "NATIVE" ? inNativeRange(version, r, scheme) : inEventRange(version, r, scheme);
    if (v.affected) {
      // Prefer a verdict that knows the fix.
      if (!result.affected || (!result.fixed && v.fixed)) result = v;
    }
  }
  return result;
}
