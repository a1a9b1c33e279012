import type { Problems } from "./problems.js";

/** One paragraph of a deb822 file (dpkg status): the wanted fields, first line of each. */
export interface Stanza {
  /** 1-based line of the paragraph's first field, for problem messages. */
  line: number;
  /** Lower-cased field name → value (first line only; continuation lines are not kept). */
  fields: Map<string, string>;
}

const SPACE = 0x20;
const TAB = 0x09;
const HASH = 0x23;
const COLON = 0x3a;

/**
 * Splits deb822 text into paragraphs, keeping only `wanted` fields (lower-case names). One
 * pass, no regular expressions: status files of large images are megabytes of Description and
 * Conffiles lines that are skipped after a one-character test. Lines that are neither a field,
 * a continuation nor a separator are recorded as problems; the paragraph is still returned so
 * that what is valid is kept.
 */
export function readStanzas(text: string, wanted: ReadonlySet<string>, problems: Problems): Stanza[] {
  const out: Stanza[] = [];
  const wantedLengths = new Set([...wanted].map((k) => k.length));
  let cur: Stanza | null = null;
  let pos = 0;
  let lineNo = 0;
  const len = text.length;
  while (pos < len) {
    let end = text.indexOf("\n", pos);
    if (end < 0) end = len;
    const lineStart = pos;
    pos = end + 1;
    lineNo++;
    if (end > lineStart && text.charCodeAt(end - 1) === 0x0d) end--; // CRLF
    if (end === lineStart) {
      cur = null;
      continue;
    }
    const c0 = text.charCodeAt(lineStart);
    if (c0 === SPACE || c0 === TAB) {
      // A continuation line, or a whitespace-only separator line.
      if (text.slice(lineStart, end).trim() === "") cur = null;
      else if (!cur) problems.add(`line ${lineNo}: continuation line outside a paragraph`);
      continue;
    }
    if (c0 === HASH) continue; // deb822 comment
    // Bounded to the line: an unbounded indexOf would rescan the rest of a file of colon-less
    // lines once per line (quadratic on hostile input).
    let colon = lineStart + 1;
    while (colon < end && text.charCodeAt(colon) !== COLON) colon++;
    if (colon >= end) {
      problems.add(`line ${lineNo}: not a "Field: value" line`);
      continue;
    }
    if (!cur) {
      cur = { line: lineNo, fields: new Map() };
      out.push(cur);
    }
    // Most fields are unwanted: compare lengths before allocating a lower-cased key.
    if (!wantedLengths.has(colon - lineStart)) continue;
    const key = text.slice(lineStart, colon).toLowerCase();
    if (wanted.has(key)) cur.fields.set(key, text.slice(colon + 1, end).trim());
  }
  return out;
}
