import { existsSync } from "node:fs";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { compress as zstdCompress } from "zstd-napi";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { catalogers, distroDetectors } from "../catalog/registry.js";
import { buildBdb, buildHeader, randomBytes } from "../catalog/os/rpm/rpmdb-testing.js";
import type { LayerLimits } from "./analyze-layer.js";
import { analyzeImage, inventoriesOf } from "./analyze.js";
import { InventoryCache } from "./cache.js";
import { ImageFormatError } from "./resolve.js";
import { openImageSource } from "./sources/index.js";
import type { ImageInventory } from "./types.js";
import {
  buildImage,
  compress,
  DEBIAN_OS_RELEASE,
  dpkgStatus,
  ociImage,
  sha256,
  tarball,
  tarEntry,
  writeOciLayout,
  type LayerSpec,
} from "./testdata/images.js";

/**
 * Hostile and broken layers, end to end at unit level: built here as OCI layouts in a temp
 * directory and run through `analyzeImage`. Each must give a clear error or a recorded problem,
 * never a crash, never a write outside the data directory, never a host file read.
 */

const LIMITS: LayerLimits = {
  maxEntries: 10_000,
  maxBytes: 64 * 1024 * 1024,
  maxFileBytes: 4 * 1024 * 1024,
  maxNestedArchiveBytes: 4 * 1024 * 1024,
};

let work: string;
let n = 0;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "drydock-analyze-test-"));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

async function analyze(
  layers: LayerSpec[],
  opts: { limits?: Partial<LayerLimits>; cacheDir?: string } = {},
): Promise<ImageInventory & { cacheDir: string }> {
  const dir = join(work, `img-${n++}`);
  const { ref } = await ociImage(dir, layers);
  const cacheDir = opts.cacheDir ?? join(work, `data-${n}`, "cache", "layers");
  const doc = await analyzeImage(openImageSource(ref), {
    catalogers,
    detectors: distroDetectors,
    limits: { ...LIMITS, ...opts.limits },
    cache: new InventoryCache(cacheDir),
  });
  return { ...inventoriesOf(doc)[0]!, cacheDir };
}

const base: LayerSpec = {
  tar: tarball([
    { name: "etc/os-release", body: DEBIAN_OS_RELEASE },
    { name: "var/lib/dpkg/status", body: dpkgStatus([{ name: "libc6", version: "2.36-9" }]) },
  ]),
};

async function cachedFiles(dir: string): Promise<string[]> {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const sub of await readdir(dir))
    for (const f of await readdir(join(dir, sub))) out.push(`${sub}/${f}`);
  return out;
}

describe("analyzeImage: hostile paths and links", () => {
  it("ignores ../ entries with a problem, takes absolute ones inside the root, writes nothing outside", async () => {
    const marker = `drydock-pwned-${process.pid}-${Date.now()}`;
    const inv = await analyze([
      base,
      {
        tar: tarball([
          { name: `../../../../../../tmp/${marker}`, body: "pwned" },
          { name: `/tmp/${marker}-abs`, body: "pwned" },
          {
            name: "/var/lib/dpkg/status",
            body: dpkgStatus([
              { name: "libc6", version: "2.36-9" },
              { name: "evil", version: "1" },
            ]),
          },
        ]),
      },
    ]);
    expect(inv.packages.map((p) => p.name)).toEqual(["evil", "libc6"]);
    expect(inv.problems).toEqual([
      expect.objectContaining({
        path: `../../../../../../tmp/${marker}`,
        source: "image",
        reason: expect.stringMatching(/climbs above the image root/),
      }),
    ]);
    expect(existsSync(`/tmp/${marker}`)).toBe(false);
    expect(existsSync(`/tmp/${marker}-abs`)).toBe(false);
    expect(inv.incompleteLayers).toBeUndefined();
  });

  it("never reads the host through a symlink pointing outside the root", async () => {
    // The host has /etc/os-release; the image has none: the link must not find the host's.
    const inv = await analyze([
      {
        tar: tarball([
          { name: "etc/os-release", type: "2", linkname: "../../../../../../../../../etc/os-release" },
          { name: "usr/lib/os-release", type: "2", linkname: "/../../../usr/lib/os-release" },
          { name: "var/lib/dpkg/status", type: "2", linkname: "/../../../../var/lib/dpkg/status" },
        ]),
      },
    ]);
    expect(inv.distro).toBeNull();
    expect(inv.packages).toEqual([]);
    // Both os-release links resolve to themselves inside the root: loops, not host files.
    expect(inv.problems.map((p) => `${p.path}: ${p.reason}`).sort()).toEqual([
      "/etc/os-release: symlink loop (more than 40 links): not followed",
      "/usr/lib/os-release: symlink loop (more than 40 links): not followed",
      "/var/lib/dpkg/status: symlink loop (more than 40 links): not followed",
    ]);
  });

  it("reports a symlink loop and goes on", async () => {
    const inv = await analyze([
      base,
      {
        tar: tarball([
          { name: "a", type: "2", linkname: "b" },
          { name: "b", type: "2", linkname: "a" },
          { name: "var/lib/dpkg/status", type: "2", linkname: "/a" },
        ]),
      },
    ]);
    expect(inv.packages).toEqual([]);
    expect(inv.problems).toEqual([
      expect.objectContaining({
        path: "/var/lib/dpkg/status",
        reason: "symlink loop (more than 40 links): not followed",
      }),
    ]);
    expect(inv.distro?.id).toBe("debian");
  });
});

describe("analyzeImage: bombs and limits", () => {
  it("stops a gzip bomb at analysis.maxLayerBytes: problem, layer incomplete, not cached", async () => {
    // 256 MiB of zeros in one file: about 250 KiB compressed.
    const bomb = Buffer.concat([
      tarEntry({ name: "zeros", body: "", headerSize: 256 * 1024 * 1024 }).subarray(0, 512),
      Buffer.alloc(256 * 1024 * 1024),
      Buffer.alloc(1024),
    ]);
    const blob = gzipSync(bomb, { level: 1 });
    expect(blob.length).toBeLessThan(2 * 1024 * 1024);
    const inv = await analyze([base, { tar: bomb, blob }], { limits: { maxBytes: 32 * 1024 * 1024 } });
    expect(inv.problems).toEqual([
      expect.objectContaining({
        path: "/",
        source: "image",
        reason: "layer decompresses to more than 33554432 bytes",
      }),
    ]);
    expect(inv.incompleteLayers).toEqual([sha256(bomb)]);
    expect(inv.packages.map((p) => p.name)).toEqual(["libc6"]);
    expect(await cachedFiles(inv.cacheDir)).toHaveLength(1); // the base layer only
  });

  it("stops a zstd bomb at analysis.maxLayerBytes (decoded only as far as it is read)", async () => {
    // A tar header for one 2.5 GiB file, then 40 zstd frames of 64 MiB of zeros: about 80 KiB.
    const head = tarEntry({ name: "zeros", body: "", headerSize: 40 * 64 * 1024 * 1024 }).subarray(0, 512);
    const zeros = zstdCompress(Buffer.alloc(64 * 1024 * 1024));
    const blob = Buffer.concat([zstdCompress(head), ...Array.from({ length: 40 }, () => zeros)]);
    const rss0 = process.memoryUsage().rss;
    const inv = await analyze([base, { tar: head, compression: "zstd", blob }], {
      limits: { maxBytes: 32 * 1024 * 1024 },
    });
    expect(process.memoryUsage().rss - rss0).toBeLessThan(256 * 1024 * 1024);
    expect(inv.problems.map((p) => p.reason)).toEqual(["layer decompresses to more than 33554432 bytes"]);
    expect(inv.incompleteLayers).toHaveLength(1);
  });

  it("stops an entry bomb at analysis.maxLayerEntries", async () => {
    const entries = Array.from({ length: 2000 }, (_, i) => ({ name: `d/${i}`, body: "" }));
    const inv = await analyze([{ tar: tarball(entries) }], { limits: { maxEntries: 1000 } });
    expect(inv.problems.map((p) => p.reason)).toEqual(["more than 1000 entries in one layer"]);
    expect(inv.incompleteLayers).toHaveLength(1);
  });

  it("does not buffer a cataloged file over analysis.maxFileBytes, and reads the rest of the layer", async () => {
    const huge = "Package: x\n" + "Description: " + "z".repeat(5 * 1024 * 1024) + "\n";
    const inv = await analyze([
      {
        tar: tarball([
          { name: "var/lib/dpkg/status", body: huge },
          { name: "etc/os-release", body: DEBIAN_OS_RELEASE },
        ]),
      },
    ]);
    expect(inv.problems).toEqual([
      expect.objectContaining({
        path: "/var/lib/dpkg/status",
        reason: expect.stringMatching(/over the 4194304-byte limit \(analysis.maxFileBytes\): not read/),
      }),
    ]);
    expect(inv.distro?.id).toBe("debian");
    expect(inv.incompleteLayers).toBeUndefined();
  });
});

describe("analyzeImage: truncated and corrupt layers", () => {
  const layer2 = tarball([
    { name: "var/lib/dpkg/status", body: dpkgStatus([{ name: "curl", version: "7.88" }]) },
  ]);

  for (const compression of ["gzip", "zstd", "none"] as const) {
    it(`reports a truncated ${compression} layer as incomplete and does not cache it`, async () => {
      const full = compress(layer2, compression);
      const blob = full.subarray(0, Math.floor(full.length * 0.6));
      const inv = await analyze([base, { tar: layer2, compression, blob }]);
      expect(inv.incompleteLayers).toEqual([sha256(layer2)]);
      expect(inv.problems).toHaveLength(1);
      expect(inv.problems[0]).toMatchObject({ path: "/", source: "image", layer: sha256(layer2) });
      expect(inv.problems[0]!.reason).toMatch(
        compression === "gzip"
          ? /unexpected end of file/
          : compression === "zstd"
            ? /middle of compressed data/
            : /truncated tar/,
      );
      expect(await cachedFiles(inv.cacheDir)).toHaveLength(1);
    });
  }

  it("reports a layer cut at a block boundary through the diffID check", async () => {
    const blob = layer2.subarray(0, 512 * 3); // header, body, nothing else: tar-wise clean
    const inv = await analyze([base, { tar: layer2, compression: "none", blob }]);
    expect(inv.problems.map((p) => p.reason)).toEqual([
      expect.stringMatching(/^layer content has digest sha256:[0-9a-f]{64}, not the diffID sha256:/),
    ]);
    expect(inv.incompleteLayers).toEqual([sha256(layer2)]);
  });

  it("never caches a layer under a diffID it does not have (cache poisoning)", async () => {
    const cacheDir = join(work, "shared-cache");
    const honest = tarball([
      { name: "var/lib/dpkg/status", body: dpkgStatus([{ name: "openssl", version: "3.0.2" }]) },
    ]);
    const liar = tarball([
      { name: "var/lib/dpkg/status", body: dpkgStatus([{ name: "nothing-here", version: "1" }]) },
    ]);
    const poisoned = await analyze([{ tar: liar, diffID: sha256(honest) }], { cacheDir });
    expect(poisoned.incompleteLayers).toEqual([sha256(honest)]);
    expect(await cachedFiles(cacheDir)).toEqual([]);
    const real = await analyze([{ tar: honest }], { cacheDir });
    expect(real.packages.map((p) => p.name)).toEqual(["openssl"]);
  });

  it("reports garbage with a gzip magic as an unreadable layer", async () => {
    const blob = Buffer.concat([Buffer.from([0x1f, 0x8b, 8, 0]), randomBytes(4096, 7)]);
    const inv = await analyze([base, { tar: layer2, blob }]);
    expect(inv.problems[0]!.reason).toMatch(/^layer unreadable: /);
    expect(inv.incompleteLayers).toHaveLength(1);
  });

  it("records a corrupt dpkg database as a problem of the dpkg cataloger", async () => {
    const inv = await analyze([
      { tar: tarball([{ name: "var/lib/dpkg/status", body: randomBytes(20_000, 3) }]) },
    ]);
    expect(inv.packages).toEqual([]);
    expect(inv.problems.length).toBeGreaterThan(0);
    expect(inv.problems.every((p) => p.source === "dpkg-status" && p.path === "/var/lib/dpkg/status")).toBe(
      true,
    );
    expect(inv.incompleteLayers).toBeUndefined();
  });

  it("records corrupt rpm databases (truncated, random bytes) as problems of the rpm cataloger", async () => {
    const headers = ["bash", "zlib", "openssl-libs"].map((name) =>
      buildHeader({
        name,
        version: "1.0",
        release: "1.el8",
        arch: "x86_64",
        sourceRpm: `${name}-1.0-1.el8.src.rpm`,
      }),
    );
    const db = buildBdb(headers);
    const ok = await analyze([{ tar: tarball([{ name: "var/lib/rpm/Packages", body: db }]) }]);
    expect(ok.packages.map((p) => p.name)).toEqual(["bash", "openssl-libs", "zlib"]);
    const inv = await analyze([
      {
        tar: tarball([
          { name: "var/lib/rpm/Packages", body: db.subarray(0, Math.floor(db.length / 2)) },
          {
            name: "usr/lib/sysimage/rpm/rpmdb.sqlite",
            body: Buffer.concat([Buffer.from("SQLite format 3\0"), randomBytes(8192, 11)]),
          },
          { name: "usr/share/rpm/Packages.db", body: randomBytes(4096, 5) },
        ]),
      },
    ]);
    expect(inv.incompleteLayers).toBeUndefined();
    expect(new Set(inv.problems.map((p) => p.path))).toEqual(
      new Set(["/var/lib/rpm/Packages", "/usr/lib/sysimage/rpm/rpmdb.sqlite", "/usr/share/rpm/Packages.db"]),
    );
    expect(inv.problems.every((p) => p.source === "rpmdb")).toBe(true);
  });
});

describe("analyzeImage: bad image metadata is a typed error", () => {
  it("a missing layer blob", async () => {
    const dir = join(work, "missing-blob");
    const img = buildImage([base]);
    img.blobs.delete(img.layerDigests[0]!);
    await writeOciLayout(dir, { latest: img });
    await expect(
      analyzeImage(openImageSource(`oci:${dir}`), { catalogers, detectors: distroDetectors, limits: LIMITS }),
    ).rejects.toThrow(ImageFormatError);
  });

  it("a config listing the wrong number of diff_ids, or diff_ids that are not digests", async () => {
    for (const diffIDs of [[], ["../../etc/passwd"], [42]]) {
      const dir = join(work, `bad-config-${n++}`);
      const img = buildImage([base]);
      const config = Buffer.from(
        JSON.stringify({ os: "linux", architecture: "amd64", rootfs: { type: "layers", diff_ids: diffIDs } }),
      );
      img.blobs.delete(img.configDigest);
      img.blobs.set(sha256(config), config);
      const manifest = JSON.parse(img.manifest.toString()) as { config: { digest: string; size: number } };
      manifest.config.digest = sha256(config);
      manifest.config.size = config.length;
      const mb = Buffer.from(JSON.stringify(manifest));
      img.blobs.delete(img.manifestDigest);
      img.blobs.set(sha256(mb), mb);
      await writeOciLayout(dir, { latest: { ...img, manifest: mb, manifestDigest: sha256(mb) } });
      await expect(
        analyzeImage(openImageSource(`oci:${dir}`), {
          catalogers,
          detectors: distroDetectors,
          limits: LIMITS,
        }),
      ).rejects.toThrow(/diff_ids/);
    }
  });

  it("a manifest whose content does not match its digest", async () => {
    const dir = join(work, "tampered");
    const img = buildImage([base]);
    await writeOciLayout(dir, { latest: img });
    await writeFile(join(dir, "blobs", "sha256", img.manifestDigest.slice(7)), img.manifest.toString() + " ");
    await expect(
      analyzeImage(openImageSource(`oci:${dir}`), { catalogers, detectors: distroDetectors, limits: LIMITS }),
    ).rejects.toThrow(/has content digest/);
  });
});
