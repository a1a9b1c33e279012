import type { Comparison } from "./types.js";

/**
 * NuGet versions as NuGet.Versioning reads them (`NuGetVersion.TryParse`) and orders them
 * (`VersionComparer.Default`): up to four numeric parts (missing = 0, leading zeros ignored),
 * then release labels — a release sorts after its pre-releases, labels compare per SemVer 2.0
 * (numeric < alphanumeric, numbers numerically) but case-insensitively — and build metadata is
 * ignored.
 */

export interface NuGetVersion {
  /** major, minor, patch, revision as canonical digit strings (no leading zeros). */
  readonly parts: readonly [string, string, string, string];
  readonly labels: readonly string[];
  /** Per label: its Int32 value, or the label upper-cased (OrdinalIgnoreCase), precomputed. */
  readonly labelKeys: readonly (number | string)[];
  readonly metadata: string | null;
  /** False when a part exceeds Int32 (NuGet rejects it; OSV still orders it numerically). */
  readonly inRange: boolean;
}

const INT32_MAX = "2147483647";
const isDigit = (c: number): boolean => c >= 48 && c <= 57;
const isLabelChar = (c: number): boolean =>
  isDigit(c) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 45;
/** NumberStyles whitespace: U+0009..U+000D and space. */
const isNumberSpace = (c: number): boolean => c === 32 || (c >= 9 && c <= 13);

function allDigits(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) if (!isDigit(s.charCodeAt(i))) return false;
  return true;
}

function stripZeros(d: string): string {
  let i = 0;
  while (i < d.length - 1 && d.charCodeAt(i) === 48) i++;
  return i === 0 ? d : d.slice(i);
}

function cmpDigits(a: string, b: string): number {
  if (a.length !== b.length) return a.length < b.length ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

const fitsInt32 = (d: string): boolean => cmpDigits(d, INT32_MAX) <= 0;

/** `VersionFormatter`'s split of "version-labels+metadata" (NuGet's ParseSections, verbatim). */
export function parseSections(value: string): {
  version: string | null;
  labels: string[] | null;
  metadata: string | null;
} {
  let version: string | null = null;
  let labels: string[] | null = null;
  let metadata: string | null = null;
  let dashPos = -1;
  let plusPos = -1;
  for (let i = 0; i < value.length; i++) {
    const end = i === value.length - 1;
    const c = value[i];
    if (dashPos < 0) {
      if (end || c === "-" || c === "+") {
        version = value.slice(0, i + (end ? 1 : 0));
        dashPos = i;
        if (c === "+") plusPos = i;
      }
    } else if (plusPos < 0) {
      if (end || c === "+") {
        labels = value.slice(dashPos + 1, i + (end ? 1 : 0)).split(".");
        plusPos = i;
      }
    } else if (end) {
      metadata = value.slice(plusPos + 1, i + 1);
    }
  }
  return { version, labels, metadata };
}

/** SemVer's identifier rule: non-empty, [0-9A-Za-z-], and no leading zero on a number. */
export function isValidPart(s: string, allowLeadingZeros: boolean): boolean {
  if (s.length === 0) return false;
  if (!allowLeadingZeros && s.length > 1 && s.charCodeAt(0) === 48 && allDigits(s)) return false;
  for (let i = 0; i < s.length; i++) if (!isLabelChar(s.charCodeAt(i))) return false;
  return true;
}

function validLabels(labels: readonly string[] | null): boolean {
  return labels === null || labels.every((l) => isValidPart(l, false));
}

function validMetadata(metadata: string | null): boolean {
  return metadata === null || metadata.split(".").every((p) => isValidPart(p, true));
}

/** `System.Version.TryParse` on the numeric part: 2-4 parts, each an Int32 with optional spaces. */
function parseNumbers(text: string): { parts: string[]; inRange: boolean } | null {
  const raw = text.split(".");
  if (raw.length < 2 || raw.length > 4) return null;
  const parts: string[] = [];
  let inRange = true;
  for (const r of raw) {
    let a = 0;
    let b = r.length;
    while (a < b && isNumberSpace(r.charCodeAt(a))) a++;
    while (b > a && isNumberSpace(r.charCodeAt(b - 1))) b--;
    const d = r.slice(a, b);
    if (!allDigits(d)) return null;
    const n = stripZeros(d);
    if (!fitsInt32(n)) inRange = false;
    parts.push(n);
  }
  return { parts, inRange };
}

/**
 * `NuGetVersion.TryParse`, except that parts beyond Int32 are kept (flagged `inRange: false`)
 * so that they can still be ordered; null when the string is not a version at all.
 */
export function parseNuGetLoose(value: string): NuGetVersion | null {
  const s = parseSections(value.trim());
  if (s.version === null || s.version === "") return null;
  // System.Version needs two parts; NuGet appends ".0" to a bare number.
  const nums = parseNumbers(s.version.includes(".") ? s.version : `${s.version}.0`);
  if (nums === null || !validLabels(s.labels) || !validMetadata(s.metadata)) return null;
  const p = nums.parts;
  return {
    parts: [p[0]!, p[1]!, p[2] ?? "0", p[3] ?? "0"],
    labels: s.labels ?? [],
    labelKeys: labelKeysOf(s.labels),
    metadata: s.metadata,
    inRange: nums.inRange,
  };
}

/** `NuGetVersion.TryParse`. */
export function parseNuGet(value: string): NuGetVersion | null {
  const v = parseNuGetLoose(value);
  return v !== null && v.inRange ? v : null;
}

/** `SemanticVersion.TryParse` (strict SemVer 2.0: exactly three parts, no leading zeros). */
export function parseNuGetStrict(value: string): NuGetVersion | null {
  const s = parseSections(value);
  if (s.version === null || s.version === "") return null;
  const raw = s.version.split(".");
  if (raw.length !== 3) return null;
  for (const r of raw) if (!allDigits(r) || !isValidPart(r, false) || !fitsInt32(r)) return null;
  if (!validLabels(s.labels) || !validMetadata(s.metadata)) return null;
  return {
    parts: [raw[0]!, raw[1]!, raw[2]!, "0"],
    labels: s.labels ?? [],
    labelKeys: labelKeysOf(s.labels),
    metadata: s.metadata,
    inRange: true,
  };
}

/** Int32.TryParse on a label (labels may carry a leading "-"), else null. */
function labelNumber(label: string): number | null {
  const neg = label.charCodeAt(0) === 45;
  const digits = neg ? label.slice(1) : label;
  if (!allDigits(digits)) return null;
  const d = stripZeros(digits);
  if (neg ? cmpDigits(d, "2147483648") > 0 : !fitsInt32(d)) return null;
  return neg ? -Number(d) : Number(d);
}

function labelKeysOf(labels: readonly string[] | null): (number | string)[] {
  return (labels ?? []).map((l) => labelNumber(l) ?? l.toUpperCase());
}

/** SemVer label precedence, case-insensitively (OrdinalIgnoreCase on upper-cased labels). */
function cmpLabel(x: number | string, y: number | string): number {
  const xn = typeof x === "number";
  const yn = typeof y === "number";
  if (xn !== yn) return xn ? -1 : 1; // numeric labels come before alphanumeric ones
  return x < y ? -1 : x > y ? 1 : 0;
}

/** `VersionComparer.Default.Compare`: metadata ignored. */
export function compareNuGetParsed(a: NuGetVersion, b: NuGetVersion): number {
  for (let i = 0; i < 4; i++) {
    const d = cmpDigits(a.parts[i]!, b.parts[i]!);
    if (d !== 0) return d;
  }
  const al = a.labelKeys;
  const bl = b.labelKeys;
  if (al.length === 0 || bl.length === 0) return al.length === bl.length ? 0 : al.length === 0 ? 1 : -1;
  const n = Math.max(al.length, bl.length);
  for (let i = 0; i < n; i++) {
    if (i >= al.length) return -1;
    if (i >= bl.length) return 1;
    const d = cmpLabel(al[i]!, bl[i]!);
    if (d !== 0) return d;
  }
  return 0;
}

const CACHE_LIMIT = 8192;
const cache = new Map<string, NuGetVersion | null>();

export function cachedNuGetLoose(version: string): NuGetVersion | null {
  let p = cache.get(version);
  if (p === undefined) {
    p = parseNuGetLoose(version);
    // Dropping the whole cache when full is O(1); evicting the oldest key from a Map is not
    // (V8 skips the deleted slots at the front on every keys().next()).
    if (cache.size >= CACHE_LIMIT) cache.clear();
    cache.set(version, p);
  }
  return p;
}

/**
 * NuGet order. Versions whose parts overflow Int32 (NuGet rejects them) are still ordered
 * numerically, as OSV does; strings that are no version at all sort after every version,
 * lexically, so the order stays total.
 */
export function compareNuGet(a: string, b: string): Comparison {
  if (a === b) return 0;
  const pa = cachedNuGetLoose(a);
  const pb = cachedNuGetLoose(b);
  let d: number;
  if (pa !== null && pb !== null) d = compareNuGetParsed(pa, pb);
  else if (pa !== null) d = -1;
  else if (pb !== null) d = 1;
  else d = a < b ? -1 : 1;
  return d < 0 ? -1 : d > 0 ? 1 : 0;
}

export function isValidNuGet(version: string): boolean {
  return parseNuGet(version) !== null;
}

/** `ToNormalizedString()`: three parts (four when the revision is set), labels, no metadata. */
export function formatNuGet(v: NuGetVersion): string {
  const [major, minor, patch, revision] = v.parts;
  let s = `${major}.${minor}.${patch}`;
  if (revision !== "0") s += `.${revision}`;
  if (v.labels.length > 0) s += `-${v.labels.join(".")}`;
  return s;
}
