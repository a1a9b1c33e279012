import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { crc32, inflateRawSync } from "node:zlib";

/**
 * Zip members of a feed archive (osv.dev's `<ecosystem>/all.zip`), read from the file by
 * position so a large archive never sits in memory whole; one member at a time is inflated.
 *
 * A damaged archive is not all-or-nothing: when the central directory is missing (a truncated
 * download) the local headers are walked from the start, every complete member is still
 * returned and the damage is reported as a problem at the point it starts.
 */

export type ZipItem =
  { kind: "member"; name: string; content: Buffer } | { kind: "problem"; document: string; reason: string };

const EOCD_SIG = 0x06054b50;
const ZIP64_LOCATOR_SIG = 0x07064b50;
const ZIP64_EOCD_SIG = 0x06064b50;
const CDH_SIG = 0x02014b50;
const LFH_SIG = 0x04034b50;
const MAX_COMMENT = 0xffff;
/** A single feed document larger than this is refused (a zip bomb costs a problem, not the process). */
export const MAX_MEMBER_BYTES = 1024 ** 3;

interface Entry {
  name: string;
  method: number;
  flags: number;
  crc: number;
  csize: number;
  usize: number;
  local: number;
}

interface Reader {
  readonly size: number;
  read(pos: number, len: number): Buffer;
}

class FileReader implements Reader {
  constructor(
    readonly fd: number,
    readonly size: number,
  ) {}
  read(pos: number, len: number): Buffer {
    const buf = Buffer.allocUnsafe(len);
    let got = 0;
    while (got < len) {
      const n = readSync(this.fd, buf, got, len - got, pos + got);
      if (n === 0) break;
      got += n;
    }
    return got === len ? buf : buf.subarray(0, got);
  }
}

function centralDirectory(r: Reader): Entry[] | string {
  const tailLen = Math.min(r.size, 22 + MAX_COMMENT + 20);
  const tail = r.read(r.size - tailLen, tailLen);
  let eocd = -1;
  for (let i = tail.length - 22; i >= 0; i--) {
    if (tail[i] === 0x50 && tail[i + 1] === 0x4b && tail.readUInt32LE(i) === EOCD_SIG) {
      if (i + 22 + tail.readUInt16LE(i + 20) <= tail.length) {
        eocd = i;
        break;
      }
    }
  }
  if (eocd < 0) return "no end of central directory record (truncated or not a zip)";
  let count = tail.readUInt16LE(eocd + 10);
  let cdSize = tail.readUInt32LE(eocd + 12);
  let cdOffset = tail.readUInt32LE(eocd + 16);
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    const loc = eocd - 20;
    if (loc < 0 || tail.readUInt32LE(loc) !== ZIP64_LOCATOR_SIG) return "zip64 locator missing";
    const z64 = r.read(Number(tail.readBigUInt64LE(loc + 8)), 56);
    if (z64.length < 56 || z64.readUInt32LE(0) !== ZIP64_EOCD_SIG) return "zip64 end record missing";
    count = Number(z64.readBigUInt64LE(32));
    cdSize = Number(z64.readBigUInt64LE(40));
    cdOffset = Number(z64.readBigUInt64LE(48));
  }
  if (cdOffset + cdSize > r.size) return "central directory lies beyond the end of the file (truncated)";
  const cd = r.read(cdOffset, cdSize);
  const entries: Entry[] = [];
  let p = 0;
  for (let n = 0; n < count; n++) {
    if (p + 46 > cd.length || cd.readUInt32LE(p) !== CDH_SIG)
      return `central directory entry ${n} is damaged`;
    const nameLen = cd.readUInt16LE(p + 28);
    const extraLen = cd.readUInt16LE(p + 30);
    const commentLen = cd.readUInt16LE(p + 32);
    const e: Entry = {
      name: cd.toString("utf8", p + 46, p + 46 + nameLen),
      flags: cd.readUInt16LE(p + 8),
      method: cd.readUInt16LE(p + 10),
      crc: cd.readUInt32LE(p + 16),
      csize: cd.readUInt32LE(p + 20),
      usize: cd.readUInt32LE(p + 24),
      local: cd.readUInt32LE(p + 42),
    };
    // Zip64 extended information: 64-bit values for the fields saturated above, in this order.
    let x = p + 46 + nameLen;
    const xEnd = x + extraLen;
    while (x + 4 <= xEnd) {
      const id = cd.readUInt16LE(x);
      const len = cd.readUInt16LE(x + 2);
      if (id === 0x0001) {
        let q = x + 4;
        if (e.usize === 0xffffffff) {
          e.usize = Number(cd.readBigUInt64LE(q));
          q += 8;
        }
        if (e.csize === 0xffffffff) {
          e.csize = Number(cd.readBigUInt64LE(q));
          q += 8;
        }
        if (e.local === 0xffffffff) e.local = Number(cd.readBigUInt64LE(q));
      }
      x += 4 + len;
    }
    entries.push(e);
    p = xEnd + commentLen;
  }
  return entries;
}

function extract(r: Reader, e: Entry, dataStart: number): Buffer {
  if (e.flags & 1) throw new Error("encrypted member");
  if (e.usize > MAX_MEMBER_BYTES) throw new Error(`member larger than ${MAX_MEMBER_BYTES} bytes`);
  const raw = r.read(dataStart, e.csize);
  if (raw.length < e.csize) throw new Error("member data truncated");
  let out: Buffer;
  if (e.method === 0) out = raw;
  else if (e.method === 8) out = inflateRawSync(raw, { maxOutputLength: MAX_MEMBER_BYTES });
  else throw new Error(`unsupported compression method ${e.method}`);
  if (out.length !== e.usize) throw new Error(`size ${out.length} differs from the declared ${e.usize}`);
  if (crc32(out) >>> 0 !== e.crc >>> 0) throw new Error("CRC mismatch");
  return out;
}

class BufferReader implements Reader {
  constructor(readonly buf: Buffer) {}
  get size(): number {
    return this.buf.length;
  }
  read(pos: number, len: number): Buffer {
    return this.buf.subarray(pos, pos + len);
  }
}

/**
 * Every file member of a zip (a file path, or the bytes of a zip nested in another archive), in
 * archive order, with problems in between.
 */
export function* readZip(source: string | Buffer, label: string): Generator<ZipItem> {
  if (Buffer.isBuffer(source)) {
    yield* members(new BufferReader(source), label);
    return;
  }
  const fd = openSync(source, "r");
  try {
    yield* members(new FileReader(fd, fstatSync(fd).size), label);
  } finally {
    closeSync(fd);
  }
}

function* members(r: Reader, label: string): Generator<ZipItem> {
  const cd = centralDirectory(r);
  if (typeof cd !== "string") {
    for (const e of cd) {
      if (e.name.endsWith("/")) continue;
      let content: Buffer;
      try {
        const lh = r.read(e.local, 30);
        if (lh.length < 30 || lh.readUInt32LE(0) !== LFH_SIG) throw new Error("local header missing");
        content = extract(r, e, e.local + 30 + lh.readUInt16LE(26) + lh.readUInt16LE(28));
      } catch (err) {
        const reason = `unreadable zip member: ${(err as Error).message}`;
        yield { kind: "problem", document: `${label}!${e.name}`, reason };
        continue;
      }
      yield { kind: "member", name: e.name, content };
    }
    return;
  }
  yield* salvage(r, label, cd);
}

/** Walks local headers when the central directory is unusable; reports where the damage starts. */
function* salvage(r: Reader, label: string, why: string): Generator<ZipItem> {
  let pos = 0;
  let found = 0;
  for (;;) {
    const lh = r.read(pos, 30);
    if (lh.length < 30 || lh.readUInt32LE(0) !== LFH_SIG) break;
    const nameLen = lh.readUInt16LE(26);
    const extraLen = lh.readUInt16LE(28);
    const name = r.read(pos + 30, nameLen).toString("utf8");
    const e: Entry = {
      name,
      flags: lh.readUInt16LE(6),
      method: lh.readUInt16LE(8),
      crc: lh.readUInt32LE(14),
      csize: lh.readUInt32LE(18),
      usize: lh.readUInt32LE(22),
      local: pos,
    };
    if (e.flags & 8) {
      yield {
        kind: "problem",
        document: `${label}!${name}`,
        reason: `${why}; cannot salvage members with data descriptors`,
      };
      return;
    }
    const dataStart = pos + 30 + nameLen + extraLen;
    if (dataStart + e.csize > r.size) {
      yield {
        kind: "problem",
        document: `${label}!${name}`,
        reason: `${why}; member cut off at byte ${r.size}`,
      };
      return;
    }
    found++;
    if (!name.endsWith("/")) {
      let content: Buffer | undefined;
      let reason = "";
      try {
        content = extract(r, e, dataStart);
      } catch (err) {
        reason = `unreadable zip member: ${(err as Error).message}`;
      }
      yield content
        ? { kind: "member", name, content }
        : { kind: "problem", document: `${label}!${name}`, reason };
    }
    pos = dataStart + e.csize;
  }
  yield {
    kind: "problem",
    document: label,
    reason: found ? `${why}; ${found} members recovered from local headers` : why,
  };
}
