import { randomUUID } from "node:crypto";
import type { Readable } from "node:stream";
import { digestOf, isDigest, isUnsupportedDigest, parseDigest, type Digest } from "../core/digest.js";
import { RegistryError } from "../core/errors.js";
import { KeyedQueue } from "../core/keyed-queue.js";
import { imageActionEvent, type AwsIdentity } from "../events/envelope.js";
import { appendEvent } from "../events/log.js";
import type { BlobStore, ByteRange } from "../storage/blob/types.js";
import type {
  ImageRecord,
  ManifestReference,
  MetaStore,
  Page,
  RegistryStore,
  TagStatus,
} from "../storage/meta/store.js";
import { isValidName, isValidTag } from "./grammar.js";
import { combineHooks, type RegistryHooks } from "./hooks.js";
import { MediaTypes, parseManifest } from "./manifest.js";

export type {
  ManifestDeleted,
  ManifestPulled,
  ManifestServed,
  ManifestStored,
  RegistryHooks,
} from "./hooks.js";

export interface RegistryOptions {
  /** Largest manifest accepted, in bytes (the spec suggests at least 4 MiB). */
  maxManifestBytes: number;
  /** Create a repository on first push (as Distribution does), else NAME_UNKNOWN. */
  createRepositoryOnPush: boolean;
  /** The account and region of the `ECR Image Action` events the registry writes. */
  aws: AwsIdentity;
  /** The clock of event times (the metadata store's own clock stamps the rows). */
  now?: () => number;
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

/** How long an upload operation holds its session (renewed while it runs). */
const UPLOAD_LEASE_MS = 15_000;

/** Blob existence checks refresh GC's "last used" at most this often per blob. */
const TOUCH_INTERVAL_MS = 60_000;
/** A pull is recorded when the last recorded one is older than this: no write per pull. */
export const PULL_RECORD_INTERVAL_MS = 3_600_000;

/**
 * The registry's operations, independent of HTTP: names, references and streams in,
 * typed results or RegistryError out. Authorization happens before these are called.
 * Every manifest change writes its `ECR Image Action` event and runs the hooks in its own
 * transaction.
 */
export class RegistryService {
  private readonly recentTouches = new Map<string, number>();
  /**
   * Serializes the operations of one upload session in this process, so that they queue
   * instead of polling for the session's lease in the database (which is what makes them
   * exclusive across processes: see withUploadLease).
   */
  private readonly uploadLocks = new KeyedQueue();
  private readonly hooks: RegistryHooks;
  private readonly store: RegistryStore;

  constructor(
    readonly meta: MetaStore,
    readonly blobs: BlobStore,
    private readonly options: RegistryOptions,
    hooks: RegistryHooks[] = [],
  ) {
    this.hooks = combineHooks(hooks);
    this.store = meta.registry;
  }

  // --- names ------------------------------------------------------------------------

  checkName(name: string): void {
    if (!isValidName(name))
      throw new RegistryError("NAME_INVALID", `invalid repository name ${JSON.stringify(name)}`);
  }

  private async repoForRead(name: string): Promise<number> {
    this.checkName(name);
    const id = await this.store.repositoryId(name);
    if (id === null) throw new RegistryError("NAME_UNKNOWN", `repository ${name} not known to registry`);
    return id;
  }

  private async repoForWrite(name: string): Promise<number> {
    this.checkName(name);
    if (!this.options.createRepositoryOnPush) return this.repoForRead(name);
    const existing = await this.store.repositoryId(name);
    if (existing !== null) return existing;
    // Created with its hooks in one transaction (the ECR Scan Resource Change of a new
    // repository commits with it); a concurrent creator's row is simply used.
    return this.meta.tx(async (tx) => {
      const id = await tx.registry.insertRepository(name);
      if (id === null) return (await tx.registry.repositoryId(name))!;
      await this.hooks.repositoryCreated?.(tx, { repository: name, repositoryId: id });
      return id;
    });
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
    this.checkName(name);
    // Perf: the repository and the link in one query (a round trip per blob of a pull).
    const found = await this.store.repositoryBlob(name, d);
    // For blobs, an unknown repository is reported as an unknown blob (what clients expect on HEAD).
    if (!found) throw new RegistryError("BLOB_UNKNOWN", `blob ${d} unknown`);
    if (found.size === null)
      throw new RegistryError("BLOB_UNKNOWN", `blob ${d} unknown to repository ${name}`);
    await this.touch(d);
    return { digest: d, size: found.size };
  }

  async openBlob(digest: Digest, range?: ByteRange): Promise<Readable> {
    return this.blobs.open(digest, range);
  }

  async deleteBlob(name: string, digest: string): Promise<void> {
    const d = this.parseBlobDigest(digest);
    const repo = await this.repoForRead(name);
    if (!(await this.store.unlinkBlob(repo, d))) {
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
    await this.store.touchBlob(digest);
  }

  // --- uploads ----------------------------------------------------------------------

  async startUpload(name: string): Promise<UploadState> {
    const repo = await this.repoForWrite(name);
    const id = randomUUID();
    await this.blobs.upload(id);
    await this.store.createUpload(id, repo);
    return { id, size: 0 };
  }

  /**
   * Cross-repository mount: links a blob of `from` into `name` without copying.
   * Returns null when the blob is not in `from` (the caller then starts an upload).
   */
  async mount(name: string, digest: string, from: string): Promise<Digest | null> {
    const d = this.parseBlobDigest(digest);
    if (!isValidName(from)) return null;
    const fromId = await this.store.repositoryId(from);
    if (fromId === null) return null;
    const linked = await this.store.linkedBlob(fromId, d);
    if (!linked || !(await this.blobs.stat(d))) return null;
    const repo = await this.repoForWrite(name);
    await this.store.linkBlob(repo, d, linked.size);
    return d;
  }

  private async sessionRepo(name: string, id: string): Promise<number> {
    this.checkName(name);
    const up = await this.store.upload(id);
    const repo = await this.store.repositoryId(name);
    if (!up || repo === null || up.repositoryId !== repo) {
      throw new RegistryError("BLOB_UPLOAD_UNKNOWN", `upload ${id} unknown to repository ${name}`);
    }
    return repo;
  }

  /**
   * Runs `fn` holding the upload session: after every earlier operation on it in this process
   * has settled (a queue), and under the session's lease in the database, which makes it
   * exclusive across processes. The offset check of a chunk (Content-Range against the bytes
   * received) and a status GET must see the session after any append still in flight anywhere
   * has finished or been rolled back (a client that disconnected mid-chunk and retries at once,
   * maybe through another node, must not be told a half chunk's size). The lease is renewed
   * while `fn` runs; a node that dies holding it delays the next request by at most its ttl.
   */
  private withUploadLock<T>(id: string, fn: () => Promise<T>): Promise<T> {
    return this.uploadLocks.run(id, () => this.withUploadLease(id, fn));
  }

  private async withUploadLease<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const token = randomUUID();
    const deadline = Date.now() + UPLOAD_LEASE_MS + 5_000;
    for (;;) {
      const r = await this.store.leaseUpload(id, token, UPLOAD_LEASE_MS);
      if (r === "unknown") return fn(); // the operation reports the unknown session itself
      if (r === "leased") break;
      if (Date.now() > deadline)
        throw new RegistryError(
          "BLOB_UPLOAD_INVALID",
          `upload ${id} is busy with another request`,
          undefined,
          409,
        );
      await new Promise((ok) => setTimeout(ok, 25));
    }
    const renew = setInterval(() => {
      void this.store.leaseUpload(id, token, UPLOAD_LEASE_MS).catch(() => undefined);
    }, UPLOAD_LEASE_MS / 3);
    renew.unref();
    try {
      return await fn();
    } finally {
      clearInterval(renew);
      await this.store.releaseUpload(id, token).catch(() => undefined);
    }
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
    await this.store.touchUpload(id);
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
        await this.store.linkBlob(repo, d, info.size);
      } catch (e) {
        if (e instanceof RegistryError && e.code === "DIGEST_INVALID") {
          await up.cancel();
          await this.store.deleteUpload(id);
        }
        throw e;
      }
      await this.store.deleteUpload(id);
      return d;
    });
  }

  async cancelUpload(name: string, id: string): Promise<void> {
    return this.withUploadLock(id, async () => {
      await this.sessionRepo(name, id);
      await (await this.blobs.upload(id)).cancel();
      await this.store.deleteUpload(id);
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
    const existing = await this.store.repositoryId(name);
    const missing =
      existing === null ? parsed.references : await this.missingReferences(existing, parsed.references);
    if (missing.length) throw manifestBlobUnknown(missing);
    if (tag !== undefined && existing !== null) {
      // Refuse early, before any bytes are written; checked again under the repository lock below.
      const current = await this.store.tag(existing, tag);
      if (current !== null && current !== digest)
        await this.hooks.beforeTagMove?.(this.meta, {
          repository: name,
          repositoryId: existing,
          tag,
          current,
          next: digest,
        });
    }
    const repo = await this.repoForWrite(name);
    // Bytes before metadata: content-addressed, so harmless if the metadata write then fails.
    await this.blobs.putBuffer(digest, body);
    const result = await this.meta.tx(async (tx) => {
      if (tag !== undefined) {
        // The tag decision (immutability) must hold at commit, whatever other nodes push.
        await tx.registry.lockRepository(repo);
        const current = await tx.registry.tag(repo, tag);
        if (current !== null && current !== digest)
          await this.hooks.beforeTagMove?.(tx, {
            repository: name,
            repositoryId: repo,
            tag,
            current,
            next: digest,
          });
      }
      const r = await tx.registry.putManifest({
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
      if (!r.ok) return r;
      await appendEvent(
        tx,
        imageActionEvent(
          this.options.aws,
          { repositoryName: name, digest, action: "PUSH", tag },
          (this.options.now ?? Date.now)(),
        ),
      );
      await this.hooks.manifestStored?.(tx, {
        repository: name,
        repositoryId: repo,
        digest,
        mediaType: parsed.mediaType,
        subject: parsed.subject,
        tag,
      });
      return r;
    });
    if (!result.ok) throw manifestBlobUnknown(result.missing);
    return { digest, subject: parsed.subject };
  }

  private async missingReferences(repo: number, refs: ManifestReference[]): Promise<ManifestReference[]> {
    const missing: ManifestReference[] = [];
    for (const ref of refs) {
      const found =
        ref.kind === "blob"
          ? await this.store.linkedBlob(repo, ref.digest)
          : await this.store.manifest(repo, ref.digest);
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
    else if (isValidTag(reference)) digest = await this.store.tag(repo, reference);
    if (!digest)
      throw new RegistryError("MANIFEST_UNKNOWN", `manifest ${reference} unknown to repository ${name}`);
    return digest;
  }

  /**
   * A manifest by tag or digest. `pull`: this is an image pull (a GET, BatchGetImage; not a
   * HEAD), recorded as the image's last pull at most once per PULL_RECORD_INTERVAL_MS. `user`:
   * the authenticated registry user (the pull gate's bypass list).
   */
  async getManifest(
    name: string,
    reference: string,
    o: { pull?: boolean; user?: string | null } = {},
  ): Promise<StoredManifest> {
    const repo = await this.repoForRead(name);
    const digest = await this.resolveReference(repo, name, reference);
    const m = await this.store.manifest(repo, digest);
    if (!m)
      throw new RegistryError("MANIFEST_UNKNOWN", `manifest ${reference} unknown to repository ${name}`);
    await this.hooks.beforeManifestServed?.({
      repository: name,
      repositoryId: repo,
      digest,
      mediaType: m.mediaType,
      subject: m.subject,
      ...(isDigest(reference) ? {} : { tag: reference }),
      user: o.user,
      pull: o.pull === true,
    });
    if (o.pull) {
      const now = (this.options.now ?? Date.now)();
      if (m.lastPulledAt === null || now - m.lastPulledAt >= PULL_RECORD_INTERVAL_MS)
        await this.meta.tx(async (tx) => {
          await tx.registry.recordPull(repo, digest, now);
          await this.hooks.manifestPulled?.(tx, {
            repository: name,
            repositoryId: repo,
            digest,
            mediaType: m.mediaType,
            at: now,
          });
        });
    }
    const body = await this.blobs.read(digest as Digest);
    return { digest: digest as Digest, mediaType: m.mediaType, size: m.size, body };
  }

  /**
   * DELETE by digest removes the manifest (and its tags); DELETE by tag removes only the tag.
   * Either writes an `ECR Image Action` DELETE event (naming the tag, or the image's first tag).
   */
  async deleteManifest(name: string, reference: string): Promise<void> {
    const repo = await this.repoForRead(name);
    const byDigest = isDigest(reference);
    const deleted =
      (byDigest || isValidTag(reference)) &&
      (await this.meta.tx(async (tx) => {
        const digest = byDigest
          ? (await tx.registry.manifest(repo, reference))?.digest
          : await tx.registry.tag(repo, reference);
        if (!digest) return false;
        const tag = byDigest ? undefined : reference;
        await appendEvent(
          tx,
          imageActionEvent(
            this.options.aws,
            {
              repositoryName: name,
              digest,
              action: "DELETE",
              tag: tag ?? (await tx.registry.tagsOf(repo, digest))[0],
            },
            (this.options.now ?? Date.now)(),
          ),
        );
        await this.hooks.manifestDeleted?.(tx, { repository: name, repositoryId: repo, digest, tag });
        return byDigest ? tx.registry.deleteManifest(repo, digest) : tx.registry.deleteTag(repo, reference);
      }));
    if (!deleted)
      throw new RegistryError(
        "MANIFEST_UNKNOWN",
        `${byDigest ? "manifest" : "tag"} ${reference} unknown to repository ${name}`,
      );
  }

  /**
   * Deletes manifests of a repository by digest in one transaction (lifecycle: an image with its
   * referrers and index children), each as a DELETE by digest does it: its `ECR Image Action`
   * DELETE event and the deletion hooks (findings closed, scans dropped); blobs are left to GC.
   * All or nothing: a crash leaves the group whole or gone. `guard` runs first, in the
   * transaction with the repository locked: false deletes nothing (the image changed since it
   * was chosen). Digests already gone are skipped; returns those deleted.
   */
  async deleteManifests(
    name: string,
    digests: readonly string[],
    guard?: (tx: MetaStore, repositoryId: number) => Promise<boolean>,
  ): Promise<string[]> {
    const repo = await this.repoForRead(name);
    return this.meta.tx(async (tx) => {
      await tx.registry.lockRepository(repo);
      if (guard && !(await guard(tx, repo))) return [];
      const deleted: string[] = [];
      for (const digest of digests) {
        if (!isDigest(digest) || !(await tx.registry.manifest(repo, digest))) continue;
        const tag = (await tx.registry.tagsOf(repo, digest))[0];
        await appendEvent(
          tx,
          imageActionEvent(
            this.options.aws,
            { repositoryName: name, digest, action: "DELETE", tag },
            (this.options.now ?? Date.now)(),
          ),
        );
        await this.hooks.manifestDeleted?.(tx, { repository: name, repositoryId: repo, digest });
        if (await tx.registry.deleteManifest(repo, digest)) deleted.push(digest);
      }
      return deleted;
    });
  }

  // --- listings ---------------------------------------------------------------------

  async listTags(name: string, n: number, last?: string): Promise<{ tags: string[]; more: boolean }> {
    const repo = await this.repoForRead(name);
    const page = await this.store.listTags(repo, last, n);
    return { tags: page.items, more: page.more };
  }

  /** A repository's images (manifests with tags and sizes), paged in the store by digest. */
  async images(
    name: string,
    o: { after?: string; limit: number; tagStatus?: TagStatus },
  ): Promise<Page<ImageRecord>> {
    return this.store.images(await this.repoForRead(name), o);
  }

  /** Image ids, one per tag, paged in the store by (digest, tag). */
  async imageIds(name: string, o: Parameters<RegistryStore["imageIds"]>[1]) {
    return this.store.imageIds(await this.repoForRead(name), o);
  }

  /** The image a digest and/or tag names, or null. */
  async findImage(name: string, id: { digest?: string; tag?: string }): Promise<ImageRecord | null> {
    return this.store.findImage(await this.repoForRead(name), id);
  }

  /**
   * Removes a repository and all it holds (its blobs are left to garbage collection). Each of
   * its images goes through the deletion hooks first, in the same transaction, as a manifest
   * deletion would: its open findings are closed with their `Inspector2 Finding` events (rules on
   * the event bus learn they are gone) and its queued scans dropped.
   */
  async deleteRepository(name: string): Promise<void> {
    const repo = await this.repoForRead(name);
    await this.meta.tx(async (tx) => {
      await tx.registry.lockRepository(repo);
      for (let after: string | undefined; ;) {
        const page = await tx.registry.images(repo, { after, limit: 500 });
        for (const image of page.items)
          await this.hooks.manifestDeleted?.(tx, {
            repository: name,
            repositoryId: repo,
            digest: image.digest,
          });
        if (!page.more || !page.items.length) break;
        after = page.items[page.items.length - 1]!.digest;
      }
      await tx.registry.deleteRepository(repo);
    });
  }

  async catalog(n: number, last?: string): Promise<{ repositories: string[]; more: boolean }> {
    const page = await this.store.listRepositories(last, n);
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
    const repo = await this.store.repositoryId(name);
    const rows = repo === null ? [] : await this.store.referrers(repo, d, artifactType);
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
