import type { Readable, Writable } from "node:stream";
import type { Digest } from "../../core/digest.js";

export interface BlobInfo {
  digest: Digest;
  size: number;
  /** Last write or touch; garbage collection keeps blobs younger than its grace period. */
  modifiedAt: Date;
}

/** A named object (a report, an export): see BlobStore.putObject. */
export interface ObjectInfo {
  /** Its key in the named-object area (object-keys.ts). */
  key: string;
  size: number;
  modifiedAt: Date;
}

export interface PutObjectOptions {
  /** Content-Type where the store keeps one (S3); default application/octet-stream. */
  contentType?: string;
}

export interface ByteRange {
  /** First byte, inclusive. */
  start: number;
  /** Last byte, inclusive. */
  end: number;
}

/**
 * Content-addressed blob storage. One copy per digest, whatever the number of
 * repositories that link it (links live in the MetaStore).
 *
 * Contract:
 * - A blob is visible (stat/open) only once complete and verified: commit writes
 *   to a private location, checks the digest, makes it durable and publishes it
 *   atomically. A crash at any point leaves either no blob or the whole blob.
 * - Uploads are named by an id chosen by the caller and survive a restart: `upload(id)`
 *   resumes the data already received, in this process or another one on the same storage.
 * - Optional capabilities (`localFile`, `presignedUrl`, DirectBlobStream from `open`) are
 *   shortcuts of some stores; callers must work without them.
 * - Besides blobs, a store keeps named objects (Inspector2 findings reports and SBOM exports):
 *   bytes under a key (object-keys.ts) in an area of their own that garbage collection, `list`
 *   and `listUploads` never see (the filesystem's `objects/`, S3's `<prefix>objects/`). Writing
 *   one is atomic: until `putObject` resolves, readers see the previous object under the key or
 *   none, never part of the new one; a failed or abandoned write leaves nothing visible.
 *
 * `src/storage/blob/testing.ts` (blobStoreConformance) checks this contract; every store
 * passes it.
 */
export interface BlobStore {
  stat(digest: Digest): Promise<BlobInfo | null>;
  /**
   * Where a stored blob's bytes are on the local filesystem, for readers that read files
   * themselves (the image analysis reads layers in a worker thread); null when absent. Stores
   * that are not local files (S3) do not have it.
   */
  localFile?(digest: Digest): Promise<{ path: string; size: number } | null>;
  /**
   * A URL from which a client can GET the blob's bytes directly, valid for `expiresInSeconds`
   * (a presigned S3 URL), so that the registry can redirect a blob GET instead of streaming
   * the bytes itself; null when this store cannot give one. It does not check that the blob
   * exists: callers stat it first. Stores whose bytes are not reachable by URL (the
   * filesystem) do not have it; callers must work without it.
   */
  presignedUrl?(digest: Digest, expiresInSeconds: number): Promise<string | null>;
  /** Streams the blob (or a byte range of it). Rejects with BLOB_UNKNOWN when absent. */
  open(digest: Digest, range?: ByteRange): Promise<Readable>;
  /** Reads a small blob (a manifest) whole. Rejects with BLOB_UNKNOWN when absent. */
  read(digest: Digest): Promise<Buffer>;
  /** Stores a small blob held in memory (manifests), verifying its digest. */
  putBuffer(digest: Digest, data: Buffer): Promise<BlobInfo>;
  /** Opens (creating if needed) the data area of an upload session. */
  upload(id: string): Promise<BlobUpload>;
  /** Refreshes modifiedAt so that a blob about to be referenced outlives the GC grace period. */
  touch(digest: Digest): Promise<void>;
  delete(digest: Digest): Promise<boolean>;
  list(): AsyncIterable<BlobInfo>;
  /** Upload ids with data on disk, with their last modification time. */
  listUploads(): AsyncIterable<{ id: string; modifiedAt: Date }>;
  /** Total bytes of published blobs (for metrics; may be cached). */
  totalBytes(): Promise<number>;

  // --- named objects ---
  /**
   * Writes an object whole from a buffer or a stream (read once, never held whole in memory),
   * replacing any object under the key, visible only once complete (see the contract above).
   * A stream that errors rejects the call and publishes nothing. An invalid key rejects with
   * InvalidObjectKeyError before anything is written.
   */
  putObject(key: string, body: Buffer | Readable, options?: PutObjectOptions): Promise<ObjectInfo>;
  /** The object's bytes as a stream, or null when there is none. */
  getObject(key: string): Promise<Readable | null>;
  statObject(key: string): Promise<ObjectInfo | null>;
  /** Says whether there was an object. */
  deleteObject(key: string): Promise<boolean>;
  /**
   * The objects whose key starts with `prefix` ("" for all, else a key followed by `/`), in no
   * particular order.
   */
  listObjects(prefix: string): AsyncIterable<ObjectInfo>;
}

export interface AppendOptions {
  /** Bytes the client says it is sending; the append fails with SIZE_INVALID if it differs. */
  expectedLength?: number;
}

export interface BlobUpload {
  readonly id: string;
  size(): Promise<number>;
  /**
   * Appends a stream at the current end. On failure (client disconnect, size mismatch)
   * the data is truncated back to its previous size: a failed append adds nothing.
   */
  append(data: Readable, options?: AppendOptions): Promise<number>;
  /** Verifies the digest and publishes the blob; the upload's data is consumed. */
  commit(expected: Digest): Promise<BlobInfo>;
  cancel(): Promise<void>;
}

/**
 * A blob stream that can also write itself to a destination (an HTTP response) with
 * reused buffers instead of a fresh buffer per chunk. Either read the stream or call
 * writeTo, never both. The filesystem store's streams are direct; see docs/benchmarks.md
 * for why it matters (allocation-free GETs stay fast in every V8 heap state).
 */
export interface DirectBlobStream extends Readable {
  /**
   * Writes every byte to `dest` (without ending it) and closes the blob. Rejects when a
   * read fails or `dest` closes early; the caller then destroys `dest`.
   */
  writeTo(dest: Writable, onChunk?: (bytes: number) => void): Promise<void>;
}

export function isDirectBlobStream(stream: Readable): stream is DirectBlobStream {
  return typeof (stream as Partial<DirectBlobStream>).writeTo === "function";
}
