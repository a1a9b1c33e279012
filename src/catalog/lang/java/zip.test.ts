import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { deflateRawSync } from "node:zlib";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { buildZip, type TestZipEntry } from "./zip-testing.js";
import {
  readZipDirectory,
  readZipEntry,
  scanLocalHeaders,
  ZipError,
  ZipFile,
  type ZipEntry,
  type ZipSource,
} from "./zip.js";

const opts = { maxEntries: 1000 };

describe("zip reader", () => {
  it("reads stored and deflated entries", () => {
    const zip = buildZip([
      { name: "a.txt", data: "hello" },
      { name: "dir/", data: "" },
      { name: "b.bin", data: Buffer.alloc(1000, 7), method: 0 },
    ]);
    const entries = readZipDirectory(zip, opts);
    expect(entries.map((e) => [e.name, e.method, e.size])).toEqual([
      ["a.txt", 8, 5],
      ["dir/", 8, 0],
      ["b.bin", 0, 1000],
    ]);
    expect(readZipEntry(zip, entries[0]!, 100).toString()).toBe("hello");
    expect(readZipEntry(zip, entries[2]!, 1000)).toEqual(Buffer.alloc(1000, 7));
  });

  it("keeps only the entries asked for", () => {
    const zip = buildZip([{ name: "x.class" }, { name: "META-INF/MANIFEST.MF", data: "M" }]);
    expect(
      readZipDirectory(zip, { ...opts, keep: (n) => n.startsWith("META-INF/") }).map((e) => e.name),
    ).toEqual(["META-INF/MANIFEST.MF"]);
  });

  it("reads zip64 records", () => {
    const zip = buildZip(
      [
        { name: "a.txt", data: "hello" },
        { name: "b.txt", data: "world", method: 0 },
      ],
      { zip64: true },
    );
    const entries = readZipDirectory(zip, opts);
    expect(entries.map((e) => e.name)).toEqual(["a.txt", "b.txt"]);
    expect(entries.map((e) => readZipEntry(zip, e, 10).toString())).toEqual(["hello", "world"]);
  });

  it("finds the archive behind a launch script and before a comment", () => {
    for (const zip of [
      buildZip([{ name: "a.txt", data: "hi" }], { prefix: "#!/bin/sh\nexec java -jar $0\n" }),
      buildZip([{ name: "a.txt", data: "hi" }], { comment: "PK\x05\x06 not an end record" }),
      buildZip([{ name: "a.txt", data: "hi" }], { zip64: true, prefix: "#!/bin/sh\n" }),
    ]) {
      const [e] = readZipDirectory(zip, opts);
      expect(readZipEntry(zip, e!, 10).toString()).toBe("hi");
    }
  });

  it("rejects what is not a zip or is truncated, with a ZipError", () => {
    const zip = buildZip([
      { name: "a.txt", data: "x".repeat(5000) },
      { name: "b.txt", data: "y" },
    ]);
    const bad = [
      Buffer.alloc(0),
      Buffer.from("not a zip at all"),
      zip.subarray(0, zip.length - 30),
      zip.subarray(0, 40),
      zip.subarray(100),
    ];
    for (const b of bad) expect(() => readZipDirectory(b, opts)).toThrow(ZipError);
    // Central directory intact, data cut: the entry read fails, not the listing.
    const cut = Buffer.concat([Buffer.alloc(10), zip.subarray(10)]);
    const [e] = readZipDirectory(cut, opts);
    expect(() => readZipEntry(cut, e!, 1e6)).toThrow(ZipError);
  });

  it("bounds inflation whatever size the directory declares", () => {
    const zip = buildZip([{ name: "bomb", data: Buffer.alloc(4 << 20), declaredSize: 10 }]);
    const [e] = readZipDirectory(zip, opts);
    expect(zip.length).toBeLessThan(10_000);
    expect(() => readZipEntry(zip, e!, 1 << 20)).toThrow(/inflates beyond 1048576 bytes/);
    const honest = buildZip([{ name: "big", data: Buffer.alloc(4 << 20) }]);
    expect(() => readZipEntry(honest, readZipDirectory(honest, opts)[0]!, 1 << 20)).toThrow(
      /declares 4194304 bytes/,
    );
  });

  it("refuses archives with too many entries, encrypted and unknown methods", () => {
    const many = buildZip(Array.from({ length: 20 }, (_, i) => ({ name: `f${i}` })));
    expect(() => readZipDirectory(many, { maxEntries: 10 })).toThrow(/20 entries \(limit 10\)/);
    const zip = buildZip([{ name: "a", data: "x" }]);
    const [e] = readZipDirectory(zip, opts);
    expect(() => readZipEntry(zip, { ...e!, flags: 1 }, 10)).toThrow(/encrypted/);
    expect(() => readZipEntry(zip, { ...e!, method: 12 }, 10)).toThrow(/compression method 12/);
    const garbage = Buffer.from(zip);
    const body = deflateRawSync(Buffer.from("x"));
    garbage.fill(0xff, 30 + 1, 30 + 1 + body.length);
    expect(() => readZipEntry(garbage, e!, 10)).toThrow(ZipError);
  });

  it("never throws anything but ZipError on mutated archives", () => {
    const zip = buildZip([
      { name: "META-INF/MANIFEST.MF", data: "Manifest-Version: 1.0\n" },
      { name: "lib/inner.jar", data: Buffer.alloc(3000, 1), method: 0 },
      { name: "x.class", data: Buffer.alloc(500, 2) },
    ]);
    let seed = 42;
    const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff) as number;
    for (let n = 0; n < 2000; n++) {
      const m = Buffer.from(zip);
      for (let k = 0; k < 4; k++) m[Math.floor(rand() * m.length)] = Math.floor(rand() * 256);
      try {
        for (const e of readZipDirectory(m, opts)) {
          try {
            readZipEntry(m, e, 1 << 16);
          } catch (err) {
            expect(err).toBeInstanceOf(ZipError);
          }
        }
      } catch (err) {
        expect(err).toBeInstanceOf(ZipError);
      }
    }
  });
});

describe("zip reader: properties", () => {
  const entry: fc.Arbitrary<TestZipEntry> = fc.record(
    {
      name: fc.oneof(
        fc.constantFrom("META-INF/MANIFEST.MF", "lib/a.jar", "dir/", "GO-1.json"),
        fc.string({ maxLength: 40 }),
      ),
      data: fc.oneof(
        fc.uint8Array({ maxLength: 2000 }).map((b) => Buffer.from(b)),
        fc.nat({ max: 20_000 }).map((n) => Buffer.alloc(n, 0x61)), // compresses well: a small bomb
      ),
      method: fc.constantFrom(0 as const, 8 as const),
      declaredSize: fc.nat({ max: 30_000 }),
    },
    { requiredKeys: ["name"] },
  );
  /** Real-shaped archives (zip64, a launch script in front, a comment), then damaged. */
  const archive = fc
    .record({
      entries: fc.array(entry, { maxLength: 5 }),
      zip64: fc.boolean(),
      prefix: fc.constantFrom("", "#!/bin/sh\nexec java -jar $0\n"),
      comment: fc.constantFrom("", "PK\x05\x06 not an end record"),
      edits: fc.array(fc.tuple(fc.nat(), fc.nat({ max: 255 })), { maxLength: 4 }),
      cut: fc.oneof({ weight: 3, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.nat() }),
    })
    .map(({ entries, edits, cut, ...opts }) => {
      const buf = buildZip(entries, opts);
      for (const [pos, byte] of edits) buf[pos % buf.length] = byte;
      return cut === undefined ? buf : buf.subarray(0, cut % (buf.length + 1));
    });
  const input = fc.oneof(
    archive,
    fc.uint8Array({ maxLength: 2000 }).map((b) => Buffer.from(b)),
  );
  const MAX = 4096;

  /** Everything the reader makes of `src`: each entry's bytes or error, or the directory's error. */
  function outcome(src: Buffer | ZipSource, verify: boolean): unknown {
    const of = (entries: Iterable<ZipEntry>) => {
      const out: unknown[] = [];
      for (const e of entries) {
        try {
          const b = readZipEntry(src, e, MAX, { verify });
          expect(b.length).toBeLessThanOrEqual(MAX);
          out.push([e.name, b.toString("hex")]);
        } catch (err) {
          expect(err).toBeInstanceOf(ZipError);
          out.push([e.name, (err as Error).message]);
        }
      }
      return out;
    };
    const result: unknown[] = [];
    for (const read of [
      () => readZipDirectory(src, { maxEntries: 10 }),
      () => scanLocalHeaders(src, { maxEntries: 10 }),
    ])
      try {
        result.push(of(read()));
      } catch (err) {
        expect(err).toBeInstanceOf(ZipError);
        result.push((err as Error).message);
      }
    return result;
  }

  it("any bytes end in entries or a ZipError, and never inflate past the limit", () => {
    fc.assert(
      fc.property(input, fc.boolean(), (buf, verify) => {
        outcome(buf, verify);
      }),
      { numRuns: 400 },
    );
  });

  it("a file read by position gives what the same bytes in memory give", () => {
    const dir = mkdtempSync(join(tmpdir(), "drydock-zip-"));
    try {
      const path = join(dir, "a.zip");
      fc.assert(
        fc.property(input, fc.boolean(), (buf, verify) => {
          writeFileSync(path, buf);
          const file = ZipFile.open(path);
          try {
            expect(outcome(file, verify)).toEqual(outcome(buf, verify));
          } finally {
            file.close();
          }
        }),
        { numRuns: 150 },
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
