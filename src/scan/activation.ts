import type { RegistryIdentity } from "../api/inspector2/finding.js";
import { scanResourceChangeEvent, type ScanFrequencyChange } from "../events/envelope.js";
import { appendEvent } from "../events/log.js";
import type { ImageScanState, MetaStore } from "../storage/meta/store.js";
import { decideRepository } from "./filters.js";
import { readScanningConfiguration, writeScanningConfiguration } from "./state.js";
import type { RegistryScanningConfiguration } from "./types.js";
import { ecrConfiguration, insideWindow } from "./window.js";

/**
 * A change of the registry's scanning configuration (PutRegistryScanningConfiguration,
 * Inspector2 Enable/Disable), as ECR and Inspector carry it out:
 * - under ENHANCED, the repositories whose scan frequency changed are listed in an
 *   `ECR Scan Resource Change` event, in the configuration change's transaction;
 * - repositories that start CONTINUOUS_SCAN have their images inside the rescan window that
 *   have no ENHANCED result scanned, as Inspector does on activation. That can be thousands of
 *   images: the request only queues one `scan-activation` job; the job plans PAGE images per
 *   step, each step's scans and the next step committed together in its lease-fenced
 *   transaction (so a crash resumes where it stopped, any worker, exactly once).
 */

export const ACTIVATION_JOB = "scan-activation";
/** Repositories listed per ECR Scan Resource Change event (EventBridge takes events up to 256 KB). */
export const REPOSITORIES_PER_EVENT = 200;
/** Images planned per activation step (one transaction). */
const PAGE = 500;

const INDEX = new Set([
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
]);

/** The payload of a `scan-activation` job: where the planning stands. */
export interface ActivationJob {
  repositoryIds: number[];
  /** The repository being planned (index into repositoryIds). */
  index: number;
  /** The last digest planned in it. */
  after?: string;
}

/** How an image is scanned on activation: read its layers, or match its stored inventory again. */
export interface ActivationScan {
  fromInventory: boolean;
  /** Its ENHANCED scan status before (undefined: none). */
  previous?: string;
}

/**
 * Writes a scanning configuration with its consequences (in the caller's transaction, or one of
 * its own): the events of changed scan frequencies and the activation job. Returns the changes.
 */
export async function applyScanningConfiguration(
  meta: MetaStore,
  next: RegistryScanningConfiguration,
  o: { aws: RegistryIdentity; now: number },
): Promise<ScanFrequencyChange[]> {
  return meta.tx(async (tx) => {
    const prev = await readScanningConfiguration(tx);
    await writeScanningConfiguration(tx, next);
    // ECR Scan Resource Change is an enhanced-scanning event; turning ENHANCED off moves
    // nothing that Inspector monitors.
    if (next.scanType !== "ENHANCED") return [];
    const changes: ScanFrequencyChange[] = [];
    const activated: number[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await tx.settings.repositories(after, 1000);
      for (const r of page.items) {
        const before = decideRepository(prev, r.name, r.scanOnPush).scanFrequency;
        const now = decideRepository(next, r.name, r.scanOnPush).scanFrequency;
        if (before !== now)
          changes.push({ repositoryName: r.name, scanFrequency: now, previousScanFrequency: before });
        if (now === "CONTINUOUS_SCAN" && !(prev.scanType === "ENHANCED" && before === "CONTINUOUS_SCAN"))
          activated.push(r.id);
      }
      if (!page.more || !page.items.length) break;
      after = page.items.at(-1)!.name;
    }
    for (let i = 0; i < changes.length; i += REPOSITORIES_PER_EVENT)
      await appendEvent(
        tx,
        scanResourceChangeEvent(o.aws, changes.slice(i, i + REPOSITORIES_PER_EVENT), o.now),
      );
    if (activated.length)
      await tx.jobs.enqueue({
        kind: ACTIVATION_JOB,
        payload: { repositoryIds: activated, index: 0 } satisfies ActivationJob,
        runAfter: o.now,
      });
    return changes;
  });
}

/**
 * A repository just created (by a push, or ECR CreateRepository), in its creating transaction:
 * under ENHANCED, when a rule gives it a scan frequency, ECR announces it with an
 * `ECR Scan Resource Change` (its previous frequency MANUAL: it had none). Nothing to activate:
 * it has no images yet.
 */
export async function repositoryCreated(
  tx: MetaStore,
  repositoryName: string,
  o: { aws: RegistryIdentity; now: number },
): Promise<void> {
  const cfg = await readScanningConfiguration(tx);
  if (cfg.scanType !== "ENHANCED") return; // (rules alone decide under ENHANCED)
  const { scanFrequency } = decideRepository(cfg, repositoryName);
  if (scanFrequency === "MANUAL") return;
  await appendEvent(
    tx,
    scanResourceChangeEvent(
      o.aws,
      [{ repositoryName, scanFrequency, previousScanFrequency: "MANUAL" }],
      o.now,
    ),
  );
}

/**
 * How an image of a repository that starts CONTINUOUS_SCAN is scanned, if at all: only inside
 * the rescan window; read in full when it has no ENHANCED result; matched again from its
 * stored inventory when it has a scan-on-push one (COMPLETE), so that it is monitored (ACTIVE)
 * and current; left alone when monitored or being scanned already, unsupported, or expired
 * (lengthening the window does not bring an image back, nor does a new rule).
 */
export function activationScan(
  image: ImageScanState,
  cfg: Parameters<typeof insideWindow>[0],
  now: number,
): ActivationScan | null {
  if (INDEX.has(image.mediaType)) return null; // its images are planned themselves
  if (!insideWindow(cfg, image, now)) return null;
  if (image.scanType !== "ENHANCED" || image.status === null) return { fromInventory: false };
  if (image.status === "COMPLETE") return { fromInventory: true, previous: "COMPLETE" };
  return null;
}

/**
 * One step of an activation job, in its commit transaction: plans up to PAGE images of the
 * repositories still in CONTINUOUS_SCAN (queueing each through `queue`) and returns where the
 * next step starts, or null when done.
 */
export async function activationStep(
  tx: MetaStore,
  job: ActivationJob,
  o: {
    now: number;
    queue: (
      tx: MetaStore,
      repositoryId: number,
      image: ImageScanState,
      scan: ActivationScan,
    ) => Promise<void>;
  },
): Promise<ActivationJob | null> {
  const scanning = await readScanningConfiguration(tx);
  if (scanning.scanType !== "ENHANCED") return null;
  const cfg = await ecrConfiguration(tx);
  let budget = PAGE;
  let { index, after } = job;
  while (index < job.repositoryIds.length) {
    const id = job.repositoryIds[index]!;
    const repo = await tx.settings.repositoryById(id);
    if (repo && decideRepository(scanning, repo.name, repo.scanOnPush).scanFrequency === "CONTINUOUS_SCAN") {
      const page = await tx.scans.imageStates(id, {
        ...(after !== undefined ? { after } : {}),
        limit: budget,
      });
      for (const image of page.items) {
        const scan = activationScan(image, cfg, o.now);
        if (scan) await o.queue(tx, id, image, scan);
      }
      budget -= page.items.length;
      if (page.more) return { repositoryIds: job.repositoryIds, index, after: page.items.at(-1)!.digest };
    }
    index++;
    after = undefined;
    if (budget <= 0) break;
  }
  return index < job.repositoryIds.length ? { repositoryIds: job.repositoryIds, index } : null;
}
