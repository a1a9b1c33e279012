import type { DashboardView, TopVulnerabilityView } from "../../../../src/api/console/contract/dashboard.js";
import { useApi } from "../../api.js";
import { PageHeader } from "../../components/Layout.js";
import { SeverityBadge, SeverityCounts } from "../../components/SeverityCounts.js";
import { formatCount, formatTime } from "../../format.js";
import { Link, setQuery, useQuery, vulnerabilityPath } from "../../router.js";
import { OpenTrendChart, RemediationChart, WeeklyFlowChart } from "./charts.js";
import "./dashboard.css";

/**
 * The dashboard (`/console/dashboard?days=30`): open findings over time, new versus fixed per
 * week, time to remediate, coverage, the vulnerabilities affecting the most images and the
 * ones to fix first, and the vulnerability database's freshness. Loaded lazily by App.tsx
 * (it brings recharts). A restricted user sees their repositories' figures (the API decides).
 */

export const RANGES = [7, 30, 90, 365] as const;

function VulnerabilityTable({
  rows,
  caption,
  testId,
}: {
  rows: TopVulnerabilityView[];
  caption: string;
  testId: string;
}) {
  return (
    <div className="table-wrap" data-testid={testId}>
      <table>
        <caption className="visually-hidden">{caption}</caption>
        <thead>
          <tr>
            <th scope="col">Vulnerability</th>
            <th scope="col">Severity</th>
            <th scope="col" className="num">
              Images
            </th>
            <th scope="col" className="num">
              EPSS
            </th>
            <th scope="col">Known exploited</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((v) => (
            <tr key={v.id}>
              <td>
                <Link to={vulnerabilityPath(v.id)}>{v.id}</Link>
              </td>
              <td>
                <SeverityBadge severity={v.severity} />
              </td>
              <td className="num">{formatCount(v.images)}</td>
              <td className="num">{v.epss === null ? "—" : v.epss.toFixed(3)}</td>
              <td>{v.kev ? <strong>KEV</strong> : "—"}</td>
            </tr>
          ))}
          {rows.length === 0 && (
            <tr>
              <td colSpan={5} className="empty">
                No open vulnerability.
              </td>
            </tr>
          )}
        </tbody>
      </table>
    </div>
  );
}

function Tile({ label, value, testId }: { label: string; value: number; testId: string }) {
  return (
    <div className="tile" data-testid={testId}>
      <span className="tile-value">{formatCount(value)}</span>
      <span className="tile-label">{label}</span>
    </div>
  );
}

export function DashboardPage() {
  const q = useQuery();
  const days = RANGES.includes(Number(q.days) as (typeof RANGES)[number]) ? Number(q.days) : 30;
  const { data, error, loading } = useApi<DashboardView>("/dashboard", { days }, { refreshMs: 60_000 });
  const d = data;
  return (
    <>
      <PageHeader
        title="Dashboard"
        actions={
          <label>
            Range{" "}
            <select
              data-testid="dashboard-range"
              value={days}
              onChange={(e) => setQuery({ days: e.target.value === "30" ? undefined : e.target.value })}
            >
              {RANGES.map((r) => (
                <option key={r} value={r}>
                  {r === 365 ? "1 year" : `${r} days`}
                </option>
              ))}
            </select>
          </label>
        }
      />
      {error && (
        <p role="alert" className="error">
          {error.message}
        </p>
      )}
      {!d && loading && <p className="loading">Loading…</p>}
      {d && (
        <div data-testid="dashboard" aria-busy={loading ? "true" : "false"}>
          <p className="muted">
            {d.scope === "account" ? "Every repository" : "The repositories you may pull"}; computed{" "}
            {formatTime(d.generatedAt)}
            {d.refreshedAt !== null ? `, from counts of ${formatTime(d.refreshedAt)}` : ""}.
          </p>
          <section aria-labelledby="dash-now" className="panel">
            <h2 id="dash-now">Open now</h2>
            <div data-testid="dashboard-open-now">
              <SeverityCounts counts={d.openNow} />
            </div>
          </section>
          <div className="grid">
            <OpenTrendChart points={d.open} />
            <WeeklyFlowChart weeks={d.weekly} />
            <RemediationChart rows={d.remediation} />
            <section aria-labelledby="dash-coverage" className="panel" data-testid="dashboard-coverage">
              <h2 id="dash-coverage">Coverage</h2>
              <div className="tiles">
                <Tile label="Scanned" value={d.coverage.scanned} testId="coverage-scanned" />
                <Tile label="Failed" value={d.coverage.failed} testId="coverage-failed" />
                <Tile label="Unsupported" value={d.coverage.unsupported} testId="coverage-unsupported" />
                <Tile label="Scan eligibility expired" value={d.coverage.expired} testId="coverage-expired" />
              </div>
            </section>
          </div>
          <div className="grid">
            <section aria-labelledby="dash-top" className="panel">
              <h2 id="dash-top">Most affected images</h2>
              <VulnerabilityTable
                rows={d.topVulnerabilities}
                caption="Vulnerabilities by affected images"
                testId="dashboard-top"
              />
            </section>
            <section aria-labelledby="dash-priority" className="panel">
              <h2 id="dash-priority">Fix first</h2>
              <p className="muted">Known exploited first, then EPSS × severity.</p>
              <VulnerabilityTable rows={d.priority} caption="Priority queue" testId="dashboard-priority" />
            </section>
          </div>
          <section aria-labelledby="dash-db" className="panel" data-testid="dashboard-database">
            <h2 id="dash-db">Vulnerability database</h2>
            <p>
              {d.database.status === "ready" ? (
                <>
                  Built {d.database.builtAt ?? "—"}; last confirmed current{" "}
                  {d.database.ageHours === null ? "—" : `${d.database.ageHours} hours ago`}
                  {d.database.stale && (
                    <strong className="error"> (stale: older than {d.database.maxAgeHours} hours)</strong>
                  )}
                  .
                </>
              ) : (
                <span className="error">{d.database.message ?? `Database ${d.database.status}.`}</span>
              )}
              {d.database.lastError && (
                <span className="error"> Last update failed: {d.database.lastError}</span>
              )}
            </p>
            {d.database.feeds.length > 0 && (
              <div className="table-wrap">
                <table>
                  <caption className="visually-hidden">Feeds</caption>
                  <thead>
                    <tr>
                      <th scope="col">Feed</th>
                      <th scope="col">Imported</th>
                      <th scope="col" className="num">
                        Age (hours)
                      </th>
                      <th scope="col" className="num">
                        Advisories
                      </th>
                      <th scope="col" className="num">
                        Problems
                      </th>
                    </tr>
                  </thead>
                  <tbody>
                    {d.database.feeds.map((f) => (
                      <tr key={f.id}>
                        <td>{f.name || f.id}</td>
                        <td>{f.importedAt}</td>
                        <td className="num">{f.ageHours}</td>
                        <td className="num">{formatCount(f.advisories)}</td>
                        <td className="num">{formatCount(f.problems)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
          </section>
        </div>
      )}
    </>
  );
}
