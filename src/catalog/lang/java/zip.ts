import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { crc32, inflateRawSync } from "node:zlib";

/**
 * The one zip reader, a small and bounded one: enough of APPNOTE.TXT for jars in image layers
 * (read from a Buffer) and for feed archives (osv.dev's `<ecosystem>/all.zip`, read from the file
 * by position, so a large archive never sits in memory whole): central directory, stored and
 * deflated entries, zip64 records, data prepended to the archive, and the local headers walked
 * from the start when the central directory is lost (a download cut short).
 *
 * Only the central directory is trusted for names and sizes; an entry's bytes are located through
 * its local header. Nothing is inflated until a caller asks for that one entry, and every read
 * has a byte limit, so a zip bomb becomes a ZipError instead of an out-of-memory crash. Nothing
 * else is ever thrown for what the bytes say (a file that cannot be opened or read throws the
 * file system's error).
 */

export class ZipError extends Error {
  override readonly name = "ZipError";
  /** `no-end-record`: no end of central directory record (not a zip, or the end is cut off). */
  readonly code: "no-end-record" | undefined;
  /** The entry the error is about, when there is one. */
  readonly entry: string | undefined;

  constructor(message: string, opts: { code?: "no-end-record"; entry?: string } = {}) {
    super(message);
    this.code = opts.code;
    this.entry = opts.entry;
  }
}

export interface ZipEntry {
  name: string;
  /** 0 stored, 8 deflate; anything else cannot be read here. */
  method: number;
  flags: number;
  /** CRC-32 of the uncompressed bytes, as declared. */
  crc: number;
  compressedSize: number;
  /** Uncompressed size as declared by the central directory (a hostile archive may lie). */
  size: number;
  /** Offset of the local file header, relative to the start of the source. */
  localOffset: number;
}

export interface ZipReadOptions {
  /** Refuse archives declaring more entries than this. */
  maxEntries: number;
  /** Keep only the entries this accepts (names of directories end with `/`). */
  keep?: (name: string) => boolean;
}

export interface ZipEntryOptions {
  /** Check the inflated bytes against the declared size and CRC-32 (a damaged download). */
  verify?: boolean;
}

/** Bytes read by position; a Buffer is read in place. */
export interface ZipSource {
  readonly size: number;
  /** Up to `len` bytes at `pos` (fewer at the end of the source). */
  read(pos: number, len: number): Buffer;
}

/** A zip file read by position. Close it when done. */
export class ZipFile implements ZipSource {
  private constructor(
    private readonly fd: number,
    readonly size: number,
  ) {}

  static open(path: string): ZipFile {
    const fd = openSync(path, "r");
    try {
      return new ZipFile(fd, fstatSync(fd).size);
    } catch (e) {
      closeSync(fd);
      throw e;
    }
  }

  read(pos: number, len: number): Buffer {
    const n = Math.max(0, Math.min(len, this.size - pos));
    const buf = Buffer.allocUnsafe(n);
    let got = 0;
    while (got < n) {
      const k = readSync(this.fd, buf, got, n - got, pos + got);
      if (k === 0) break;
      got += k;
    }
    return got === n ? buf : buf.subarray(0, got);
  }

  close(): void {
    closeSync(this.fd);
  }
}

const EOCD_SIG = 0x06054b50;
const ZIP64_LOCATOR_SIG = 0x07064b50;
const ZIP64_EOCD_SIG = 0x06064b50;
const CDH_SIG = 0x02014b50;
const LFH_SIG = 0x04034b50;
const EOCD_LEN = 22;
const LOCATOR_LEN = 20;
const ZIP64_EOCD_LEN = 56;
const MAX_COMMENT = 0xffff;

function sizeOf(src: Buffer | ZipSource): number {
  return Buffer.isBuffer(src) ? src.length : src.size;
}

function bytes(src: Buffer | ZipSource, pos: number, len: number): Buffer {
  return Buffer.isBuffer(src) ? src.subarray(pos, pos + len) : src.read(pos, len);
}

/** Cheap test for "this starts like a zip" (local header or an empty archive's EOCD). */
export function looksLikeZip(buf: Buffer): boolean {
  if (buf.length < 4) return false;
  const sig = buf.readUInt32LE(0);
  return sig === LFH_SIG || sig === EOCD_SIG;
}

/** Offset in `tail` (the last bytes of the source) of the end of central directory record. */
function findEocd(tail: Buffer): number {
  const min = Math.max(0, tail.length - EOCD_LEN - MAX_COMMENT);
  for (let i = tail.length - EOCD_LEN; i >= min; i--) {
    // Byte test first: readUInt32LE on every position is measurably slower on long comments.
    if (tail[i] === 0x50 && tail[i + 1] === 0x4b && tail.readUInt32LE(i) === EOCD_SIG) {
      // A signature inside the comment would not end exactly at the buffer's end (or before it
      // with trailing garbage): accept the first one whose comment fits.
      if (i + EOCD_LEN + tail.readUInt16LE(i + 20) <= tail.length) return i;
    }
  }
  throw new ZipError("not a zip archive (no end of central directory record)", { code: "no-end-record" });
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
export function readZipDirectory(src: Buffer | ZipSource, opts: ZipReadOptions): ZipEntry[] {
  const size = sizeOf(src);
  // The end record, its comment, and the zip64 locator before it.
  const tailStart = Math.max(0, size - EOCD_LEN - MAX_COMMENT - LOCATOR_LEN);
  const tail = bytes(src, tailStart, size - tailStart);
  const eocd = findEocd(tail);
  let total = tail.readUInt16LE(eocd + 10);
  let cdSize = tail.readUInt32LE(eocd + 12);
  let cdOffset = tail.readUInt32LE(eocd + 16);
  // Where the central directory really ends: the EOCD, or the zip64 EOCD record before it.
  let cdEnd = tailStart + eocd;

  if (total === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    const loc = eocd - LOCATOR_LEN;
    if (loc >= 0 && tail.readUInt32LE(loc) === ZIP64_LOCATOR_SIG) {
      // The locator's offset is relative to the zip's start; with prepended data the record is
      // found by walking back from the locator instead (it is 56 bytes plus extensible data).
      const locAt = tailStart + loc;
      let at = u64(tail, loc + 8);
      let rec = at + ZIP64_EOCD_LEN <= locAt ? bytes(src, at, ZIP64_EOCD_LEN) : null;
      if (!rec || rec.length < ZIP64_EOCD_LEN || rec.readUInt32LE(0) !== ZIP64_EOCD_SIG) {
        at = locAt - ZIP64_EOCD_LEN;
        rec = at >= 0 ? bytes(src, at, ZIP64_EOCD_LEN) : null;
        if (!rec || rec.length < ZIP64_EOCD_LEN || rec.readUInt32LE(0) !== ZIP64_EOCD_SIG)
          throw new ZipError("bad zip64 end record");
      }
      total = u64(rec, 32);
      cdSize = u64(rec, 40);
      cdOffset = u64(rec, 48);
      cdEnd = at;
    }
  }

  if (total > opts.maxEntries)
    throw new ZipError(`archive declares ${total} entries (limit ${opts.maxEntries})`);
  if (cdSize > cdEnd) throw new ZipError("central directory larger than the archive (truncated?)");
  // Executable jars (a launch script in front) and self-extracting archives carry bytes before
  // the zip; all recorded offsets are then short by that many bytes.
  const base = cdEnd - cdSize - cdOffset;
  if (base < 0) throw new ZipError("central directory offset beyond the archive (truncated?)");
  const cd = bytes(src, cdEnd - cdSize, cdSize);
  if (cd.length < cdSize) throw new ZipError("central directory cut off (truncated archive?)");

  const entries: ZipEntry[] = [];
  let p = 0;
  for (let n = 0; n < total; n++) {
    if (p + 46 > cdSize || cd.readUInt32LE(p) !== CDH_SIG)
      throw new ZipError(`central directory entry ${n} is damaged (truncated archive?)`);
    const flags = cd.readUInt16LE(p + 8);
    const method = cd.readUInt16LE(p + 10);
    const crc = cd.readUInt32LE(p + 16);
    let compressedSize = cd.readUInt32LE(p + 20);
    let size = cd.readUInt32LE(p + 24);
    const nameLen = cd.readUInt16LE(p + 28);
    const extraLen = cd.readUInt16LE(p + 30);
    const commentLen = cd.readUInt16LE(p + 32);
    let localOffset = cd.readUInt32LE(p + 42);
    const nameStart = p + 46;
    const extraStart = nameStart + nameLen;
    const extraEnd = extraStart + extraLen;
    const next = extraEnd + commentLen;
    if (next > cdSize) throw new ZipError(`central directory entry ${n} runs past the directory`);
    // Bit 11: UTF-8 names; without it the name is CP437, whose ASCII subset is all jars use.
    const name = cd.toString(flags & 0x800 ? "utf8" : "latin1", nameStart, extraStart);
    if (!opts.keep || opts.keep(name)) {
      if (size === 0xffffffff || compressedSize === 0xffffffff || localOffset === 0xffffffff) {
        // zip64 extended information: only the fields that overflowed are present, in this order.
        for (let e = extraStart; e + 4 <= extraEnd;) {
          const id = cd.readUInt16LE(e);
          const len = cd.readUInt16LE(e + 2);
          if (id === 0x0001) {
            let q = e + 4;
            const end = Math.min(q + len, extraEnd);
            if (size === 0xffffffff && q + 8 <= end) {
              size = u64(cd, q);
              q += 8;
            }
            if (compressedSize === 0xffffffff && q + 8 <= end) {
              compressedSize = u64(cd, q);
              q += 8;
            }
            if (localOffset === 0xffffffff && q + 8 <= end) localOffset = u64(cd, q);
            break;
          }
          e += 4 + len;
        }
      }
      entries.push({ name, method, flags, crc, compressedSize, size, localOffset: localOffset + base });
    }
    p = next;
  }
  return entries;
}

/**
 * The uncompressed bytes of one entry, at most `maxBytes` of them (ZipError beyond). Stored
 * entries of a Buffer are returned as a view into it, without copying.
 */
export function readZipEntry(
  src: Buffer | ZipSource,
  entry: ZipEntry,
  maxBytes: number,
  opts: ZipEntryOptions = {},
): Buffer {
  if (entry.flags & 0x1) throw new ZipError(`${entry.name}: encrypted entry`, { entry: entry.name });
  const size = sizeOf(src);
  const lfh = entry.localOffset;
  const h = lfh >= 0 && lfh + 30 <= size ? bytes(src, lfh, 30) : null;
  if (!h || h.length < 30 || h.readUInt32LE(0) !== LFH_SIG)
    throw new ZipError(`${entry.name}: local header missing (truncated archive?)`, { entry: entry.name });
  const dataStart = lfh + 30 + h.readUInt16LE(26) + h.readUInt16LE(28);
  const dataEnd = dataStart + entry.compressedSize;
  if (dataEnd > size)
    throw new ZipError(`${entry.name}: data runs past the end (truncated archive?)`, { entry: entry.name });
  let out: Buffer;
  switch (entry.method) {
    case 0:
      if (entry.compressedSize > maxBytes)
        throw new ZipError(`${entry.name}: ${entry.compressedSize} bytes (limit ${maxBytes})`, {
          entry: entry.name,
        });
      out = bytes(src, dataStart, entry.compressedSize);
      break;
    case 8: {
      // The declared size is only a hint (a bomb lies about it); maxOutputLength is the real bound.
      if (entry.size > maxBytes)
        throw new ZipError(`${entry.name}: declares ${entry.size} bytes (limit ${maxBytes})`, {
          entry: entry.name,
        });
      // Deflate never grows data by more than 5 bytes per 16 KiB block: more compressed bytes
      // than that cannot inflate within the limit (and are not read into memory).
      if (entry.compressedSize > maxBytes + Math.ceil(maxBytes / 16384) * 5 + 1024)
        throw new ZipError(`${entry.name}: ${entry.compressedSize} compressed bytes (limit ${maxBytes})`, {
          entry: entry.name,
        });
      try {
        out = inflateRawSync(bytes(src, dataStart, entry.compressedSize), {
          maxOutputLength: Math.max(1, maxBytes),
        });
      } catch (e) {
        const err = e as NodeJS.ErrnoException;
        if (err.code === "ERR_BUFFER_TOO_LARGE")
          throw new ZipError(`${entry.name}: inflates beyond ${maxBytes} bytes (zip bomb?)`, {
            entry: entry.name,
          });
        throw new ZipError(`${entry.name}: cannot inflate: ${err.message}`, { entry: entry.name });
      }
      break;
    }
    default:
      throw new ZipError(`${entry.name}: unsupported compression method ${entry.method}`, {
        entry: entry.name,
      });
  }
  if (opts.verify) {
    if (out.length !== entry.size)
      throw new ZipError(`${entry.name}: size ${out.length} differs from the declared ${entry.size}`, {
        entry: entry.name,
      });
    if (crc32(out) >>> 0 !== entry.crc >>> 0)
      throw new ZipError(`${entry.name}: CRC mismatch`, { entry: entry.name });
  }
  return out;
}

/**
 * The entries found by walking the local headers from the start of the source, for an archive
 * whose central directory is unusable (a download cut short). The walk stops at the first bytes
 * that are not a local header. A member cut off by the end of the source, or whose sizes follow
 * its data (a data descriptor: where the next header starts is unknown), ends it with a ZipError
 * naming that member.
 */
export function* scanLocalHeaders(
  src: Buffer | ZipSource,
  opts: { maxEntries: number },
): Generator<ZipEntry> {
  const size = sizeOf(src);
  let pos = 0;
  for (let n = 0; pos + 30 <= size; n++) {
    const h = bytes(src, pos, 30);
    if (h.length < 30 || h.readUInt32LE(0) !== LFH_SIG) return;
    if (n >= opts.maxEntries) throw new ZipError(`more than ${opts.maxEntries} entries`);
    const flags = h.readUInt16LE(6);
    const nameLen = h.readUInt16LE(26);
    const extraLen = h.readUInt16LE(28);
    const name = bytes(src, pos + 30, nameLen).toString(flags & 0x800 ? "utf8" : "latin1");
    const e: ZipEntry = {
      name,
      flags,
      method: h.readUInt16LE(8),
      crc: h.readUInt32LE(14),
      compressedSize: h.readUInt32LE(18),
      size: h.readUInt32LE(22),
      localOffset: pos,
    };
    if (flags & 0x8)
      throw new ZipError(`${name}: sizes after the data (data descriptor): cannot walk past it`, {
        entry: name,
      });
    if (e.size === 0xffffffff || e.compressedSize === 0xffffffff) {
      // zip64 extra field of a local header: both sizes, uncompressed first.
      const extra = bytes(src, pos + 30 + nameLen, extraLen);
      for (let x = 0; x + 4 <= extra.length;) {
        const id = extra.readUInt16LE(x);
        const len = extra.readUInt16LE(x + 2);
        if (id === 0x0001 && x + 20 <= extra.length && len >= 16) {
          e.size = u64(extra, x + 4);
          e.compressedSize = u64(extra, x + 12);
          break;
        }
        x += 4 + len;
      }
    }
    const dataStart = pos + 30 + nameLen + extraLen;
    if (dataStart + e.compressedSize > size)
      throw new ZipError(`${name}: member cut off at byte ${size}`, { entry: name });
    yield e;
    pos = dataStart + e.compressedSize;
  }
}
