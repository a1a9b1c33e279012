import type { Logger } from "../core/logger.js";
import { DAY_MS, utcDay } from "../storage/meta/history-store.js";
import type { ClosedReason, MetaStore } from "../storage/meta/store.js";

/**
 * Closed-finding retention and the finding history's upkeep, as Amazon Inspector keeps closed
 * findings: 3 days when the image was deleted or left the rescan window, 30 days otherwise
 * (`findings.closedRetentionDays` changes the 30; the 3 never exceeds it). Run by the singleton
 * `findings-retention` (main.ts) every hour on one node of a cluster:
 *
 * - every run purges the closed findings past their retention, and then the finding texts
 *   (finding_details) nothing references any more;
 * - the first run of each UTC day also takes the day's snapshot of counts (so a day's counts are
 *   those of its first hour), purges the history older than `findings.historyDays`, sweeps the
 *   finding texts, purges the inventory segments no image has used for SEGMENT_GRACE_MS and
 *   the records of reports finished more than REPORT_RECORD_RETENTION_DAYS ago.
 *
 * Every purge goes in bounded batches, each its own short transaction, yielding between them:
 * a registry with a million closed findings is never one giant transaction, and the embedded
 * server (SQLite, synchronous) keeps answering while it runs.
 */

/** How long a finding closed because its image is gone or ineligible is kept (Inspector: 3 days). */
export const GONE_RETENTION_DAYS = 3;
/**
 * How long a segment no image uses is kept. A scan that stores an image onto an already stored
 * segment refreshes its use at most REFRESH_MS (30 minutes, inventory-store.ts) before, so the
 * hour leaves any scan's commit transaction at least 30 minutes, far beyond its seconds, while
 * the inventories of deleted images go within a day.
 */
export const SEGMENT_GRACE_MS = 3_600_000;
/**
 * How long the record of a finished findings report or SBOM export is kept (its status stays
 * readable by GetFindingsReportStatus / GetSbomExport for this long; the files it wrote stay).
 */
export const REPORT_RECORD_RETENTION_DAYS = 30;
/** How often the singleton runs (the daily part runs on the first run of each UTC day). */
export const RETENTION_CHECK_MS = 3_600_000;

const BATCH = 1000;
/** How often the details sweep retries when writers of findings hold the lock (PostgreSQL). */
const BUSY_RETRIES = 20;
const BUSY_WAIT_MS = 250;

export interface RetentionPolicy {
  /** Days a closed finding is kept (30); those of deleted or ineligible images: min(3, this). */
  closedRetentionDays: number;
  /** Days the history (closed intervals, daily snapshots) is kept (400). */
  historyDays: number;
}

/** What one run did. */
export interface RetentionRun {
  /** The day whose snapshot this run took, or null (not the day's first run). */
  snapshot: string | null;
  findings: number;
  details: number;
  intervals: number;
  snapshots: number;
  segments: number;
  /** Records of finished reports purged. */
  reports: number;
  /** The details sweep gave up because writers kept the lock; the next run tries again. */
  detailsBusy: boolean;
}

/** The retention of closed findings (ms) by close reason under a policy. */
export function closedRetentionMs(p: RetentionPolicy): Record<ClosedReason, number> {
  const long = p.closedRetentionDays * DAY_MS;
  const gone = Math.min(GONE_RETENTION_DAYS, p.closedRetentionDays) * DAY_MS;
  return { fixed: long, deleted: gone, ineligible: gone };
}

const yieldToOthers = () => new Promise<void>((r) => setImmediate(r));

/** Calls `step` until it returns less than a full batch; returns the sum. */
async function drain(step: () => Promise<number>, batch: number): Promise<number> {
  let total = 0;
  for (;;) {
    const n = await step();
    total += n;
    if (n < batch) return total;
    await yieldToOthers();
  }
}

export async function runRetention(
  meta: MetaStore,
  policy: RetentionPolicy,
  o: { now?: () => number; batch?: number; log?: Logger; sleep?: (ms: number) => Promise<void> } = {},
): Promise<RetentionRun> {
  const now = (o.now ?? Date.now)();
  const batch = o.batch ?? BATCH;
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const today = Math.floor(now / DAY_MS);
  const daily = ((await meta.history.lastDailyRun()) ?? -1) < today;
  const out: RetentionRun = {
    snapshot: null,
    findings: 0,
    details: 0,
    intervals: 0,
    snapshots: 0,
    segments: 0,
    reports: 0,
    detailsBusy: false,
  };
  if (daily) {
    // Before the purges: the day's counts include the findings closed yesterday.
    await meta.history.snapshot(utcDay(now));
    out.snapshot = utcDay(now);
  }

  const keep = closedRetentionMs(policy);
  const byAge = new Map<number, ClosedReason[]>();
  for (const [reason, ms] of Object.entries(keep) as [ClosedReason, number][])
    byAge.set(ms, [...(byAge.get(ms) ?? []), reason]);
  for (const [ms, reasons] of byAge)
    out.findings += await drain(() => meta.findings.purgeClosed(now - ms, { reasons, limit: batch }), batch);

  if (out.findings > 0 || daily) {
    let next: string | null = null;
    let busy = 0;
    for (;;) {
      const r = await meta.findings.purgeUnusedDetails(next, batch);
      if (r.busy) {
        if (++busy > BUSY_RETRIES) {
          out.detailsBusy = true;
          break;
        }
        await sleep(BUSY_WAIT_MS);
        continue;
      }
      out.details += r.deleted;
      if ((next = r.next) === null) break;
      await yieldToOthers();
    }
  }

  if (daily) {
    const horizon = now - policy.historyDays * DAY_MS;
    out.intervals = await drain(() => meta.history.purgeIntervals(horizon, batch), batch);
    for (let n; (n = await meta.history.purgeSnapshotDay(utcDay(horizon))) > 0;) {
      out.snapshots += n;
      await yieldToOthers();
    }
    out.segments = await drain(
      () => meta.inventories.purgeUnusedSegments(now - SEGMENT_GRACE_MS, batch),
      batch,
    );
    out.reports = await drain(
      () => meta.reports.purgeFinished(now - REPORT_RECORD_RETENTION_DAYS * DAY_MS, batch),
      batch,
    );
    await meta.history.markDailyRun(today);
  }
  if (
    out.findings ||
    out.details ||
    out.intervals ||
    out.snapshots ||
    out.segments ||
    out.reports ||
    out.detailsBusy
  )
    o.log?.info({ task: "findings-retention", ...out }, "findings retention purged");
  return out;
}
