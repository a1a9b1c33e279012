/**
 * Prefixes (or suffixes) of many rules, looked up for one value without cutting it into pieces:
 * a rolling hash of the value's first (or last) n characters is computed in one pass and probed
 * only at the lengths some key has; a hash hit is confirmed by comparing the strings. With
 * thousands of rules this keeps a value's lookups free of allocation and of string hashing.
 */
const FILTER_BITS = 1 << 16;

export class AffixMap {
  private readonly byHash = new Map<number, { key: string; ids: number[] }[]>();
  /** One bit per hash value modulo 2^16: most probes miss, and this small array says so first. */
  private readonly filter = new Uint8Array(FILTER_BITS / 8);
  private lengths: number[] = [];
  private readonly lengthSet = new Set<number>();

  constructor(private readonly fromEnd: boolean) {}

  get size(): number {
    return this.byHash.size;
  }

  add(key: string, id: number): void {
    const h = this.hashOf(key);
    this.filter[(h & (FILTER_BITS - 1)) >>> 3]! |= 1 << (h & 7);
    let bucket = this.byHash.get(h);
    if (!bucket) this.byHash.set(h, (bucket = []));
    let entry = bucket.find((e) => e.key === key);
    if (!entry) bucket.push((entry = { key, ids: [] }));
    entry.ids.push(id);
    if (!this.lengthSet.has(key.length)) {
      this.lengthSet.add(key.length);
      this.lengths = [...this.lengthSet].sort((a, b) => a - b);
    }
  }

  /** Calls `found` with the ids of every key that `value` starts (or ends) with. */
  lookup(value: string, found: (ids: readonly number[]) => void): void {
    const lengths = this.lengths;
    if (lengths.length === 0) return;
    const n = value.length;
    let li = 0;
    let h = 0;
    if (lengths[0] === 0) {
      this.probe(h, value, 0, found);
      li = 1;
    }
    for (let i = 0; i < n && li < lengths.length; i++) {
      h = (Math.imul(h, 31) + value.charCodeAt(this.fromEnd ? n - 1 - i : i)) | 0;
      if (i + 1 === lengths[li]) {
        this.probe(h, value, i + 1, found);
        li++;
      }
    }
  }

  private probe(h: number, value: string, len: number, found: (ids: readonly number[]) => void): void {
    if ((this.filter[(h & (FILTER_BITS - 1)) >>> 3]! & (1 << (h & 7))) === 0) return;
    const bucket = this.byHash.get(h);
    if (!bucket) return;
    for (const e of bucket) {
      if (e.key.length !== len) continue;
      if (this.fromEnd ? value.endsWith(e.key) : value.startsWith(e.key)) found(e.ids);
    }
  }

  private hashOf(key: string): number {
    let h = 0;
    const n = key.length;
    for (let i = 0; i < n; i++) h = (Math.imul(h, 31) + key.charCodeAt(this.fromEnd ? n - 1 - i : i)) | 0;
    return h;
  }
}
