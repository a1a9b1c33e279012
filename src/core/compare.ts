/**
 * Code-point order of two strings: the same on every machine. (`localeCompare` follows the
 * locale's ICU collation: machine-dependent output, a few milliseconds to set the collator up
 * on first use, and microseconds per call after.)
 */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
