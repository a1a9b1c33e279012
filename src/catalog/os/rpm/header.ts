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
  DIRINDEXES: 1116,
  BASENAMES: 1117,
  DIRNAMES: 1118,
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
  /**
   * Installed files (DIRNAMES[DIRINDEXES[i]] + BASENAMES[i]) whose base name the caller asked
   * for (`ParseOptions.fileName`); absent when not asked or none.
   */
  files?: string[];
  /** Why the file list asked for could not be read (the rest of the header was). */
  filesProblem?: string;
}

export interface ParseOptions {
  /** Which installed files to decode, by base name (rpm lists every file of every package). */
  fileName?: (basename: string) => boolean;
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
export function parseHeader(blob: Uint8Array, opts: ParseOptions = {}): RpmHeader | string {
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
    else if (opts.fileName && (tag === TAG.BASENAMES || tag === TAG.DIRNAMES || tag === TAG.DIRINDEXES))
      last.set(tag, 8 + 16 * i);
  }
  const h: RpmHeader = {};
  for (const [tag, e] of last) {
    const type = view.getUint32(e + 4);
    const offset = view.getInt32(e + 8);
    const count = view.getUint32(e + 12);
    if (offset < 0 || offset >= dl) return `tag ${tag}: data offset ${offset} outside the ${dl}-byte data`;
    const start = dataStart + offset;
    if (tag === TAG.BASENAMES || tag === TAG.DIRNAMES || tag === TAG.DIRINDEXES) continue; // below
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
  if (opts.fileName && last.has(TAG.BASENAMES)) {
    // A damaged file list costs the ownership facts, not the package.
    const files = fileList(blob, view, dataStart, dataEnd, last, opts.fileName);
    if (typeof files === "string") h.filesProblem = files;
    else if (files.length) h.files = files;
  }
  return h;
}

/** The `count` NUL-terminated strings of a string array entry, or why they cannot be read. */
function stringArray(
  blob: Uint8Array,
  view: DataView,
  dataStart: number,
  dataEnd: number,
  entry: number,
  tag: number,
): string[] | string {
  const type = view.getUint32(entry + 4);
  const offset = view.getInt32(entry + 8);
  const count = view.getUint32(entry + 12);
  if (type !== TYPE_STRING_ARRAY) return `tag ${tag}: type ${type} is not a string array`;
  if (offset < 0 || dataStart + offset >= dataEnd)
    return `tag ${tag}: data offset ${offset} outside the data`;
  // Each string takes at least its NUL: a count past the data is corrupt (and bounds the loop).
  if (count > dataEnd - dataStart - offset) return `tag ${tag}: ${count} strings cannot fit in the data`;
  const out: string[] = [];
  let pos = dataStart + offset;
  const bytes = Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength);
  for (let i = 0; i < count; i++) {
    const nul = bytes.indexOf(0, pos);
    if (nul < 0 || nul >= dataEnd) return `tag ${tag}: unterminated string`;
    out.push(bytes.toString("utf8", pos, nul));
    pos = nul + 1;
  }
  return out;
}

/** The installed files whose base name `want` accepts: DIRNAMES[DIRINDEXES[i]] + BASENAMES[i]. */
function fileList(
  blob: Uint8Array,
  view: DataView,
  dataStart: number,
  dataEnd: number,
  last: Map<number, number>,
  want: (basename: string) => boolean,
): string[] | string {
  const names = stringArray(blob, view, dataStart, dataEnd, last.get(TAG.BASENAMES)!, TAG.BASENAMES);
  if (typeof names === "string") return names;
  const wanted: number[] = [];
  for (let i = 0; i < names.length; i++) if (want(names[i]!)) wanted.push(i);
  if (!wanted.length) return [];
  const di = last.get(TAG.DIRINDEXES);
  const dn = last.get(TAG.DIRNAMES);
  if (di === undefined || dn === undefined) return "BASENAMES without DIRNAMES and DIRINDEXES";
  const dirs = stringArray(blob, view, dataStart, dataEnd, dn, TAG.DIRNAMES);
  if (typeof dirs === "string") return dirs;
  const type = view.getUint32(di + 4);
  const offset = view.getInt32(di + 8);
  const count = view.getUint32(di + 12);
  if (type !== TYPE_INT32) return `tag ${TAG.DIRINDEXES}: type ${type} is not an int32 array`;
  if (count !== names.length) return `DIRINDEXES has ${count} entries for ${names.length} BASENAMES`;
  if (offset < 0 || dataStart + offset + 4 * count > dataEnd)
    return `tag ${TAG.DIRINDEXES}: outside the data`;
  const out: string[] = [];
  for (const i of wanted) {
    const d = dirs[view.getInt32(dataStart + offset + 4 * i)];
    if (d === undefined) return `DIRINDEXES entry ${i} names no directory`;
    out.push(d + names[i]);
  }
  return out;
}
