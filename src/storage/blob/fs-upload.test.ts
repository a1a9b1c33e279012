import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import type { Digest } from "../../core/digest.js";
import { FsBlobStore } from "./fs.js";

/**
 * The streaming append path (UploadSink): large bodies in many chunks, background flushes
 * to disk while the body streams in, failures mid-body.
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
