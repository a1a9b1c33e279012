import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AwsPrincipal } from "../api/access.js";
import type { AdvisoryLookup } from "../match/types.js";
import { RegistryService } from "../registry/service.js";
import { RegistryScanService } from "../scan/service.js";
import { RepositorySettingsService } from "../settings/service.js";
import { FsBlobStore } from "../storage/blob/fs.js";
import type { BlobStore } from "../storage/blob/types.js";
import type { DriverFixture } from "../storage/meta/drivers-testing.js";
import { openSqliteMetaStore } from "../storage/meta/sqlite.js";
import type { MetaStore } from "../storage/meta/store.js";
import type { Advisory } from "../vulndb/types.js";
import { StoreInspector2Backend } from "./inspector-backend.js";
import { VexReferrers } from "./vex-referrers.js";

/**
 * A registry with ENHANCED scan on push for tests of suppression sources (VEX referrers, scoped
 * exceptions): real registry, scan and Inspector2 services on SQLite in a temporary directory
 * (or another driver of metaDrivers),
 * a vulnerability database where base-files below 12.5 has CVE-2099-0001 and CVE-2099-0002.
 */

export const ACCOUNT = "123456789012";
export const REGION = "eu-west-1";
export const admin = AwsPrincipal.unrestricted(ACCOUNT);

const advisory = (id: string) =>
  ({
    id,
    source: "test",
    aliases: [],
    modified: "2024-01-01T00:00:00Z",
    affected: [
      {
        ecosystem: "debian:12",
        package: "base-files",
        ranges: [{ type: "ECOSYSTEM", events: [{ introduced: "0" }, { fixed: "12.5" }] }],
      },
    ],
  }) as unknown as Advisory;
const fakeDb: AdvisoryLookup = {
  advisoriesFor: (ecosystem, pkg) =>
    ecosystem === "debian:12" && pkg === "base-files"
      ? [advisory("CVE-2099-0001"), advisory("CVE-2099-0002")]
      : [],
  enrichment: () => new Map(),
};

export interface SuppressionWorld {
  meta: MetaStore;
  blobs: FsBlobStore;
  settings: RepositorySettingsService;
  registry: RegistryService;
  scans: RegistryScanService;
  inspector: StoreInspector2Backend;
  clock: { now: number };
  /** Waits for the image's scan to end. */
  scanned(repo: string, digest: string): Promise<void>;
  /** The image's ENHANCED findings' statuses by vulnerability id. */
  statuses(repo: string, digest: string): Promise<Record<string, string>>;
  close(): Promise<void>;
}

export interface SuppressionWorldOptions {
  /** The metadata store: a driver of metaDrivers (default SQLite in the world's directory). */
  open?: (now: () => number) => Promise<DriverFixture>;
  /** The blob store VexReferrers reads through (to observe its reads); default the world's. */
  vexBlobs?: (blobs: FsBlobStore) => BlobStore;
  /** Start the scan workers at once (default true); false: the test calls `scans.start()`. */
  start?: boolean;
}

export async function openSuppressionWorld(o: SuppressionWorldOptions = {}): Promise<SuppressionWorld> {
  const dir = await mkdtemp(join(tmpdir(), "drydock-suppression-"));
  const clock = { now: Date.parse("2026-01-01T00:00:00Z") };
  const now = () => clock.now;
  const fixture = o.open ? await o.open(now) : null;
  const meta = fixture ? fixture.store : await openSqliteMetaStore(join(dir, "meta.db"), now);
  const blobs = await FsBlobStore.open(dir);
  const settings = new RepositorySettingsService(meta);
  const aws = { accountId: ACCOUNT, region: REGION };
  const scans = new RegistryScanService(
    meta,
    blobs,
    { acquire: () => ({ db: fakeDb, builtAt: 1, release: () => undefined }) },
    settings,
    {
      aws,
      engine: { limits: { maxBytes: 1e8, maxEntries: 1e5, maxFileBytes: 1e7, maxNestedArchiveBytes: 1e7 } },
      queue: { concurrency: 1, maxAttempts: 2, retryBaseMs: 10, leaseMs: 5000, pollIntervalMs: 20 },
      now,
    },
  );
  const registry = new RegistryService(
    meta,
    blobs,
    { maxManifestBytes: 4 << 20, createRepositoryOnPush: true, aws, now },
    [
      scans.registryHooks(),
      new VexReferrers(o.vexBlobs ? o.vexBlobs(blobs) : blobs, { registry: aws, now }).registryHooks(),
    ],
  );
  const inspector = new StoreInspector2Backend(meta, { registry: aws, now });
  await scans.putRegistryScanningConfiguration({
    scanType: "ENHANCED",
    rules: [{ scanFrequency: "SCAN_ON_PUSH", repositoryFilters: [{ filter: "*", filterType: "WILDCARD" }] }],
  });
  if (o.start !== false) await scans.start();
  return {
    meta,
    blobs,
    settings,
    registry,
    scans,
    inspector,
    clock,
    async scanned(repo, digest) {
      const end = Date.now() + 10_000;
      for (;;) {
        const s = await scans.imageScanState(repo, digest);
        if (s && !["IN_PROGRESS", "PENDING"].includes(s.status)) return;
        if (Date.now() > end) throw new Error(`scan of ${digest} did not finish`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    async statuses(repo, digest) {
      const id = (await meta.registry.repositoryId(repo))!;
      return Object.fromEntries(
        (await meta.findings.forImage(id, digest, "ENHANCED")).map((f) => [f.vulnerabilityId, f.status]),
      );
    },
    async close() {
      await scans.stop();
      await meta.close();
      await fixture?.cleanup();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
