/**
 * How Jackson (the JSON parser inside EventBridge's event-ruler) writes the places and characters
 * it names in its error messages, so that ours read the same: `[Source: (String)"…"; line: L,
 * column: C]` locations and `'x' (code 120)` character descriptions. Pure text formatting.
 */

/** Jackson shows at most this many characters of the source in a location. */
const SNIPPET_MAX = 500;

/** 1-based line and column of a 0-based offset, counting line breaks as Jackson does (\n, \r, \r\n). */
export function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  const end = Math.min(offset, text.length);
  for (let i = 0; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x0a) {
      line++;
      lineStart = i + 1;
    } else if (c === 0x0d) {
      if (i + 1 < text.length && text.charCodeAt(i + 1) === 0x0a) i++;
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

/** `[Source: (String)"<text>"; line: L, column: C]`, the source shortened and escaped as Jackson does. */
export function describeLocation(text: string, line: number, column: number): string {
  let snippet = "";
  const shown = text.length > SNIPPET_MAX ? text.slice(0, SNIPPET_MAX) : text;
  for (let i = 0; i < shown.length; i++) {
    const c = shown.charCodeAt(i);
    // Control characters other than CR and LF are written as \uXXXX (Jackson's ContentReference).
    if (isIsoControl(c) && c !== 0x0a && c !== 0x0d)
      snippet += "\\u" + c.toString(16).toUpperCase().padStart(4, "0");
    else snippet += shown[i];
  }
  const truncated = text.length > SNIPPET_MAX ? `[truncated ${text.length - SNIPPET_MAX} chars]` : "";
  return `[Source: (String)"${snippet}"${truncated}; line: ${line}, column: ${column}]`;
}

/** The line Jackson appends to an error raised at `offset`: ` at [Source: …]`. */
export function locationLine(text: string, offset: number): string {
  const { line, column } = lineAndColumn(text, offset);
  return ` at ${describeLocation(text, line, column)}`;
}

export function isIsoControl(code: number): boolean {
  return code <= 0x1f || (code >= 0x7f && code <= 0x9f);
}

/** Jackson's `_getCharDesc`: `'x' (code 120)`, `(CTRL-CHAR, code 10)`, `'é' (code 233)`, `'€' (code 8364 / 0x20ac)`. */
export function charDesc(code: number): string {
  const c = String.fromCharCode(code);
  if (isIsoControl(code)) return `(CTRL-CHAR, code ${code})`;
  if (code > 255) return `'${c}' (code ${code} / 0x${code.toString(16)})`;
  return `'${c}' (code ${code})`;
}

const IDENTIFIER_START = /^[\p{L}\p{Nl}\p{Sc}\p{Pc}]$/u;
const IDENTIFIER_PART = /^[\p{L}\p{Nl}\p{Sc}\p{Pc}\p{Nd}\p{Mn}\p{Mc}\p{Cf}]$/u;

/** Java's Character.isJavaIdentifierStart for one UTF-16 unit (a lone surrogate is not). */
export function isJavaIdentifierStart(ch: string): boolean {
  return IDENTIFIER_START.test(ch);
}

/** Java's Character.isJavaIdentifierPart for one UTF-16 unit (controls Java calls "ignorable" included). */
export function isJavaIdentifierPart(ch: string): boolean {
  const c = ch.charCodeAt(0);
  if (c <= 0x08 || (c >= 0x0e && c <= 0x1b) || (c >= 0x7f && c <= 0x9f)) return true;
  return IDENTIFIER_PART.test(ch);
}
