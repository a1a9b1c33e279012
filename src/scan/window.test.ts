import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AwsPrincipal } from "../api/access.js";
import type { EcrConfiguration } from "../api/inspector2/shapes.js";
import { readEvents } from "../events/log.js";
import { StoreInspector2Backend } from "../findings/inspector-backend.js";
import { sha256, type BuiltImage } from "../image/testdata/images.js";
import { debianImage, pushImage } from "./testing.js";
import type { AdvisoryLookup } from "../match/types.js";
import { RegistryService } from "../registry/service.js";
import { RepositorySettingsService } from "../settings/service.js";
import { FsBlobStore } from "../storage/blob/fs.js";
import { openSqliteMetaStore } from "../storage/meta/sqlite.js";
import type { MetaStore } from "../storage/meta/store.js";
import type { Advisory } from "../vulndb/types.js";
import {
  ACTIVATION_JOB,
  activationStep,
  applyScanningConfiguration,
  type ActivationJob,
} from "./activation.js";
import { commitChunk, matchChunk, planRematch } from "./rematch.js";
import { RegistryScanService, SCAN_JOB } from "./service.js";
import {
  DEFAULT_ECR_CONFIGURATION,
  durationMs,
  EXPIRED,
  expireOutsideWindow,
  insideWindow,
  WINDOW_JOB,
  windowAt,
  writeEcrConfiguration,
} from "./window.js";
import { testManifest } from "../storage/meta/testing.js";

/**
 * The rescan window and continuous-scan activation (scan/window.ts, scan/activation.ts), on a
 * real SQLite store, registry and scan service, with an injected clock.
 */

const DAY = 86_400_000;
const AWS = { accountId: "123456789012", region: "eu-west-1" };
let dir: string;
let meta: MetaStore;
let registry: RegistryService;
let scans: RegistryScanService;
let settings: RepositorySettingsService;
let inspector: StoreInspector2Backend;
let clock: number;
let blobReads = 0;
let laterAdvisories: Advisory[] = [];

const advisory = (id: string, fixed?: string) =>
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
const fakeDb: AdvisoryLookup = {
  advisoriesFor: (ecosystem, pkg) =>
    ecosystem === "debian:12" && pkg === "base-files"
      ? [advisory("CVE-2099-0001", "12.5"), ...laterAdvisories]
      : [],
  enrichment: () => new Map(),
};

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "drydock-window-"));
  clock = Date.parse("2025-01-01T00:00:00Z");
  meta = await openSqliteMetaStore(join(dir, "meta.db"), () => clock);
  const fs = await FsBlobStore.open(dir);
  blobReads = 0;
  laterAdvisories = [];
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
  settings = new RepositorySettingsService(meta);
  scans = new RegistryScanService(
    meta,
    blobs,
    { acquire: () => ({ db: fakeDb, builtAt: 1, release: () => undefined }) },
    settings,
    {
      aws: AWS,
      engine: { limits: { maxBytes: 1e8, maxEntries: 1e5, maxFileBytes: 1e7, maxNestedArchiveBytes: 1e7 } },
      queue: { concurrency: 2, maxAttempts: 2, retryBaseMs: 10, leaseMs: 5000, pollIntervalMs: 20 },
      now: () => clock,
    },
  );
  registry = new RegistryService(
    meta,
    blobs,
    { maxManifestBytes: 4 << 20, createRepositoryOnPush: true, aws: AWS, now: () => clock },
    [scans.registryHooks()],
  );
  inspector = new StoreInspector2Backend(meta, {
    registry: AWS,
    now: () => clock,
    onQueued: () => scans.queue.wake(),
  });
});
afterEach(async () => {
  await scans.stop();
  await meta.close();
  await rm(dir, { recursive: true, force: true });
});

const push = (repo: string, img: BuiltImage, tag?: string) => pushImage(registry, repo, img, tag);

async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  const end = Date.now() + 10_000;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const status = async (repo: string, digest: string) => (await scans.imageScanState(repo, digest))?.status;
const settled = (repo: string, digest: string, want: string) =>
  until(async () => (await status(repo, digest)) === want, `${repo}@${digest} ${want}`);
const continuous = (filter = "app") =>
  scans.putRegistryScanningConfiguration({
    scanType: "ENHANCED",
    rules: [{ scanFrequency: "CONTINUOUS_SCAN", repositoryFilters: [{ filter, filterType: "WILDCARD" }] }],
  });
const expire = () => expireOutsideWindow(meta, { aws: AWS, now: () => clock });
const setWindow = (cfg: EcrConfiguration) => writeEcrConfiguration(meta, cfg, clock);
const eventsAfter = async (seq: number) => (await readEvents(meta, seq)).map((e) => e.event);
const lastSeq = async () => (await readEvents(meta, 0)).at(-1)?.seq ?? 0;
const findings = async (repo: string, digest: string) =>
  meta.findings.forImage((await meta.registry.repositoryId(repo))!, digest, "ENHANCED");
const imageArn = (repo: string, digest: string) =>
  `arn:aws:ecr:eu-west-1:123456789012:repository/${repo}/${digest}`;

/** An image pushed into the CONTINUOUS_SCAN repository `app` and scanned: ACTIVE with one finding. */
async function monitored(img = debianImage(), tag = "latest"): Promise<string> {
  const digest = await push("app", img, tag);
  await scans.start();
  await settled("app", digest, "ACTIVE");
  return digest;
}

describe("the rescan window", () => {
  it("durations and cutoffs: LIFETIME never ends; pulls count only with a pull date duration", () => {
    expect(durationMs("LIFETIME")).toBeNull();
    expect(durationMs("DAYS_14")).toBe(14 * DAY);
    expect(() => durationMs("WEEKS_2")).toThrow();
    const now = 1000 * DAY;
    expect(windowAt({ rescanDuration: "LIFETIME", pullDateRescanDuration: "DAYS_14" }, now)).toBeNull();
    expect(windowAt({ rescanDuration: "DAYS_30" }, now)).toEqual({
      pushedBefore: now - 30 * DAY,
      pulledBefore: null,
    });
    expect(windowAt(DEFAULT_ECR_CONFIGURATION, now)).toEqual({
      pushedBefore: now - 90 * DAY,
      pulledBefore: now - 90 * DAY,
    });
    const old = { lastPushedAt: now - 100 * DAY, lastPulledAt: now - 10 * DAY };
    expect(insideWindow({ rescanDuration: "DAYS_90" }, old, now)).toBe(false);
    expect(insideWindow({ rescanDuration: "DAYS_90", pullDateRescanDuration: "DAYS_14" }, old, now)).toBe(
      true,
    );
    // LAST_IN_USE_AT is measured by the last pull too (Drydock has no other "in use" signal).
    expect(
      insideWindow(
        {
          rescanDuration: "DAYS_90",
          pullDateRescanDuration: "DAYS_14",
          pullDateRescanMode: "LAST_IN_USE_AT",
        },
        old,
        now,
      ),
    ).toBe(true);
    expect(insideWindow({ rescanDuration: "DAYS_90", pullDateRescanDuration: "DAYS_7" }, old, now)).toBe(
      false,
    );
    expect(insideWindow({ rescanDuration: "LIFETIME" }, { lastPushedAt: 0, lastPulledAt: null }, now)).toBe(
      true,
    );
  });

  it("an image outside it expires: SCAN_ELIGIBILITY_EXPIRED, findings CLOSED with events, a coverage event; once", async () => {
    await continuous();
    await setWindow({ rescanDuration: "DAYS_30" });
    const digest = await monitored();
    const [finding] = await findings("app", digest);
    expect(finding).toMatchObject({ status: "ACTIVE" });
    clock += 30 * DAY; // pushed exactly 30 days ago: still inside
    expect(await expire()).toBe(0);
    const seq = await lastSeq();
    clock += 1;
    expect(await expire()).toBe(1);
    expect(await scans.imageScanState("app", digest)).toMatchObject({
      status: EXPIRED,
      description: "The configured scan duration has lapsed for this image.",
    });
    // DescribeImageScanFindings and DescribeImages show no open finding any more.
    expect((await scans.imageScanFindings("app", digest)).findings).toEqual([]);
    expect((await scans.imageScanSummaries("app", [digest])).get(digest)?.severityCounts).toEqual({});
    const [closed] = await findings("app", digest);
    expect(closed).toMatchObject({
      id: finding!.id,
      status: "CLOSED",
      closedAt: clock,
      closedReason: "ineligible",
    });
    const events = await eventsAfter(seq);
    expect(events.map((e) => [e["detail-type"], e.detail.status ?? null])).toEqual([
      ["Inspector2 Finding", "CLOSED"],
      ["Inspector2 Coverage", null],
    ]);
    expect(events[1]).toMatchObject({
      source: "aws.inspector2",
      resources: [imageArn("app", digest)],
      detail: {
        scanStatus: { reason: "SCAN_ELIGIBILITY_EXPIRED", statusCodeValue: "INACTIVE" },
        scanType: "PACKAGE",
        provider: "AWS",
        providerAccountId: AWS.accountId,
        providerRegion: AWS.region,
        eventTimestamp: new Date(clock).toISOString(),
        version: "1.0",
      },
    });
    // Again: nothing left to expire, no event.
    expect(await expire()).toBe(0);
    expect(await eventsAfter(seq)).toHaveLength(2);
    // ListCoverage says so too.
    const cov = await inspector.listCoverage({ maxResults: 10 }, AwsPrincipal.unrestricted(AWS.accountId));
    expect(cov.items.find((c) => c.resourceId === imageArn("app", digest))?.scanStatus).toEqual({
      statusCode: "INACTIVE",
      reason: "SCAN_ELIGIBILITY_EXPIRED",
    });
  });

  it("nothing expires under LIFETIME, nor while the registry's scanning is BASIC", async () => {
    await continuous();
    await setWindow({ rescanDuration: "LIFETIME" });
    const digest = await monitored();
    clock += 3650 * DAY;
    expect(await expire()).toBe(0);
    await setWindow({ rescanDuration: "DAYS_14" });
    await scans.putRegistryScanningConfiguration({ scanType: "BASIC", rules: [] });
    expect(await expire()).toBe(0);
    await continuous();
    expect(await expire()).toBe(1);
    expect(await status("app", digest)).toBe(EXPIRED);
  });

  it("pulls keep an image inside when they count; lengthening does not revive; a counted pull does, from the stored inventory", async () => {
    await continuous();
    await setWindow({
      rescanDuration: "DAYS_14",
      pullDateRescanDuration: "DAYS_30",
      pullDateRescanMode: "LAST_PULL_DATE",
    });
    const digest = await monitored();
    const [finding] = await findings("app", digest);
    clock += 20 * DAY;
    await registry.getManifest("app", "latest", { pull: true });
    clock += 25 * DAY; // pushed 45 days ago, pulled 25 days ago
    expect(await expire()).toBe(0);
    clock += 6 * DAY; // pulled 31 days ago
    expect(await expire()).toBe(1);
    // A longer window does not bring it back.
    await setWindow({ rescanDuration: "LIFETIME" });
    expect(await expire()).toBe(0);
    expect(await status("app", digest)).toBe(EXPIRED);
    // Pulls do not count now: a pull leaves it expired (the next run would expire it again).
    await registry.getManifest("app", "latest", { pull: true });
    expect(await status("app", digest)).toBe(EXPIRED);
    expect(await meta.jobs.depth([SCAN_JOB])).toEqual({ queued: 0, running: 0 });
    // With a pull window, the next recorded pull brings it back, matched without a layer read.
    await setWindow({ rescanDuration: "DAYS_14", pullDateRescanDuration: "DAYS_14" });
    clock += 2 * 3_600_000;
    const seq = await lastSeq();
    const reads = blobReads;
    await registry.getManifest("app", digest, { pull: true });
    await settled("app", digest, "ACTIVE");
    expect(blobReads).toBe(reads + 1); // the pulled manifest's own bytes, no layer
    expect(await findings("app", digest)).toMatchObject([
      { id: finding!.id, status: "ACTIVE", closedAt: null },
    ]);
    const events = await eventsAfter(seq);
    expect(events.map((e) => [e["detail-type"], e.detail.status ?? e.detail.scanStatus])).toEqual([
      ["Inspector2 Finding", "ACTIVE"],
      ["Inspector2 Coverage", { reason: "SUCCESSFUL", statusCodeValue: "ACTIVE" }],
    ]);
    expect(events[0]!.detail).toMatchObject({ findingArn: expect.stringContaining(finding!.id) as unknown });
  });

  it("a push again of an expired image brings it back from its stored inventory (no layer read), same finding ARN", async () => {
    await continuous();
    const img = debianImage();
    const digest = await monitored(img);
    const [finding] = await findings("app", digest);
    clock += 91 * DAY; // the default: 90 days from the last push or pull; never pulled
    expect(await expire()).toBe(1);
    const reads = blobReads;
    await push("app", img, "again");
    await settled("app", digest, "ACTIVE");
    expect(blobReads).toBe(reads);
    expect(await findings("app", digest)).toMatchObject([{ id: finding!.id, status: "ACTIVE" }]);
    // Pushed again: inside the window from now on.
    clock += 89 * DAY;
    expect(await expire()).toBe(0);
  });

  it("re-matching passes expired images by, when planned and when committed", async () => {
    await continuous();
    const a = await monitored(debianImage("12.1"), "a");
    const b = await monitored(debianImage("12.2"), "b");
    const repo = (await meta.registry.repositoryId("app"))!;
    clock += 91 * DAY;
    await registry.getManifest("app", "b", { pull: true }); // b stays inside by its pull
    laterAdvisories = [advisory("CVE-2099-0002")];
    // Matched before a expires, committed after: a's findings stay closed.
    const matches = await matchChunk(
      meta,
      {
        builtAt: 2,
        keys: "all",
        cves: [],
        images: [
          { repositoryId: repo, digest: a },
          { repositoryId: repo, digest: b },
        ],
      },
      fakeDb,
    );
    expect(await expire()).toBe(1);
    expect(await status("app", a)).toBe(EXPIRED);
    const changes = await meta.tx((tx) => commitChunk(tx, matches, clock, AWS));
    expect(changes.filter((c) => c.identity.digest === a)).toEqual([]);
    expect(
      changes
        .filter((c) => c.identity.digest === b && c.kind === "created")
        .map((c) => c.identity.vulnerabilityId),
    ).toEqual(["CVE-2099-0002"]);
    expect((await findings("app", a)).map((f) => f.status)).toEqual(["CLOSED"]);
    const planned = await meta.tx((tx) =>
      planRematch(tx, { builtAt: 3, keys: "all", cves: [] }, (t, id) => settings.scanOnPush(t, id)),
    );
    expect(planned).toBe(1);
  });

  it("Inspector2 UpdateConfiguration runs the window at once, as a job on any worker", async () => {
    await continuous();
    const digest = await monitored();
    clock += 40 * DAY;
    await inspector.updateConfiguration(
      { rescanDuration: "DAYS_30" },
      AwsPrincipal.unrestricted(AWS.accountId),
    );
    await settled("app", digest, EXPIRED);
    expect(await meta.jobs.depth([WINDOW_JOB])).toEqual({ queued: 0, running: 0 });
  });
});

describe("switching repositories to continuous scanning", () => {
  it("a repository created under an ENHANCED rule is announced once, by a push or by CreateRepository", async () => {
    await continuous("app");
    const seq = await lastSeq();
    await push("app", debianImage("12.1"), "one");
    await push("app", debianImage("12.2"), "two");
    await push("lib", debianImage("12.3"));
    const resourceChanges = async (after: number) =>
      (await eventsAfter(after)).filter((e) => e["detail-type"] === "ECR Scan Resource Change");
    const pushed = await resourceChanges(seq);
    expect(pushed.map((e) => e.detail)).toEqual([
      {
        "action-type": "SCAN_FREQUENCY_CHANGE",
        repositories: [
          {
            "repository-name": "app",
            "repository-arn": "arn:aws:ecr:eu-west-1:123456789012:repository/app",
            "scan-frequency": "CONTINUOUS_SCAN",
            "previous-scan-frequency": "MANUAL",
          },
        ],
        "resource-type": "REPOSITORY",
        "scan-type": "ENHANCED",
      },
    ]);
    const before = await lastSeq();
    expect(
      await settings.createRepository("app-two", {}, (tx) => scans.repositoryCreated(tx, "app-two")),
    ).toBe(true);
    expect(
      await settings.createRepository("app-two", {}, (tx) => scans.repositoryCreated(tx, "app-two")),
    ).toBe(false);
    expect((await resourceChanges(before)).map((e) => e.detail.repositories)).toEqual([
      [expect.objectContaining({ "repository-name": "app-two", "previous-scan-frequency": "MANUAL" })],
    ]);
    // Under BASIC a new repository is no resource change.
    await scans.putRegistryScanningConfiguration({ scanType: "BASIC", rules: [] });
    const basic = await lastSeq();
    await push("app-three", debianImage("12.4"));
    expect(await resourceChanges(basic)).toEqual([]);
  });

  it("one ECR Scan Resource Change event lists the changed repositories; images inside the window are scanned", async () => {
    await scans.putRegistryScanningConfiguration({ scanType: "BASIC", rules: [] });
    const old = await push("app", debianImage("12.1"), "old");
    clock += 100 * DAY;
    const recent = await push("app", debianImage("12.2"), "recent");
    await push("lib", debianImage("12.3"));
    const seq = await lastSeq();
    await continuous();
    const events = await eventsAfter(seq);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      "detail-type": "ECR Scan Resource Change",
      source: "aws.ecr",
      resources: [],
      detail: {
        "action-type": "SCAN_FREQUENCY_CHANGE",
        repositories: [
          {
            "repository-name": "app",
            "repository-arn": "arn:aws:ecr:eu-west-1:123456789012:repository/app",
            "scan-frequency": "CONTINUOUS_SCAN",
            "previous-scan-frequency": "MANUAL",
          },
        ],
        "resource-type": "REPOSITORY",
        "scan-type": "ENHANCED",
      },
    });
    // The request queued one planning job, no scan yet.
    expect(await meta.jobs.depth([ACTIVATION_JOB])).toEqual({ queued: 1, running: 0 });
    expect(await meta.jobs.depth([SCAN_JOB])).toEqual({ queued: 0, running: 0 });
    await scans.start();
    await settled("app", recent, "ACTIVE");
    await until(async () => (await meta.jobs.depth([ACTIVATION_JOB, SCAN_JOB])).queued === 0, "jobs done");
    expect(await scans.imageScanState("app", old)).toBeNull(); // pushed 100 days ago: outside
    const after = await eventsAfter(seq + 1);
    expect(after.map((e) => e["detail-type"]).sort()).toEqual([
      "Inspector2 Coverage",
      "Inspector2 Finding",
      "Inspector2 Scan",
    ]);
    expect(after.find((e) => e["detail-type"] === "Inspector2 Coverage")).toMatchObject({
      resources: [imageArn("app", recent)],
      detail: { scanStatus: { reason: "SUCCESSFUL", statusCodeValue: "ACTIVE" } },
    });
    // The same configuration again changes nothing: no event, no planning.
    const seq2 = await lastSeq();
    await continuous();
    expect(await eventsAfter(seq2)).toEqual([]);
    expect(await meta.jobs.depth([ACTIVATION_JOB])).toEqual({ queued: 0, running: 0 });
  });

  it("a scan-on-push image becomes monitored when its repository turns continuous, matched from its stored inventory", async () => {
    await scans.putRegistryScanningConfiguration({
      scanType: "ENHANCED",
      rules: [
        { scanFrequency: "SCAN_ON_PUSH", repositoryFilters: [{ filter: "app", filterType: "WILDCARD" }] },
      ],
    });
    const digest = await push("app", debianImage());
    await scans.start();
    await settled("app", digest, "COMPLETE");
    const [finding] = await findings("app", digest);
    const seq = await lastSeq();
    const reads = blobReads;
    await continuous();
    await settled("app", digest, "ACTIVE");
    expect(blobReads).toBe(reads);
    expect(await findings("app", digest)).toMatchObject([{ id: finding!.id, status: "ACTIVE" }]);
    expect((await eventsAfter(seq))[0]!.detail).toMatchObject({
      repositories: [
        {
          "repository-name": "app",
          "scan-frequency": "CONTINUOUS_SCAN",
          "previous-scan-frequency": "SCAN_ON_PUSH",
        },
      ],
    });
  });

  it("Inspector2 Enable switches every repository to continuous scanning through the same path", async () => {
    await scans.putRegistryScanningConfiguration({ scanType: "BASIC", rules: [] });
    const digest = await push("team/api", debianImage());
    const seq = await lastSeq();
    await inspector.enable(AwsPrincipal.unrestricted(AWS.accountId));
    expect((await eventsAfter(seq))[0]).toMatchObject({
      "detail-type": "ECR Scan Resource Change",
      detail: { repositories: [{ "repository-name": "team/api", "previous-scan-frequency": "MANUAL" }] },
    });
    await scans.start();
    await settled("team/api", digest, "ACTIVE");
  });

  it("thousands of images are planned by one job in steps of 500, each image once, indexes and referrers left out", async () => {
    const reg = meta.registry;
    const repo = await reg.ensureRepository("big");
    const [config, layer] = [sha256("config"), sha256("layer")];
    await reg.linkBlob(repo, config, 6);
    await reg.linkBlob(repo, layer, 5);
    const digests: string[] = [];
    for (let i = 0; i < 1201; i++) {
      const digest = sha256(`manifest ${i}`);
      digests.push(digest);
      await reg.putManifest(
        testManifest(repo, digest, {
          references: [
            { digest: config, kind: "blob" },
            { digest: layer, kind: "blob" },
          ],
        }),
      );
    }
    const base = { repositoryId: repo, artifactType: null, size: 10, annotations: null };
    await reg.putManifest({
      ...base,
      digest: sha256("index"),
      mediaType: "application/vnd.oci.image.index.v1+json",
      subject: null,
      references: [{ digest: digests[0]!, kind: "manifest" }],
    });
    await reg.putManifest({
      ...base,
      digest: sha256("signature"),
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      subject: digests[0]!,
      references: [],
    });
    await applyScanningConfiguration(
      meta,
      {
        scanType: "ENHANCED",
        rules: [
          {
            scanFrequency: "CONTINUOUS_SCAN",
            repositoryFilters: [{ filter: "big", filterType: "WILDCARD" }],
          },
        ],
      },
      { aws: AWS, now: clock },
    );
    const [queued] = await meta.jobs.list([ACTIVATION_JOB]);
    let job: ActivationJob | null = queued!.payload as ActivationJob;
    const planned: string[] = [];
    let steps = 0;
    while (job) {
      const current: ActivationJob = job;
      steps++;
      job = await meta.tx((tx) =>
        activationStep(tx, current, {
          now: clock,
          queue: async (_tx, id, image, scan) => {
            expect(id).toBe(repo);
            expect(scan).toEqual({ fromInventory: false });
            planned.push(image.digest);
          },
        }),
      );
    }
    expect(steps).toBe(3);
    expect(planned).toHaveLength(1201);
    expect(new Set(planned)).toEqual(new Set(digests));
  });
});
