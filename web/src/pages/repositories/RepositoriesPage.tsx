import type {
  RepositoryListPage,
  RepositoryView,
} from "../../../../src/api/console/contract/repositories.js";
import { useApi } from "../../api.js";
import { DataTable, useTableQuery, type Column } from "../../components/DataTable.js";
import { PageHeader } from "../../components/Layout.js";
import { SeverityCounts } from "../../components/SeverityCounts.js";
import { formatAgo, formatCount, formatTime } from "../../format.js";
import { Link, repositoryPath, setQuery, useQuery } from "../../router.js";

const FREQUENCY: Record<RepositoryView["scanFrequency"], string> = {
  SCAN_ON_PUSH: "On push",
  CONTINUOUS_SCAN: "Continuous",
  MANUAL: "Manual",
};

/** Columns of the repository list; `key` is the API's sort name where sortable. */
export const REPOSITORY_COLUMNS: Column<RepositoryView>[] = [
  {
    key: "name",
    header: "Repository",
    sortable: true,
    render: (r) => <Link to={repositoryPath(r.name)}>{r.name}</Link>,
  },
  { key: "images", header: "Images", sortable: true, align: "right", render: (r) => formatCount(r.images) },
  {
    key: "lastPush",
    firstOrder: "desc",
    header: "Last push",
    sortable: true,
    nowrap: true,
    render: (r) => (
      <span title={formatTime(r.lastPushAt)}>{r.lastPushAt === null ? "—" : formatAgo(r.lastPushAt)}</span>
    ),
  },
  {
    key: "scanFrequency",
    header: "Scan frequency",
    nowrap: true,
    render: (r) => (
      <span title={`${r.scanType} scanning`}>{FREQUENCY[r.scanFrequency] ?? r.scanFrequency}</span>
    ),
  },
  {
    key: "critical",
    firstOrder: "desc",
    header: "Vulnerabilities",
    sortable: true,
    nowrap: true,
    render: (r) => <SeverityCounts counts={r.findings} />,
  },
];

/**
 * The repositories the user may pull (`/console/` and `/console/repositories`): search by name,
 * sort by any column (Vulnerabilities sorts by critical findings), paged on the server; the
 * search, sort and page are in the URL.
 */
export function RepositoriesPage() {
  const q = useQuery();
  const table = useTableQuery({ sort: "name" });
  const search = q.search ?? "";
  const { data, error, loading } = useApi<RepositoryListPage>("/repositories", {
    search,
    ...table,
  });
  return (
    <>
      <PageHeader title="Repositories" />
      <div className="toolbar" role="search">
        <label>
          Search repositories
          <input
            type="search"
            value={search}
            placeholder="part of a name"
            onChange={(e) => setQuery({ search: e.target.value, offset: undefined })}
          />
        </label>
      </div>
      <DataTable
        caption="Repositories"
        testId="repositories"
        columns={REPOSITORY_COLUMNS}
        rows={data?.items}
        rowKey={(r) => r.name}
        query={table}
        total={data?.total}
        loading={loading}
        error={error}
        empty={search ? `No repository name contains “${search}”.` : "No repositories yet: push an image."}
      />
    </>
  );
}
