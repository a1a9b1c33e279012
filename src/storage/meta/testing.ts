import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { sha256 } from "../../core/digest.js";
import { documentParts } from "./finding-rows.js";
import type {
  FindingListQuery,
  FindingState,
  ListedFinding,
  MetaStore,
  PutManifestInput,
  RegistryStore,
} from "./store.js";

/**
 * `target` with some members replaced (a test double of a store's neighbour): every other member
 * is the target's own, its methods bound to the target (a store's private fields need `this` to
 * be the store itself, not the proxy).
 */
export function overriding<T extends object>(target: T, overrides: Partial<T>): T {
  return new Proxy(target, {
    get(t, k) {
      if (Object.prototype.hasOwnProperty.call(overrides, k)) return overrides[k as keyof T];
      const v: unknown = Reflect.get(t, k, t);
      return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(t) : v;
    },
  });
}

/** Waits until `f` holds, checking every 5 ms; throws `timed out: <what>` after `ms`. */
export async function until(what: string, f: () => boolean, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/**
 * A manifest to store in the stores' tests: an OCI image manifest of 100 bytes with no
 * artifact type, subject, annotations or references; `over` changes any of it.
 */
export function testManifest(
  repositoryId: number,
  digest: string,
  over: Partial<PutManifestInput> = {},
): PutManifestInput {
  return {
    repositoryId,
    digest,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    artifactType: null,
    subject: null,
    size: 100,
    annotations: null,
    references: [],
    ...over,
  };
}

/**
 * A finding's state for the stores' tests: ACTIVE, HIGH, no fix, observed (first and last) and
 * updated at `at`; `over` changes any of it.
 */
export function findingStateAt(at: number, over: Partial<FindingState> = {}): FindingState {
  return {
    status: "ACTIVE",
    severity: "HIGH",
    fixAvailable: "NO",
    inspectorScore: null,
    epssScore: null,
    exploitAvailable: false,
    firstObservedAt: at,
    lastObservedAt: at,
    updatedAt: at,
    closedAt: null,
    ...over,
  };
}

/**
 * The conformance suites of the metadata stores: every driver (SQLite, PostgreSQL) runs them
 * all (sqlite.test.ts, postgres.test.ts). `open` gives a migrated, empty store; `another`
 * opens a second connection set on the same database, as a second process would, so that
 * the suites can check what must hold across processes (job claims, leases, event order).
 */
export interface StoreFixture {
  store: MetaStore;
  another: () => Promise<MetaStore>;
  cleanup: () => Promise<void>;
}

export function describeMetaStores(
  driver: string,
  open: () => Promise<StoreFixture>,
  /** Whether two connections can have write transactions open at once (PostgreSQL yes, SQLite no). */
  o: { concurrentWriters: boolean },
) {
  let f: StoreFixture;
  let store: MetaStore;
  const extra: MetaStore[] = [];
  const second = async () => {
    const s = await f.another();
    extra.push(s);
    return s;
  };
  beforeEach(async () => {
    f = await open();
    store = f.store;
  });
  afterEach(async () => {
    for (const s of extra.splice(0)) await s.close();
    await store.close();
    await f.cleanup();
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
  /** A repository with the two blobs of `manifest` linked. */
  const repoWithBlobs = async (reg: RegistryStore, name: string) => {
    const id = await reg.ensureRepository(name);
    await reg.linkBlob(id, config, 6);
    await reg.linkBlob(id, layer, 5);
    return id;
  };

  describe(`RegistryStore (${driver})`, () => {
    let reg: RegistryStore;
    beforeEach(() => {
      reg = store.registry;
    });

    it("creates repositories once and lists only those with content", async () => {
      const a = await reg.ensureRepository("team/app");
      expect(await reg.ensureRepository("team/app")).toBe(a);
      await reg.ensureRepository("empty");
      await reg.linkBlob(a, config, 6);
      await reg.linkBlob(a, layer, 5);
      expect((await reg.putManifest(manifest(a, "v1"))).ok).toBe(true);
      expect((await reg.listRepositories(undefined, 10)).items).toEqual(["team/app"]);
    });

    it("inserts a repository only when its name is free", async () => {
      const id = await reg.insertRepository("fresh/one");
      expect(id).not.toBeNull();
      expect(await reg.repositoryId("fresh/one")).toBe(id);
      expect(await reg.insertRepository("fresh/one")).toBeNull();
      expect(await reg.ensureRepository("fresh/one")).toBe(id);
    });

    it("refuses a manifest whose blobs are not linked, writing nothing", async () => {
      const a = await reg.ensureRepository("a");
      await reg.linkBlob(a, config, 6);
      const r = await reg.putManifest(manifest(a, "v1"));
      expect(r).toEqual({ ok: false, missing: [{ digest: layer, kind: "blob" }] });
      expect(await reg.tag(a, "v1")).toBeNull();
      expect(await reg.manifest(a, manifest(a, "v1").digest)).toBeNull();
    });

    it("blob links are per repository", async () => {
      const a = await reg.ensureRepository("a");
      const b = await reg.ensureRepository("b");
      await reg.linkBlob(a, layer, 5);
      expect(await reg.linkedBlob(a, layer)).toEqual({ size: 5 });
      expect(await reg.linkedBlob(b, layer)).toBeNull();
      expect(await reg.unlinkBlob(a, layer)).toBe(true);
      expect(await reg.unlinkBlob(a, layer)).toBe(false);
    });

    it("repositoryBlob answers a blob GET's repository and link check at once", async () => {
      expect(await reg.repositoryBlob("a", layer)).toBeNull();
      const a = await reg.ensureRepository("a");
      const b = await reg.ensureRepository("team/b");
      expect(await reg.repositoryBlob("a", layer)).toEqual({ repositoryId: a, size: null });
      await reg.linkBlob(a, layer, 2 ** 40);
      await reg.linkBlob(a, config, 6);
      expect(await reg.repositoryBlob("a", layer)).toEqual({ repositoryId: a, size: 2 ** 40 });
      expect(await reg.repositoryBlob("a", config)).toEqual({ repositoryId: a, size: 6 });
      // linked elsewhere only, or to another name's repository: not linked here
      expect(await reg.repositoryBlob("team/b", layer)).toEqual({ repositoryId: b, size: null });
      expect(await reg.repositoryBlob("A", layer)).toBeNull();
      expect(await reg.repositoryBlob("a", sha256("nothing"))).toEqual({ repositoryId: a, size: null });
      await reg.unlinkBlob(a, layer);
      expect(await reg.repositoryBlob("a", layer)).toEqual({ repositoryId: a, size: null });
      await reg.deleteRepository(a);
      expect(await reg.repositoryBlob("a", config)).toBeNull();
    });

    it("tags paginate in lexical order", async () => {
      const a = await reg.ensureRepository("a");
      await reg.linkBlob(a, config, 6);
      await reg.linkBlob(a, layer, 5);
      for (const t of ["b", "a", "d", "c"]) await reg.putManifest(manifest(a, t));
      expect(await reg.listTags(a, undefined, 2)).toEqual({ items: ["a", "b"], more: true });
      expect(await reg.listTags(a, "b", 2)).toEqual({ items: ["c", "d"], more: false });
    });

    it("deleting a manifest removes its tags and references; referrers follow subjects", async () => {
      const a = await reg.ensureRepository("a");
      await reg.linkBlob(a, config, 6);
      await reg.linkBlob(a, layer, 5);
      const img = manifest(a, "v1");
      await reg.putManifest(img);
      const ref = manifest(a, undefined, img.digest);
      await reg.putManifest(ref);
      expect((await reg.referrers(a, img.digest)).map((m) => m.digest)).toEqual([ref.digest]);
      expect(await reg.referrers(a, img.digest, "other/type")).toEqual([]);
      expect((await reg.referrers(a, img.digest))[0]!.annotations).toEqual({ kind: "sbom" });
      expect(await reg.deleteManifest(a, img.digest)).toBe(true);
      expect(await reg.tag(a, "v1")).toBeNull();
      expect(await reg.deleteManifest(a, img.digest)).toBe(false);
    });

    it("GC candidates exclude referenced blobs, manifests and recently used blobs", async () => {
      const a = await reg.ensureRepository("a");
      const orphan = sha256("orphan");
      await reg.linkBlob(a, config, 6);
      await reg.linkBlob(a, layer, 5);
      await reg.linkBlob(a, orphan, 6);
      const img = manifest(a, "v1");
      await reg.putManifest(img);
      const now = Date.now() + 10_000;
      const candidates = await reg.unreferencedBlobs(now, 100);
      expect(candidates).toEqual([orphan]);
      // Used recently → spared.
      expect(await reg.unreferencedBlobs(0, 100)).toEqual([]);
      expect(await reg.deleteUnreferencedBlob(config, now)).toBe(false);
      expect(await reg.deleteUnreferencedBlob(orphan, now)).toBe(true);
      expect(await reg.linkedBlob(a, orphan)).toBeNull();
      // Once the manifest is gone, its blobs and its own bytes become candidates.
      await reg.deleteManifest(a, img.digest);
      expect((await reg.unreferencedBlobs(now, 100)).sort()).toEqual([config, layer, img.digest].sort());
    });

    it("upload sessions are recorded and expire", async () => {
      const a = await reg.ensureRepository("a");
      await reg.createUpload("u1", a);
      expect(await reg.upload("u1")).toMatchObject({ repositoryId: a });
      expect(await reg.countUploads()).toBe(1);
      expect(await reg.staleUploads(Date.now() + 1000)).toEqual(["u1"]);
      await reg.deleteUpload("u1");
      expect(await reg.upload("u1")).toBeNull();
    });

    it("deleting a repository removes everything in it", async () => {
      const a = await reg.ensureRepository("a");
      await reg.linkBlob(a, config, 6);
      await reg.linkBlob(a, layer, 5);
      await reg.putManifest(manifest(a, "v1"));
      await reg.deleteRepository(a);
      expect(await reg.repositoryId("a")).toBeNull();
      expect(await reg.unreferencedBlobs(Date.now() + 1000, 10)).toHaveLength(3);
    });

    it("numbers are numbers (64-bit columns included)", async () => {
      const a = await reg.ensureRepository("a");
      await reg.linkBlob(a, layer, 2 ** 40);
      expect(await reg.linkedBlob(a, layer)).toEqual({ size: 2 ** 40 });
      expect(typeof (await reg.blob(layer))!.lastUsedAt).toBe("number");
      expect(typeof (await reg.countUploads())).toBe("number");
    });

    it("pages images in the database: by digest, by tag status, and image ids one per tag", async () => {
      const a = await repoWithBlobs(reg, "a");
      const tagged = manifest(a, "v1");
      await reg.putManifest(tagged);
      await reg.putManifest({ ...tagged, tag: "latest" });
      const untagged = { ...manifest(a, "x"), tag: undefined };
      await reg.putManifest(untagged);
      const all = await reg.images(a, { limit: 10 });
      expect(all.items.map((i) => i.digest)).toEqual([tagged.digest, untagged.digest].sort());
      const t = all.items.find((i) => i.digest === tagged.digest)!;
      expect(t).toMatchObject({ tags: ["latest", "v1"], imageSize: 11, manifestSize: 100 });
      expect((await reg.images(a, { limit: 10, tagStatus: "TAGGED" })).items.map((i) => i.digest)).toEqual([
        tagged.digest,
      ]);
      expect((await reg.images(a, { limit: 10, tagStatus: "UNTAGGED" })).items.map((i) => i.digest)).toEqual([
        untagged.digest,
      ]);
      const first = await reg.images(a, { limit: 1 });
      expect(first.more).toBe(true);
      const next = await reg.images(a, { limit: 1, after: first.items[0]!.digest });
      expect(next).toMatchObject({ more: false });
      expect(next.items[0]!.digest).not.toBe(first.items[0]!.digest);

      const ids: { digest: string; tag: string | null }[] = [];
      let after: { digest: string; tag: string } | undefined;
      for (;;) {
        const p = await reg.imageIds(a, { limit: 1, after });
        ids.push(...p.items);
        if (!p.more) break;
        const last = p.items.at(-1)!;
        after = { digest: last.digest, tag: last.tag ?? "" };
      }
      expect(ids).toHaveLength(3);
      expect(ids.filter((i) => i.digest === tagged.digest).map((i) => i.tag)).toEqual(["latest", "v1"]);
      expect(ids.find((i) => i.digest === untagged.digest)!.tag).toBeNull();
      expect(await reg.findImage(a, { tag: "v1" })).toMatchObject({ digest: tagged.digest });
      expect(await reg.findImage(a, { digest: untagged.digest, tag: "v1" })).toBeNull();
      expect(await reg.findImage(a, { tag: "nope" })).toBeNull();
      expect(await reg.countImages(a)).toBe(2);
    });

    it("an index's size is its largest child's", async () => {
      const a = await repoWithBlobs(reg, "a");
      const child = manifest(a);
      await reg.putManifest({ ...child, tag: undefined });
      const index: PutManifestInput = {
        ...manifest(a, "idx"),
        digest: sha256("index"),
        mediaType: "application/vnd.oci.image.index.v1+json",
        references: [{ digest: child.digest, kind: "manifest" }],
      };
      expect((await reg.putManifest(index)).ok).toBe(true);
      expect(await reg.findImage(a, { tag: "idx" })).toMatchObject({ imageSize: 11 });
    });

    it("a repository lock is taken inside a transaction and released at its end", async () => {
      const a = await reg.ensureRepository("a");
      await store.tx(async (tx) => {
        await tx.registry.lockRepository(a);
        expect(await tx.registry.repositoryName(a)).toBe("a");
      });
      await store.tx((tx) => tx.registry.lockRepository(a));
    });
  });

  describe(`SettingsStore (${driver})`, () => {
    it("repositories have defaults until settings are written; create refuses an existing name", async () => {
      expect(await store.settings.createRepository("team/app", { scanOnPush: true })).toBe(true);
      expect(await store.settings.createRepository("team/app", {})).toBe(false);
      const id = await store.registry.ensureRepository("pushed");
      expect(await store.settings.repositoryById(id)).toMatchObject({
        name: "pushed",
        scanOnPush: false,
        imageTagMutability: "MUTABLE",
        tags: null,
      });
      await store.settings.update(id, {
        imageTagMutability: "IMMUTABLE_WITH_EXCLUSION",
        tagMutabilityExclusions: [{ filterType: "WILDCARD", filter: "dev-*" }],
        tags: [{ Key: "team", Value: "a" }],
      });
      await store.settings.update(id, { scanOnPush: true });
      expect(await store.settings.repository("pushed")).toMatchObject({
        scanOnPush: true,
        imageTagMutability: "IMMUTABLE_WITH_EXCLUSION",
        tagMutabilityExclusions: [{ filterType: "WILDCARD", filter: "dev-*" }],
        tags: [{ Key: "team", Value: "a" }],
      });
      const page = await store.settings.repositories(undefined, 1);
      expect(page).toMatchObject({ more: true });
      expect(page.items[0]!.name).toBe("pushed");
      expect((await store.settings.repositories("pushed", 5)).items.map((r) => r.name)).toEqual(["team/app"]);
    });

    it("registry-wide settings round-trip as JSON", async () => {
      expect(await store.settings.registrySetting("registry")).toBeNull();
      await store.settings.putRegistrySetting("registry", { scanType: "ENHANCED", rules: [] });
      await store.settings.putRegistrySetting("registry", { scanType: "BASIC", rules: [1] });
      expect(await store.settings.registrySetting("registry")).toEqual({ scanType: "BASIC", rules: [1] });
    });
  });

  describe(`ScanStore (${driver})`, () => {
    it("a scan starts, completes with its counts, ends, and is forgotten", async () => {
      const a = await store.registry.ensureRepository("a");
      const d = sha256("img");
      expect(await store.scans.get(a, d)).toBeNull();
      await store.scans.markStarted(a, d, "ENHANCED", "PENDING");
      await store.scans.transition(a, d, "PENDING", "IN_PROGRESS");
      expect(await store.scans.get(a, d)).toMatchObject({ status: "IN_PROGRESS", scanType: "ENHANCED" });
      await store.scans.markCompleted(a, d, {
        status: "ACTIVE",
        description: "ok",
        severityCounts: { HIGH: 450 },
        vulnerabilitySourceUpdatedAt: 1234,
      });
      const row = (await store.scans.get(a, d))!;
      expect(row).toMatchObject({
        status: "ACTIVE",
        severityCounts: { HIGH: 450 },
        vulnerabilitySourceUpdatedAt: 1234,
      });
      expect(typeof row.completedAt).toBe("number");
      await store.scans.markEnded(a, d, "FAILED", "boom");
      expect(await store.scans.get(a, d)).toMatchObject({ status: "FAILED", description: "boom" });
      await store.scans.forget(a, d);
      expect(await store.scans.get(a, d)).toBeNull();
    });

    it("reads the states of a page of images at once, only of that repository", async () => {
      const a = await store.registry.ensureRepository("a");
      const b = await store.registry.ensureRepository("b");
      const [d1, d2, d3] = [sha256("1"), sha256("2"), sha256("3")];
      await store.scans.markStarted(a, d1, "BASIC", "IN_PROGRESS");
      await store.scans.markStarted(a, d2, "ENHANCED", "PENDING");
      await store.scans.markStarted(b, d3, "BASIC", "IN_PROGRESS");
      const got = await store.scans.getMany(a, [d1, d2, d3]);
      expect([...got.keys()].sort()).toEqual([d1, d2].sort());
      expect(got.get(d1)).toEqual(await store.scans.get(a, d1));
      expect(got.get(d2)).toMatchObject({ scanType: "ENHANCED", status: "PENDING" });
      expect((await store.scans.getMany(a, [])).size).toBe(0);
    });

    it("counts images by scan type and status in one query (metrics)", async () => {
      expect(await store.scans.countsByStatus()).toEqual([]);
      const a = await store.registry.ensureRepository("a");
      const b = await store.registry.ensureRepository("b");
      await store.scans.markStarted(a, sha256("1"), "ENHANCED", "PENDING");
      await store.scans.markStarted(a, sha256("2"), "ENHANCED", "PENDING");
      await store.scans.markStarted(b, sha256("3"), "ENHANCED", "IN_PROGRESS");
      await store.scans.markStarted(b, sha256("4"), "BASIC", "IN_PROGRESS");
      await store.scans.markEnded(a, sha256("2"), "ACTIVE", "ok");
      const byKey = (r: { scanType: string; status: string }) => `${r.scanType} ${r.status}`;
      expect((await store.scans.countsByStatus()).sort((x, y) => byKey(x).localeCompare(byKey(y)))).toEqual([
        { scanType: "BASIC", status: "IN_PROGRESS", count: 1 },
        { scanType: "ENHANCED", status: "ACTIVE", count: 1 },
        { scanType: "ENHANCED", status: "IN_PROGRESS", count: 1 },
        { scanType: "ENHANCED", status: "PENDING", count: 1 },
      ]);
    });
  });

  describe(`ScanStore: the rescan window (${driver})`, () => {
    const pause = () => new Promise((r) => setTimeout(r, 5));
    const byDigest = (x: { digest: string }, y: { digest: string }) => (x.digest < y.digest ? -1 : 1);

    it("finds the images outside a window by push and pull date, pages them, and moves each once", async () => {
      const reg = store.registry;
      const a = await repoWithBlobs(reg, "a");
      const b = await repoWithBlobs(reg, "b");
      const [m1, m2, m3] = [manifest(a, "one"), manifest(a, "two"), manifest(a, "three")];
      const other = manifest(b, "one");
      for (const m of [m1, m2, m3, other]) expect((await reg.putManifest(m)).ok).toBe(true);
      const pushed = (await reg.manifest(a, m3.digest))!.lastPushedAt;
      const firstPush = (await reg.manifest(a, m1.digest))!.lastPushedAt;
      for (const [repo, m] of [
        [a, m1],
        [a, m2],
        [a, m3],
        [b, other],
      ] as const) {
        await store.scans.markStarted(repo, m.digest, "ENHANCED", "PENDING");
        await store.scans.markEnded(repo, m.digest, "ACTIVE", "ok");
      }
      await store.scans.markEnded(a, m3.digest, "COMPLETE", "ok"); // not monitored: never a candidate
      await reg.recordPull(a, m2.digest, pushed + 10_000);
      const q = { scanType: "ENHANCED", status: "ACTIVE" } as const;
      const late = pushed + 60_000;
      const outside = [
        { repositoryId: a, digest: m1.digest },
        { repositoryId: a, digest: m2.digest },
      ].sort(byDigest);
      // Pulls not counting: every ACTIVE image pushed before the cutoff, in (repository, digest) order.
      expect(
        await store.scans.outsideWindow({ ...q, pushedBefore: late, pulledBefore: null, limit: 10 }),
      ).toEqual([...outside, { repositoryId: b, digest: other.digest }]);
      // Pulls counting: m2, pulled after the pull cutoff, is inside; never pulled is outside.
      expect(
        await store.scans.outsideWindow({
          ...q,
          pushedBefore: late,
          pulledBefore: pushed + 5_000,
          limit: 10,
        }),
      ).toEqual([
        { repositoryId: a, digest: m1.digest },
        { repositoryId: b, digest: other.digest },
      ]);
      // Pushed at the cutoff: inside.
      expect(
        await store.scans.outsideWindow({ ...q, pushedBefore: firstPush, pulledBefore: null, limit: 10 }),
      ).toEqual([]);
      const first = await store.scans.outsideWindow({
        ...q,
        pushedBefore: late,
        pulledBefore: null,
        limit: 1,
      });
      expect(first).toEqual([outside[0]]);
      expect(
        await store.scans.outsideWindow({
          ...q,
          pushedBefore: late,
          pulledBefore: null,
          after: first[0],
          limit: 1,
        }),
      ).toEqual([outside[1]]);

      const move = {
        ...q,
        pushedBefore: late,
        pulledBefore: pushed + 5_000,
        to: "SCAN_ELIGIBILITY_EXPIRED",
        description: "lapsed",
      };
      expect(await store.scans.leaveWindow(a, m2.digest, move)).toBe(false); // pulled: inside
      expect(await store.scans.leaveWindow(a, m3.digest, move)).toBe(false); // not ACTIVE
      expect(await store.scans.leaveWindow(a, m1.digest, move)).toBe(true);
      expect(await store.scans.leaveWindow(a, m1.digest, move)).toBe(false); // once
      expect(await store.scans.get(a, m1.digest)).toMatchObject({
        scanType: "ENHANCED",
        status: "SCAN_ELIGIBILITY_EXPIRED",
        description: "lapsed",
      });
      expect(await store.scans.get(a, m2.digest)).toMatchObject({ status: "ACTIVE" });

      const asked = [m1, m2, m3].map((m) => ({ repositoryId: a, digest: m.digest }));
      asked.push({ repositoryId: b, digest: m1.digest }, { repositoryId: b, digest: other.digest });
      expect(await store.scans.inState(asked, "ENHANCED", "SCAN_ELIGIBILITY_EXPIRED")).toEqual([
        { repositoryId: a, digest: m1.digest },
      ]);
      expect(await store.scans.inState(asked, "BASIC", "SCAN_ELIGIBILITY_EXPIRED")).toEqual([]);
      expect(await store.scans.inState([], "ENHANCED", "ACTIVE")).toEqual([]);
    });

    it("a push again of the same content, or of an index that lists it, moves the push date, not the creation", async () => {
      const reg = store.registry;
      const a = await repoWithBlobs(reg, "a");
      const m = manifest(a, "one");
      await reg.putManifest(m);
      const first = (await reg.manifest(a, m.digest))!;
      expect(first.lastPushedAt).toBe(first.createdAt);
      await pause();
      await reg.putManifest({ ...m, tag: "again" });
      const second = (await reg.manifest(a, m.digest))!;
      expect(second.createdAt).toBe(first.createdAt);
      expect(second.lastPushedAt).toBeGreaterThan(first.lastPushedAt);
      await pause();
      const index: PutManifestInput = {
        repositoryId: a,
        digest: sha256("index"),
        mediaType: "application/vnd.oci.image.index.v1+json",
        artifactType: null,
        subject: null,
        size: 10,
        annotations: null,
        references: [{ digest: m.digest, kind: "manifest" }],
        tag: "multi",
      };
      expect((await reg.putManifest(index)).ok).toBe(true);
      expect((await reg.manifest(a, m.digest))!.lastPushedAt).toBeGreaterThan(second.lastPushedAt);
    });

    it("pages a repository's images (not referrers) with their push, pull and scan state", async () => {
      const reg = store.registry;
      const a = await repoWithBlobs(reg, "a");
      const [m1, m2] = [manifest(a, "one"), manifest(a, "two")];
      await reg.putManifest(m1);
      await reg.putManifest(m2);
      await reg.putManifest(manifest(a, undefined, m1.digest)); // a referrer of m1
      await reg.recordPull(a, m2.digest, 42);
      await store.scans.markStarted(a, m1.digest, "ENHANCED", "PENDING");
      const [d1, d2] = [m1.digest, m2.digest].sort();
      const page1 = await store.scans.imageStates(a, { limit: 1 });
      expect(page1.more).toBe(true);
      const page2 = await store.scans.imageStates(a, { after: page1.items[0]!.digest, limit: 5 });
      expect(page2.more).toBe(false);
      const all = [...page1.items, ...page2.items];
      expect(all.map((i) => i.digest)).toEqual([d1, d2]);
      const one = all.find((i) => i.digest === m1.digest)!;
      const two = all.find((i) => i.digest === m2.digest)!;
      expect(one).toMatchObject({
        mediaType: m1.mediaType,
        lastPulledAt: null,
        scanType: "ENHANCED",
        status: "PENDING",
      });
      expect(typeof one.lastPushedAt).toBe("number");
      expect(two).toMatchObject({ lastPulledAt: 42, scanType: null, status: null });
    });
  });

  describe(`FindingStore (${driver})`, () => {
    const state = (over: Partial<FindingState> = {}): FindingState => ({
      status: "ACTIVE",
      severity: "HIGH",
      fixAvailable: "YES",
      inspectorScore: 7.5,
      epssScore: 0.00043,
      exploitAvailable: false,
      firstObservedAt: 1000,
      lastObservedAt: 1000,
      updatedAt: 1000,
      closedAt: null,
      ...over,
    });
    const doc = (vulnerabilityId: string, extra: object = {}) =>
      JSON.stringify({
        vulnerabilityId,
        title: "shared text",
        description: "d",
        cvss: [],
        references: [],
        package: { name: "p" },
        ...extra,
      });

    it("stores findings under a stable id, shares their text, replaces by identity, counts open ones", async () => {
      const a = await store.registry.ensureRepository("a");
      const [d1, d2] = [sha256("1"), sha256("2")];
      const identity = (digest: string, vulnerabilityId: string, packagePath = "/var/lib/dpkg/status") => ({
        repositoryId: a,
        digest,
        scanType: "ENHANCED" as const,
        vulnerabilityId,
        packageName: "openssl",
        packagePath,
      });
      const writes = Array.from({ length: 450 }, (_, i) => ({
        identity: identity(d1, `CVE-2024-${1000 + i}`),
        state: state({ severity: i % 2 ? "HIGH" : "UNTRIAGED" }),
        document: doc(`CVE-2024-${1000 + i}`),
      }));
      writes.push({
        identity: identity(d2, "CVE-2024-1000"),
        state: state(),
        document: doc("CVE-2024-1000"),
      });
      await store.findings.put(writes);
      const rows = await store.findings.forImage(a, d1, "ENHANCED");
      expect(rows).toHaveLength(450);
      expect(new Set(rows.map((r) => r.id)).size).toBe(450);
      expect(rows.every((r) => /^[0-9a-f]{32}$/.test(r.id))).toBe(true);
      const first = rows.find((r) => r.vulnerabilityId === "CVE-2024-1000")!;
      expect(first).toMatchObject({ ...state({ severity: "UNTRIAGED" }), ...identity(d1, "CVE-2024-1000") });
      expect(JSON.parse(first.document)).toEqual(JSON.parse(doc("CVE-2024-1000")));
      expect(await store.findings.forImage(a, d1, "BASIC")).toEqual([]);
      // the same identity in another image is another finding
      const other = (await store.findings.forImage(a, d2, "ENHANCED"))[0]!;
      expect(other.id).not.toBe(first.id);
      // a write with the same identity replaces; the id does not move
      await store.findings.put([
        {
          identity: identity(d1, "CVE-2024-1000"),
          state: state({ status: "CLOSED", closedAt: 2000, updatedAt: 2000 }),
          document: doc("CVE-2024-1000", { fixedVersion: "2" }),
        },
      ]);
      const closed = (await store.findings.byIds([first.id]))[0]!;
      expect(closed).toMatchObject({ status: "CLOSED", closedAt: 2000, firstObservedAt: 1000 });
      expect(JSON.parse(closed.document).fixedVersion).toBe("2");
      await store.findings.observe([other.id], 3000);
      expect((await store.findings.byIds([other.id]))[0]!.lastObservedAt).toBe(3000);
      const counts = await store.findings.severityCounts(a, [d1, d2, sha256("none")], "ENHANCED");
      expect(counts.get(d1)).toEqual({ HIGH: 225, UNTRIAGED: 224 });
      expect(counts.get(d2)).toEqual({ HIGH: 1 });
      expect(counts.has(sha256("none"))).toBe(false);
      expect(
        (await store.findings.forImage(a, d1, "ENHANCED", { statuses: ["CLOSED"] })).map((r) => r.id),
      ).toEqual([first.id]);
      expect(await store.findings.purgeClosed(1500)).toBe(0);
      expect(await store.findings.purgeClosed(2001)).toBe(1);
      await store.findings.forgetImage(a, d1);
      expect(await store.findings.forImage(a, d1, "ENHANCED")).toEqual([]);
      expect(await store.findings.forImage(a, d2, "ENHANCED")).toHaveLength(1);
    });

    it("counts all findings by status and severity in one query (metrics)", async () => {
      expect(await store.findings.countsByStatusSeverity()).toEqual([]);
      const a = await store.registry.ensureRepository("a");
      const b = await store.registry.ensureRepository("b");
      const write = (
        repositoryId: number,
        n: number,
        scanType: "BASIC" | "ENHANCED",
        s: Partial<FindingState>,
      ) => ({
        identity: {
          repositoryId,
          digest: sha256(`img-${n % 3}`),
          scanType,
          vulnerabilityId: `CVE-2024-${n}`,
          packageName: "openssl",
          packagePath: "",
        },
        state: state(s),
        document: doc(`CVE-2024-${n}`),
      });
      await store.findings.put([
        write(a, 1, "ENHANCED", { severity: "HIGH" }),
        write(a, 2, "ENHANCED", { severity: "HIGH" }),
        write(b, 3, "BASIC", { severity: "HIGH" }),
        write(b, 4, "ENHANCED", { severity: "UNTRIAGED", status: "SUPPRESSED" }),
        write(a, 5, "ENHANCED", { severity: "CRITICAL", status: "CLOSED", closedAt: 2000 }),
      ]);
      const key = (r: { status: string; severity: string }) => `${r.status} ${r.severity}`;
      expect(
        (await store.findings.countsByStatusSeverity()).sort((x, y) => key(x).localeCompare(key(y))),
      ).toEqual([
        { status: "ACTIVE", severity: "HIGH", count: 3 },
        { status: "CLOSED", severity: "CRITICAL", count: 1 },
        { status: "SUPPRESSED", severity: "UNTRIAGED", count: 1 },
      ]);
    });

    it("reads the findings of many images at once by package or vulnerability, with their stored parts", async () => {
      const a = await store.registry.ensureRepository("a");
      const b = await store.registry.ensureRepository("b");
      const digests = Array.from({ length: 130 }, (_, i) => sha256(`img-${i}`));
      const write = (
        repositoryId: number,
        digest: string,
        vulnerabilityId: string,
        packageName: string,
        s = {},
      ) => ({
        identity: {
          repositoryId,
          digest,
          scanType: "ENHANCED" as const,
          vulnerabilityId,
          packageName,
          packagePath: "/p",
        },
        state: state(s),
        document: doc(vulnerabilityId, { package: { name: packageName } }),
      });
      await store.findings.put([
        ...digests.map((d) => write(a, d, "CVE-1", "openssl")),
        ...digests.map((d) => write(a, d, "CVE-2", "zlib", { status: "CLOSED", closedAt: 5 })),
        write(b, digests[0]!, "CVE-1", "openssl"),
        write(b, digests[1]!, "CVE-3", "curl"),
      ]);
      const images = [
        ...digests.map((digest) => ({ repositoryId: a, digest })),
        { repositoryId: b, digest: digests[1]! },
      ];
      const key = (r: { repositoryId: number; digest: string; vulnerabilityId: string }) =>
        `${r.repositoryId} ${r.digest} ${r.vulnerabilityId}`;
      const all = await store.findings.forImages(images, "ENHANCED");
      // (b, digests[0]) is not asked for
      expect(all.map(key).sort()).toEqual(
        [
          ...digests.flatMap((d) => [`${a} ${d} CVE-1`, `${a} ${d} CVE-2`]),
          `${b} ${digests[1]} CVE-3`,
        ].sort(),
      );
      expect(
        (await store.findings.forImages(images, "ENHANCED", { packageNames: ["zlib", "curl"] })).length,
      ).toBe(131);
      expect(
        (
          await store.findings.forImages(images, "ENHANCED", {
            packageNames: ["curl"],
            vulnerabilityIds: ["CVE-2"],
          })
        )
          .map(key)
          .sort(),
      ).toEqual([...digests.map((d) => `${a} ${d} CVE-2`), `${b} ${digests[1]} CVE-3`].sort());
      expect(
        await store.findings.forImages(images, "ENHANCED", {
          vulnerabilityIds: ["CVE-2"],
          statuses: ["ACTIVE"],
        }),
      ).toEqual([]);
      expect(await store.findings.forImages(images, "ENHANCED", { packageNames: [] })).toEqual([]);
      expect(await store.findings.forImages(images, "BASIC")).toEqual([]);
      const one = all.find((r) => r.vulnerabilityId === "CVE-1")!;
      expect(JSON.parse(one.document)).toEqual(JSON.parse(doc("CVE-1", { package: { name: "openssl" } })));
      expect(one.parts).toEqual(
        documentParts(JSON.parse(doc("CVE-1", { package: { name: "openssl" } })) as object),
      );

      // what the findings show of their images
      const m = await repoWithBlobs(store.registry, "c");
      await store.registry.putManifest(manifest(m, "v1"));
      await store.registry.putManifest({ ...manifest(m, "v2"), digest: manifest(m, "v1").digest });
      await store.settings.update(m, { scanOnPush: true });
      const ctx = await store.findings.imageContexts([
        { repositoryId: m, digest: manifest(m, "v1").digest },
        { repositoryId: a, digest: digests[0]! },
        { repositoryId: 9999, digest: digests[0]! },
      ]);
      expect(ctx.sort((x, y) => x.repositoryId - y.repositoryId)).toEqual(
        [
          {
            repositoryId: m,
            digest: manifest(m, "v1").digest,
            repositoryName: "c",
            pushedAt: expect.any(Number) as number,
            lastPulledAt: null,
            repositoryTags: {},
            imageTags: ["v1", "v2"],
          },
          {
            repositoryId: a,
            digest: digests[0]!,
            repositoryName: "a",
            pushedAt: null,
            lastPulledAt: null,
            repositoryTags: {},
            imageTags: [],
          },
        ].sort((x, y) => x.repositoryId - y.repositoryId),
      );
    });
  });

  describe(`FindingStore queries (${driver})`, () => {
    const put = async (repo: number, digest: string, i: number, over: Partial<FindingState> = {}) =>
      store.findings.put([
        {
          identity: {
            repositoryId: repo,
            digest,
            scanType: "ENHANCED",
            vulnerabilityId: `CVE-2024-${1000 + i}`,
            packageName: i % 2 ? "openssl" : "zlib",
            packagePath: "/var/lib/dpkg/status",
          },
          state: {
            status: "ACTIVE",
            severity: ["CRITICAL", "HIGH", "MEDIUM"][i % 3]!,
            fixAvailable: i % 2 ? "YES" : "NO",
            inspectorScore: i % 4 ? 5 + i / 10 : null,
            epssScore: null,
            exploitAvailable: i % 5 === 0,
            firstObservedAt: 1000 + (i % 7),
            lastObservedAt: 2000,
            updatedAt: 2000,
            closedAt: null,
            ...over,
          },
          document: JSON.stringify({
            vulnerabilityId: `CVE-2024-${1000 + i}`,
            source: i % 3 ? "osv" : "",
            package: { name: i % 2 ? "openssl" : "zlib", layer: "sha256:" + "a".repeat(64) },
            title: "t",
          }),
        },
      ]);

    it("lists narrowed findings by keyset in a sort order, with their image; aggregates; sets status", async () => {
      const a = await repoWithBlobs(store.registry, "team/a");
      const m = manifest(a, "v1");
      await store.registry.putManifest(m);
      for (let i = 0; i < 30; i++) await put(a, m.digest, i);
      const walk = async (q: Omit<FindingListQuery, "after" | "limit">) => {
        const out: ListedFinding[] = [];
        let after: FindingListQuery["after"];
        for (;;) {
          const p = await store.findings.list({ ...q, after, limit: 4 });
          out.push(...p.items);
          if (!p.more) return out;
          after = { value: p.items.at(-1)!.orderValue, id: p.items.at(-1)!.id };
        }
      };
      const all = await walk({
        narrowing: { scanType: "ENHANCED" },
        order: { field: "inspector_score", desc: true },
      });
      expect(all).toHaveLength(30);
      const scores = all.map((r) => r.inspectorScore);
      // absent values last, the others descending, ties by id
      expect(scores.slice(0, 22).every((s, i) => i === 0 || s! <= scores[i - 1]!)).toBe(true);
      expect(scores.slice(22).every((s) => s === null)).toBe(true);
      expect(all[0]).toMatchObject({ repositoryName: "team/a", imageTags: ["v1"], digest: m.digest });
      const bySource = await walk({
        narrowing: { scanType: "ENHANCED" },
        order: { field: "source", desc: false },
      });
      expect(bySource.map((r) => r.orderValue)).toEqual([
        ...Array(10).fill("drydock"),
        ...Array(20).fill("osv"),
      ]);
      const narrowed = await walk({
        narrowing: {
          scanType: "ENHANCED",
          repositoryIds: [a],
          severities: ["HIGH"],
          fixAvailable: ["YES"],
          strings: [
            {
              column: "vulnerability_id",
              equals: [],
              prefixes: ["CVE-2024-10"],
              notEquals: ["CVE-2024-1001"],
            },
          ],
          ranges: [{ column: "first_observed_at", ranges: [{ min: 1001 }] }],
        },
        order: { field: "id", desc: false },
      });
      expect(narrowed.map((r) => r.vulnerabilityId).sort()).toEqual([
        "CVE-2024-1013",
        "CVE-2024-1019",
        "CVE-2024-1025",
      ]);
      expect(
        await walk({
          narrowing: { scanType: "ENHANCED", repositoryIds: [] },
          order: { field: "id", desc: false },
        }),
      ).toEqual([]);
      const [repoRow] = await store.findings.aggregate({ scanType: "ENHANCED" }, "repository");
      expect(repoRow).toMatchObject({
        repositoryName: "team/a",
        all: 30,
        critical: 10,
        high: 10,
        medium: 10,
        images: 1,
      });
      const layers = await store.findings.aggregate({ scanType: "ENHANCED" }, "layer");
      expect(layers.map((l) => l.layer)).toEqual(["sha256:" + "a".repeat(64)]);
      const [acct] = await store.findings.aggregate({ scanType: "ENHANCED" }, "account");
      expect(acct).toMatchObject({ all: 30, fixAvailable: 15, exploitAvailable: 6 });
      await store.findings.setStatus([all[0]!.id], "SUPPRESSED", 3000);
      expect((await store.findings.byIds([all[0]!.id]))[0]).toMatchObject({
        status: "SUPPRESSED",
        updatedAt: 3000,
      });
    });
  });

  describe(`FilterStore (${driver})`, () => {
    it("creates, lists by id, tags, finds due expiries and deletes filters", async () => {
      const base = {
        action: "SUPPRESS",
        criteria: "{}",
        description: null,
        reason: "r",
        createdAt: 1,
        updatedAt: 1,
      };
      await store.filters.put({ ...base, id: "b1", name: "one", expiresAt: 5000 });
      await store.filters.put({ ...base, id: "a2", name: "two", action: "NONE", expiresAt: null });
      expect(await store.filters.count()).toBe(2);
      expect((await store.filters.byName("one"))?.id).toBe("b1");
      await store.filters.tag("b1", { k: "v", "drydock:expires-at": "x" });
      await store.filters.tag("b1", { k: "w" });
      await store.filters.untag("b1", ["drydock:expires-at"]);
      expect((await store.filters.get("b1"))?.tags).toEqual({ k: "w" });
      const p = await store.filters.list({ limit: 1 });
      expect(p).toMatchObject({ more: true, items: [{ id: "a2" }] });
      expect((await store.filters.list({ after: "a2", limit: 1 })).items.map((f) => f.id)).toEqual(["b1"]);
      expect((await store.filters.withAction("SUPPRESS")).map((f) => f.id)).toEqual(["b1"]);
      expect((await store.filters.dueToExpire(4999)).length).toBe(0);
      expect((await store.filters.dueToExpire(5000)).map((f) => f.id)).toEqual(["b1"]);
      await store.filters.put({ ...(await store.filters.get("b1"))!, expired: true });
      expect(await store.filters.dueToExpire(6000)).toEqual([]);
      await expect(store.filters.put({ ...base, id: "c3", name: "one", expiresAt: null })).rejects.toThrow();
      expect(await store.filters.delete("b1")).toBe(true);
      expect(await store.filters.delete("b1")).toBe(false);
      expect(await store.filters.get("b1")).toBeNull();
    });
  });

  describe(`InventoryStore (${driver})`, () => {
    it("stores inventories as shared segments, finds images by match key, forgets and purges", async () => {
      const a = await store.registry.ensureRepository("a");
      const b = await store.registry.ensureRepository("b");
      const [d1, d2, d3] = [sha256("1"), sha256("2"), sha256("3")];
      const base = {
        distroKey: "debian:12",
        packages: ['{"name":"openssl"}', '{"name":"zlib"}'],
        keys: ["debian:12 openssl", "debian:12 zlib"],
      };
      const own = (n: string) => ({
        distroKey: "debian:12",
        packages: [`{"name":"${n}"}`],
        keys: [`npm ${n}`],
      });
      await store.inventories.putImage(a, d1, '{"id":"debian"}', [base, own("lodash")]);
      await store.inventories.putImage(b, d2, '{"id":"debian"}', [base, own("express")]);
      await store.inventories.putImage(a, d3, null, [own("lodash")]);
      const inv = (await store.inventories.image(a, d1))!;
      expect(inv.distro).toBe('{"id":"debian"}');
      expect(inv.segments.map((s) => s.packages)).toEqual([base.packages, ['{"name":"lodash"}']]);
      const inv2 = (await store.inventories.image(b, d2))!;
      expect(inv2.segments[0]!.id).toBe(inv.segments[0]!.id); // the base is stored once
      expect(await store.inventories.image(a, sha256("none"))).toBeNull();

      const openssl = await store.inventories.segmentsWithKeys(["debian:12 openssl"]);
      expect(openssl).toEqual([inv.segments[0]!.id]);
      const images = await store.inventories.imagesWithSegments(openssl);
      expect(images.map((i) => [i.repositoryId, i.digest])).toEqual(
        [
          [a, d1],
          [b, d2],
        ].sort((x, y) => (x[0] as number) - (y[0] as number)),
      );
      const lodash = await store.inventories.segmentsWithKeys(["npm lodash", "npm nothing"]);
      expect((await store.inventories.imagesWithSegments(lodash)).map((i) => i.digest).sort()).toEqual(
        [d1, d3].sort(),
      );

      // replacing an image's inventory drops its old segments from it
      await store.inventories.putImage(a, d1, null, [own("left-pad")]);
      expect((await store.inventories.imagesWithSegments(lodash)).map((i) => i.digest)).toEqual([d3]);
      await store.inventories.forgetImage(a, d3);
      expect(await store.inventories.imagesWithSegments(lodash)).toEqual([]);
      expect(await store.inventories.purgeUnusedSegments()).toBe(1); // lodash; the base is b's
      expect(await store.inventories.segmentsWithKeys(["npm lodash"])).toEqual([]);
      expect(await store.inventories.segmentsWithKeys(["debian:12 zlib"])).toHaveLength(1);
    });

    it("reads the segments of many images at once, exact pairs only, in layer order", async () => {
      const a = await store.registry.ensureRepository("a");
      const b = await store.registry.ensureRepository("b");
      const [d1, d2, d3] = [sha256("1"), sha256("2"), sha256("3")];
      const seg = (n: string) => ({ distroKey: null, packages: [`{"name":"${n}"}`], keys: [`npm ${n}`] });
      await store.inventories.putImage(a, d1, '{"id":"debian"}', [seg("x"), seg("y"), seg("z")]);
      await store.inventories.putImage(b, d2, null, [seg("z"), seg("x")]);
      await store.inventories.putImage(a, d3, null, []);
      const ids = (n: string) => store.inventories.segmentsWithKeys([`npm ${n}`]);
      const [x, y, z] = [(await ids("x"))[0]!, (await ids("y"))[0]!, (await ids("z"))[0]!];
      // (b, d1) and (a, d2) exist as repository and digest, not as a pair: absent
      const got = await store.inventories.segmentsOf([
        { repositoryId: a, digest: d1 },
        { repositoryId: b, digest: d2 },
        { repositoryId: b, digest: d1 },
        { repositoryId: a, digest: d2 },
        { repositoryId: a, digest: d3 },
        { repositoryId: a, digest: sha256("none") },
      ]);
      expect(got.sort((p, q) => (p.digest < q.digest ? -1 : 1))).toEqual(
        [
          { repositoryId: a, digest: d1, distro: '{"id":"debian"}', segmentIds: [x, y, z] },
          { repositoryId: b, digest: d2, distro: null, segmentIds: [z, x] },
          { repositoryId: a, digest: d3, distro: null, segmentIds: [] },
        ].sort((p, q) => (p.digest < q.digest ? -1 : 1)),
      );
      const many = Array.from({ length: 450 }, (_, i) => ({ repositoryId: a, digest: sha256(`n${i}`) }));
      expect(
        (
          await store.inventories.stored([
            ...many,
            { repositoryId: b, digest: d1 },
            { repositoryId: a, digest: d3 },
          ])
        ).map((i) => [i.repositoryId, i.digest]),
      ).toEqual([[a, d3]]);
      expect(await store.inventories.segmentsOf([])).toEqual([]);
    });
  });

  describe(`JobStore (${driver})`, () => {
    it("enqueue, claim with a lease, complete once: the token fences every write", async () => {
      const id = await store.jobs.enqueue({ kind: "scan", key: "1@d", payload: { x: 1 } });
      expect(await store.jobs.claim(["other"], 1000)).toBeNull();
      const job = (await store.jobs.claim(["scan"], 60_000))!;
      expect(job).toMatchObject({
        id,
        kind: "scan",
        key: "1@d",
        payload: { x: 1 },
        attempts: 1,
        state: "running",
      });
      expect(await store.jobs.claim(["scan"], 60_000)).toBeNull();
      expect(await store.jobs.renew(id, job.leaseToken!, 60_000)).toBe(true);
      expect(await store.jobs.complete(id, "not-the-token")).toBe(false);
      expect(await store.jobs.complete(id, job.leaseToken!)).toBe(true);
      expect(await store.jobs.complete(id, job.leaseToken!)).toBe(false);
      expect(await store.jobs.get(id)).toBeNull();
    });

    it("an expired lease is taken over with a new token; the old holder can no longer commit", async () => {
      const id = await store.jobs.enqueue({ kind: "k", payload: null, runAfter: 0 });
      const first = (await store.jobs.claim(["k"], 1))!;
      await new Promise((r) => setTimeout(r, 20));
      const second = (await store.jobs.claim(["k"], 60_000))!;
      expect(second.id).toBe(id);
      expect(second.attempts).toBe(2);
      expect(second.leaseToken).not.toBe(first.leaseToken);
      expect(await store.jobs.renew(id, first.leaseToken!, 60_000)).toBe(false);
      expect(await store.jobs.complete(id, first.leaseToken!)).toBe(false);
      expect(await store.jobs.fail(id, first.leaseToken!, "late")).toBe(false);
      expect(await store.jobs.complete(id, second.leaseToken!)).toBe(true);
    });

    it("retry waits for run_after; fail keeps the job with its reason; dropQueued spares running jobs", async () => {
      const id = await store.jobs.enqueue({ kind: "k", key: "a", payload: 1 });
      const j = (await store.jobs.claim(["k"], 60_000))!;
      expect(await store.jobs.retry(id, j.leaseToken!, Date.now() + 60_000, "transient")).toBe(true);
      expect(await store.jobs.claim(["k"], 60_000)).toBeNull();
      expect(await store.jobs.get(id)).toMatchObject({
        state: "queued",
        lastError: "transient",
        leaseToken: null,
      });
      expect(await store.jobs.depth(["k"])).toEqual({ queued: 1, running: 0 });
      expect(await store.jobs.dropQueued("k", "a")).toBe(1);
      const id2 = await store.jobs.enqueue({ kind: "k", key: "a", payload: 2 });
      const j2 = (await store.jobs.claim(["k"], 60_000))!;
      expect(await store.jobs.dropQueued("k", "a")).toBe(0);
      expect(await store.jobs.fail(id2, j2.leaseToken!, "permanent")).toBe(true);
      expect(await store.jobs.get(id2)).toMatchObject({ state: "failed", lastError: "permanent" });
      expect(await store.jobs.claim(["k"], 60_000)).toBeNull();
    });

    it("jobs enqueued in a rolled-back transaction do not exist", async () => {
      await expect(
        store.tx(async (tx) => {
          await tx.jobs.enqueue({ kind: "k", payload: 1 });
          throw new Error("rollback");
        }),
      ).rejects.toThrow("rollback");
      expect(await store.jobs.depth(["k"])).toEqual({ queued: 0, running: 0 });
    });

    it("two processes claiming at once never take the same job", async () => {
      const other = await second();
      const n = 40;
      for (let i = 0; i < n; i++) await store.jobs.enqueue({ kind: "race", payload: i });
      const claimed: number[] = [];
      const worker = async (s: MetaStore) => {
        for (;;) {
          const j = await s.jobs.claim(["race"], 60_000);
          if (!j) return;
          claimed.push(j.id);
          expect(await s.jobs.complete(j.id, j.leaseToken!)).toBe(true);
        }
      };
      await Promise.all([worker(store), worker(other), worker(store), worker(other)]);
      expect(claimed).toHaveLength(n);
      expect(new Set(claimed).size).toBe(n);
    });

    it("releaseRunning queues running jobs again (embedded restart)", async () => {
      await store.jobs.enqueue({ kind: "k", payload: 1 });
      await store.jobs.claim(["k"], 60_000);
      expect(await store.jobs.releaseRunning()).toBe(1);
      expect(await store.jobs.claim(["k"], 60_000)).toMatchObject({ attempts: 2 });
    });
  });

  describe(`EventStore (${driver})`, () => {
    const ev = (id: string) => ({
      id,
      time: 1,
      source: "aws.ecr",
      detailType: "ECR Image Action",
      json: `{"id":"${id}"}`,
    });

    it("appends many in order in one step of the counter, after and before single appends", async () => {
      const s0 = await store.events.append(ev("first"));
      const many = Array.from({ length: 1203 }, (_, i) => ev(`m${i}`));
      const at = await store.tx((tx) => tx.events.appendMany(many));
      expect(at).toBe(s0 + 1);
      const s1 = await store.events.append(ev("last"));
      expect(s1).toBe(s0 + 1204);
      const all: string[] = [];
      for (let after = 0; ;) {
        const page = await store.events.read(after, 500);
        if (!page.length) break;
        all.push(...page.map((e) => e.id));
        after = page.at(-1)!.seq;
      }
      expect(all).toEqual(["first", ...many.map((e) => e.id), "last"]);
      expect(await store.events.appendMany([])).toBe(0);
      await expect(
        store.tx(async (tx) => {
          await tx.events.appendMany([ev("x"), ev("y")]);
          throw new Error("rollback");
        }),
      ).rejects.toThrow("rollback");
      expect(await store.events.lastSeq()).toBe(s1);
    });

    it("appends in order and reads after a cursor", async () => {
      expect(await store.events.lastSeq()).toBe(0);
      const s1 = await store.events.append(ev("a"));
      const s2 = await store.events.append(ev("b"));
      expect(s2).toBe(s1 + 1);
      expect((await store.events.read(0)).map((e) => e.id)).toEqual(["a", "b"]);
      expect((await store.events.read(s1)).map((e) => e.id)).toEqual(["b"]);
      expect(await store.events.read(s1, 0)).toEqual([]);
      expect(await store.events.lastSeq()).toBe(s2);
    });

    it("keeps each event's bus (default unless named) and reads events by seqs", async () => {
      const s1 = await store.events.append(ev("a"));
      const s2 = await store.events.append({ ...ev("b"), bus: "orders" });
      const s3 = await store.events.appendMany([ev("c"), { ...ev("d"), bus: "orders" }]);
      expect((await store.events.read(0)).map((e) => [e.id, e.bus])).toEqual([
        ["a", "default"],
        ["b", "orders"],
        ["c", "default"],
        ["d", "orders"],
      ]);
      const got = await store.events.bySeqs([s3 + 1, s1, 999_999, s1]);
      expect(got).toEqual([
        {
          seq: s1,
          id: "a",
          time: 1,
          source: "aws.ecr",
          detailType: "ECR Image Action",
          json: '{"id":"a"}',
          bus: "default",
        },
        {
          seq: s3 + 1,
          id: "d",
          time: 1,
          source: "aws.ecr",
          detailType: "ECR Image Action",
          json: '{"id":"d"}',
          bus: "orders",
        },
      ]);
      expect(await store.events.bySeqs([])).toEqual([]);
      expect((await store.events.bySeqs([s2])).map((e) => e.bus)).toEqual(["orders"]);
      const many = await store.events.appendMany(Array.from({ length: 1500 }, (_, i) => ev(`m${i}`)));
      const seqs = Array.from({ length: 1500 }, (_, i) => many + i);
      const backwards = [...seqs].reverse();
      expect((await store.events.bySeqs(backwards)).map((e) => e.seq)).toEqual(seqs);
    });

    it("an event of a rolled-back transaction never appears", async () => {
      await expect(
        store.tx(async (tx) => {
          await tx.events.append(ev("gone"));
          throw new Error("rollback");
        }),
      ).rejects.toThrow();
      await store.events.append(ev("kept"));
      expect((await store.events.read(0)).map((e) => e.id)).toEqual(["kept"]);
    });

    it("sequence order is commit order: a reader never skips an event committed late", async () => {
      const other = await second();
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      let firstAppended!: () => void;
      const appended = new Promise<void>((r) => (firstAppended = r));
      // A appends inside a long transaction; B appends meanwhile and commits first.
      const a = store.tx(async (tx) => {
        await tx.events.append(ev("A"));
        firstAppended();
        await gate;
      });
      await appended;
      // SQLite has one writer at a time (and better-sqlite3 would block this thread waiting for
      // it), so there B can only append after A: the order is then trivially commit order.
      const b = o.concurrentWriters
        ? other.events.append(ev("B"))
        : gate.then(() => other.events.append(ev("B")));
      // While A is open, a reader sees neither A nor anything numbered after it.
      const during = await other.events.read(0);
      const cursor = during.at(-1)?.seq ?? 0;
      release();
      await Promise.all([a, b]);
      const after = await other.events.read(cursor);
      const seen = [...during, ...after].map((e) => e.id);
      expect(seen.sort()).toEqual(["A", "B"]);
    });
  });

  describe(`LeaseStore (${driver})`, () => {
    it("one holder at a time; renewals; takeover after expiry; release", async () => {
      const other = await second();
      expect(await store.leases.acquire("gc", "node-a", 60_000)).toBe(true);
      expect(await other.leases.acquire("gc", "node-b", 60_000)).toBe(false);
      expect(await store.leases.acquire("gc", "node-a", 60_000)).toBe(true);
      expect(await other.leases.holder("gc")).toBe("node-a");
      await store.leases.release("gc", "node-b");
      expect(await other.leases.holder("gc")).toBe("node-a");
      await store.leases.release("gc", "node-a");
      expect(await other.leases.acquire("gc", "node-b", 1)).toBe(true);
      await new Promise((r) => setTimeout(r, 10));
      expect(await store.leases.holder("gc")).toBeNull();
      expect(await store.leases.acquire("gc", "node-a", 60_000)).toBe(true);
      const both = await Promise.all([
        store.leases.acquire("db-update", "x", 60_000),
        other.leases.acquire("db-update", "y", 60_000),
      ]);
      expect(both.filter(Boolean)).toHaveLength(1);
    });
  });

  describe(`LayerInventoryStore (${driver})`, () => {
    it("stores an inventory once per key", async () => {
      expect(await store.layers.get("k")).toBeNull();
      await store.layers.put("k", "sha256:a", '{"n":1}');
      await store.layers.put("k", "sha256:a", '{"n":2}');
      expect(await store.layers.get("k")).toEqual({ diffId: "sha256:a", json: '{"n":1}' });
    });
  });

  describe(`migrations (${driver})`, () => {
    it("the schema is current after open; a second migrate does nothing", async () => {
      const status = await store.schemaStatus();
      expect(status.pending).toEqual([]);
      expect(status.unknown).toEqual([]);
      expect(await store.migrate()).toEqual([]);
    });
  });
}
