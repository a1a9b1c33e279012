/**
 * Test support: writes minimal ELF files (header, one writable PT_LOAD covering the sections,
 * section headers with a name table) so tests can give binaries exactly the sections they need:
 * Go build info in either format, a cargo-auditable `.dep-v0`, or damaged headers.
 */

export type SectionData = Buffer | ((addressOf: (section: string) => number) => Buffer);

export interface TestSection {
  name: string;
  data: SectionData;
}

export interface TestElfOptions {
  is64?: boolean;
  bigEndian?: boolean;
  /** Leave out section headers (as `sstrip` does); the PT_LOAD segment stays. */
  noSectionHeaders?: boolean;
}

const BASE = 0x400000;

export function buildElf(sections: TestSection[], opts: TestElfOptions = {}): Buffer {
  const is64 = opts.is64 ?? true;
  const le = !opts.bigEndian;
  const ehsize = is64 ? 64 : 52;
  const phentsize = is64 ? 56 : 32;
  const shentsize = is64 ? 64 : 40;
  const align = (n: number) => (n + 15) & ~15;

  // Pass 1: sizes and offsets (data callbacks must return the same length every time).
  const sizes = sections.map((s) => (typeof s.data === "function" ? s.data(() => 0).length : s.data.length));
  const offsets: number[] = [];
  let off = align(ehsize + phentsize);
  for (const size of sizes) {
    offsets.push(off);
    off = align(off + size);
  }
  const addressOf = (name: string) => {
    const i = sections.findIndex((s) => s.name === name);
    if (i < 0) throw new Error(`no section ${name}`);
    return BASE + offsets[i]!;
  };
  const names = ["", ...sections.map((s) => s.name), ".shstrtab"];
  const strtab = Buffer.from(names.join("\0") + "\0", "latin1");
  const strOff = off;
  const shoff = align(strOff + strtab.length);
  const total = opts.noSectionHeaders ? strOff : shoff + shentsize * (sections.length + 2);
  const buf = Buffer.alloc(total);

  const u16 = (o: number, v: number) => (le ? buf.writeUInt16LE(v, o) : buf.writeUInt16BE(v, o));
  const u32 = (o: number, v: number) => (le ? buf.writeUInt32LE(v, o) : buf.writeUInt32BE(v, o));
  const word = (o: number, v: number) =>
    is64 ? (le ? buf.writeBigUInt64LE(BigInt(v), o) : buf.writeBigUInt64BE(BigInt(v), o)) : u32(o, v);

  buf.write("\x7fELF", 0, "latin1");
  buf[4] = is64 ? 2 : 1;
  buf[5] = le ? 1 : 2;
  buf[6] = 1;
  u16(16, 2); // ET_EXEC
  u16(18, is64 ? 62 : 3);
  u32(20, 1);
  word(is64 ? 32 : 28, ehsize); // phoff
  word(is64 ? 40 : 32, opts.noSectionHeaders ? 0 : shoff);
  u16(is64 ? 52 : 40, ehsize);
  u16(is64 ? 54 : 42, phentsize);
  u16(is64 ? 56 : 44, 1);
  u16(is64 ? 58 : 46, opts.noSectionHeaders ? 0 : shentsize);
  u16(is64 ? 60 : 48, opts.noSectionHeaders ? 0 : sections.length + 2);
  u16(is64 ? 62 : 50, opts.noSectionHeaders ? 0 : sections.length + 1);

  // One PT_LOAD, read-write, mapping file offset x at BASE + x.
  const ph = ehsize;
  u32(ph, 1);
  if (is64) {
    u32(ph + 4, 6);
    word(ph + 8, 0);
    word(ph + 16, BASE);
    word(ph + 24, BASE);
    word(ph + 32, strOff);
    word(ph + 40, strOff);
  } else {
    word(ph + 4, 0);
    word(ph + 8, BASE);
    word(ph + 12, BASE);
    word(ph + 16, strOff);
    word(ph + 20, strOff);
    u32(ph + 24, 6);
  }

  sections.forEach((s, i) => {
    const data = typeof s.data === "function" ? s.data(addressOf) : s.data;
    data.copy(buf, offsets[i]!);
  });
  if (opts.noSectionHeaders) return buf;
  strtab.copy(buf, strOff);

  let nameOff = 1;
  const header = (i: number, type: number, addr: number, offset: number, size: number) => {
    const o = shoff + i * shentsize;
    u32(o, nameOff);
    u32(o + 4, type);
    word(is64 ? o + 16 : o + 12, addr);
    word(is64 ? o + 24 : o + 16, offset);
    word(is64 ? o + 32 : o + 20, size);
  };
  sections.forEach((s, i) => {
    header(i + 1, 1, BASE + offsets[i]!, offsets[i]!, sizes[i]!);
    nameOff += Buffer.byteLength(s.name, "latin1") + 1;
  });
  header(sections.length + 1, 3, 0, strOff, strtab.length);
  return buf;
}

/** Go >= 1.18 build info: the 32-byte header and two varint-prefixed strings. */
export function inlineBuildInfo(goVersion: string, modinfo: string | Buffer): Buffer {
  const header = Buffer.alloc(32);
  header.write("\xff Go buildinf:", 0, "latin1");
  header[14] = 8;
  header[15] = 2;
  const str = (s: string | Buffer) => {
    const b = Buffer.from(s);
    const len: number[] = [];
    let n = b.length;
    while (n >= 0x80) {
      len.push((n & 0x7f) | 0x80);
      n = Math.floor(n / 128);
    }
    len.push(n);
    return Buffer.concat([Buffer.from(len), b]);
  };
  return Buffer.concat([header, str(goVersion), str(modinfo)]);
}

/** Module info framed by the linker's 16-byte (binary) sentinels. */
export function framedModinfo(text: string): Buffer {
  return Buffer.concat([
    Buffer.from("0w\xaf\x0c\x92t\x08\x02A\xe1\xc1\x07\xe6\xd6\x18\xe6", "latin1"),
    Buffer.from(text, "utf8"),
    Buffer.from("\xf92C1\x86\x18 r\x00\x82B\x10A\x16\xd8\xf2", "latin1"),
  ]);
}
