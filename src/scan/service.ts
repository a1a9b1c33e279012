import type { Logger } from "../core/logger.js";
import type { Digest } from "../core/digest.js";
import { imageScanEvent, inspectorScanEvent, type AwsIdentity } from "../events/envelope.js";
import { appendEvent } from "../events/log.js";
import { ImageFormatError } from "../image/resolve.js";
import { StoreImageSource } from "../image/sources/store.js";
import {
  JobWorker,
  NotYetError,
  PermanentError,
  type Commit,
  type Job,
  type WorkerOptions,
} from "../jobs/worker.js";
import type { ManifestDeleted, ManifestStored, RegistryHooks } from "../registry/hooks.js";
import type { RepositorySettingsService } from "../settings/service.js";
import type { BlobStore } from "../storage/blob/types.js";
import type { MetaStore } from "../storage/meta/store.js";
import { IncompleteImageError, scanImage, type EngineOptions, type ScanOutcome } from "./engine.js";
import { decideRepository, validateScanningConfiguration } from "./filters.js";
import type { ScanMetrics } from "./metrics.js";
import { commitChunk, matchChunk, REMATCH_JOB, type RematchJob } from "./rematch.js";
import { rematchIfStale } from "./vulndb-change.js";
import {
  ACTIVATION_JOB,
  activationStep,
  applyScanningConfiguration,
  repositoryCreated,
  type ActivationJob,
} from "./activation.js";
import { appendCoverageChange } from "../findings/coverage.js";
import type { ManifestPulled } from "../registry/hooks.js";
import { commitStoredMatch, matchStoredInventory } from "./stored-match.js";
import { ecrConfiguration, EXPIRED, expireOutsideWindow, pullsCount, WINDOW_JOB } from "./window.js";
import { forgetImage, openFindings, recordScan } from "./results.js";
import { readScanningConfiguration, toState } from "./state.js";
import {
  ScanError,
  type ImageScanFindings,
  type ImageScanSummary,
  type ImageScanState,
  type RegistryScanningConfiguration,
  type RepositoryScanningConfiguration,
  type ScanService,
  type ScanStatus,
  type ScanType,
} from "./types.js";
import type { VulnDbLease } from "./vulndb-provider.js";
import type { AdvisoryLookup } from "../match/types.js";
import { VulnDbError } from "../vulndb/schema.js";

export const MANUAL_SCAN_WINDOW_MS = 24 * 3600_000;
/** How long a scan waits before looking again for a vulnerability database that does not exist yet. */
const NO_DATABASE_RETRY_MS = 15_000;
export const COMPLETE_DESCRIPTION = "The scan was completed successfully.";
export const SCHEMA1_UNSUPPORTED =
  "UnsupportedImageError: Docker image manifest schema version 1 is not supported.";

const SCHEMA1 = new Set([
  "application/vnd.docker.distribution.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.v1+prettyjws",
]);
const INDEX = new Set([
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
]);

export interface ScanServiceOptions {
  aws: AwsIdentity;
  engine: EngineOptions;
  queue: Omit<WorkerOptions, "now" | "log">;
  now?: () => number;
  log?: Logger;
  /** Where re-match jobs are counted (the node's Prometheus metrics); scans report layers through `engine.onLayer`. */
  metrics?: ScanMetrics;
}

/** What a scan job is about (the `jobs` payload of kind `scan`). */
export interface ScanJob {
  repositoryId: number;
  digest: string;
  scanType: ScanType;
  /** Why it was queued: push, manual, continuous, index (fan out to the members), revive, activation. */
  reason: string;
  /**
   * Match the image's stored inventory again instead of reading its layers (an ENHANCED scan
   * analysed it before: scan/stored-match.ts); a full scan when it has none.
   */
  fromInventory?: boolean;
  /** The image's ENHANCED scan status when the scan was queued (undefined: none), for coverage events. */
  previous?: string;
}

export const SCAN_JOB = "scan";

/** A scan that completed (findings recorded), for what follows one: Drydock's signed attestation. */
export interface ScanCompleted {
  repository: string;
  repositoryId: number;
  digest: string;
  scanType: string;
  startedAt: number;
  finishedAt: number;
  severityCounts: Record<string, number>;
  /** When the vulnerability database used was built (0: unknown). */
  databaseBuiltAt: number;
}
/** How long a re-match waits for this worker's database to reach the build it needs. */
const REMATCH_WAIT_MS = 15_000;
const scanKey = (repositoryId: number, digest: string) => `${repositoryId}@${digest}`;

/** Where scans get the vulnerability database (VulnDbProvider: switched atomically on rebuild). */
export interface VulnDbSource {
  acquire(): Pick<VulnDbLease, "builtAt" | "release"> & { db: AdvisoryLookup };
}

/**
 * The registry's scan engine behind the ScanService seam, plugged into the registry by its
 * hooks: pushes queue scans in the manifest's own transaction, deletes drop the image's scan
 * state; queued scans run as `scan` jobs on the durable queue (any worker process); a finished
 * scan writes its state, findings and `ECR Image Scan` event in one transaction.
 */
export class RegistryScanService implements ScanService {
  readonly queue: JobWorker;
  private readonly now: () => number;
  /**
   * Called in the transaction that records a completed scan (src/policy/signatures/attest.ts
   * queues its attestation there); set after construction, like the services it feeds.
   */
  onCompleted?: (tx: MetaStore, e: ScanCompleted) => Promise<void>;

  constructor(
    private readonly meta: MetaStore,
    private readonly blobs: BlobStore,
    private readonly vulndb: VulnDbSource,
    private readonly settings: RepositorySettingsService,
    private readonly opts: ScanServiceOptions,
  ) {
    this.now = opts.now ?? Date.now;
    this.queue = new JobWorker(
      meta,
      {
        [SCAN_JOB]: {
          run: (job: Job<ScanJob>) => this.runJob(job),
          isTransient: (err) =>
            !(
              err instanceof PermanentError ||
              err instanceof IncompleteImageError ||
              err instanceof ImageFormatError
            ),
          failed: (tx: MetaStore, job: Job<ScanJob>, reason: string) => this.jobFailed(tx, job, reason),
        },
        [REMATCH_JOB]: {
          run: (job: Job<RematchJob>) => this.runRematch(job),
          isTransient: (err) => !(err instanceof PermanentError),
          failed: async () => undefined,
        },
        [ACTIVATION_JOB]: {
          run: (job: Job<ActivationJob>) =>
            Promise.resolve((tx: MetaStore) => this.activate(tx, job.payload)),
          isTransient: () => true,
          failed: async () => undefined,
        },
        [WINDOW_JOB]: {
          run: async () => {
            await expireOutsideWindow(meta, { aws: opts.aws, now: this.now, log: opts.log });
            return async () => undefined;
          },
          isTransient: () => true,
          failed: async () => undefined,
        },
      },
      { ...opts.queue, now: this.now, log: opts.log },
    );
  }

  /** The registry hooks of scanning: scan on push, forget deleted images. */
  registryHooks(): RegistryHooks {
    return {
      repositoryCreated: (tx, e) => this.repositoryCreated(tx, e.repository),
      manifestStored: (tx, e) => this.manifestStored(tx, e),
      manifestDeleted: (tx, e) => this.manifestDeleted(tx, e),
      manifestPulled: (tx, e) => this.manifestPulled(tx, e),
    };
  }

  /** A repository was created (push or ECR CreateRepository), in its creating transaction. */
  repositoryCreated(tx: MetaStore, repositoryName: string): Promise<void> {
    return repositoryCreated(tx, repositoryName, { aws: this.opts.aws, now: this.now() });
  }

  /** Starts the workers; `releaseRunning` re-queues jobs a crashed run of this process left running. */
  start(releaseRunning = true): Promise<void> {
    return this.queue.start(releaseRunning);
  }

  stop(): Promise<void> {
    return this.queue.stop();
  }

  // --- configuration --------------------------------------------------------------------

  getRegistryScanningConfiguration(): Promise<RegistryScanningConfiguration> {
    return readScanningConfiguration(this.meta);
  }

  async putRegistryScanningConfiguration(
    c: RegistryScanningConfiguration,
  ): Promise<RegistryScanningConfiguration> {
    validateScanningConfiguration(c);
    const clean: RegistryScanningConfiguration = {
      scanType: c.scanType,
      rules: c.rules.map((r) => ({
        scanFrequency: r.scanFrequency,
        repositoryFilters: r.repositoryFilters.map((f) => ({ filter: f.filter, filterType: f.filterType })),
      })),
    };
    await applyScanningConfiguration(this.meta, clean, { aws: this.opts.aws, now: this.now() });
    this.wakeSoon();
    return clean;
  }

  /** Existing repositories only: the caller reports unknown names as REPOSITORY_NOT_FOUND failures. */
  async repositoryScanningConfiguration(names: string[]): Promise<RepositoryScanningConfiguration[]> {
    const config = await readScanningConfiguration(this.meta);
    const out: RepositoryScanningConfiguration[] = [];
    for (const name of names) {
      const id = await this.meta.registry.repositoryId(name);
      if (id === null) continue;
      const flag = await this.settings.scanOnPush(this.meta, id);
      const d = decideRepository(config, name, flag);
      out.push({
        repositoryName: name,
        scanOnPush: flag,
        scanFrequency: d.scanFrequency,
        appliedScanFilters: d.appliedScanFilters,
      });
    }
    return out;
  }

  // --- scans ------------------------------------------------------------------------------

  private async repo(name: string): Promise<number> {
    const id = await this.meta.registry.repositoryId(name);
    if (id === null)
      throw new ScanError(
        "RepositoryNotFound",
        `The repository with name '${name}' does not exist in the registry with id '${this.opts.aws.accountId}'`,
      );
    return id;
  }

  private async image(repositoryId: number, name: string, digest: string): Promise<{ mediaType: string }> {
    const m = await this.meta.registry.manifest(repositoryId, digest);
    if (!m)
      throw new ScanError(
        "ImageNotFound",
        `The image with imageId {imageDigest:'${digest}'} does not exist within the repository with name '${name}' in the registry with id '${this.opts.aws.accountId}'`,
      );
    return m;
  }

  async startImageScan(repositoryName: string, imageDigest: string): Promise<ImageScanState> {
    const repositoryId = await this.repo(repositoryName);
    const m = await this.image(repositoryId, repositoryName, imageDigest);
    if (SCHEMA1.has(m.mediaType))
      throw new ScanError("UnsupportedImageType", "The image type is not supported.");
    const state = await this.meta.tx(async (tx) => {
      const config = await readScanningConfiguration(tx);
      if (config.scanType === "ENHANCED")
        throw new ScanError(
          "Validation",
          "This operation is not supported for registries configured for ENHANCED scanning: images are scanned automatically.",
        );
      const now = this.now();
      const prev = await tx.scans.get(repositoryId, imageDigest);
      // One scan per image per 24 h, the scan on push included (ECR's basic scanning quota).
      if (prev && prev.scanType === "BASIC" && now - prev.lastScanAt < MANUAL_SCAN_WINDOW_MS)
        throw new ScanError(
          "LimitExceeded",
          "The scan quota per image has been exceeded. Wait and try again.",
        );
      await this.queueScan(tx, repositoryId, imageDigest, m.mediaType, "BASIC", "manual", now);
      return (await tx.scans.get(repositoryId, imageDigest))!;
    });
    this.wakeSoon();
    return toState(repositoryName, imageDigest, state);
  }

  async imageScanState(repositoryName: string, imageDigest: string): Promise<ImageScanState | null> {
    const repositoryId = await this.repo(repositoryName);
    const config = await readScanningConfiguration(this.meta);
    const row = await this.meta.scans.get(repositoryId, imageDigest);
    // Switching BASIC ↔ ENHANCED hides the other type's scans until switching back (as ECR).
    if (!row || row.scanType !== config.scanType) return null;
    return toState(repositoryName, imageDigest, row);
  }

  async imageScanSummaries(
    repositoryName: string,
    imageDigests: readonly string[],
  ): Promise<Map<string, ImageScanSummary>> {
    const repositoryId = await this.repo(repositoryName);
    const config = await readScanningConfiguration(this.meta);
    const rows = await this.meta.scans.getMany(repositoryId, imageDigests);
    const counts = await this.meta.findings.severityCounts(repositoryId, imageDigests, config.scanType);
    const out = new Map<string, ImageScanSummary>();
    for (const [digest, row] of rows) {
      if (row.scanType !== config.scanType) continue;
      out.set(digest, {
        state: toState(repositoryName, digest, row),
        severityCounts: counts.get(digest) ?? {},
      });
    }
    return out;
  }

  async imageScanFindings(repositoryName: string, imageDigest: string): Promise<ImageScanFindings> {
    const repositoryId = await this.repo(repositoryName);
    await this.image(repositoryId, repositoryName, imageDigest);
    const state = await this.imageScanState(repositoryName, imageDigest);
    if (!state)
      throw new ScanError(
        "ScanNotFound",
        `Image scan does not exist for the image with '{imageDigest:'${imageDigest}'}' in the repository with name '${repositoryName}' in the registry with id '${this.opts.aws.accountId}'`,
      );
    return {
      state,
      ...(await openFindings(this.meta, repositoryId, imageDigest, state.scanType)),
    };
  }

  /**
   * Queues the scan of an image that has none of the configured scan type (the pull gate's
   * requireScan, src/policy/gate), as a push would; nothing when it has one or one is under way.
   * An image that left the rescan window is matched again from its stored inventory. Not under
   * the manual scan quota: it queues at most once per image.
   */
  async scanForGate(repositoryId: number, digest: string, mediaType: string): Promise<void> {
    const queued = await this.meta.tx(async (tx) => {
      // Pulls of the same unscanned image held on several nodes at once queue one scan.
      await tx.registry.lockRepository(repositoryId);
      const config = await readScanningConfiguration(tx);
      const prev = await tx.scans.get(repositoryId, digest);
      const expired = prev?.scanType === "ENHANCED" && prev.status === EXPIRED;
      if (prev && prev.scanType === config.scanType && !expired) return false;
      const revive = expired ? { fromInventory: true, previous: EXPIRED } : {};
      await this.queueScan(tx, repositoryId, digest, mediaType, config.scanType, "gate", this.now(), revive);
      return true;
    });
    if (queued) this.wakeSoon();
  }

  async onManifestPushed(repositoryName: string, imageDigest: string, mediaType: string): Promise<void> {
    const repositoryId = await this.repo(repositoryName);
    await this.meta.tx((tx) => this.scanOnPush(tx, repositoryName, repositoryId, imageDigest, mediaType));
    this.wakeSoon();
  }

  // --- the registry's hooks (run in the manifest write's transaction) ----------------------

  private async manifestStored(tx: MetaStore, e: ManifestStored): Promise<void> {
    // Referrers (signatures, SBOMs, attestations) are artifacts about an image, not images.
    if (e.subject) return;
    if (await this.scanOnPush(tx, e.repository, e.repositoryId, e.digest, e.mediaType)) this.wakeSoon();
  }

  private async manifestDeleted(tx: MetaStore, e: ManifestDeleted): Promise<void> {
    if (e.tag !== undefined) return;
    await tx.scans.forget(e.repositoryId, e.digest);
    await forgetImage(tx, e.repositoryId, e.digest, this.now(), this.opts.aws);
    await tx.jobs.dropQueued(SCAN_JOB, scanKey(e.repositoryId, e.digest));
  }

  /** Queues a scan when the repository's rules say so and the image has no scan of this type yet. */
  private async scanOnPush(
    tx: MetaStore,
    repositoryName: string,
    repositoryId: number,
    digest: string,
    mediaType: string,
  ): Promise<boolean> {
    const config = await readScanningConfiguration(tx);
    const decision = decideRepository(
      config,
      repositoryName,
      await this.settings.scanOnPush(tx, repositoryId),
    );
    if (!decision.scanOnPush) return false;
    // The same manifest pushed again (another tag) is not scanned again, unless it had left
    // the rescan window: the push brings it back, matched again from its stored inventory.
    const prev = await tx.scans.get(repositoryId, digest);
    const expired = prev?.scanType === "ENHANCED" && prev.status === EXPIRED;
    if (
      prev &&
      prev.scanType === config.scanType &&
      !(expired && decision.scanFrequency === "CONTINUOUS_SCAN")
    )
      return false;
    await this.queueScan(
      tx,
      repositoryId,
      digest,
      mediaType,
      config.scanType,
      expired ? "revive" : "push",
      this.now(),
      expired ? { fromInventory: true, previous: EXPIRED } : {},
    );
    return true;
  }

  /**
   * A recorded pull brings an expired image back when pulls count in the rescan window
   * (pullDateRescanDuration set): matched again from its stored inventory. Without a pull
   * window the pull would not keep it in the window, and the next run would expire it again.
   */
  private async manifestPulled(tx: MetaStore, e: ManifestPulled): Promise<void> {
    const prev = await tx.scans.get(e.repositoryId, e.digest);
    if (prev?.scanType !== "ENHANCED" || prev.status !== EXPIRED) return;
    const config = await readScanningConfiguration(tx);
    if (config.scanType !== "ENHANCED") return;
    const decision = decideRepository(
      config,
      e.repository,
      await this.settings.scanOnPush(tx, e.repositoryId),
    );
    if (decision.scanFrequency !== "CONTINUOUS_SCAN" || !pullsCount(await ecrConfiguration(tx))) return;
    await this.queueScan(tx, e.repositoryId, e.digest, e.mediaType, "ENHANCED", "revive", e.at, {
      fromInventory: true,
      previous: EXPIRED,
    });
    this.wakeSoon();
  }

  /** One step of planning the scans of repositories that start continuous scanning (scan/activation.ts). */
  private async activate(tx: MetaStore, job: ActivationJob): Promise<void> {
    const now = this.now();
    const next = await activationStep(tx, job, {
      now,
      queue: (t, repositoryId, image, scan) =>
        this.queueScan(t, repositoryId, image.digest, image.mediaType, "ENHANCED", "activation", now, scan),
    });
    if (next) await tx.jobs.enqueue({ kind: ACTIVATION_JOB, payload: next, runAfter: now });
    this.wakeSoon();
  }

  private async queueScan(
    tx: MetaStore,
    repositoryId: number,
    digest: string,
    mediaType: string,
    scanType: ScanType,
    reason: string,
    now: number,
    extra: Pick<ScanJob, "fromInventory" | "previous"> = {},
  ): Promise<void> {
    const index = INDEX.has(mediaType);
    // An index has no findings of its own: its job queues one scan per platform manifest.
    if (!index)
      await tx.scans.markStarted(
        repositoryId,
        digest,
        scanType,
        scanType === "ENHANCED" ? "PENDING" : "IN_PROGRESS",
      );
    const job: ScanJob = { repositoryId, digest, scanType, reason: index ? "index" : reason, ...extra };
    await tx.jobs.enqueue({
      kind: SCAN_JOB,
      key: scanKey(repositoryId, digest),
      payload: job,
      runAfter: now,
    });
  }

  /** Wakes the workers once the current transaction has committed (they wait for the connection). */
  private wakeSoon(): void {
    setImmediate(() => this.queue.wake());
  }

  // --- jobs -------------------------------------------------------------------------------

  private async runJob(j: Job<ScanJob>): Promise<Commit> {
    const job = j.payload;
    const name = await this.meta.registry.repositoryName(job.repositoryId);
    const m = name === null ? null : await this.meta.registry.manifest(job.repositoryId, job.digest);
    // Deleted since it was queued: nothing to scan, nothing to report.
    if (name === null || !m) return async () => undefined;
    if (job.reason === "index") return this.fanOut(job);
    if (job.scanType === "ENHANCED")
      await this.meta.scans.transition(job.repositoryId, job.digest, "PENDING", "IN_PROGRESS");
    if (
      job.fromInventory &&
      job.scanType === "ENHANCED" &&
      (await this.meta.inventories.has(job.repositoryId, job.digest))
    )
      return this.scanStoredInventory(job, name);

    let outcome: ScanOutcome;
    let builtAt = 0;
    if (SCHEMA1.has(m.mediaType)) {
      outcome = { kind: "unsupported", reason: SCHEMA1_UNSUPPORTED };
    } else {
      const lease = this.acquireDatabase();
      builtAt = lease.builtAt;
      const source = new StoreImageSource(this.meta, this.blobs, job.repositoryId, name, job.digest);
      try {
        outcome = await scanImage(source, job.scanType, lease.db, this.opts.engine);
      } catch (e) {
        if (!(e instanceof ImageFormatError)) throw e;
        outcome = { kind: "unsupported", reason: `UnsupportedImageError: ${e.message}` };
      } finally {
        lease.release();
        await source.close();
      }
    }
    return async (tx) => {
      const row = await tx.scans.get(job.repositoryId, job.digest);
      if (!row) return;
      let status: ScanStatus;
      let counts: Record<string, number> = {};
      if (outcome.kind === "complete") {
        const config = await readScanningConfiguration(tx);
        const decision = decideRepository(config, name, await this.settings.scanOnPush(tx, job.repositoryId));
        status =
          job.scanType === "ENHANCED" && decision.scanFrequency === "CONTINUOUS_SCAN" ? "ACTIVE" : "COMPLETE";
        counts = outcome.severityCounts;
        // Inspector's INITIAL_SCAN_COMPLETE: the image had no ENHANCED finding stored yet.
        const initial =
          job.scanType === "ENHANCED" &&
          (await tx.findings.forImage(job.repositoryId, job.digest, "ENHANCED")).length === 0;
        await recordScan(tx, {
          repositoryId: job.repositoryId,
          digest: job.digest,
          scanType: job.scanType,
          inventory: outcome.inventory,
          findings: outcome.findings,
          now: this.now(),
          aws: this.opts.aws,
        });
        if (initial)
          await appendEvent(
            tx,
            inspectorScanEvent(
              this.opts.aws,
              {
                repositoryName: name,
                digest: job.digest,
                tags: await tx.registry.tagsOf(job.repositoryId, job.digest),
                severityCounts: counts,
              },
              this.now(),
            ),
          );
        await tx.scans.markCompleted(job.repositoryId, job.digest, {
          status,
          description: COMPLETE_DESCRIPTION,
          severityCounts: counts,
          vulnerabilitySourceUpdatedAt: builtAt,
        });
        await this.onCompleted?.(tx, {
          repository: name,
          repositoryId: job.repositoryId,
          digest: job.digest,
          scanType: job.scanType,
          startedAt: row.lastScanAt,
          finishedAt: this.now(),
          severityCounts: counts,
          databaseBuiltAt: builtAt,
        });
        // Watched continuously, and a database change was planned while this scan ran.
        if (status === "ACTIVE" && (await rematchIfStale(tx, job, builtAt))) this.wakeSoon();
      } else {
        status = "UNSUPPORTED_IMAGE";
        await tx.scans.markEnded(job.repositoryId, job.digest, status, outcome.reason);
      }
      await this.scanEvent(tx, job, name, status, counts);
      await this.coverageChanged(tx, job, name, status);
    };
  }

  /** An ENHANCED scan from the image's stored inventory: no layer read (scan/stored-match.ts). */
  private async scanStoredInventory(job: ScanJob, name: string): Promise<Commit> {
    const image = { repositoryId: job.repositoryId, digest: job.digest };
    const lease = this.vulndb.acquire();
    const builtAt = lease.builtAt;
    let match: Awaited<ReturnType<typeof matchStoredInventory>>;
    try {
      match = await matchStoredInventory(this.meta, image, lease.db, builtAt);
    } finally {
      lease.release();
    }
    return async (tx) => {
      if (!(await tx.scans.get(job.repositoryId, job.digest))) return;
      const config = await readScanningConfiguration(tx);
      const decision = decideRepository(config, name, await this.settings.scanOnPush(tx, job.repositoryId));
      const status: ScanStatus = decision.scanFrequency === "CONTINUOUS_SCAN" ? "ACTIVE" : "COMPLETE";
      await commitStoredMatch(tx, match, {
        image,
        status,
        description: COMPLETE_DESCRIPTION,
        builtAt,
        now: this.now(),
        aws: this.opts.aws,
      });
      // As after a full scan: a database change planned without this image (not watched then).
      if (status === "ACTIVE" && (await rematchIfStale(tx, image, builtAt))) this.wakeSoon();
      await this.coverageChanged(tx, job, name, status);
    };
  }

  /** An `Inspector2 Coverage` event when an ENHANCED scan changed the image's coverage. */
  private async coverageChanged(
    tx: MetaStore,
    job: ScanJob,
    name: string,
    status: ScanStatus,
  ): Promise<void> {
    if (job.scanType !== "ENHANCED") return;
    const config = await readScanningConfiguration(tx);
    const decision = decideRepository(config, name, await this.settings.scanOnPush(tx, job.repositoryId));
    await appendCoverageChange(
      tx,
      this.opts.aws,
      {
        repositoryName: name,
        digest: job.digest,
        frequency: decision.scanFrequency,
        before: job.previous,
        after: status,
      },
      this.now(),
    );
  }

  /** Re-matches a chunk of images after a database change (scan/rematch.ts). */
  /**
   * The database for a scan. Without one yet (a new server building its first, a worker
   * waiting for the cluster's), the scan waits for it instead of failing: deferred without
   * spending an attempt.
   */
  private acquireDatabase(): ReturnType<VulnDbSource["acquire"]> {
    try {
      return this.vulndb.acquire();
    } catch (e) {
      if (e instanceof VulnDbError) throw new NotYetError(e.message, NO_DATABASE_RETRY_MS);
      throw e;
    }
  }

  private async runRematch(j: Job<RematchJob>): Promise<Commit> {
    const started = performance.now();
    const lease = this.vulndb.acquire();
    let matches: Awaited<ReturnType<typeof matchChunk>>;
    try {
      if (lease.builtAt < j.payload.builtAt)
        throw new NotYetError(
          `this worker's vulnerability database (built ${new Date(lease.builtAt).toISOString()}) is older than the change to re-match (${new Date(j.payload.builtAt).toISOString()})`,
          REMATCH_WAIT_MS,
        );
      matches = await matchChunk(this.meta, j.payload, lease.db);
    } finally {
      lease.release();
    }
    return async (tx) => {
      const changes = await commitChunk(tx, matches, this.now(), this.opts.aws);
      const metrics = this.opts.metrics;
      return (
        metrics && (() => metrics.rematch(matches.length, changes, (performance.now() - started) / 1000))
      );
    };
  }

  /** An index: one scan per platform manifest not yet scanned with this scan type. */
  private async fanOut(job: ScanJob): Promise<Commit> {
    const index = await this.blobs.read(job.digest as Digest);
    let members: {
      digest: string;
      mediaType?: string;
      platform?: { os?: string };
      annotations?: Record<string, string>;
    }[];
    try {
      members = (JSON.parse(index.toString("utf8")) as { manifests?: typeof members }).manifests ?? [];
    } catch (e) {
      throw new PermanentError(`index ${job.digest} is not valid JSON: ${(e as Error).message}`);
    }
    const images = members.filter(
      (d) =>
        d.annotations?.["vnd.docker.reference.type"] !== "attestation-manifest" &&
        d.platform?.os !== "unknown",
    );
    return async (tx) => {
      const now = this.now();
      for (const d of images) {
        const m = await tx.registry.manifest(job.repositoryId, d.digest);
        if (!m) continue;
        const prev = await tx.scans.get(job.repositoryId, d.digest);
        if (
          prev &&
          prev.scanType === job.scanType &&
          (prev.status === "IN_PROGRESS" ||
            prev.status === "PENDING" ||
            now - prev.lastScanAt < MANUAL_SCAN_WINDOW_MS)
        )
          continue;
        // An expired image pushed again through its index is back in the window (registry-store).
        const expired = prev?.scanType === "ENHANCED" && prev.status === EXPIRED;
        await this.queueScan(tx, job.repositoryId, d.digest, m.mediaType, job.scanType, "push", now, {
          ...(prev?.scanType === job.scanType ? { previous: prev.status } : {}),
          ...(expired ? { fromInventory: true } : {}),
        });
      }
      this.wakeSoon();
    };
  }

  private async jobFailed(tx: MetaStore, j: Job<ScanJob>, reason: string): Promise<void> {
    const job = j.payload;
    const name = await tx.registry.repositoryName(job.repositoryId);
    if (name === null || job.reason === "index") return;
    // ENHANCED has no FAILED status: its findings are unavailable.
    const status: ScanStatus = job.scanType === "ENHANCED" ? "FINDINGS_UNAVAILABLE" : "FAILED";
    await tx.scans.markEnded(job.repositoryId, job.digest, status, `ScanFailed: ${reason}`);
    await this.scanEvent(tx, job, name, status, {});
    await this.coverageChanged(tx, job, name, status);
  }

  private async scanEvent(
    tx: MetaStore,
    job: ScanJob,
    name: string,
    status: ScanStatus,
    counts: Record<string, number>,
  ): Promise<void> {
    // ENHANCED scans report through Inspector's events (Inspector2 Scan, Inspector2 Finding).
    if (job.scanType === "ENHANCED") return;
    await appendEvent(
      tx,
      imageScanEvent(
        this.opts.aws,
        {
          repositoryName: name,
          digest: job.digest,
          tags: await tx.registry.tagsOf(job.repositoryId, job.digest),
          status,
          severityCounts: counts,
        },
        this.now(),
      ),
    );
  }
}
