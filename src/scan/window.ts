import type { RegistryIdentity } from "../api/inspector2/finding.js";
import type { EcrConfiguration } from "../api/inspector2/shapes.js";
import type { Logger } from "../core/logger.js";
import { appendCoverageChange } from "../findings/coverage.js";
import { closeAll } from "../findings/lifecycle.js";
import { appendFindingEvents } from "../findings/suppression.js";
import type { ImageKey, MetaStore, WindowQuery } from "../storage/meta/store.js";
import { readScanningConfiguration } from "./state.js";

/**
 * The rescan window (Inspector's ECR re-scan duration, UpdateConfiguration's ecrConfiguration):
 * an image is monitored while it was pushed within `rescanDuration` (LIFETIME: always) or, when
 * `pullDateRescanDuration` is set, pulled within it. Drydock has no "in use" signal from a
 * cluster: LAST_IN_USE_AT is measured by the last recorded pull too, like LAST_PULL_DATE (the
 * same time ListCoverage shows as lastInUseAt). An ENHANCED image under continuous monitoring
 * (status ACTIVE) that leaves the window becomes SCAN_ELIGIBILITY_EXPIRED: its findings close
 * (each with an `Inspector2 Finding` event), an `Inspector2 Coverage` event says so, and
 * re-matching passes it by. Lengthening the window does not bring it back (as Inspector
 * documents); a push of it again, or a pull when pulls count, does (scan/service.ts).
 *
 * `expireOutsideWindow` runs hourly as the `rescan-window` singleton and once after each
 * configuration change (the `rescan-window` job), on any node: each image moves in a
 * transaction that re-checks its state and window, so concurrent runs expire it once.
 */

export const EXPIRED = "SCAN_ELIGIBILITY_EXPIRED";
/** The scan status description of an expired image (Inspector's words for the reason). */
export const EXPIRED_DESCRIPTION = "The configured scan duration has lapsed for this image.";
/** The job that runs the window after a configuration change (any worker). */
export const WINDOW_JOB = "rescan-window";

/**
 * The configuration of a registry that never set one: 90 days from the last push, or from
 * the last pull (docs/inspector2-api.md, "Rescan window", says why).
 */
export const DEFAULT_ECR_CONFIGURATION: Readonly<Required<EcrConfiguration>> = {
  rescanDuration: "DAYS_90",
  pullDateRescanDuration: "DAYS_90",
  pullDateRescanMode: "LAST_PULL_DATE",
};
const CONFIG_KEY = "inspector2";
const DAY_MS = 86_400_000;
const BATCH = 100;

export interface StoredEcrConfiguration extends EcrConfiguration {
  updatedAt: number;
}

/** The configuration as set by UpdateConfiguration, or null when never set (the default applies). */
export function storedEcrConfiguration(meta: MetaStore): Promise<StoredEcrConfiguration | null> {
  return meta.settings.registrySetting<StoredEcrConfiguration>(CONFIG_KEY);
}

/** The configuration in force. */
export async function ecrConfiguration(meta: MetaStore): Promise<EcrConfiguration> {
  const c = await storedEcrConfiguration(meta);
  if (!c) return { ...DEFAULT_ECR_CONFIGURATION };
  const { updatedAt: _u, ...cfg } = c;
  return cfg;
}

/** Replaces the configuration (UpdateConfiguration replaces it whole: unset pull fields are off). */
export async function writeEcrConfiguration(
  meta: MetaStore,
  cfg: EcrConfiguration,
  now: number,
): Promise<void> {
  const stored: StoredEcrConfiguration = {
    rescanDuration: cfg.rescanDuration,
    ...(cfg.pullDateRescanDuration ? { pullDateRescanDuration: cfg.pullDateRescanDuration } : {}),
    ...(cfg.pullDateRescanMode ? { pullDateRescanMode: cfg.pullDateRescanMode } : {}),
    updatedAt: now,
  };
  await meta.settings.putRegistrySetting(CONFIG_KEY, stored);
}

/** `DAYS_<n>` in milliseconds; null for LIFETIME. */
export function durationMs(d: string): number | null {
  if (d === "LIFETIME") return null;
  const m = /^DAYS_(\d+)$/.exec(d);
  if (!m) throw new Error(`unknown rescan duration ${d}`);
  return Number(m[1]) * DAY_MS;
}

/** Whether pulls keep images in the window (a pull date duration is set). */
export function pullsCount(cfg: EcrConfiguration): boolean {
  return cfg.pullDateRescanDuration !== undefined;
}

/**
 * The window at `now` as store cutoffs: outside it are images pushed before `pushedBefore`
 * and (when pulls count) not pulled since `pulledBefore`. Null: nothing leaves (LIFETIME).
 */
export function windowAt(
  cfg: EcrConfiguration,
  now: number,
): Pick<WindowQuery, "pushedBefore" | "pulledBefore"> | null {
  const push = durationMs(cfg.rescanDuration);
  if (push === null) return null;
  const pull = cfg.pullDateRescanDuration ? durationMs(cfg.pullDateRescanDuration) : null;
  return { pushedBefore: now - push, pulledBefore: pull === null ? null : now - pull };
}

/** Whether an image with these dates is inside the window at `now`. */
export function insideWindow(
  cfg: EcrConfiguration,
  image: { lastPushedAt: number; lastPulledAt: number | null },
  now: number,
): boolean {
  const w = windowAt(cfg, now);
  if (!w) return true;
  if (image.lastPushedAt >= w.pushedBefore) return true;
  return w.pulledBefore !== null && image.lastPulledAt !== null && image.lastPulledAt >= w.pulledBefore;
}

export interface ExpiryOptions {
  aws: RegistryIdentity;
  now: () => number;
  log?: Logger;
}

/**
 * Moves every continuously monitored image (ENHANCED, ACTIVE) that is outside the window to
 * SCAN_ELIGIBILITY_EXPIRED, closing its findings, in transactions of at most BATCH images.
 * Nothing happens while the registry's scanning is BASIC (Inspector is off). Returns the
 * number of images that expired.
 */
export async function expireOutsideWindow(meta: MetaStore, o: ExpiryOptions): Promise<number> {
  if ((await readScanningConfiguration(meta)).scanType !== "ENHANCED") return 0;
  const now = o.now();
  const w = windowAt(await ecrConfiguration(meta), now);
  if (!w) return 0;
  const q: WindowQuery = { scanType: "ENHANCED", status: "ACTIVE", ...w };
  let expired = 0;
  let after: ImageKey | undefined;
  for (;;) {
    const page = await meta.scans.outsideWindow({ ...q, ...(after ? { after } : {}), limit: BATCH });
    if (!page.length) break;
    expired += await meta.tx(async (tx) => {
      let n = 0;
      for (const image of page) if (await expireImage(tx, image, q, now, o.aws)) n++;
      return n;
    });
    if (page.length < BATCH) break;
    after = page.at(-1);
  }
  if (expired) o.log?.info({ images: expired }, "images left the rescan window: SCAN_ELIGIBILITY_EXPIRED");
  return expired;
}

/** One image leaves the window (in the caller's transaction); false when it no longer qualifies. */
async function expireImage(
  tx: MetaStore,
  image: ImageKey,
  q: WindowQuery,
  now: number,
  aws: RegistryIdentity,
): Promise<boolean> {
  const moved = await tx.scans.leaveWindow(image.repositoryId, image.digest, {
    ...q,
    to: EXPIRED,
    description: EXPIRED_DESCRIPTION,
  });
  if (!moved) return false;
  const rec = closeAll(
    await tx.findings.forImage(image.repositoryId, image.digest, "ENHANCED"),
    now,
    "ineligible",
  );
  await tx.findings.put(rec.writes);
  await appendFindingEvents(tx, aws, rec.changes, now);
  const name = await tx.registry.repositoryName(image.repositoryId);
  if (name !== null)
    await appendCoverageChange(
      tx,
      aws,
      {
        repositoryName: name,
        digest: image.digest,
        frequency: "CONTINUOUS_SCAN",
        before: "ACTIVE",
        after: EXPIRED,
      },
      now,
    );
  return true;
}
