/**
 * Just enough ELF (System V gABI) to find named sections and map virtual addresses to file
 * offsets: the header, section headers with their names, and PT_LOAD program headers. Every
 * offset is bounds-checked; anything inconsistent is an ElfError (a recorded problem), never an
 * out-of-range read.
 *
 * Shared by the Go build-info and Rust cargo-auditable catalogers, which are offered every
 * executable of an image (hundreds of ELF files that are neither). So parsing is lazy: parseElf
 * reads the file header and checks that every section and program header, and the section name
 * table, lie inside the file (that is all that can make it fail); a section is looked up by
 * comparing its name's bytes in place, and program headers are read when first needed.
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
  /** Section headers, 0 without any (`sstrip`). */
  sectionCount: number;
  /** The first section of that name (non-empty, no NUL); headers are read on demand. */
  section(name: string): ElfSection | undefined;
  /** The program headers (read on first use). */
  readonly segments: readonly ElfSegment[];
}

const SHT_NOBITS = 8;
export const PT_LOAD = 1;
export const PF_W = 2;
const MAX_HEADERS = 65_536;
/** High 32 bits of Number.MAX_SAFE_INTEGER (2^53 - 1). */
const MAX_SAFE_HIGH = 0x1f_ffff;

/** The four magic bytes: the only test a non-ELF file has to pass through. */
export function isElf(buf: Buffer): boolean {
  return buf.length >= 4 && buf[0] === 0x7f && buf[1] === 0x45 && buf[2] === 0x4c && buf[3] === 0x46;
}

/**
 * An unsigned 64-bit field as a number, from its two 32-bit halves (no BigInt). Beyond 2^53 it
 * is not an offset or an address we can use (and would lose precision): Number.MAX_SAFE_INTEGER.
 */
export function readU64(buf: Buffer, o: number, littleEndian: boolean): number {
  const hi = littleEndian ? buf.readUInt32LE(o + 4) : buf.readUInt32BE(o);
  const lo = littleEndian ? buf.readUInt32LE(o) : buf.readUInt32BE(o + 4);
  return hi > MAX_SAFE_HIGH ? Number.MAX_SAFE_INTEGER : hi * 0x1_0000_0000 + lo;
}

/**
 * Both catalogers parse the same content Buffer (one object per file during analysis): the
 * result, or the error, is kept for it. Parsing only reads, so a Buffer whose bytes change
 * afterwards is the one case this cannot know about; nothing in the catalogers does that.
 */
const parsed = new WeakMap<Buffer, Elf | ElfError>();

/** The ELF structure of `buf`; ElfError when it is not an ELF file or its headers are damaged. */
export function parseElf(buf: Buffer): Elf {
  let r = parsed.get(buf);
  if (!r) {
    try {
      r = new LazyElf(buf);
    } catch (e) {
      if (!(e instanceof ElfError)) throw e;
      r = e;
    }
    parsed.set(buf, r);
  }
  if (r instanceof ElfError) throw r;
  return r;
}

class LazyElf implements Elf {
  readonly is64: boolean;
  readonly littleEndian: boolean;
  readonly sectionCount: number;
  private readonly buf: Buffer;
  private readonly shoff: number;
  private readonly shentsize: number;
  private readonly strOffset: number = 0;
  private readonly strSize: number = 0;
  private readonly phoff: number;
  private readonly phentsize: number;
  private readonly phnum: number;
  private segs: ElfSegment[] | undefined;

  constructor(buf: Buffer) {
    if (!isElf(buf) || buf.length < 52) throw new ElfError("truncated ELF header");
    const cls = buf[4];
    const data = buf[5];
    if (cls !== 1 && cls !== 2) throw new ElfError(`bad ELF class ${cls}`);
    if (data !== 1 && data !== 2) throw new ElfError(`bad ELF data encoding ${data}`);
    const is64 = cls === 2;
    if (is64 && buf.length < 64) throw new ElfError("truncated ELF header");
    this.buf = buf;
    this.is64 = is64;
    this.littleEndian = data === 1;

    const u16 = (o: number) => (this.littleEndian ? buf.readUInt16LE(o) : buf.readUInt16BE(o));
    const phoff = this.word(is64 ? 32 : 28);
    const shoff = this.word(is64 ? 40 : 32);
    const phentsize = u16(is64 ? 54 : 42);
    let phnum = u16(is64 ? 56 : 44);
    const shentsize = u16(is64 ? 58 : 46);
    let shnum = u16(is64 ? 60 : 48);
    let shstrndx = u16(is64 ? 62 : 50);
    this.shoff = shoff;
    this.shentsize = shentsize;

    if (shoff !== 0) {
      const shMin = is64 ? 64 : 40;
      // Extended numbering: counts that do not fit 16 bits live in section header 0.
      if (shnum === 0 || shstrndx === 0xffff || phnum === 0xffff) {
        headersInFile(buf.length, "section", shoff, shentsize, shMin, 1);
        if (shnum === 0) shnum = this.word(is64 ? shoff + 32 : shoff + 20);
        if (shstrndx === 0xffff) shstrndx = this.u32(is64 ? shoff + 40 : shoff + 24);
        if (phnum === 0xffff) phnum = this.u32(is64 ? shoff + 44 : shoff + 28);
      }
      if (shnum > MAX_HEADERS) throw new ElfError(`${shnum} section headers`);
      headersInFile(buf.length, "section", shoff, shentsize, shMin, shnum);
      if (shnum) {
        if (shstrndx >= shnum) throw new ElfError("section name table outside the file");
        const o = shoff + shstrndx * shentsize;
        this.strOffset = this.word(is64 ? o + 24 : o + 16);
        this.strSize = this.word(is64 ? o + 32 : o + 20);
        if (this.strOffset + this.strSize > buf.length)
          throw new ElfError("section name table outside the file");
      }
    } else {
      shnum = 0;
    }
    this.sectionCount = shnum;

    if (phoff !== 0) {
      if (phnum === 0xffff && shoff === 0)
        throw new ElfError("extended program header count without sections");
      if (phnum > MAX_HEADERS) throw new ElfError(`${phnum} program headers`);
      headersInFile(buf.length, "program", phoff, phentsize, is64 ? 56 : 32, phnum);
    } else {
      phnum = 0;
    }
    this.phoff = phoff;
    this.phentsize = phentsize;
    this.phnum = phnum;
  }

  private u32(o: number): number {
    return this.littleEndian ? this.buf.readUInt32LE(o) : this.buf.readUInt32BE(o);
  }

  /** An address, offset or size: 32 or 64 bits by class. */
  private word(o: number): number {
    return this.is64 ? readU64(this.buf, o, this.littleEndian) : this.u32(o);
  }

  section(name: string): ElfSection | undefined {
    const { buf, is64, strOffset, strSize } = this;
    const strEnd = strOffset + strSize;
    const len = name.length;
    for (let i = 0; i < this.sectionCount; i++) {
      const o = this.shoff + i * this.shentsize;
      const nameOff = this.u32(o);
      if (nameOff >= strSize) continue;
      // The name is the bytes up to the first NUL, which must lie inside the name table
      // (one past its end is tolerated); compared byte by byte (latin1), nothing decoded.
      const start = strOffset + nameOff;
      if (start + len > strEnd || buf[start + len] !== 0) continue;
      let k = 0;
      while (k < len && buf[start + k] === name.charCodeAt(k)) k++;
      if (k < len) continue;
      return {
        name,
        type: this.u32(o + 4),
        addr: this.word(is64 ? o + 16 : o + 12),
        offset: this.word(is64 ? o + 24 : o + 16),
        size: this.word(is64 ? o + 32 : o + 20),
      };
    }
    return undefined;
  }

  get segments(): readonly ElfSegment[] {
    if (this.segs) return this.segs;
    const { is64 } = this;
    const segs: ElfSegment[] = [];
    for (let i = 0; i < this.phnum; i++) {
      const o = this.phoff + i * this.phentsize;
      segs.push({
        type: this.u32(o),
        flags: this.u32(is64 ? o + 4 : o + 24),
        offset: this.word(is64 ? o + 8 : o + 4),
        vaddr: this.word(is64 ? o + 16 : o + 8),
        filesz: this.word(is64 ? o + 32 : o + 16),
      });
    }
    return (this.segs = segs);
  }
}

/**
 * Throws for the first of `count` headers of `entsize` bytes at `off` that is shorter than
 * `min` bytes or does not lie inside the file. Their offsets only grow, so when the last one
 * fits they all do.
 */
function headersInFile(
  fileLen: number,
  kind: string,
  off: number,
  entsize: number,
  min: number,
  count: number,
) {
  if (count === 0) return;
  const fits = (i: number) => entsize >= min && off + i * entsize + min <= fileLen;
  if (fits(count - 1)) return;
  let i = 0;
  while (fits(i)) i++;
  throw new ElfError(`${kind} header ${i} outside the file`);
}

/** The file bytes of a section (empty for SHT_NOBITS); ElfError when they lie outside the file. */
export function sectionData(buf: Buffer, s: ElfSection): Buffer {
  if (s.type === SHT_NOBITS) return buf.subarray(0, 0);
  if (s.offset + s.size > buf.length)
    throw new ElfError(`section ${s.name} extends past the end of the file`);
  return buf.subarray(s.offset, s.offset + s.size);
}

export function findSection(elf: Elf, name: string): ElfSection | undefined {
  return elf.section(name);
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
