import { sql, type Expression, type SqlBool } from "kysely";
import type { ClosedReason, FindingStatus } from "./finding-rows.js";
import type { FindingWrite } from "./finding-store.js";
import { advanceWatermark, readWatermark } from "./counters.js";
import type { Handle } from "./handle.js";

/**
 * The history of findings (tables finding_intervals, finding_snapshots; schema.ts), kept after
 * the findings themselves are purged, for trends: "open criticals over time" (the daily
 * snapshots), "new versus fixed per week" and "mean time to remediate" (the intervals).
 */

const BATCH = 200;
export const DAY_MS = 86_400_000;
export const WEEK_MS = 7 * DAY_MS;
/** Monday 1970-01-05 00:00 UTC: weeks are counted from it, so they start on Mondays (ISO weeks). */
export const WEEK_ORIGIN = 4 * DAY_MS;

const DAILY_COUNTER = "findings_daily";

/** The closes that count as remediated by default: not `ineligible` (nobody fixed anything). */
export const REMEDIATED: readonly ClosedReason[] = ["fixed", "deleted"];

/** The UTC day (`YYYY-MM-DD`) of an instant. */
export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** The start (Monday 00:00 UTC, epoch ms) of the week of an instant. */
export function weekStart(ms: number): number {
  return WEEK_ORIGIN + Math.floor((ms - WEEK_ORIGIN) / WEEK_MS) * WEEK_MS;
}

/** Which history rows a query reads: all, or some repositories, one scan type. */
export interface HistoryNarrowing {
  repositoryIds?: readonly number[];
  scanType?: "BASIC" | "ENHANCED";
}

/** One period a finding was open. */
export interface FindingInterval {
  findingId: string;
  repositoryId: number;
  scanType: "BASIC" | "ENHANCED";
  severity: string;
  openedAt: number;
  closedAt: number | null;
  closedReason: ClosedReason | null;
}

/**
 * What a write of findings does to their intervals, in the write's transaction (FindingStore.put):
 * an open finding without an open interval (created, or reopened) opens one at its `updatedAt`;
 * one with an open interval updates its severity; a CLOSED one closes its open interval.
 */
export async function recordIntervals(h: Handle, writes: readonly FindingWrite[], ids: readonly string[]) {
  const open: { id: string; w: FindingWrite }[] = [];
  const closes = new Map<string, { at: number; reason: ClosedReason; ids: string[] }>();
  writes.forEach((w, i) => {
    const id = ids[i]!;
    if (w.state.status !== "CLOSED") return void open.push({ id, w });
    const at = w.state.closedAt ?? w.state.updatedAt;
    const reason = w.state.closedReason ?? "fixed";
    const k = `${at} ${reason}`;
    const g = closes.get(k) ?? { at, reason, ids: [] };
    g.ids.push(id);
    closes.set(k, g);
  });
  for (let i = 0; i < open.length; i += BATCH)
    await h.db
      .insertInto("finding_intervals")
      .values(
        open.slice(i, i + BATCH).map(({ id, w }) => ({
          finding_id: id,
          repository_id: w.identity.repositoryId,
          scan_type: w.identity.scanType,
          severity: w.state.severity,
          opened_at: w.state.updatedAt,
          closed_at: null,
          closed_reason: null,
        })),
      )
      // The conflict target is the partial unique index finding_intervals_open.
      .onConflict((oc) =>
        oc
          .column("finding_id")
          .where(sql.ref("closed_at"), "is", null)
          .doUpdateSet((eb) => ({ severity: eb.ref("excluded.severity") })),
      )
      .execute();
  for (const g of closes.values())
    for (let i = 0; i < g.ids.length; i += BATCH)
      await h.db
        .updateTable("finding_intervals")
        .set({ closed_at: g.at, closed_reason: g.reason })
        .where("finding_id", "in", g.ids.slice(i, i + BATCH))
        .where("closed_at", "is", null)
        .execute();
}

/**
 * Closes the open intervals of an image's findings (or a whole repository's) that are being
 * deleted without a close (FindingStore.forgetImage, RegistryStore.deleteRepository).
 */
export async function closeIntervalsOf(
  h: Handle,
  where: { repositoryId: number; digest?: string },
  at: number,
  reason: ClosedReason,
): Promise<void> {
  let q = h.db
    .updateTable("finding_intervals")
    .set({ closed_at: at, closed_reason: reason })
    .where("repository_id", "=", where.repositoryId)
    .where("closed_at", "is", null);
  if (where.digest !== undefined) {
    const digest = where.digest;
    q = q.where((eb) =>
      eb(
        "finding_id",
        "in",
        eb
          .selectFrom("findings")
          .select("findings.id")
          .where("findings.repository_id", "=", where.repositoryId)
          .where("findings.digest", "=", digest),
      ),
    );
  }
  await q.execute();
}

export class HistoryStore {
  constructor(private readonly h: Handle) {}

  /**
   * The last UTC day (days since the epoch) whose daily retention pass finished
   * (counters('findings_daily')), or null when none did.
   */
  async lastDailyRun(): Promise<number | null> {
    return readWatermark(this.h, DAILY_COUNTER);
  }

  /** Records that the daily pass of `day` (days since the epoch) finished; never moves back. */
  async markDailyRun(day: number): Promise<void> {
    await advanceWatermark(this.h, DAILY_COUNTER, day);
  }

  /** Whether a snapshot of this day was taken (a day without findings has none). */
  async hasSnapshot(day: string): Promise<boolean> {
    const row = await this.h.db
      .selectFrom("finding_snapshots")
      .select("day")
      .where("day", "=", day)
      .limit(1)
      .executeTakeFirst();
    return row !== undefined;
  }

  /**
   * Takes the day's snapshot: the counts of the findings stored now by repository, scan type,
   * severity and status, replacing any snapshot of the same day. The counts are read in one
   * statement (a consistent view that blocks no writer) and written in one short transaction.
   * Returns the rows written.
   */
  async snapshot(day: string): Promise<number> {
    const counts = await this.h.db
      .selectFrom("findings")
      .select((eb) => ["repository_id", "scan_type", "severity", "status", eb.fn.countAll<number>().as("n")])
      .groupBy(["repository_id", "scan_type", "severity", "status"])
      .execute();
    await this.h.tx(async (t) => {
      await t.db.deleteFrom("finding_snapshots").where("day", "=", day).execute();
      for (let i = 0; i < counts.length; i += BATCH)
        await t.db
          .insertInto("finding_snapshots")
          .values(
            counts.slice(i, i + BATCH).map((c) => ({
              day,
              repository_id: Number(c.repository_id),
              scan_type: c.scan_type,
              severity: c.severity,
              status: c.status,
              count: Number(c.n),
            })),
          )
          .execute();
    });
    return counts.length;
  }

  /**
   * Findings by severity on each day of [from, to] (UTC days, `YYYY-MM-DD`) that has a snapshot,
   * summed over the repositories narrowed; `statuses` ACTIVE by default (the open findings
   * Inspector counts). Ordered by day, then severity.
   */
  async countsPerDay(q: {
    from: string;
    to: string;
    statuses?: readonly FindingStatus[];
    narrowing?: HistoryNarrowing;
  }): Promise<{ day: string; severity: string; count: number }[]> {
    const rows = await this.h.db
      .selectFrom("finding_snapshots")
      .select((eb) => ["day", "severity", eb.fn.sum<number>("count").as("n")])
      .where("day", ">=", q.from)
      .where("day", "<=", q.to)
      .where("status", "in", [...(q.statuses ?? ["ACTIVE"])])
      .where(narrowed(q.narrowing))
      .groupBy(["day", "severity"])
      .orderBy("day")
      .orderBy("severity")
      .execute();
    return rows.map((r) => ({ day: r.day, severity: r.severity, count: Number(r.n) }));
  }

  /**
   * Per week (Monday 00:00 UTC) that starts in [from, to): how many findings were opened
   * (created or reopened: each open interval counts) and how many closed for one of
   * `fixedReasons` (fixed and deleted by default). Every week of the range is listed, zeros included.
   */
  async newVersusFixedPerWeek(q: {
    from: number;
    to: number;
    fixedReasons?: readonly ClosedReason[];
    narrowing?: HistoryNarrowing;
  }): Promise<{ weekStart: number; opened: number; fixed: number }[]> {
    const from = weekStart(q.from);
    const to = weekStart(q.to - 1) + WEEK_MS;
    const bucket = (col: "opened_at" | "closed_at") =>
      sql<number>`(${sql.ref(col)} - ${sql.lit(WEEK_ORIGIN)}) / ${sql.lit(WEEK_MS)}`;
    const opened = await this.h.db
      .selectFrom("finding_intervals")
      .select((eb) => [bucket("opened_at").as("w"), eb.fn.countAll<number>().as("n")])
      .where("opened_at", ">=", from)
      .where("opened_at", "<", to)
      .where(narrowed(q.narrowing))
      .groupBy(bucket("opened_at"))
      .execute();
    const reasons = [...(q.fixedReasons ?? REMEDIATED)];
    const fixed = reasons.length
      ? await this.h.db
          .selectFrom("finding_intervals")
          .select((eb) => [bucket("closed_at").as("w"), eb.fn.countAll<number>().as("n")])
          .where("closed_at", ">=", from)
          .where("closed_at", "<", to)
          .where("closed_reason", "in", reasons)
          .where(narrowed(q.narrowing))
          .groupBy(bucket("closed_at"))
          .execute()
      : [];
    const out = new Map<number, { weekStart: number; opened: number; fixed: number }>();
    for (let w = from; w < to; w += WEEK_MS) out.set(w, { weekStart: w, opened: 0, fixed: 0 });
    const at = (w: number | string) => out.get(WEEK_ORIGIN + Number(w) * WEEK_MS);
    for (const r of opened) at(r.w)!.opened = Number(r.n);
    for (const r of fixed) at(r.w)!.fixed = Number(r.n);
    return [...out.values()];
  }

  /**
   * Mean time to remediate by severity: over the intervals closed in [from, to) for one of
   * `reasons` (fixed and deleted by default), how many and their mean open time in ms.
   */
  async meanTimeToRemediate(q: {
    from: number;
    to: number;
    reasons?: readonly ClosedReason[];
    narrowing?: HistoryNarrowing;
  }): Promise<{ severity: string; closed: number; meanMs: number }[]> {
    const reasons = [...(q.reasons ?? REMEDIATED)];
    if (!reasons.length) return [];
    const rows = await this.h.db
      .selectFrom("finding_intervals")
      .select((eb) => [
        "severity",
        eb.fn.countAll<number>().as("n"),
        eb.fn.avg<number>(sql`closed_at - opened_at`).as("mean"),
      ])
      .where("closed_at", ">=", q.from)
      .where("closed_at", "<", q.to)
      .where("closed_reason", "in", reasons)
      .where(narrowed(q.narrowing))
      .groupBy("severity")
      .orderBy("severity")
      .execute();
    return rows.map((r) => ({
      severity: r.severity,
      closed: Number(r.n),
      meanMs: Math.round(Number(r.mean)),
    }));
  }

  /** The intervals of one finding, oldest first. */
  async intervals(findingId: string): Promise<FindingInterval[]> {
    const rows = await this.h.db
      .selectFrom("finding_intervals")
      .selectAll()
      .where("finding_id", "=", findingId)
      .orderBy("opened_at")
      .orderBy("id")
      .execute();
    return rows.map((r) => ({
      findingId: r.finding_id,
      repositoryId: Number(r.repository_id),
      scanType: r.scan_type,
      severity: r.severity,
      openedAt: Number(r.opened_at),
      closedAt: r.closed_at === null ? null : Number(r.closed_at),
      closedReason: r.closed_reason as ClosedReason | null,
    }));
  }

  /** Deletes up to `limit` intervals closed before `before`; returns how many (open ones stay). */
  async purgeIntervals(before: number, limit: number): Promise<number> {
    const r = await this.h.db
      .deleteFrom("finding_intervals")
      .where("closed_at", "<", before)
      .where((eb) =>
        eb(
          "id",
          "in",
          eb
            .selectFrom("finding_intervals as i")
            .select("i.id")
            .where("i.closed_at", "<", before)
            .limit(limit),
        ),
      )
      .executeTakeFirst();
    return Number(r.numDeletedRows);
  }

  /**
   * Deletes the snapshot of the oldest day before `before` (`YYYY-MM-DD`), if any; returns how
   * many rows. One day per call: no larger than the transaction that wrote it.
   */
  async purgeSnapshotDay(before: string): Promise<number> {
    const oldest = await this.h.db
      .selectFrom("finding_snapshots")
      .select("day")
      .where("day", "<", before)
      .orderBy("day")
      .limit(1)
      .executeTakeFirst();
    if (!oldest) return 0;
    const r = await this.h.db
      .deleteFrom("finding_snapshots")
      .where("day", "=", oldest.day)
      .executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}

/** The narrowing as a condition on the columns both history tables have. */
function narrowed(n: HistoryNarrowing | undefined): Expression<SqlBool> {
  const parts = [sql<SqlBool>`1 = 1`];
  if (n?.repositoryIds)
    parts.push(
      n.repositoryIds.length
        ? sql<SqlBool>`repository_id in (${sql.join([...n.repositoryIds])})`
        : sql<SqlBool>`1 = 0`,
    );
  if (n?.scanType) parts.push(sql<SqlBool>`scan_type = ${n.scanType}`);
  return sql<SqlBool>`(${sql.join(parts, sql` and `)})`;
}
