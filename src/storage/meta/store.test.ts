import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sha256 } from "../../core/digest.js";
import { openSqliteMetaStore } from "./sqlite.js";
import type { MetaStore, PutManifestInput } from "./store.js";

/**
 * The MetaStore conformance suite: every driver (SQLite now, PostgreSQL later) must pass it.
 */
export function describeMetaStore(
  driver: string,
  open: () => Promise<{ store: MetaStore; cleanup: () => Promise<void> }>,
) {
  describe(`MetaStore (${driver})`, () => {
    let store: MetaStore;
    let cleanup: () => Promise<void>;
    beforeEach(async () => {
      ({ store, cleanup } = await open());
    });
    afterEach(async () => {
      await store.close();
      await cleanup();
    });

    const config = sha256("config");
    const layer = sha256("layer");
    const manifest = (repo: number, tag?: string, subject: string | null = null): PutManifestInput => ({
      repositoryId: repo,
      digest: sha256(`manifest-${tag}-${subject}`),
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      artifactType: "application/vnd.oci.image.config.v1+json",
      subject,
      size: 100,
      annotations: subject ? { kind: "sbom" } : null,
      references: [
        { digest: config, kind: "blob" },
        { digest: layer, kind: "blob" },
      ],
      tag,
    });

    it("creates repositories once and lists only those with content", async () => {
      const a = await store.ensureRepository("team/app");
      expect(await store.ensureRepository("team/app")).toBe(a);
      await store.ensureRepository("empty");
      await store.linkBlob(a, config, 6);
      await store.linkBlob(a, layer, 5);
      expect((await store.putManifest(manifest(a, "v1"))).ok).toBe(true);
      expect((await store.listRepositories(undefined, 10)).items).toEqual(["team/app"]);
    });

    it("refuses a manifest whose blobs are not linked, writing nothing", async () => {
      const a = await store.ensureRepository("a");
      await store.linkBlob(a, config, 6);
      const r = await store.putManifest(manifest(a, "v1"));
      expect(r).toEqual({ ok: false, missing: [{ digest: layer, kind: "blob" }] });
      expect(await store.tag(a, "v1")).toBeNull();
      expect(await store.manifest(a, manifest(a, "v1").digest)).toBeNull();
    });

    it("blob links are per repository", async () => {
      const a = await store.ensureRepository("a");
      const b = await store.ensureRepository("b");
      await store.linkBlob(a, layer, 5);
      expect(await store.linkedBlob(a, layer)).toEqual({ size: 5 });
      expect(await store.linkedBlob(b, layer)).toBeNull();
      expect(await store.unlinkBlob(a, layer)).toBe(true);
      expect(await store.unlinkBlob(a, layer)).toBe(false);
    });

    it("tags paginate in lexical order", async () => {
      const a = await store.ensureRepository("a");
      await store.linkBlob(a, config, 6);
      await store.linkBlob(a, layer, 5);
      for (const t of ["b", "a", "d", "c"]) await store.putManifest(manifest(a, t));
      expect(await store.listTags(a, undefined, 2)).toEqual({ items: ["a", "b"], more: true });
      expect(await store.listTags(a, "b", 2)).toEqual({ items: ["c", "d"], more: false });
    });

    it("deleting a manifest removes its tags and references; referrers follow subjects", async () => {
      const a = await store.ensureRepository("a");
      await store.linkBlob(a, config, 6);
      await store.linkBlob(a, layer, 5);
      const img = manifest(a, "v1");
      await store.putManifest(img);
      const ref = manifest(a, undefined, img.digest);
      await store.putManifest(ref);
      expect((await store.referrers(a, img.digest)).map((m) => m.digest)).toEqual([ref.digest]);
      expect(await store.referrers(a, img.digest, "other/type")).toEqual([]);
      expect((await store.referrers(a, img.digest))[0]!.annotations).toEqual({ kind: "sbom" });
      expect(await store.deleteManifest(a, img.digest)).toBe(true);
      expect(await store.tag(a, "v1")).toBeNull();
      expect(await store.deleteManifest(a, img.digest)).toBe(false);
    });

    it("GC candidates exclude referenced blobs, manifests and recently used blobs", async () => {
      const a = await store.ensureRepository("a");
      const orphan = sha256("orphan");
      await store.linkBlob(a, config, 6);
      await store.linkBlob(a, layer, 5);
      await store.linkBlob(a, orphan, 6);
      const img = manifest(a, "v1");
      await store.putManifest(img);
      const now = Date.now() + 10_000;
      const candidates = await store.unreferencedBlobs(now, 100);
      expect(candidates).toEqual([orphan]);
      // Used recently → spared.
      expect(await store.unreferencedBlobs(0, 100)).toEqual([]);
      expect(await store.deleteUnreferencedBlob(config, now)).toBe(false);
      expect(await store.deleteUnreferencedBlob(orphan, now)).toBe(true);
      expect(await store.linkedBlob(a, orphan)).toBeNull();
      // Once the manifest is gone, its blobs and its own bytes become candidates.
      await store.deleteManifest(a, img.digest);
      expect((await store.unreferencedBlobs(now, 100)).sort()).toEqual([config, layer, img.digest].sort());
    });

    it("upload sessions are recorded and expire", async () => {
      const a = await store.ensureRepository("a");
      await store.createUpload("u1", a);
      expect(await store.upload("u1")).toMatchObject({ repositoryId: a });
      expect(await store.countUploads()).toBe(1);
      expect(await store.staleUploads(Date.now() + 1000)).toEqual(["u1"]);
      await store.deleteUpload("u1");
      expect(await store.upload("u1")).toBeNull();
    });

    it("deleting a repository removes everything in it", async () => {
      const a = await store.ensureRepository("a");
      await store.linkBlob(a, config, 6);
      await store.linkBlob(a, layer, 5);
      await store.putManifest(manifest(a, "v1"));
      await store.deleteRepository(a);
      expect(await store.repositoryId("a")).toBeNull();
      expect(await store.unreferencedBlobs(Date.now() + 1000, 10)).toHaveLength(3);
    });
  });
}

describeMetaStore("sqlite", async () => {
  const dir = await mkdtemp(join(tmpdir(), "drydock-meta-"));
  const store = await openSqliteMetaStore(join(dir, "meta.db"));
  return { store, cleanup: () => rm(dir, { recursive: true, force: true }) };
});
