import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { Digest } from "../../core/digest.js";
import { FsBlobStore } from "./fs.js";
import { BLOB_READ_PATHS, readBlobsThrough } from "./testing.js";
import { isDirectBlobStream, type DirectBlobStream } from "./types.js";

/**
 * The streaming paths of the filesystem store. In: the append sink (large bodies in many
 * chunks, background flushes to disk while the body streams in, failures mid-body). Out:
 * the read-ahead blob stream (whole blobs and ranges across chunk boundaries, slow
 * consumers, early destroy).
 */

const MiB = 1024 * 1024;

function digestOf(...parts: Buffer[]): Digest {
  const h = createHash("sha256");
  for (const p of parts) h.update(p);
  return `sha256:${h.digest("hex")}` as Digest;
}

/** Streams `data` in chunks of `chunk` bytes (like a socket does), optionally failing after `failAfter`. */
function chunked(data: Buffer, chunk = 64 * 1024, failAfter?: number): Readable {
  let offset = 0;
  return new Readable({
    read() {
      if (failAfter !== undefined && offset >= failAfter) {
        this.destroy(new Error("aborted"));
        return;
      }
      if (offset >= data.length) {
        this.push(null);
        return;
      }
      this.push(data.subarray(offset, offset + chunk));
      offset += chunk;
    },
  });
}

describe("FsBlobStore streaming uploads", () => {
  let root: string;
  let store: FsBlobStore;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "drydock-upload-"));
    // Flush often so that small test bodies exercise the background flushes.
    store = await FsBlobStore.open(root, { flushEveryBytes: 256 * 1024 });
  });
  afterEach(async () => rm(root, { recursive: true, force: true }));

  it("hashes and stores a large body streamed in small chunks, flushing in the background", async () => {
    const data = randomBytes(12 * MiB + 12345);
    const up = await store.upload("upload-big-0001");
    expect(await up.append(chunked(data), { expectedLength: data.length })).toBe(data.length);
    expect(store.backgroundFlushes).toBe(0);
    const info = await up.commit(digestOf(data));
    expect(info.size).toBe(data.length);
    const stored = await readFile(store.blobPath(digestOf(data)));
    expect(stored.equals(data)).toBe(true);
  });

  it("runs concurrent uploads correctly, never more than two background flushes at once", async () => {
    const bodies = [0, 1, 2, 3, 4].map(() => randomBytes(3 * MiB + 777));
    let peak = 0;
    const timer = setInterval(() => (peak = Math.max(peak, store.backgroundFlushes)), 1);
    try {
      await Promise.all(
        bodies.map(async (b, i) => {
          const up = await store.upload(`upload-par-000${i}`);
          await up.append(chunked(b, 16 * 1024));
          await up.commit(digestOf(b));
        }),
      );
    } finally {
      clearInterval(timer);
    }
    expect(peak).toBeLessThanOrEqual(2);
    expect(store.backgroundFlushes).toBe(0);
    for (const b of bodies) expect((await readFile(store.blobPath(digestOf(b)))).equals(b)).toBe(true);
  });

  it("a body cut off after several flushes adds nothing, and the upload goes on", async () => {
    const first = randomBytes(MiB + 5);
    const second = randomBytes(4 * MiB);
    const up = await store.upload("upload-cut-0001");
    await up.append(chunked(first));
    await expect(up.append(chunked(second, 64 * 1024, 3 * MiB))).rejects.toThrow();
    expect(await up.size()).toBe(first.length);
    await up.append(chunked(second));
    await up.commit(digestOf(first, second));
    const stored = await readFile(store.blobPath(digestOf(first, second)));
    expect(stored.equals(Buffer.concat([first, second]))).toBe(true);
  });

  it("a body longer than its declared length adds nothing", async () => {
    const data = randomBytes(2 * MiB);
    const up = await store.upload("upload-long-0001");
    await expect(up.append(chunked(data), { expectedLength: MiB })).rejects.toMatchObject({
      code: "SIZE_INVALID",
    });
    expect(await up.size()).toBe(0);
    await up.append(chunked(data), { expectedLength: data.length });
    expect((await up.commit(digestOf(data))).size).toBe(data.length);
  });
});

async function readAll(r: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of r) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

describe("FsBlobStore blob streams", () => {
  let root: string;
  let store: FsBlobStore;
  let data: Buffer;
  let digest: Digest;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "drydock-read-"));
    store = await FsBlobStore.open(root);
    // Several read chunks (1 MiB) and a partial last one.
    data = randomBytes(5 * MiB + 4321);
    digest = digestOf(data);
    const up = await store.upload("upload-read-0001");
    await up.append(chunked(data));
    await up.commit(digest);
  });
  afterEach(async () => rm(root, { recursive: true, force: true }));

  it("streams a whole blob in order", async () => {
    expect((await readAll(await store.open(digest))).equals(data)).toBe(true);
  });

  it("streams ranges inside one chunk, across chunk boundaries and up to the end", async () => {
    const cases: [number, number][] = [
      [0, 0],
      [10, 99],
      [MiB - 3, MiB + 2],
      [MiB, 3 * MiB - 1],
      [123, data.length - 1],
      [data.length - 1, data.length - 1],
    ];
    for (const [start, end] of cases) {
      const got = await readAll(await store.open(digest, { start, end }));
      expect(got.equals(data.subarray(start, end + 1)), `${start}-${end}`).toBe(true);
    }
  });

  it("streams an empty blob", async () => {
    const empty = Buffer.alloc(0);
    await store.putBuffer(digestOf(empty), empty);
    expect((await readAll(await store.open(digestOf(empty)))).length).toBe(0);
  });

  it("keeps order and content for a slow consumer", async () => {
    const chunks: Buffer[] = [];
    const slow = new Writable({
      highWaterMark: 1,
      write(c: Buffer, _e, cb) {
        chunks.push(c);
        setTimeout(cb, 2);
      },
    });
    await pipeline(await store.open(digest), slow);
    expect(Buffer.concat(chunks).equals(data)).toBe(true);
  });

  it("keeps concurrent streams apart (read buffers are pooled) even when some are destroyed", async () => {
    const other = randomBytes(3 * MiB + 99);
    const up = await store.upload("upload-read-0002");
    await up.append(chunked(other));
    await up.commit(digestOf(other));
    const quitter = async () => {
      const s = await store.open(digest);
      await new Promise<void>((res) => s.once("data", () => res()));
      s.destroy();
    };
    const [a, b, , c] = await Promise.all([
      store.open(digest).then(readAll),
      store.open(digestOf(other)).then(readAll),
      quitter(),
      store.open(digest, { start: MiB + 1, end: 4 * MiB }).then(readAll),
      quitter(),
    ]);
    expect(a.equals(data)).toBe(true);
    expect(b.equals(other)).toBe(true);
    expect(c.equals(data.subarray(MiB + 1, 4 * MiB + 1))).toBe(true);
  });

  it.each(BLOB_READ_PATHS)(
    "writes a blob or a range to a destination with reused buffers (writeTo), reading %s",
    async (_, suspend) => {
      readBlobsThrough(suspend);
      const collect = () => {
        const chunks: Buffer[] = [];
        // The buffers are reused once a write is done: a destination must copy what it keeps.
        const sink = new Writable({
          write(c: Buffer, _e, cb) {
            chunks.push(Buffer.from(c));
            setImmediate(cb);
          },
        });
        return { sink, data: () => Buffer.concat(chunks) };
      };
      for (const range of [undefined, { start: 0, end: 0 }, { start: MiB - 1, end: 4 * MiB + 7 }]) {
        const { sink, data: got } = collect();
        const s = await store.open(digest, range);
        expect(isDirectBlobStream(s)).toBe(true);
        let counted = 0;
        await (s as DirectBlobStream).writeTo(sink, (n) => (counted += n));
        const want = range ? data.subarray(range.start, range.end + 1) : data;
        expect(got().equals(want)).toBe(true);
        expect(counted).toBe(want.length);
      }
    },
  );

  it("writeTo rejects when the destination goes away, and closes the file", async () => {
    const fds = async () => (await readdir("/proc/self/fd").catch(() => [])).length;
    const before = await fds();
    for (let i = 0; i < 5; i++) {
      let n = 0;
      const sink = new Writable({
        write(_c: Buffer, _e, cb) {
          if (++n === 2) sink.destroy();
          else setImmediate(cb);
        },
      });
      const s = (await store.open(digest)) as DirectBlobStream;
      await expect(s.writeTo(sink)).rejects.toThrow();
    }
    expect(await fds()).toBeLessThanOrEqual(before);
    // The pooled buffers are intact for the next reader.
    expect((await readAll(await store.open(digest))).equals(data)).toBe(true);
  });

  it("closes the file when destroyed early", async () => {
    const fds = async () => (await readdir("/proc/self/fd").catch(() => [])).length;
    const before = await fds();
    for (let i = 0; i < 20; i++) {
      const s = await store.open(digest);
      await new Promise<void>((res) => s.once("data", () => res()));
      s.destroy();
      await new Promise((res) => s.once("close", res));
    }
    expect(await fds()).toBeLessThanOrEqual(before);
  });
});
