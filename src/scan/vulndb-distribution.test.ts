import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { RegistryService } from "../registry/service.js";
import { FsBlobStore } from "../storage/blob/fs.js";
import { openSqliteMetaStore } from "../storage/meta/sqlite.js";
import type { MetaStore } from "../storage/meta/store.js";
import { publishedVulnDb, publishVulnDb, VulnDbSync, VULNDB_REPOSITORY } from "./vulndb-distribution.js";

describe("vulnerability database distribution through the cluster's store", () => {
  let dir: string;
  let meta: MetaStore;
  let blobs: FsBlobStore;
  let t = 0;
  const build = async (content: string) => {
    const f = join(dir, `build-${++t}.sqlite`);
    await writeFile(f, content);
    return publishVulnDb(meta, blobs, f, new Date(Date.UTC(2026, 0, t)).toISOString());
  };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "drydock-vulndb-dist-"));
    blobs = await FsBlobStore.open(join(dir, "store"));
    let clock = Date.now();
    meta = await openSqliteMetaStore(join(dir, "meta.db"), () => clock++);
  });
  afterEach(async () => {
    await meta.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("a worker fetches each new build once, verified, and swaps its file by rename", async () => {
    const local = join(dir, "worker", "vulndb.sqlite");
    const sync = new VulnDbSync(meta, blobs, local);
    expect(await sync.sync()).toBe(false); // nothing published yet
    const first = await build("first build");
    expect(await publishedVulnDb(meta, blobs)).toMatchObject({
      manifest: first.manifest,
      layer: first.layer,
    });
    expect(await sync.sync()).toBe(true);
    expect(await readFile(local, "utf8")).toBe("first build");
    expect(await sync.sync()).toBe(false);
    await build("second build");
    expect(await sync.sync()).toBe(true);
    expect(await readFile(local, "utf8")).toBe("second build");
  });

  it("keeps the last three builds", async () => {
    for (const c of ["a", "b", "c", "d", "e"]) await build(c);
    const repo = (await meta.registry.repositoryId(VULNDB_REPOSITORY))!;
    const kept = (await meta.registry.images(repo, { limit: 10 })).items;
    expect(kept).toHaveLength(3);
    expect(kept.filter((i) => i.tags.includes("latest"))).toHaveLength(1);
  });

  it("a corrupt download is refused and the worker keeps its database", async () => {
    const local = join(dir, "worker", "vulndb.sqlite");
    const sync = new VulnDbSync(meta, blobs, local);
    await build("good build");
    await sync.sync();
    const bad = await build("next build");
    await writeFile(blobs.blobPath(bad.layer), "tampered bytes!!");
    await expect(sync.sync()).rejects.toThrow(/expected sha256:/);
    expect(await readFile(local, "utf8")).toBe("good build");
  });

  it("the reserved repository is invisible to clients and lists", async () => {
    await build("x");
    const reg = new RegistryService(meta, blobs, {
      maxManifestBytes: 1 << 20,
      createRepositoryOnPush: true,
      aws: { accountId: "000000000000", region: "us-east-1" },
    });
    expect((await reg.catalog(100)).repositories).toEqual([]);
    expect((await meta.settings.repositories(undefined, 100)).items).toEqual([]);
    await expect(reg.getManifest(VULNDB_REPOSITORY, "latest")).rejects.toMatchObject({
      code: "NAME_INVALID",
    });
    await expect(reg.startUpload(VULNDB_REPOSITORY)).rejects.toMatchObject({ code: "NAME_INVALID" });
    expect((await publishedVulnDb(meta, blobs))!.layer).toMatch(/^sha256:/);
  });
});
