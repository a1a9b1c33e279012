import type { IpRange } from "./ast.js";

/**
 * IP addresses and CIDR blocks as event-ruler reads them (CIDR.java): text is an address only if
 * it looks like one (four dot-separated decimal runs, or hex digits and colons with at least one
 * colon) and then parses as one (Java's InetAddress rules: IPv4 parts 0-255 without leading
 * zeros, IPv6 with at most one "::", an IPv4-mapped IPv6 address being the IPv4 address).
 * Addresses become fixed-length upper-case hex so that ranges compare as strings.
 */

const LOOKS_V4 = /^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$/;
const LOOKS_V6 = /^[0-9a-fA-F:]*:[0-9a-fA-F:]*$/;

export interface IpAddress {
  family: 4 | 6;
  /** 8 or 32 upper-case hex digits. */
  hex: string;
}

export function looksLikeIp(text: string): boolean {
  return LOOKS_V4.test(text) || LOOKS_V6.test(text);
}

/** The address `text` denotes, or null when it is not an address. */
export function parseIp(text: string): IpAddress | null {
  if (LOOKS_V4.test(text)) return parseV4(text);
  if (LOOKS_V6.test(text)) return parseV6(text);
  return null;
}

function parseV4(text: string): IpAddress | null {
  let hex = "";
  for (const part of text.split(".")) {
    // Java refuses ambiguous literals (a leading zero could mean octal).
    if (part.length > 1 && part.startsWith("0")) return null;
    if (part.length > 3) return null;
    const n = Number(part);
    if (n > 255) return null;
    hex += n.toString(16).toUpperCase().padStart(2, "0");
  }
  return { family: 4, hex };
}

function parseV6(text: string): IpAddress | null {
  const double = text.indexOf("::");
  if (double !== text.lastIndexOf("::")) return null;
  if (text.includes(":::")) return null;
  let groups: string[];
  if (double >= 0) {
    const head = text.slice(0, double);
    const tail = text.slice(double + 2);
    const h = head === "" ? [] : head.split(":");
    const t = tail === "" ? [] : tail.split(":");
    if (h.length + t.length > 7) return null;
    groups = [...h, ...Array<string>(8 - h.length - t.length).fill("0"), ...t];
  } else {
    groups = text.split(":");
    if (groups.length !== 8) return null;
  }
  let hex = "";
  for (const g of groups) {
    if (g.length === 0 || g.length > 4) return null;
    hex += g.toUpperCase().padStart(4, "0");
  }
  // Java hands back ::ffff:a.b.c.d as the IPv4 address a.b.c.d.
  if (hex.startsWith("00000000000000000000FFFF")) return { family: 4, hex: hex.slice(24) };
  return { family: 6, hex };
}

/** An exact address in a pattern: the range holding just that address. */
export function ipRangeOf(text: string): IpRange | null {
  const ip = parseIp(text);
  return ip ? { family: ip.family, low: ip.hex, high: ip.hex } : null;
}

/** Thrown for a malformed CIDR block; AWS reports these messages without a location. */
export class CidrError extends Error {}

/**
 * event-ruler's CIDR.cidr: "address/bits". Like event-ruler the range starts at the address as
 * written (host bits are not cleared: "10.0.0.5/24" covers 10.0.0.5-10.0.0.255), and a block must
 * leave at least one host bit (IPv4 /32 and IPv6 /128 are refused).
 */
export function parseCidr(text: string): IpRange {
  const parts = javaSplitSlash(text);
  if (parts.length !== 2) throw new CidrError("Malformed CIDR, one '/' required");
  const bits = javaParseInt(parts[1]!);
  if (bits === null) throw new CidrError("Malformed CIDR, mask bits must be an integer");
  if (bits < 0) throw new CidrError("Malformed CIDR, mask bits must not be negative");
  const addressText = parts[0]!;
  if (!looksLikeIp(addressText)) throw new CidrError(`Nonstandard IP address: ${addressText}`);
  const ip = parseIp(addressText);
  if (!ip) throw new CidrError(`Invalid IP address: ${addressText}`);
  if (ip.family === 4 && bits > 31) throw new CidrError("IPv4 mask bits must be < 32");
  if (ip.family === 6 && bits > 127) throw new CidrError("IPv6 mask bits must be < 128");
  let high = "";
  for (let nibble = 0; nibble < ip.hex.length; nibble++) {
    const hostBitsHere = Math.max(0, Math.min(4, (nibble + 1) * 4 - bits));
    const value = parseInt(ip.hex[nibble]!, 16) | ((1 << hostBitsHere) - 1);
    high += value.toString(16).toUpperCase();
  }
  return { family: ip.family, low: ip.hex, high };
}

export function inRange(ip: IpAddress, range: IpRange): boolean {
  return ip.family === range.family && ip.hex >= range.low && ip.hex <= range.high;
}

/** Java's String.split("/"): trailing empty strings are dropped. */
function javaSplitSlash(text: string): string[] {
  const parts = text.split("/");
  while (parts.length > 0 && parts[parts.length - 1] === "") parts.pop();
  return parts;
}

/** Java's Integer.parseInt (ASCII digits, optional sign, 32-bit), null where it would throw. */
function javaParseInt(text: string): number | null {
  if (!/^[+-]?\d+$/.test(text)) return null;
  const n = Number(text);
  if (n > 2147483647 || n < -2147483648) return null;
  return n;
}
