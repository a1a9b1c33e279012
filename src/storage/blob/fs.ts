import { createReadStream, createWriteStream, readFileSync, readSync } from "node:fs";
import { KeyedQueue } from "../../core/keyed-queue.js";
import {
  mkdir,
  open,
  readdir,
  readFile,
  rename,
  rm,
  rmdir,
  stat,
  truncate,
  utimes,
  writeFile,
  type FileHandle,
} from "node:fs/promises";
import { dirname, join } from "node:path";
import { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { Hash } from "node:crypto";
import { checkContent, newHash, parseDigest, type Digest } from "../../core/digest.js";
import { RegistryError } from "../../core/errors.js";
import { checkObjectKey, checkObjectPrefix } from "./object-keys.js";
import type {
  AppendOptions,
  BlobInfo,
  BlobStore,
  BlobUpload,
  ByteRange,
  ObjectInfo,
  PutObjectOptions,
} from "./types.js";

export interface FsBlobStoreOptions {
  /** Bytes appended to an upload between two background flushes to disk (default 16 MiB). */
  flushEveryBytes?: number;
}

/**
 * Filesystem blob store. Layout under its root (described here once):
 *
 *   blobs/<algorithm>/<first two hex>/<hex>   published blobs, read-only once renamed in
 *   uploads/<id>                              bytes of an upload session, appended in order
 *   tmp/<random>                              blobs being written by putBuffer
 *   objects/<key>                             named objects (reports, exports), one file per key
 *   object-tmp/<random>                       named objects being written (putObject)
 *
 * Publishing = fsync the data file, rename it into blobs/ (atomic on one filesystem),
 * fsync the directory. A crash leaves files in uploads/ or tmp/ that garbage collection
 * removes; a partially written blob is never visible. Uploads are flushed to disk in the
 * background while they stream in (UploadSink), so that the fsync of publishing is short.
 * Named objects are published the same way (write in object-tmp/, fsync, rename into objects/,
 * fsync the directory); object-tmp/ is apart from tmp/ because GC empties tmp/ of files older
 * than an hour, and a large report may take longer to write. Its leftovers (a crash while
 * writing) are removed when the store is opened, once a day old.
 */
export class FsBlobStore implements BlobStore {
  /** Running hash per upload id, valid while `hashed` equals the data size. */
  private readonly hashes = new Map<string, { hash: Hash; hashed: number }>();
  /** Serializes operations on one upload (concurrent PATCHes to one session). */
  private readonly uploadLocks = new KeyedQueue();
  private cachedTotal: { at: number; bytes: number } | null = null;
  /** Background fdatasyncs of uploads in flight (UploadSink). */
  backgroundFlushes = 0;

  private constructor(
    private readonly root: string,
    /** Bytes appended to an upload between two background flushes to disk (see UploadSink). */
    readonly flushEveryBytes: number,
  ) {}

  static async open(root: string, options: FsBlobStoreOptions = {}): Promise<FsBlobStore> {
    for (const d of ["blobs", "uploads", "tmp", "objects", "object-tmp"])
      await mkdir(join(root, d), { recursive: true });
    await removeStale(join(root, "object-tmp"), OBJECT_TMP_EXPIRY_MS);
    return new FsBlobStore(root, options.flushEveryBytes ?? 16 * 1024 * 1024);
  }

  blobPath(digest: Digest): string {
    const p = parseDigest(digest);
    if (!p) throw new RegistryError("DIGEST_INVALID", `invalid digest ${digest}`);
    return join(this.root, "blobs", p.algorithm, p.encoded.slice(0, 2), p.encoded);
  }

  private uploadPath(id: string): string {
    if (!/^[A-Za-z0-9_-]{8,128}$/.test(id)) throw new RegistryError("BLOB_UPLOAD_UNKNOWN", "unknown upload");
    return join(this.root, "uploads", id);
  }

  async stat(digest: Digest): Promise<BlobInfo | null> {
    try {
      const s = await stat(this.blobPath(digest));
      return { digest, size: s.size, modifiedAt: s.mtime };
    } catch (e) {
      if (isNotFound(e)) return null;
      throw e;
    }
  }

  async localFile(digest: Digest): Promise<{ path: string; size: number } | null> {
    const info = await this.stat(digest);
    return info && { path: this.blobPath(digest), size: info.size };
  }

  async open(digest: Digest, range?: ByteRange): Promise<Readable> {
    const path = this.blobPath(digest);
    // Open first so that a missing blob is a clean BLOB_UNKNOWN, not a stream error.
    let fh;
    try {
      fh = await open(path, "r");
    } catch (e) {
      if (isNotFound(e)) throw new RegistryError("BLOB_UNKNOWN", `blob ${digest} unknown`);
      throw e;
    }
    let size: number;
    try {
      size = (await fh.stat()).size;
    } catch (e) {
      await fh.close();
      throw e;
    }
    const start = Math.min(range?.start ?? 0, size);
    const end = Math.min(range ? range.end + 1 : size, size);
    return new BlobReadStream(fh, start, Math.max(start, end));
  }

  async read(digest: Digest): Promise<Buffer> {
    const path = this.blobPath(digest);
    try {
      return whileCached(() => readFileSync(path)) ?? (await readFile(path));
    } catch (e) {
      if (isNotFound(e)) throw new RegistryError("BLOB_UNKNOWN", `blob ${digest} unknown`);
      throw e;
    }
  }

  async putBuffer(digest: Digest, data: Buffer): Promise<BlobInfo> {
    checkContent(digest, data);
    const existing = await this.stat(digest);
    if (existing) {
      await this.touch(digest);
      return existing;
    }
    const tmp = join(this.root, "tmp", randomName());
    await writeFile(tmp, data);
    await this.publish(tmp, digest);
    return { digest, size: data.length, modifiedAt: new Date() };
  }

  async upload(id: string): Promise<BlobUpload> {
    const path = this.uploadPath(id);
    const fh = await open(path, "a");
    await fh.close();
    return new FsUpload(this, id, path);
  }

  async touch(digest: Digest): Promise<void> {
    const now = new Date();
    try {
      await utimes(this.blobPath(digest), now, now);
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }

  async delete(digest: Digest): Promise<boolean> {
    try {
      await rm(this.blobPath(digest));
      this.cachedTotal = null;
      return true;
    } catch (e) {
      if (isNotFound(e)) return false;
      throw e;
    }
  }

  async *list(): AsyncIterable<BlobInfo> {
    const base = join(this.root, "blobs");
    for (const algorithm of await readdirSafe(base)) {
      for (const prefix of await readdirSafe(join(base, algorithm))) {
        for (const name of await readdirSafe(join(base, algorithm, prefix))) {
          const digest = `${algorithm}:${name}`;
          if (!parseDigest(digest)) continue;
          try {
            const s = await stat(join(base, algorithm, prefix, name));
            yield { digest: digest as Digest, size: s.size, modifiedAt: s.mtime };
          } catch (e) {
            if (!isNotFound(e)) throw e;
          }
        }
      }
    }
  }

  async *listUploads(): AsyncIterable<{ id: string; modifiedAt: Date }> {
    const dir = join(this.root, "uploads");
    for (const id of await readdirSafe(dir)) {
      try {
        yield { id, modifiedAt: (await stat(join(dir, id))).mtime };
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    }
    // Leftovers of putBuffer interrupted by a crash are reported as uploads too: same fate.
    const tmp = join(this.root, "tmp");
    for (const name of await readdirSafe(tmp)) {
      try {
        const s = await stat(join(tmp, name));
        if (Date.now() - s.mtimeMs > 60 * 60 * 1000) await rm(join(tmp, name), { force: true });
      } catch {
        /* raced with another remover */
      }
    }
  }

  async totalBytes(): Promise<number> {
    if (this.cachedTotal && Date.now() - this.cachedTotal.at < 30_000) return this.cachedTotal.bytes;
    let bytes = 0;
    for await (const b of this.list()) bytes += b.size;
    this.cachedTotal = { at: Date.now(), bytes };
    return bytes;
  }

  // --- named objects ---------------------------------------------------------------

  private objectPath(key: string): string {
    checkObjectKey(key);
    return join(this.root, "objects", ...key.split("/"));
  }

  async putObject(key: string, body: Buffer | Readable, _options?: PutObjectOptions): Promise<ObjectInfo> {
    const dest = this.objectPath(key);
    const tmp = join(this.root, "object-tmp", randomName());
    try {
      if (Buffer.isBuffer(body)) await writeFile(tmp, body);
      else await pipeline(body, createWriteStream(tmp));
      const fh = await open(tmp, "r+");
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
      const dir = dirname(dest);
      // A concurrent deleteObject may remove the (empty) directory between mkdir and rename.
      for (let attempt = 1; ; attempt++) {
        await mkdir(dir, { recursive: true });
        try {
          await rename(tmp, dest);
          break;
        } catch (e) {
          if (!isNotFound(e) || attempt >= 3) throw e;
        }
      }
      await syncDir(dir);
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
    const s = await stat(dest);
    return { key, size: s.size, modifiedAt: s.mtime };
  }

  async getObject(key: string): Promise<Readable | null> {
    const path = this.objectPath(key);
    // Open first, so that an absent object is null rather than a stream error.
    let fh;
    try {
      fh = await open(path, "r");
    } catch (e) {
      if (isNotFound(e) || isDirectory(e)) return null;
      throw e;
    }
    if (!(await fh.stat()).isFile()) {
      await fh.close();
      return null;
    }
    return fh.createReadStream({ highWaterMark: READ_CHUNK_BYTES });
  }

  async statObject(key: string): Promise<ObjectInfo | null> {
    try {
      const s = await stat(this.objectPath(key));
      return s.isFile() ? { key, size: s.size, modifiedAt: s.mtime } : null;
    } catch (e) {
      if (isNotFound(e) || isNotDirectory(e)) return null;
      throw e;
    }
  }

  async deleteObject(key: string): Promise<boolean> {
    const path = this.objectPath(key);
    try {
      if (!(await stat(path)).isFile()) return false;
      await rm(path);
    } catch (e) {
      if (isNotFound(e) || isNotDirectory(e)) return false;
      throw e;
    }
    // Remove the directories the key emptied, up to objects/ (a report's folder goes with it).
    const base = join(this.root, "objects");
    for (let dir = dirname(path); dir !== base && dir.startsWith(base); dir = dirname(dir)) {
      try {
        await rmdir(dir);
      } catch {
        break; // not empty, or already gone
      }
    }
    return true;
  }

  async *listObjects(prefix: string): AsyncIterable<ObjectInfo> {
    checkObjectPrefix(prefix);
    const base = join(this.root, "objects");
    const walk = async function* (dir: string, keyPrefix: string): AsyncIterable<ObjectInfo> {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (e) {
        if (isNotFound(e) || isNotDirectory(e)) return;
        throw e;
      }
      for (const d of entries) {
        const p = join(dir, d.name);
        if (d.isDirectory()) yield* walk(p, `${keyPrefix}${d.name}/`);
        else if (d.isFile()) {
          try {
            const s = await stat(p);
            yield { key: `${keyPrefix}${d.name}`, size: s.size, modifiedAt: s.mtime };
          } catch (e) {
            if (!isNotFound(e)) throw e;
          }
        }
      }
    };
    yield* walk(prefix === "" ? base : join(base, ...prefix.slice(0, -1).split("/")), prefix);
  }

  /** fsync + atomic rename into blobs/ + fsync of the directory. */
  async publish(src: string, digest: Digest): Promise<void> {
    const fh = await open(src, "r+");
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    const dest = this.blobPath(digest);
    const dir = join(dest, "..");
    await mkdir(dir, { recursive: true });
    await rename(src, dest);
    const dh = await open(dir, "r");
    try {
      await dh.sync();
    } finally {
      await dh.close();
    }
    this.cachedTotal = null;
  }

  // --- upload internals, used by FsUpload -------------------------------------------

  withUploadLock<T>(id: string, fn: () => Promise<T>): Promise<T> {
    return this.uploadLocks.run(id, fn);
  }

  /** The running sha256 of an upload, rebuilt from disk if the process restarted. */
  async runningHash(id: string, path: string, size: number): Promise<{ hash: Hash; hashed: number }> {
    const h = this.hashes.get(id);
    if (h && h.hashed === size) return h;
    const fresh = { hash: newHash("sha256"), hashed: 0 };
    if (size > 0) {
      await pipeline(
        createReadStream(path, { start: 0, end: size - 1, highWaterMark: 1024 * 1024 }),
        async function (source: AsyncIterable<Buffer>) {
          for await (const chunk of source) {
            fresh.hash.update(chunk);
            fresh.hashed += chunk.length;
          }
        },
      );
    }
    this.hashes.set(id, fresh);
    return fresh;
  }

  dropHash(id: string): void {
    this.hashes.delete(id);
  }
}

class FsUpload implements BlobUpload {
  constructor(
    private readonly store: FsBlobStore,
    readonly id: string,
    private readonly path: string,
  ) {}

  async size(): Promise<number> {
    try {
      return (await stat(this.path)).size;
    } catch (e) {
      if (isNotFound(e)) throw new RegistryError("BLOB_UPLOAD_UNKNOWN", "upload unknown");
      throw e;
    }
  }

  append(data: Readable, options: AppendOptions = {}): Promise<number> {
    return this.store.withUploadLock(this.id, async () => {
      const before = await this.size();
      const running = await this.store.runningHash(this.id, this.path, before);
      const fh = await open(this.path, "a");
      const sink = new UploadSink(fh, running, options.expectedLength, this.store);
      try {
        await pipeline(data, sink);
        if (options.expectedLength !== undefined && sink.received !== options.expectedLength) {
          throw new RegistryError(
            "SIZE_INVALID",
            `received ${sink.received} bytes, Content-Length said ${options.expectedLength}`,
          );
        }
      } catch (e) {
        // A failed append adds nothing: wait for writes in flight, cut the file back and
        // forget the running hash.
        await sink.idle();
        this.store.dropHash(this.id);
        await fh.truncate(before).catch(() => truncate(this.path, before).catch(() => undefined));
        throw e;
      } finally {
        await sink.idle();
        await fh.close();
      }
      return before + sink.received;
    });
  }

  commit(expected: Digest): Promise<BlobInfo> {
    return this.store.withUploadLock(this.id, async () => {
      const p = parseDigest(expected);
      if (!p) throw new RegistryError("DIGEST_INVALID", `invalid digest ${expected}`);
      const size = await this.size();
      let actual: string;
      if (p.algorithm === "sha256") {
        const running = await this.store.runningHash(this.id, this.path, size);
        actual = running.hash.copy().digest("hex");
      } else {
        const h = newHash(p.algorithm);
        await pipeline(createReadStream(this.path), async (src: AsyncIterable<Buffer>) => {
          for await (const c of src) h.update(c);
        });
        actual = h.digest("hex");
      }
      if (actual !== p.encoded) {
        throw new RegistryError(
          "DIGEST_INVALID",
          `uploaded content has digest ${p.algorithm}:${actual}, not ${expected}`,
        );
      }
      this.store.dropHash(this.id);
      const existing = await this.store.stat(expected);
      if (existing) {
        await rm(this.path, { force: true });
        await this.store.touch(expected);
        return { ...existing, modifiedAt: new Date() };
      }
      await this.store.publish(this.path, expected);
      return { digest: expected, size, modifiedAt: new Date() };
    });
  }

  cancel(): Promise<void> {
    return this.store.withUploadLock(this.id, async () => {
      this.store.dropHash(this.id);
      await rm(this.path, { force: true });
    });
  }
}

/** Bytes per read when streaming a blob out. */
const READ_CHUNK_BYTES = 1024 * 1024;
/** Reads in flight (or read and not yet taken) per blob stream. */
const READS_AHEAD = 2;
/** Buffers of one writeTo: chunks being written plus chunks read ahead. */
const WRITE_SLOTS = 3;
/** Read buffers kept for reuse across all blob streams (1 MiB each). */
const READ_POOL_MAX = 16;
const readPool: Buffer[] = [];

interface ReadAhead {
  done: boolean;
  released: boolean;
  buf: Buffer;
  len: number;
  err: unknown;
}

/**
 * A blob (or a byte range of it) as a stream, read ahead: up to READS_AHEAD positioned reads
 * of READ_CHUNK_BYTES are in flight at once and their chunks are delivered in order.
 *
 * Why not fs.createReadStream: it has one read in flight, so a fast socket waits for each
 * read. Why pooled read buffers, copied into a fresh buffer when delivered: a buffer that
 * waits in the read-ahead queue while the client is slow lives long enough to be promoted
 * to V8's old generation, and such buffers piled up into frequent major GCs (a skopeo pull
 * of 5 x 100 MiB took 0.68 s of CPU instead of 0.27 s). Pooled buffers never become
 * garbage; the delivered copy is short-lived like createReadStream's own buffers, and the
 * copy costs less than the GC did. Measured in docs/benchmarks.md.
 *
 * Memory per stream: READS_AHEAD pooled chunks, the stream's buffer of one chunk and the
 * chunk being written to the socket.
 */
class BlobReadStream extends Readable {
  private next: number;
  private readonly queue: ReadAhead[] = [];
  private wanting = false;
  private ended = false;

  constructor(
    private readonly fh: FileHandle,
    start: number,
    private readonly end: number,
  ) {
    super({ highWaterMark: READ_CHUNK_BYTES });
    this.next = start;
  }

  /**
   * Writes the blob to `dest` without allocating per chunk: pooled buffers are read into
   * ahead of the writes and reused once `dest` reports each write done. Use it instead of
   * reading this stream (never both). Resolves when every byte was handed to `dest`;
   * rejects (and leaves `dest` to the caller) when a read fails or `dest` closes early.
   * Always closes the file. Reads are synchronous while blobs come from the page cache
   * (whileCached), through the thread pool otherwise.
   */
  async writeTo(dest: Writable, onChunk?: (bytes: number) => void): Promise<void> {
    const slots = Array.from({ length: WRITE_SLOTS }, () => ({
      buf: readPool.pop() ?? Buffer.allocUnsafeSlow(READ_CHUNK_BYTES),
      written: Promise.resolve() as Promise<unknown>,
      writeDone: true,
    }));
    // A destination that closes may never call back for its writes in flight: stop waiting.
    let onClose = () => {};
    const closed = new Promise<never>((_, reject) => {
      onClose = () => reject(new Error("destination closed before the blob was sent"));
      dest.once("close", onClose);
    });
    closed.catch(() => undefined);
    let stopped = false;
    const fileReads: Promise<void>[] = [];
    const reads: Promise<{ slot: (typeof slots)[number]; len: number }>[] = [];
    let turn = 0;
    const startRead = () => {
      const slot = slots[turn++ % slots.length]!;
      const len = Math.min(READ_CHUNK_BYTES, this.end - this.next);
      const position = this.next;
      this.next += len;
      // A slot is read into again only once its previous chunk was written.
      const read = Promise.race([slot.written, closed]).then(() => {
        if (stopped) throw new Error("stopped");
        if (readFullySyncWhileCached(this.fh.fd, slot.buf.subarray(0, len), position)) return;
        const r = readFully(this.fh, slot.buf.subarray(0, len), position);
        fileReads.push(r);
        return r;
      });
      const next = read.then(() => ({ slot, len }));
      next.catch(() => undefined);
      reads.push(next);
    };
    try {
      while (reads.length < WRITE_SLOTS - 1 && this.next < this.end) startRead();
      while (reads.length > 0) {
        const { slot, len } = await Promise.race([reads.shift()!, closed]);
        slot.writeDone = false;
        slot.written = new Promise<void>((resolve, reject) =>
          dest.write(slot.buf.subarray(0, len), (e) => {
            if (e) return reject(e);
            slot.writeDone = true;
            resolve();
          }),
        );
        slot.written.catch(() => undefined);
        onChunk?.(len);
        if (this.next < this.end) startRead();
      }
      await Promise.race([Promise.all(slots.map((s) => s.written)), closed]);
    } finally {
      // No read starts after this; the ones running always end. A buffer goes back to the
      // pool only if no read or write still uses it (a write that never called back keeps it).
      stopped = true;
      dest.off("close", onClose);
      await Promise.allSettled(fileReads);
      for (const s of slots) if (s.writeDone && readPool.length < READ_POOL_MAX) readPool.push(s.buf);
      this.ended = true;
      this.destroy();
    }
  }

  override _read(): void {
    this.wanting = true;
    this.fill();
    this.deliver();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    // Reads still in flight give their buffer back when they end (see fill).
    for (const item of this.queue) if (item.done) release(item);
    // FileHandle.close waits for the reads still in flight before closing the descriptor.
    this.fh.close().then(
      () => cb(err),
      (e: unknown) => cb(err ?? (e as Error)),
    );
  }

  private fill(): void {
    while (this.queue.length < READS_AHEAD && this.next < this.end && !this.destroyed) {
      const len = Math.min(READ_CHUNK_BYTES, this.end - this.next);
      const buf = readPool.pop() ?? Buffer.allocUnsafeSlow(READ_CHUNK_BYTES);
      const item: ReadAhead = { done: false, released: false, buf, len, err: null };
      readFully(this.fh, buf.subarray(0, len), this.next)
        .then(
          () => undefined,
          (e: unknown) => (item.err = e),
        )
        .finally(() => {
          item.done = true;
          if (this.destroyed) release(item);
          else this.deliver();
        });
      this.next += len;
      this.queue.push(item);
    }
  }

  private deliver(): void {
    if (this.destroyed || this.ended) return;
    while (this.wanting && this.queue[0]?.done) {
      const item = this.queue.shift()!;
      if (item.err) {
        release(item);
        this.destroy(item.err as Error);
        return;
      }
      const out = Buffer.allocUnsafeSlow(item.len);
      item.buf.copy(out, 0, 0, item.len);
      release(item);
      this.wanting = this.push(out);
      this.fill();
    }
    if (this.queue.length === 0 && this.next >= this.end) {
      this.ended = true;
      this.push(null);
    }
  }
}

/** Gives a read-ahead buffer back to the pool (once). */
function release(item: ReadAhead): void {
  if (item.released) return;
  item.released = true;
  if (readPool.length < READ_POOL_MAX) readPool.push(item.buf);
}

/** A synchronous read of 1 MiB from the page cache takes ~0.05 ms; one from the disk here ~2 ms. */
const SYNC_READ_SLOW_MS = 1;
/** After a read from the disk, blob reads go through the thread pool for this long. */
const ASYNC_AFTER_DISK_READ_MS = 1000;
/** performance.now() from which synchronous reads are allowed again. */
let syncReadsFrom = 0;
/** Synchronous reads in a row slower than SYNC_READ_SLOW_MS. */
let slowSyncReads = 0;
/** Slow reads in a row that send blob reads to the thread pool even without block input. */
const SLOW_READS_IN_A_ROW = 3;

/**
 * Runs a synchronous read on this thread if blob reads are currently served by the page
 * cache, and returns its result; returns null (and runs nothing) when they are not, and the
 * caller reads through the thread pool instead. Errors of `read` are thrown.
 *
 * Why: a read through libuv's thread pool wakes a pool thread and then this one, and the
 * data is copied into the buffer on one core and out to the socket on another. For a blob
 * GET from the page cache that was 15 to 20 % of the registry's CPU, and the extra wake-ups
 * cost the client CPU too (skopeo pulling on the same two cores: docs/benchmarks.md). A
 * cached read of 1 MiB blocks the event loop for about 0.05 ms; one that waits for the disk
 * blocks it for as long as the disk takes. So a read slower than SYNC_READ_SLOW_MS that made
 * the process read from the disk (getrusage's block input count went up), or
 * SLOW_READS_IN_A_ROW slow reads in a row (reads stalled behind I/O they did not submit, or a
 * filesystem that does not count block input), send every blob read to the thread pool for
 * ASYNC_AFTER_DISK_READ_MS: the event loop waits for the disk during one read (three at
 * worst) about once a second. A slow read alone is not enough: while skopeo keeps both cores
 * of this machine busy, a cached read is preempted for 1-5 ms every few hundred reads, twice
 * in a row now and then; nor is block input alone: a fast read sometimes comes with a few KiB
 * of metadata read from the disk.
 */
function whileCached<T>(read: () => T): T | null {
  const start = performance.now();
  if (start < syncReadsFrom) return null;
  const blocksRead = process.resourceUsage().fsRead;
  try {
    return read();
  } finally {
    const end = performance.now();
    slowSyncReads = end - start > SYNC_READ_SLOW_MS ? slowSyncReads + 1 : 0;
    if (
      slowSyncReads > 0 &&
      (slowSyncReads >= SLOW_READS_IN_A_ROW || process.resourceUsage().fsRead !== blocksRead)
    ) {
      syncReadsFrom = end + ASYNC_AFTER_DISK_READ_MS;
      slowSyncReads = 0;
    }
  }
}

/** Fills buf from the file at position (readFully on this thread); false when not cached. */
function readFullySyncWhileCached(fd: number, buf: Buffer, position: number): boolean {
  return (
    whileCached(() => {
      let off = 0;
      while (off < buf.length) {
        const bytesRead = readSync(fd, buf, off, buf.length - off, position + off);
        if (bytesRead === 0) throw new Error(`blob file ended early at byte ${position + off}`);
        off += bytesRead;
      }
      return true;
    }) ?? false
  );
}

/** Sends blob reads through the thread pool for `ms`, as a slow read does (for tests). */
export function suspendSyncBlobReads(ms: number): void {
  syncReadsFrom = performance.now() + ms;
}

/** Fills buf from the file at position, continuing after short reads; EOF first is an error. */
async function readFully(fh: FileHandle, buf: Buffer, position: number): Promise<void> {
  let off = 0;
  while (off < buf.length) {
    const { bytesRead } = await fh.read(buf, off, buf.length - off, position + off);
    if (bytesRead === 0) throw new Error(`blob file ended early at byte ${position + off}`);
    off += bytesRead;
  }
}

/** Background flushes in flight across the store: each one holds a libuv threadpool thread. */
const MAX_BACKGROUND_FLUSHES = 2;

/**
 * The end of an append: hashes every byte (the upload's running sha256), appends it to the
 * upload file with writev, and enforces the declared length.
 *
 * While a large body streams in, it also asks the kernel to write the data already received
 * to disk (fdatasync in the background, one at a time, every `flushEveryBytes`), so that the
 * fsync that publishing needs finds little left to do: the disk works while the network
 * does, instead of after it. This changes when bytes reach the disk, not whether: commit
 * still fsyncs before publishing. A failed background flush fails the append (an I/O error
 * reported to it would not be reported again to the fsync of commit).
 */
class UploadSink extends Writable {
  received = 0;
  private unflushed = 0;
  private writing: Promise<unknown> = Promise.resolve();
  private flushing: Promise<void> | null = null;
  private flushError: unknown = null;

  constructor(
    private readonly fh: FileHandle,
    private readonly running: { hash: Hash; hashed: number },
    private readonly expectedLength: number | undefined,
    private readonly store: FsBlobStore,
  ) {
    super({ highWaterMark: 1024 * 1024 });
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.append([chunk], cb);
  }

  override _writev(chunks: { chunk: Buffer }[], cb: (err?: Error | null) => void): void {
    this.append(
      chunks.map((c) => c.chunk),
      cb,
    );
  }

  override _final(cb: (err?: Error | null) => void): void {
    void (this.flushing ?? Promise.resolve()).then(() =>
      cb(this.flushError === null ? null : (this.flushError as Error)),
    );
  }

  /** Resolves once no write or flush of this sink is in flight. */
  async idle(): Promise<void> {
    await this.writing.catch(() => undefined);
    await this.flushing;
  }

  private append(bufs: Buffer[], cb: (err?: Error | null) => void): void {
    let bytes = 0;
    for (const b of bufs) bytes += b.length;
    this.received += bytes;
    if (this.expectedLength !== undefined && this.received > this.expectedLength) {
      cb(new RegistryError("SIZE_INVALID", "body longer than Content-Length"));
      return;
    }
    if (this.flushError !== null) {
      cb(this.flushError as Error);
      return;
    }
    // Start the write (it runs on the threadpool), hash on this thread meanwhile: the
    // buffers are only read by both.
    const write = writeAll(this.fh, bufs, bytes);
    this.writing = write;
    for (const b of bufs) this.running.hash.update(b);
    this.running.hashed += bytes;
    write.then(
      () => {
        this.unflushed += bytes;
        this.maybeFlush();
        cb();
      },
      (e: unknown) => cb(e as Error),
    );
  }

  private maybeFlush(): void {
    if (this.unflushed < this.store.flushEveryBytes || this.flushing) return;
    if (this.store.backgroundFlushes >= MAX_BACKGROUND_FLUSHES) return;
    this.unflushed = 0;
    this.store.backgroundFlushes++;
    this.flushing = this.fh
      .datasync()
      .catch((e: unknown) => {
        this.flushError ??= e;
      })
      .finally(() => {
        this.store.backgroundFlushes--;
        this.flushing = null;
      });
  }
}

/** Writes all of bufs at the end of the file (O_APPEND), continuing after short writes. */
async function writeAll(fh: FileHandle, bufs: Buffer[], bytes: number): Promise<void> {
  let pending = bufs;
  let left = bytes;
  while (left > 0) {
    const { bytesWritten } = await fh.writev(pending);
    left -= bytesWritten;
    if (left <= 0) return;
    let skip = bytesWritten;
    const rest: Buffer[] = [];
    for (const b of pending) {
      if (skip >= b.length) {
        skip -= b.length;
        continue;
      }
      rest.push(skip > 0 ? b.subarray(skip) : b);
      skip = 0;
    }
    pending = rest;
  }
}

function isNotFound(e: unknown): boolean {
  return typeof e === "object" && e !== null && (e as { code?: string }).code === "ENOENT";
}

function isDirectory(e: unknown): boolean {
  return typeof e === "object" && e !== null && (e as { code?: string }).code === "EISDIR";
}

function isNotDirectory(e: unknown): boolean {
  return typeof e === "object" && e !== null && (e as { code?: string }).code === "ENOTDIR";
}

async function syncDir(dir: string): Promise<void> {
  const dh = await open(dir, "r");
  try {
    await dh.sync();
  } finally {
    await dh.close();
  }
}

/** Leftovers of interrupted putObject calls older than this are removed at open. */
const OBJECT_TMP_EXPIRY_MS = 24 * 3600_000;

async function removeStale(dir: string, olderThanMs: number): Promise<void> {
  for (const name of await readdirSafe(dir)) {
    try {
      const s = await stat(join(dir, name));
      if (Date.now() - s.mtimeMs > olderThanMs) await rm(join(dir, name), { force: true });
    } catch {
      /* raced with another remover */
    }
  }
}

async function readdirSafe(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (e) {
    if (isNotFound(e)) return [];
    throw e;
  }
}

function randomName(): string {
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}
