/**
 * The console's dashboard (/api/console/dashboard?days=N): trends from the finding history,
 * coverage, the vulnerabilities to fix first, and the database's freshness.
 * Type-only: imported by src/api/console/dashboard.ts, src/console/ and web/src/pages/dashboard/.
 */

export const DASHBOARD_SEVERITIES = [
  "CRITICAL",
  "HIGH",
  "MEDIUM",
  "LOW",
  "INFORMATIONAL",
  "UNTRIAGED",
] as const;
export type DashboardSeverity = (typeof DASHBOARD_SEVERITIES)[number];

/** Counts by severity (every severity present, 0 included). */
export type SeverityTotals = Record<DashboardSeverity, number>;

export interface DailyOpenPoint extends SeverityTotals {
  /** UTC day, YYYY-MM-DD: the counts of its daily snapshot (taken in its first hour). */
  day: string;
}

export interface WeeklyFlowPoint {
  /** The Monday (YYYY-MM-DD) the week starts. */
  week: string;
  opened: number;
  fixed: number;
}

export interface RemediationView {
  severity: DashboardSeverity;
  /** Findings remediated (closed as fixed, or their image deleted) in the range. */
  fixed: number;
  /** Their mean time open, in ms; null when none. */
  meanMs: number | null;
}

export interface CoverageView {
  /** Images by scan status (COMPLETE, ACTIVE, FAILED, UNSUPPORTED_IMAGE, SCAN_ELIGIBILITY_EXPIRED, ...). */
  byStatus: Record<string, number>;
  /** The four the dashboard names. */
  scanned: number;
  failed: number;
  unsupported: number;
  expired: number;
  /** Images with a scan state at all. */
  total: number;
}

export interface TopVulnerabilityView {
  id: string;
  severity: string;
  images: number;
  repositories: number;
  epss: number | null;
  kev: boolean;
  /** EPSS x the severity's weight (the priority queue's order after KEV). */
  priority: number;
}

export interface FeedHealthView {
  id: string;
  name: string;
  importedAt: string;
  /** Hours since the feed was imported. */
  ageHours: number;
  advisories: number;
  problems: number;
}

export interface DatabaseView {
  status: "ready" | "building" | "missing" | "unknown";
  message?: string;
  lastError?: string;
  builtAt: string | null;
  checkedAt: string | null;
  /** Hours since the database was last confirmed current (checkedAt). */
  ageHours: number | null;
  /** vulndb.maxAgeHours: older than this is stale. */
  maxAgeHours: number;
  stale: boolean;
  feeds: FeedHealthView[];
}

export interface DashboardView {
  days: number;
  /** What it covers: every repository, or the caller's (restricted users). */
  scope: "account" | "repositories";
  /** Epoch ms the figures were computed (cached up to 60 s). */
  generatedAt: number;
  /** When the rollups it reads were last refreshed (epoch ms; null: not yet). */
  refreshedAt: number | null;
  open: DailyOpenPoint[];
  /** Open (ACTIVE) findings by severity now (the maintained counts, not a snapshot). */
  openNow: SeverityTotals;
  weekly: WeeklyFlowPoint[];
  remediation: RemediationView[];
  coverage: CoverageView;
  topVulnerabilities: TopVulnerabilityView[];
  priority: TopVulnerabilityView[];
  database: DatabaseView;
}
