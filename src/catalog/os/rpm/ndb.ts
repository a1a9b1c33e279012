import type { Problems } from "../problems.js";

/**
 * rpm's NDB backend, `Packages.db` (SUSE since rpm 4.16; rpm lib/backend/ndb/rpmpkg.c).
 * Little-endian throughout:
 *
 *   header (32 bytes):  "RpmP", version 0 @4, generation @8, slot page count @12
 *   slot pages:         4096 bytes each, starting at offset 0 (the header takes the first two
 *                       16-byte slots); a slot is "Slot", package index, block offset, block
 *                       count; package index 0 = free slot
 *   blobs:              at block offset × 16: "BlbS", package index, checksum, length, then
 *                       `length` bytes of rpm header blob
 *
 * One pass over the slots, each blob bounds-checked against the file: linear, and a bad slot
 * or blob is a problem for that package only.
 */

const SLOT_PAGE = 4096;
const SLOT = 16;
const BLOCK = 16;
const MAGIC_DB = "RpmP";
const MAGIC_SLOT = 0x746f6c53; // "Slot" read little-endian
const MAGIC_BLOB = 0x53626c42; // "BlbS" read little-endian

export function isNdb(buf: Buffer): boolean {
  return buf.length >= 4 && buf.toString("latin1", 0, 4) === MAGIC_DB;
}

export function readNdb(buf: Buffer, problems: Problems): Buffer[] {
  if (buf.length < 32 || !isNdb(buf)) {
    problems.add("NDB: not an rpm NDB database (bad header)");
    return [];
  }
  const version = buf.readUInt32LE(4);
  if (version !== 0) {
    problems.add(`NDB: unsupported version ${version}`);
    return [];
  }
  const slotPages = buf.readUInt32LE(12);
  let slotsEnd = slotPages * SLOT_PAGE;
  if (slotPages === 0 || slotsEnd > buf.length) {
    problems.add(`NDB: ${slotPages} slot pages do not fit in ${buf.length} bytes; read what is there`);
    slotsEnd = Math.min(Math.max(slotsEnd, SLOT_PAGE), buf.length - (buf.length % SLOT));
  }
  const blobs: Buffer[] = [];
  for (let s = 32; s + SLOT <= slotsEnd; s += SLOT) {
    if (buf.readUInt32LE(s) !== MAGIC_SLOT) {
      problems.add(`NDB: bad slot magic at offset ${s}`);
      continue;
    }
    const pkgIndex = buf.readUInt32LE(s + 4);
    if (pkgIndex === 0) continue; // free slot
    const off = buf.readUInt32LE(s + 8) * BLOCK;
    if (off < slotsEnd || off + 16 > buf.length) {
      problems.add(`NDB: package ${pkgIndex}: blob offset ${off} outside the blob area`);
      continue;
    }
    if (buf.readUInt32LE(off) !== MAGIC_BLOB || buf.readUInt32LE(off + 4) !== pkgIndex) {
      problems.add(`NDB: package ${pkgIndex}: no blob header at offset ${off}`);
      continue;
    }
    const len = buf.readUInt32LE(off + 12);
    if (off + 16 + len > buf.length) {
      problems.add(`NDB: package ${pkgIndex}: blob of ${len} bytes runs past the end of the file`);
      continue;
    }
    blobs.push(buf.subarray(off + 16, off + 16 + len));
  }
  return blobs;
}
