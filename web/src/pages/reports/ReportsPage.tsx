import { useEffect, useState } from "react";
import type { ReportsPage as ReportsList, ReportView } from "../../../../src/api/console/contract/reports.js";
import { api, ApiError, apiUrl, useApi } from "../../api.js";
import { DataTable, useTableQuery, type Column } from "../../components/DataTable.js";
import { PageHeader } from "../../components/Layout.js";
import { SeverityCounts } from "../../components/SeverityCounts.js";
import { formatBytes, formatTime } from "../../format.js";
import { useSession } from "../../session.js";
import "./reports.css";

/**
 * The reports (`/console/reports`): the scheduled ones (console.reports.schedule) and those made
 * on demand, newest first, each downloadable as HTML, the open criticals as CSV and the
 * dashboard's figures as CSV. Admins write one now; the list follows it until it is done.
 */

const FILE_LABEL: Record<string, string> = {
  html: "HTML",
  csv: "Criticals CSV",
  "dashboard-csv": "Dashboard CSV",
};

const SCHEDULE: Record<string, string> = {
  off: "No scheduled reports (console.reports.schedule is off).",
  daily: "A report is written every day, covering the day before.",
  weekly: "A report is written every Monday, covering the week before.",
};

export const REPORT_COLUMNS: Column<ReportView>[] = [
  {
    key: "created",
    header: "Created",
    nowrap: true,
    render: (r) => formatTime(r.createdAt),
  },
  {
    key: "period",
    header: "Report",
    render: (r) =>
      r.kind === "manual"
        ? `On demand by ${r.createdBy}`
        : `${r.period.startsWith("weekly") ? "Weekly" : "Daily"} ${r.period.slice(r.period.indexOf(":") + 1)}`,
  },
  {
    key: "range",
    header: "Covers",
    nowrap: true,
    render: (r) => `${formatTime(r.from)} – ${formatTime(r.to)}`,
  },
  {
    key: "status",
    header: "Status",
    nowrap: true,
    render: (r) =>
      r.status === "FAILED" ? (
        <span className="error" title={r.error ?? undefined}>
          Failed{r.error ? `: ${r.error}` : ""}
        </span>
      ) : r.status === "IN_PROGRESS" ? (
        "Writing…"
      ) : (
        "Ready"
      ),
  },
  {
    key: "open",
    header: "Open findings",
    nowrap: true,
    render: (r) => (r.summary ? <SeverityCounts counts={r.summary.open} /> : "—"),
  },
  {
    key: "files",
    header: "Download",
    render: (r) => (
      <span className="downloads">
        {r.files.map((f) => (
          <a key={f.format} href={apiUrl(`/reports/${r.id}/${f.format}`)} download>
            {FILE_LABEL[f.format] ?? f.format} <span className="muted">({formatBytes(f.bytes)})</span>
          </a>
        ))}
      </span>
    ),
  },
];

const inProgressIn = (l: ReportsList | undefined) =>
  l?.items.some((r) => r.status === "IN_PROGRESS") ?? false;

/** `pollMs`: how often the list is read again while a report is being written. */
export function ReportsPage({ pollMs = 2000 }: { pollMs?: number }) {
  const session = useSession();
  const table = useTableQuery({ sort: "created", order: "desc", limit: 20 });
  // The report this page asked for, until the list shows it finished.
  const [awaiting, setAwaiting] = useState<string | null>(null);
  // Some report in the list is being written (on any node): the list is read again until done.
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<string | null>(null);
  const list = useApi<ReportsList>(
    "/reports",
    { limit: table.limit, offset: table.offset },
    // Follows reports being written.
    { refreshMs: awaiting !== null || busy ? pollMs : 0 },
  );
  useEffect(() => setBusy(inProgressIn(list.data)), [list.data]);
  const mine = awaiting === null ? undefined : list.data?.items.find((r) => r.id === awaiting);
  if (mine && mine.status !== "IN_PROGRESS") setAwaiting(null);
  const writing = awaiting !== null;
  const forbidden = list.error instanceof ApiError && list.error.status === 403;
  return (
    <>
      <PageHeader
        title="Reports"
        actions={
          session.admin ? (
            <button
              type="button"
              className="button"
              data-testid="report-generate"
              disabled={writing}
              onClick={() => {
                setFailure(null);
                api.post<ReportView>("/reports").then(
                  (r) => {
                    setAwaiting(r.id);
                    list.reload();
                  },
                  (e: unknown) => setFailure((e as Error).message),
                );
              }}
            >
              {writing ? "Writing a report…" : "Write a report now"}
            </button>
          ) : undefined
        }
      />
      {failure && (
        <p role="alert" className="error">
          {failure}
        </p>
      )}
      {forbidden ? (
        <p className="muted" data-testid="reports-forbidden">
          Reports cover every repository: they are for users who may pull every repository.
        </p>
      ) : (
        <>
          {list.data && <p className="muted">{SCHEDULE[list.data.schedule] ?? ""}</p>}
          <DataTable
            testId="reports"
            caption="Reports"
            columns={REPORT_COLUMNS}
            rows={list.data?.items}
            rowKey={(r) => r.id}
            query={table}
            total={list.data?.total}
            loading={list.loading}
            error={list.error}
            empty="No report yet."
          />
        </>
      )}
    </>
  );
}
