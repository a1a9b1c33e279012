import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { buildImage, sha256, tarball, type BuiltImage } from "../image/testdata/images.js";
import { debianImage, pushImage } from "./testing.js";
import type { AdvisoryLookup } from "../match/types.js";
import { RegistryService } from "../registry/service.js";
import { RepositorySettingsService } from "../settings/service.js";
import { FsBlobStore } from "../storage/blob/fs.js";
import { openSqliteMetaStore } from "../storage/meta/sqlite.js";
import type { MetaStore } from "../storage/meta/store.js";
import { readEvents } from "../events/log.js";
import { AwsPrincipal } from "../api/access.js";
import { StoreInspector2Backend } from "../findings/inspector-backend.js";
import { REMATCH_JOB, planRematch } from "./rematch.js";
import { MANUAL_SCAN_WINDOW_MS, RegistryScanService, SCAN_JOB } from "./service.js";
import { UNSUPPORTED_OS } from "./engine.js";
import type { Advisory } from "../vulndb/types.js";
import { VulnDbError } from "../vulndb/schema.js";

let dir: string;
let meta: MetaStore;
let registry: RegistryService;
let scans: RegistryScanService;
let settings: RepositorySettingsService;
let clock: number;

/** A Debian 12 advisory for base-files, affected from 0 up to `fixed` (or every version). */
const baseFilesAdvisory = (id: string, fixed?: string) =>
  ({
    id,
    source: "test",
    aliases: [],
    modified: "2024-01-01T00:00:00Z",
    affected: [
      {
        ecosystem: "debian:12",
        package: "base-files",
        ranges: [{ type: "ECOSYSTEM", events: [{ introduced: "0" }, ...(fixed ? [{ fixed }] : [])] }],
      },
    ],
  }) as unknown as Advisory;

/** One advisory (base-files below 12.5 is affected), plus what a test adds as a later build. */
let laterAdvisories: Advisory[] = [];
let dbBuiltAt = 1;
const fakeDb: AdvisoryLookup = {
  advisoriesFor: (ecosystem, pkg) =>
    ecosystem === "debian:12" && pkg === "base-files"
      ? [baseFilesAdvisory("CVE-2099-0001", "12.5"), ...laterAdvisories]
      : [],
  enrichment: () => new Map(),
};
/** Blob reads (a re-match must not read any layer). */
let blobReads = 0;
/** The server has no vulnerability database yet. */
let dbMissing = false;
/** What the service reported to its metrics (src/scan/metrics.ts). */
let recorded: {
  layers: { read: number; cached: number };
  rematches: { images: number; changes: string[] }[];
};

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "drydock-scan-svc-"));
  meta = await openSqliteMetaStore(join(dir, "meta.db"), () => clock);
  const fs = await FsBlobStore.open(dir);
  laterAdvisories = [];
  dbBuiltAt = 1;
  dbMissing = false;
  blobReads = 0;
  recorded = { layers: { read: 0, cached: 0 }, rematches: [] };
  const blobs = new Proxy(fs, {
    get: (t, k) => {
      const v: unknown = Reflect.get(t, k, t);
      if (typeof v !== "function") return v;
      return (...args: unknown[]) => {
        if (k === "open" || k === "read") blobReads++;
        return (v as (...a: unknown[]) => unknown).apply(t, args);
      };
    },
  });
  clock = Date.parse("2025-01-01T00:00:00Z");
  settings = new RepositorySettingsService(meta);
  scans = new RegistryScanService(
    meta,
    blobs,
    {
      acquire: () => {
        if (dbMissing) throw new VulnDbError("no vulnerability database at /x: build one");
        return { db: fakeDb, builtAt: dbBuiltAt, release: () => undefined };
      },
    },
    settings,
    {
      aws: { accountId: "123456789012", region: "eu-west-1" },
      engine: {
        limits: { maxBytes: 1e8, maxEntries: 1e5, maxFileBytes: 1e7, maxNestedArchiveBytes: 1e7 },
        onLayer: (fromCache) => recorded.layers[fromCache ? "cached" : "read"]++,
      },
      queue: { concurrency: 2, maxAttempts: 2, retryBaseMs: 10, leaseMs: 5000, pollIntervalMs: 20 },
      now: () => clock,
      metrics: {
        layer: () => undefined,
        rematch: (images, changes) =>
          recorded.rematches.push({ images, changes: changes.map((c) => c.kind) }),
      },
    },
  );
  registry = new RegistryService(
    meta,
    blobs,
    {
      maxManifestBytes: 4 << 20,
      createRepositoryOnPush: true,
      aws: { accountId: "123456789012", region: "eu-west-1" },
      now: () => clock,
    },
    [scans.registryHooks()],
  );
});
afterEach(async () => {
  await scans.stop();
  await meta.close();
  await rm(dir, { recursive: true, force: true });
});

const push = (repo: string, img: BuiltImage, tag?: string) => pushImage(registry, repo, img, tag);

async function settle(repo: string, digest: string): Promise<string> {
  const end = Date.now() + 10_000;
  for (;;) {
    const s = await scans.imageScanState(repo, digest);
    if (s && !["IN_PROGRESS", "PENDING"].includes(s.status)) return s.status;
    if (Date.now() > end) throw new Error(`scan of ${digest} did not finish: ${JSON.stringify(s)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const onPush = (scanType: "BASIC" | "ENHANCED", filter = "*") =>
  scans.putRegistryScanningConfiguration({
    scanType,
    rules: [{ scanFrequency: "SCAN_ON_PUSH", repositoryFilters: [{ filter, filterType: "WILDCARD" }] }],
  });

describe("registry scan service", () => {
  it("scan on push: IN_PROGRESS → COMPLETE with findings, and Image Action + Image Scan events", async () => {
    await onPush("BASIC", "prod");
    const digest = await push("team/prod-api", debianImage());
    expect((await scans.imageScanState("team/prod-api", digest))?.status).toBe("IN_PROGRESS");
    await scans.start();
    expect(await settle("team/prod-api", digest)).toBe("COMPLETE");
    const f = await scans.imageScanFindings("team/prod-api", digest);
    expect(f.state.description).toBe("The scan was completed successfully.");
    expect(f.findings.map((x) => [x.vulnerabilityId, x.package.name, x.fixedVersion])).toEqual([
      ["CVE-2099-0001", "base-files", "12.5"],
    ]);
    const events = (await readEvents(meta, 0)).map((e) => e.event);
    expect(events.map((e) => e["detail-type"])).toEqual(["ECR Image Action", "ECR Image Scan"]);
    expect(events[0]).toMatchObject({
      version: "0",
      source: "aws.ecr",
      account: "123456789012",
      region: "eu-west-1",
      time: "2025-01-01T00:00:00Z",
      resources: [],
      detail: {
        result: "SUCCESS",
        "repository-name": "team/prod-api",
        "image-digest": digest,
        "action-type": "PUSH",
        "image-tag": "latest",
      },
    });
    expect(events[1]).toMatchObject({
      resources: ["arn:aws:ecr:eu-west-1:123456789012:repository/team/prod-api"],
      detail: {
        "scan-status": "COMPLETE",
        "image-tags": ["latest"],
        "finding-severity-counts": { UNDEFINED: 1 },
      },
    });
  });

  it("a scan waits for a vulnerability database that does not exist yet, without failing or spending attempts", async () => {
    dbMissing = true;
    await onPush("BASIC");
    const digest = await push("app", debianImage());
    await scans.start();
    // maxAttempts is 2: a scan that failed on the missing database would be FAILED by now.
    for (let i = 0; i < 5; i++) {
      clock += 16_000;
      scans.queue.wake();
      await new Promise((r) => setTimeout(r, 60));
    }
    expect((await scans.imageScanState("app", digest))?.status).toBe("IN_PROGRESS");
    dbMissing = false;
    clock += 16_000;
    scans.queue.wake();
    expect(await settle("app", digest)).toBe("COMPLETE");
  });

  it("a repository matching no filter is not scanned on push (BASIC: MANUAL)", async () => {
    await onPush("BASIC", "prod");
    const digest = await push("dev", debianImage());
    expect(await scans.imageScanState("dev", digest)).toBeNull();
    expect(await scans.repositoryScanningConfiguration(["dev", "missing"])).toEqual([
      { repositoryName: "dev", scanOnPush: false, scanFrequency: "MANUAL", appliedScanFilters: [] },
    ]);
  });

  it("manual scans: one per image per 24 h, counting the scan on push", async () => {
    await onPush("BASIC");
    const digest = await push("app", debianImage());
    await scans.start();
    await settle("app", digest);
    await expect(scans.startImageScan("app", digest)).rejects.toMatchObject({ code: "LimitExceeded" });
    clock += MANUAL_SCAN_WINDOW_MS - 1;
    await expect(scans.startImageScan("app", digest)).rejects.toMatchObject({ code: "LimitExceeded" });
    clock += 1;
    expect((await scans.startImageScan("app", digest)).status).toBe("IN_PROGRESS");
    await expect(scans.startImageScan("app", digest)).rejects.toMatchObject({ code: "LimitExceeded" });
    expect(await settle("app", digest)).toBe("COMPLETE");
  });

  it("a re-scan replaces the findings", async () => {
    await scans.putRegistryScanningConfiguration({ scanType: "BASIC", rules: [] });
    const digest = await push("app", debianImage());
    await scans.start();
    await scans.startImageScan("app", digest);
    await settle("app", digest);
    const before = await scans.imageScanFindings("app", digest);
    clock += MANUAL_SCAN_WINDOW_MS;
    await scans.startImageScan("app", digest);
    await settle("app", digest);
    const after = await scans.imageScanFindings("app", digest);
    expect(after.findings).toHaveLength(before.findings.length);
    expect(after.state.completedAt).toBe(clock);
  });

  it("ENHANCED images are not scanned manually; unknown images and repositories are errors", async () => {
    await onPush("ENHANCED", "nomatch");
    const digest = await push("app", debianImage());
    await expect(scans.startImageScan("app", digest)).rejects.toMatchObject({ code: "Validation" });
    await expect(scans.startImageScan("nope", digest)).rejects.toMatchObject({ code: "RepositoryNotFound" });
    await expect(scans.startImageScan("app", sha256("x"))).rejects.toMatchObject({ code: "ImageNotFound" });
    await expect(scans.imageScanFindings("app", digest)).rejects.toMatchObject({ code: "ScanNotFound" });
  });

  it("ENHANCED continuous scanning ends ACTIVE", async () => {
    await scans.putRegistryScanningConfiguration({
      scanType: "ENHANCED",
      rules: [
        { scanFrequency: "CONTINUOUS_SCAN", repositoryFilters: [{ filter: "app", filterType: "WILDCARD" }] },
      ],
    });
    const digest = await push("app", debianImage());
    expect((await scans.imageScanState("app", digest))?.status).toBe("PENDING");
    await scans.start();
    expect(await settle("app", digest)).toBe("ACTIVE");
  });

  it("ENHANCED: a SUPPRESS filter hides new findings; Inspector2 Finding and Scan events, no ECR Image Scan", async () => {
    const inspector = new StoreInspector2Backend(meta, {
      registry: { accountId: "123456789012", region: "eu-west-1" },
      now: () => clock,
    });
    const admin = AwsPrincipal.unrestricted("123456789012");
    await inspector.createFilter(
      {
        name: "base-files accepted",
        action: "SUPPRESS",
        criteria: { vulnerablePackages: [{ name: { comparison: "EQUALS", value: "base-files" } }] },
      },
      admin,
    );
    await onPush("ENHANCED", "enh");
    const digest = await push("enh", debianImage());
    await scans.start();
    expect(await settle("enh", digest)).toBe("COMPLETE");
    const repoId = (await meta.registry.repositoryId("enh"))!;
    expect((await meta.findings.forImage(repoId, digest, "ENHANCED")).map((f) => f.status)).toEqual([
      "SUPPRESSED",
    ]);
    // DescribeImageScanFindings shows open findings: none.
    expect((await scans.imageScanFindings("enh", digest)).findings).toEqual([]);
    const events = (await readEvents(meta, 0)).map((e) => e.event);
    expect(events.map((e) => e["detail-type"])).toEqual([
      "Drydock Suppression Change",
      // The push created the repository under a SCAN_ON_PUSH rule.
      "ECR Scan Resource Change",
      "ECR Image Action",
      "Inspector2 Finding",
      "Inspector2 Scan",
      "Inspector2 Coverage",
    ]);
    expect(events[3]).toMatchObject({
      source: "aws.inspector2",
      resources: [`arn:aws:ecr:eu-west-1:123456789012:repository/enh/${digest}`],
      detail: { status: "SUPPRESSED", packageVulnerabilityDetails: { vulnerabilityId: "CVE-2099-0001" } },
    });
    expect(events[4]!.detail).toMatchObject({
      "scan-status": "INITIAL_SCAN_COMPLETE",
      "repository-name": "arn:aws:ecr:eu-west-1:123456789012:repository/enh",
      "finding-severity-counts": { UNTRIAGED: 1, TOTAL: 1 },
      "image-digest": digest,
    });
    // Deleting the filter revives the finding at once, with its event.
    const [filter] = (await inspector.listFilters({ maxResults: 10 }, admin)).items;
    await inspector.deleteFilter(filter!.arn, admin);
    expect((await scans.imageScanFindings("enh", digest)).findings).toHaveLength(1);
    const after = (await readEvents(meta, 0)).map((e) => e.event).slice(6);
    expect(after.map((e) => [e["detail-type"], e.detail.status ?? e.detail.change])).toEqual([
      ["Inspector2 Finding", "ACTIVE"],
      ["Drydock Suppression Change", "DELETED"],
    ]);
    // Deleting the image closes its finding, with an event.
    await registry.deleteManifest("enh", digest);
    const closed = (await readEvents(meta, 0))
      .map((e) => e.event)
      .filter((e) => e.detail.status === "CLOSED");
    expect(closed).toHaveLength(1);
  });

  it("severity counts use the scan type's names: UNTRIAGED for ENHANCED (as its findings), UNDEFINED for BASIC", async () => {
    // fakeDb's advisory has no severity: UNDEFINED in the engine's terms
    await onPush("ENHANCED", "enh");
    const enhanced = await push("enh", debianImage());
    await scans.start();
    expect(await settle("enh", enhanced)).toBe("COMPLETE");
    const f = await scans.imageScanFindings("enh", enhanced);
    expect(f.findings.map((x) => x.severity)).toEqual(["UNDEFINED"]);
    expect(f.severityCounts).toEqual({ UNTRIAGED: 1 });
    expect((await scans.imageScanSummaries("enh", [enhanced])).get(enhanced)?.severityCounts).toEqual({
      UNTRIAGED: 1,
    });
    await scans.putRegistryScanningConfiguration({ scanType: "BASIC", rules: [] });
    const basic = await push("basic", debianImage());
    await scans.startImageScan("basic", basic);
    await settle("basic", basic);
    expect((await scans.imageScanFindings("basic", basic)).severityCounts).toEqual({ UNDEFINED: 1 });
    expect((await scans.imageScanSummaries("basic", [basic])).get(basic)?.severityCounts).toEqual({
      UNDEFINED: 1,
    });
  });

  it("BASIC: an image with no detectable OS is UNSUPPORTED_IMAGE with the reason", async () => {
    await onPush("BASIC");
    const digest = await push("scratch", buildImage([{ tar: tarball([{ name: "app/bin", body: "x" }]) }]));
    await scans.start();
    expect(await settle("scratch", digest)).toBe("UNSUPPORTED_IMAGE");
    expect((await scans.imageScanState("scratch", digest))?.description).toBe(UNSUPPORTED_OS);
  });

  it("an index pushed: each platform manifest gets its own scan", async () => {
    await onPush("BASIC");
    await scans.putRegistryScanningConfiguration({ scanType: "BASIC", rules: [] });
    const a = debianImage("12.1");
    const b = debianImage("12.2");
    const da = await push("multi", a, "a");
    const db = await push("multi", b, "b");
    await onPush("BASIC");
    const index = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.index.v1+json",
        manifests: [
          {
            mediaType: "application/vnd.oci.image.manifest.v1+json",
            digest: da,
            size: a.manifest.length,
            platform: { os: "linux", architecture: "amd64" },
          },
          {
            mediaType: "application/vnd.oci.image.manifest.v1+json",
            digest: db,
            size: b.manifest.length,
            platform: { os: "linux", architecture: "arm64" },
          },
        ],
      }),
    );
    const r = await registry.putManifest("multi", "latest", index, "application/vnd.oci.image.index.v1+json");
    await scans.start();
    const end = Date.now() + 10_000;
    while (!(await scans.imageScanState("multi", db)) && Date.now() < end)
      await new Promise((x) => setTimeout(x, 20));
    expect(await settle("multi", da)).toBe("COMPLETE");
    expect(await settle("multi", db)).toBe("COMPLETE");
    expect(await scans.imageScanState("multi", r.digest)).toBeNull();
  });

  it("delete: an Image Action DELETE event, and the image's scan is gone", async () => {
    await onPush("BASIC");
    const digest = await push("app", debianImage());
    await scans.start();
    await settle("app", digest);
    await registry.deleteManifest("app", digest);
    const events = (await readEvents(meta, 0)).map((e) => e.event);
    expect(events.at(-1)).toMatchObject({
      "detail-type": "ECR Image Action",
      detail: { "action-type": "DELETE", "image-digest": digest, "image-tag": "latest" },
    });
    expect(await scans.imageScanState("app", digest)).toBeNull();
  });

  it("deleting a repository closes its images' findings with their events, then removes it", async () => {
    await onPush("ENHANCED", "enh");
    const digest = await push("enh", debianImage());
    await scans.start();
    expect(await settle("enh", digest)).toBe("COMPLETE");
    const before = (await readEvents(meta, 0)).length;
    await registry.deleteRepository("enh");
    const events = (await readEvents(meta, 0)).map((e) => e.event).slice(before);
    expect(events.map((e) => [e["detail-type"], e.detail.status])).toEqual([
      ["Inspector2 Finding", "CLOSED"],
    ]);
    expect(await meta.registry.repositoryId("enh")).toBeNull();
  });

  it("switching the scan type hides the other type's scans", async () => {
    await onPush("BASIC");
    const digest = await push("app", debianImage());
    await scans.start();
    await settle("app", digest);
    await onPush("ENHANCED", "other");
    expect(await scans.imageScanState("app", digest)).toBeNull();
    await onPush("BASIC", "other");
    expect((await scans.imageScanState("app", digest))?.status).toBe("COMPLETE");
  });
});

describe("continuous re-scanning", () => {
  const findingsOf = async (repo: string, digest: string) =>
    meta.findings.forImage((await meta.registry.repositoryId(repo))!, digest, "ENHANCED");
  const rematch = async (keys: string[]) => {
    dbBuiltAt++;
    const queued = await meta.tx((tx) =>
      planRematch(tx, { builtAt: dbBuiltAt, keys, cves: [] }, (t, id) => settings.scanOnPush(t, id)),
    );
    scans.queue.wake();
    await until(async () => (await meta.jobs.list([REMATCH_JOB])).length === 0);
    return queued;
  };

  it("a database change re-matches the stored inventories of CONTINUOUS_SCAN images only, without reading a layer: created, updated, closed under one id", async () => {
    await scans.putRegistryScanningConfiguration({
      scanType: "ENHANCED",
      rules: [
        {
          scanFrequency: "CONTINUOUS_SCAN",
          repositoryFilters: [{ filter: "watched", filterType: "WILDCARD" }],
        },
        { scanFrequency: "SCAN_ON_PUSH", repositoryFilters: [{ filter: "pushed", filterType: "WILDCARD" }] },
      ],
    });
    const watched = await push("watched", debianImage());
    const pushed = await push("pushed", debianImage("12.3"));
    await scans.start();
    expect(await settle("watched", watched)).toBe("ACTIVE");
    expect(await settle("pushed", pushed)).toBe("COMPLETE");
    const before = await findingsOf("pushed", pushed);
    expect((await findingsOf("watched", watched)).map((f) => f.vulnerabilityId)).toEqual(["CVE-2099-0001"]);
    const readsAfterScans = blobReads;
    const layersAfterScans = { ...recorded.layers };
    expect(layersAfterScans.read + layersAfterScans.cached).toBe(2);

    // v2: a new advisory for an installed package
    clock += 60_000;
    laterAdvisories = [baseFilesAdvisory("CVE-2099-0002")];
    expect(await rematch(["debian:12 base-files"])).toBe(1);
    const v2 = (await findingsOf("watched", watched)).find((f) => f.vulnerabilityId === "CVE-2099-0002")!;
    expect(v2).toMatchObject({
      status: "ACTIVE",
      fixAvailable: "NO",
      firstObservedAt: clock,
      updatedAt: clock,
    });

    // v3: it gets a fix: the same finding, updated
    clock += 60_000;
    laterAdvisories = [baseFilesAdvisory("CVE-2099-0002", "13")];
    await rematch(["debian:12 base-files"]);
    const v3 = (await findingsOf("watched", watched)).find((f) => f.vulnerabilityId === "CVE-2099-0002")!;
    expect(v3).toMatchObject({
      id: v2.id,
      status: "ACTIVE",
      fixAvailable: "YES",
      firstObservedAt: v2.firstObservedAt,
      updatedAt: clock,
    });

    // v4: withdrawn: closed
    clock += 60_000;
    laterAdvisories = [];
    await rematch(["debian:12 base-files"]);
    const v4 = (await findingsOf("watched", watched)).find((f) => f.vulnerabilityId === "CVE-2099-0002")!;
    expect(v4).toMatchObject({ id: v2.id, status: "CLOSED", closedAt: clock });
    expect(
      (await scans.imageScanFindings("watched", watched)).findings.map((f) => f.vulnerabilityId),
    ).toEqual(["CVE-2099-0001"]);

    // each re-match's change is one Inspector2 Finding event, committed with it
    const changes = (await readEvents(meta, 0))
      .map((e) => e.event)
      .filter(
        (e) =>
          e["detail-type"] === "Inspector2 Finding" &&
          (e.detail.packageVulnerabilityDetails as { vulnerabilityId: string }).vulnerabilityId ===
            "CVE-2099-0002",
      );
    expect(changes.map((e) => [e.detail.status, e.detail.fixAvailable, e.resources])).toEqual([
      ["ACTIVE", "NO", [`arn:aws:ecr:eu-west-1:123456789012:repository/watched/${watched}`]],
      ["ACTIVE", "YES", [`arn:aws:ecr:eu-west-1:123456789012:repository/watched/${watched}`]],
      ["CLOSED", "YES", [`arn:aws:ecr:eu-west-1:123456789012:repository/watched/${watched}`]],
    ]);

    // a key nobody has queues nothing; the SCAN_ON_PUSH image never changed; no layer was read
    expect(await rematch(["npm left-pad"])).toBe(0);
    expect(await findingsOf("pushed", pushed)).toEqual(before);
    expect(blobReads).toBe(readsAfterScans);
    // the metrics: one job per change, one image each, its changes; no layer needed at all
    expect(recorded.rematches).toEqual([
      { images: 1, changes: ["created"] },
      { images: 1, changes: ["updated"] },
      { images: 1, changes: ["closed"] },
    ]);
    expect(recorded.layers).toEqual(layersAfterScans);
  });

  it("a scan that matched with a build older than the last planned change queues the image's re-match against it", async () => {
    await scans.putRegistryScanningConfiguration({
      scanType: "ENHANCED",
      rules: [
        { scanFrequency: "CONTINUOUS_SCAN", repositoryFilters: [{ filter: "*", filterType: "WILDCARD" }] },
      ],
    });
    // Build 2 was planned (vulndb-change.ts) while this node's scans still used build 1: the
    // plan could not see the image, whose inventory the scan had not stored yet.
    await meta.settings.putRegistrySetting("vulndb-matched", { builtAt: 2 });
    const d = await push("late", debianImage());
    await scans.start();
    expect(await settle("late", d)).toBe("ACTIVE");
    expect((await findingsOf("late", d)).map((f) => f.vulnerabilityId)).toEqual(["CVE-2099-0001"]);
    const [job] = await meta.jobs.list([REMATCH_JOB]);
    expect(job?.payload).toEqual({
      builtAt: 2,
      keys: "all",
      cves: [],
      images: [{ repositoryId: await meta.registry.repositoryId("late"), digest: d }],
    });
    // The node gets build 2 (which has a new advisory): the image is re-matched against it.
    dbBuiltAt = 2;
    laterAdvisories = [baseFilesAdvisory("CVE-2099-0002")];
    clock += 60_000; // past the deferral of an attempt made with build 1
    scans.queue.wake();
    await until(async () => (await meta.jobs.list([REMATCH_JOB])).length === 0);
    expect((await findingsOf("late", d)).map((f) => [f.vulnerabilityId, f.status]).sort()).toEqual([
      ["CVE-2099-0001", "ACTIVE"],
      ["CVE-2099-0002", "ACTIVE"],
    ]);

    // A scan with the planned build (or newer) queues nothing.
    const e = await push("late", debianImage("12.3"), "other");
    expect(await settle("late", e)).toBe("ACTIVE");
    expect(await meta.jobs.list([REMATCH_JOB])).toEqual([]);
  });

  it("a re-matched finding that a SUPPRESS filter matches is born SUPPRESSED", async () => {
    await scans.putRegistryScanningConfiguration({
      scanType: "ENHANCED",
      rules: [
        { scanFrequency: "CONTINUOUS_SCAN", repositoryFilters: [{ filter: "*", filterType: "WILDCARD" }] },
      ],
    });
    const d = await push("s", debianImage());
    await scans.start();
    expect(await settle("s", d)).toBe("ACTIVE");
    await new StoreInspector2Backend(meta, {
      registry: { accountId: "123456789012", region: "eu-west-1" },
    }).createFilter(
      {
        name: "new ones",
        action: "SUPPRESS",
        criteria: { vulnerabilityId: [{ comparison: "EQUALS", value: "CVE-2099-0003" }] },
      },
      AwsPrincipal.unrestricted("123456789012"),
    );
    clock += 60_000;
    laterAdvisories = [baseFilesAdvisory("CVE-2099-0003")];
    await rematch(["debian:12 base-files"]);
    expect((await findingsOf("s", d)).map((f) => [f.vulnerabilityId, f.status]).sort()).toEqual([
      ["CVE-2099-0001", "ACTIVE"],
      ["CVE-2099-0003", "SUPPRESSED"],
    ]);
  });

  it("an image matched from its stored inventory when its repository turns continuous, with an older build than the last planned, is re-matched against it", async () => {
    await onPush("ENHANCED", "later");
    const d = await push("later", debianImage());
    await scans.start();
    expect(await settle("later", d)).toBe("COMPLETE");
    // Build 2 was planned while the repository was only scanned on push (not watched); this
    // node still has build 1 when the repository turns continuous.
    await meta.settings.putRegistrySetting("vulndb-matched", { builtAt: 2 });
    await scans.putRegistryScanningConfiguration({
      scanType: "ENHANCED",
      rules: [
        {
          scanFrequency: "CONTINUOUS_SCAN",
          repositoryFilters: [{ filter: "later", filterType: "WILDCARD" }],
        },
      ],
    });
    await until(async () => (await meta.jobs.list([REMATCH_JOB])).length === 1);
    expect(await settle("later", d)).toBe("ACTIVE");
    dbBuiltAt = 2;
    laterAdvisories = [baseFilesAdvisory("CVE-2099-0002")];
    clock += 60_000;
    scans.queue.wake();
    await until(async () => (await meta.jobs.list([REMATCH_JOB])).length === 0);
    expect((await findingsOf("later", d)).map((f) => [f.vulnerabilityId, f.status]).sort()).toEqual([
      ["CVE-2099-0001", "ACTIVE"],
      ["CVE-2099-0002", "ACTIVE"],
    ]);
  });

  it("a worker whose database is older than the change waits for it", async () => {
    await scans.putRegistryScanningConfiguration({
      scanType: "ENHANCED",
      rules: [
        { scanFrequency: "CONTINUOUS_SCAN", repositoryFilters: [{ filter: "*", filterType: "WILDCARD" }] },
      ],
    });
    const d = await push("w", debianImage());
    await scans.start();
    await settle("w", d);
    laterAdvisories = [baseFilesAdvisory("CVE-2099-0002")];
    await meta.tx((tx) =>
      planRematch(tx, { builtAt: dbBuiltAt + 1, keys: ["debian:12 base-files"], cves: [] }, (t, id) =>
        settings.scanOnPush(t, id),
      ),
    );
    scans.queue.wake();
    await new Promise((r) => setTimeout(r, 200));
    const [job] = await meta.jobs.list([REMATCH_JOB]);
    expect(job).toMatchObject({ state: "queued", attempts: 0 });
    expect(job!.lastError).toMatch(/older than the change/);
    expect((await findingsOf("w", d)).map((f) => f.vulnerabilityId)).toEqual(["CVE-2099-0001"]);
  });
});

async function until(cond: () => Promise<boolean>): Promise<void> {
  const end = Date.now() + 10_000;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("scanForGate (the pull gate's requireScan)", () => {
  it("queues one scan of an unscanned image, even asked twice at once, and none once it has one", async () => {
    const digest = await push("gated", debianImage());
    expect(await scans.imageScanState("gated", digest)).toBeNull();
    const id = (await meta.registry.repositoryId("gated"))!;
    const type = "application/vnd.oci.image.manifest.v1+json";
    await Promise.all([scans.scanForGate(id, digest, type), scans.scanForGate(id, digest, type)]);
    expect((await meta.jobs.list([SCAN_JOB])).map((j) => j.key)).toEqual([`${id}@${digest}`]);
    expect((await scans.imageScanState("gated", digest))?.status).toBe("IN_PROGRESS");
    await scans.start();
    expect(await settle("gated", digest)).toBe("COMPLETE");
    await scans.scanForGate(id, digest, type);
    expect(await meta.jobs.depth([SCAN_JOB])).toEqual({ queued: 0, running: 0 });
  });
});
