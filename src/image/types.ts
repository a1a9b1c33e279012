import type { Readable } from "node:stream";
import type { Distro, Package, Problem } from "../catalog/types.js";
import type { SkippedLockFile } from "./applications.js";

/**
 * Images as Drydock reads them, whatever the source (OCI layout, archives, a registry,
 * Drydock's own store, an unpacked directory).
 */

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export interface LayerRef {
  /** Digest of the blob as stored (compressed). For a `dir:` source, a synthetic id. */
  digest: string;
  /** Digest of the uncompressed tar (config rootfs.diff_ids): the inventory cache key. */
  diffID: string;
  mediaType: string;
  size: number;
}

/** One runnable image: a manifest, its config and its layers (one platform of an index). */
export interface PlatformImage {
  manifestDigest: string;
  manifestMediaType: string;
  configDigest: string;
  platform: Platform;
  layers: LayerRef[];
  /** The image config JSON (history, env, labels...). */
  config: Record<string, unknown>;
}

export interface ResolvedImage {
  /** Set when the reference named an image index / manifest list. */
  index?: { digest: string; mediaType: string };
  images: PlatformImage[];
}

/** A blob as a byte range of a local file. */
export interface LocalBlob {
  path: string;
  start: number;
  length: number;
}

export interface ImageSource {
  /** The reference as the user wrote it (for reports). */
  readonly reference: string;
  resolve(): Promise<ResolvedImage>;
  /** The stored bytes of a layer blob (compressed as stored). */
  openLayer(layer: LayerRef): Promise<Readable>;
  /**
   * Where the stored bytes of a layer blob lie in a local file, when they do (an OCI layout, an
   * archive member, Drydock's filesystem store): the analysis then reads them in its worker
   * thread instead of streaming them through the main thread. Null or absent: `openLayer`.
   */
  localLayer?(layer: LayerRef): Promise<LocalBlob | null>;
  /**
   * Problems met while producing a layer's stream that the stream itself cannot carry (a `dir:`
   * source skipping an unreadable file); asked once the layer has been read.
   */
  layerProblems?(layer: LayerRef): Problem[];
  close(): Promise<void>;
}

/** The inventory of one platform image: Drydock's own `json` SBOM format (docs/sbom.md). */
export interface ImageInventory {
  image: {
    reference: string;
    manifestDigest: string;
    mediaType: string;
    configDigest: string;
    platform: Platform;
    layers: LayerRef[];
  };
  distro: Distro | null;
  packages: Package[];
  problems: Problem[];
  /**
   * Lock files whose packages are not in `packages` (installed packages are counted instead,
   * or the lock file belongs to a package), with the reason; absent when there are none.
   */
  skippedLockFiles?: SkippedLockFile[];
  /**
   * diffIDs of the layers that could not be read completely (corrupt, truncated, over an
   * `analysis.*` limit, content not matching the diffID); absent when every layer was read.
   * When set, `packages` is what the readable part showed and `problems` say why.
   */
  incompleteLayers?: string[];
}

/** What `drydock sbom --format json` prints: one inventory, or one per platform of an index. */
export type InventoryDocument =
  | ImageInventory
  | { index: { reference: string; digest: string; mediaType: string }; images: ImageInventory[] };
