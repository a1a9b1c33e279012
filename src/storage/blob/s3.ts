import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  UploadPartCopyCommand,
} from "@aws-sdk/client-s3";
import { KeyedQueue } from "../../core/keyed-queue.js";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { presignGet, templateFrom, type PresignTemplate } from "./s3-presign.js";
import { randomBytes, type Hash } from "node:crypto";
import { Readable } from "node:stream";
import { checkContent, newHash, parseDigest, type Digest, type DigestAlgorithm } from "../../core/digest.js";
import { ConfigError, RegistryError } from "../../core/errors.js";
import { canGetDirectly, ObjectGetError, openObject, UnsupportedFraming } from "./s3-get.js";
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

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
/** S3's smallest part (every part of a multipart upload but the last). */
const MIN_PART_BYTES = 5 * MiB;
/** S3's largest CopyObject, and largest UploadPartCopy range. */
const MAX_COPY_BYTES = 5 * GiB;
/** S3's highest part number. */
const MAX_PARTS = 10_000;
/** Parts of one append being sent to S3 at once (memory: this many parts plus one filling; docs/storage.md). */
const PARTS_IN_FLIGHT = 4;
/** Running hashes kept in memory (uploads between two requests); the oldest go first. */
const MAX_RUNNING_HASHES = 10_000;
/** totalBytes() lists the bucket at most this often; own writes adjust it in between. */
const TOTAL_TTL_MS = 10 * 60 * 1000;

/** A day, the margin after which a named object's multipart upload counts as abandoned. */
const DAY_MS = 86_400_000;

export interface S3BlobStoreOptions {
  bucket: string;
  /** Key prefix of every object this store writes, e.g. "drydock/" (a "/" is added if missing). */
  prefix?: string;
  /** S3 endpoint URL (Ceph radosgw, MinIO, ...); absent: AWS for `region`. */
  endpoint?: string;
  /** Default us-east-1. */
  region?: string;
  /** Path-style URLs (endpoint/bucket/key), needed by most self-hosted servers. */
  forcePathStyle?: boolean;
  /** Explicit keys; absent: the SDK's default chain (environment, profile, instance role, ...). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /**
   * Bytes per multipart part (default 8 MiB, at least 5 MiB). Parts 1001-2000 are twice as
   * large, 2001-3000 three times, and so on, so that S3's 10,000 parts hold 430 GiB with
   * the default. An append holds up to five parts in memory (four being sent, one filling).
   */
  partSize?: number;
  /** Larger objects are copied with UploadPartCopy ranges instead of CopyObject (default 5 GiB, S3's limit). */
  maxCopyObjectBytes?: number;
  /** Range of one UploadPartCopy (default 1 GiB). */
  copyPartSize?: number;
  /** Use this client instead of building one from the options above. */
  client?: S3Client;
  /**
   * Blob GETs on a plain socket with a reused buffer (s3-get.ts) instead of the SDK's stream;
   * default: when the endpoint is plain HTTP (a TLS socket cannot read into a given buffer).
   */
  directGets?: boolean;
  /**
   * Multipart uploads of named objects started longer ago than this (default a day) are
   * aborted when the store is opened: the writes of a process killed while streaming a report.
   */
  abandonedObjectWriteMs?: number;
}

/**
 * The state of an upload session, a small JSON object in S3 (`uploads/<id>/state.json`), so
 * that any node can continue the session. It is written last by every append: a failed
 * append leaves the previous state, which names only objects and parts that are intact.
 */
interface UploadState {
  v: 1;
  /** New on every write; an in-memory running hash is valid for one (rev, size). */
  rev: string;
  /** Bytes received. */
  size: number;
  /** The multipart upload holding the first bytes, created when the first part was full. */
  multipart: { key: string; uploadId: string } | null;
  /** Parts 1..n of `multipart`, in order: every byte before the tail. */
  parts: { n: number; etag: string; size: number }[];
  /** The bytes after the parts (fewer than one part), in one object. */
  tail: { key: string; size: number } | null;
  /**
   * Set once commit completed the multipart upload: all `size` bytes are in `key`. `digest`
   * is recorded once computed, so that a retried commit does not read the bytes again.
   */
  assembled: { key: string; digest?: string } | null;
}

interface RunningHash {
  rev: string;
  size: number;
  hash: Hash;
}

/**
 * Blob store on S3-compatible object storage (AWS S3, Ceph radosgw, MinIO). Layout under
 * the prefix:
 *
 *   blobs/<algorithm>/<hex>           published blobs (sha256)
 *   uploads/<id>/state.json           an upload session's state (UploadState)
 *   uploads/<id>/tail-<rev>           bytes after the last full part
 *   uploads/<id>/data-<rev>           the multipart upload of the session's parts, and the
 *                                     object it becomes at commit (before the digest check)
 *   objects/<key>                     named objects (reports, exports): one PUT when the body
 *                                     fits in a part, else a multipart upload of the stream,
 *                                     visible only once completed (one left by a killed
 *                                     process is aborted at open, once a day old)
 *
 * An OCI upload session maps onto one S3 multipart upload: an append's bytes are cut into
 * parts as they stream in (the tail of the previous append first), and the bytes that do not
 * fill a part are kept as the tail object, prepended to the next append or sent as the last
 * part at commit. The sha256 is computed as the bytes stream through (node:crypto) and kept
 * in this process for the session's next request, keyed by upload id, state revision and
 * size. A request served by another node (or after a restart) has no running hash: the
 * commit then reads the assembled bytes back from S3 to compute the digest, the rare and
 * correct fallback (docs/storage.md: why not a hash with exportable state).
 *
 * Commit: complete the multipart upload into `data-<rev>`, verify the digest, copy it to
 * `blobs/` (CopyObject, or UploadPartCopy ranges beyond 5 GiB), delete the upload's objects.
 * A blob is visible only after its digest was verified; S3 makes an object visible whole.
 * Small uploads (never a full part) are copied from their tail object; putBuffer puts
 * directly. Concurrent appends to one session on different nodes are not supported (clients
 * send a session's chunks one after another); on one node they are serialized.
 *
 * Ceph radosgw 16 deviations survived (docs/storage.md): request/response checksums only
 * when required, the empty ETag of CompleteMultipartUpload (not used), empty error messages
 * (errors are told apart by name and HTTP status), completion with every uploaded part
 * (parts left by failed appends are detected with ListParts and handled), NoSuchKey instead
 * of NoSuchUpload from ListParts on a finished upload.
 */
export class S3BlobStore implements BlobStore {
  readonly client: S3Client;
  readonly bucket: string;
  readonly prefix: string;
  private readonly partSize: number;
  private readonly maxCopyObjectBytes: number;
  private readonly copyPartSize: number;
  private readonly hashes = new Map<string, RunningHash>();
  private readonly uploadLocks = new KeyedQueue();
  private cachedTotal: { at: number; bytes: number } | null = null;
  /** Bytes read back from S3 to compute a digest without a running hash (for tests and metrics). */
  rehashedBytes = 0;
  /** Blob GETs on our own socket (s3-get.ts): plain-HTTP endpoints, until one refuses. */
  private directGets: boolean;
  /** How presigned URLs look for this client (s3-presign.ts); undefined until the first, null: the SDK's. */
  private presignTemplate: PresignTemplate | null | undefined;

  constructor(options: S3BlobStoreOptions) {
    this.bucket = options.bucket;
    this.directGets =
      options.directGets ?? (options.endpoint !== undefined && canGetDirectly(new URL(options.endpoint)));
    const prefix = options.prefix ?? "";
    this.prefix = prefix === "" || prefix.endsWith("/") ? prefix : `${prefix}/`;
    this.partSize = options.partSize ?? 8 * MiB;
    if (this.partSize < MIN_PART_BYTES) throw new ConfigError(`S3 part size must be at least 5 MiB`);
    this.maxCopyObjectBytes = Math.min(options.maxCopyObjectBytes ?? MAX_COPY_BYTES, MAX_COPY_BYTES);
    this.copyPartSize = options.copyPartSize ?? GiB;
    if (this.copyPartSize < MIN_PART_BYTES || this.copyPartSize > MAX_COPY_BYTES - MIN_PART_BYTES)
      throw new ConfigError(`S3 copy part size must be between 5 MiB and 5 GiB - 5 MiB`);
    this.client =
      options.client ??
      new S3Client({
        endpoint: options.endpoint,
        region: options.region ?? "us-east-1",
        forcePathStyle: options.forcePathStyle,
        credentials: options.credentials,
        // rgw 16 answers 411 to the SDK's default aws-chunked stream bodies with a CRC32
        // trailer, and other servers store the framing: checksums only where S3 requires them.
        requestChecksumCalculation: "WHEN_REQUIRED",
        responseChecksumValidation: "WHEN_REQUIRED",
      });
  }

  /** Builds the store and checks that the bucket is reachable with these credentials. */
  static async open(options: S3BlobStoreOptions): Promise<S3BlobStore> {
    const store = new S3BlobStore(options);
    try {
      await store.client.send(new HeadBucketCommand({ Bucket: store.bucket }));
    } catch (e) {
      const { name, status } = s3Error(e);
      const where = `bucket ${store.bucket}${options.endpoint ? ` at ${options.endpoint}` : ""}`;
      if (status === 404) throw new ConfigError(`S3 ${where} does not exist`);
      if (status === 403) throw new ConfigError(`S3 ${where}: access denied (check the credentials)`);
      throw new ConfigError(`S3 ${where} is not reachable: ${name ?? String(e)}`);
    }
    await store.abortObjectWrites(new Date(Date.now() - (options.abandonedObjectWriteMs ?? DAY_MS)));
    return store;
  }

  /**
   * Aborts the multipart uploads of named objects started before `startedBefore` (a process
   * killed mid-write leaves one, invisible but billed); returns how many. Like the filesystem
   * store's object-tmp/ sweep, it runs at open, with a day's margin for writes still going on.
   */
  async abortObjectWrites(startedBefore: Date): Promise<number> {
    let n = 0;
    for await (const m of this.listMultipartUploads(`${this.prefix}objects/`)) {
      if (m.initiated >= startedBefore) continue;
      await this.abortQuietly(m.key, m.uploadId);
      n++;
    }
    return n;
  }

  // --- keys ---------------------------------------------------------------------------

  private blobKey(digest: Digest): string {
    const p = parseDigest(digest);
    if (!p) throw new RegistryError("DIGEST_INVALID", `invalid digest ${digest}`);
    return `${this.prefix}blobs/${p.algorithm}/${p.encoded}`;
  }

  private uploadPrefix(id: string): string {
    if (!/^[A-Za-z0-9_-]{8,128}$/.test(id)) throw new RegistryError("BLOB_UPLOAD_UNKNOWN", "unknown upload");
    return `${this.prefix}uploads/${id}/`;
  }

  private stateKey(id: string): string {
    return `${this.uploadPrefix(id)}state.json`;
  }

  // --- blobs --------------------------------------------------------------------------

  async stat(digest: Digest): Promise<BlobInfo | null> {
    const key = this.blobKey(digest);
    const head = await this.head(key);
    return head && { digest, size: head.size, modifiedAt: head.modifiedAt };
  }

  async open(digest: Digest, range?: ByteRange): Promise<Readable> {
    const key = this.blobKey(digest);
    // Plain-HTTP endpoints: a GET on our own socket, relayed with a reused buffer (s3-get.ts).
    if (this.directGets) {
      const url = new URL(await this.presign(key, 300));
      try {
        return await openObject(url, range);
      } catch (e) {
        if (e instanceof ObjectGetError && e.status === 404)
          throw new RegistryError("BLOB_UNKNOWN", `blob ${digest} unknown`);
        if (e instanceof ObjectGetError && e.status === 416) return Readable.from([]);
        if (!(e instanceof UnsupportedFraming)) throw described(e, `GET ${key}`);
        this.directGets = false; // this endpoint answers in a framing the relay does not take
      }
    }
    try {
      const res = await this.client.send(
        new GetObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Range: range ? `bytes=${range.start}-${range.end}` : undefined,
        }),
      );
      return res.Body as unknown as Readable;
    } catch (e) {
      if (isAbsent(e)) throw new RegistryError("BLOB_UNKNOWN", `blob ${digest} unknown`);
      // A range starting at or after the end: an empty stream, as the filesystem store gives.
      if (s3Error(e).name === "InvalidRange") return Readable.from([]);
      throw described(e, `GET ${key}`);
    }
  }

  async read(digest: Digest): Promise<Buffer> {
    const key = this.blobKey(digest);
    try {
      return await this.getBuffer(key);
    } catch (e) {
      if (isAbsent(e)) throw new RegistryError("BLOB_UNKNOWN", `blob ${digest} unknown`);
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
    // One PUT: S3 makes the object visible whole or not at all.
    await this.putBytes(this.blobKey(digest), data);
    this.adjustTotal(data.length);
    return { digest, size: data.length, modifiedAt: new Date() };
  }

  async presignedUrl(digest: Digest, expiresInSeconds: number): Promise<string | null> {
    return this.presign(this.blobKey(digest), expiresInSeconds);
  }

  /**
   * A presigned GET of an object: by s3-presign.ts (a few HMACs) on the template of one URL
   * the SDK presigned for this client, made at the first call; by the SDK when that URL is of
   * a shape the template does not take.
   */
  private async presign(key: string, expiresIn: number): Promise<string> {
    const sdk = (k: string) =>
      getSignedUrl(this.client, new GetObjectCommand({ Bucket: this.bucket, Key: k }), { expiresIn });
    if (this.presignTemplate === undefined) {
      const sample = `${this.prefix}blobs/presign-template`;
      this.presignTemplate = templateFrom(await sdk(sample), sample);
    }
    if (!this.presignTemplate) return sdk(key);
    // The client's provider (memoized by the SDK, refreshed before temporary keys expire).
    const credentials = await this.client.config.credentials();
    return presignGet(this.presignTemplate, key, credentials, expiresIn, new Date());
  }

  /**
   * S3 has no way to set an object's LastModified, and metadata can only be changed by a
   * copy; a copy of the object onto itself (MetadataDirective REPLACE) is the one write that
   * moves LastModified, which stat and list then report, with no second object to read.
   * Its cost: radosgw shares the data of a copy in the same bucket (cheap), AWS copies the
   * bytes server-side (proportional to size). Touches are rare: a re-upload of a blob that
   * exists already (commit, putBuffer); the registry keeps "last used" in its metadata.
   */
  async touch(digest: Digest): Promise<void> {
    const key = this.blobKey(digest);
    const head = await this.head(key);
    if (!head) return;
    await this.copyObject(key, key, head.size);
  }

  async delete(digest: Digest): Promise<boolean> {
    const key = this.blobKey(digest);
    const head = await this.head(key);
    if (!head) return false;
    await this.call(
      this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key })),
      `DELETE ${key}`,
    );
    this.adjustTotal(-head.size);
    return true;
  }

  /** Lists the bucket (ListObjectsV2): for garbage collection, never on a request's path. */
  async *list(): AsyncIterable<BlobInfo> {
    const base = `${this.prefix}blobs/`;
    for await (const o of this.listKeys(base)) {
      const rest = o.key.slice(base.length);
      const digest = rest.replace("/", ":");
      if (!parseDigest(digest)) continue;
      yield { digest: digest as Digest, size: o.size, modifiedAt: o.modifiedAt };
    }
  }

  /** Upload ids with objects or multipart uploads under uploads/ (GC), with their last write. */
  async *listUploads(): AsyncIterable<{ id: string; modifiedAt: Date }> {
    const base = `${this.prefix}uploads/`;
    const seen = new Set<string>();
    let current: { id: string; modifiedAt: Date } | null = null;
    // Keys come sorted, so the objects of one upload are listed one after another.
    for await (const o of this.listKeys(base)) {
      const id = o.key.slice(base.length).split("/")[0]!;
      if (current && current.id !== id) {
        seen.add(current.id);
        yield current;
        current = null;
      }
      if (!current) current = { id, modifiedAt: o.modifiedAt };
      else if (o.modifiedAt > current.modifiedAt) current.modifiedAt = o.modifiedAt;
    }
    if (current) {
      seen.add(current.id);
      yield current;
    }
    // Multipart uploads whose objects are gone (a crash during cancel).
    for await (const m of this.listMultipartUploads(base)) {
      const id = m.key.slice(base.length).split("/")[0]!;
      if (seen.has(id)) continue;
      seen.add(id);
      yield { id, modifiedAt: m.initiated };
    }
  }

  /** Sum of the blobs' sizes: a listing, cached for 10 minutes and adjusted by this store's own writes. */
  async totalBytes(): Promise<number> {
    if (this.cachedTotal && Date.now() - this.cachedTotal.at < TOTAL_TTL_MS) return this.cachedTotal.bytes;
    let bytes = 0;
    for await (const b of this.list()) bytes += b.size;
    this.cachedTotal = { at: Date.now(), bytes };
    return bytes;
  }

  private adjustTotal(delta: number): void {
    if (this.cachedTotal) this.cachedTotal.bytes += delta;
  }

  // --- named objects ------------------------------------------------------------------

  private objectKey(key: string): string {
    checkObjectKey(key);
    return `${this.prefix}objects/${key}`;
  }

  /**
   * One PUT when the body fits in a part; otherwise the stream is cut into parts of a multipart
   * upload as it is read (one part in memory at a time), completed at the end of the stream and
   * aborted on any error, so that nothing is visible before the whole object is.
   */
  async putObject(key: string, body: Buffer | Readable, options: PutObjectOptions = {}): Promise<ObjectInfo> {
    const k = this.objectKey(key);
    const contentType = options.contentType ?? "application/octet-stream";
    if (Buffer.isBuffer(body)) {
      await this.putBytes(k, body, contentType);
      return { key, size: body.length, modifiedAt: new Date() };
    }
    let mp: { key: string; uploadId: string } | null = null;
    const parts: { n: number; etag: string; size: number }[] = [];
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    let size = 0;
    const sendPart = async () => {
      if (!mp) {
        const res = await this.call(
          this.client.send(
            new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: k, ContentType: contentType }),
          ),
          `CreateMultipartUpload ${k}`,
        );
        mp = { key: k, uploadId: res.UploadId! };
      }
      const n = parts.length + 1;
      const data = Buffer.concat(pending, pendingBytes);
      pending = [];
      pendingBytes = 0;
      const r = await this.call(
        this.client.send(
          new UploadPartCommand({
            Bucket: this.bucket,
            Key: k,
            UploadId: mp.uploadId,
            PartNumber: n,
            Body: data,
            ContentLength: data.length,
          }),
        ),
        `UploadPart ${n} of ${k}`,
      );
      if (!r.ETag) throw new Error(`S3 returned no ETag for part ${n} of ${k}`);
      parts.push({ n, etag: r.ETag, size: data.length });
    };
    try {
      for await (const chunk of body) {
        const c = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string);
        pending.push(c);
        pendingBytes += c.length;
        size += c.length;
        if (pendingBytes >= this.partSizeFor(parts.length + 1)) await sendPart();
      }
      if (!mp) {
        await this.putBytes(k, Buffer.concat(pending, pendingBytes), contentType);
      } else {
        if (pendingBytes > 0) await sendPart();
        await this.complete(mp, parts);
      }
    } catch (e) {
      const open = mp as { key: string; uploadId: string } | null;
      if (open) await this.abortQuietly(open.key, open.uploadId);
      throw e;
    }
    return { key, size, modifiedAt: new Date() };
  }

  async getObject(key: string): Promise<Readable | null> {
    const k = this.objectKey(key);
    try {
      const res = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: k }));
      return res.Body as unknown as Readable;
    } catch (e) {
      if (isAbsent(e)) return null;
      throw described(e, `GET ${k}`);
    }
  }

  async statObject(key: string): Promise<ObjectInfo | null> {
    const head = await this.head(this.objectKey(key));
    return head && { key, size: head.size, modifiedAt: head.modifiedAt };
  }

  async deleteObject(key: string): Promise<boolean> {
    const k = this.objectKey(key);
    if (!(await this.head(k))) return false;
    await this.call(
      this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: k })),
      `DELETE ${k}`,
    );
    return true;
  }

  async *listObjects(prefix: string): AsyncIterable<ObjectInfo> {
    checkObjectPrefix(prefix);
    const base = `${this.prefix}objects/`;
    for await (const o of this.listKeys(`${base}${prefix}`))
      yield { key: o.key.slice(base.length), size: o.size, modifiedAt: o.modifiedAt };
  }

  // --- uploads ------------------------------------------------------------------------

  /** Opens a session, writing its initial state if it has none (a new one, or after cancel). */
  async upload(id: string): Promise<BlobUpload> {
    if (!(await this.readState(id))) {
      await this.writeState(id, {
        v: 1,
        rev: newRev(),
        size: 0,
        multipart: null,
        parts: [],
        tail: null,
        assembled: null,
      });
    }
    return new S3Upload(this, id);
  }

  withUploadLock<T>(id: string, fn: () => Promise<T>): Promise<T> {
    return this.uploadLocks.run(id, fn);
  }

  private async readState(id: string): Promise<UploadState | null> {
    const key = this.stateKey(id);
    let body: Buffer;
    try {
      body = await this.getBuffer(key);
    } catch (e) {
      if (isAbsent(e)) return null;
      throw e;
    }
    const state = JSON.parse(body.toString("utf8")) as UploadState;
    if (state.v !== 1) throw new Error(`upload ${id}: unknown state version ${String(state.v)}`);
    return state;
  }

  async requireState(id: string): Promise<UploadState> {
    const state = await this.readState(id);
    if (!state) throw new RegistryError("BLOB_UPLOAD_UNKNOWN", "upload unknown");
    return state;
  }

  private async writeState(id: string, state: UploadState): Promise<void> {
    await this.putBytes(this.stateKey(id), Buffer.from(JSON.stringify(state)), "application/json");
  }

  private runningHash(id: string, state: UploadState): RunningHash | null {
    const h = this.hashes.get(id);
    return h && h.rev === state.rev && h.size === state.size ? h : null;
  }

  private keepHash(id: string, h: RunningHash): void {
    this.hashes.delete(id);
    this.hashes.set(id, h);
    if (this.hashes.size > MAX_RUNNING_HASHES) this.hashes.delete(this.hashes.keys().next().value!);
  }

  /** Part `n`'s size: partSize for parts 1-1000, twice that for 1001-2000, and so on. */
  private partSizeFor(n: number): number {
    return this.partSize * (1 + Math.floor((n - 1) / 1000));
  }

  /**
   * Appends a stream: its bytes (after the previous tail's) are cut into parts sent as they
   * fill, and the rest becomes the new tail object; then the new state is written. On any
   * failure the previous state is left as it was; parts sent meanwhile stay in the multipart
   * upload as stale parts (S3 cannot remove a part), which commit detects and leaves out.
   */
  async appendTo(id: string, data: Readable, options: AppendOptions): Promise<number> {
    let state = await this.requireState(id);
    if (state.assembled) state = await this.reopenAssembled(id, state);
    const prefix = this.uploadPrefix(id);
    const expected = options.expectedLength;
    const rev = newRev();
    const running = this.runningHash(id, state);
    // Hash a copy: the running hash stays valid for the previous state if this append fails.
    const hash = running ? running.hash.copy() : state.size === 0 ? newHash("sha256") : null;
    const parts = [...state.parts];
    let multipart = state.multipart;
    let createdMultipart: { key: string; uploadId: string } | null = null;
    let newTailKey: string | null = null;
    /** Once the new state may have been written, what it names must stay (a lost answer). */
    let stateSent = false;
    const inflight: Promise<unknown>[] = [];
    let buf: Buffer | null = null;
    let filled = 0;
    let received = 0;

    const sendPart = async (body: Buffer) => {
      if (!multipart) {
        const key = `${prefix}data-${rev}`;
        const res = await this.call(
          this.client.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: key })),
          `CreateMultipartUpload ${key}`,
        );
        multipart = createdMultipart = { key, uploadId: res.UploadId! };
      }
      const mp = multipart;
      const part = { n: parts.length + 1, etag: "", size: body.length };
      if (part.n > MAX_PARTS)
        throw new RegistryError("SIZE_INVALID", "upload too large for S3 (10,000 parts)");
      parts.push(part);
      const sent = this.call(
        this.client.send(
          new UploadPartCommand({
            Bucket: this.bucket,
            Key: mp.key,
            UploadId: mp.uploadId,
            PartNumber: part.n,
            Body: body,
            ContentLength: body.length,
          }),
        ),
        `UploadPart ${part.n} of ${mp.key}`,
      ).then((r) => {
        if (!r.ETag) throw new Error(`S3 returned no ETag for part ${part.n} of ${mp.key}`);
        part.etag = r.ETag;
      });
      sent.catch(() => undefined);
      inflight.push(sent);
      while (inflight.length >= PARTS_IN_FLIGHT) await inflight.shift();
    };

    try {
      for await (const chunk of data as AsyncIterable<Buffer>) {
        received += chunk.length;
        if (expected !== undefined && received > expected) {
          throw new RegistryError("SIZE_INVALID", "body longer than Content-Length");
        }
        hash?.update(chunk);
        if (!buf) {
          // The previous tail goes first (fetched once bytes arrive: an empty append sends nothing).
          buf = Buffer.allocUnsafe(Math.max(this.partSizeFor(parts.length + 1), state.tail?.size ?? 0));
          if (state.tail) filled = (await this.getBuffer(state.tail.key)).copy(buf, 0);
        }
        let off = 0;
        while (off < chunk.length) {
          const n = Math.min(chunk.length - off, buf.length - filled);
          chunk.copy(buf, filled, off, off + n);
          filled += n;
          off += n;
          if (filled === buf.length) {
            await sendPart(buf);
            buf = Buffer.allocUnsafe(this.partSizeFor(parts.length + 1));
            filled = 0;
          }
        }
      }
      await Promise.all(inflight);
      if (expected !== undefined && received !== expected) {
        throw new RegistryError(
          "SIZE_INVALID",
          `received ${received} bytes, Content-Length said ${expected}`,
        );
      }
      if (received === 0) return state.size;
      let tail: UploadState["tail"] = null;
      if (filled > 0) {
        newTailKey = `${prefix}tail-${rev}`;
        await this.putBytes(newTailKey, buf!.subarray(0, filled));
        tail = { key: newTailKey, size: filled };
      }
      const next: UploadState = {
        v: 1,
        rev,
        size: state.size + received,
        multipart,
        parts,
        tail,
        assembled: null,
      };
      stateSent = true;
      await this.writeState(id, next);
      if (hash) this.keepHash(id, { rev, size: next.size, hash });
      else this.hashes.delete(id);
      if (state.tail && state.tail.key !== newTailKey) await this.deleteQuietly([state.tail.key]);
      return next.size;
    } catch (e) {
      await Promise.allSettled(inflight);
      const created = createdMultipart as { key: string; uploadId: string } | null;
      if (!stateSent && created) await this.abortQuietly(created.key, created.uploadId);
      if (!stateSent && newTailKey) await this.deleteQuietly([newTailKey]);
      throw e;
    }
  }

  async commitUpload(id: string, expected: Digest): Promise<BlobInfo> {
    const p = parseDigest(expected);
    if (!p) throw new RegistryError("DIGEST_INVALID", `invalid digest ${expected}`);
    const blobKey = this.blobKey(expected);
    let state = await this.requireState(id);
    const check = (actual: string) => {
      if (actual !== p.encoded) {
        throw new RegistryError(
          "DIGEST_INVALID",
          `uploaded content has digest ${p.algorithm}:${actual}, not ${expected}`,
        );
      }
    };
    // 1. The digest without reading S3: the running hash of this process, or one recorded by
    //    an earlier commit of the assembled bytes. A mismatch here leaves the upload as it is.
    let actual: string | null = null;
    const running = p.algorithm === "sha256" ? this.runningHash(id, state) : null;
    if (running) actual = running.hash.copy().digest("hex");
    else if (state.assembled?.digest?.startsWith(`${p.algorithm}:`))
      actual = state.assembled.digest.slice(p.algorithm.length + 1);
    if (actual !== null) check(actual);
    const dropInFavourOf = async (existing: BlobInfo): Promise<BlobInfo> => {
      await this.touch(expected);
      await this.removeUpload(id).catch(() => this.hashes.delete(id));
      return { ...existing, modifiedAt: new Date() };
    };
    // A verified upload of a blob stored already: no need to assemble it.
    if (actual !== null) {
      const existing = await this.stat(expected);
      if (existing) return dropInFavourOf(existing);
    }

    // 2. One object holding every byte (none for an empty upload).
    let source: string | null;
    if (state.multipart) state = await this.assemble(id, state);
    if (state.assembled) source = state.assembled.key;
    else source = state.tail?.key ?? null;

    // 3. Otherwise read the bytes back (another node or a restart received them).
    if (actual === null) {
      actual = source ? await this.hashObject(source, p.algorithm) : newHash(p.algorithm).digest("hex");
      if (state.assembled) {
        state = { ...state, assembled: { key: state.assembled.key, digest: `${p.algorithm}:${actual}` } };
        await this.writeState(id, state);
      }
      check(actual);
    }

    // 4. Publish (verified), unless the blob is there already; then drop the upload.
    const existing = await this.stat(expected);
    if (existing) return dropInFavourOf(existing);
    if (source) await this.copyObject(source, blobKey, state.size);
    else await this.putBytes(blobKey, Buffer.alloc(0));
    this.adjustTotal(state.size);
    // The blob is published: a failed cleanup must not fail the commit. What remains is an
    // upload without a session row, which garbage collection removes (listUploads).
    await this.removeUpload(id).catch(() => this.hashes.delete(id));
    return { digest: expected, size: state.size, modifiedAt: new Date() };
  }

  /**
   * Completes the multipart upload (the tail as the last part) into its key and records the
   * state as assembled. rgw refuses a completion that lists fewer parts than were uploaded,
   * so parts left by failed appends (numbers after the state's) are dealt with first.
   */
  private async assemble(id: string, state: UploadState): Promise<UploadState> {
    const mp = state.multipart!;
    try {
      const listed = await this.listParts(mp.key, mp.uploadId);
      if (listed.some((l) => l.n > state.parts.length)) {
        return this.assemble(id, await this.dropStaleParts(id, state, listed));
      }
      const parts = [...state.parts];
      if (state.tail) {
        const n = parts.length + 1;
        const body = await this.getBuffer(state.tail.key);
        const r = await this.call(
          this.client.send(
            new UploadPartCommand({
              Bucket: this.bucket,
              Key: mp.key,
              UploadId: mp.uploadId,
              PartNumber: n,
              Body: body,
              ContentLength: body.length,
            }),
          ),
          `UploadPart ${n} of ${mp.key}`,
        );
        parts.push({ n, etag: r.ETag!, size: body.length });
      }
      await this.complete(mp, parts);
    } catch (e) {
      // A crash (or a lost answer) after the completion: the multipart upload is gone
      // (rgw: NoSuchKey, AWS: NoSuchUpload) and the object holds every byte.
      if (!isNoSuchUpload(e)) throw e;
      const head = await this.head(mp.key);
      if (!head || head.size !== state.size) throw e;
    }
    const next: UploadState = {
      v: 1,
      rev: newRev(),
      size: state.size,
      multipart: null,
      parts: [],
      tail: null,
      assembled: { key: mp.key },
    };
    await this.writeState(id, next);
    this.carryHash(id, state, next);
    if (state.tail) await this.deleteQuietly([state.tail.key]);
    return next;
  }

  /**
   * The multipart upload has parts after the state's (sent by appends that then failed).
   * S3 cannot drop a part and rgw completes only with every part, so: complete with all of
   * them (a stale part that is too small and not the last is overwritten with filler), then
   * copy the state's bytes (UploadPartCopy ranges) into a fresh multipart upload.
   */
  private async dropStaleParts(
    id: string,
    state: UploadState,
    listed: { n: number; etag: string; size: number }[],
  ): Promise<UploadState> {
    const mp = state.multipart!;
    const all = [...listed].sort((a, b) => a.n - b.n);
    const last = all[all.length - 1]!.n;
    for (const part of all) {
      if (part.n === last || part.size >= MIN_PART_BYTES) continue;
      const filler = Buffer.alloc(MIN_PART_BYTES);
      const r = await this.call(
        this.client.send(
          new UploadPartCommand({
            Bucket: this.bucket,
            Key: mp.key,
            UploadId: mp.uploadId,
            PartNumber: part.n,
            Body: filler,
            ContentLength: filler.length,
          }),
        ),
        `UploadPart ${part.n} of ${mp.key}`,
      );
      part.etag = r.ETag!;
      part.size = filler.length;
    }
    await this.complete(mp, all);
    const valid = state.parts.reduce((sum, p) => sum + p.size, 0);
    const next = await this.rebuildFrom(id, state, mp.key, valid, state.tail);
    await this.deleteQuietly([mp.key]);
    return next;
  }

  /**
   * An append to an upload whose bytes were assembled by a commit that then failed: the
   * assembled object becomes parts (UploadPartCopy) of a new multipart upload again.
   */
  private async reopenAssembled(id: string, state: UploadState): Promise<UploadState> {
    const key = state.assembled!.key;
    const next = await this.rebuildFrom(id, state, key, state.size, null);
    await this.deleteQuietly([key]);
    return next;
  }

  /**
   * A new state whose bytes are the first `bytes` of object `source` (copied server-side as
   * parts of a new multipart upload, or fetched as the tail when fewer than 5 MiB) followed
   * by `tail`. Written before returning; the running hash carries over.
   */
  private async rebuildFrom(
    id: string,
    state: UploadState,
    source: string,
    bytes: number,
    tail: UploadState["tail"],
  ): Promise<UploadState> {
    const rev = newRev();
    const prefix = this.uploadPrefix(id);
    let multipart: UploadState["multipart"] = null;
    const parts: UploadState["parts"] = [];
    let newTail = tail;
    if (bytes >= MIN_PART_BYTES) {
      const key = `${prefix}data-${rev}`;
      const res = await this.call(
        this.client.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: key })),
        `CreateMultipartUpload ${key}`,
      );
      multipart = { key, uploadId: res.UploadId! };
      for (const r of copyRanges(bytes, this.copyPartSize)) {
        parts.push({
          n: parts.length + 1,
          etag: await this.copyPart(source, multipart, parts.length + 1, r),
          size: r.end - r.start + 1,
        });
      }
    } else if (bytes > 0) {
      const head = await this.getBuffer(source, { start: 0, end: bytes - 1 });
      const rest = tail ? await this.getBuffer(tail.key) : Buffer.alloc(0);
      const key = `${prefix}tail-${rev}`;
      await this.putBytes(key, Buffer.concat([head, rest]));
      newTail = { key, size: head.length + rest.length };
    }
    const next: UploadState = {
      v: 1,
      rev,
      size: state.size,
      multipart,
      parts,
      tail: newTail,
      assembled: null,
    };
    await this.writeState(id, next);
    this.carryHash(id, state, next);
    if (tail && newTail !== tail) await this.deleteQuietly([tail.key]);
    return next;
  }

  /** The same bytes under a new state revision: a running hash of the old one stays valid. */
  private carryHash(id: string, from: UploadState, to: UploadState): void {
    const h = this.runningHash(id, from);
    if (h) this.keepHash(id, { rev: to.rev, size: to.size, hash: h.hash });
  }

  /** Aborts the upload's multipart uploads and deletes its objects (state last listed, all at once). */
  async removeUpload(id: string): Promise<void> {
    const prefix = this.uploadPrefix(id);
    this.hashes.delete(id);
    for await (const m of this.listMultipartUploads(prefix)) await this.abortQuietly(m.key, m.uploadId);
    const keys: string[] = [];
    for await (const o of this.listKeys(prefix)) keys.push(o.key);
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000);
      const res = await this.call(
        this.client.send(
          new DeleteObjectsCommand({
            Bucket: this.bucket,
            Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
          }),
        ),
        `DeleteObjects ${prefix}`,
      );
      const failed = (res.Errors ?? []).filter((e) => e.Code !== "NoSuchKey");
      if (failed.length)
        throw new Error(`S3 could not delete ${failed[0]!.Key}: ${failed[0]!.Code ?? "error"}`);
    }
  }

  // --- S3 helpers -----------------------------------------------------------------------

  /** Rejections get a readable message (rgw sends none: the SDK says "UnknownError"). */
  private async call<T>(request: Promise<T>, what: string): Promise<T> {
    try {
      return await request;
    } catch (e) {
      throw described(e, what);
    }
  }

  private async head(key: string): Promise<{ size: number; modifiedAt: Date } | null> {
    try {
      const h = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return { size: h.ContentLength ?? 0, modifiedAt: h.LastModified ?? new Date(0) };
    } catch (e) {
      if (isAbsent(e)) return null;
      throw described(e, `HEAD ${key}`);
    }
  }

  private async getBuffer(key: string, range?: ByteRange): Promise<Buffer> {
    try {
      const res = await this.client.send(
        new GetObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Range: range ? `bytes=${range.start}-${range.end}` : undefined,
        }),
      );
      const chunks: Buffer[] = [];
      for await (const c of res.Body as unknown as Readable) chunks.push(c as Buffer);
      return Buffer.concat(chunks);
    } catch (e) {
      throw described(e, `GET ${key}`);
    }
  }

  private async putBytes(key: string, body: Buffer, contentType = "application/octet-stream"): Promise<void> {
    await this.call(
      this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Body: body,
          ContentLength: body.length,
          ContentType: contentType,
        }),
      ),
      `PUT ${key}`,
    );
  }

  /** Computes the digest of an object by reading it (the fallback without a running hash). */
  private async hashObject(key: string, algorithm: DigestAlgorithm): Promise<string> {
    const res = await this.call(
      this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key })),
      `GET ${key}`,
    );
    const h = newHash(algorithm);
    for await (const c of res.Body as unknown as Readable) {
      h.update(c as Buffer);
      this.rehashedBytes += (c as Buffer).length;
    }
    return h.digest("hex");
  }

  /**
   * Copies an object server-side: CopyObject up to 5 GiB, else a multipart upload of
   * UploadPartCopy ranges (the destination appears whole at completion). A copy onto itself
   * replaces the metadata, which moves LastModified (touch).
   */
  private async copyObject(source: string, dest: string, size: number): Promise<void> {
    if (size <= this.maxCopyObjectBytes) {
      await this.call(
        this.client.send(
          new CopyObjectCommand({
            Bucket: this.bucket,
            Key: dest,
            CopySource: this.copySource(source),
            MetadataDirective: "REPLACE",
            ContentType: "application/octet-stream",
          }),
        ),
        `CopyObject ${source} to ${dest}`,
      );
      return;
    }
    const res = await this.call(
      this.client.send(
        new CreateMultipartUploadCommand({
          Bucket: this.bucket,
          Key: dest,
          ContentType: "application/octet-stream",
        }),
      ),
      `CreateMultipartUpload ${dest}`,
    );
    const mp = { key: dest, uploadId: res.UploadId! };
    try {
      const parts: { n: number; etag: string; size: number }[] = [];
      for (const r of copyRanges(size, this.copyPartSize)) {
        const n = parts.length + 1;
        parts.push({ n, etag: await this.copyPart(source, mp, n, r), size: r.end - r.start + 1 });
      }
      await this.complete(mp, parts);
    } catch (e) {
      await this.abortQuietly(mp.key, mp.uploadId);
      throw e;
    }
  }

  private async copyPart(
    source: string,
    mp: { key: string; uploadId: string },
    n: number,
    range: ByteRange,
  ): Promise<string> {
    const r = await this.call(
      this.client.send(
        new UploadPartCopyCommand({
          Bucket: this.bucket,
          Key: mp.key,
          UploadId: mp.uploadId,
          PartNumber: n,
          CopySource: this.copySource(source),
          CopySourceRange: `bytes=${range.start}-${range.end}`,
        }),
      ),
      `UploadPartCopy ${source} to part ${n} of ${mp.key}`,
    );
    const etag = r.CopyPartResult?.ETag;
    if (!etag) throw new Error(`S3 returned no ETag for the copy of part ${n} of ${mp.key}`);
    return etag;
  }

  private copySource(key: string): string {
    return `${this.bucket}/${key.split("/").map(encodeURIComponent).join("/")}`;
  }

  /** Completes with every part. rgw 16 answers an empty ETag here: it is not used. */
  private async complete(
    mp: { key: string; uploadId: string },
    parts: { n: number; etag: string }[],
  ): Promise<void> {
    await this.call(
      this.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.bucket,
          Key: mp.key,
          UploadId: mp.uploadId,
          MultipartUpload: { Parts: parts.map((p) => ({ PartNumber: p.n, ETag: p.etag })) },
        }),
      ),
      `CompleteMultipartUpload ${mp.key}`,
    );
  }

  private async listParts(
    key: string,
    uploadId: string,
  ): Promise<{ n: number; etag: string; size: number }[]> {
    const out: { n: number; etag: string; size: number }[] = [];
    let marker: string | undefined;
    for (;;) {
      const res = await this.call(
        this.client.send(
          new ListPartsCommand({
            Bucket: this.bucket,
            Key: key,
            UploadId: uploadId,
            PartNumberMarker: marker,
          }),
        ),
        `ListParts ${key}`,
      );
      for (const p of res.Parts ?? []) out.push({ n: p.PartNumber!, etag: p.ETag!, size: p.Size ?? 0 });
      if (!res.IsTruncated || !res.NextPartNumberMarker) return out;
      marker = res.NextPartNumberMarker;
    }
  }

  private async *listKeys(prefix: string): AsyncIterable<{ key: string; size: number; modifiedAt: Date }> {
    let token: string | undefined;
    do {
      const res = await this.call(
        this.client.send(
          new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }),
        ),
        `ListObjectsV2 ${prefix}`,
      );
      for (const o of res.Contents ?? []) {
        if (o.Key) yield { key: o.Key, size: o.Size ?? 0, modifiedAt: o.LastModified ?? new Date(0) };
      }
      token = res.IsTruncated ? res.NextContinuationToken : undefined;
    } while (token);
  }

  private async *listMultipartUploads(
    prefix: string,
  ): AsyncIterable<{ key: string; uploadId: string; initiated: Date }> {
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    for (;;) {
      const res = await this.call(
        this.client.send(
          new ListMultipartUploadsCommand({
            Bucket: this.bucket,
            Prefix: prefix,
            KeyMarker: keyMarker,
            UploadIdMarker: uploadIdMarker,
          }),
        ),
        `ListMultipartUploads ${prefix}`,
      );
      for (const u of res.Uploads ?? []) {
        if (u.Key && u.UploadId)
          yield { key: u.Key, uploadId: u.UploadId, initiated: u.Initiated ?? new Date(0) };
      }
      if (!res.IsTruncated) return;
      keyMarker = res.NextKeyMarker;
      uploadIdMarker = res.NextUploadIdMarker;
    }
  }

  private async abortQuietly(key: string, uploadId: string): Promise<void> {
    await this.client
      .send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId }))
      .catch(() => undefined);
  }

  /** Best effort: what remains is removed with the upload (cancel, commit, GC). */
  private async deleteQuietly(keys: string[]): Promise<void> {
    await Promise.all(
      keys.map((Key) =>
        this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key })).catch(() => undefined),
      ),
    );
  }
}

class S3Upload implements BlobUpload {
  constructor(
    private readonly store: S3BlobStore,
    readonly id: string,
  ) {}

  async size(): Promise<number> {
    return (await this.store.requireState(this.id)).size;
  }

  append(data: Readable, options: AppendOptions = {}): Promise<number> {
    return this.store.withUploadLock(this.id, () => this.store.appendTo(this.id, data, options));
  }

  commit(expected: Digest): Promise<BlobInfo> {
    return this.store.withUploadLock(this.id, () => this.store.commitUpload(this.id, expected));
  }

  cancel(): Promise<void> {
    return this.store.withUploadLock(this.id, () => this.store.removeUpload(this.id));
  }
}

/**
 * Splits [0, size) into copy ranges of `partSize` bytes; a last range under 5 MiB is merged
 * into the one before (every part but the last must be at least 5 MiB).
 */
function copyRanges(size: number, partSize: number): ByteRange[] {
  const out: ByteRange[] = [];
  for (let start = 0; start < size; start += partSize)
    out.push({ start, end: Math.min(size, start + partSize) - 1 });
  const last = out[out.length - 1];
  if (out.length > 1 && last && last.end - last.start + 1 < MIN_PART_BYTES) {
    out.pop();
    out[out.length - 1]!.end = last.end;
  }
  return out;
}

function newRev(): string {
  return `${Date.now().toString(36)}${randomBytes(6).toString("hex")}`;
}

/** An S3 error's name and HTTP status (rgw's error bodies have no message). */
function s3Error(e: unknown): { name?: string; status?: number } {
  if (typeof e !== "object" || e === null) return {};
  const err = e as { name?: string; Code?: string; $metadata?: { httpStatusCode?: number } };
  return { name: err.Code ?? err.name, status: err.$metadata?.httpStatusCode };
}

/** The object is not there (not: the bucket is not there). */
function isAbsent(e: unknown): boolean {
  const { name, status } = s3Error(e);
  return (
    name === "NoSuchKey" ||
    name === "NotFound" ||
    (status === 404 && name !== "NoSuchBucket" && name !== "NoSuchUpload")
  );
}

/** The multipart upload is no more (AWS: NoSuchUpload; rgw's ListParts: NoSuchKey). */
function isNoSuchUpload(e: unknown): boolean {
  const { name } = s3Error(e);
  return name === "NoSuchUpload" || name === "NoSuchKey";
}

/** Gives an S3 error a message that says what failed (keeping its name and metadata). */
function described(e: unknown, what: string): unknown {
  if (!(e instanceof Error) || e instanceof RegistryError) return e;
  const { name, status } = s3Error(e);
  if (!e.message || e.message === "UnknownError" || !e.message.includes(what)) {
    e.message = `S3 ${what}: ${name ?? "error"}${status ? ` (HTTP ${status})` : ""}${
      e.message && e.message !== "UnknownError" ? `: ${e.message}` : ""
    }`;
  }
  return e;
}
