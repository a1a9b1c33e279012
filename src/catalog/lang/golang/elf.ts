/**
 * Just enough ELF (System V gABI) to find named sections and map virtual addresses to file
 * offsets: the header, section headers with their names, and PT_LOAD program headers. Every
 * offset is bounds-checked; anything inconsistent is an ElfError (a recorded problem), never an
 * out-of-range read.
 *
 * Shared by the Go build-info and Rust cargo-auditable catalogers.
 */

export class ElfError extends Error {
  override readonly name = "ElfError";
}

export interface ElfSection {
  name: string;
  type: number;
  addr: number;
  offset: number;
  size: number;
}

export interface ElfSegment {
  type: number;
  flags: number;
  vaddr: number;
  offset: number;
  filesz: number;
}

export interface Elf {
  is64: boolean;
  littleEndian: boolean;
  sections: ElfSection[];
  segments: ElfSegment[];
}

const SHT_NOBITS = 8;
export const PT_LOAD = 1;
export const PF_W = 2;
const MAX_HEADERS = 65_536;

/** The four magic bytes: the only test a non-ELF file has to pass through. */
export function isElf(buf: Buffer): boolean {
  return buf.length >= 4 && buf[0] === 0x7f && buf[1] === 0x45 && buf[2] === 0x4c && buf[3] === 0x46;
}

export function parseElf(buf: Buffer): Elf {
  if (!isElf(buf) || buf.length < 52) throw new ElfError("truncated ELF header");
  const cls = buf[4];
  const data = buf[5];
  if (cls !== 1 && cls !== 2) throw new ElfError(`bad ELF class ${cls}`);
  if (data !== 1 && data !== 2) throw new ElfError(`bad ELF data encoding ${data}`);
  const is64 = cls === 2;
  const le = data === 1;
  if (is64 && buf.length < 64) throw new ElfError("truncated ELF header");

  const u16 = (o: number) => (le ? buf.readUInt16LE(o) : buf.readUInt16BE(o));
  const u32 = (o: number) => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const word = (o: number): number => {
    if (!is64) return u32(o);
    const v = le ? buf.readBigUInt64LE(o) : buf.readBigUInt64BE(o);
    // Beyond 2^53 it is not an offset or an address we can use (and would lose precision).
    return v > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(v);
  };
  const inFile = (off: number, len: number) => off >= 0 && len >= 0 && off + len <= buf.length;

  const phoff = word(is64 ? 32 : 28);
  const shoff = word(is64 ? 40 : 32);
  const phentsize = u16(is64 ? 54 : 42);
  let phnum = u16(is64 ? 56 : 44);
  const shentsize = u16(is64 ? 58 : 46);
  let shnum = u16(is64 ? 60 : 48);
  let shstrndx = u16(is64 ? 62 : 50);
  const shMin = is64 ? 64 : 40;
  const phMin = is64 ? 56 : 32;

  const sectionHeader = (i: number) => {
    const o = shoff + i * shentsize;
    if (shentsize < shMin || !inFile(o, shMin)) throw new ElfError(`section header ${i} outside the file`);
    return {
      nameOff: u32(o),
      type: u32(o + 4),
      addr: word(is64 ? o + 16 : o + 12),
      offset: word(is64 ? o + 24 : o + 16),
      size: word(is64 ? o + 32 : o + 20),
      link: u32(is64 ? o + 40 : o + 24),
      info: u32(is64 ? o + 44 : o + 28),
    };
  };

  const sections: ElfSection[] = [];
  if (shoff !== 0) {
    // Extended numbering: counts that do not fit 16 bits live in section header 0.
    if (shnum === 0 || shstrndx === 0xffff || phnum === 0xffff) {
      const h0 = sectionHeader(0);
      if (shnum === 0) shnum = h0.size;
      if (shstrndx === 0xffff) shstrndx = h0.link;
      if (phnum === 0xffff) phnum = h0.info;
    }
    if (shnum > MAX_HEADERS) throw new ElfError(`${shnum} section headers`);
    const raw = Array.from({ length: shnum }, (_, i) => sectionHeader(i));
    const strtab = raw[shstrndx];
    if (shnum && (!strtab || !inFile(strtab.offset, strtab.size)))
      throw new ElfError("section name table outside the file");
    for (const h of raw) {
      let name = "";
      if (strtab && h.nameOff < strtab.size) {
        const start = strtab.offset + h.nameOff;
        const end = buf.indexOf(0, start);
        name = buf.toString("latin1", start, end < 0 || end > strtab.offset + strtab.size ? start : end);
      }
      sections.push({ name, type: h.type, addr: h.addr, offset: h.offset, size: h.size });
    }
  }

  const segments: ElfSegment[] = [];
  if (phoff !== 0) {
    if (phnum === 0xffff && shoff === 0) throw new ElfError("extended program header count without sections");
    if (phnum > MAX_HEADERS) throw new ElfError(`${phnum} program headers`);
    for (let i = 0; i < phnum; i++) {
      const o = phoff + i * phentsize;
      if (phentsize < phMin || !inFile(o, phMin)) throw new ElfError(`program header ${i} outside the file`);
      segments.push({
        type: u32(o),
        flags: u32(is64 ? o + 4 : o + 24),
        offset: word(is64 ? o + 8 : o + 4),
        vaddr: word(is64 ? o + 16 : o + 8),
        filesz: word(is64 ? o + 32 : o + 16),
      });
    }
  }
  return { is64, littleEndian: le, sections, segments };
}

/** The file bytes of a section (empty for SHT_NOBITS); ElfError when they lie outside the file. */
export function sectionData(buf: Buffer, s: ElfSection): Buffer {
  if (s.type === SHT_NOBITS) return buf.subarray(0, 0);
  if (s.offset + s.size > buf.length)
    throw new ElfError(`section ${s.name} extends past the end of the file`);
  return buf.subarray(s.offset, s.offset + s.size);
}

export function findSection(elf: Elf, name: string): ElfSection | undefined {
  return elf.sections.find((s) => s.name === name);
}

/** `len` bytes at virtual address `addr`, through the PT_LOAD segments; null when unmapped. */
export function readVirtual(buf: Buffer, elf: Elf, addr: number, len: number): Buffer | null {
  for (const seg of elf.segments) {
    if (seg.type !== PT_LOAD || addr < seg.vaddr || addr + len > seg.vaddr + seg.filesz) continue;
    const off = seg.offset + (addr - seg.vaddr);
    if (off + len > buf.length) return null;
    return buf.subarray(off, off + len);
  }
  return null;
}
