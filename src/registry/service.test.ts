import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough, Readable } from "node:stream";
import { digestOf, sha256 } from "../core/digest.js";
import { RegistryError } from "../core/errors.js";
import { FsBlobStore } from "../storage/blob/fs.js";
import { openSqliteMetaStore } from "../storage/meta/sqlite.js";
import type { MetaStore } from "../storage/meta/store.js";
import { MediaTypes } from "./manifest.js";
import { PULL_RECORD_INTERVAL_MS, RegistryService } from "./service.js";

/** RegistryService behaviour that the HTTP tests cannot pin down deterministically. */
describe("RegistryService", () => {
  let dir: string;
  let meta: MetaStore;
  let blobs: FsBlobStore;
  let reg: RegistryService;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "drydock-registry-"));
    blobs = await FsBlobStore.open(dir);
    meta = await openSqliteMetaStore(join(dir, "meta.db"));
    reg = new RegistryService(meta, blobs, {
      maxManifestBytes: 4 << 20,
      createRepositoryOnPush: true,
      aws: { accountId: "000000000000", region: "us-east-1" },
    });
  });
  afterEach(async () => {
    await meta.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function codeOf(p: Promise<unknown>): Promise<string> {
    try {
      await p;
    } catch (e) {
      if (e instanceof RegistryError) return e.code;
      throw e;
    }
    throw new Error("expected a RegistryError");
  }

  const image = (config: string, layers: string[] = []) =>
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaTypes.ociManifest,
        config: {
          mediaType: "application/vnd.oci.image.config.v1+json",
          digest: sha256(config),
          size: config.length,
        },
        layers: layers.map((l) => ({
          mediaType: "application/vnd.oci.image.layer.v1.tar",
          digest: sha256(l),
          size: l.length,
        })),
      }),
    );

  describe("uploads", () => {
    it("a status request waits for a chunk in flight, and sees it rolled back when it fails", async () => {
      const { id } = await reg.startUpload("app");
      await reg.appendUpload("app", id, Readable.from([Buffer.from("0123456789")]), { contentLength: 10 });

      const body = new PassThrough();
      const failing = reg.appendUpload("app", id, body, { contentLength: 1000 });
      body.write(Buffer.alloc(400, 7));
      await new Promise((r) => setTimeout(r, 50)); // the 400 bytes reach the file
      const status = reg.uploadStatus("app", id);
      // A retry queued behind the failing chunk is checked against the rolled-back size.
      const retry = reg.appendUpload("app", id, Readable.from([Buffer.from("abc")]), {
        contentRange: "10-12",
        contentLength: 3,
      });
      // Both have had time to look at the session; only then does the client vanish.
      await new Promise((r) => setTimeout(r, 50));
      body.destroy(Object.assign(new Error("aborted"), { code: "ECONNRESET" }));

      await expect(failing).rejects.toThrow();
      expect((await status).size).toBe(10);
      expect((await retry).size).toBe(13);
      expect(await reg.completeUpload("app", id, sha256("0123456789abc"), null, {})).toBe(
        sha256("0123456789abc"),
      );
    });

    it("a chunk that does not continue the upload is RANGE_INVALID (416) and writes nothing", async () => {
      const { id } = await reg.startUpload("app");
      const e = await reg
        .appendUpload("app", id, Readable.from([Buffer.from("xyz")]), { contentRange: "5-7" })
        .then(
          () => null,
          (x: unknown) => x,
        );
      if (!(e instanceof RegistryError)) throw new Error("expected a RegistryError");
      expect([e.code, e.status]).toEqual(["RANGE_INVALID", 416]);
      expect(e.toJSON().errors[0]!.code).toBe("BLOB_UPLOAD_INVALID");
      expect((await reg.uploadStatus("app", id)).size).toBe(0);
    });

    it("a digest mismatch ends the session and publishes nothing", async () => {
      const { id } = await reg.startUpload("app");
      await reg.appendUpload("app", id, Readable.from([Buffer.from("data")]), {});
      expect(await codeOf(reg.completeUpload("app", id, sha256("other"), null, {}))).toBe("DIGEST_INVALID");
      expect(await codeOf(reg.uploadStatus("app", id))).toBe("BLOB_UPLOAD_UNKNOWN");
      expect(await blobs.stat(sha256("data"))).toBeNull();
      expect(await blobs.stat(sha256("other"))).toBeNull();
    });

    it("a session belongs to its repository", async () => {
      const { id } = await reg.startUpload("app");
      await reg.startUpload("other"); // the other repository exists
      expect(await codeOf(reg.uploadStatus("other", id))).toBe("BLOB_UPLOAD_UNKNOWN");
      expect(await codeOf(reg.cancelUpload("other", id))).toBe("BLOB_UPLOAD_UNKNOWN");
      expect((await reg.uploadStatus("app", id)).size).toBe(0);
    });
  });

  describe("manifests", () => {
    it("a manifest with unknown references is refused before anything is written", async () => {
      const m = image("{}", ["layer"]);
      expect(await codeOf(reg.putManifest("fresh", "v1", m, MediaTypes.ociManifest))).toBe(
        "MANIFEST_BLOB_UNKNOWN",
      );
      expect(await meta.registry.repositoryId("fresh")).toBeNull();
      expect(await blobs.stat(sha256(m))).toBeNull();

      await reg.monolithicUpload("fresh", sha256("{}"), Readable.from([Buffer.from("{}")]));
      expect(await codeOf(reg.putManifest("fresh", "v1", m, MediaTypes.ociManifest))).toBe(
        "MANIFEST_BLOB_UNKNOWN",
      );
      expect(await blobs.stat(sha256(m))).toBeNull();
      expect(await meta.registry.tag((await meta.registry.repositoryId("fresh"))!, "v1")).toBeNull();
    });

    it("a manifest pushed by a sha512 digest is verified against that digest", async () => {
      await reg.monolithicUpload("app", sha256("{}"), Readable.from([Buffer.from("{}")]));
      const m = image("{}");
      const d512 = digestOf("sha512", m);
      expect((await reg.putManifest("app", d512, m, MediaTypes.ociManifest)).digest).toBe(d512);
      expect((await reg.getManifest("app", d512)).body.equals(m)).toBe(true);
      const wrong = digestOf("sha512", Buffer.from("something else"));
      expect(await codeOf(reg.putManifest("app", wrong, m, MediaTypes.ociManifest))).toBe("DIGEST_INVALID");
    });

    it("a pull is recorded at most once per interval; a read that is not a pull is not", async () => {
      let clock = 1_000_000;
      const r = new RegistryService(meta, blobs, {
        maxManifestBytes: 4 << 20,
        createRepositoryOnPush: true,
        aws: { accountId: "000000000000", region: "us-east-1" },
        now: () => clock,
      });
      await r.monolithicUpload("app", sha256("{}"), Readable.from([Buffer.from("{}")]));
      const m = image("{}");
      await r.putManifest("app", "v1", m, MediaTypes.ociManifest);
      const repo = (await meta.registry.repositoryId("app"))!;
      const pulled = async () => (await meta.registry.manifest(repo, sha256(m)))!.lastPulledAt;
      await r.getManifest("app", "v1");
      expect(await pulled()).toBeNull();
      await r.getManifest("app", "v1", { pull: true });
      expect(await pulled()).toBe(1_000_000);
      clock += PULL_RECORD_INTERVAL_MS - 1;
      await r.getManifest("app", sha256(m), { pull: true });
      expect(await pulled()).toBe(1_000_000);
      clock += 1;
      await r.getManifest("app", sha256(m), { pull: true });
      expect(await pulled()).toBe(clock);
      const [img] = (await meta.registry.images(repo, { limit: 10 })).items;
      expect(img!.lastPulledAt).toBe(clock);
    });

    it("references: tags and digests resolve; anything else is MANIFEST_UNKNOWN on read, refused on write", async () => {
      await reg.monolithicUpload("app", sha256("{}"), Readable.from([Buffer.from("{}")]));
      const m = image("{}");
      await reg.putManifest("app", "v1", m, MediaTypes.ociManifest);
      expect((await reg.getManifest("app", "v1")).digest).toBe(sha256(m));
      for (const ref of [".bad", "sha256:nothex", `sha384:${"a".repeat(96)}`, "t".repeat(129)]) {
        expect(await codeOf(reg.getManifest("app", ref))).toBe("MANIFEST_UNKNOWN");
        expect(await codeOf(reg.deleteManifest("app", ref))).toBe("MANIFEST_UNKNOWN");
      }
      expect(await codeOf(reg.putManifest("app", ".bad", m, MediaTypes.ociManifest))).toBe(
        "MANIFEST_INVALID",
      );
      expect(await codeOf(reg.putManifest("app", "sha256:nothex", m, MediaTypes.ociManifest))).toBe(
        "DIGEST_INVALID",
      );
      expect(
        await codeOf(reg.putManifest("app", `sha384:${"a".repeat(96)}`, m, MediaTypes.ociManifest)),
      ).toBe("UNSUPPORTED");
    });

    it("referrers: an unknown repository or subject is an empty index", async () => {
      const index = JSON.parse((await reg.referrers("nowhere", sha256("x"))).toString()) as Record<
        string,
        unknown
      >;
      expect(index).toEqual({ schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests: [] });
      expect(await codeOf(reg.referrers("nowhere", "sha256:nothex"))).toBe("DIGEST_INVALID");
    });
  });
});
