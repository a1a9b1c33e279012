import { sql, type SqlBool } from "kysely";
import type { ClosedReason } from "./finding-rows.js";
import { advanceWatermark, readWatermark } from "./counters.js";
import { SEVERITY_RANK } from "./finding-query.js";
import type { Handle } from "./handle.js";
import { DAY_MS, REMEDIATED } from "./history-store.js";
import type { Database } from "./schema.js";

/**
 * The console's maintained aggregates and report records (tables console_daily,
 * console_vulnerabilities, console_reports; schema.ts). The dashboard must answer in a few
 * milliseconds over a million findings, so nothing here reads every finding per request:
 *
 * - `rollUpDay` turns one UTC day of the finding history (its snapshot, and the intervals
 *   opened and closed that day) into at most (scan types x severities) account-wide rows plus
 *   per-repository flow rows; the dashboard reads a year of account-wide rows in one range.
 * - `refreshVulnerabilities` counts the ACTIVE findings per vulnerability id in keyset chunks of
 *   the vulnerability index (each chunk one short statement), replacing the table's rows.
 * - report records: `createReport` inserts with a unique period, so two nodes racing to write
 *   the same scheduled report cannot both win.
 */

const BATCH = 200;
/** Intervals read per statement while rolling a day up. */
const DAY_PAGE = 5000;
/** Repository ids per IN list (well under both dialects' bound-parameter limits). */
const IDS = 500;
const ROLLUP_COUNTER = "console_rollup";
/** Account-wide rows of console_daily. */
export const EVERY_REPOSITORY = 0;

/** Severity weights of the priority queue (EPSS x weight): CVSS bands' midpoints. */
export const SEVERITY_WEIGHT: Readonly<Record<string, number>> = {
  CRITICAL: 9.5,
  HIGH: 7.9,
  MEDIUM: 5.5,
  LOW: 2.0,
  INFORMATIONAL: 0.5,
  UNTRIAGED: 1.0,
  UNDEFINED: 1.0,
};
const RANKED = ["UNTRIAGED", "INFORMATIONAL", "LOW", "MEDIUM", "HIGH", "CRITICAL"] as const;
const RANK = sql<number>`(case severity when 'CRITICAL' then 5 when 'HIGH' then 4 when 'MEDIUM' then 3 when 'LOW' then 2 when 'INFORMATIONAL' then 1 else 0 end)`;

export interface DailyRow {
  day: string;
  scanType: string;
  severity: string;
  /** True when the day has a snapshot (active and suppressed are its counts). */
  snapshot: boolean;
  active: number;
  suppressed: number;
  opened: number;
  fixed: number;
  fixedMs: number;
}

/** Rollup rows, and the days that had a snapshot (the open-findings chart plots only those). */
export interface DailyRows {
  rows: DailyRow[];
  snapshotDays: string[];
}

export interface VulnerabilityStat {
  vulnerabilityId: string;
  images: number;
  repositories: number;
  findings: number;
  severity: string;
  epssScore: number | null;
  kev: boolean;
  priority: number;
}

/** Open findings of one vulnerability in one repository (console_repository_vulnerabilities). */
export interface RepositoryVulnerabilityStat {
  repositoryId: number;
  vulnerabilityId: string;
  images: number;
  findings: number;
  /** 5 CRITICAL, 4 HIGH, 3 MEDIUM, 2 LOW, 1 INFORMATIONAL, 0 UNTRIAGED (or anything else). */
  severityRank: number;
  epssScore: number | null;
  kev: boolean;
}

export interface AffectedFindingRow {
  findingId: string;
  repositoryId: number;
  repositoryName: string;
  digest: string;
  scanType: string;
  status: string;
  severity: string;
  packageName: string;
  packagePath: string;
  fixAvailable: string;
  epssScore: number | null;
  firstObservedAt: number;
  lastObservedAt: number;
  /** The finding's own JSON part (installed and fixed versions, layer). */
  json: string;
}

export type ConsoleReportStatus = "IN_PROGRESS" | "SUCCEEDED" | "FAILED";

export interface NewConsoleReport {
  id: string;
  period: string;
  kind: "scheduled" | "manual";
  rangeFrom: number;
  rangeTo: number;
  createdBy: string;
}

export interface StoredConsoleReport extends NewConsoleReport {
  status: ConsoleReportStatus;
  htmlKey: string | null;
  csvKey: string | null;
  htmlBytes: number | null;
  csvBytes: number | null;
  summary: string | null;
  error: string | null;
  createdAt: number;
  updatedAt: number;
  completedAt: number | null;
}

type ReportRow = Database["console_reports"];

function toReport(r: ReportRow): StoredConsoleReport {
  const n = (v: number | null) => (v === null ? null : Number(v));
  return {
    id: r.id,
    period: r.period,
    kind: r.kind as "scheduled" | "manual",
    rangeFrom: Number(r.range_from),
    rangeTo: Number(r.range_to),
    createdBy: r.created_by,
    status: r.status as ConsoleReportStatus,
    htmlKey: r.html_key,
    csvKey: r.csv_key,
    htmlBytes: n(r.html_bytes),
    csvBytes: n(r.csv_bytes),
    summary: r.summary,
    error: r.error,
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
    completedAt: n(r.completed_at),
  };
}

const dayStart = (day: string) => Date.parse(`${day}T00:00:00Z`);
const chunks = <T>(xs: readonly T[], n: number): T[][] => {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += n) out.push(xs.slice(i, i + n));
  return out;
};

export class ConsoleStore {
  constructor(private readonly h: Handle) {}

  // --- the daily rollup -------------------------------------------------------------------

  /**
   * Rebuilds the rows of one UTC day (`YYYY-MM-DD`) from its snapshot and the intervals opened
   * or closed in it (`remediated`: the close reasons that count as fixed). Each read is a range
   * of an index (the snapshot's key begins with the day; the intervals' opened_at and closed_at
   * indexes, in pages); the rows are replaced in one short transaction. Returns the rows written.
   */
  async rollUpDay(
    day: string,
    remediated: readonly ClosedReason[] = REMEDIATED,
    pageSize = DAY_PAGE,
  ): Promise<number> {
    const from = dayStart(day);
    const to = from + DAY_MS;
    const totals = await this.h.db
      .selectFrom("finding_snapshots")
      .select((eb) => ["scan_type", "severity", "status", eb.fn.sum<number>("count").as("n")])
      .where("day", "=", day)
      .groupBy(["scan_type", "severity", "status"])
      .execute();
    // The intervals of the day, a page at a time in (time, id) order along the opened_at and
    // closed_at indexes: a day with a million new findings (a first import) is a thousand short
    // statements with the event loop free between them, never one long one.
    const opened = new Map<
      string,
      { repository_id: number; scan_type: string; severity: string; n: number; ms: number }
    >();
    const fixed = new Map<
      string,
      { repository_id: number; scan_type: string; severity: string; n: number; ms: number }
    >();
    const tally = (
      into: typeof opened,
      r: { repository_id: number; scan_type: string; severity: string },
      ms: number,
    ) => {
      const k = `${r.repository_id} ${r.scan_type} ${r.severity}`;
      const e = into.get(k) ?? {
        repository_id: Number(r.repository_id),
        scan_type: r.scan_type,
        severity: r.severity,
        n: 0,
        ms: 0,
      };
      e.n++;
      e.ms += ms;
      into.set(k, e);
    };
    for (const col of ["opened_at", "closed_at"] as const) {
      if (col === "closed_at" && !remediated.length) break;
      let after: { at: number; id: number } | undefined;
      for (;;) {
        let q = this.h.db
          .selectFrom("finding_intervals")
          .select(["id", "repository_id", "scan_type", "severity", "opened_at", "closed_at"])
          .where(col, ">=", from)
          .where(col, "<", to);
        if (col === "closed_at") q = q.where("closed_reason", "in", [...remediated]);
        if (after) {
          const a = after;
          q = q.where((eb) => eb.or([eb(col, ">", a.at), eb.and([eb(col, "=", a.at), eb("id", ">", a.id)])]));
        }
        const page = await q.orderBy(col).orderBy("id").limit(pageSize).execute();
        for (const r of page)
          if (col === "opened_at") tally(opened, r, 0);
          else tally(fixed, r, Number(r.closed_at) - Number(r.opened_at));
        if (page.length < pageSize) break;
        const last = page.at(-1)!;
        after = { at: Number(last[col]), id: Number(last.id) };
        await new Promise<void>((r) => setImmediate(r));
      }
    }
    const rows = new Map<string, Database["console_daily"]>();
    const row = (repositoryId: number, scanType: string, severity: string) => {
      const k = `${repositoryId} ${scanType} ${severity}`;
      let r = rows.get(k);
      if (!r)
        rows.set(
          k,
          (r = {
            day,
            repository_id: repositoryId,
            scan_type: scanType,
            severity,
            snapshot: repositoryId === EVERY_REPOSITORY && totals.length ? 1 : 0,
            active: 0,
            suppressed: 0,
            opened: 0,
            fixed: 0,
            fixed_ms: 0,
          }),
        );
      return r;
    };
    for (const t of totals) {
      const r = row(EVERY_REPOSITORY, t.scan_type, t.severity);
      if (t.status === "ACTIVE") r.active += Number(t.n);
      else if (t.status === "SUPPRESSED") r.suppressed += Number(t.n);
    }
    for (const o of opened.values()) {
      const n = o.n;
      row(o.repository_id, o.scan_type, o.severity).opened += n;
      row(EVERY_REPOSITORY, o.scan_type, o.severity).opened += n;
    }
    for (const f of fixed.values()) {
      const n = f.n;
      const ms = f.ms;
      for (const r of [
        row(Number(f.repository_id), f.scan_type, f.severity),
        row(EVERY_REPOSITORY, f.scan_type, f.severity),
      ]) {
        r.fixed += n;
        r.fixed_ms += ms;
      }
    }
    const values = [...rows.values()];
    await this.h.tx(async (t) => {
      await t.db.deleteFrom("console_daily").where("day", "=", day).execute();
      for (const part of chunks(values, BATCH)) await t.db.insertInto("console_daily").values(part).execute();
    });
    return values.length;
  }

  /** The last day (days since the epoch) rolled up after it ended, or null (counters('console_rollup')). */
  async rolledThrough(): Promise<number | null> {
    return readWatermark(this.h, ROLLUP_COUNTER);
  }

  /** Records that `day` was rolled up after it ended; never moves back. */
  async markRolledThrough(day: number): Promise<void> {
    await advanceWatermark(this.h, ROLLUP_COUNTER, day);
  }

  /**
   * The first UTC day (days since the epoch) the history has anything of (a snapshot, or an
   * interval opened then), or null when it is empty: two reads of the end of an index.
   */
  async historyStart(): Promise<number | null> {
    const s = await this.h.db
      .selectFrom("finding_snapshots")
      .select((eb) => eb.fn.min("day").as("day"))
      .executeTakeFirst();
    const i = await this.h.db
      .selectFrom("finding_intervals")
      .select((eb) => eb.fn.min("opened_at").as("at"))
      .executeTakeFirst();
    const days = [
      s?.day ? Math.floor(Date.parse(`${s.day}T00:00:00Z`) / DAY_MS) : null,
      i?.at !== null && i?.at !== undefined ? Math.floor(Number(i.at) / DAY_MS) : null,
    ].filter((d): d is number => d !== null);
    return days.length ? Math.min(...days) : null;
  }

  /** Deletes the rollup of the oldest day before `before`, if any; returns the rows deleted. */
  async purgeDayBefore(before: string): Promise<number> {
    const oldest = await this.h.db
      .selectFrom("console_daily")
      .select("day")
      .where("day", "<", before)
      .orderBy("day")
      .limit(1)
      .executeTakeFirst();
    if (!oldest) return 0;
    const r = await this.h.db.deleteFrom("console_daily").where("day", "=", oldest.day).executeTakeFirst();
    return Number(r.numDeletedRows);
  }

  /** The account-wide rows of the days in [from, to] (`YYYY-MM-DD`), by day. */
  async daily(from: string, to: string): Promise<DailyRows> {
    const rows = await this.h.db
      .selectFrom("console_daily")
      .selectAll()
      .where("day", ">=", from)
      .where("day", "<=", to)
      .where("repository_id", "=", EVERY_REPOSITORY)
      .orderBy("day")
      .execute();
    const out = rows.map((r) => ({
      day: r.day,
      scanType: r.scan_type,
      severity: r.severity,
      snapshot: Number(r.snapshot) === 1,
      active: Number(r.active),
      suppressed: Number(r.suppressed),
      opened: Number(r.opened),
      fixed: Number(r.fixed),
      fixedMs: Number(r.fixed_ms),
    }));
    return { rows: out, snapshotDays: [...new Set(out.filter((r) => r.snapshot).map((r) => r.day))] };
  }

  /**
   * The same rows for some repositories only (a restricted caller's dashboard): flows from the
   * per-repository rollup rows, open counts from the per-repository snapshots, summed. Both are
   * read by key probes (each listed day x each listed repository), so the cost follows the
   * caller's repositories and days, not the registry's size.
   */
  async dailyFor(days: readonly string[], repositoryIds: readonly number[]): Promise<DailyRows> {
    const out = new Map<string, DailyRow>();
    const at = (day: string, scanType: string, severity: string) => {
      const k = `${day} ${scanType} ${severity}`;
      let r = out.get(k);
      if (!r)
        out.set(
          k,
          (r = {
            day,
            scanType,
            severity,
            snapshot: false,
            active: 0,
            suppressed: 0,
            opened: 0,
            fixed: 0,
            fixedMs: 0,
          }),
        );
      return r;
    };
    if (!days.length) return { rows: [], snapshotDays: [] };
    const snapshotDays = new Set<string>();
    // No repository: no counts, but the days snapshotted still are (a chart of zeros).
    for (const ids of chunks(repositoryIds, IDS)) {
      const flows = await this.h.db
        .selectFrom("console_daily")
        .select((eb) => [
          "day",
          "scan_type",
          "severity",
          eb.fn.sum<number>("opened").as("opened"),
          eb.fn.sum<number>("fixed").as("fixed"),
          eb.fn.sum<number>("fixed_ms").as("ms"),
        ])
        .where("day", "in", [...days])
        .where("repository_id", "in", ids)
        .groupBy(["day", "scan_type", "severity"])
        .execute();
      for (const f of flows) {
        const r = at(f.day, f.scan_type, f.severity);
        r.opened += Number(f.opened);
        r.fixed += Number(f.fixed);
        r.fixedMs += Number(f.ms);
      }
      const open = await this.h.db
        .selectFrom("finding_snapshots")
        .select((eb) => ["day", "scan_type", "severity", "status", eb.fn.sum<number>("count").as("n")])
        .where("day", "in", [...days])
        .where("repository_id", "in", ids)
        .where("status", "in", ["ACTIVE", "SUPPRESSED"])
        .groupBy(["day", "scan_type", "severity", "status"])
        .execute();
      for (const o of open) {
        const r = at(o.day, o.scan_type, o.severity);
        if (o.status === "ACTIVE") r.active += Number(o.n);
        else r.suppressed += Number(o.n);
      }
    }
    // A day counts as snapshotted for the caller when the account-wide rollup says it was.
    const taken = await this.h.db
      .selectFrom("console_daily")
      .select("day")
      .distinct()
      .where("day", "in", [...days])
      .where("repository_id", "=", EVERY_REPOSITORY)
      .where("snapshot", "=", 1)
      .execute();
    for (const t of taken) snapshotDays.add(t.day);
    for (const r of out.values()) r.snapshot = snapshotDays.has(r.day);
    return {
      rows: [...out.values()].sort((a, b) => (a.day < b.day ? -1 : a.day > b.day ? 1 : 0)),
      snapshotDays: [...snapshotDays].sort(),
    };
  }

  // --- vulnerabilities --------------------------------------------------------------------

  /** Repository ids after `after` in id order (the rollup's chunks), at most `limit`. */
  async repositoryIdsAfter(after: number, limit: number): Promise<number[]> {
    const rows = await this.h.db
      .selectFrom("repositories")
      .select("id")
      .where("id", ">", after)
      .orderBy("id")
      .limit(limit)
      .execute();
    return rows.map((r) => Number(r.id));
  }

  /**
   * Counts of the ACTIVE findings of some repositories per (repository, vulnerability id), read
   * now through the findings' image index (its leading column is the repository): the cost
   * follows those repositories' findings, never the registry's.
   */
  async countRepositoryVulnerabilities(
    repositoryIds: readonly number[],
  ): Promise<RepositoryVulnerabilityStat[]> {
    const out: RepositoryVulnerabilityStat[] = [];
    for (const ids of chunks(repositoryIds, IDS)) {
      // Named on SQLite: without statistics its planner may prefer the status index and read
      // every ACTIVE finding of the registry for a few repositories.
      const rows = await sql<{
        repository_id: number;
        vulnerability_id: string;
        images: number;
        findings: number;
        rank: number;
        epss: number | null;
        kev: number;
      }>`select repository_id, vulnerability_id, count(distinct digest) as images, count(*) as findings,
          max(${RANK}) as rank, max(epss_score) as epss, max(exploit_available) as kev
        from findings ${this.h.dialect === "sqlite" ? sql`indexed by findings_image` : sql``}
        where repository_id in (${sql.join(ids)}) and status = 'ACTIVE'
        group by repository_id, vulnerability_id`.execute(this.h.db);
      for (const r of rows.rows)
        out.push({
          repositoryId: Number(r.repository_id),
          vulnerabilityId: r.vulnerability_id,
          images: Number(r.images),
          findings: Number(r.findings),
          severityRank: Number(r.rank),
          epssScore: r.epss === null ? null : Number(r.epss),
          kev: Number(r.kev) === 1,
        });
    }
    return out;
  }

  /** Writes per-repository counts as of `at` (replacing those pairs' rows). */
  async putRepositoryVulnerabilities(
    stats: readonly RepositoryVulnerabilityStat[],
    at: number,
  ): Promise<void> {
    for (const part of chunks(stats, BATCH))
      await this.h.db
        .insertInto("console_repository_vulnerabilities")
        .values(
          part.map((s) => ({
            repository_id: s.repositoryId,
            vulnerability_id: s.vulnerabilityId,
            images: s.images,
            findings: s.findings,
            severity_rank: s.severityRank,
            epss_score: s.epssScore,
            kev: s.kev ? 1 : 0,
            refreshed_at: at,
          })),
        )
        .onConflict((oc) =>
          oc.columns(["repository_id", "vulnerability_id"]).doUpdateSet((eb) => ({
            images: eb.ref("excluded.images"),
            findings: eb.ref("excluded.findings"),
            severity_rank: eb.ref("excluded.severity_rank"),
            epss_score: eb.ref("excluded.epss_score"),
            kev: eb.ref("excluded.kev"),
            refreshed_at: eb.ref("excluded.refreshed_at"),
          })),
        )
        .execute();
  }

  /**
   * Deletes the per-repository rows of `repositoryIds` (all: undefined) that a refresh started at
   * `at` did not write again (no ACTIVE finding any more, or a repository deleted).
   */
  async dropRepositoryVulnerabilitiesBefore(at: number, repositoryIds?: readonly number[]): Promise<number> {
    let n = 0;
    for (const ids of repositoryIds ? chunks(repositoryIds, IDS) : [undefined]) {
      let q = this.h.db.deleteFrom("console_repository_vulnerabilities").where("refreshed_at", "<", at);
      if (ids) q = q.where("repository_id", "in", ids);
      n += Number((await q.executeTakeFirst()).numDeletedRows);
    }
    return n;
  }

  /**
   * The open vulnerabilities of some repositories (a restricted user's), summed from the
   * maintained per-repository rows: read by key, a few rows per repository.
   */
  async vulnerabilitiesOf(repositoryIds: readonly number[]): Promise<VulnerabilityStat[]> {
    const acc = new Map<string, VulnerabilityStat & { rank: number }>();
    for (const ids of chunks(repositoryIds, IDS)) {
      const rows = await this.h.db
        .selectFrom("console_repository_vulnerabilities")
        .select((eb) => [
          "vulnerability_id",
          eb.fn.sum<number>("images").as("images"),
          eb.fn.countAll<number>().as("repositories"),
          eb.fn.sum<number>("findings").as("findings"),
          eb.fn.max("severity_rank").as("rank"),
          eb.fn.max("epss_score").as("epss"),
          eb.fn.max("kev").as("kev"),
        ])
        .where("repository_id", "in", ids)
        .groupBy("vulnerability_id")
        .execute();
      for (const r of rows)
        addStat(acc, {
          vulnerabilityId: r.vulnerability_id,
          images: Number(r.images),
          repositories: Number(r.repositories),
          findings: Number(r.findings),
          severityRank: Number(r.rank),
          epssScore: r.epss === null ? null : Number(r.epss),
          kev: Number(r.kev) === 1,
        });
    }
    return finishStats(acc);
  }

  /** Writes a chunk of counts as of `at` (replacing the ids' rows). */
  async putVulnerabilities(stats: readonly VulnerabilityStat[], at: number): Promise<void> {
    for (const part of chunks(stats, BATCH))
      await this.h.db
        .insertInto("console_vulnerabilities")
        .values(
          part.map((s) => ({
            vulnerability_id: s.vulnerabilityId,
            images: s.images,
            repositories: s.repositories,
            findings: s.findings,
            severity: s.severity,
            epss_score: s.epssScore,
            kev: s.kev ? 1 : 0,
            priority: s.priority,
            refreshed_at: at,
          })),
        )
        .onConflict((oc) =>
          oc.column("vulnerability_id").doUpdateSet((eb) => ({
            images: eb.ref("excluded.images"),
            repositories: eb.ref("excluded.repositories"),
            findings: eb.ref("excluded.findings"),
            severity: eb.ref("excluded.severity"),
            epss_score: eb.ref("excluded.epss_score"),
            kev: eb.ref("excluded.kev"),
            priority: eb.ref("excluded.priority"),
            refreshed_at: eb.ref("excluded.refreshed_at"),
          })),
        )
        .execute();
  }

  /** Deletes the rows a refresh started at `at` did not write again (no ACTIVE finding any more). */
  async dropVulnerabilitiesBefore(at: number): Promise<number> {
    const r = await this.h.db
      .deleteFrom("console_vulnerabilities")
      .where("refreshed_at", "<", at)
      .executeTakeFirst();
    return Number(r.numDeletedRows);
  }

  /** When the table was last refreshed (the newest row), or null when it is empty. */
  async vulnerabilitiesRefreshedAt(): Promise<number | null> {
    const r = await this.h.db
      .selectFrom("console_vulnerabilities")
      .select((eb) => eb.fn.max("refreshed_at").as("at"))
      .executeTakeFirst();
    return r?.at === null || r?.at === undefined ? null : Number(r.at);
  }

  /** The first `limit` vulnerabilities by affected images, or in priority order (KEV first). */
  async topVulnerabilities(order: "images" | "priority", limit: number): Promise<VulnerabilityStat[]> {
    let q = this.h.db.selectFrom("console_vulnerabilities").selectAll();
    q =
      order === "images"
        ? q.orderBy("images", "desc").orderBy("vulnerability_id")
        : q
            .orderBy("kev", "desc")
            .orderBy("priority", "desc")
            .orderBy("images", "desc")
            .orderBy("vulnerability_id");
    const rows = await q.limit(limit).execute();
    return rows.map(toStat);
  }

  /**
   * A page of the open vulnerabilities (the maintained counts) in one of three orders, those
   * whose id starts with `prefix` when given, and how many match.
   */
  async vulnerabilityPage(q: {
    order: "images" | "priority" | "id";
    desc: boolean;
    prefix?: string;
    limit: number;
    offset: number;
  }): Promise<{ items: VulnerabilityStat[]; total: number }> {
    const d = q.desc ? "desc" : "asc";
    const rev = q.desc ? "asc" : "desc";
    let sel = this.h.db.selectFrom("console_vulnerabilities").selectAll();
    let count = this.h.db
      .selectFrom("console_vulnerabilities")
      .select((eb) => eb.fn.countAll<number>().as("n"));
    if (q.prefix) {
      // Exact on both dialects whatever the collation (a key range is not, on PostgreSQL's
      // linguistic collations); the table holds one row per open vulnerability, not per finding.
      const starts = sql<SqlBool>`substr(vulnerability_id, 1, ${q.prefix.length}) = ${q.prefix}`;
      sel = sel.where(starts);
      count = count.where(starts);
    }
    sel =
      q.order === "images"
        ? sel.orderBy("images", d).orderBy("vulnerability_id", rev)
        : q.order === "priority"
          ? sel.orderBy("kev", d).orderBy("priority", d).orderBy("images", d).orderBy("vulnerability_id", rev)
          : sel.orderBy("vulnerability_id", d);
    const rows = await sel.limit(q.limit).offset(q.offset).execute();
    const c = await count.executeTakeFirst();
    return { items: rows.map(toStat), total: Number(c?.n ?? 0) };
  }

  /** One vulnerability's maintained counts, or null. */
  async vulnerability(id: string): Promise<VulnerabilityStat | null> {
    const r = await this.h.db
      .selectFrom("console_vulnerabilities")
      .selectAll()
      .where("vulnerability_id", "=", id)
      .executeTakeFirst();
    return r ? toStat(r) : null;
  }

  /**
   * The open (ACTIVE, SUPPRESSED) findings of a vulnerability, a page in the order of one of the
   * vulnerability indexes (last observed, or severity), then id: the page is read from the index
   * in order, never sorted whole. `repositoryIds` narrows to the caller's repositories.
   */
  async affectedFindings(q: {
    vulnerabilityId: string;
    statuses: readonly ("ACTIVE" | "SUPPRESSED")[];
    repositoryIds?: readonly number[];
    order: "lastObserved" | "severity";
    desc: boolean;
    limit: number;
    offset: number;
  }): Promise<AffectedFindingRow[]> {
    if (q.repositoryIds && !q.repositoryIds.length) return [];
    if (!q.statuses.length) return [];
    const id = this.h.dialect === "postgres" ? sql`f.id collate "C"` : sql`f.id`;
    // The indexes hold (key desc, id asc): the order walks one forward or backward, so the
    // tie-break on id runs opposite to the key (a temporary B-tree otherwise sorts every row).
    const dir = q.desc ? sql`desc` : sql`asc`;
    const tie = q.desc ? sql`asc` : sql`desc`;
    const order =
      q.order === "lastObserved"
        ? sql`f.last_observed_at ${dir}, ${id} ${tie}`
        : sql`${SEVERITY_RANK} ${dir}, ${id} ${tie}`;
    const where = [
      sql<SqlBool>`f.vulnerability_id = ${q.vulnerabilityId}`,
      sql<SqlBool>`f.status in (${sql.join([...q.statuses])})`,
    ];
    if (q.repositoryIds) where.push(sql<SqlBool>`f.repository_id in (${sql.join([...q.repositoryIds])})`);
    const rows = await sql<{
      id: string;
      repository_id: number;
      name: string;
      digest: string;
      scan_type: string;
      status: string;
      severity: string;
      package_name: string;
      package_path: string;
      fix_available: string;
      epss_score: number | null;
      first_observed_at: number;
      last_observed_at: number;
      json: string;
    }>`select f.id, f.repository_id, r.name, f.digest, f.scan_type, f.status, f.severity,
        f.package_name, f.package_path, f.fix_available, f.epss_score, f.first_observed_at,
        f.last_observed_at, f.json
      from findings f join repositories r on r.id = f.repository_id
      where ${sql.join(where, sql` and `)}
      order by ${order} limit ${q.limit} offset ${q.offset}`.execute(this.h.db);
    return rows.rows.map((r) => ({
      findingId: r.id,
      repositoryId: Number(r.repository_id),
      repositoryName: r.name,
      digest: r.digest,
      scanType: r.scan_type,
      status: r.status,
      severity: r.severity,
      packageName: r.package_name,
      packagePath: r.package_path,
      fixAvailable: r.fix_available,
      epssScore: r.epss_score === null ? null : Number(r.epss_score),
      firstObservedAt: Number(r.first_observed_at),
      lastObservedAt: Number(r.last_observed_at),
      json: r.json,
    }));
  }

  /**
   * How many open findings of a vulnerability there are, counted up to `cap` (a CVE in 50,000
   * images is not counted to the end for a page header): `capped` when there are more.
   */
  async countAffected(q: {
    vulnerabilityId: string;
    statuses: readonly ("ACTIVE" | "SUPPRESSED")[];
    repositoryIds?: readonly number[];
    cap: number;
  }): Promise<{ count: number; capped: boolean }> {
    if ((q.repositoryIds && !q.repositoryIds.length) || !q.statuses.length)
      return { count: 0, capped: false };
    const where = [
      sql<SqlBool>`vulnerability_id = ${q.vulnerabilityId}`,
      sql<SqlBool>`status in (${sql.join([...q.statuses])})`,
    ];
    if (q.repositoryIds) where.push(sql<SqlBool>`repository_id in (${sql.join([...q.repositoryIds])})`);
    const r = await sql<{ n: number }>`select count(*) as n from (select 1 from findings
      where ${sql.join(where, sql` and `)} limit ${q.cap + 1}) t`.execute(this.h.db);
    const n = Number(r.rows[0]?.n ?? 0);
    return n > q.cap ? { count: q.cap, capped: true } : { count: n, capped: false };
  }

  /** The shared text (finding_details JSON) of one open finding of a vulnerability, or null. */
  async vulnerabilityText(vulnerabilityId: string): Promise<{ details: string; own: string } | null> {
    const r = await this.h.db
      .selectFrom("findings as f")
      .innerJoin("finding_details as d", "d.hash", "f.details_hash")
      .select(["d.json as details", "f.json as own"])
      .where("f.vulnerability_id", "=", vulnerabilityId)
      .orderBy("f.last_observed_at", "desc")
      .limit(1)
      .executeTakeFirst();
    return r ?? null;
  }

  /**
   * Open (ACTIVE) findings by severity now, whatever the scan type, of every repository or of
   * some: sums of the maintained per-repository counts (repository_finding_counts, 0015).
   */
  async openNow(repositoryIds?: readonly number[]): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const ids of repositoryIds ? chunks(repositoryIds, IDS) : [undefined]) {
      let q = this.h.db
        .selectFrom("repository_finding_counts")
        .select((eb) => ["severity", eb.fn.sum<number>("count").as("n")])
        .where("scan_type", "in", ["BASIC", "ENHANCED"])
        .where("status", "=", "ACTIVE")
        .where("count", ">", 0)
        .groupBy("severity");
      if (ids) q = q.where("repository_id", "in", ids);
      for (const r of await q.execute()) out[r.severity] = (out[r.severity] ?? 0) + Number(r.n);
    }
    return out;
  }

  // --- coverage -----------------------------------------------------------------------------

  /** Images by scan type and scan status, of every repository or of some. */
  async scanCounts(
    repositoryIds?: readonly number[],
  ): Promise<{ scanType: string; status: string; count: number }[]> {
    const out = new Map<string, { scanType: string; status: string; count: number }>();
    const parts = repositoryIds ? chunks(repositoryIds, IDS) : [undefined];
    for (const ids of parts) {
      let q = this.h.db
        .selectFrom("image_scans")
        .select((eb) => ["scan_type", "status", eb.fn.countAll<number>().as("n")])
        .groupBy(["scan_type", "status"]);
      if (ids) q = q.where("repository_id", "in", ids);
      for (const r of await q.execute()) {
        const k = `${r.scan_type} ${r.status}`;
        const e = out.get(k) ?? { scanType: r.scan_type, status: r.status, count: 0 };
        e.count += Number(r.n);
        out.set(k, e);
      }
    }
    return [...out.values()];
  }

  // --- reports ----------------------------------------------------------------------------

  /** Inserts an IN_PROGRESS record; false (nothing inserted) when the period has one already. */
  async createReport(r: NewConsoleReport): Promise<boolean> {
    const now = this.h.now();
    const inserted = await this.h.db
      .insertInto("console_reports")
      .values({
        id: r.id,
        period: r.period,
        kind: r.kind,
        status: "IN_PROGRESS",
        range_from: r.rangeFrom,
        range_to: r.rangeTo,
        html_key: null,
        csv_key: null,
        html_bytes: null,
        csv_bytes: null,
        summary: null,
        error: null,
        created_by: r.createdBy,
        created_at: now,
        updated_at: now,
        completed_at: null,
      })
      .onConflict((oc) => oc.doNothing())
      .returning("id")
      .executeTakeFirst();
    return inserted !== undefined;
  }

  async report(id: string): Promise<StoredConsoleReport | null> {
    const r = await this.h.db
      .selectFrom("console_reports")
      .selectAll()
      .where("id", "=", id)
      .executeTakeFirst();
    return r ? toReport(r) : null;
  }

  async reportOfPeriod(period: string): Promise<StoredConsoleReport | null> {
    const r = await this.h.db
      .selectFrom("console_reports")
      .selectAll()
      .where("period", "=", period)
      .executeTakeFirst();
    return r ? toReport(r) : null;
  }

  /**
   * Takes over an IN_PROGRESS record last touched before `staleBefore` (its writer died):
   * compare-and-set on `updated_at`, so of two nodes only one takes it. True when taken.
   */
  async takeOverReport(id: string, staleBefore: number): Promise<boolean> {
    const r = await this.h.db
      .updateTable("console_reports")
      .set({ updated_at: this.h.now() })
      .where("id", "=", id)
      .where("status", "=", "IN_PROGRESS")
      .where("updated_at", "<", staleBefore)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /** IN_PROGRESS records last touched before `staleBefore` (their writer stopped), oldest first. */
  async staleReports(staleBefore: number, limit: number): Promise<StoredConsoleReport[]> {
    const rows = await this.h.db
      .selectFrom("console_reports")
      .selectAll()
      .where("status", "=", "IN_PROGRESS")
      .where("updated_at", "<", staleBefore)
      .orderBy("updated_at")
      .limit(limit)
      .execute();
    return rows.map(toReport);
  }

  /** Ends an IN_PROGRESS record; false when it was not in progress. */
  async finishReport(
    id: string,
    o: {
      status: "SUCCEEDED" | "FAILED";
      htmlKey?: string;
      csvKey?: string;
      htmlBytes?: number;
      csvBytes?: number;
      summary?: string;
      error?: string;
    },
  ): Promise<boolean> {
    const now = this.h.now();
    const r = await this.h.db
      .updateTable("console_reports")
      .set({
        status: o.status,
        html_key: o.htmlKey ?? null,
        csv_key: o.csvKey ?? null,
        html_bytes: o.htmlBytes ?? null,
        csv_bytes: o.csvBytes ?? null,
        summary: o.summary ?? null,
        error: o.error ?? null,
        updated_at: now,
        completed_at: now,
      })
      .where("id", "=", id)
      .where("status", "=", "IN_PROGRESS")
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /** A page of reports, newest first, and how many there are. */
  async reports(limit: number, offset: number): Promise<{ items: StoredConsoleReport[]; total: number }> {
    const rows = await this.h.db
      .selectFrom("console_reports")
      .selectAll()
      .orderBy("created_at", "desc")
      .orderBy("id")
      .limit(limit)
      .offset(offset)
      .execute();
    const c = await this.h.db
      .selectFrom("console_reports")
      .select((eb) => eb.fn.countAll<number>().as("n"))
      .executeTakeFirst();
    return { items: rows.map(toReport), total: Number(c?.n ?? 0) };
  }
}

/**
 * Sums per-repository counts into per-vulnerability ones (images and findings add up, since an
 * image belongs to one repository; each row is one more repository; the highest severity, EPSS
 * and KEV win). `finishStats` turns the sums into VulnerabilityStats.
 */
export function addStat(
  acc: Map<string, VulnerabilityStat & { rank: number }>,
  s: Omit<RepositoryVulnerabilityStat, "repositoryId"> & { repositories?: number },
): void {
  const e = acc.get(s.vulnerabilityId);
  if (!e) {
    acc.set(s.vulnerabilityId, {
      vulnerabilityId: s.vulnerabilityId,
      images: s.images,
      repositories: s.repositories ?? 1,
      findings: s.findings,
      severity: "",
      epssScore: s.epssScore,
      kev: s.kev,
      priority: 0,
      rank: s.severityRank,
    });
    return;
  }
  e.images += s.images;
  e.repositories += s.repositories ?? 1;
  e.findings += s.findings;
  e.rank = Math.max(e.rank, s.severityRank);
  if (s.epssScore !== null && (e.epssScore === null || s.epssScore > e.epssScore)) e.epssScore = s.epssScore;
  e.kev ||= s.kev;
}

export function finishStats(acc: Map<string, VulnerabilityStat & { rank: number }>): VulnerabilityStat[] {
  return [...acc.values()].map(({ rank, ...s }) => {
    const severity = RANKED[rank] ?? "UNTRIAGED";
    return { ...s, severity, priority: priorityOf(s.epssScore, severity) };
  });
}

/** EPSS x the severity's weight (no EPSS: 0, so the severity and then the images decide). */
export function priorityOf(epss: number | null, severity: string): number {
  return (epss ?? 0) * (SEVERITY_WEIGHT[severity] ?? 1);
}

function toStat(r: Database["console_vulnerabilities"]): VulnerabilityStat {
  return {
    vulnerabilityId: r.vulnerability_id,
    images: Number(r.images),
    repositories: Number(r.repositories),
    findings: Number(r.findings),
    severity: r.severity,
    epssScore: r.epss_score === null ? null : Number(r.epss_score),
    kev: Number(r.kev) === 1,
    priority: Number(r.priority),
  };
}
