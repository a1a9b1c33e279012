import { findSection, isElf, parseElf, PF_W, PT_LOAD, readVirtual, sectionData, type Elf } from "./elf.js";

/**
 * The build information the Go linker embeds in every binary since Go 1.13 (what
 * `go version -m` prints), located the way Go's debug/buildinfo does it:
 *
 * - ELF: the `.go.buildinfo` section; without section headers, the first writable PT_LOAD
 *   segment. An ELF that has section headers but no `.go.buildinfo` is not a Go binary.
 * - PE and Mach-O: the header is searched for at 16-byte aligned file offsets (Go aligns it so).
 *
 * The 32-byte header is `\xff Go buildinf:`, pointer size, flags. Go >= 1.18 (flag 2) follows it
 * with two varint-length-prefixed strings (Go version, module info); older linkers store two
 * pointers to Go string headers, which need the ELF's address mapping to resolve.
 */

export class BuildInfoError extends Error {
  override readonly name = "BuildInfoError";
}

export interface RawBuildInfo {
  /** `go1.22.1`, possibly with suffixes such as ` X:boringcrypto`. */
  goVersion: string;
  /** The module info text: `path`, `mod`, `dep`, `=>`, `build` lines. */
  modinfo: string;
}

const MAGIC = Buffer.from("\xff Go buildinf:", "latin1");
const HEADER_LEN = 32;
/** Go looks for the header within the first 64 KiB of the data it starts from. */
const SEARCH_LIMIT = 64 * 1024;
/** Longer version or module-info strings are not build info. */
const MAX_STRING = 16 << 20;

function isPeOrMachO(buf: Buffer): boolean {
  if (buf.length < 4) return false;
  if (buf[0] === 0x4d && buf[1] === 0x5a) return true; // MZ
  const m = buf.readUInt32BE(0);
  return m === 0xfeedface || m === 0xfeedfacf || m === 0xcefaedfe || m === 0xcffaedfe;
}

/** Offset of the first 16-byte aligned header in `region[0, limit)`, or -1. */
function findMagic(region: Buffer, limit: number): number {
  const area = region.subarray(0, Math.min(region.length, limit));
  for (let i = area.indexOf(MAGIC); i >= 0 && i + HEADER_LEN <= area.length; i = area.indexOf(MAGIC, i + 1))
    if (i % 16 === 0) return i;
  return -1;
}

function readUvarint(b: Buffer, p: number): [value: number, next: number] {
  let v = 0;
  let mul = 1;
  for (let i = 0; i < 9; i++, p++) {
    if (p >= b.length) throw new BuildInfoError("build info truncated");
    const byte = b[p]!;
    v += (byte & 0x7f) * mul;
    if (byte < 0x80) return [v, p + 1];
    mul *= 128;
  }
  throw new BuildInfoError("bad varint in build info");
}

function inlineBytes(b: Buffer, p: number): [Buffer, number] {
  const [len, start] = readUvarint(b, p);
  if (len > MAX_STRING || start + len > b.length)
    throw new BuildInfoError("build info string runs past its data");
  return [b.subarray(start, start + len), start + len];
}

function pointerBytes(buf: Buffer, elf: Elf, addr: number, ptrSize: number, bigEndian: boolean): Buffer {
  const readPtr = (b: Buffer, o: number): number => {
    if (ptrSize === 4) return bigEndian ? b.readUInt32BE(o) : b.readUInt32LE(o);
    const v = bigEndian ? b.readBigUInt64BE(o) : b.readBigUInt64LE(o);
    return v > BigInt(Number.MAX_SAFE_INTEGER) ? -1 : Number(v);
  };
  const header = addr < 0 ? null : readVirtual(buf, elf, addr, 2 * ptrSize);
  if (!header) throw new BuildInfoError(`build info string header at 0x${addr.toString(16)} is not mapped`);
  const data = readPtr(header, 0);
  const len = readPtr(header, ptrSize);
  if (len < 0 || len > MAX_STRING) throw new BuildInfoError("build info string too long");
  if (len === 0) return Buffer.alloc(0);
  const bytes = data < 0 ? null : readVirtual(buf, elf, data, len);
  if (!bytes) throw new BuildInfoError(`build info string at 0x${data.toString(16)} is not mapped`);
  return bytes;
}

/** Module info is framed by two 16-byte (binary) sentinels so the linker can find it; drop them. */
function stripSentinels(mod: Buffer): Buffer {
  if (mod.length >= 33 && mod[mod.length - 17] === 0x0a) return mod.subarray(16, mod.length - 16);
  return mod;
}

function decode(buf: Buffer, region: Buffer, off: number, elf: Elf | null): RawBuildInfo {
  const ptrSize = region[off + 14]!;
  const flags = region[off + 15]!;
  let goVersion: Buffer;
  let modinfo: Buffer;
  if (flags & 2) {
    let p = off + HEADER_LEN;
    [goVersion, p] = inlineBytes(region, p);
    [modinfo] = inlineBytes(region, p);
  } else {
    if (!elf) throw new BuildInfoError("pre-Go 1.18 build info is only read from ELF binaries");
    if (ptrSize !== 4 && ptrSize !== 8) throw new BuildInfoError(`bad pointer size ${ptrSize} in build info`);
    const big = (flags & 1) !== 0;
    const ptrAt = (o: number): number => {
      if (ptrSize === 4) return big ? region.readUInt32BE(o) : region.readUInt32LE(o);
      const v = big ? region.readBigUInt64BE(o) : region.readBigUInt64LE(o);
      return v > BigInt(Number.MAX_SAFE_INTEGER) ? -1 : Number(v);
    };
    goVersion = pointerBytes(buf, elf, ptrAt(off + 16), ptrSize, big);
    modinfo = pointerBytes(buf, elf, ptrAt(off + 16 + ptrSize), ptrSize, big);
  }
  if (!goVersion.length) throw new BuildInfoError("build info without a Go version");
  return { goVersion: goVersion.toString("utf8"), modinfo: stripSentinels(modinfo).toString("utf8") };
}

/**
 * The build info of a Go binary; null for anything else (not an executable format, or not built
 * by Go). Throws ElfError / BuildInfoError when the file claims to be one but is damaged.
 */
export function readGoBuildInfo(buf: Buffer): RawBuildInfo | null {
  if (isElf(buf)) {
    const elf = parseElf(buf);
    let region: Buffer | undefined;
    const sec = findSection(elf, ".go.buildinfo");
    if (sec) region = sectionData(buf, sec);
    else if (elf.sectionCount === 0) {
      const seg = elf.segments.find((s) => s.type === PT_LOAD && (s.flags & PF_W) !== 0);
      if (seg && seg.offset < buf.length)
        region = buf.subarray(seg.offset, Math.min(buf.length, seg.offset + seg.filesz));
    }
    if (!region) return null;
    const off = findMagic(region, SEARCH_LIMIT);
    if (off < 0) {
      if (sec) throw new BuildInfoError(".go.buildinfo section without a build info header");
      return null;
    }
    return decode(buf, region, off, elf);
  }
  if (isPeOrMachO(buf)) {
    const off = findMagic(buf, buf.length);
    return off < 0 ? null : decode(buf, buf, off, null);
  }
  return null;
}
