import type { ImageView, Page, PlatformView } from "../../../../src/api/console/contract/images.js";
import { useApi } from "../../api.js";
import { DataTable, useTableQuery, type Column } from "../../components/DataTable.js";
import { PageHeader } from "../../components/Layout.js";
import { SeverityCounts } from "../../components/SeverityCounts.js";
import { formatAgo, formatBytes, formatTime, shortDigest } from "../../format.js";
import { imagePath, Link, setQuery, useQuery } from "../../router.js";
import "./registry-views.css";

export function platformLabel(p: PlatformView): string {
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ""}`;
}

/** The scan status as the ECR console words it. */
export function scanLabel(img: Pick<ImageView, "scan" | "kind">): string {
  if (img.scan.status === null) return img.kind === "artifact" ? "Not scanned (artifact)" : "Not scanned";
  const s = img.scan.status;
  return s.charAt(0) + s.slice(1).toLowerCase().replace(/_/g, " ");
}

export function SignedBadge({ signed }: { signed: boolean }) {
  return signed ? (
    <span
      className="badge badge-ok"
      title="A cosign .sig tag or a signature referrer exists (not verified here)"
    >
      Signed
    </span>
  ) : (
    <span className="muted">Unsigned</span>
  );
}

/** Columns of a repository's images; `key` is the API's sort name where sortable. */
export function imageColumns(repository: string): Column<ImageView>[] {
  return [
    {
      key: "tag",
      header: "Tags",
      sortable: true,
      render: (i) => (
        <>
          {i.tags.length ? (
            i.tags.map((t) => (
              <span key={t} className="tag mono">
                {t}
              </span>
            ))
          ) : (
            <span className="muted">untagged</span>
          )}
          {i.kind !== "image" && <span className="badge">{i.kind === "index" ? "Index" : "Artifact"}</span>}
        </>
      ),
    },
    {
      key: "digest",
      header: "Digest",
      sortable: true,
      nowrap: true,
      render: (i) => (
        <span className="mono" title={i.digest}>
          {shortDigest(i.digest)}
        </span>
      ),
    },
    {
      key: "pushedAt",
      firstOrder: "desc",
      header: "Pushed",
      sortable: true,
      nowrap: true,
      render: (i) => <span title={formatTime(i.pushedAt)}>{formatAgo(i.pushedAt)}</span>,
    },
    {
      key: "lastPull",
      firstOrder: "desc",
      header: "Last pull",
      sortable: true,
      nowrap: true,
      render: (i) => <span title={formatTime(i.lastPulledAt)}>{formatAgo(i.lastPulledAt)}</span>,
    },
    { key: "size", header: "Size", align: "right", nowrap: true, render: (i) => formatBytes(i.size) },
    {
      key: "platforms",
      header: "Platform",
      render: (i) =>
        i.platforms.length ? i.platforms.map(platformLabel).join(", ") : <span className="muted">—</span>,
    },
    {
      key: "scan",
      header: "Scan status",
      nowrap: true,
      render: (i) => <span title={i.scan.description ?? ""}>{scanLabel(i)}</span>,
    },
    {
      key: "critical",
      firstOrder: "desc",
      header: "Vulnerabilities",
      sortable: true,
      nowrap: true,
      render: (i) =>
        i.kind === "index" ? (
          <span className="muted">see platforms</span>
        ) : i.scan.status === null ? (
          <span className="muted">—</span>
        ) : (
          <SeverityCounts counts={i.findings} />
        ),
    },
    { key: "signed", header: "Signature", nowrap: true, render: (i) => <SignedBadge signed={i.signed} /> },
    {
      key: "details",
      header: <span className="visually-hidden">Details</span>,
      nowrap: true,
      render: (i) => (
        <Link
          to={imagePath(repository, i.digest)}
          aria-label={`Details of ${i.tags[0] ?? shortDigest(i.digest)}`}
        >
          Details
        </Link>
      ),
    },
  ];
}

/**
 * A repository's images (`/console/repositories/<name>`), as the ECR console lists them: tags,
 * digest, push and pull, size, platforms, scan status, the Vulnerabilities column, signature,
 * and a Details link; filtered tagged/untagged, sorted and paged on the server, all in the URL.
 */
export function ImagesPage({ repository }: { repository: string }) {
  const q = useQuery();
  const table = useTableQuery({ sort: "pushedAt", order: "desc" });
  const tagged = q.tagged === "TAGGED" || q.tagged === "UNTAGGED" ? q.tagged : "ANY";
  const { data, error, loading } = useApi<Page<ImageView>>("/images", {
    repository,
    tagged,
    ...table,
  });
  return (
    <>
      <PageHeader
        title={repository}
        crumbs={
          <>
            <Link to="/repositories">Repositories</Link> / <span aria-current="page">{repository}</span>
          </>
        }
      />
      <div className="toolbar">
        <label>
          Show
          <select
            value={tagged}
            onChange={(e) =>
              setQuery({ tagged: e.target.value === "ANY" ? undefined : e.target.value, offset: undefined })
            }
          >
            <option value="ANY">All images</option>
            <option value="TAGGED">Tagged</option>
            <option value="UNTAGGED">Untagged</option>
          </select>
        </label>
      </div>
      <DataTable
        caption={`Images of ${repository}`}
        testId="images"
        columns={imageColumns(repository)}
        rows={error?.status === 404 ? [] : data?.items}
        rowKey={(i) => i.digest}
        query={table}
        total={data?.total}
        loading={loading}
        error={error}
        empty={tagged === "ANY" ? "No images in this repository." : `No ${tagged.toLowerCase()} images.`}
      />
    </>
  );
}
