import { availableParallelism } from "node:os";
import { analyzerKey } from "../catalog/registry.js";
import { osPurl } from "../catalog/os/purl.js";
import type { Cataloger, DistroDetector } from "../catalog/types.js";
import { analyzeLayerTar, LAYER_FORMAT, type LayerInventory, type LayerLimits } from "./analyze-layer.js";
import { InventoryCache, type LayerCache } from "./cache.js";
import { hashedLayer } from "./layer-worker.js";
import { mergeLayers } from "./merge.js";
import { DIR_LAYER_PREFIX } from "./sources/dir.js";
import type { ImageInventory, ImageSource, InventoryDocument, LayerRef, PlatformImage } from "./types.js";

export interface AnalyzeOptions {
  catalogers: readonly Cataloger[];
  detectors: readonly DistroDetector[];
  limits: LayerLimits;
  /** Per-layer inventory cache; none for one-off analyses. */
  cache?: LayerCache;
  /** Layers read at the same time (default: the number of cores). */
  concurrency?: number;
  progress?: AnalyzeProgress;
  /** The main thread serves requests: no layer work on it beyond the tar walk (see hashedLayer). */
  keepMainThreadFree?: boolean;
}

export interface AnalyzeProgress {
  /** A layer is about to be looked up in the cache, then read if it is not there. */
  layerStarted(layer: LayerRef): void;
  /** Decompressed bytes read from a layer (never called for a cached layer). */
  bytesRead(n: number): void;
  /** `fromCache`: the inventory came from the cache and the layer was not opened at all. */
  layerDone(layer: LayerRef, fromCache: boolean): void;
}

export function limitsKey(l: LayerLimits): string {
  return `${l.maxBytes}/${l.maxEntries}/${l.maxFileBytes}/${l.maxNestedArchiveBytes}`;
}

/** The cache key of a layer's inventory: what it is, who read it, how, and with which limits. */
export function layerCacheKey(diffID: string, analyzers: string, limits: LayerLimits): string {
  return InventoryCache.key(diffID, `${analyzers};layer-format=${LAYER_FORMAT}`, limitsKey(limits));
}

/**
 * Inventories every platform image of a source. Each distinct layer (by diffID) is read once,
 * from the cache when possible, up to `concurrency` layers at a time; then each image's layers are
 * merged. Layers that cannot be read completely (corrupt, truncated, over a limit, not matching
 * their diffID) do not stop the analysis: they are listed in `incompleteLayers` with problems
 * saying why, and are never cached.
 */
export async function analyzeImage(source: ImageSource, opts: AnalyzeOptions): Promise<InventoryDocument> {
  const resolved = await source.resolve();
  const analyzers = analyzerKey(opts.catalogers, opts.detectors);
  const layerResults = new Map<string, Promise<LayerInventory>>();

  const readLayer = (layer: LayerRef): Promise<LayerInventory> => {
    let p = layerResults.get(layer.diffID);
    if (!p) {
      p = schedule(async () => {
        // A directory has no content digest: it is read every time.
        const cacheable = opts.cache && !layer.diffID.startsWith(DIR_LAYER_PREFIX);
        const key = layerCacheKey(layer.diffID, analyzers, opts.limits);
        opts.progress?.layerStarted(layer);
        if (cacheable) {
          const hit = await opts.cache!.get(key, layer.diffID);
          if (hit) {
            opts.progress?.layerDone(layer, true);
            return hit;
          }
        }
        const blob = (await source.localLayer?.(layer)) ?? (await source.openLayer(layer));
        const inv = await analyzeLayerTar(
          layer.diffID,
          hashedLayer(blob, { keepMainThreadFree: opts.keepMainThreadFree }),
          { catalogers: opts.catalogers, detectors: opts.detectors },
          opts.limits,
          {
            onBytes: opts.progress ? (n) => opts.progress!.bytesRead(n) : undefined,
            verifyDiffID: layer.diffID.startsWith(DIR_LAYER_PREFIX) ? undefined : layer.diffID,
          },
        );
        for (const p of (await source.layerProblems?.(layer)) ?? []) inv.problems.push(p);
        // Incomplete layers are never cached: a retry reads them again.
        if (cacheable && inv.complete) await opts.cache!.put(key, inv);
        opts.progress?.layerDone(layer, false);
        return inv;
      });
      layerResults.set(layer.diffID, p);
    }
    return p;
  };

  // A small semaphore: each layer in flight decompresses and hashes in a worker thread while the
  // main thread walks another layer's tar, so as many layers as cores keep every core busy.
  const concurrency = Math.max(1, opts.concurrency ?? availableParallelism());
  let running = 0;
  const waiting: (() => void)[] = [];
  async function schedule<T>(fn: () => Promise<T>): Promise<T> {
    if (running >= concurrency) await new Promise<void>((r) => waiting.push(r));
    running++;
    try {
      return await fn();
    } finally {
      running--;
      waiting.shift()?.();
    }
  }

  const inventories = await Promise.all(
    resolved.images.map(async (img): Promise<ImageInventory> => {
      const layers = await Promise.all(img.layers.map(readLayer));
      const merged = mergeLayers(layers, opts.detectors);
      const incomplete = layers.filter((l) => !l.complete).map((l) => l.diffID);
      return {
        image: describe(source.reference, img),
        distro: merged.distro,
        packages: merged.packages.map((p) => ({ ...p, purl: osPurl(p, merged.distro) })),
        problems: merged.problems,
        ...(merged.skippedLockFiles.length ? { skippedLockFiles: merged.skippedLockFiles } : {}),
        ...(incomplete.length ? { incompleteLayers: incomplete } : {}),
      };
    }),
  );
  if (resolved.index) {
    return { index: { reference: source.reference, ...resolved.index }, images: inventories };
  }
  return inventories[0]!;
}

function describe(reference: string, img: PlatformImage): ImageInventory["image"] {
  return {
    reference,
    manifestDigest: img.manifestDigest,
    mediaType: img.manifestMediaType,
    configDigest: img.configDigest,
    platform: img.platform,
    layers: img.layers,
  };
}

/** The inventories of a document, whether it is one image or an index. */
export function inventoriesOf(doc: InventoryDocument): ImageInventory[] {
  return "images" in doc ? doc.images : [doc];
}
