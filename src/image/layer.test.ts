import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { gzipSync } from "node:zlib";
import { describe, expect, it, vi } from "vitest";
import { CompressStream, compress as zstdCompress } from "zstd-napi";
import { detectCompression } from "./layer.js";
import { hashedLayer } from "./layer-worker.js";

// Counts sha256 contexts created on this (the main) thread, to tell where a layer was hashed.
const mainThreadHashes = vi.hoisted(() => ({ n: 0 }));
vi.mock("node:crypto", async (original) => {
  const m = await original<typeof import("node:crypto")>();
  return {
    ...m,
    createHash: (...a: Parameters<typeof m.createHash>) => {
      mainThreadHashes.n++;
      return m.createHash(...a);
    },
  };
});

const sha = (b: Buffer) => `sha256:${createHash("sha256").update(b).digest("hex")}`;

function payload(n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + (i >> 10)) & 0xff;
  return b;
}

/** A blob stream in chunks of `size` bytes. */
function blob(bytes: Buffer, size = 64 * 1024): Readable {
  const parts: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) parts.push(bytes.subarray(i, i + size));
  return Readable.from(parts, { objectMode: false });
}

async function drain(it: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of it) parts.push(Buffer.from(c)); // a chunk's memory is reused after the next
  return Buffer.concat(parts);
}

const data = payload(3 * 1024 * 1024 + 123);
const variants = {
  gzip: gzipSync(data),
  zstd: zstdCompress(data),
  none: data,
};

describe("detectCompression", () => {
  it("sniffs gzip and zstd magic, anything else is a plain tar", () => {
    expect(detectCompression(variants.gzip)).toBe("gzip");
    expect(detectCompression(variants.zstd)).toBe("zstd");
    expect(detectCompression(Buffer.from("ustar"))).toBe("none");
    expect(detectCompression(Buffer.alloc(0))).toBe("none");
  });
});

describe("hashedLayer: decompressed in a worker thread and hashed (main thread or hasher thread)", () => {
  for (const [kind, bytes] of Object.entries(variants)) {
    it(`${kind}: the original bytes, and their sha256 as the digest`, async () => {
      const h = hashedLayer(blob(bytes, 1000 + 7));
      expect(h.digest()).toBeUndefined();
      expect((await drain(h)).equals(data)).toBe(true);
      expect(h.digest()).toBe(sha(data));
    });
  }

  it("hashes a compressed layer on the main thread, a plain one on the hasher thread", async () => {
    for (const [kind, bytes] of Object.entries(variants)) {
      const before = mainThreadHashes.n;
      const h = hashedLayer(blob(bytes, 1000 + 7));
      expect((await drain(h)).equals(data)).toBe(true);
      expect(mainThreadHashes.n - before, kind).toBe(kind === "none" ? 0 : 1);
      expect(h.digest()).toBe(sha(data));
    }
  });

  it("hashes every layer on the hasher thread when the main thread is to stay free", async () => {
    for (const [kind, bytes] of Object.entries(variants)) {
      const before = mainThreadHashes.n;
      const h = hashedLayer(blob(bytes, 1000 + 7), { keepMainThreadFree: true });
      expect((await drain(h)).equals(data)).toBe(true);
      expect(mainThreadHashes.n - before, kind).toBe(0);
      expect(h.digest()).toBe(sha(data));
    }
  });

  it("streams layers many times larger than the flow-control windows, in every compression", async () => {
    const big = payload(20 * 1024 * 1024 + 5);
    for (const bytes of [big, gzipSync(big, { level: 1 }), zstdCompress(big)]) {
      const h = hashedLayer(blob(bytes, 1024 * 1024));
      expect((await drain(h)).equals(big)).toBe(true);
      expect(h.digest()).toBe(sha(big));
    }
  });

  it("handles blobs shorter than the magic, and empty ones", async () => {
    for (const b of [Buffer.alloc(0), Buffer.from("ab")]) {
      const h = hashedLayer(blob(b));
      expect((await drain(h)).equals(b)).toBe(true);
      expect(h.digest()).toBe(sha(b));
    }
  });

  it("reports corrupt and truncated streams with the decompressor's message", async () => {
    const cut = variants.gzip.subarray(0, variants.gzip.length >> 1);
    await expect(drain(hashedLayer(blob(cut)))).rejects.toThrow(/unexpected end of file/);
    const zcut = variants.zstd.subarray(0, variants.zstd.length >> 1);
    await expect(drain(hashedLayer(blob(zcut)))).rejects.toThrow(/middle of compressed data frame/);
    const garbage = Buffer.concat([Buffer.from([0x1f, 0x8b, 8, 0]), payload(5000)]);
    await expect(drain(hashedLayer(blob(garbage)))).rejects.toThrow();
  });

  it("passes a source error on", async () => {
    const failing = new Readable({
      read() {
        this.push(variants.gzip.subarray(0, 4096));
        this.destroy(new Error("connection reset"));
      },
    });
    await expect(drain(hashedLayer(failing))).rejects.toThrow(/connection reset/);
  });

  it("stops reading the source when the consumer stops, and the worker serves the next layer", async () => {
    // 24 MiB that do not compress: if the consumer's early stop did not reach the source,
    // reading would go on to the end.
    let produced = 0;
    const zeros = gzipSync(randomBytes(24 * 1024 * 1024), { level: 1 });
    const src = new Readable({
      read() {
        if (produced >= zeros.length) return this.push(null);
        const c = zeros.subarray(produced, produced + 16 * 1024);
        produced += c.length;
        this.push(c);
      },
    });
    let got = 0;
    for await (const c of hashedLayer(src)) {
      got += c.length;
      if (got > 1024 * 1024) break;
    }
    expect(produced).toBeLessThan(12 * 1024 * 1024);
    // Several layers at once on the pooled workers, after the abort.
    const many = await Promise.all(
      ["gzip", "zstd", "none", "gzip", "zstd"].map(async (k) => {
        const h = hashedLayer(blob(variants[k as keyof typeof variants]));
        await drain(h);
        return h.digest();
      }),
    );
    expect(new Set(many)).toEqual(new Set([sha(data)]));
  });

  it("refuses a zstd frame that asks for a window over 128 MiB, also on a decoder reused from earlier layers", async () => {
    // Streamed without a content size, so the frame header declares the 256 MiB window.
    const wide = await drain(Readable.from([payload(1000)]).pipe(new CompressStream({ windowLog: 28 })));
    for (let round = 0; round < 2; round++) {
      const ok = hashedLayer(blob(variants.zstd));
      expect((await drain(ok)).equals(data)).toBe(true);
      await expect(drain(hashedLayer(blob(wide)))).rejects.toThrow(/too much memory/);
    }
    // The decoder that refused is reset and serves the next layer.
    const after = hashedLayer(blob(variants.zstd));
    expect((await drain(after)).equals(data)).toBe(true);
    expect(after.digest()).toBe(sha(data));
  });

  it("decodes a zstd bomb only as fast as it is read (gigabytes from kilobytes, memory flat)", async () => {
    // Concatenated frames of 64 MiB of zeros each: 40 of them are 2.5 GiB from about 80 KiB.
    const frame = zstdCompress(Buffer.alloc(64 * 1024 * 1024));
    const bomb = Buffer.concat(Array.from({ length: 40 }, () => frame));
    expect(bomb.length).toBeLessThan(200 * 1024);
    const rss0 = process.memoryUsage().rss;
    let got = 0;
    let peak = 0;
    for await (const c of hashedLayer(blob(bomb))) {
      got += c.length;
      peak = Math.max(peak, process.memoryUsage().rss - rss0);
      if (got >= 256 * 1024 * 1024) break;
    }
    expect(got).toBeGreaterThanOrEqual(256 * 1024 * 1024);
    expect(peak).toBeLessThan(128 * 1024 * 1024);
  });

  it("keeps memory flat on a slow consumer of a plain tar (the source waits)", async () => {
    let produced = 0;
    const big = 64 * 1024 * 1024;
    const src = new Readable({
      read() {
        if (produced >= big) return this.push(null);
        produced += 1024 * 1024;
        this.push(Buffer.alloc(1024 * 1024));
      },
    });
    const it = hashedLayer(src)[Symbol.asyncIterator]();
    await it.next();
    await new Promise((r) => setTimeout(r, 200));
    // Read ahead: IN_AHEAD (4 MiB) unacknowledged + OUT_AHEAD (8 MiB) in slots + the stream's own
    // buffer: a few MiB, not the whole layer.
    expect(produced).toBeLessThan(24 * 1024 * 1024);
    await it.return?.(undefined);
  });

  it("reads a local blob (a byte range of a file) in the worker: same bytes, same digest", async () => {
    const dir = mkdtempSync(join(tmpdir(), "drydock-layer-"));
    try {
      for (const [kind, bytes] of Object.entries(variants)) {
        // The blob sits between other bytes, as an archive member does.
        const file = join(dir, kind);
        writeFileSync(file, Buffer.concat([Buffer.from("before"), bytes, Buffer.from("after")]));
        const h = hashedLayer({ path: file, start: 6, length: bytes.length });
        expect((await drain(h)).equals(data), kind).toBe(true);
        expect(h.digest()).toBe(sha(data));
      }
      await expect(drain(hashedLayer({ path: join(dir, "missing"), start: 0, length: 10 }))).rejects.toThrow(
        /ENOENT/,
      );
      // A consumer that stops early closes the file and frees the worker for the next layer.
      const file = join(dir, "none");
      for await (const c of hashedLayer({ path: file, start: 6, length: variants.none.length })) {
        expect(c.length).toBeGreaterThan(0);
        break;
      }
      const again = hashedLayer({ path: file, start: 6, length: variants.none.length });
      expect((await drain(again)).equals(data)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
