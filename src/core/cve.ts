/**
 * CVE ids, spelled once: `CVE-`, the year, a sequence number of four digits or more
 * (CVE-2014-0160, CVE-2021-44228, CVE-2024-1234567).
 */

/** The pattern's source, to compose a larger pattern with (a feed row, a title). */
export const CVE_ID_PATTERN = String.raw`CVE-\d{4}-\d{4,}`;

const EXACT = new RegExp(`^${CVE_ID_PATTERN}$`);
const AT_START = new RegExp(`^${CVE_ID_PATTERN}`);
// Global: used only through String.prototype.match, which resets lastIndex before and after.
const IN_TEXT = new RegExp(String.raw`\b${CVE_ID_PATTERN}\b`, "g");

/** Whether `id` is exactly a CVE id. */
export function isCve(id: string): boolean {
  return EXACT.test(id);
}

/** Every CVE id in a text (whole words), in order, repeats included. */
export function cvesInText(text: string): string[] {
  return text.match(IN_TEXT) ?? [];
}

/** The CVE id a text starts with (a title such as `CVE-2024-1234 affecting package …`), if any. */
export function cveAtStart(text: string): string | undefined {
  return AT_START.exec(text)?.[0];
}
