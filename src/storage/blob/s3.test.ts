import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  UploadPartCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { createHash, randomBytes } from "node:crypto";
import { Readable, Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Digest } from "../../core/digest.js";
import { ConfigError } from "../../core/errors.js";
import { S3BlobStore, type S3BlobStoreOptions } from "./s3.js";
import { isDirectBlobStream, type DirectBlobStream } from "./types.js";
import {
  CEPH_START_TIMEOUT_MS,
  createBucket,
  s3Client,
  skipS3Tests,
  startCeph,
  type CephS3,
} from "./s3-testing.js";

/**
 * What the conformance suite cannot see of the S3 store: its layout in the bucket, the
 * multipart mapping (parts, tail), which commits read the bytes back, the recovery paths
 * (parts left by failed appends, a commit resumed after the multipart upload completed, an
 * append after a failed commit), large copies, presigned URLs. On a real radosgw.
 */

const MiB = 1024 * 1024;

function digestOf(...parts: Buffer[]): Digest {
  const h = createHash("sha256");
  for (const p of parts) h.update(p);
  return `sha256:${h.digest("hex")}` as Digest;
}

function bodyOf(data: Buffer, failAfter?: number): Readable {
  const chunk = 256 * 1024;
  let offset = 0;
  return new Readable({
    read() {
      if (failAfter !== undefined && offset >= failAfter)
        return void this.destroy(new Error("client went away"));
      if (offset >= data.length) return void this.push(null);
      const end = Math.min(data.length, offset + chunk, failAfter ?? Infinity);
      this.push(data.subarray(offset, end));
      offset = end;
    },
  });
}

async function readAll(r: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of r) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

interface StateJson {
  size: number;
  multipart: { key: string; uploadId: string } | null;
  parts: { n: number; etag: string; size: number }[];
  tail: { key: string; size: number } | null;
  assembled: { key: string; digest?: string } | null;
}

describe.skipIf(skipS3Tests("S3 blob store tests") !== null)("S3BlobStore on Ceph radosgw", () => {
  let s3: CephS3;
  let bucket: string;
  let client: S3Client;
  let n = 0;
  const opened: S3BlobStore[] = [];

  beforeAll(async () => {
    s3 = await startCeph();
    bucket = await createBucket(s3);
    client = s3Client(s3);
  }, CEPH_START_TIMEOUT_MS);
  afterAll(async () => {
    for (const s of opened) s.client.destroy();
    client?.destroy();
    await s3?.stop();
  });

  /** A store on a fresh prefix with 5 MiB parts, and a function opening more instances on it. */
  async function fresh(extra: Partial<S3BlobStoreOptions> = {}) {
    const options: S3BlobStoreOptions = {
      bucket,
      prefix: `t${++n}/`,
      endpoint: s3.endpoint,
      region: s3.region,
      forcePathStyle: true,
      credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
      partSize: 5 * MiB,
      ...extra,
    };
    const open = async () => {
      const s = await S3BlobStore.open(options);
      opened.push(s);
      return s;
    };
    return { store: await open(), open, prefix: options.prefix! };
  }

  async function keys(prefix: string): Promise<string[]> {
    const res = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
    return (res.Contents ?? []).map((o) => o.Key!.slice(prefix.length)).sort();
  }

  async function multipartUploads(prefix: string): Promise<string[]> {
    const res = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: prefix }));
    return (res.Uploads ?? []).map((u) => u.Key!.slice(prefix.length));
  }

  async function state(prefix: string, id: string): Promise<StateJson> {
    const res = await client.send(
      new GetObjectCommand({ Bucket: bucket, Key: `${prefix}uploads/${id}/state.json` }),
    );
    return JSON.parse(await res.Body!.transformToString()) as StateJson;
  }

  it("maps 1 + 6 + 5 MiB chunks onto 5 MiB parts and a tail, and leaves only blobs/sha256/<hex>", async () => {
    const { store, prefix } = await fresh();
    const chunks = [randomBytes(MiB), randomBytes(6 * MiB), randomBytes(5 * MiB)];
    const id = "twelve-mib-0001";
    const up = await store.upload(id);
    expect(await keys(prefix)).toEqual([`uploads/${id}/state.json`]);

    await up.append(bodyOf(chunks[0]!));
    let s = await state(prefix, id);
    expect(s).toMatchObject({ size: MiB, multipart: null, parts: [], tail: { size: MiB } });

    await up.append(bodyOf(chunks[1]!));
    s = await state(prefix, id);
    expect(s.size).toBe(7 * MiB);
    expect(s.parts.map((p) => [p.n, p.size])).toEqual([[1, 5 * MiB]]);
    expect(s.tail?.size).toBe(2 * MiB);
    expect(await multipartUploads(prefix)).toEqual([s.multipart!.key.slice(prefix.length)]);

    await up.append(bodyOf(chunks[2]!));
    s = await state(prefix, id);
    expect(s.size).toBe(12 * MiB);
    expect(s.parts.map((p) => [p.n, p.size])).toEqual([
      [1, 5 * MiB],
      [2, 5 * MiB],
    ]);
    expect(s.tail?.size).toBe(2 * MiB);
    // One tail object at a time: the previous one is deleted once the new state is written.
    expect((await keys(`${prefix}uploads/${id}/`)).filter((k) => k.startsWith("tail-"))).toEqual([
      s.tail!.key.slice(`${prefix}uploads/${id}/`.length),
    ]);

    const d = digestOf(...chunks);
    expect((await up.commit(d)).size).toBe(12 * MiB);
    // The running hash of this instance: nothing was read back.
    expect(store.rehashedBytes).toBe(0);
    expect(await keys(prefix)).toEqual([`blobs/sha256/${d.slice("sha256:".length)}`]);
    expect(await multipartUploads(prefix)).toEqual([]);
    expect((await readAll(await store.open(d))).equals(Buffer.concat(chunks))).toBe(true);
  });

  it("an upload continued by a second instance is read back once at commit, with the right digest", async () => {
    const { store, open, prefix } = await fresh();
    const a = randomBytes(7 * MiB + 3);
    const b = randomBytes(MiB);
    await (await store.upload("second-node-01")).append(bodyOf(a));
    const other = await open();
    const up = await other.upload("second-node-01");
    expect(await up.size()).toBe(a.length);
    await up.append(bodyOf(b));
    expect((await up.commit(digestOf(a, b))).size).toBe(a.length + b.length);
    expect(other.rehashedBytes).toBe(a.length + b.length);
    expect((await readAll(await store.open(digestOf(a, b)))).equals(Buffer.concat([a, b]))).toBe(true);
    expect(await keys(`${prefix}uploads/`)).toEqual([]);
  });

  it("commits past parts left by failed appends (rgw completes only with every part)", async () => {
    const { store, open, prefix } = await fresh();
    const first = randomBytes(6 * MiB);
    const big = randomBytes(20 * MiB);
    const last = randomBytes(MiB + 1);
    for (const committer of ["same", "other"] as const) {
      const id = `stale-parts-${committer}`;
      const up = await store.upload(id);
      await up.append(bodyOf(first));
      // Parts 2, 3 (and perhaps 4) reach S3 before the client goes away.
      await expect(up.append(bodyOf(big, 17 * MiB))).rejects.toThrow("client went away");
      const s = await state(prefix, id);
      expect(s.parts.length).toBe(1);
      await up.append(bodyOf(last));
      const c = committer === "same" ? store : await open();
      const before = c.rehashedBytes;
      const d = digestOf(first, last);
      expect((await (await c.upload(id)).commit(d)).size).toBe(first.length + last.length);
      expect(c.rehashedBytes - before).toBe(committer === "same" ? 0 : first.length + last.length);
      expect((await readAll(await store.open(d))).equals(Buffer.concat([first, last]))).toBe(true);
      expect(await multipartUploads(prefix)).toEqual([]);
      expect(await keys(`${prefix}uploads/`)).toEqual([]);
    }
  });

  it("resumes a commit whose multipart upload was completed before a crash", async () => {
    const { store, open, prefix } = await fresh();
    const data = randomBytes(8 * MiB);
    const id = "crash-after-complete";
    await (await store.upload(id)).append(bodyOf(data));
    // What commit does up to the crash: the tail as the last part, completion; no new state.
    const s = await state(prefix, id);
    const tail = await client.send(new GetObjectCommand({ Bucket: bucket, Key: s.tail!.key }));
    const body = Buffer.from(await tail.Body!.transformToByteArray());
    const mp = s.multipart!;
    const part2 = await client.send(
      new UploadPartCommand({
        Bucket: bucket,
        Key: mp.key,
        UploadId: mp.uploadId,
        PartNumber: 2,
        Body: body,
      }),
    );
    await client.send(
      new CompleteMultipartUploadCommand({
        Bucket: bucket,
        Key: mp.key,
        UploadId: mp.uploadId,
        MultipartUpload: {
          Parts: [
            { PartNumber: 1, ETag: s.parts[0]!.etag },
            { PartNumber: 2, ETag: part2.ETag },
          ],
        },
      }),
    );
    const restarted = await open();
    expect((await (await restarted.upload(id)).commit(digestOf(data))).size).toBe(data.length);
    expect((await restarted.read(digestOf(data))).equals(data)).toBe(true);
    expect(await keys(`${prefix}uploads/`)).toEqual([]);
  });

  it("appends after a failed commit that had assembled the bytes, small or large", async () => {
    const { store, open, prefix } = await fresh();
    for (const size of [3 * MiB, 11 * MiB + 7]) {
      const id = `append-after-assembly-${size}`;
      const a = randomBytes(size);
      const b = randomBytes(2 * MiB);
      await (await store.upload(id)).append(bodyOf(a));
      const other = await open();
      const up = await other.upload(id);
      await expect(up.commit(digestOf(b))).rejects.toMatchObject({ code: "DIGEST_INVALID" });
      if (size > 5 * MiB) expect((await state(prefix, id)).assembled?.digest).toBe(digestOf(a));
      await up.append(bodyOf(b));
      expect(await up.size()).toBe(a.length + b.length);
      expect((await up.commit(digestOf(a, b))).size).toBe(a.length + b.length);
      expect((await readAll(await store.open(digestOf(a, b)))).equals(Buffer.concat([a, b]))).toBe(true);
    }
    expect(await keys(`${prefix}uploads/`)).toEqual([]);
    expect(await multipartUploads(prefix)).toEqual([]);
  });

  it("copies objects larger than CopyObject allows with UploadPartCopy ranges (publish and touch)", async () => {
    // Limits lowered so that 12 MiB takes the path of blobs over 5 GiB.
    const { store } = await fresh({ maxCopyObjectBytes: 6 * MiB, copyPartSize: 5 * MiB });
    const data = randomBytes(12 * MiB + 5);
    const d = digestOf(data);
    const up = await store.upload("large-copy-0001");
    await up.append(bodyOf(data));
    expect((await up.commit(d)).size).toBe(data.length);
    const before = await store.stat(d);
    await new Promise((r) => setTimeout(r, 1100));
    await store.touch(d);
    const after = await store.stat(d);
    expect(after!.modifiedAt.getTime()).toBeGreaterThan(before!.modifiedAt.getTime());
    expect((await readAll(await store.open(d))).equals(data)).toBe(true);
  });

  it("cancel aborts every multipart upload of the session, even one no state names", async () => {
    const { store, prefix } = await fresh();
    const id = "orphan-multipart";
    const up = await store.upload(id);
    await up.append(bodyOf(randomBytes(6 * MiB)));
    // As left by a process killed between CreateMultipartUpload and its state write.
    await client.send(
      new CreateMultipartUploadCommand({ Bucket: bucket, Key: `${prefix}uploads/${id}/data-lost` }),
    );
    expect((await multipartUploads(prefix)).length).toBe(2);
    await up.cancel();
    expect(await multipartUploads(prefix)).toEqual([]);
    expect(await keys(prefix)).toEqual([]);

    // GC finds a session that has only a multipart upload left.
    await client.send(
      new CreateMultipartUploadCommand({ Bucket: bucket, Key: `${prefix}uploads/lonely-mp-01/data-x` }),
    );
    const listed: string[] = [];
    for await (const u of store.listUploads()) listed.push(u.id);
    expect(listed).toEqual(["lonely-mp-01"]);
    await (await store.upload("lonely-mp-01")).cancel();
    expect(await multipartUploads(prefix)).toEqual([]);
  });

  it("named objects land under objects/ (small, and across parts) with their content type; a failed stream leaves no multipart upload", async () => {
    const { store, prefix } = await fresh();
    await store.putObject("reports/b/small.csv", bodyOf(randomBytes(MiB)), { contentType: "text/csv" });
    const big = randomBytes(12 * MiB + 1);
    await store.putObject("reports/b/big.json", bodyOf(big));
    expect(await keys(prefix)).toEqual(["objects/reports/b/big.json", "objects/reports/b/small.csv"]);
    const head = await client.send(
      new GetObjectCommand({ Bucket: bucket, Key: `${prefix}objects/reports/b/small.csv` }),
    );
    expect(head.ContentType).toBe("text/csv");
    await head.Body!.transformToByteArray();
    expect((await readAll((await store.getObject("reports/b/big.json"))!)).equals(big)).toBe(true);
    // A stream that fails after two parts: its multipart upload is aborted, nothing appears.
    await expect(
      store.putObject("reports/b/broken.json", bodyOf(randomBytes(20 * MiB), 11 * MiB)),
    ).rejects.toThrow(/client went away/);
    expect(await multipartUploads(prefix)).toEqual([]);
    expect(await keys(prefix)).toEqual(["objects/reports/b/big.json", "objects/reports/b/small.csv"]);
  });

  it("a named object's multipart upload left by a killed writer is aborted when a store opens, once old enough", async () => {
    const { prefix, store } = await fresh();
    // As left by a process killed while streaming a report (between two UploadParts).
    await client.send(
      new CreateMultipartUploadCommand({ Bucket: bucket, Key: `${prefix}objects/reports/b/killed.csv` }),
    );
    await client.send(
      new CreateMultipartUploadCommand({ Bucket: bucket, Key: `${prefix}uploads/live-upload-01/data-1` }),
    );
    // A store opened now keeps it: it may be a write going on in another process.
    await fresh({ prefix });
    expect(await multipartUploads(`${prefix}objects/`)).toHaveLength(1);
    // Once older than the margin, the next open aborts it; upload sessions are GC's, not touched.
    await new Promise((r) => setTimeout(r, 1100));
    await fresh({ prefix, abandonedObjectWriteMs: 1000 });
    expect(await multipartUploads(`${prefix}objects/`)).toEqual([]);
    expect(await multipartUploads(`${prefix}uploads/`)).toHaveLength(1);
    await (await store.upload("live-upload-01")).cancel();
  });

  it("GETs over its own socket send every byte, to a slow destination or as a stream, ranges included; the SDK's path gives the same", async () => {
    const { store, prefix } = await fresh();
    const data = randomBytes(3 * MiB + 12345);
    const d = digestOf(data);
    await store.putBuffer(d, data);
    const sdk = await fresh({ directGets: false, prefix });
    // a destination that takes its time: the socket must wait for each write
    const got: Buffer[] = [];
    const slow = new Writable({
      highWaterMark: 1024,
      write(chunk: Buffer, _enc, cb) {
        got.push(Buffer.from(chunk));
        setTimeout(cb, 1);
      },
    });
    const stream = await store.open(d);
    expect(isDirectBlobStream(stream)).toBe(true);
    let counted = 0;
    await (stream as DirectBlobStream).writeTo(slow, (n) => (counted += n));
    expect(Buffer.concat(got).equals(data)).toBe(true);
    expect(counted).toBe(data.length);
    const read = async (r: Readable) => {
      const parts: Buffer[] = [];
      for await (const c of r) parts.push(c as Buffer);
      return Buffer.concat(parts);
    };
    expect((await read(await store.open(d))).equals(data)).toBe(true);
    const range = { start: 1000, end: 2 * MiB + 7 };
    expect((await read(await store.open(d, range))).equals(data.subarray(1000, 2 * MiB + 8))).toBe(true);
    expect((await read(await sdk.store.open(d, range))).equals(data.subarray(1000, 2 * MiB + 8))).toBe(true);
    expect(await read(await store.open(d, { start: data.length + 5, end: data.length + 10 }))).toHaveLength(
      0,
    );
    await expect(store.open(digestOf(Buffer.from("absent")))).rejects.toMatchObject({ code: "BLOB_UNKNOWN" });
    // a destination that closes early rejects, and the store goes on serving
    const closing = new Writable({
      write(_c, _e, cb) {
        this.destroy();
        cb();
      },
    });
    await expect(((await store.open(d)) as DirectBlobStream).writeTo(closing)).rejects.toThrow();
    expect((await read(await store.open(d))).equals(data)).toBe(true);
  });

  it("hands out presigned GET URLs that work without credentials, and only for that blob", async () => {
    const { store } = await fresh();
    const data = randomBytes(64 * 1024);
    const d = digestOf(data);
    await store.putBuffer(d, data);
    const url = (await store.presignedUrl(d, 300))!;
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer()).equals(data)).toBe(true);
    const ranged = await fetch(url, { headers: { Range: "bytes=10-19" } });
    expect(ranged.status).toBe(206);
    expect(Buffer.from(await ranged.arrayBuffer()).equals(data.subarray(10, 20))).toBe(true);
    const other = digestOf(Buffer.from("other"));
    const tampered = url.replace(d.slice("sha256:".length), other.slice("sha256:".length));
    expect((await fetch(tampered)).status).toBe(403);
    expect((await fetch(url.split("?")[0]!)).status).toBe(403);
  });

  it("open fails clearly on a missing bucket or wrong credentials", async () => {
    const base = {
      endpoint: s3.endpoint,
      region: s3.region,
      forcePathStyle: true,
      credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    };
    await expect(S3BlobStore.open({ ...base, bucket: "no-such-bucket-here" })).rejects.toThrow(ConfigError);
    await expect(S3BlobStore.open({ ...base, bucket: "no-such-bucket-here" })).rejects.toThrow(
      /does not exist/,
    );
    await expect(
      S3BlobStore.open({ ...base, bucket, credentials: { ...base.credentials, secretAccessKey: "wrong" } }),
    ).rejects.toThrow(/access denied/);
    expect(() => new S3BlobStore({ ...base, bucket, partSize: MiB })).toThrow(ConfigError);
  });
});
