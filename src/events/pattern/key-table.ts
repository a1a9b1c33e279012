import { foldUnit } from "./ignore-case.js";

/**
 * The rule index's lookup table: 32-bit keys (a hash of a path, a kind of test and a value) to
 * lists of branch ids, in four typed arrays, open addressing with linear probing. With thousands
 * of rules a JavaScript Map of strings costs an event several cache misses per lookup (bucket,
 * entry, key string, value array); here a miss is one read of a small integer array and a hit
 * one more. Keys are hashes, so different values may share one: a lookup can then return
 * branches the value does not satisfy, which is harmless because every branch found is checked
 * in full; it can never miss a branch filed under the value's key. (Colliding strings are easy to
 * make, "Aa" and "BB" for one; a rule writer who made many would only slow the events carrying
 * the colliding value, each by one check per such rule.)
 */
export class KeyTable {
  /**
   * Three integers per slot, side by side so that a hit costs one cache line: the key (0: empty),
   * then either (-1 - branch) for a key with one branch, or the start and end of its branches
   * in `ids`.
   */
  private readonly slots: Int32Array;
  readonly ids: Int32Array;
  private readonly mask: number;
  /**
   * One bit per key's top bits, at least 16 bits per key (so at most about one probe in 16 for
   * an absent key gets past it): most probes are for keys no rule has (a value's prefixes at
   * every length some rule uses), and this array, a few KiB where the slots take megabytes, is
   * what they read.
   */
  private readonly filter: Int32Array;
  private readonly filterShift: number;

  constructor(entries: ReadonlyMap<number, readonly number[]>) {
    let size = 16;
    while (size < entries.size * 2) size *= 2;
    this.mask = size - 1;
    let bits = 10;
    while (bits < 24 && 1 << bits < entries.size * 16) bits++;
    this.filter = new Int32Array((1 << bits) >>> 5);
    this.filterShift = 32 - bits;
    for (const key of entries.keys()) {
      const f = key >>> this.filterShift;
      this.filter[f >>> 5]! |= 1 << (f & 31);
    }
    this.slots = new Int32Array(size * 4);
    let total = 0;
    for (const ids of entries.values()) if (ids.length > 1) total += ids.length;
    this.ids = new Int32Array(total);
    let at = 0;
    for (const [key, ids] of entries) {
      let s = key & this.mask;
      while (this.slots[s * 4] !== 0) s = (s + 1) & this.mask;
      this.slots[s * 4] = key;
      if (ids.length === 1) {
        this.slots[s * 4 + 1] = -1 - ids[0]!;
      } else {
        this.slots[s * 4 + 1] = at;
        for (const id of ids) this.ids[at++] = id;
        this.slots[s * 4 + 2] = at;
      }
    }
  }

  /** The slot holding `key` (never 0: see mixKey), or -1. */
  find(key: number): number {
    const f = key >>> this.filterShift;
    if ((this.filter[f >>> 5]! & (1 << (f & 31))) === 0) return -1;
    const slots = this.slots;
    const mask = this.mask;
    for (let s = key & mask; ; s = (s + 1) & mask) {
      const k = slots[s * 4]!;
      if (k === key) return s;
      if (k === 0) return -1;
    }
  }

  /** The one branch of `slot` (>= 0), or -1 when it has several: see start and end. */
  single(slot: number): number {
    const v = this.slots[slot * 4 + 1]!;
    return v < 0 ? -1 - v : -1;
  }

  start(slot: number): number {
    return this.slots[slot * 4 + 1]!;
  }

  end(slot: number): number {
    return this.slots[slot * 4 + 2]!;
  }
}

/** What a key stands for at its path; part of the key, so that kinds never share entries. */
export const KIND = {
  exact: 1,
  prefix: 2,
  suffix: 3,
  foldExact: 4,
  foldPrefix: 5,
  foldSuffix: 6,
  number: 7,
  ip: 8,
  true: 9,
  false: 10,
  null: 11,
} as const;

export type Kind = (typeof KIND)[keyof typeof KIND];

/** One step of the string hashes (over UTF-16 units, as the rolling lookups compute them). */
export const step = (h: number, unit: number): number => (Math.imul(h, 31) + unit) | 0;

/**
 * The key of (path number, kind, value hash): murmur3's finaliser spreads the polynomial hash
 * over all bits (the table takes the low ones); 0 marks an empty slot, so it becomes 1.
 */
export function mixKey(path: number, kind: Kind, h: number): number {
  let x = (h ^ Math.imul(path * 16 + kind, 0x9e3779b1)) | 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x === 0 ? 1 : x;
}

/** Hash of `s`'s units from the start (fromEnd false) or from the end backwards. */
export function hashString(s: string, fromEnd = false): number {
  let h = 0;
  const n = s.length;
  for (let i = 0; i < n; i++) h = step(h, s.charCodeAt(fromEnd ? n - 1 - i : i));
  return h;
}

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);

/** Hash of a number by value (0 and -0 alike, as the Map that held them did). */
export function hashNumber(v: number): number {
  f64[0] = v === 0 ? 0 : v;
  return (u32[0]! ^ Math.imul(u32[1]!, 0x85ebca6b)) | 0;
}

/** The unit foldKey makes of `unit`: foldKey(s) is s with foldCode applied to each unit. */
export function foldCode(unit: number): number {
  if (unit < 0x80) return unit >= 0x41 && unit <= 0x5a ? unit + 32 : unit;
  return foldUnit(String.fromCharCode(unit)).charCodeAt(0);
}
