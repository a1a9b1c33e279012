import type { Problems } from "../problems.js";

/**
 * The classic rpmdb `Packages` file: a Berkeley DB hash database (libdb db_page.h), read
 * without libdb. Layout, in the database's byte order (little-endian on x86/arm, detected from
 * the magic so s390x/ppc64 images read too):
 *
 *   page 0, hash metadata: magic 0x061561 @12, page size @20, encryption @24, type 8 @25,
 *                          last page number @32
 *   every page:            26-byte header: next page @16, entry count @20, hf_offset @22,
 *                          type @25 (13 hash, 2 unsorted hash (rpm 4.4), 7 overflow)
 *   hash pages:            entry count × uint16 item offsets after the header, key/value
 *                          pairs; a value item is H_KEYDATA (1, inline bytes) or H_OFFPAGE (3:
 *                          first overflow page @4, total length @8)
 *   overflow pages:        a chain of pages via "next", each with hf_offset bytes of data
 *
 * Each value is one rpm header blob (keys are package instance numbers; instance 0 holds
 * rpm's counter, not a package). Pages are visited once in file order and every overflow page
 * may belong to one chain only, so the work is linear in the file size whatever the pointers
 * say: a loop, a chain running past the end or two chains sharing pages become problems.
 */

const HASH_MAGIC = 0x061561;
const HEADER = 26;
const P_HASH_UNSORTED = 2;
const P_OVERFLOW = 7;
const P_HASHMETA = 8;
const P_HASH = 13;
const H_KEYDATA = 1;
const H_OFFPAGE = 3;
const VALID_PAGE_SIZES: ReadonlySet<number> = new Set([512, 1024, 2048, 4096, 8192, 16384, 32768, 65536]);

export function isBerkeleyHash(buf: Buffer): boolean {
  return buf.length >= 16 && (buf.readUInt32LE(12) === HASH_MAGIC || buf.readUInt32BE(12) === HASH_MAGIC);
}

/** The value blobs of a Berkeley DB hash database (rpm header blobs for rpm's Packages). */
export function readBerkeleyHash(buf: Buffer, problems: Problems): Buffer[] {
  if (buf.length < 512) {
    problems.add(`Berkeley DB: file of ${buf.length} bytes is shorter than one page`);
    return [];
  }
  const le = buf.readUInt32LE(12) === HASH_MAGIC;
  if (!le && buf.readUInt32BE(12) !== HASH_MAGIC) {
    problems.add("Berkeley DB: not a hash database (bad magic)");
    return [];
  }
  const u32 = (o: number) => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const u16 = (o: number) => (le ? buf.readUInt16LE(o) : buf.readUInt16BE(o));

  const pageSize = u32(20);
  if (!VALID_PAGE_SIZES.has(pageSize)) {
    problems.add(`Berkeley DB: invalid page size ${pageSize}`);
    return [];
  }
  if (buf[24] !== 0) {
    problems.add("Berkeley DB: encrypted database");
    return [];
  }
  if (buf[25] !== P_HASHMETA) {
    problems.add(`Berkeley DB: page 0 has type ${buf[25]}, not hash metadata`);
    return [];
  }
  const declared = u32(32) + 1;
  const present = Math.floor(buf.length / pageSize);
  const pages = Math.min(declared, present);
  if (declared > present)
    problems.add(`Berkeley DB truncated: ${declared} pages declared, ${present} present; read what is there`);

  const claimed = new Uint8Array(pages); // overflow pages already part of a chain
  const blobs: Buffer[] = [];

  const overflow = (first: number, total: number, where: string): Buffer | null => {
    const chunks: Buffer[] = [];
    let got = 0;
    for (let p = first; p !== 0;) {
      if (p >= pages) return fail(`${where}: overflow chain points to page ${p}, past the end`);
      if (claimed[p]) return fail(`${where}: overflow page ${p} reached twice (loop or shared chain)`);
      claimed[p] = 1;
      const base = p * pageSize;
      if (buf[base + 25] !== P_OVERFLOW)
        return fail(`${where}: page ${p} in a chain is not an overflow page`);
      const len = u16(base + 22);
      if (len > pageSize - HEADER) return fail(`${where}: overflow page ${p} claims ${len} bytes`);
      got += len;
      if (got > total) return fail(`${where}: overflow chain longer than the ${total}-byte item`);
      chunks.push(buf.subarray(base + HEADER, base + HEADER + len));
      p = u32(base + 16);
    }
    if (got !== total) return fail(`${where}: overflow chain holds ${got} of ${total} bytes`);
    return Buffer.concat(chunks, got);
  };
  const fail = (reason: string): null => {
    problems.add(`Berkeley DB: ${reason}`);
    return null;
  };

  for (let pg = 1; pg < pages; pg++) {
    const base = pg * pageSize;
    const type = buf[base + 25];
    if (type !== P_HASH && type !== P_HASH_UNSORTED) continue;
    const entries = u16(base + 20);
    const indexEnd = HEADER + 2 * entries;
    if (entries % 2 !== 0 || indexEnd > pageSize) {
      problems.add(`Berkeley DB: hash page ${pg} has an invalid entry count ${entries}`);
      continue;
    }
    for (let i = 0; i < entries; i += 2) {
      const where = `page ${pg} item ${i / 2}`;
      const keyOff = u16(base + HEADER + 2 * i);
      const valOff = u16(base + HEADER + 2 * i + 2);
      // Items sit between the index and the page end, packed in index order.
      const keyEnd = i === 0 ? pageSize : u16(base + HEADER + 2 * i - 2);
      if (keyOff < indexEnd || valOff < indexEnd || keyOff >= keyEnd || valOff >= keyOff) {
        problems.add(`Berkeley DB: ${where}: item offsets out of place`);
        continue;
      }
      // rpm keeps its instance counter under key 0: not a package.
      if (buf[base + keyOff] === H_KEYDATA && keyEnd - keyOff === 5 && u32(base + keyOff + 1) === 0) continue;
      const valType = buf[base + valOff];
      if (valType === H_OFFPAGE) {
        if (valOff + 12 > keyOff) {
          problems.add(`Berkeley DB: ${where}: truncated off-page item`);
          continue;
        }
        const v = overflow(u32(base + valOff + 4), u32(base + valOff + 8), where);
        if (v) blobs.push(v);
      } else if (valType === H_KEYDATA) {
        blobs.push(buf.subarray(base + valOff + 1, base + keyOff));
      } else {
        problems.add(`Berkeley DB: ${where}: unsupported item type ${valType}`);
      }
    }
  }
  return blobs;
}
