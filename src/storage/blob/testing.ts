import { createHash, randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { Readable, Writable } from "node:stream";
import { afterEach, beforeEach, describe, expect, it, onTestFinished } from "vitest";
import type { Digest } from "../../core/digest.js";
import { suspendSyncBlobReads } from "./fs.js";
import { isDirectBlobStream, type BlobStore } from "./types.js";

/**
 * The two paths a blob read takes (see FsBlobStore: synchronous while the page cache answers,
 * the thread pool for a while after a slow read), as `it.each` rows: [label, milliseconds].
 */
export const BLOB_READ_PATHS = [
  ["synchronously (page cache)", 0],
  ["through the thread pool (after a slow read)", 60_000],
] as const;

/** Sends blob reads down one path until the running test ends. */
export function readBlobsThrough(suspendMs: number): void {
  suspendSyncBlobReads(suspendMs);
  onTestFinished(() => suspendSyncBlobReads(0));
}

/** A store under test, on backing storage of its own (a fresh directory, a fresh S3 prefix). */
export interface BlobStoreUnderTest {
  store: BlobStore;
  /** Opens a second instance on the same backing storage: another node, or a restart. */
  reopen(): Promise<BlobStore>;
  /** Removes the backing storage. */
  cleanup(): Promise<void>;
}

const MiB = 1024 * 1024;

function digestOf(...parts: Buffer[]): Digest {
  const h = createHash("sha256");
  for (const p of parts) h.update(p);
  return `sha256:${h.digest("hex")}` as Digest;
}

async function readAll(r: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of r) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** Streams `data` in socket-sized chunks; fails like a client disconnecting after `failAfter` bytes. */
function bodyOf(data: Buffer, failAfter?: number): Readable {
  const chunk = 256 * 1024;
  let offset = 0;
  return new Readable({
    read() {
      if (failAfter !== undefined && offset >= failAfter) {
        this.destroy(new Error("client went away"));
        return;
      }
      if (offset >= data.length) {
        this.push(null);
        return;
      }
      const end = Math.min(data.length, offset + chunk, failAfter ?? Infinity);
      this.push(data.subarray(offset, end));
      offset = end;
    },
  });
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

let uploadIds = 0;
function newUploadId(): string {
  return `conformance-${process.pid}-${Date.now().toString(36)}-${++uploadIds}`;
}

/**
 * The BlobStore contract as the registry (src/registry/service.ts) and garbage collection
 * (src/registry/gc.ts) rely on it; every store runs it (fs.conformance.test.ts,
 * s3.conformance.test.ts). Chunk sizes straddle 5 MiB, S3's smallest multipart part, and
 * every resumed upload is also continued from a second instance on the same storage.
 * `open` gives each test storage of its own.
 */
export function blobStoreConformance(name: string, open: () => Promise<BlobStoreUnderTest>): void {
  describe(`BlobStore conformance: ${name}`, () => {
    let t: BlobStoreUnderTest;
    let store: BlobStore;
    beforeEach(async () => {
      t = await open();
      store = t.store;
    });
    afterEach(async () => t.cleanup());

    const expectCode = (p: Promise<unknown>, code: string) => expect(p).rejects.toMatchObject({ code });

    it("streams chunks of several sizes and publishes the blob only on commit, verified", async () => {
      const chunks = [
        randomBytes(1000),
        randomBytes(6 * MiB + 3),
        randomBytes(10),
        randomBytes(5 * MiB),
        randomBytes(7),
      ];
      const digest = digestOf(...chunks);
      const id = newUploadId();
      const up = await store.upload(id);
      expect(up.id).toBe(id);
      expect(await up.size()).toBe(0);
      let size = 0;
      for (const c of chunks) {
        size += c.length;
        expect(await up.append(bodyOf(c), { expectedLength: c.length })).toBe(size);
        expect(await up.size()).toBe(size);
        expect(await store.stat(digest)).toBeNull();
      }
      await expectCode(store.open(digest), "BLOB_UNKNOWN");
      expect((await collect(store.list())).length).toBe(0);
      const before = Date.now();
      const info = await up.commit(digest);
      expect(info).toMatchObject({ digest, size });
      const stat = await store.stat(digest);
      expect(stat).toMatchObject({ digest, size });
      // Second-resolution clocks (S3's LastModified) round down.
      expect(stat!.modifiedAt.getTime()).toBeGreaterThanOrEqual(before - 2000);
      expect((await readAll(await store.open(digest))).equals(Buffer.concat(chunks))).toBe(true);
      // The session is consumed.
      await expectCode(up.size(), "BLOB_UPLOAD_UNKNOWN");
      expect((await collect(store.listUploads())).map((u) => u.id)).not.toContain(id);
    });

    it("commits an empty upload and a single small chunk", async () => {
      const empty = await store.upload(newUploadId());
      expect(await empty.commit(digestOf())).toMatchObject({ size: 0 });
      expect((await readAll(await store.open(digestOf()))).length).toBe(0);
      const data = Buffer.from('{"small":"blob"}');
      const up = await store.upload(newUploadId());
      await up.append(bodyOf(data));
      expect(await up.commit(digestOf(data))).toMatchObject({ size: data.length });
      expect(await store.read(digestOf(data))).toEqual(data);
    });

    it("a wrong digest is DIGEST_INVALID and publishes nothing; the session is left as it was", async () => {
      const data = randomBytes(6 * MiB);
      const wrong = digestOf(Buffer.from("something else"));
      const up = await store.upload(newUploadId());
      await up.append(bodyOf(data));
      await expectCode(up.commit(wrong), "DIGEST_INVALID");
      await expectCode(up.commit("sha256:nothex" as Digest), "DIGEST_INVALID");
      expect(await store.stat(wrong)).toBeNull();
      expect(await store.stat(digestOf(data))).toBeNull();
      expect((await collect(store.list())).length).toBe(0);
      expect(await up.size()).toBe(data.length);
      expect((await up.commit(digestOf(data))).size).toBe(data.length);
    });

    it("a wrong digest at a commit on another instance (digest read back) publishes nothing either", async () => {
      const small = Buffer.from("small bytes");
      const large = randomBytes(5 * MiB + 17);
      const other = await t.reopen();
      for (const data of [small, large]) {
        const id = newUploadId();
        await (await store.upload(id)).append(bodyOf(data));
        const up = await other.upload(id);
        await expectCode(up.commit(digestOf(data, data)), "DIGEST_INVALID");
        expect(await other.stat(digestOf(data, data))).toBeNull();
        expect(await other.stat(digestOf(data))).toBeNull();
        expect(await up.size()).toBe(data.length);
        expect((await up.commit(digestOf(data))).size).toBe(data.length);
        expect((await readAll(await store.open(digestOf(data)))).equals(data)).toBe(true);
      }
    });

    it("putBuffer stores a verified blob, refuses wrong content, keeps one copy", async () => {
      const data = Buffer.from('{"schemaVersion":2}');
      const d = digestOf(data);
      expect(await store.putBuffer(d, data)).toMatchObject({ digest: d, size: data.length });
      expect(await store.read(d)).toEqual(data);
      expect(await store.putBuffer(d, data)).toMatchObject({ digest: d, size: data.length });
      await expectCode(store.putBuffer(digestOf(Buffer.from("a")), Buffer.from("b")), "DIGEST_INVALID");
      expect(await store.stat(digestOf(Buffer.from("a")))).toBeNull();
      expect((await collect(store.list())).map((b) => b.digest)).toEqual([d]);
    });

    it("reads whole blobs and byte ranges (first byte, last byte, across 5 MiB, whole)", async () => {
      const data = randomBytes(11 * MiB + 5);
      const d = digestOf(data);
      const up = await store.upload(newUploadId());
      await up.append(bodyOf(data));
      await up.commit(d);
      const cases: [number, number][] = [
        [0, 0],
        [data.length - 1, data.length - 1],
        [5 * MiB - 2, 5 * MiB + 1],
        [100, 3 * MiB],
        [0, data.length - 1],
      ];
      for (const [start, end] of cases) {
        const got = await readAll(await store.open(d, { start, end }));
        expect(got.equals(data.subarray(start, end + 1)), `${start}-${end}`).toBe(true);
      }
      expect((await readAll(await store.open(d))).equals(data)).toBe(true);
      expect((await store.read(d)).equals(data)).toBe(true);
      const small = Buffer.from("abcdefghijklmnopqrstuvwxyz");
      await store.putBuffer(digestOf(small), small);
      expect((await readAll(await store.open(digestOf(small), { start: 2, end: 5 }))).toString()).toBe(
        "cdef",
      );
    });

    it("resumes an upload from another instance, which sees the size and continues, either committing", async () => {
      const a = [randomBytes(3 * MiB), randomBytes(6 * MiB + 1)];
      const b = [randomBytes(100), randomBytes(5 * MiB + 7)];
      const c = [randomBytes(2 * MiB)];
      const all = [...a, ...b, ...c];
      const other = await t.reopen();
      for (const committer of ["other", "first"] as const) {
        const id = newUploadId();
        const up = await store.upload(id);
        for (const x of a) await up.append(bodyOf(x));
        const resumed = await other.upload(id);
        expect(await resumed.size()).toBe(a[0]!.length + a[1]!.length);
        for (const x of b) await resumed.append(bodyOf(x));
        // Back on the first instance: its running hash (if any) is behind the upload now.
        const again = await store.upload(id);
        expect(await again.size()).toBe(a[0]!.length + a[1]!.length + b[0]!.length + b[1]!.length);
        for (const x of c) await again.append(bodyOf(x));
        const info = await (committer === "other" ? resumed : again).commit(digestOf(...all));
        expect(info.size).toBe(Buffer.concat(all).length);
        await store.delete(digestOf(...all));
      }
    });

    it("a failed append (client gone midway, small or across parts) adds nothing; the upload goes on", async () => {
      const first = randomBytes(MiB + 5);
      const big = randomBytes(12 * MiB);
      const second = randomBytes(3 * MiB);
      for (const where of ["same instance", "another instance"]) {
        const id = newUploadId();
        const up = await store.upload(id);
        await up.append(bodyOf(first));
        await expect(up.append(bodyOf(big, 100))).rejects.toThrow();
        expect(await up.size()).toBe(first.length);
        // Gone after two whole 5 MiB parts and then some.
        await expect(up.append(bodyOf(big, 11 * MiB))).rejects.toThrow();
        expect(await up.size()).toBe(first.length);
        const next = where === "same instance" ? up : await (await t.reopen()).upload(id);
        expect(await next.append(bodyOf(second))).toBe(first.length + second.length);
        const d = digestOf(first, second);
        expect((await next.commit(d)).size).toBe(first.length + second.length);
        expect((await readAll(await store.open(d))).equals(Buffer.concat([first, second]))).toBe(true);
        await store.delete(d);
      }
    });

    it("a body of another length than declared is SIZE_INVALID and adds nothing", async () => {
      const up = await store.upload(newUploadId());
      await up.append(bodyOf(Buffer.from("head-")));
      await expectCode(up.append(bodyOf(Buffer.from("12345")), { expectedLength: 3 }), "SIZE_INVALID");
      await expectCode(up.append(bodyOf(Buffer.from("12")), { expectedLength: 3 }), "SIZE_INVALID");
      // Short by one byte after more than two parts' worth.
      const big = randomBytes(11 * MiB);
      await expectCode(up.append(bodyOf(big), { expectedLength: big.length + 1 }), "SIZE_INVALID");
      expect(await up.size()).toBe(5);
      await up.append(bodyOf(big), { expectedLength: big.length });
      const d = digestOf(Buffer.from("head-"), big);
      expect((await up.commit(d)).size).toBe(5 + big.length);
      expect((await readAll(await store.open(d, { start: 0, end: 9 }))).toString("latin1").slice(0, 5)).toBe(
        "head-",
      );
    });

    it("cancel removes the session: its handle answers BLOB_UPLOAD_UNKNOWN, upload(id) starts anew", async () => {
      const id = newUploadId();
      const up = await store.upload(id);
      await up.append(bodyOf(randomBytes(6 * MiB)));
      expect((await collect(store.listUploads())).map((u) => u.id)).toContain(id);
      await up.cancel();
      await expectCode(up.size(), "BLOB_UPLOAD_UNKNOWN");
      await expectCode(up.append(bodyOf(Buffer.from("more"))), "BLOB_UPLOAD_UNKNOWN");
      await expectCode(up.commit(digestOf()), "BLOB_UPLOAD_UNKNOWN");
      expect((await collect(store.listUploads())).map((u) => u.id)).not.toContain(id);
      await up.cancel();
      const fresh = await store.upload(id);
      expect(await fresh.size()).toBe(0);
      await fresh.cancel();
    });

    it("refuses hostile upload ids", async () => {
      await expectCode(store.upload("../../etc/passwd"), "BLOB_UPLOAD_UNKNOWN");
      await expectCode(store.upload("short"), "BLOB_UPLOAD_UNKNOWN");
    });

    it("delete says whether there was a blob; open and read of an absent blob are BLOB_UNKNOWN", async () => {
      const data = Buffer.from("to be deleted");
      const d = digestOf(data);
      await expectCode(store.open(d), "BLOB_UNKNOWN");
      await expectCode(store.open(d, { start: 0, end: 1 }), "BLOB_UNKNOWN");
      await expectCode(store.read(d), "BLOB_UNKNOWN");
      expect(await store.delete(d)).toBe(false);
      await store.putBuffer(d, data);
      expect(await store.delete(d)).toBe(true);
      expect(await store.stat(d)).toBeNull();
      await expectCode(store.read(d), "BLOB_UNKNOWN");
      expect(await store.delete(d)).toBe(false);
    });

    it("stat and touch: touch moves modifiedAt (GC's grace period), and ignores absent blobs", async () => {
      const data = Buffer.from("touch me");
      const d = digestOf(data);
      expect(await store.stat(d)).toBeNull();
      await store.touch(d);
      await store.putBuffer(d, data);
      const before = await store.stat(d);
      expect(before?.size).toBe(data.length);
      // S3's LastModified has a resolution of one second.
      await new Promise((r) => setTimeout(r, 1100));
      await store.touch(d);
      const after = await store.stat(d);
      expect(after!.modifiedAt.getTime()).toBeGreaterThan(before!.modifiedAt.getTime());
      expect(after!.size).toBe(data.length);
      expect(await store.read(d)).toEqual(data);
    });

    it("re-uploading a stored blob keeps one copy and refreshes it", async () => {
      const data = randomBytes(5 * MiB + 1);
      const d = digestOf(data);
      for (let i = 0; i < 2; i++) {
        const up = await store.upload(newUploadId());
        await up.append(bodyOf(data));
        expect(await up.commit(d)).toMatchObject({ digest: d, size: data.length });
      }
      expect((await collect(store.list())).map((b) => b.digest)).toEqual([d]);
      expect((await collect(store.listUploads())).length).toBe(0);
    });

    it("lists blobs and upload sessions (for GC), and counts the bytes", async () => {
      const x = Buffer.from("blob x");
      const y = randomBytes(5 * MiB + 9);
      await store.putBuffer(digestOf(x), x);
      const up = await store.upload(newUploadId());
      await up.append(bodyOf(y));
      await up.commit(digestOf(y));
      const open1 = newUploadId();
      const open2 = newUploadId();
      await (await store.upload(open1)).append(bodyOf(Buffer.from("in progress")));
      await store.upload(open2);
      const blobs = await collect(store.list());
      expect(blobs.map((b) => [b.digest, b.size]).sort()).toEqual(
        [
          [digestOf(x), x.length],
          [digestOf(y), y.length],
        ].sort(),
      );
      for (const b of blobs) expect(Math.abs(b.modifiedAt.getTime() - Date.now())).toBeLessThan(60_000);
      const uploads = await collect(store.listUploads());
      expect(uploads.map((u) => u.id).sort()).toEqual([open1, open2].sort());
      for (const u of uploads) expect(Math.abs(u.modifiedAt.getTime() - Date.now())).toBeLessThan(60_000);
      expect(await store.totalBytes()).toBe(x.length + y.length);
      await store.delete(digestOf(x));
      expect(await store.totalBytes()).toBe(y.length);
    });

    it("optional capabilities, where a store has them, give the blob's bytes", async () => {
      const data = randomBytes(2 * MiB + 3);
      const d = digestOf(data);
      await store.putBuffer(d, data);
      if (store.localFile) {
        const f = await store.localFile(d);
        expect(f?.size).toBe(data.length);
        expect((await readFile(f!.path)).equals(data)).toBe(true);
        expect(await store.localFile(digestOf(Buffer.from("absent")))).toBeNull();
      }
      const s = await store.open(d);
      if (isDirectBlobStream(s)) {
        const chunks: Buffer[] = [];
        const sink = new Writable({
          write(c: Buffer, _e, cb) {
            chunks.push(Buffer.from(c));
            cb();
          },
        });
        await s.writeTo(sink);
        expect(Buffer.concat(chunks).equals(data)).toBe(true);
      } else {
        expect((await readAll(s)).equals(data)).toBe(true);
      }
      if (store.presignedUrl) {
        const url = await store.presignedUrl(d, 60);
        if (url !== null) {
          const res = await fetch(url);
          expect(res.status).toBe(200);
          expect(Buffer.from(await res.arrayBuffer()).equals(data)).toBe(true);
        }
      }
    });

    describe("named objects (reports, exports)", () => {
      const keysOf = async (prefix: string) =>
        (await collect(store.listObjects(prefix))).map((o) => o.key).sort();
      const bytesOf = async (key: string, s: BlobStore = store) => {
        const r = await s.getObject(key);
        return r === null ? null : readAll(r);
      };

      it("puts from a buffer and from a stream across several parts, reads, lists, deletes", async () => {
        const small = Buffer.from("AWS Account Id,Severity\n123456789012,HIGH\n");
        const big = randomBytes(11 * MiB + 5);
        expect(await store.putObject("reports/b/r1.csv", small, { contentType: "text/csv" })).toMatchObject({
          key: "reports/b/r1.csv",
          size: small.length,
        });
        expect(await store.putObject("reports/b/deep/r2.json", bodyOf(big))).toMatchObject({
          key: "reports/b/deep/r2.json",
          size: big.length,
        });
        expect((await bytesOf("reports/b/r1.csv"))!.equals(small)).toBe(true);
        expect((await bytesOf("reports/b/deep/r2.json"))!.equals(big)).toBe(true);
        expect(await store.statObject("reports/b/deep/r2.json")).toMatchObject({ size: big.length });
        expect(await keysOf("")).toEqual(["reports/b/deep/r2.json", "reports/b/r1.csv"]);
        expect(await keysOf("reports/b/deep/")).toEqual(["reports/b/deep/r2.json"]);
        expect(await keysOf("reports/other/")).toEqual([]);
        // Another instance (node) on the same storage sees them.
        const other = await t.reopen();
        expect((await bytesOf("reports/b/r1.csv", other))!.equals(small)).toBe(true);
        expect(await other.deleteObject("reports/b/deep/r2.json")).toBe(true);
        expect(await store.deleteObject("reports/b/deep/r2.json")).toBe(false);
        expect(await store.statObject("reports/b/deep/r2.json")).toBeNull();
        expect(await store.getObject("reports/b/deep/r2.json")).toBeNull();
        expect(await keysOf("")).toEqual(["reports/b/r1.csv"]);
        // An empty object, and an overwrite.
        await store.putObject("reports/b/empty", Buffer.alloc(0));
        expect(await store.statObject("reports/b/empty")).toMatchObject({ size: 0 });
        await store.putObject("reports/b/r1.csv", bodyOf(Buffer.from("v2")));
        expect((await bytesOf("reports/b/r1.csv"))!.toString()).toBe("v2");
      });

      it("is never visible half-written; a failed stream leaves the previous object intact and nothing else", async () => {
        await store.putObject("reports/b/r.csv", Buffer.from("previous"));
        // A body that pauses midway: the object under the key is still the previous one.
        const first = randomBytes(6 * MiB);
        let release: () => void = () => {};
        const gate = new Promise<void>((res) => (release = res));
        let sent = false;
        const body = new Readable({
          read() {
            if (!sent) {
              sent = true;
              this.push(first);
              return;
            }
            void gate.then(() => {
              this.push(Buffer.from("end"));
              this.push(null);
            });
          },
        });
        const writing = store.putObject("reports/b/r.csv", body);
        await new Promise((res) => setTimeout(res, 300));
        expect((await bytesOf("reports/b/r.csv"))!.toString()).toBe("previous");
        expect(await keysOf("reports/")).toEqual(["reports/b/r.csv"]);
        release();
        expect((await writing).size).toBe(first.length + 3);
        expect((await bytesOf("reports/b/r.csv"))!.equals(Buffer.concat([first, Buffer.from("end")]))).toBe(
          true,
        );
        // Failures after less than a part and after several parts publish nothing.
        for (const failAfter of [1000, 12 * MiB]) {
          await expect(
            store.putObject("reports/b/r.csv", bodyOf(randomBytes(20 * MiB), failAfter)),
          ).rejects.toThrow(/client went away/);
          await expect(
            store.putObject(`reports/b/new-${failAfter}.csv`, bodyOf(randomBytes(20 * MiB), failAfter)),
          ).rejects.toThrow(/client went away/);
          expect(await store.statObject(`reports/b/new-${failAfter}.csv`)).toBeNull();
          expect((await bytesOf("reports/b/r.csv"))!.length).toBe(first.length + 3);
        }
        expect(await keysOf("")).toEqual(["reports/b/r.csv"]);
      });

      it("keeps objects apart from blobs and uploads (GC never sees them)", async () => {
        const data = Buffer.from("not a blob");
        await store.putObject(`reports/b/${digestOf(data)}`, data);
        expect(await collect(store.list())).toEqual([]);
        expect(await collect(store.listUploads())).toEqual([]);
        expect(await store.stat(digestOf(data))).toBeNull();
        expect(await store.totalBytes()).toBe(0);
      });

      it("refuses hostile keys and prefixes before writing anything", async () => {
        for (const key of [
          "",
          "/abs",
          "../x",
          "a/../../x",
          "a//b",
          "a/./b",
          "a/",
          "a\\b",
          "a\u0000b",
          "x".repeat(1025),
        ]) {
          await expect(store.putObject(key, Buffer.from("x")), key).rejects.toThrow(/invalid object key/);
          await expect(store.getObject(key), key).rejects.toThrow(/invalid object key/);
          await expect(store.statObject(key), key).rejects.toThrow(/invalid object key/);
          await expect(store.deleteObject(key), key).rejects.toThrow(/invalid object key/);
        }
        await expect(collect(store.listObjects("reports"))).rejects.toThrow(/must end with/);
        await expect(collect(store.listObjects("../"))).rejects.toThrow(/invalid object key/);
        expect(await keysOf("")).toEqual([]);
      });
    });
  });
}
