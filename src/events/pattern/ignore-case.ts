/**
 * equals-ignore-case (also inside prefix, suffix and anything-but), as event-ruler does it: each
 * character of the pattern stands for its lower-case or its upper-case form (Locale.ROOT), which
 * may differ in length ("ß" is "ß" or "SS"); a value matches when it is such a sequence. We go by
 * code points where event-ruler goes by UTF-16 units, so a character outside the BMP compares
 * sensibly instead of as a broken surrogate.
 */

export interface CaseAlternatives {
  /** Per pattern character: the strings it may appear as. */
  units: string[][];
  /** Every alternative is one UTF-16 unit: compare position by position. */
  simple: boolean;
}

export function caseAlternatives(pattern: string): CaseAlternatives {
  const units: string[][] = [];
  let simple = true;
  for (const ch of pattern) {
    const lower = ch.toLowerCase();
    const upper = ch.toUpperCase();
    const alts = lower === upper ? [lower] : [lower, upper];
    if (alts.some((a) => a.length !== 1)) simple = false;
    units.push(alts);
  }
  return { units, simple };
}

/** Offsets in `value` where a match of `alts` starting at `from` can end. */
function endsFrom(alts: CaseAlternatives, value: string, from: number): Set<number> {
  let positions = new Set<number>([from]);
  for (const unit of alts.units) {
    const next = new Set<number>();
    for (const p of positions) for (const a of unit) if (value.startsWith(a, p)) next.add(p + a.length);
    if (next.size === 0) return next;
    positions = next;
  }
  return positions;
}

export function equalsIgnoreCase(alts: CaseAlternatives, value: string): boolean {
  if (alts.simple) {
    if (value.length !== alts.units.length) return false;
    for (let i = 0; i < value.length; i++) if (!alts.units[i]!.includes(value[i]!)) return false;
    return true;
  }
  return endsFrom(alts, value, 0).has(value.length);
}

export function startsWithIgnoreCase(alts: CaseAlternatives, value: string): boolean {
  if (alts.simple) {
    if (value.length < alts.units.length) return false;
    for (let i = 0; i < alts.units.length; i++) if (!alts.units[i]!.includes(value[i]!)) return false;
    return true;
  }
  return endsFrom(alts, value, 0).size > 0;
}

export function endsWithIgnoreCase(alts: CaseAlternatives, value: string): boolean {
  if (alts.simple) {
    const off = value.length - alts.units.length;
    if (off < 0) return false;
    for (let i = 0; i < alts.units.length; i++) if (!alts.units[i]!.includes(value[off + i]!)) return false;
    return true;
  }
  // Try every start: patterns are short, values bounded by the event size.
  for (let from = value.length; from >= 0; from--)
    if (endsFrom(alts, value, from).has(value.length)) return true;
  return false;
}

/**
 * A key that equal-ignoring-case strings share, for indexing. Only valid for patterns whose
 * alternatives are single units folding to one key (`foldSafe`); others are not indexed by it.
 */
export function foldKey(value: string): string {
  // The common case, plain lower-case ASCII, is its own key.
  if (!NEEDS_FOLDING.test(value)) return value;
  let out = "";
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x80) out += c >= 0x41 && c <= 0x5a ? String.fromCharCode(c + 32) : value[i];
    else out += foldUnit(value[i]!);
  }
  return out;
}

const NEEDS_FOLDING = /[A-Z\u0080-\uffff]/;

const foldCache = new Map<string, string>();

/** foldKey of one UTF-16 unit (always one unit). */
export function foldUnit(u: string): string {
  let f = foldCache.get(u);
  if (f === undefined) {
    const up = u.toUpperCase();
    f = up.length === 1 ? up.toLowerCase() : u;
    if (f.length !== 1) f = u;
    if (foldCache.size < 65536) foldCache.set(u, f);
  }
  return f;
}

/** Can a value matching `alts` be found by foldKey(value) === foldKey(pattern)? */
export function foldSafe(alts: CaseAlternatives): boolean {
  if (!alts.simple) return false;
  for (const unit of alts.units) {
    const k = foldKey(unit[0]!);
    if (unit.some((a) => foldKey(a) !== k)) return false;
  }
  return true;
}

/** The index key of a fold-safe pattern (from its alternatives: a title-case letter is not itself one). */
export function patternFoldKey(alts: CaseAlternatives): string {
  return alts.units.map((u) => foldKey(u[0]!)).join("");
}
