/**
 * Wildcard patterns: `*` matches any run of characters (none included), `\*` a literal star,
 * `\\` a literal backslash; any other backslash, and two stars in a row, are refused with
 * event-ruler's texts, the position counted in UTF-8 bytes of the value with its JSON quotes
 * (as event-ruler's WildcardParser sees it: `"…"`).
 */

export class WildcardSyntaxError extends Error {}

/** The literal runs between the stars: ["a", "b"] for `a*b`; [""] for `""`; ["", ""] for `*`. */
export function wildcardSegments(pattern: string): string[] {
  const segments: string[] = [];
  let cur = "";
  let bytePos = 1; // after the opening quote
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!;
    if (ch === "*") {
      if (pattern[i + 1] === "*")
        throw new WildcardSyntaxError(`Consecutive wildcard characters at pos ${bytePos}`);
      segments.push(cur);
      cur = "";
    } else if (ch === "\\") {
      const next = pattern[i + 1];
      if (next !== "*" && next !== "\\")
        throw new WildcardSyntaxError(`Invalid escape character at pos ${bytePos}`);
      cur += next;
      i++;
      bytePos++;
    } else {
      cur += ch;
      bytePos += utf8Length(pattern, i);
      if (isHighSurrogate(pattern.charCodeAt(i)) && isLowSurrogate(pattern.charCodeAt(i + 1))) {
        cur += pattern[i + 1];
        i++;
      }
      continue;
    }
    bytePos++;
  }
  segments.push(cur);
  return segments;
}

/** Does `value` match the wildcard whose segments are given (see wildcardSegments)? */
export function matchSegments(segments: readonly string[], value: string): boolean {
  const first = segments[0]!;
  if (segments.length === 1) return value === first;
  const last = segments[segments.length - 1]!;
  if (value.length < first.length + last.length) return false;
  if (!value.startsWith(first) || !value.endsWith(last)) return false;
  // Leftmost placement of each middle run is always safe with `*` as the only operator.
  let at = first.length;
  const end = value.length - last.length;
  for (let k = 1; k < segments.length - 1; k++) {
    const seg = segments[k]!;
    const found = value.indexOf(seg, at);
    if (found < 0 || found + seg.length > end) return false;
    at = found + seg.length;
  }
  return true;
}

function utf8Length(s: string, i: number): number {
  const c = s.charCodeAt(i);
  if (c < 0x80) return 1;
  if (c < 0x800) return 2;
  if (isHighSurrogate(c) && isLowSurrogate(s.charCodeAt(i + 1))) return 4;
  return 3;
}

function isHighSurrogate(c: number): boolean {
  return c >= 0xd800 && c <= 0xdbff;
}

function isLowSurrogate(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}
