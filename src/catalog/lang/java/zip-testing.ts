import { deflateRawSync } from "node:zlib";

/**
 * Test support: writes small zip archives (jars) in memory, including the odd shapes the reader
 * must survive: zip64 records, data prepended to the archive, central-directory entries that
 * share one local file (the overlapping-entries zip bomb), lying sizes.
 */

export interface TestZipEntry {
  name: string;
  data?: Buffer | string;
  /** 0 stored, 8 deflate (default). */
  method?: 0 | 8;
  /** Reuse the local file of an earlier entry (overlapping entries). */
  sameDataAs?: string;
  /** Declare this uncompressed size in the central directory instead of the real one. */
  declaredSize?: number;
}

export interface TestZipOptions {
  /** Write zip64 extended information and end records. */
  zip64?: boolean;
  /** Bytes before the archive (an executable jar's launch script). */
  prefix?: Buffer | string;
  comment?: string;
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export function buildZip(entries: TestZipEntry[], opts: TestZipOptions = {}): Buffer {
  const prefix = Buffer.from(opts.prefix ?? "");
  const locals: Buffer[] = [];
  const central: Buffer[] = [];
  const placed = new Map<
    string,
    { offset: number; crc: number; csize: number; size: number; method: number }
  >();
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name, "utf8");
    let info = e.sameDataAs ? placed.get(e.sameDataAs) : undefined;
    if (!info) {
      const raw = Buffer.from(e.data ?? "");
      const method = e.method ?? 8;
      const body = method === 8 ? deflateRawSync(raw) : raw;
      const lfh = Buffer.alloc(30);
      lfh.writeUInt32LE(0x04034b50, 0);
      lfh.writeUInt16LE(opts.zip64 ? 45 : 20, 4);
      lfh.writeUInt16LE(0x800, 6);
      lfh.writeUInt16LE(method, 8);
      lfh.writeUInt32LE(crc32(raw), 14);
      lfh.writeUInt32LE(body.length, 18);
      lfh.writeUInt32LE(raw.length, 22);
      lfh.writeUInt16LE(name.length, 26);
      info = { offset, crc: crc32(raw), csize: body.length, size: raw.length, method };
      placed.set(e.name, info);
      locals.push(lfh, name, body);
      offset += lfh.length + name.length + body.length;
    }
    const size = e.declaredSize ?? info.size;
    let extra = Buffer.alloc(0);
    if (opts.zip64) {
      extra = Buffer.alloc(28);
      extra.writeUInt16LE(0x0001, 0);
      extra.writeUInt16LE(24, 2);
      extra.writeBigUInt64LE(BigInt(size), 4);
      extra.writeBigUInt64LE(BigInt(info.csize), 12);
      extra.writeBigUInt64LE(BigInt(info.offset), 20);
    }
    const cdh = Buffer.alloc(46);
    cdh.writeUInt32LE(0x02014b50, 0);
    cdh.writeUInt16LE(opts.zip64 ? 45 : 20, 4);
    cdh.writeUInt16LE(opts.zip64 ? 45 : 20, 6);
    cdh.writeUInt16LE(0x800, 8);
    cdh.writeUInt16LE(info.method, 10);
    cdh.writeUInt32LE(info.crc, 16);
    cdh.writeUInt32LE(opts.zip64 ? 0xffffffff : info.csize, 20);
    cdh.writeUInt32LE(opts.zip64 ? 0xffffffff : size, 24);
    cdh.writeUInt16LE(name.length, 28);
    cdh.writeUInt16LE(extra.length, 30);
    cdh.writeUInt32LE(opts.zip64 ? 0xffffffff : info.offset, 42);
    central.push(cdh, name, extra);
  }
  const cd = Buffer.concat(central);
  const tail: Buffer[] = [];
  const comment = Buffer.from(opts.comment ?? "");
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  if (opts.zip64) {
    const rec = Buffer.alloc(56);
    rec.writeUInt32LE(0x06064b50, 0);
    rec.writeBigUInt64LE(44n, 4);
    rec.writeUInt16LE(45, 12);
    rec.writeUInt16LE(45, 14);
    rec.writeBigUInt64LE(BigInt(entries.length), 24);
    rec.writeBigUInt64LE(BigInt(entries.length), 32);
    rec.writeBigUInt64LE(BigInt(cd.length), 40);
    rec.writeBigUInt64LE(BigInt(offset), 48);
    const loc = Buffer.alloc(20);
    loc.writeUInt32LE(0x07064b50, 0);
    loc.writeBigUInt64LE(BigInt(offset + cd.length), 8);
    loc.writeUInt32LE(1, 16);
    tail.push(rec, loc);
    eocd.writeUInt16LE(0xffff, 8);
    eocd.writeUInt16LE(0xffff, 10);
    eocd.writeUInt32LE(0xffffffff, 12);
    eocd.writeUInt32LE(0xffffffff, 16);
  } else {
    eocd.writeUInt16LE(entries.length, 8);
    eocd.writeUInt16LE(entries.length, 10);
    eocd.writeUInt32LE(cd.length, 12);
    eocd.writeUInt32LE(offset, 16);
  }
  eocd.writeUInt16LE(comment.length, 20);
  return Buffer.concat([prefix, ...locals, cd, ...tail, eocd, comment]);
}

/** A jar with the given pom.properties coordinates (and optional extra entries). */
export function jarWithPom(
  groupId: string,
  artifactId: string,
  version: string,
  extra: TestZipEntry[] = [],
): Buffer {
  return buildZip([
    { name: "META-INF/MANIFEST.MF", data: "Manifest-Version: 1.0\r\nCreated-By: test\r\n\r\n" },
    {
      name: `META-INF/maven/${groupId}/${artifactId}/pom.properties`,
      data: `#Generated by Maven\ngroupId=${groupId}\nartifactId=${artifactId}\nversion=${version}\n`,
    },
    { name: "com/example/A.class", data: Buffer.alloc(64, 0xca) },
    ...extra,
  ]);
}
