import type {
  FindingView,
  ImageDetailsView,
  LayersView,
  PackageView,
  Page,
  ReferrerView,
} from "../../../../src/api/console/contract/images.js";
import { apiUrl, useApi } from "../../api.js";
import { DataTable, useTableQuery, type Column } from "../../components/DataTable.js";
import { PageHeader } from "../../components/Layout.js";
import { SeverityBadge, SeverityCounts } from "../../components/SeverityCounts.js";
import { Tabs } from "../../components/Tabs.js";
import { formatBytes, formatTime, shortDigest } from "../../format.js";
import { imagePath, Link, repositoryPath, setQuery, useQuery, vulnerabilityPath } from "../../router.js";
import { platformLabel, scanLabel, SignedBadge } from "./ImagesPage.js";
import "./registry-views.css";

const TABS = [
  { id: "findings", label: "Findings" },
  { id: "layers", label: "Layers" },
  { id: "packages", label: "Packages" },
  { id: "referrers", label: "Referrers" },
];

/**
 * One image (`/console/repositories/<name>/images/<digest>`, `?tab=layers|packages|referrers`):
 * its summary and downloads, then tabs: the findings table (filters, sorting, paging), the
 * layers with the command that made each and what it brought, the packages (the SBOM), and
 * the referrers. An index shows its platforms, each linking to its own details.
 */
export function ImageDetailsPage({ repository, digest }: { repository: string; digest: string }) {
  const q = useQuery();
  const tab = TABS.some((t) => t.id === q.tab) ? q.tab! : "findings";
  const { data: img, error } = useApi<ImageDetailsView>(`/images/${digest}`, { repository });
  const title = img?.tags.length ? `${repository}:${img.tags[0]}` : shortDigest(digest);
  return (
    <>
      <PageHeader
        title={title}
        crumbs={
          <>
            <Link to="/repositories">Repositories</Link> /{" "}
            <Link to={repositoryPath(repository)}>{repository}</Link> /{" "}
            <span aria-current="page">{shortDigest(digest)}</span>
          </>
        }
      />
      {error && (
        <p role="alert" className="error">
          {error.message}
        </p>
      )}
      {img && <Summary img={img} />}
      {img?.kind === "index" ? (
        <Platforms img={img} />
      ) : (
        img && (
          <>
            <Tabs tabs={TABS} current={tab} label="Image details" />
            <div role="tabpanel" id={`tabpanel-${tab}`} aria-labelledby={`tab-${tab}`}>
              {tab === "findings" && <FindingsTab repository={repository} digest={digest} />}
              {tab === "layers" && <LayersTab repository={repository} digest={digest} />}
              {tab === "packages" && (
                <PackagesTab repository={repository} digest={digest} inventory={img.inventory} />
              )}
              {tab === "referrers" && <ReferrersTab repository={repository} digest={digest} />}
            </div>
          </>
        )
      )}
    </>
  );
}

function Summary({ img }: { img: ImageDetailsView }) {
  return (
    <div className="grid">
      <section className="panel" aria-label="Image">
        <dl className="facts">
          <dt>Digest</dt>
          <dd className="mono">{img.digest}</dd>
          <dt>Tags</dt>
          <dd>{img.tags.length ? img.tags.join(", ") : <span className="muted">untagged</span>}</dd>
          <dt>Pushed</dt>
          <dd>{formatTime(img.pushedAt)}</dd>
          <dt>Last pull</dt>
          <dd>{formatTime(img.lastPulledAt)}</dd>
          <dt>Size</dt>
          <dd>{formatBytes(img.size)}</dd>
          <dt>Platform</dt>
          <dd>{img.platforms.length ? img.platforms.map(platformLabel).join(", ") : "—"}</dd>
          <dt>Media type</dt>
          <dd className="mono">
            {img.artifactType && img.kind === "artifact" ? img.artifactType : img.mediaType}
          </dd>
        </dl>
      </section>
      <section className="panel" aria-label="Scan">
        <dl className="facts">
          <dt>Scan</dt>
          <dd>
            {scanLabel(img)} ({img.scan.scanType})
            {img.scan.description && <div className="muted">{img.scan.description}</div>}
          </dd>
          <dt>Completed</dt>
          <dd>{formatTime(img.scan.completedAt)}</dd>
          <dt>Vulnerabilities</dt>
          <dd>
            <SeverityCounts counts={img.findings} />
          </dd>
          <dt>Suppressed</dt>
          <dd>
            <SeverityCounts counts={img.suppressed} />
          </dd>
          <dt>Signature</dt>
          <dd>
            <SignedBadge signed={img.signed} />
          </dd>
          <dt>Referrers</dt>
          <dd>{img.referrers}</dd>
        </dl>
        <h2 className="visually-hidden">Downloads</h2>
        <p className="downloads">
          {img.downloads.map((d) => (
            <a key={d.href} className="button" href={apiUrl(d.href)} download>
              {d.label}
            </a>
          ))}
        </p>
      </section>
    </div>
  );
}

function Platforms({ img }: { img: ImageDetailsView }) {
  return (
    <section className="panel" aria-labelledby="platforms-h">
      <h2 id="platforms-h">Platforms</h2>
      <p className="muted">An image index: each platform is an image of its own, scanned on its own.</p>
      <ul>
        {img.platforms.map((p) =>
          p.digest ? (
            <li key={p.digest}>
              <Link to={imagePath(img.repository, p.digest)}>{platformLabel(p)}</Link>{" "}
              <span className="mono muted">{shortDigest(p.digest)}</span>
            </li>
          ) : null,
        )}
      </ul>
    </section>
  );
}

// --- findings --------------------------------------------------------------------------

export const FINDING_COLUMNS: Column<FindingView>[] = [
  {
    key: "severity",
    firstOrder: "desc",
    header: "Severity",
    sortable: true,
    nowrap: true,
    render: (f) => <SeverityBadge severity={f.severity} />,
  },
  {
    key: "vulnerabilityId",
    header: "Vulnerability",
    sortable: true,
    nowrap: true,
    render: (f) => (
      <>
        <Link to={vulnerabilityPath(f.vulnerabilityId)}>{f.vulnerabilityId}</Link>
        {f.title && <div className="muted">{f.title}</div>}
      </>
    ),
  },
  {
    key: "package",
    header: "Package",
    sortable: true,
    render: (f) => (
      <>
        {f.packageName} <span className="muted">({f.ecosystem})</span>
        {f.packagePath && <div className="muted mono">{f.packagePath}</div>}
      </>
    ),
  },
  { key: "installed", header: "Installed", render: (f) => <span className="mono">{f.packageVersion}</span> },
  {
    key: "fixed",
    header: "Fixed in",
    render: (f) =>
      f.fixedVersion ? <span className="mono">{f.fixedVersion}</span> : <span className="muted">—</span>,
  },
  { key: "fixAvailable", header: "Fix", sortable: true, nowrap: true, render: (f) => f.fixAvailable },
  {
    key: "epss",
    firstOrder: "desc",
    header: "EPSS",
    sortable: true,
    align: "right",
    render: (f) => (f.epss === null ? "—" : `${(f.epss * 100).toFixed(1)}%`),
  },
  { key: "kev", header: "KEV", render: (f) => (f.kev ? <span className="badge">Exploited</span> : "—") },
  { key: "status", header: "Status", sortable: true, render: (f) => f.status },
  {
    key: "firstObserved",
    firstOrder: "desc",
    header: "First observed",
    sortable: true,
    nowrap: true,
    render: (f) => formatTime(f.firstObservedAt),
  },
];

const FILTER_SEVERITIES = ["CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL", "UNTRIAGED", "UNDEFINED"];

function FindingsTab({ repository, digest }: { repository: string; digest: string }) {
  const q = useQuery();
  const table = useTableQuery({ sort: "severity", order: "desc" });
  const filters = {
    severity: q.severity,
    status: q.status,
    fixAvailable: q.fixAvailable,
    package: q.package,
    text: q.text,
  };
  const { data, error, loading } = useApi<Page<FindingView>>(`/images/${digest}/findings`, {
    repository,
    ...filters,
    ...table,
  });
  const set = (k: string) => (e: { target: { value: string } }) =>
    setQuery({ [k]: e.target.value, offset: undefined });
  return (
    <>
      <div className="filters" role="search" aria-label="Filter findings">
        <label>
          Severity
          <select value={filters.severity ?? ""} onChange={set("severity")}>
            <option value="">Any</option>
            {FILTER_SEVERITIES.map((s) => (
              <option key={s} value={s}>
                {s.charAt(0) + s.slice(1).toLowerCase()}
              </option>
            ))}
          </select>
        </label>
        <label>
          Status
          <select value={filters.status ?? ""} onChange={set("status")}>
            <option value="">Active and suppressed</option>
            <option value="ACTIVE">Active</option>
            <option value="SUPPRESSED">Suppressed</option>
            <option value="CLOSED">Closed</option>
          </select>
        </label>
        <label>
          Fix available
          <select value={filters.fixAvailable ?? ""} onChange={set("fixAvailable")}>
            <option value="">Any</option>
            <option value="YES">Yes</option>
            <option value="PARTIAL">Partial</option>
            <option value="NO">No</option>
          </select>
        </label>
        <label>
          Package
          <input type="search" value={filters.package ?? ""} onChange={set("package")} />
        </label>
        <label>
          Search
          <input type="search" value={filters.text ?? ""} placeholder="CVE, title" onChange={set("text")} />
        </label>
      </div>
      <DataTable
        caption="Findings"
        testId="findings"
        columns={FINDING_COLUMNS}
        rows={data?.items}
        rowKey={(f) => f.id}
        query={table}
        total={data?.total}
        loading={loading}
        error={error}
        empty="No findings match."
      />
    </>
  );
}

// --- layers ----------------------------------------------------------------------------

function LayersTab({ repository, digest }: { repository: string; digest: string }) {
  const { data, error, loading } = useApi<LayersView>(`/images/${digest}/layers`, { repository });
  if (error)
    return (
      <p role="alert" className="error">
        {error.message}
      </p>
    );
  if (!data) return <p className="loading">{loading ? "Loading…" : ""}</p>;
  return (
    <div className="table-wrap" data-testid="layers">
      <table>
        <caption className="visually-hidden">Layers</caption>
        <thead>
          <tr>
            <th scope="col">#</th>
            <th scope="col">Command</th>
            <th scope="col" className="num">
              Size
            </th>
            <th scope="col" className="num">
              Packages
            </th>
            <th scope="col">Vulnerabilities</th>
          </tr>
        </thead>
        <tbody>
          {data.layers.map((l) => (
            <tr key={`${l.index}-${l.digest}`}>
              <td>{l.index + 1}</td>
              <td>
                <div className="command">{l.command ?? <span className="muted">(no history)</span>}</div>
                <div className="mono muted" title={l.diffId ?? l.digest}>
                  {shortDigest(l.digest)}
                </div>
              </td>
              <td className="num nowrap">{formatBytes(l.size)}</td>
              <td className="num">
                {l.packages ? (
                  <Link to={`${imagePath(repository, digest, "packages")}&sort=layer`}>{l.packages}</Link>
                ) : (
                  0
                )}
              </td>
              <td className="nowrap">
                <SeverityCounts counts={l.findings} />
              </td>
            </tr>
          ))}
          {data.layers.length === 0 && (
            <tr>
              <td colSpan={5} className="empty">
                This image has no layers.
              </td>
            </tr>
          )}
        </tbody>
      </table>
    </div>
  );
}

// --- packages --------------------------------------------------------------------------

export const PACKAGE_COLUMNS: Column<PackageView>[] = [
  { key: "name", header: "Package", sortable: true, render: (p) => p.name },
  { key: "version", header: "Version", render: (p) => <span className="mono">{p.version}</span> },
  { key: "ecosystem", header: "Type", sortable: true, render: (p) => p.ecosystem },
  {
    key: "layer",
    header: "Layer",
    sortable: true,
    align: "right",
    render: (p) => (p.layerIndex === null ? "—" : p.layerIndex + 1),
  },
  { key: "licenses", header: "Licenses", render: (p) => p.licenses.join(", ") || "—" },
  { key: "findings", header: "Findings", sortable: true, align: "right", render: (p) => p.findings },
  {
    key: "purl",
    header: "Package URL",
    render: (p) => <span className="mono">{p.purl ?? "—"}</span>,
  },
];

function PackagesTab({
  repository,
  digest,
  inventory,
}: {
  repository: string;
  digest: string;
  inventory: boolean;
}) {
  const q = useQuery();
  const table = useTableQuery({ sort: "name" });
  const { data, error, loading } = useApi<Page<PackageView>>(
    inventory ? `/images/${digest}/packages` : null,
    {
      repository,
      search: q.search,
      ...table,
    },
  );
  if (!inventory) return <p className="muted">No packages yet: the image has not been analysed.</p>;
  return (
    <>
      <div className="filters" role="search">
        <label>
          Search packages
          <input
            type="search"
            value={q.search ?? ""}
            placeholder="name or package URL"
            onChange={(e) => setQuery({ search: e.target.value, offset: undefined })}
          />
        </label>
      </div>
      <DataTable
        caption="Packages"
        testId="packages"
        columns={PACKAGE_COLUMNS}
        rows={data?.items}
        rowKey={(p) => `${p.ecosystem}/${p.name}@${p.version}:${p.path ?? ""}`}
        query={table}
        total={data?.total}
        loading={loading}
        error={error}
        empty="No packages match."
      />
    </>
  );
}

// --- referrers -------------------------------------------------------------------------

const KIND: Record<ReferrerView["kind"], string> = {
  signature: "Signature",
  sbom: "SBOM",
  vex: "VEX",
  attestation: "Attestation",
  other: "Other",
};

function ReferrersTab({ repository, digest }: { repository: string; digest: string }) {
  const { data, error, loading } = useApi<Page<ReferrerView>>(`/images/${digest}/referrers`, { repository });
  if (error)
    return (
      <p role="alert" className="error">
        {error.message}
      </p>
    );
  if (!data) return <p className="loading">{loading ? "Loading…" : ""}</p>;
  return (
    <div className="table-wrap" data-testid="referrers">
      <table>
        <caption className="visually-hidden">Referrers</caption>
        <thead>
          <tr>
            <th scope="col">Kind</th>
            <th scope="col">Artifact type</th>
            <th scope="col">Digest</th>
            <th scope="col">Attached as</th>
            <th scope="col">Created</th>
            <th scope="col" className="num">
              Size
            </th>
          </tr>
        </thead>
        <tbody>
          {data.items.map((r) => (
            <tr key={`${r.via}-${r.digest}`}>
              <td>{KIND[r.kind]}</td>
              <td className="mono">{r.artifactType ?? r.mediaType}</td>
              <td>
                <Link to={imagePath(repository, r.digest)} className="mono">
                  {shortDigest(r.digest)}
                </Link>
              </td>
              <td>{r.via === "tag" ? <span className="mono">{r.tag}</span> : "referrer (subject)"}</td>
              <td className="nowrap">{formatTime(r.createdAt)}</td>
              <td className="num">{formatBytes(r.size)}</td>
            </tr>
          ))}
          {data.items.length === 0 && (
            <tr>
              <td colSpan={6} className="empty">
                Nothing refers to this image: no signature, SBOM, VEX or attestation.
              </td>
            </tr>
          )}
        </tbody>
      </table>
    </div>
  );
}
