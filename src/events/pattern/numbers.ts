/**
 * Numbers in patterns, as event-ruler treats them since it compares doubles: a number used for
 * numeric comparison must be exactly a double (its decimal value equal to that of the double it
 * parses to), else "Cannot compare number : <text>". 0.1 is fine (it is the double 0.1 as
 * written); 0.30000000000000001 or 1e400 are not.
 */

export class NotComparableError extends Error {
  constructor(readonly text: string) {
    super(`Cannot compare number : ${text}`);
  }
}

/** The double a JSON number denotes, refusing numbers that no double represents exactly. */
export function comparableNumber(text: string): number {
  const d = Number(text);
  if (!Number.isFinite(d)) throw new NotComparableError(text);
  const exact = decimal(text);
  if (exact === null) throw new NotComparableError(text);
  const asDouble = decimal(String(d));
  if (asDouble === null || !sameDecimal(exact, asDouble)) throw new NotComparableError(text);
  return d === 0 ? 0 : d;
}

export function isComparable(text: string): boolean {
  try {
    comparableNumber(text);
    return true;
  } catch {
    return false;
  }
}

/** A decimal as sign, significant digits (no leading or trailing zeros) and exponent: value = 0.digits × 10^exp. */
interface Decimal {
  negative: boolean;
  digits: string;
  exponent: bigint;
}

const NUMBER = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/;

function decimal(text: string): Decimal | null {
  const m = NUMBER.exec(text);
  if (!m) return null;
  const intPart = m[2]!;
  const frac = m[3] ?? "";
  let all = intPart + frac;
  let exponent = BigInt(m[4] ?? "0") + BigInt(intPart.length);
  const lead = all.length - all.replace(/^0+/, "").length;
  all = all.slice(lead);
  exponent -= BigInt(lead);
  all = all.replace(/0+$/, "");
  // Zero has no sign and no exponent worth comparing.
  if (all === "") return { negative: false, digits: "", exponent: 0n };
  return { negative: m[1] === "-", digits: all, exponent };
}

function sameDecimal(a: Decimal, b: Decimal): boolean {
  return a.negative === b.negative && a.digits === b.digits && a.exponent === b.exponent;
}
