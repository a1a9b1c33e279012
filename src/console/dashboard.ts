import type {
  CoverageView,
  DashboardSeverity,
  DashboardView,
  DatabaseView,
  DailyOpenPoint,
  RemediationView,
  SeverityTotals,
  TopVulnerabilityView,
  WeeklyFlowPoint,
} from "../api/console/contract/dashboard.js";
import { DASHBOARD_SEVERITIES } from "../api/console/contract/dashboard.js";
import { DAY_MS, utcDay, WEEK_MS, weekStart } from "../storage/meta/history-store.js";
import type { DailyRows, MetaStore, VulnerabilityStat } from "../storage/meta/store.js";
import type { VulnDbHealthReport } from "../scan/vulndb-health.js";
import type { FeedStatus } from "../vulndb/db.js";

/**
 * The dashboard's figures (docs/console.md, "Dashboard"), from maintained aggregates only:
 * the daily rollup (console_daily, rollup.ts) for the trends, flows and time to remediate, the
 * per-vulnerability counts (console_vulnerabilities) for the top and the priority queue, the
 * image scan states for coverage, and the vulnerability database's own small tables.
 *
 * Access: a caller who may pull every repository sees the account (the account-wide rows); a
 * restricted caller sees the same figures computed for the repositories they may pull (the
 * per-repository rows of the rollup, of the daily snapshots and of the open findings per
 * vulnerability), never the account's totals. Results are cached DASHBOARD_TTL_MS per
 * (caller scope, days): a dashboard opened by many people at once is computed once a minute.
 */

export const DASHBOARD_TTL_MS = 60_000;
export const TOP_VULNERABILITIES = 10;
const CACHE_ENTRIES = 256;

/** What the dashboard reads of the vulnerability database (the running server's VulnDbProvider and health). */
export interface DatabaseSource {
  /** When built and last confirmed current, and its feeds; null when there is no database. */
  info(): { builtAt: string; checkedAt: string; feeds: FeedStatus[] } | null;
  health?(): VulnDbHealthReport | undefined;
}

export interface DashboardOptions {
  now: () => number;
  database?: DatabaseSource;
  /** vulndb.maxAgeHours. */
  maxAgeHours: number;
  ttlMs?: number;
}

const zeros = (): SeverityTotals =>
  Object.fromEntries(DASHBOARD_SEVERITIES.map((s) => [s, 0])) as SeverityTotals;

/** BASIC says UNDEFINED where ENHANCED says UNTRIAGED: one column on the dashboard. */
export function dashboardSeverity(s: string): DashboardSeverity {
  return (DASHBOARD_SEVERITIES as readonly string[]).includes(s) ? (s as DashboardSeverity) : "UNTRIAGED";
}

export class DashboardService {
  private readonly cache = new Map<string, { at: number; view: DashboardView }>();

  constructor(
    private readonly meta: MetaStore,
    private readonly o: DashboardOptions,
  ) {}

  /**
   * The dashboard of the last `days` days. `scope`: undefined for the account, else a key
   * naming the caller in the cache (the user) and how to list the repositories they may pull
   * (called only when the cache has no fresh answer: listing them walks every repository name).
   */
  async view(
    days: number,
    scope?: { key: string; repositoryIds: () => Promise<readonly number[]> },
  ): Promise<DashboardView> {
    const now = this.o.now();
    const key = `${scope ? `u:${scope.key}` : "account"}|${days}`;
    const hit = this.cache.get(key);
    if (hit && now - hit.at < (this.o.ttlMs ?? DASHBOARD_TTL_MS)) return hit.view;
    const view = await this.compute(days, now, scope ? await scope.repositoryIds() : undefined);
    this.cache.delete(key);
    if (this.cache.size >= CACHE_ENTRIES) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(key, { at: now, view });
    return view;
  }

  private async compute(
    days: number,
    now: number,
    repositoryIds?: readonly number[],
  ): Promise<DashboardView> {
    const today = Math.floor(now / DAY_MS);
    const dayList: string[] = [];
    for (let d = today - days + 1; d <= today; d++) dayList.push(utcDay(d * DAY_MS));
    const rows: DailyRows = repositoryIds
      ? await this.meta.console.dailyFor(dayList, repositoryIds)
      : await this.meta.console.daily(dayList[0]!, dayList.at(-1)!);

    const open = openPoints(rows);
    const openNow = zeros();
    for (const [severity, n] of Object.entries(await this.meta.console.openNow(repositoryIds)))
      openNow[dashboardSeverity(severity)] += n;
    const weekly = weeklyFlows(rows, (today - days + 1) * DAY_MS, (today + 1) * DAY_MS);
    const remediation = remediationOf(rows);
    const coverage = coverageOf(await this.meta.console.scanCounts(repositoryIds));
    let top: VulnerabilityStat[];
    let priority: VulnerabilityStat[];
    if (repositoryIds) {
      const all = await this.liveVulnerabilities(repositoryIds);
      top = [...all].sort((a, b) => b.images - a.images || cmp(a.vulnerabilityId, b.vulnerabilityId));
      priority = [...all].sort(byPriority);
    } else {
      top = await this.meta.console.topVulnerabilities("images", TOP_VULNERABILITIES);
      priority = await this.meta.console.topVulnerabilities("priority", TOP_VULNERABILITIES);
    }
    return {
      days,
      scope: repositoryIds ? "repositories" : "account",
      generatedAt: now,
      refreshedAt: await this.meta.console.vulnerabilitiesRefreshedAt(),
      open,
      openNow,
      weekly,
      remediation,
      coverage,
      topVulnerabilities: top.slice(0, TOP_VULNERABILITIES).map(topView),
      priority: priority.slice(0, TOP_VULNERABILITIES).map(topView),
      database: this.database(now),
    };
  }

  /** A restricted caller's open vulnerabilities, from the maintained per-repository counts. */
  private liveVulnerabilities(repositoryIds: readonly number[]): Promise<VulnerabilityStat[]> {
    return this.meta.console.vulnerabilitiesOf(repositoryIds);
  }

  private database(now: number): DatabaseView {
    const base = { maxAgeHours: this.o.maxAgeHours };
    const src = this.o.database;
    if (!src)
      return {
        ...base,
        status: "unknown",
        builtAt: null,
        checkedAt: null,
        ageHours: null,
        stale: false,
        feeds: [],
      };
    const health = src.health?.();
    let info: ReturnType<DatabaseSource["info"]>;
    try {
      info = src.info();
    } catch {
      info = null;
    }
    const hours = (iso: string) => {
      const t = Date.parse(iso);
      return Number.isNaN(t) ? null : Math.max(0, Math.round(((now - t) / 3_600_000) * 10) / 10);
    };
    const ageHours = info ? hours(info.checkedAt) : null;
    return {
      ...base,
      status: info ? "ready" : (health?.status ?? "missing"),
      ...(health?.message !== undefined ? { message: health.message } : {}),
      ...(health?.lastError !== undefined ? { lastError: health.lastError } : {}),
      builtAt: info?.builtAt || null,
      checkedAt: info?.checkedAt || null,
      ageHours,
      stale: ageHours !== null && ageHours > this.o.maxAgeHours,
      feeds: (info?.feeds ?? []).map((f) => ({
        id: f.id,
        name: f.name,
        importedAt: f.importedAt,
        ageHours: hours(f.importedAt) ?? 0,
        advisories: f.advisories,
        problems: f.problems,
      })),
    };
  }
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** KEV first, then EPSS x severity weight, then affected images. */
export function byPriority(a: VulnerabilityStat, b: VulnerabilityStat): number {
  return (
    Number(b.kev) - Number(a.kev) ||
    b.priority - a.priority ||
    b.images - a.images ||
    cmp(a.vulnerabilityId, b.vulnerabilityId)
  );
}

export function topView(s: VulnerabilityStat): TopVulnerabilityView {
  return {
    id: s.vulnerabilityId,
    severity: s.severity,
    images: s.images,
    repositories: s.repositories,
    epss: s.epssScore,
    kev: s.kev,
    priority: Math.round(s.priority * 1000) / 1000,
  };
}

/** Open (ACTIVE) findings by severity on each day that has a snapshot. */
export function openPoints(r: DailyRows): DailyOpenPoint[] {
  const by = new Map<string, DailyOpenPoint>(r.snapshotDays.map((d) => [d, { day: d, ...zeros() }]));
  for (const row of r.rows) {
    const p = by.get(row.day);
    if (p) p[dashboardSeverity(row.severity)] += row.active;
  }
  return [...by.values()].sort((a, b) => cmp(a.day, b.day));
}

/** Opened and fixed per week (Monday to Sunday) of [from, to), every week listed. */
export function weeklyFlows(r: DailyRows, from: number, to: number): WeeklyFlowPoint[] {
  const out = new Map<number, WeeklyFlowPoint>();
  for (let w = weekStart(from); w < to; w += WEEK_MS) out.set(w, { week: utcDay(w), opened: 0, fixed: 0 });
  for (const row of r.rows) {
    const p = out.get(weekStart(Date.parse(`${row.day}T00:00:00Z`)));
    if (!p) continue;
    p.opened += row.opened;
    p.fixed += row.fixed;
  }
  return [...out.values()];
}

/** Findings remediated in the range and their mean time open, by severity. */
export function remediationOf(r: DailyRows): RemediationView[] {
  const sum = new Map<DashboardSeverity, { fixed: number; ms: number }>();
  for (const row of r.rows) {
    const s = dashboardSeverity(row.severity);
    const e = sum.get(s) ?? { fixed: 0, ms: 0 };
    e.fixed += row.fixed;
    e.ms += row.fixedMs;
    sum.set(s, e);
  }
  return DASHBOARD_SEVERITIES.map((severity) => {
    const e = sum.get(severity) ?? { fixed: 0, ms: 0 };
    return { severity, fixed: e.fixed, meanMs: e.fixed ? Math.round(e.ms / e.fixed) : null };
  });
}

/** Image scan states, and the four the dashboard names. */
export function coverageOf(rows: readonly { status: string; count: number }[]): CoverageView {
  const byStatus: Record<string, number> = {};
  for (const r of rows) byStatus[r.status] = (byStatus[r.status] ?? 0) + r.count;
  const n = (s: string) => byStatus[s] ?? 0;
  return {
    byStatus,
    // ENHANCED images under continuous scanning are ACTIVE; BASIC ones COMPLETE.
    scanned: n("COMPLETE") + n("ACTIVE"),
    failed: n("FAILED"),
    unsupported: n("UNSUPPORTED_IMAGE"),
    expired: n("SCAN_ELIGIBILITY_EXPIRED"),
    total: Object.values(byStatus).reduce((a, b) => a + b, 0),
  };
}
