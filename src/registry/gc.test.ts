import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { mkdtemp, rm, utimes, writeFile, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { Readable } from "node:stream";
import { sha256, type Digest } from "../core/digest.js";
import { FsBlobStore } from "../storage/blob/fs.js";
import { openSqliteMetaStore } from "../storage/meta/sqlite.js";
import type { MetaStore } from "../storage/meta/store.js";
import { collectGarbage } from "./gc.js";
import { RegistryService } from "./service.js";

const HOUR = 3600_000;
const AWS = { accountId: "000000000000", region: "us-east-1" };

describe("online garbage collection", () => {
  let dir: string;
  let meta: MetaStore;
  let blobs: FsBlobStore;
  let reg: RegistryService;
  /** Virtual time: the store and GC see Date.now() + shift, so a test can let hours pass. */
  let shift = 0;
  const clock = () => Date.now() + shift;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "drydock-gc-"));
    blobs = await FsBlobStore.open(dir);
    shift = 0;
    meta = await openSqliteMetaStore(join(dir, "meta.db"), clock);
    reg = new RegistryService(meta, blobs, {
      maxManifestBytes: 4 << 20,
      createRepositoryOnPush: true,
      aws: AWS,
    });
  });
  afterEach(async () => {
    await meta.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function pushBlob(repo: string, content: string): Promise<Digest> {
    return reg.monolithicUpload(repo, sha256(content), Readable.from([Buffer.from(content)]));
  }

  function manifestFor(config: Digest, layers: Digest[], sizes: Record<string, number>): Buffer {
    return Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        config: {
          mediaType: "application/vnd.oci.image.config.v1+json",
          digest: config,
          size: sizes[config],
        },
        layers: layers.map((l) => ({
          mediaType: "application/vnd.oci.image.layer.v1.tar",
          digest: l,
          size: sizes[l],
        })),
      }),
    );
  }

  /** Two hours pass: every record written so far looks unused for that long. */
  async function ageEverything(): Promise<void> {
    shift += 2 * HOUR;
  }

  it("deletes the bytes of blobs no manifest references, after the grace period only", async () => {
    const config = await pushBlob("app", "{}");
    const layer = await pushBlob("app", "layer-bytes");
    const orphan = await pushBlob("app", "never referenced");
    const m = manifestFor(config, [layer], { [config]: 2, [layer]: 11 });
    const { digest } = await reg.putManifest("app", "v1", m, "application/vnd.oci.image.manifest.v1+json");

    // Within the grace period nothing goes, not even the orphan.
    let r = await collectGarbage(meta, blobs, { now: clock, gracePeriodMs: HOUR, uploadExpiryMs: 24 * HOUR });
    expect(r.blobsDeleted).toBe(0);
    expect(await blobs.stat(orphan)).not.toBeNull();

    await ageEverything();
    r = await collectGarbage(meta, blobs, { now: clock, gracePeriodMs: HOUR, uploadExpiryMs: 24 * HOUR });
    expect(r.blobsDeleted).toBe(1);
    expect(await blobs.stat(orphan)).toBeNull();
    for (const d of [config, layer, digest]) expect(await blobs.stat(d)).not.toBeNull();
    expect((await reg.getManifest("app", "v1")).digest).toBe(digest);

    // Deleting the manifest frees its config, layer and own bytes.
    await reg.deleteManifest("app", digest);
    await ageEverything();
    r = await collectGarbage(meta, blobs, { now: clock, gracePeriodMs: HOUR, uploadExpiryMs: 24 * HOUR });
    expect(r.blobsDeleted).toBe(3);
    for (const d of [config, layer, digest]) expect(await blobs.stat(d)).toBeNull();
  });

  it("keeps a blob referenced from another repository", async () => {
    const config = await pushBlob("a", "{}");
    const layer = await pushBlob("a", "shared layer");
    expect(await reg.mount("b", layer, "a")).toBe(layer);
    await pushBlob("b", "{}");
    const m = manifestFor(config, [layer], { [config]: 2, [layer]: 12 });
    await reg.putManifest("b", "v1", m, "application/vnd.oci.image.manifest.v1+json");
    await ageEverything();
    await collectGarbage(meta, blobs, { now: clock, gracePeriodMs: HOUR, uploadExpiryMs: 24 * HOUR });
    expect(await blobs.stat(layer)).not.toBeNull();
    expect(await reg.statBlob("b", layer)).toMatchObject({ size: 12 });
  });

  it("a blob checked by a client (HEAD) just before its manifest is pushed survives", async () => {
    const config = await pushBlob("app", "{}");
    const layer = await pushBlob("app", "checked layer");
    await ageEverything();
    // The client HEADs the blobs (they exist, no upload), then GC runs, then the manifest arrives.
    await reg.statBlob("app", config);
    await reg.statBlob("app", layer);
    await collectGarbage(meta, blobs, { now: clock, gracePeriodMs: HOUR, uploadExpiryMs: 24 * HOUR });
    const m = manifestFor(config, [layer], { [config]: 2, [layer]: 13 });
    await expect(
      reg.putManifest("app", "v1", m, "application/vnd.oci.image.manifest.v1+json"),
    ).resolves.toBeTruthy();
  });

  it("when GC wins the race, the manifest push fails cleanly with MANIFEST_BLOB_UNKNOWN", async () => {
    const config = await pushBlob("app", "{}");
    const layer = await pushBlob("app", "raced layer");
    await ageEverything();
    await collectGarbage(meta, blobs, { now: clock, gracePeriodMs: HOUR, uploadExpiryMs: 24 * HOUR });
    const m = manifestFor(config, [layer], { [config]: 2, [layer]: 11 });
    await expect(
      reg.putManifest("app", "v1", m, "application/vnd.oci.image.manifest.v1+json"),
    ).rejects.toMatchObject({
      code: "MANIFEST_BLOB_UNKNOWN",
    });
    await expect(reg.getManifest("app", "v1")).rejects.toMatchObject({ code: "MANIFEST_UNKNOWN" });
    // Re-uploading makes the push succeed.
    await pushBlob("app", "{}");
    await pushBlob("app", "raced layer");
    await expect(
      reg.putManifest("app", "v1", m, "application/vnd.oci.image.manifest.v1+json"),
    ).resolves.toBeTruthy();
  });

  it("removes orphan files, stale temp files and expired uploads", async () => {
    const orphan = sha256("crashed before its row was written");
    const path = blobs.blobPath(orphan);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, "crashed before its row was written");
    const old = new Date(Date.now() - 2 * HOUR);
    await utimes(path, old, old);
    const s = await reg.startUpload("app");
    await reg.appendUpload("app", s.id, Readable.from([Buffer.from("partial")]), {});
    shift += 48 * HOUR;
    const fresh = await reg.startUpload("app");

    const dry = await collectGarbage(meta, blobs, {
      now: clock,
      gracePeriodMs: HOUR,
      uploadExpiryMs: 24 * HOUR,
      dryRun: true,
    });
    expect(dry).toMatchObject({ orphanFilesDeleted: 1, uploadsExpired: 1, dryRun: true });
    expect(await blobs.stat(orphan)).not.toBeNull();

    const r = await collectGarbage(meta, blobs, {
      now: clock,
      gracePeriodMs: HOUR,
      uploadExpiryMs: 24 * HOUR,
    });
    expect(r).toMatchObject({ orphanFilesDeleted: 1, uploadsExpired: 1 });
    expect(await blobs.stat(orphan)).toBeNull();
    await expect(reg.uploadStatus("app", s.id)).rejects.toMatchObject({ code: "BLOB_UPLOAD_UNKNOWN" });
    expect(await reg.uploadStatus("app", fresh.id)).toEqual({ id: fresh.id, size: 0 });
  });
});
