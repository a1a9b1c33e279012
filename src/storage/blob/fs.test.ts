import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { sha256, type Digest } from "../../core/digest.js";
import { RegistryError } from "../../core/errors.js";
import { FsBlobStore } from "./fs.js";
import { BLOB_READ_PATHS, readBlobsThrough } from "./testing.js";

async function readAll(r: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of r) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** A stream that yields some bytes, then fails like a client disconnecting mid-body. */
function failingStream(first: Buffer): Readable {
  let sent = false;
  return new Readable({
    read() {
      if (!sent) {
        sent = true;
        this.push(first);
      } else {
        this.destroy(new Error("aborted"));
      }
    },
  });
}

describe("FsBlobStore", () => {
  let root: string;
  let store: FsBlobStore;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "drydock-blob-"));
    store = await FsBlobStore.open(root);
  });
  afterEach(async () => rm(root, { recursive: true, force: true }));

  it("publishes a chunked upload only after commit verifies the digest", async () => {
    const data = Buffer.from("hello, registry ".repeat(1000));
    const digest = sha256(data);
    const up = await store.upload("upload-0001");
    expect(await up.append(Readable.from([data.subarray(0, 5000)]))).toBe(5000);
    expect(await store.stat(digest)).toBeNull();
    expect(await up.append(Readable.from([data.subarray(5000)]))).toBe(data.length);
    const info = await up.commit(digest);
    expect(info.size).toBe(data.length);
    expect(await readAll(await store.open(digest))).toEqual(data);
    expect(await readdir(join(root, "uploads"))).toEqual([]);
  });

  it("names the local file of a published blob (for readers of their own), nothing for an absent one", async () => {
    const data = Buffer.from("layer bytes");
    const digest = sha256(data);
    expect(await store.localFile(digest)).toBeNull();
    await store.putBuffer(digest, data);
    const f = await store.localFile(digest);
    expect(f?.size).toBe(data.length);
    expect(await readFile(f!.path)).toEqual(data);
  });

  it("rejects a wrong digest and publishes nothing", async () => {
    const up = await store.upload("upload-0002");
    await up.append(Readable.from([Buffer.from("abc")]));
    const wrong = sha256("abd");
    await expect(up.commit(wrong)).rejects.toMatchObject({ code: "DIGEST_INVALID" });
    expect(await store.stat(wrong)).toBeNull();
    expect(await store.stat(sha256("abc"))).toBeNull();
  });

  it("resumes an upload in a new store instance (restart) with the right running digest", async () => {
    const data = Buffer.from("0123456789".repeat(500));
    await (await store.upload("upload-0003")).append(Readable.from([data.subarray(0, 1234)]));
    const restarted = await FsBlobStore.open(root);
    const up = await restarted.upload("upload-0003");
    expect(await up.size()).toBe(1234);
    await up.append(Readable.from([data.subarray(1234)]));
    await up.commit(sha256(data));
    expect(await readAll(await restarted.open(sha256(data)))).toEqual(data);
  });

  it("a failed append (client disconnect) adds nothing", async () => {
    const up = await store.upload("upload-0004");
    await up.append(Readable.from([Buffer.from("first-")]));
    await expect(up.append(failingStream(Buffer.from("half a chunk")))).rejects.toThrow();
    expect(await up.size()).toBe(6);
    await up.append(Readable.from([Buffer.from("second")]));
    await up.commit(sha256("first-second"));
    expect((await readAll(await store.open(sha256("first-second")))).toString()).toBe("first-second");
  });

  it("enforces the declared length", async () => {
    const up = await store.upload("upload-0005");
    await expect(
      up.append(Readable.from([Buffer.from("12345")]), { expectedLength: 3 }),
    ).rejects.toMatchObject({
      code: "SIZE_INVALID",
    });
    await expect(up.append(Readable.from([Buffer.from("12")]), { expectedLength: 3 })).rejects.toMatchObject({
      code: "SIZE_INVALID",
    });
    expect(await up.size()).toBe(0);
  });

  it("serves byte ranges", async () => {
    const data = Buffer.from("abcdefghijklmnopqrstuvwxyz");
    const d = sha256(data);
    await store.putBuffer(d, data);
    expect((await readAll(await store.open(d, { start: 2, end: 5 }))).toString()).toBe("cdef");
  });

  it("keeps one copy per digest and refreshes its mtime on re-upload", async () => {
    const data = Buffer.from("same bytes");
    const d = sha256(data);
    await store.putBuffer(d, data);
    const path = store.blobPath(d);
    const old = new Date(Date.now() - 3600_000);
    const { utimes } = await import("node:fs/promises");
    await utimes(path, old, old);
    const up = await store.upload("upload-0006");
    await up.append(Readable.from([data]));
    await up.commit(d);
    expect((await stat(path)).mtimeMs).toBeGreaterThan(old.getTime() + 1000);
    const all: string[] = [];
    for await (const b of store.list()) all.push(b.digest);
    expect(all).toEqual([d]);
  });

  it("reports unknown blobs and rejects hostile upload ids", async () => {
    await expect(store.open(sha256("nope"))).rejects.toBeInstanceOf(RegistryError);
    await expect(store.upload("../../etc/passwd")).rejects.toMatchObject({ code: "BLOB_UPLOAD_UNKNOWN" });
    expect(() => store.blobPath("sha256:../../x" as Digest)).toThrow(RegistryError);
  });

  it.each(BLOB_READ_PATHS)("reads a small blob whole, %s; BLOB_UNKNOWN when absent", async (_, suspend) => {
    readBlobsThrough(suspend);
    const data = Buffer.from('{"schemaVersion":2}');
    await store.putBuffer(sha256(data), data);
    expect(await store.read(sha256(data))).toEqual(data);
    await expect(store.read(sha256("nope"))).rejects.toMatchObject({ code: "BLOB_UNKNOWN" });
  });

  it("putBuffer refuses content that does not match the digest", async () => {
    await expect(store.putBuffer(sha256("a"), Buffer.from("b"))).rejects.toMatchObject({
      code: "DIGEST_INVALID",
    });
    expect(await store.stat(sha256("a"))).toBeNull();
  });
});
