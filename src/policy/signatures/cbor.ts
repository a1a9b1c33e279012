/**
 * A minimal CBOR (RFC 8949) decoder and the small encoder COSE's Sig_structure needs. The
 * decoder reads untrusted envelopes, so it is bounded: every length is checked against the
 * bytes left before anything is allocated, nesting is limited, and indefinite-length items
 * (which COSE does not use) are refused. It returns a value or throws CborError, nothing else.
 */

export class CborError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CborError";
  }
}

export class CborTag {
  constructor(
    readonly tag: number,
    readonly value: CborValue,
  ) {}
}

export type CborValue =
  | number
  | bigint
  | string
  | boolean
  | null
  | undefined
  | Uint8Array
  | CborValue[]
  | Map<CborValue, CborValue>
  | CborTag;

const MAX_DEPTH = 32;
/** Most items (array elements + map entries) in one document: bounds work on hostile input. */
const MAX_ITEMS = 100_000;

export function decodeCbor(bytes: Uint8Array): CborValue {
  let pos = 0;
  let items = 0;
  const need = (n: number) => {
    if (n > bytes.length - pos) throw new CborError(`truncated CBOR at byte ${pos}`);
  };
  const argument = (info: number): number | bigint => {
    if (info < 24) return info;
    if (info === 24) {
      need(1);
      return bytes[pos++]!;
    }
    if (info === 25) {
      need(2);
      const v = (bytes[pos]! << 8) | bytes[pos + 1]!;
      pos += 2;
      return v;
    }
    if (info === 26) {
      need(4);
      const v = new DataView(bytes.buffer, bytes.byteOffset + pos, 4).getUint32(0);
      pos += 4;
      return v;
    }
    if (info === 27) {
      need(8);
      const v = new DataView(bytes.buffer, bytes.byteOffset + pos, 8).getBigUint64(0);
      pos += 8;
      return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
    }
    throw new CborError(
      info === 31 ? "indefinite-length CBOR items are not supported" : `reserved CBOR info ${info}`,
    );
  };
  const length = (info: number): number => {
    const n = argument(info);
    if (typeof n === "bigint" || n > bytes.length - pos)
      throw new CborError(`CBOR length ${n} exceeds the input`);
    return n;
  };
  const item = (depth: number): CborValue => {
    if (depth > MAX_DEPTH) throw new CborError("CBOR nested too deeply");
    need(1);
    const initial = bytes[pos++]!;
    const major = initial >> 5;
    const info = initial & 31;
    switch (major) {
      case 0:
        return argument(info);
      case 1: {
        const n = argument(info);
        return typeof n === "bigint" ? -1n - n : -1 - n;
      }
      case 2: {
        const n = length(info);
        const out = new Uint8Array(bytes.subarray(pos, pos + n));
        pos += n;
        return out;
      }
      case 3: {
        const n = length(info);
        let s: string;
        try {
          s = new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(pos, pos + n));
        } catch {
          throw new CborError("CBOR text string is not UTF-8");
        }
        pos += n;
        return s;
      }
      case 4: {
        // Each element takes at least one byte: a count beyond the bytes left is refused by length().
        const n = length(info);
        if ((items += n) > MAX_ITEMS) throw new CborError("too many CBOR items");
        const out: CborValue[] = [];
        for (let i = 0; i < n; i++) out.push(item(depth + 1));
        return out;
      }
      case 5: {
        const n = length(info);
        if ((items += n) > MAX_ITEMS) throw new CborError("too many CBOR items");
        const out = new Map<CborValue, CborValue>();
        for (let i = 0; i < n; i++) {
          const k = item(depth + 1);
          out.set(k, item(depth + 1));
        }
        return out;
      }
      case 6: {
        const t = argument(info);
        if (typeof t === "bigint") throw new CborError("CBOR tag too large");
        return new CborTag(t, item(depth + 1));
      }
      default: {
        if (info === 20) return false;
        if (info === 21) return true;
        if (info === 22) return null;
        if (info === 23) return undefined;
        if (info === 25 || info === 26 || info === 27) {
          const size = info === 25 ? 2 : info === 26 ? 4 : 8;
          need(size);
          const dv = new DataView(bytes.buffer, bytes.byteOffset + pos, size);
          pos += size;
          return size === 2 ? half(dv.getUint16(0)) : size === 4 ? dv.getFloat32(0) : dv.getFloat64(0);
        }
        if (info === 24) {
          need(1);
          pos++;
          return undefined;
        }
        if (info < 20) return undefined;
        throw new CborError(`unsupported CBOR simple value ${info}`);
      }
    }
  };
  const v = item(0);
  if (pos !== bytes.length) throw new CborError(`${bytes.length - pos} bytes after the CBOR item`);
  return v;
}

function half(h: number): number {
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  const sign = h & 0x8000 ? -1 : 1;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 31) return mant ? NaN : sign * Infinity;
  return sign * (mant + 1024) * 2 ** (exp - 25);
}

function head(major: number, n: number): Buffer {
  if (n < 24) return Buffer.from([(major << 5) | n]);
  if (n < 0x100) return Buffer.from([(major << 5) | 24, n]);
  if (n < 0x10000) return Buffer.from([(major << 5) | 25, n >> 8, n & 0xff]);
  const b = Buffer.alloc(5);
  b[0] = (major << 5) | 26;
  b.writeUInt32BE(n, 1);
  return b;
}

/** Encodes the few shapes COSE structures need: arrays, byte strings, text, small integers, maps. */
export function encodeCbor(v: CborValue): Buffer {
  if (typeof v === "number" && Number.isInteger(v) && Math.abs(v) < 2 ** 32)
    return v >= 0 ? head(0, v) : head(1, -1 - v);
  if (typeof v === "string") {
    const b = Buffer.from(v, "utf8");
    return Buffer.concat([head(3, b.length), b]);
  }
  if (v instanceof Uint8Array) return Buffer.concat([head(2, v.length), v]);
  if (Array.isArray(v)) return Buffer.concat([head(4, v.length), ...v.map(encodeCbor)]);
  if (v instanceof Map)
    return Buffer.concat([head(5, v.size), ...[...v].flatMap(([k, x]) => [encodeCbor(k), encodeCbor(x)])]);
  if (v instanceof CborTag) return Buffer.concat([head(6, v.tag), encodeCbor(v.value)]);
  if (v === null) return Buffer.from([0xf6]);
  if (v === true) return Buffer.from([0xf5]);
  if (v === false) return Buffer.from([0xf4]);
  throw new CborError(`cannot encode ${typeof v}`);
}
