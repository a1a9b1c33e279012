import { inflateRawSync } from "node:zlib";

/**
 * A small, bounded zip reader over a Buffer: enough of APPNOTE.TXT for jars (central directory,
 * stored and deflated entries, zip64 records, data prepended to the archive).
 *
 * Only the central directory is trusted for names and sizes; an entry's bytes are located through
 * its local header. Nothing is inflated until a caller asks for that one entry, and every read
 * has a byte limit, so a zip bomb becomes a ZipError instead of an out-of-memory crash.
 */

export class ZipError extends Error {
  override readonly name = "ZipError";
}

export interface ZipEntry {
  name: string;
  /** 0 stored, 8 deflate; anything else cannot be read here. */
  method: number;
  flags: number;
  compressedSize: number;
  /** Uncompressed size as declared by the central directory (a hostile archive may lie). */
  size: number;
  /** Offset of the local file header, relative to the start of the buffer. */
  localOffset: number;
}

export interface ZipReadOptions {
  /** Refuse archives declaring more entries than this. */
  maxEntries: number;
  /** Keep only the entries this accepts (names of directories end with `/`). */
  keep?: (name: string) => boolean;
}

const EOCD_SIG = 0x06054b50;
const ZIP64_LOCATOR_SIG = 0x07064b50;
const ZIP64_EOCD_SIG = 0x06064b50;
const CDH_SIG = 0x02014b50;
const LFH_SIG = 0x04034b50;
const EOCD_LEN = 22;
const MAX_COMMENT = 0xffff;

/** Cheap test for "this starts like a zip" (local header or an empty archive's EOCD). */
export function looksLikeZip(buf: Buffer): boolean {
  if (buf.length < 4) return false;
  const sig = buf.readUInt32LE(0);
  return sig === LFH_SIG || sig === EOCD_SIG;
}

function findEocd(buf: Buffer): number {
  const min = Math.max(0, buf.length - EOCD_LEN - MAX_COMMENT);
  for (let i = buf.length - EOCD_LEN; i >= min; i--) {
    // Byte test first: readUInt32LE on every position is measurably slower on long comments.
    if (buf[i] === 0x50 && buf[i + 1] === 0x4b && buf.readUInt32LE(i) === EOCD_SIG) {
      // A signature inside the comment would not end exactly at the buffer's end (or before it
      // with trailing garbage): accept the first one whose comment fits.
      if (i + EOCD_LEN + buf.readUInt16LE(i + 20) <= buf.length) return i;
    }
  }
  throw new ZipError("not a zip archive (no end of central directory record)");
}

function u64(buf: Buffer, off: number): number {
  const v = buf.readBigUInt64LE(off);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new ZipError("zip64 value out of range");
  return Number(v);
}

/**
 * Reads the central directory. Throws ZipError when the archive is not a zip, is truncated or
 * declares more than `maxEntries` entries.
 */
export function readZipDirectory(buf: Buffer, opts: ZipReadOptions): ZipEntry[] {
  const eocd = findEocd(buf);
  let total = buf.readUInt16LE(eocd + 10);
  let cdSize = buf.readUInt32LE(eocd + 12);
  let cdOffset = buf.readUInt32LE(eocd + 16);
  // Where the central directory really ends: the EOCD, or the zip64 EOCD record before it.
  let cdEnd = eocd;

  if (total === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    const loc = eocd - 20;
    if (loc >= 0 && buf.readUInt32LE(loc) === ZIP64_LOCATOR_SIG) {
      // The locator's offset is relative to the zip's start; with prepended data the record is
      // found by walking back from the locator instead (it is 56 bytes plus extensible data).
      let rec = u64(buf, loc + 8);
      if (rec + 56 > loc || buf.readUInt32LE(rec) !== ZIP64_EOCD_SIG) {
        rec = loc - 56;
        if (rec < 0 || buf.readUInt32LE(rec) !== ZIP64_EOCD_SIG) throw new ZipError("bad zip64 end record");
      }
      total = u64(buf, rec + 32);
      cdSize = u64(buf, rec + 40);
      cdOffset = u64(buf, rec + 48);
      cdEnd = rec;
    }
  }

  if (total > opts.maxEntries)
    throw new ZipError(`archive declares ${total} entries (limit ${opts.maxEntries})`);
  if (cdSize > cdEnd) throw new ZipError("central directory larger than the archive (truncated?)");
  // Executable jars (a launch script in front) and self-extracting archives carry bytes before
  // the zip; all recorded offsets are then short by that many bytes.
  const base = cdEnd - cdSize - cdOffset;
  if (base < 0) throw new ZipError("central directory offset beyond the archive (truncated?)");
  const start = cdOffset + base;

  const entries: ZipEntry[] = [];
  let p = start;
  for (let n = 0; n < total; n++) {
    if (p + 46 > cdEnd || buf.readUInt32LE(p) !== CDH_SIG)
      throw new ZipError(`central directory entry ${n} is damaged (truncated archive?)`);
    const flags = buf.readUInt16LE(p + 8);
    const method = buf.readUInt16LE(p + 10);
    let compressedSize = buf.readUInt32LE(p + 20);
    let size = buf.readUInt32LE(p + 24);
    const nameLen = buf.readUInt16LE(p + 28);
    const extraLen = buf.readUInt16LE(p + 30);
    const commentLen = buf.readUInt16LE(p + 32);
    let localOffset = buf.readUInt32LE(p + 42);
    const nameStart = p + 46;
    const extraStart = nameStart + nameLen;
    const next = extraStart + extraLen + commentLen;
    if (next > cdEnd) throw new ZipError(`central directory entry ${n} runs past the directory`);
    // Bit 11: UTF-8 names; without it the name is CP437, whose ASCII subset is all jars use.
    const name = buf.toString(flags & 0x800 ? "utf8" : "latin1", nameStart, extraStart);
    if (!opts.keep || opts.keep(name)) {
      if (size === 0xffffffff || compressedSize === 0xffffffff || localOffset === 0xffffffff) {
        // zip64 extended information: only the fields that overflowed are present, in this order.
        for (let e = extraStart; e + 4 <= extraStart + extraLen;) {
          const id = buf.readUInt16LE(e);
          const len = buf.readUInt16LE(e + 2);
          if (id === 0x0001) {
            let q = e + 4;
            const end = q + len;
            if (size === 0xffffffff && q + 8 <= end) {
              size = u64(buf, q);
              q += 8;
            }
            if (compressedSize === 0xffffffff && q + 8 <= end) {
              compressedSize = u64(buf, q);
              q += 8;
            }
            if (localOffset === 0xffffffff && q + 8 <= end) localOffset = u64(buf, q);
            break;
          }
          e += 4 + len;
        }
      }
      entries.push({ name, method, flags, compressedSize, size, localOffset: localOffset + base });
    }
    p = next;
  }
  return entries;
}

/**
 * The uncompressed bytes of one entry, at most `maxBytes` of them (ZipError beyond). Stored
 * entries are returned as a view into `buf`, without copying.
 */
export function readZipEntry(buf: Buffer, entry: ZipEntry, maxBytes: number): Buffer {
  if (entry.flags & 0x1) throw new ZipError(`${entry.name}: encrypted entry`);
  const lfh = entry.localOffset;
  if (lfh < 0 || lfh + 30 > buf.length || buf.readUInt32LE(lfh) !== LFH_SIG)
    throw new ZipError(`${entry.name}: local header missing (truncated archive?)`);
  const dataStart = lfh + 30 + buf.readUInt16LE(lfh + 26) + buf.readUInt16LE(lfh + 28);
  const dataEnd = dataStart + entry.compressedSize;
  if (dataEnd > buf.length) throw new ZipError(`${entry.name}: data runs past the end (truncated archive?)`);
  const data = buf.subarray(dataStart, dataEnd);
  switch (entry.method) {
    case 0:
      if (data.length > maxBytes)
        throw new ZipError(`${entry.name}: ${data.length} bytes (limit ${maxBytes})`);
      return data;
    case 8:
      // The declared size is only a hint (a bomb lies about it); maxOutputLength is the real bound.
      if (entry.size > maxBytes)
        throw new ZipError(`${entry.name}: declares ${entry.size} bytes (limit ${maxBytes})`);
      try {
        return inflateRawSync(data, { maxOutputLength: Math.max(1, maxBytes) });
      } catch (e) {
        const err = e as NodeJS.ErrnoException;
        if (err.code === "ERR_BUFFER_TOO_LARGE")
          throw new ZipError(`${entry.name}: inflates beyond ${maxBytes} bytes (zip bomb?)`);
        throw new ZipError(`${entry.name}: cannot inflate: ${err.message}`);
      }
    default:
      throw new ZipError(`${entry.name}: unsupported compression method ${entry.method}`);
  }
}
