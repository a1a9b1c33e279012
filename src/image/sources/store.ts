import type { Readable } from "node:stream";
import type { Digest } from "../../core/digest.js";
import type { BlobStore } from "../../storage/blob/types.js";
import type { MetaStore } from "../../storage/meta/store.js";
import { ImageFormatError, MAX_JSON_BLOB_BYTES, resolveImage, verify } from "../resolve.js";
import type { ImageSource, LayerRef, LocalBlob, ResolvedImage } from "../types.js";

/**
 * An image in Drydock's own store (the registry's manifests in the MetaStore, bytes in the
 * BlobStore), read without HTTP: the scan queue uses it. Only blobs linked to the repository
 * (or referenced by its manifests) are read, as a pull would.
 */
export class StoreImageSource implements ImageSource {
  readonly reference: string;
  private resolved?: Promise<ResolvedImage>;

  constructor(
    private readonly meta: MetaStore,
    private readonly blobs: BlobStore,
    private readonly repositoryId: number,
    repositoryName: string,
    private readonly digest: string,
  ) {
    this.reference = `${repositoryName}@${digest}`;
  }

  /** Resolved once per source: the scan checks the layer cache before analysing. */
  resolve(): Promise<ResolvedImage> {
    this.resolved ??= this.doResolve();
    return this.resolved;
  }

  private async doResolve(): Promise<ResolvedImage> {
    const m = await this.meta.registry.manifest(this.repositoryId, this.digest);
    if (!m) throw new ImageFormatError(`manifest ${this.reference} is not in the store`);
    const bytes = await this.read(this.digest);
    verify(bytes, this.digest, "manifest");
    return resolveImage(bytes, this.digest, { fetch: (d) => this.read(d) }, { mediaTypeHint: m.mediaType });
  }

  private async read(digest: string): Promise<Buffer> {
    const info = await this.blobs.stat(digest as Digest);
    if (!info) throw new ImageFormatError(`blob ${digest} of ${this.reference} is missing from the store`);
    if (info.size > MAX_JSON_BLOB_BYTES)
      throw new ImageFormatError(`blob ${digest} is ${info.size} bytes: too large for a manifest or config`);
    return this.blobs.read(digest as Digest);
  }

  async openLayer(layer: LayerRef): Promise<Readable> {
    if (!(await this.blobs.stat(layer.digest as Digest)))
      throw new ImageFormatError(`layer ${layer.digest} of ${this.reference} is missing from the store`);
    return this.blobs.open(layer.digest as Digest);
  }

  async localLayer(layer: LayerRef): Promise<LocalBlob | null> {
    const f = await this.blobs.localFile?.(layer.digest as Digest);
    return f ? { path: f.path, start: 0, length: f.size } : null;
  }

  async close(): Promise<void> {}
}
