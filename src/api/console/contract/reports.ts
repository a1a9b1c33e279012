/**
 * The console's reports (/api/console/reports): scheduled (console.reports.schedule) or made
 * on demand, each an HTML and a CSV object in the blob store.
 * Type-only: imported by src/api/console/reports.ts, src/console/reports/ and web/src/pages/reports/.
 */

/** html: the report; csv: the open criticals; dashboard-csv: the dashboard's figures, one per row. */
export const REPORT_FORMAT_NAMES = ["html", "csv", "dashboard-csv"] as const;
export type ReportFormat = (typeof REPORT_FORMAT_NAMES)[number];

export interface ReportSummary {
  /** Open (ACTIVE) findings by severity at the time of the report. */
  open: Record<string, number>;
  /** Open criticals listed in the CSV. */
  criticals: number;
  /** Findings opened and fixed in the range. */
  opened: number;
  fixed: number;
}

export interface ReportView {
  id: string;
  /** `daily:YYYY-MM-DD`, `weekly:YYYY-MM-DD` (the Monday), `manual:<id>`. */
  period: string;
  kind: "scheduled" | "manual";
  status: "IN_PROGRESS" | "SUCCEEDED" | "FAILED";
  /** The range reported, epoch ms [from, to). */
  from: number;
  to: number;
  createdAt: number;
  completedAt: number | null;
  createdBy: string;
  error: string | null;
  summary: ReportSummary | null;
  /** The files, once written (download: GET /api/console/reports/<id>/<format>). */
  files: { format: ReportFormat; key: string; bytes: number }[];
}

export interface ReportsPage {
  items: ReportView[];
  total: number;
  limit: number;
  offset: number;
  /** The configured schedule (off, daily, weekly). */
  schedule: string;
}
