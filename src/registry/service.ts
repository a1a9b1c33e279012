import { randomUUID } from "node:crypto";
import type { Readable } from "node:stream";
import { digestOf, isDigest, isUnsupportedDigest, parseDigest, type Digest } from "../core/digest.js";
import { RegistryError } from "../core/errors.js";
import type { BlobStore, ByteRange } from "../storage/blob/types.js";
import type { ManifestReference, MetaStore } from "../storage/meta/store.js";
import { isValidName, isValidTag } from "./grammar.js";
import { MediaTypes, parseManifest } from "./manifest.js";

export interface RegistryOptions {
  /** Largest manifest accepted, in bytes (the spec suggests at least 4 MiB). */
  maxManifestBytes: number;
  /** Create a repository on first push (as Distribution does), else NAME_UNKNOWN. */
  createRepositoryOnPush: boolean;
}

/** A manifest just written (and the tag it was pushed by, if any). */
export interface ManifestStored {
  repository: string;
  repositoryId: number;
  digest: string;
  mediaType: string;
  subject: string | null;
  tag?: string;
}

/**
 * Told of manifest writes inside their transaction (events, scan on push: src/scan): what it
 * writes commits or rolls back with the manifest. An error it throws fails the request.
 */
export interface ManifestListener {
  manifestStored(tx: MetaStore, e: ManifestStored): Promise<void>;
  /** Called before the rows go (so tags can still be read); `tag` when only a tag is deleted. */
  manifestDeleted(
    tx: MetaStore,
    e: { repository: string; repositoryId: number; digest: string; tag?: string },
  ): Promise<void>;
}

export interface StoredManifest {
  digest: Digest;
  mediaType: string;
  size: number;
  body: Buffer;
}

/** Options of a chunk append; `onReceived` learns how many bytes were really stored. */
export interface AppendOpts {
  contentRange?: string;
  contentLength?: number;
  onReceived?: (bytes: number) => void;
}

export interface UploadState {
  id: string;
  size: number;
}

/**
 * Called before a push moves an existing tag from `current` to `next`; throws a
 * RegistryError (e.g. TAG_INVALID) to refuse the push, which then stores nothing.
 */
export type TagGuard = (repository: string, tag: string, current: string, next: string) => Promise<void>;

/** Blob existence checks refresh GC's "last used" at most this often per blob. */
const TOUCH_INTERVAL_MS = 60_000;

/**
 * The registry's operations, independent of HTTP: names, references and streams in,
 * typed results or RegistryError out. Authorization happens before these are called.
 */
export class RegistryService {
  /** Checks before a tag moves to another manifest (ECR tag immutability); throws to refuse. */
  tagGuard?: TagGuard;
  private readonly recentTouches = new Map<string, number>();
  /**
   * Serializes the operations of one upload session in this process. The offset check of a
   * chunk (Content-Range against the bytes received) and a status GET must see the session
   * after any append still in flight has finished or been rolled back (a client that
   * disconnected mid-chunk and retries at once must not be told a half chunk's size).
   */
  private readonly uploadLocks = new Map<string, Promise<unknown>>();

  constructor(
    readonly meta: MetaStore,
    readonly blobs: BlobStore,
    private readonly options: RegistryOptions,
    private readonly listener?: ManifestListener,
  ) {}

  // --- names ------------------------------------------------------------------------

  checkName(name: string): void {
    if (!isValidName(name))
      throw new RegistryError("NAME_INVALID", `invalid repository name ${JSON.stringify(name)}`);
  }

  private async repoForRead(name: string): Promise<number> {
    this.checkName(name);
    const id = await this.meta.repositoryId(name);
    if (id === null) throw new RegistryError("NAME_UNKNOWN", `repository ${name} not known to registry`);
    return id;
  }

  private async repoForWrite(name: string): Promise<number> {
    this.checkName(name);
    if (this.options.createRepositoryOnPush) return this.meta.ensureRepository(name);
    return this.repoForRead(name);
  }

  // --- blobs ------------------------------------------------------------------------

  private parseBlobDigest(digest: string): Digest {
    if (isDigest(digest)) return digest;
    if (isUnsupportedDigest(digest))
      throw new RegistryError("UNSUPPORTED", `digest algorithm of ${digest} is not supported`);
    throw new RegistryError("DIGEST_INVALID", `invalid digest ${JSON.stringify(digest)}`);
  }

  async statBlob(name: string, digest: string): Promise<{ digest: Digest; size: number }> {
    const d = this.parseBlobDigest(digest);
    const repo = await this.repoForRead(name).catch((e: unknown) => {
      // For blobs, an unknown repository is reported as an unknown blob (what clients expect on HEAD).
      if (e instanceof RegistryError && e.code === "NAME_UNKNOWN")
        throw new RegistryError("BLOB_UNKNOWN", `blob ${d} unknown`);
      throw e;
    });
    const linked = await this.meta.linkedBlob(repo, d);
    if (!linked) throw new RegistryError("BLOB_UNKNOWN", `blob ${d} unknown to repository ${name}`);
    await this.touch(d);
    return { digest: d, size: linked.size };
  }

  async openBlob(digest: Digest, range?: ByteRange): Promise<Readable> {
    return this.blobs.open(digest, range);
  }

  async deleteBlob(name: string, digest: string): Promise<void> {
    const d = this.parseBlobDigest(digest);
    const repo = await this.repoForRead(name);
    if (!(await this.meta.unlinkBlob(repo, d))) {
      throw new RegistryError("BLOB_UNKNOWN", `blob ${d} unknown to repository ${name}`);
    }
  }

  /** A HEAD before a push may be followed by a manifest referencing the blob: keep it from GC. */
  private async touch(digest: Digest): Promise<void> {
    const now = Date.now();
    const last = this.recentTouches.get(digest) ?? 0;
    if (now - last < TOUCH_INTERVAL_MS) return;
    this.recentTouches.set(digest, now);
    if (this.recentTouches.size > 10_000) this.recentTouches.clear();
    await this.meta.touchBlob(digest);
  }

  // --- uploads ----------------------------------------------------------------------

  async startUpload(name: string): Promise<UploadState> {
    const repo = await this.repoForWrite(name);
    const id = randomUUID();
    await this.blobs.upload(id);
    await this.meta.createUpload(id, repo);
    return { id, size: 0 };
  }

  /**
   * Cross-repository mount: links a blob of `from` into `name` without copying.
   * Returns null when the blob is not in `from` (the caller then starts an upload).
   */
  async mount(name: string, digest: string, from: string): Promise<Digest | null> {
    const d = this.parseBlobDigest(digest);
    if (!isValidName(from)) return null;
    const fromId = await this.meta.repositoryId(from);
    if (fromId === null) return null;
    const linked = await this.meta.linkedBlob(fromId, d);
    if (!linked || !(await this.blobs.stat(d))) return null;
    const repo = await this.repoForWrite(name);
    await this.meta.linkBlob(repo, d, linked.size);
    return d;
  }

  private async sessionRepo(name: string, id: string): Promise<number> {
    this.checkName(name);
    const up = await this.meta.upload(id);
    const repo = await this.meta.repositoryId(name);
    if (!up || repo === null || up.repositoryId !== repo) {
      throw new RegistryError("BLOB_UPLOAD_UNKNOWN", `upload ${id} unknown to repository ${name}`);
    }
    return repo;
  }

  /** Runs `fn` after every earlier operation on the same upload session has settled. */
  private withUploadLock<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.uploadLocks.get(id) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const settled = next.then(
      () => undefined,
      () => undefined,
    );
    this.uploadLocks.set(id, settled);
    void settled.then(() => {
      if (this.uploadLocks.get(id) === settled) this.uploadLocks.delete(id);
    });
    return next;
  }

  async uploadStatus(name: string, id: string): Promise<UploadState> {
    return this.withUploadLock(id, async () => {
      await this.sessionRepo(name, id);
      const up = await this.blobs.upload(id);
      return { id, size: await up.size() };
    });
  }

  /**
   * Appends a chunk. With a Content-Range (`start-end`), start must equal the bytes
   * received so far, else 416 and nothing is written. A chunk that fails midway (client
   * disconnect, short body) adds nothing: the blob store rolls the session back.
   */
  async appendUpload(name: string, id: string, body: Readable, opts: AppendOpts): Promise<UploadState> {
    return this.withUploadLock(id, async () => {
      await this.sessionRepo(name, id);
      return this.appendLocked(id, body, opts);
    });
  }

  private async appendLocked(id: string, body: Readable, opts: AppendOpts): Promise<UploadState> {
    const up = await this.blobs.upload(id);
    const size = await up.size();
    let expectedLength = opts.contentLength;
    if (opts.contentRange !== undefined) {
      // The spec's form is `start-end`; `bytes=`/`bytes ` prefixes and a `/total` suffix
      // (RFC 9110 Content-Range, sent by some clients) are accepted too.
      const m = /^(?:bytes[= ])?(\d+)-(\d+)(?:\/\d+|\/\*)?$/.exec(opts.contentRange.trim());
      if (!m) {
        throw new RegistryError(
          "RANGE_INVALID",
          `malformed Content-Range ${JSON.stringify(opts.contentRange)}: expected start-end`,
          undefined,
          400,
        );
      }
      const start = Number(m[1]);
      const end = Number(m[2]);
      if (start !== size || end < start) {
        throw new RegistryError(
          "RANGE_INVALID",
          `chunk ${start}-${end} does not continue the upload, which has ${size} bytes (next chunk starts at ${size})`,
          undefined,
          416,
        );
      }
      const rangeLength = end - start + 1;
      if (expectedLength !== undefined && expectedLength !== rangeLength) {
        throw new RegistryError(
          "SIZE_INVALID",
          `Content-Length ${expectedLength} does not match Content-Range ${start}-${end}`,
        );
      }
      expectedLength = rangeLength;
    }
    const newSize = await up.append(body, { expectedLength });
    opts.onReceived?.(newSize - size);
    await this.meta.touchUpload(id);
    return { id, size: newSize };
  }

  /**
   * Final PUT: appends the optional last chunk, verifies the digest, publishes and links.
   * A digest mismatch ends the session (its bytes are discarded): the spec treats the
   * upload as failed, and no blob becomes visible.
   */
  async completeUpload(
    name: string,
    id: string,
    digest: string | undefined,
    body: Readable | null,
    opts: AppendOpts,
  ): Promise<Digest> {
    return this.withUploadLock(id, async () => {
      const repo = await this.sessionRepo(name, id);
      if (!digest) throw new RegistryError("DIGEST_INVALID", "the digest query parameter is required");
      const d = this.parseBlobDigest(digest);
      if (body) await this.appendLocked(id, body, opts);
      const up = await this.blobs.upload(id);
      try {
        const info = await up.commit(d);
        await this.meta.linkBlob(repo, d, info.size);
      } catch (e) {
        if (e instanceof RegistryError && e.code === "DIGEST_INVALID") {
          await up.cancel();
          await this.meta.deleteUpload(id);
        }
        throw e;
      }
      await this.meta.deleteUpload(id);
      return d;
    });
  }

  async cancelUpload(name: string, id: string): Promise<void> {
    return this.withUploadLock(id, async () => {
      await this.sessionRepo(name, id);
      await (await this.blobs.upload(id)).cancel();
      await this.meta.deleteUpload(id);
    });
  }

  /** Single-request upload: POST ?digest= with the whole blob as body. */
  async monolithicUpload(
    name: string,
    digest: string,
    body: Readable,
    contentLength?: number,
    onReceived?: (bytes: number) => void,
  ): Promise<Digest> {
    const d = this.parseBlobDigest(digest);
    const state = await this.startUpload(name);
    try {
      return await this.completeUpload(name, state.id, d, body, { contentLength, onReceived });
    } catch (e) {
      // Whatever failed, a single-request upload leaves no session behind.
      await this.cancelUpload(name, state.id).catch(() => undefined);
      throw e;
    }
  }

  // --- manifests --------------------------------------------------------------------

  /**
   * Stores a manifest under a tag or its digest. Checks, in order: the name, the size
   * (413), the reference (a tag per the spec's grammar, or the digest of the body), the
   * document (parseManifest), then that every blob and manifest it references is in the
   * repository (MANIFEST_BLOB_UNKNOWN). A rejected manifest leaves nothing behind: no
   * bytes, no repository, no tag.
   */
  async putManifest(
    name: string,
    reference: string,
    body: Buffer,
    contentType: string | undefined,
  ): Promise<{ digest: Digest; subject: string | null }> {
    this.checkName(name);
    if (body.length > this.options.maxManifestBytes) {
      throw new RegistryError(
        "SIZE_INVALID",
        `manifest is ${body.length} bytes, over the limit of ${this.options.maxManifestBytes}`,
        undefined,
        413,
      );
    }
    let digest: Digest;
    let tag: string | undefined;
    const asDigest = parseDigest(reference);
    if (asDigest) {
      digest = digestOf(asDigest.algorithm, body);
      if (digest !== reference) {
        throw new RegistryError("DIGEST_INVALID", `manifest content has digest ${digest}, not ${reference}`);
      }
    } else if (isUnsupportedDigest(reference)) {
      throw new RegistryError("UNSUPPORTED", `digest algorithm of ${reference} is not supported`);
    } else if (reference.includes(":")) {
      // Tags cannot contain ":", so this was meant as a digest (e.g. sha256 with a bad hex part).
      throw new RegistryError("DIGEST_INVALID", `invalid digest ${JSON.stringify(reference)}`);
    } else if (isValidTag(reference)) {
      tag = reference;
      digest = digestOf("sha256", body);
    } else {
      // The spec's error table has no tag code (TAG_INVALID is Distribution's): the push
      // as a whole is an invalid manifest request.
      throw new RegistryError(
        "MANIFEST_INVALID",
        `invalid tag ${JSON.stringify(reference)}: tags match [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`,
      );
    }
    const parsed = parseManifest(body, contentType);

    // Check references before writing anything, so that a rejected push stores no bytes and
    // creates no repository. meta.putManifest checks again inside its transaction (a
    // concurrent delete or GC may have removed a blob since).
    const existing = await this.meta.repositoryId(name);
    const missing =
      existing === null ? parsed.references : await this.missingReferences(existing, parsed.references);
    if (missing.length) throw manifestBlobUnknown(missing);
    if (tag !== undefined && existing !== null && this.tagGuard) {
      const current = await this.meta.tag(existing, tag);
      if (current !== null && current !== digest) await this.tagGuard(name, tag, current, digest);
    }

    const repo = await this.repoForWrite(name);
    // Bytes before metadata: content-addressed, so harmless if the metadata write then fails.
    await this.blobs.putBuffer(digest, body);
    const write = async (m: MetaStore) => {
      const r = await m.putManifest({
        repositoryId: repo,
        digest,
        mediaType: parsed.mediaType,
        artifactType: parsed.artifactType,
        subject: parsed.subject,
        size: body.length,
        annotations: parsed.annotations,
        references: parsed.references,
        tag,
      });
      if (r.ok)
        await this.listener?.manifestStored(m, {
          repository: name,
          repositoryId: repo,
          digest,
          mediaType: parsed.mediaType,
          subject: parsed.subject,
          tag,
        });
      return r;
    };
    const result = this.listener ? await this.meta.tx(write) : await write(this.meta);
    if (!result.ok) throw manifestBlobUnknown(result.missing);
    return { digest, subject: parsed.subject };
  }

  private async missingReferences(repo: number, refs: ManifestReference[]): Promise<ManifestReference[]> {
    const missing: ManifestReference[] = [];
    for (const ref of refs) {
      const found =
        ref.kind === "blob"
          ? await this.meta.linkedBlob(repo, ref.digest)
          : await this.meta.manifest(repo, ref.digest);
      if (!found) missing.push(ref);
    }
    return missing;
  }

  /**
   * Resolves a tag or digest. A reference that is neither (bad tag grammar, malformed or
   * unsupported digest) cannot name anything stored, so it is reported as unknown (404),
   * as the spec's conformance suite expects for GET/HEAD.
   */
  private async resolveReference(repo: number, name: string, reference: string): Promise<string> {
    let digest: string | null = null;
    if (isDigest(reference)) digest = reference;
    else if (isValidTag(reference)) digest = await this.meta.tag(repo, reference);
    if (!digest)
      throw new RegistryError("MANIFEST_UNKNOWN", `manifest ${reference} unknown to repository ${name}`);
    return digest;
  }

  async getManifest(name: string, reference: string): Promise<StoredManifest> {
    const repo = await this.repoForRead(name);
    const digest = await this.resolveReference(repo, name, reference);
    const m = await this.meta.manifest(repo, digest);
    if (!m)
      throw new RegistryError("MANIFEST_UNKNOWN", `manifest ${reference} unknown to repository ${name}`);
    const body = await this.blobs.read(digest as Digest);
    return { digest: digest as Digest, mediaType: m.mediaType, size: m.size, body };
  }

  /** DELETE by digest removes the manifest (and its tags); DELETE by tag removes only the tag. */
  async deleteManifest(name: string, reference: string): Promise<void> {
    const repo = await this.repoForRead(name);
    const listener = this.listener;
    if (isDigest(reference)) {
      const del = async (m: MetaStore) => {
        if (listener && (await m.manifest(repo, reference)))
          await listener.manifestDeleted(m, { repository: name, repositoryId: repo, digest: reference });
        return m.deleteManifest(repo, reference);
      };
      if (!(await (listener ? this.meta.tx(del) : del(this.meta)))) {
        throw new RegistryError("MANIFEST_UNKNOWN", `manifest ${reference} unknown to repository ${name}`);
      }
      return;
    }
    const delTag = async (m: MetaStore) => {
      const digest = listener ? await m.tag(repo, reference) : null;
      if (listener && digest)
        await listener.manifestDeleted(m, { repository: name, repositoryId: repo, digest, tag: reference });
      return m.deleteTag(repo, reference);
    };
    if (!isValidTag(reference) || !(await (listener ? this.meta.tx(delTag) : delTag(this.meta)))) {
      throw new RegistryError("MANIFEST_UNKNOWN", `tag ${reference} unknown to repository ${name}`);
    }
  }

  // --- listings ---------------------------------------------------------------------

  async listTags(name: string, n: number, last?: string): Promise<{ tags: string[]; more: boolean }> {
    const repo = await this.repoForRead(name);
    const page = await this.meta.listTags(repo, last, n);
    return { tags: page.items, more: page.more };
  }

  async catalog(n: number, last?: string): Promise<{ repositories: string[]; more: boolean }> {
    const page = await this.meta.listRepositories(last, n);
    return { repositories: page.items, more: page.more };
  }

  /**
   * The referrers of a manifest as an OCI image index (spec 1.1, "Listing Referrers").
   * An unknown repository or subject gives an empty index, never 404: a 404 tells clients
   * the API is missing and sends them to the tag-schema fallback.
   */
  async referrers(name: string, digest: string, artifactType?: string): Promise<Buffer> {
    this.checkName(name);
    const d = this.parseBlobDigest(digest);
    const repo = await this.meta.repositoryId(name);
    const rows = repo === null ? [] : await this.meta.referrers(repo, d, artifactType);
    const index = {
      schemaVersion: 2,
      mediaType: MediaTypes.ociIndex,
      manifests: rows.map((r) => ({
        mediaType: r.mediaType,
        digest: r.digest,
        size: r.size,
        ...(r.artifactType ? { artifactType: r.artifactType } : {}),
        ...(r.annotations ? { annotations: r.annotations } : {}),
      })),
    };
    return Buffer.from(JSON.stringify(index));
  }
}

function manifestBlobUnknown(missing: ManifestReference[]): RegistryError {
  return new RegistryError(
    "MANIFEST_BLOB_UNKNOWN",
    `manifest references ${missing.map((m) => `${m.kind} ${m.digest}`).join(", ")}, unknown to the repository`,
    missing.map((m) => ({ digest: m.digest })),
  );
}
