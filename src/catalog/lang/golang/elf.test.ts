import { deflateSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { catalogRustBinary } from "../rust/auditable.js";
import { catalogGoBinary } from "./binary.js";
import { ElfError, parseElf, readU64, sectionData } from "./elf.js";
import { buildElf, framedModinfo, inlineBuildInfo } from "./elf-testing.js";

const file = (content: Buffer) => ({ path: "/usr/bin/app", content });
/** Another Buffer object over the same bytes. */
const view = (b: Buffer) => Buffer.from(b.buffer, b.byteOffset, b.length);
/** Where buildElf put the section headers (64-bit little-endian files). */
const shoff = (b: Buffer) => readU64(b, 40, true);

describe("ELF parsing", () => {
  it("parses a Buffer once for both catalogers, errors included", () => {
    const elf = buildElf([
      {
        name: ".go.buildinfo",
        data: inlineBuildInfo("go1.22.1", framedModinfo("mod\texample.com/app\tv1.0.0\t\n")),
      },
      {
        name: ".dep-v0",
        data: deflateSync(
          JSON.stringify({ packages: [{ name: "serde", version: "1.0.0", source: "crates.io" }] }),
        ),
      },
    ]);
    const parsed = parseElf(elf);
    expect(parseElf(elf)).toBe(parsed);
    expect(parseElf(view(elf))).not.toBe(parsed);
    // Either cataloger may come first; each finds its own section in the shared parse.
    for (const order of [0, 1]) {
      const b = view(elf);
      const rust = order ? catalogRustBinary(file(b)) : null;
      expect(catalogGoBinary(file(b)).packages.map((p) => p.name)).toEqual(["stdlib", "example.com/app"]);
      expect((rust ?? catalogRustBinary(file(b))).packages.map((p) => p.name)).toEqual(["serde"]);
    }

    const damaged = elf.subarray(0, elf.length - 10);
    let first: unknown;
    try {
      parseElf(damaged);
    } catch (e) {
      first = e;
    }
    expect(first).toBeInstanceOf(ElfError);
    expect(() => parseElf(damaged)).toThrow(first as Error);
    expect(catalogGoBinary(file(damaged)).problems).toEqual([
      "unreadable executable: section header 3 outside the file",
    ]);
    expect(catalogRustBinary(file(damaged)).problems).toEqual([
      "unreadable cargo-auditable data: section header 3 outside the file",
    ]);
  });

  it("reads 64-bit fields as two halves, anything beyond 2^53 clamped", () => {
    const b = Buffer.alloc(8);
    const at = (v: bigint) => {
      b.writeBigUInt64LE(v);
      const le = readU64(b, 0, true);
      b.writeBigUInt64BE(v);
      expect(readU64(b, 0, false)).toBe(le);
      return le;
    };
    expect(at(0n)).toBe(0);
    expect(at(2n ** 32n + 5n)).toBe(2 ** 32 + 5);
    expect(at(2n ** 53n - 1n)).toBe(Number.MAX_SAFE_INTEGER);
    expect(at(2n ** 53n)).toBe(Number.MAX_SAFE_INTEGER);
    expect(at(2n ** 64n - 1n)).toBe(Number.MAX_SAFE_INTEGER);

    // Through a section header: section 1's address and offset above 2^53.
    const elf = buildElf([{ name: ".dep-v0", data: Buffer.alloc(16) }]);
    const h = shoff(elf) + 64;
    elf.writeBigUInt64LE(2n ** 60n, h + 16);
    elf.writeBigUInt64LE(2n ** 53n + 2n, h + 24);
    const sec = parseElf(elf).section(".dep-v0")!;
    expect(sec).toMatchObject({ addr: Number.MAX_SAFE_INTEGER, offset: Number.MAX_SAFE_INTEGER, size: 16 });
    expect(() => sectionData(elf, sec)).toThrow("section .dep-v0 extends past the end of the file");
    expect(catalogRustBinary(file(elf)).problems).toEqual([
      "unreadable cargo-auditable data: section .dep-v0 extends past the end of the file",
    ]);
  });

  it("finds a section by its exact name, the first of several", () => {
    const elf = buildElf([
      { name: ".dep-v", data: Buffer.alloc(1) },
      { name: ".dep-v0x", data: Buffer.alloc(2) },
      { name: ".dep-v0", data: Buffer.alloc(3) },
      { name: ".dep-v0", data: Buffer.alloc(4) },
    ]);
    const parsed = parseElf(elf);
    expect(parsed.sectionCount).toBe(6);
    expect(parsed.section(".dep-v0")).toMatchObject({ name: ".dep-v0", type: 1, size: 3 });
    expect(parsed.section(".dep-v0x")?.size).toBe(2);
    expect(parsed.section(".dep")).toBeUndefined();
    expect(parsed.segments).toEqual([
      { type: 1, flags: 6, offset: 0, vaddr: 0x400000, filesz: expect.any(Number) },
    ]);
    expect(parsed.segments).toBe(parsed.segments);
  });

  it("reads a name only up to the end of the name table", () => {
    // Names "", ".text", ".dep-v0", ".shstrtab": the NUL after ".dep-v0" is at 14.
    const elf = buildElf([
      { name: ".text", data: Buffer.alloc(1) },
      { name: ".dep-v0", data: Buffer.alloc(8) },
    ]);
    const strtabSize = shoff(elf) + 3 * 64 + 32;
    // A NUL just past the table still ends the name; one byte less and there is no name.
    elf.writeBigUInt64LE(14n, strtabSize);
    expect(parseElf(view(elf)).section(".dep-v0")?.size).toBe(8);
    elf.writeBigUInt64LE(13n, strtabSize);
    expect(parseElf(view(elf)).section(".dep-v0")).toBeUndefined();
    expect(parseElf(view(elf)).section(".text")?.size).toBe(1);
  });

  it("names the first header outside the file", () => {
    const elf = buildElf([{ name: ".text", data: Buffer.alloc(8) }]);
    const err = (b: Buffer) => {
      try {
        parseElf(b);
      } catch (e) {
        return (e as Error).message;
      }
      return "parsed";
    };
    expect(err(elf.subarray(0, elf.length - 1))).toBe("section header 2 outside the file");
    expect(err(elf.subarray(0, shoff(elf) + 63))).toBe("section header 0 outside the file");
    const short = Buffer.from(elf);
    short.writeUInt16LE(39, 58); // e_shentsize below a 64-bit header
    expect(err(short)).toBe("section header 0 outside the file");

    const ph = Buffer.from(elf);
    ph.writeBigUInt64LE(BigInt(ph.length - 2 * 56 + 1), 32); // e_phoff: header 1 ends one byte late
    ph.writeUInt16LE(3, 56);
    expect(err(ph)).toBe("program header 1 outside the file");
    ph.writeUInt16LE(1, 56);
    // Parses are kept per Buffer object: bytes changed in place need another view to be re-read.
    expect(err(ph)).toBe("program header 1 outside the file");
    expect(err(view(ph))).toBe("parsed");
  });
});
