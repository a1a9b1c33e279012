import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { readNumber, readTar, TarError, type TarHeader, type TarLimits } from "./tar.js";
import { header, tarball, tarEntry, type TarEntrySpec } from "./testdata/images.js";

const LIMITS: TarLimits = { maxEntries: 1000, maxBytes: 1 << 30, maxFileBytes: 1 << 20 };

/** Feeds `buf` in chunks of the given sizes (cycled), as a decompressor would. */
async function* chunks(buf: Buffer, sizes: number[] = [buf.length || 1]): AsyncGenerator<Buffer> {
  let off = 0;
  let i = 0;
  while (off < buf.length) {
    const n = sizes[i++ % sizes.length]!;
    yield buf.subarray(off, off + n);
    off += n;
  }
}

interface Seen {
  entries: TarHeader[];
  bodies: Record<string, string>;
  tooLarge: string[];
}

async function read(
  buf: Buffer,
  opts: { want?: (h: TarHeader) => boolean; limits?: Partial<TarLimits>; sizes?: number[] } = {},
): Promise<Seen> {
  const seen: Seen = { entries: [], bodies: {}, tooLarge: [] };
  await readTar(
    chunks(buf, opts.sizes),
    {
      onEntry: (h) => {
        seen.entries.push(h);
        return opts.want ? opts.want(h) : true;
      },
      onBody: (h, b) => {
        seen.bodies[h.name] = b.toString("utf8");
      },
      onTooLarge: (h) => seen.tooLarge.push(h.name),
    },
    { ...LIMITS, ...opts.limits },
  );
  return seen;
}

const simple: TarEntrySpec[] = [
  { name: "etc/", type: "5", mode: 0o755 },
  { name: "etc/os-release", body: "ID=debian\n" },
  { name: "bin/sh", type: "2", linkname: "dash", mode: 0o777 },
  { name: "bin/ash", type: "1", linkname: "bin/dash" },
  { name: "var/lib/dpkg/status", body: "x".repeat(1500) },
  { name: "dev/null", type: "3" },
];

describe("readTar: ustar", () => {
  it("reports every entry with its type, mode, size and link target, and hands wanted bodies over", async () => {
    const seen = await read(tarball(simple));
    expect(seen.entries.map((e) => [e.name, e.type, e.size, e.linkname])).toEqual([
      ["etc/", "directory", 0, ""],
      ["etc/os-release", "file", 10, ""],
      ["bin/sh", "symlink", 0, "dash"],
      ["bin/ash", "link", 0, "bin/dash"],
      ["var/lib/dpkg/status", "file", 1500, ""],
      ["dev/null", "other", 0, ""],
    ]);
    expect(seen.entries[0]!.mode).toBe(0o755);
    expect(seen.bodies).toEqual({ "etc/os-release": "ID=debian\n", "var/lib/dpkg/status": "x".repeat(1500) });
  });

  it("gives the same result whatever the chunking (1 byte, odd sizes, header split across chunks)", async () => {
    const buf = tarball(simple);
    const whole = await read(buf);
    for (const sizes of [[1], [7, 511, 513], [512], [100, 1000, 3], [buf.length]]) {
      expect(await read(buf, { sizes })).toEqual(whole);
    }
  });

  it("skips bodies that are not wanted without handing them over", async () => {
    const seen = await read(tarball(simple), { want: (h) => h.name === "etc/os-release" });
    expect(Object.keys(seen.bodies)).toEqual(["etc/os-release"]);
    expect(seen.entries).toHaveLength(6);
  });

  it("joins the ustar prefix field and the name", async () => {
    const body = Buffer.from("hello");
    const h = header({ name: "file.txt", type: "0", size: body.length, prefix: "a/very/long/prefix" });
    const seen = await read(Buffer.concat([h, body, Buffer.alloc(507), Buffer.alloc(1024)]));
    expect(seen.bodies).toEqual({ "a/very/long/prefix/file.txt": "hello" });
  });

  it("treats a regular-file entry whose name ends in / as a directory (pre-POSIX tars)", async () => {
    const seen = await read(tarball([{ name: "old/", type: "0" }]));
    expect(seen.entries[0]!.type).toBe("directory");
  });

  it("accepts an empty archive and one without end-of-archive blocks (as GNU tar does)", async () => {
    expect((await read(Buffer.alloc(0))).entries).toEqual([]);
    expect((await read(tarball([]))).entries).toEqual([]);
    const seen = await read(tarball(simple, { eoa: false }));
    expect(seen.entries).toHaveLength(6);
  });

  it("consumes and ignores whatever follows the end-of-archive blocks", async () => {
    let consumed = 0;
    const buf = Buffer.concat([tarball(simple), Buffer.alloc(10_000), Buffer.from("garbage")]);
    async function* counted() {
      for await (const c of chunks(buf, [333])) {
        consumed += c.length;
        yield c;
      }
    }
    await readTar(counted(), { onEntry: () => false, onBody: () => {} }, LIMITS);
    expect(consumed).toBe(buf.length);
  });

  it("awaits an asynchronous onBody before reading on", async () => {
    const order: string[] = [];
    await readTar(
      chunks(tarball(simple)),
      {
        onEntry: (h) => {
          order.push(`entry ${h.name}`);
          return h.type === "file";
        },
        onBody: async (h) => {
          await new Promise((r) => setTimeout(r, 5));
          order.push(`body ${h.name}`);
        },
      },
      LIMITS,
    );
    expect(order.indexOf("body etc/os-release")).toBeLessThan(order.indexOf("entry bin/sh"));
  });

  it("hands over a zero-length wanted file", async () => {
    const seen = await read(
      tarball([
        { name: "empty", body: "" },
        { name: "next", body: "n" },
      ]),
    );
    expect(seen.bodies).toEqual({ empty: "", next: "n" });
  });
});

describe("readTar: pax and GNU extensions", () => {
  it("takes path and linkpath from pax records", async () => {
    const long = "d/".repeat(80) + "package.json";
    const seen = await read(
      tarball([
        { name: "short", body: "{}", pax: { path: long } },
        { name: "lnk", type: "2", linkname: "x", pax: { linkpath: "/".repeat(2) + "t".repeat(150) } },
        { name: "after", body: "a" },
      ]),
    );
    expect(seen.entries.map((e) => e.name)).toEqual([long, "lnk", "after"]);
    expect(seen.entries[1]!.linkname).toBe("//" + "t".repeat(150));
    expect(seen.bodies[long]).toBe("{}");
  });

  it("takes the body size from a pax size record (files over 8 GiB have no octal size)", async () => {
    const body = "y".repeat(700);
    const seen = await read(
      tarball([
        { name: "big", body, headerSize: 0, pax: { size: "700" } },
        { name: "next", body: "n" },
      ]),
    );
    expect(seen.bodies).toEqual({ big: body, next: "n" });
  });

  it("applies pax global headers to every later entry, per-entry records to the next one only", async () => {
    const g = Buffer.from("17 path=globally\n");
    const global = Buffer.concat([
      header({ name: "g", type: "g", size: g.length }),
      g,
      Buffer.alloc(512 - g.length),
    ]);
    const seen = await read(
      tarball([
        { name: "a", body: "1", pax: { path: "local" } },
        global,
        { name: "b", body: "2" },
        { name: "c", body: "3" },
      ]),
    );
    expect(seen.entries.map((e) => e.name)).toEqual(["local", "globally", "globally"]);
  });

  it("takes long names and link targets from GNU L/K headers", async () => {
    const name = "n/".repeat(100) + "METADATA";
    const linkname = "l/".repeat(100) + "target";
    const seen = await read(
      tarball([
        { name, body: "m", gnuLongName: true },
        { name: name + ".lnk", type: "1", linkname, gnuLongName: true },
        { name: "short", body: "s" },
      ]),
    );
    expect(seen.entries.map((e) => e.name)).toEqual([name, name + ".lnk", "short"]);
    expect(seen.entries[1]!.linkname).toBe(linkname);
    expect(seen.bodies[name]).toBe("m");
  });

  it("reads GNU base-256 sizes", async () => {
    const body = "z".repeat(1234);
    const seen = await read(
      tarball([
        { name: "b256", body, base256Size: true },
        { name: "next", body: "n" },
      ]),
    );
    expect(seen.bodies).toEqual({ b256: body, next: "n" });
    const f = Buffer.alloc(12);
    f[0] = 0x80;
    f.writeUIntBE(2 ** 40 + 5, 6, 6);
    expect(readNumber(f, 0, 12, "size")).toBe(2 ** 40 + 5);
  });

  it("rejects negative base-256 numbers, bad octal digits and malformed pax records", async () => {
    const neg = Buffer.alloc(12, 0xff);
    expect(() => readNumber(neg, 0, 12, "size")).toThrow(TarError);
    expect(() => readNumber(Buffer.from("00000009999\0"), 0, 12, "size")).toThrow(/invalid size/);
    const bad = Buffer.from("99 path=x\n");
    const paxBad = Buffer.concat([
      header({ name: "p", type: "x", size: bad.length }),
      bad,
      Buffer.alloc(512 - bad.length),
    ]);
    await expect(read(tarball([paxBad, { name: "a", body: "1" }]))).rejects.toThrow(/malformed pax/);
  });

  it("refuses oversized extended headers instead of buffering them", async () => {
    const h = header({ name: "p", type: "x", size: 64 * 1024 * 1024 });
    await expect(read(Buffer.concat([h, Buffer.alloc(4096)]))).rejects.toThrow(
      /pax header of \d+ bytes is too large/,
    );
    const l = header({ name: "././@LongLink", type: "L", size: 10 * 1024 * 1024 });
    await expect(read(Buffer.concat([l, Buffer.alloc(4096)]))).rejects.toThrow(/GNU long name/);
  });
});

describe("readTar: corrupt and truncated archives", () => {
  it("rejects a header with a bad checksum, saying where", async () => {
    const buf = tarball([
      { name: "a", body: "1" },
      { name: "b", body: "2", badChecksum: true },
    ]);
    await expect(read(buf)).rejects.toThrow(/bad checksum\) at byte 1024/);
  });

  it("accepts a header checksum computed over signed bytes (historic tars with non-ASCII names)", async () => {
    const name = "caf\u00e9-\u00fc.txt";
    const h = header({ name, type: "0", size: 1 });
    let signed = 0;
    for (let i = 0; i < 512; i++) {
      const b = i >= 148 && i < 156 ? 32 : h[i]!;
      signed += b > 127 ? b - 256 : b;
    }
    h.write(signed.toString(8).padStart(6, "0") + "\0 ", 148, 8, "ascii");
    const seen = await read(Buffer.concat([h, Buffer.from("x"), Buffer.alloc(511), Buffer.alloc(1024)]));
    expect(seen.bodies).toEqual({ [name]: "x" });
  });

  it("rejects random bytes as a corrupt header", async () => {
    const junk = Buffer.alloc(2048);
    for (let i = 0; i < junk.length; i++) junk[i] = (i * 7919) % 251;
    await expect(read(junk)).rejects.toThrow(TarError);
  });

  it("rejects archives cut inside a body, a header or the padding", async () => {
    const buf = tarball([
      { name: "a", body: "x".repeat(1000) },
      { name: "b", body: "y" },
    ]);
    await expect(read(buf.subarray(0, 512 + 600))).rejects.toThrow(/truncated/); // in a body
    await expect(read(buf.subarray(0, 1536 + 100))).rejects.toThrow(/truncated/); // in a header
    await expect(read(buf.subarray(0, 512 + 1010))).rejects.toThrow(/truncated/); // in padding
  });

  it("rejects an extended header with no entry after it", async () => {
    const p = tarEntry({ name: "x", body: "1", pax: { path: "y" } }).subarray(0, 1024);
    await expect(read(p)).rejects.toThrow(/extended header without its entry/);
  });
});

describe("readTar: limits", () => {
  it("stops at maxEntries", async () => {
    const entries = Array.from({ length: 20 }, (_, i) => ({ name: `f${i}`, body: "" }));
    await expect(read(tarball(entries), { limits: { maxEntries: 10 } })).rejects.toThrow(
      /more than 10 entries/,
    );
    expect((await read(tarball(entries), { limits: { maxEntries: 20 } })).entries).toHaveLength(20);
  });

  it("stops at maxBytes of decompressed input (a bomb is cut, not read to its end)", async () => {
    let produced = 0;
    async function* endless() {
      yield tarEntry({ name: "big", body: "", headerSize: 1e12 }).subarray(0, 512);
      const zeros = Buffer.alloc(1 << 16);
      for (;;) {
        produced += zeros.length;
        yield zeros;
      }
    }
    await expect(
      readTar(endless(), { onEntry: () => false, onBody: () => {} }, { ...LIMITS, maxBytes: 1 << 20 }),
    ).rejects.toThrow(/more than 1048576 bytes/);
    expect(produced).toBeLessThanOrEqual((1 << 20) + (1 << 16));
  });

  it("does not buffer a body over maxFileBytes: reports it and reads on", async () => {
    const seen = await read(
      tarball([
        { name: "huge", body: "h".repeat(5000) },
        { name: "small", body: "s" },
      ]),
      { limits: { maxFileBytes: 4096 } },
    );
    expect(seen.tooLarge).toEqual(["huge"]);
    expect(seen.bodies).toEqual({ small: "s" });
  });
});

describe("readTar: transient bodies", () => {
  // Bodies of every size class: empty, inside one chunk, across chunks, larger than the
  // reused buffer's first size, and one that shrinks after a large one (stale bytes must not leak).
  const sizes = [0, 10, 700, 5000, 100_000, 3];
  const bodyOf = (n: number, seed: number) =>
    Buffer.from(Array.from({ length: n }, (_, i) => (i * 7 + seed) & 0xff));
  const entries: TarEntrySpec[] = sizes.map((n, i) => ({ name: `f${i}`, body: bodyOf(n, i) }));

  for (const chunking of [[1 << 20], [512], [333, 4096, 1024], [100_000]]) {
    it(`hands over exact bodies, copied or viewed in place (chunks ${chunking.join("/")})`, async () => {
      const got: Buffer[] = [];
      await readTar(
        chunks(tarball(entries), chunking),
        {
          transientBodies: true,
          onEntry: () => true,
          onBody: (_h, b) => {
            got.push(Buffer.from(b)); // valid during onBody only: copied here
          },
        },
        LIMITS,
      );
      expect(got.map((b) => b.length)).toEqual(sizes);
      got.forEach((b, i) => expect(b.equals(bodyOf(sizes[i]!, i))).toBe(true));
    });
  }

  it("reuses one buffer for bodies spread over chunks instead of allocating each", async () => {
    const buffers = new Set<ArrayBufferLike>();
    const many: TarEntrySpec[] = Array.from({ length: 20 }, (_, i) => ({
      name: `g${i}`,
      body: bodyOf(3000, i),
    }));
    await readTar(
      chunks(tarball(many), [1000]),
      { transientBodies: true, onEntry: () => true, onBody: (_h, b) => void buffers.add(b.buffer) },
      LIMITS,
    );
    expect(buffers.size).toBe(1);
  });
});

describe("readTar: properties", () => {
  const BLOCK = 512;
  const name = fc.oneof(
    fc.constantFrom("a", "dir/", "./etc/os-release", "usr/lib/x.so", "a".repeat(120)),
    fc.string({ maxLength: 120 }),
  );
  /** Undefined most of the time, else a value of `arb`. */
  const rarely = <T>(arb: fc.Arbitrary<T>) =>
    fc.oneof({ weight: 4, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: arb });
  const entry: fc.Arbitrary<TarEntrySpec> = fc
    .record(
      {
        name,
        type: fc.constantFrom("0", "0", "0", "1", "2", "5", "3", "7", "\0", "g", "x", "L", "K"),
        body: fc.uint8Array({ maxLength: 1500 }).map((b) => Buffer.from(b)),
        linkname: name,
        pax: fc.dictionary(
          fc.constantFrom("path", "linkpath", "size", "mtime"),
          fc.string({ maxLength: 12 }),
          {
            maxKeys: 3,
          },
        ),
        gnuLongName: fc.boolean(),
        base256Size: fc.boolean(),
      },
      { requiredKeys: ["name"] },
    )
    .chain((e) =>
      rarely(fc.nat({ max: 4000 })).map((headerSize) =>
        headerSize === undefined ? e : { ...e, headerSize },
      ),
    );

  /** Rewrites the checksum of a header block, so that a mutation reaches the fields behind it. */
  const rechecksum = (buf: Buffer, at: number) => {
    let sum = 8 * 32;
    for (let i = at; i < at + BLOCK; i++) if (i < at + 148 || i >= at + 156) sum += buf[i]!;
    buf.write(sum.toString(8).padStart(6, "0") + "\0 ", at + 148, 8, "ascii");
  };

  /** Real-shaped archives, then damaged: bytes changed (header checksums kept valid or not), cut, garbage after. */
  const archive = fc
    .record({
      entries: fc.array(entry, { maxLength: 5 }),
      eoa: fc.boolean(),
      edits: fc.array(fc.tuple(fc.nat(), fc.nat({ max: 255 })), { maxLength: 4 }),
      fixChecksums: fc.boolean(),
      cut: rarely(fc.nat()),
      trailer: fc.uint8Array({ maxLength: 600 }),
    })
    .map(({ entries, eoa, edits, fixChecksums, cut, trailer }) => {
      const buf = Buffer.concat([tarball(entries, { eoa }), Buffer.from(trailer)]);
      for (const [pos, byte] of edits) {
        if (!buf.length) break;
        const at = pos % buf.length;
        buf[at] = byte;
        const block = at - (at % BLOCK);
        if (fixChecksums && block + BLOCK <= buf.length) rechecksum(buf, block);
      }
      return cut === undefined ? buf : buf.subarray(0, cut % (buf.length + 1));
    });
  const input = fc.oneof(
    archive,
    fc.uint8Array({ maxLength: 3000 }).map((b) => Buffer.from(b)),
  );
  const chunking = fc.array(fc.integer({ min: 1, max: 1100 }), { minLength: 1, maxLength: 5 });

  const small: TarLimits = { maxEntries: 6, maxBytes: 16 * 1024, maxFileBytes: 700 };

  /** What one read makes of `buf`: the headers and bodies it saw, then how it ended. */
  async function outcome(buf: Buffer, sizes: number[], transientBodies: boolean, limits = small) {
    const seen: { entries: TarHeader[]; bodies: string[]; tooLarge: string[]; end: string } = {
      entries: [],
      bodies: [],
      tooLarge: [],
      end: "ok",
    };
    try {
      await readTar(
        chunks(buf, sizes),
        {
          transientBodies,
          onEntry: (h) => {
            seen.entries.push({ ...h });
            return true;
          },
          onBody: (h, b) => {
            expect(b.length).toBe(h.size);
            expect(b.length).toBeLessThanOrEqual(limits.maxFileBytes);
            seen.bodies.push(b.toString("hex"));
          },
          onTooLarge: (h) => seen.tooLarge.push(h.name),
        },
        limits,
      );
    } catch (e) {
      if (!(e instanceof TarError)) throw e;
      seen.end = `TarError: ${e.message}`;
    }
    return seen;
  }

  it("any bytes end in entries or a TarError, within the limits", async () => {
    await fc.assert(
      fc.asyncProperty(input, async (buf) => {
        const r = await outcome(buf, [buf.length || 1], false);
        expect(r.entries.length).toBeLessThanOrEqual(small.maxEntries);
        if (buf.length > small.maxBytes) expect(r.end).toMatch(/decompresses to more than/);
      }),
      { numRuns: 400 },
    );
  });

  it("the outcome does not depend on how the stream is chunked, nor on transient bodies", async () => {
    // (maxBytes is checked per chunk: past it, how far the walk got depends on the chunking.)
    const roomy = { ...small, maxBytes: 1 << 20 };
    await fc.assert(
      fc.asyncProperty(input, chunking, async (buf, sizes) => {
        expect(await outcome(buf, sizes, true, roomy)).toEqual(
          await outcome(buf, [buf.length || 1], false, roomy),
        );
      }),
      { numRuns: 300 },
    );
  });
});
