import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { catalogers, distroDetectors } from "../catalog/registry.js";
import type { Cataloger } from "../catalog/types.js";
import { LAYER_FORMAT, type LayerInventory, type LayerLimits } from "./analyze-layer.js";
import { analyzeImage, layerCacheKey, type AnalyzeProgress } from "./analyze.js";
import { InventoryCache } from "./cache.js";
import { openImageSource } from "./sources/index.js";
import { DEBIAN_OS_RELEASE, dpkgStatus, ociImage, tarball } from "./testdata/images.js";
import type { ImageSource, LayerRef } from "./types.js";

const LIMITS: LayerLimits = {
  maxEntries: 1000,
  maxBytes: 1 << 26,
  maxFileBytes: 1 << 22,
  maxNestedArchiveBytes: 1 << 22,
};

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "drydock-cache-test-"));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

function inventory(diffID: string): LayerInventory {
  return {
    format: LAYER_FORMAT,
    diffID,
    packages: [],
    files: ["/var/lib/dpkg/status"],
    whiteouts: [],
    opaque: [],
    symlinks: [["/bin", "usr/bin"]],
    catalogedSymlinks: [],
    hardlinks: [],
    distroFiles: {},
    owned: {},
    problems: [],
    complete: true,
    stats: { entries: 3, bytes: 2048 },
  };
}

const KEY = "ab".repeat(32);
const DIFF = `sha256:${"cd".repeat(32)}`;

describe("InventoryCache", () => {
  it("stores and returns an inventory under <2 hex>/<key>.json, leaving no temporary file", async () => {
    const dir = join(work, "c1");
    const cache = new InventoryCache(dir);
    expect(await cache.get(KEY)).toBeNull();
    await cache.put(KEY, inventory(DIFF));
    expect(await cache.get(KEY, DIFF)).toEqual(inventory(DIFF));
    expect(await readdir(join(dir, "ab"))).toEqual([`${KEY}.json`]);
  });

  it("treats torn, foreign, incomplete or mismatched entries as misses", async () => {
    const dir = join(work, "c2");
    const cache = new InventoryCache(dir);
    const file = join(dir, "ab", `${KEY}.json`);
    await mkdir(join(dir, "ab"), { recursive: true });
    const bad = [
      JSON.stringify(inventory(DIFF)).slice(0, 50), // torn
      "null",
      "[]",
      JSON.stringify({ ...inventory(DIFF), format: LAYER_FORMAT - 1 }), // older format
      JSON.stringify({ ...inventory(DIFF), complete: false }),
      JSON.stringify({ ...inventory(DIFF), symlinks: undefined }),
    ];
    for (const text of bad) {
      await writeFile(file, text);
      expect(await cache.get(KEY, DIFF)).toBeNull();
    }
    await writeFile(file, JSON.stringify(inventory(DIFF)));
    expect(await cache.get(KEY, `sha256:${"ef".repeat(32)}`)).toBeNull(); // not this layer's entry
    expect(await cache.get(KEY, DIFF)).not.toBeNull();
  });

  it("refuses keys that are not sha256 hex (no path tricks)", async () => {
    const cache = new InventoryCache(join(work, "c3"));
    await expect(cache.put("../../../etc/x", inventory(DIFF))).rejects.toThrow(/invalid layer cache key/);
  });

  it("keys differ by diffID, analyzer versions, limits and layer format", () => {
    const a = layerCacheKey(DIFF, "dpkg-status@1", LIMITS);
    expect(layerCacheKey(DIFF, "dpkg-status@2", LIMITS)).not.toBe(a);
    expect(layerCacheKey(`sha256:${"00".repeat(32)}`, "dpkg-status@1", LIMITS)).not.toBe(a);
    expect(layerCacheKey(DIFF, "dpkg-status@1", { ...LIMITS, maxBytes: 1 })).not.toBe(a);
    expect(layerCacheKey(DIFF, "dpkg-status@1", LIMITS)).toBe(a);
  });
});

/** Wraps a source to count layer opens: the proof that a cached run reads no layer. */
function counting(source: ImageSource): ImageSource & { opened: string[] } {
  const opened: string[] = [];
  return {
    reference: source.reference,
    opened,
    resolve: () => source.resolve(),
    openLayer: (l: LayerRef) => {
      opened.push(l.diffID);
      return source.openLayer(l);
    },
    close: () => source.close(),
  };
}

function recorder(): AnalyzeProgress & { done: [string, boolean][]; bytes: number } {
  const r = {
    done: [] as [string, boolean][],
    bytes: 0,
    layerStarted() {},
    bytesRead(n: number) {
      r.bytes += n;
    },
    layerDone(l: LayerRef, fromCache: boolean) {
      r.done.push([l.diffID, fromCache]);
    },
  };
  return r;
}

describe("analyzeImage with the cache", () => {
  it("reads every layer on the first run and none on the second, with the same inventory", async () => {
    const { ref, image } = await ociImage(join(work, "img"), [
      {
        tar: tarball([
          { name: "etc/os-release", body: DEBIAN_OS_RELEASE },
          { name: "var/lib/dpkg/status", body: dpkgStatus([{ name: "a", version: "1" }]) },
        ]),
      },
      {
        tar: tarball([
          {
            name: "var/lib/dpkg/status",
            body: dpkgStatus([
              { name: "a", version: "1" },
              { name: "b", version: "2" },
            ]),
          },
        ]),
        compression: "zstd",
      },
    ]);
    const cache = new InventoryCache(join(work, "data", "cache", "layers"));
    const run = async () => {
      const src = counting(openImageSource(ref));
      const progress = recorder();
      const doc = await analyzeImage(src, {
        catalogers,
        detectors: distroDetectors,
        limits: LIMITS,
        cache,
        progress,
      });
      return { doc, opened: src.opened, progress };
    };
    const cold = await run();
    expect(cold.opened.sort()).toEqual([...image.diffIDs].sort());
    expect(cold.progress.done.every(([, c]) => !c)).toBe(true);
    expect(cold.progress.bytes).toBeGreaterThan(0);

    const warm = await run();
    expect(warm.opened).toEqual([]);
    expect(warm.progress.done.map(([d, c]) => [d, c]).sort()).toEqual(
      image.diffIDs.map((d) => [d, true]).sort(),
    );
    expect(warm.progress.bytes).toBe(0);
    expect(warm.doc).toEqual(cold.doc);
  });

  it("reads layers again for a new cataloger version or other limits", async () => {
    const { ref } = await ociImage(join(work, "img2"), [
      { tar: tarball([{ name: "var/lib/dpkg/status", body: dpkgStatus([{ name: "a", version: "1" }]) }]) },
    ]);
    const cache = new InventoryCache(join(work, "data2"));
    const go = async (cats: readonly Cataloger[], limits: LayerLimits) => {
      const src = counting(openImageSource(ref));
      await analyzeImage(src, { catalogers: cats, detectors: distroDetectors, limits, cache });
      return src.opened.length;
    };
    expect(await go(catalogers, LIMITS)).toBe(1);
    expect(await go(catalogers, LIMITS)).toBe(0);
    const bumped = catalogers.map((c) => (c.id === "dpkg-status" ? { ...c, version: c.version + 1 } : c));
    expect(await go(bumped, LIMITS)).toBe(1);
    expect(await go(bumped, LIMITS)).toBe(0);
    expect(await go(catalogers, { ...LIMITS, maxFileBytes: 1 << 21 })).toBe(1);
  });

  it("never caches an incomplete layer: the next run reads it again", async () => {
    const tar = tarball([{ name: "var/lib/dpkg/status", body: dpkgStatus([{ name: "a", version: "1" }]) }]);
    const { ref } = await ociImage(join(work, "img3"), [
      { tar, compression: "gzip", blob: Buffer.from([0x1f, 0x8b, 8, 0, 1, 2, 3]) },
    ]);
    const dir = join(work, "data3");
    const cache = new InventoryCache(dir);
    for (let i = 0; i < 2; i++) {
      const src = counting(openImageSource(ref));
      const doc = await analyzeImage(src, { catalogers, detectors: distroDetectors, limits: LIMITS, cache });
      expect(src.opened).toHaveLength(1);
      expect("incompleteLayers" in doc && doc.incompleteLayers).toHaveLength(1);
    }
    await expect(readdir(dir)).rejects.toThrow(/ENOENT/);
  });

  it("a cached entry is plain JSON that a new process can read", async () => {
    const dir = join(work, "data4");
    const { ref } = await ociImage(join(work, "img4"), [
      { tar: tarball([{ name: "var/lib/dpkg/status", body: dpkgStatus([{ name: "a", version: "1" }]) }]) },
    ]);
    await analyzeImage(openImageSource(ref), {
      catalogers,
      detectors: distroDetectors,
      limits: LIMITS,
      cache: new InventoryCache(dir),
    });
    const [sub] = await readdir(dir);
    const [file] = await readdir(join(dir, sub!));
    const inv = JSON.parse(await readFile(join(dir, sub!, file!), "utf8")) as LayerInventory;
    expect(inv.packages.map((p) => p.name)).toEqual(["a"]);
    expect(inv.format).toBe(LAYER_FORMAT);
  });
});
