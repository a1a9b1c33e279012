import { useState } from "react";
import type { TopVulnerabilityView } from "../../../../src/api/console/contract/dashboard.js";
import type { VulnerabilityListPage } from "../../../../src/api/console/contract/vulnerabilities.js";
import { useApi } from "../../api.js";
import { DataTable, useTableQuery, type Column } from "../../components/DataTable.js";
import { PageHeader } from "../../components/Layout.js";
import { SeverityBadge } from "../../components/SeverityCounts.js";
import { formatCount, formatTime } from "../../format.js";
import { Link, navigate, setQuery, useQuery, vulnerabilityPath } from "../../router.js";

/**
 * The open vulnerabilities (`/console/vulnerabilities`): by affected images, priority (known
 * exploited first, then EPSS × severity) or id, searchable by id prefix, with a field that opens
 * any id (`CVE-...`, `GHSA-...`) directly.
 */

export const VULNERABILITY_COLUMNS: Column<TopVulnerabilityView>[] = [
  {
    key: "id",
    header: "Vulnerability",
    sortable: true,
    render: (v) => <Link to={vulnerabilityPath(v.id)}>{v.id}</Link>,
  },
  {
    key: "severity",
    firstOrder: "desc",
    header: "Severity",
    nowrap: true,
    render: (v) => <SeverityBadge severity={v.severity} />,
  },
  { key: "images", header: "Images", sortable: true, align: "right", render: (v) => formatCount(v.images) },
  { key: "repositories", header: "Repositories", align: "right", render: (v) => formatCount(v.repositories) },
  { key: "epss", header: "EPSS", align: "right", render: (v) => (v.epss === null ? "—" : v.epss.toFixed(3)) },
  {
    key: "priority",
    firstOrder: "desc",
    header: "Known exploited",
    sortable: true,
    render: (v) => (v.kev ? <strong>KEV</strong> : "—"),
  },
];

export function VulnerabilitiesPage() {
  const q = useQuery();
  const table = useTableQuery({ sort: "images", order: "desc" });
  const search = q.search ?? "";
  const [open, setOpen] = useState("");
  const { data, error, loading } = useApi<VulnerabilityListPage>("/vulnerabilities", {
    search,
    ...table,
  });
  return (
    <>
      <PageHeader title="Vulnerabilities" />
      <div className="toolbar">
        <label>
          Search open vulnerabilities
          <input
            type="search"
            value={search}
            placeholder="id prefix, e.g. CVE-2024"
            data-testid="vulnerability-search"
            onChange={(e) => setQuery({ search: e.target.value, offset: undefined })}
          />
        </label>
        <form
          role="search"
          onSubmit={(e) => {
            e.preventDefault();
            const id = open.trim();
            if (id) navigate(vulnerabilityPath(id));
          }}
        >
          <label>
            Open a vulnerability
            <input
              value={open}
              placeholder="CVE-2024-1234"
              data-testid="vulnerability-open"
              onChange={(e) => setOpen(e.target.value)}
            />
          </label>
          <button type="submit" className="button">
            Open
          </button>
        </form>
      </div>
      {data?.refreshedAt !== undefined && data.refreshedAt !== null && (
        <p className="muted">Counts of {formatTime(data.refreshedAt)} (refreshed every 15 minutes).</p>
      )}
      <DataTable
        testId="vulnerabilities"
        caption="Open vulnerabilities"
        columns={VULNERABILITY_COLUMNS}
        rows={data?.items}
        rowKey={(v) => v.id}
        query={table}
        total={data?.total}
        loading={loading}
        error={error}
        empty={search ? "No open vulnerability with this prefix." : "No open vulnerability."}
      />
    </>
  );
}
