import type { Logger } from "../core/logger.js";
import type { Digest } from "../core/digest.js";
import { imageActionEvent, imageScanEvent, type AwsIdentity } from "../events/envelope.js";
import { appendEvent } from "../events/log.js";
import { ImageFormatError } from "../image/resolve.js";
import { StoreImageSource } from "../image/sources/store.js";
import type { ManifestListener, ManifestStored } from "../registry/service.js";
import type { BlobStore } from "../storage/blob/types.js";
import type { MetaStore } from "../storage/meta/store.js";
import { IncompleteImageError, scanImage, type EngineOptions, type ScanOutcome } from "./engine.js";
import { decideRepository, validateScanningConfiguration } from "./filters.js";
import { PermanentError, ScanQueue, type Commit, type Job, type QueueOptions } from "./queue.js";
import {
  forgetImage,
  markScanEnded,
  markScanStarted,
  readFindings,
  readScan,
  readScanningConfiguration,
  repositoryScanOnPush,
  storeCompletedScan,
  tagsOf,
  toState,
  writeScanningConfiguration,
} from "./store.js";
import {
  ScanError,
  type ImageScanFindings,
  type ImageScanState,
  type RegistryScanningConfiguration,
  type RepositoryScanningConfiguration,
  type ScanService,
  type ScanStatus,
  type ScanType,
} from "./types.js";
import type { VulnDbLease } from "./vulndb-provider.js";
import type { AdvisoryLookup } from "../match/types.js";

export const MANUAL_SCAN_WINDOW_MS = 24 * 3600_000;
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
  queue: Omit<QueueOptions, "now" | "log">;
  now?: () => number;
  log?: Logger;
}

/** Where scans get the vulnerability database (VulnDbProvider: switched atomically on rebuild). */
export interface VulnDbSource {
  acquire(): Pick<VulnDbLease, "builtAt" | "release"> & { db: AdvisoryLookup };
}

/**
 * The registry's scan engine behind the ScanService seam, and the registry's manifest listener:
 * pushes and deletes write their `ECR Image Action` event and queue scans in the manifest's
 * own transaction; queued scans run on the durable queue; a finished scan writes its state,
 * findings and `ECR Image Scan` event in one transaction.
 */
export class RegistryScanService implements ScanService, ManifestListener {
  readonly queue: ScanQueue;
  private readonly now: () => number;

  constructor(
    private readonly meta: MetaStore,
    private readonly blobs: BlobStore,
    private readonly vulndb: VulnDbSource,
    private readonly opts: ScanServiceOptions,
  ) {
    this.now = opts.now ?? Date.now;
    this.queue = new ScanQueue(
      meta,
      {
        run: (job) => this.runJob(job),
        isTransient: (err) =>
          !(
            err instanceof PermanentError ||
            err instanceof IncompleteImageError ||
            err instanceof ImageFormatError
          ),
        failed: (tx, job, reason) => this.jobFailed(tx, job, reason),
      },
      { ...opts.queue, now: this.now, log: opts.log },
    );
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
    await writeScanningConfiguration(this.meta, clean, this.now());
    return clean;
  }

  /** Existing repositories only: the caller reports unknown names as REPOSITORY_NOT_FOUND failures. */
  async repositoryScanningConfiguration(names: string[]): Promise<RepositoryScanningConfiguration[]> {
    const config = await readScanningConfiguration(this.meta);
    const out: RepositoryScanningConfiguration[] = [];
    for (const name of names) {
      const id = await this.meta.repositoryId(name);
      if (id === null) continue;
      const flag = await repositoryScanOnPush(this.meta, id);
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
    const id = await this.meta.repositoryId(name);
    if (id === null)
      throw new ScanError(
        "RepositoryNotFound",
        `The repository with name '${name}' does not exist in the registry with id '${this.opts.aws.accountId}'`,
      );
    return id;
  }

  private async image(repositoryId: number, name: string, digest: string): Promise<{ mediaType: string }> {
    const m = await this.meta.manifest(repositoryId, digest);
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
      const prev = await readScan(tx, repositoryId, imageDigest);
      // One scan per image per 24 h, the scan on push included (ECR's basic scanning quota).
      if (prev && prev.scanType === "BASIC" && now - prev.lastScanAt < MANUAL_SCAN_WINDOW_MS)
        throw new ScanError(
          "LimitExceeded",
          "The scan quota per image has been exceeded. Wait and try again.",
        );
      await this.queueScan(tx, repositoryId, imageDigest, m.mediaType, "BASIC", "manual", now);
      return (await readScan(tx, repositoryId, imageDigest))!;
    });
    this.wakeSoon();
    return toState(repositoryName, imageDigest, state);
  }

  async imageScanState(repositoryName: string, imageDigest: string): Promise<ImageScanState | null> {
    const repositoryId = await this.repo(repositoryName);
    const config = await readScanningConfiguration(this.meta);
    const row = await readScan(this.meta, repositoryId, imageDigest);
    // Switching BASIC ↔ ENHANCED hides the other type's scans until switching back (as ECR).
    if (!row || row.scanType !== config.scanType) return null;
    return toState(repositoryName, imageDigest, row);
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
    const row = (await readScan(this.meta, repositoryId, imageDigest))!;
    return {
      state,
      findings: await readFindings(this.meta, repositoryId, imageDigest),
      severityCounts: row.severityCounts ?? {},
    };
  }

  async onManifestPushed(repositoryName: string, imageDigest: string, mediaType: string): Promise<void> {
    const repositoryId = await this.repo(repositoryName);
    await this.meta.tx((tx) => this.scanOnPush(tx, repositoryName, repositoryId, imageDigest, mediaType));
    this.wakeSoon();
  }

  // --- the registry's manifest listener (runs in the manifest write's transaction) --------

  async manifestStored(tx: MetaStore, e: ManifestStored): Promise<void> {
    await appendEvent(
      tx,
      imageActionEvent(
        this.opts.aws,
        { repositoryName: e.repository, digest: e.digest, action: "PUSH", tag: e.tag },
        this.now(),
      ),
    );
    // Referrers (signatures, SBOMs, attestations) are artifacts about an image, not images.
    if (e.subject) return;
    if (await this.scanOnPush(tx, e.repository, e.repositoryId, e.digest, e.mediaType)) this.wakeSoon();
  }

  async manifestDeleted(
    tx: MetaStore,
    e: { repository: string; repositoryId: number; digest: string; tag?: string },
  ): Promise<void> {
    const tag = e.tag ?? (await tagsOf(tx, e.repositoryId, e.digest))[0];
    await appendEvent(
      tx,
      imageActionEvent(
        this.opts.aws,
        { repositoryName: e.repository, digest: e.digest, action: "DELETE", tag },
        this.now(),
      ),
    );
    if (e.tag === undefined) await forgetImage(tx, e.repositoryId, e.digest);
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
    const decision = decideRepository(config, repositoryName, await repositoryScanOnPush(tx, repositoryId));
    if (!decision.scanOnPush) return false;
    // The same manifest pushed again (another tag) is not scanned again.
    const prev = await readScan(tx, repositoryId, digest);
    if (prev && prev.scanType === config.scanType) return false;
    await this.queueScan(tx, repositoryId, digest, mediaType, config.scanType, "push", this.now());
    return true;
  }

  private async queueScan(
    tx: MetaStore,
    repositoryId: number,
    digest: string,
    mediaType: string,
    scanType: ScanType,
    reason: string,
    now: number,
  ): Promise<void> {
    const index = INDEX.has(mediaType);
    // An index has no findings of its own: its job queues one scan per platform manifest.
    if (!index)
      await markScanStarted(
        tx,
        repositoryId,
        digest,
        scanType,
        scanType === "ENHANCED" ? "PENDING" : "IN_PROGRESS",
        now,
      );
    await ScanQueue.enqueue(tx, { repositoryId, digest, scanType, reason: index ? "index" : reason }, now);
  }

  /** Wakes the workers once the current transaction has committed (they wait for the connection). */
  private wakeSoon(): void {
    setImmediate(() => this.queue.wake());
  }

  // --- jobs -------------------------------------------------------------------------------

  private async repositoryName(id: number): Promise<string | null> {
    const row = await this.meta.db
      .selectFrom("repositories")
      .select("name")
      .where("id", "=", id)
      .executeTakeFirst();
    return row?.name ?? null;
  }

  private async runJob(job: Job): Promise<Commit> {
    const name = await this.repositoryName(job.repository_id);
    const m = name === null ? null : await this.meta.manifest(job.repository_id, job.digest);
    // Deleted since it was queued: nothing to scan, nothing to report.
    if (name === null || !m) return async () => undefined;
    if (job.reason === "index") return this.fanOut(job, name);
    if (job.scan_type === "ENHANCED")
      await this.meta.db
        .updateTable("image_scans")
        .set({ status: "IN_PROGRESS", updated_at: this.now() })
        .where("repository_id", "=", job.repository_id)
        .where("digest", "=", job.digest)
        .where("status", "=", "PENDING")
        .execute();

    let outcome: ScanOutcome;
    let builtAt = 0;
    if (SCHEMA1.has(m.mediaType)) {
      outcome = { kind: "unsupported", reason: SCHEMA1_UNSUPPORTED };
    } else {
      const lease = this.vulndb.acquire();
      builtAt = lease.builtAt;
      const source = new StoreImageSource(this.meta, this.blobs, job.repository_id, name, job.digest);
      try {
        outcome = await scanImage(source, job.scan_type, lease.db, this.opts.engine);
      } catch (e) {
        if (!(e instanceof ImageFormatError)) throw e;
        outcome = { kind: "unsupported", reason: `UnsupportedImageError: ${e.message}` };
      } finally {
        lease.release();
        await source.close();
      }
    }
    return async (tx) => {
      const row = await readScan(tx, job.repository_id, job.digest);
      if (!row) return;
      const now = this.now();
      let status: ScanStatus;
      let counts: Record<string, number> = {};
      if (outcome.kind === "complete") {
        const config = await readScanningConfiguration(tx);
        const decision = decideRepository(config, name, await repositoryScanOnPush(tx, job.repository_id));
        status =
          job.scan_type === "ENHANCED" && decision.scanFrequency === "CONTINUOUS_SCAN"
            ? "ACTIVE"
            : "COMPLETE";
        counts = outcome.severityCounts;
        await storeCompletedScan(
          tx,
          job.repository_id,
          job.digest,
          {
            status,
            description: COMPLETE_DESCRIPTION,
            findings: outcome.findings,
            severityCounts: counts,
            vulnerabilitySourceUpdatedAt: builtAt,
          },
          now,
        );
      } else {
        status = "UNSUPPORTED_IMAGE";
        await markScanEnded(tx, job.repository_id, job.digest, status, outcome.reason, now);
      }
      await this.scanEvent(tx, job, name, status, counts);
    };
  }

  /** An index: one scan per platform manifest not yet scanned with this scan type. */
  private async fanOut(job: Job, _name: string): Promise<Commit> {
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
        const m = await tx.manifest(job.repository_id, d.digest);
        if (!m) continue;
        const prev = await readScan(tx, job.repository_id, d.digest);
        if (
          prev &&
          prev.scanType === job.scan_type &&
          (prev.status === "IN_PROGRESS" ||
            prev.status === "PENDING" ||
            now - prev.lastScanAt < MANUAL_SCAN_WINDOW_MS)
        )
          continue;
        await this.queueScan(tx, job.repository_id, d.digest, m.mediaType, job.scan_type, "push", now);
      }
      this.wakeSoon();
    };
  }

  private async jobFailed(tx: MetaStore, job: Job, reason: string): Promise<void> {
    const name = await tx.db
      .selectFrom("repositories")
      .select("name")
      .where("id", "=", job.repository_id)
      .executeTakeFirst();
    if (!name || job.reason === "index") return;
    // ENHANCED has no FAILED status: its findings are unavailable.
    const status: ScanStatus = job.scan_type === "ENHANCED" ? "FINDINGS_UNAVAILABLE" : "FAILED";
    await markScanEnded(tx, job.repository_id, job.digest, status, `ScanFailed: ${reason}`, this.now());
    await this.scanEvent(tx, job, name.name, status, {});
  }

  private async scanEvent(
    tx: MetaStore,
    job: Job,
    name: string,
    status: ScanStatus,
    counts: Record<string, number>,
  ): Promise<void> {
    await appendEvent(
      tx,
      imageScanEvent(
        this.opts.aws,
        {
          repositoryName: name,
          digest: job.digest,
          tags: await tagsOf(tx, job.repository_id, job.digest),
          status,
          severityCounts: counts,
        },
        this.now(),
      ),
    );
  }
}
