/**
 * The rpm header blob, as every rpmdb backend (Berkeley DB, NDB, SQLite) stores it:
 *
 *   int32 il, int32 dl                     (big-endian, like everything below)
 *   il × {int32 tag, uint32 type, int32 offset, uint32 count}   the index
 *   dl bytes of data                       values, found at `offset` from the data start
 *
 * The first index entry is usually a region tag (63, HEADERIMMUTABLE) describing the signed
 * part; entries after the region ("dribbles") were added after install and override region
 * entries of the same tag, which is why a later entry wins here. Only the tags a package
 * inventory needs are decoded; every offset is bounds-checked so a corrupt blob yields an
 * error string, never an exception or an out-of-range read.
 */

export const TAG = {
  NAME: 1000,
  VERSION: 1001,
  RELEASE: 1002,
  EPOCH: 1003,
  SIZE: 1009,
  VENDOR: 1011,
  LICENSE: 1014,
  ARCH: 1022,
  SOURCERPM: 1044,
  MODULARITYLABEL: 5096,
} as const;

const TYPE_INT32 = 4;
const TYPE_STRING = 6;
const TYPE_STRING_ARRAY = 8;
const TYPE_I18NSTRING = 9;

/** rpm's own sanity limits (header.c hdrchkTags / hdrchkData). */
const MAX_TAGS = 0xffff;
const MAX_DATA = 0x00ffffff;

export interface RpmHeader {
  name?: string;
  version?: string;
  release?: string;
  epoch?: number;
  arch?: string;
  size?: number;
  vendor?: string;
  license?: string;
  sourceRpm?: string;
  modularityLabel?: string;
}

const STRING_FIELDS: ReadonlyMap<number, keyof RpmHeader> = new Map([
  [TAG.NAME, "name"],
  [TAG.VERSION, "version"],
  [TAG.RELEASE, "release"],
  [TAG.ARCH, "arch"],
  [TAG.VENDOR, "vendor"],
  [TAG.LICENSE, "license"],
  [TAG.SOURCERPM, "sourceRpm"],
  [TAG.MODULARITYLABEL, "modularityLabel"],
]);

/** Decodes the inventory tags of one header blob; a string is the reason it is unreadable. */
export function parseHeader(blob: Uint8Array): RpmHeader | string {
  if (blob.length < 8) return `header blob of ${blob.length} bytes is too short`;
  const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  const il = view.getInt32(0);
  const dl = view.getInt32(4);
  if (il < 1 || il > MAX_TAGS) return `header index count ${il} out of range`;
  if (dl < 0 || dl > MAX_DATA) return `header data length ${dl} out of range`;
  const dataStart = 8 + 16 * il;
  const dataEnd = dataStart + dl;
  if (dataEnd > blob.length) return `header blob truncated: needs ${dataEnd} bytes, has ${blob.length}`;

  // First the last index entry of each wanted tag (dribbles override the region), then decode
  // only those: a hostile blob repeating one tag 65535 times costs one string scan, not 65535.
  const last = new Map<number, number>();
  for (let i = 0; i < il; i++) {
    const tag = view.getInt32(8 + 16 * i);
    if (STRING_FIELDS.has(tag) || tag === TAG.EPOCH || tag === TAG.SIZE) last.set(tag, 8 + 16 * i);
  }
  const h: RpmHeader = {};
  for (const [tag, e] of last) {
    const type = view.getUint32(e + 4);
    const offset = view.getInt32(e + 8);
    const count = view.getUint32(e + 12);
    if (offset < 0 || offset >= dl) return `tag ${tag}: data offset ${offset} outside the ${dl}-byte data`;
    const start = dataStart + offset;
    const field = STRING_FIELDS.get(tag);
    if (field !== undefined) {
      if (type !== TYPE_STRING && type !== TYPE_I18NSTRING && type !== TYPE_STRING_ARRAY)
        return `tag ${tag}: type ${type} is not a string`;
      // I18N strings and arrays: the first (default-locale) string is the value.
      const nul = blob.subarray(start, dataEnd).indexOf(0);
      if (nul < 0) return `tag ${tag}: unterminated string`;
      const s = Buffer.from(blob.buffer, blob.byteOffset + start, nul).toString("utf8");
      // rpm writes "(none)" for absent source rpm, license and vendor.
      (h as Record<string, string>)[field] = s === "(none)" ? "" : s;
    } else {
      if (type !== TYPE_INT32 || count < 1) return `tag ${tag}: type ${type} is not an int32`;
      if (start + 4 > dataEnd) return `tag ${tag}: int32 outside the data`;
      if (tag === TAG.EPOCH) h.epoch = view.getInt32(start);
      else h.size = view.getUint32(start);
    }
  }
  return h;
}
