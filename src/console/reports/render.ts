import type { DashboardView, TopVulnerabilityView } from "../../api/console/contract/dashboard.js";
import { DASHBOARD_SEVERITIES } from "../../api/console/contract/dashboard.js";
import type { ReportSummary } from "../../api/console/contract/reports.js";
import { csvLine } from "../../findings/reports/findings-format.js";

/**
 * What a console report says, as HTML (a self-contained page: inline styles, no script, every
 * value escaped) and CSV (RFC 4180; text cells that a spreadsheet would run as a formula are
 * prefixed with `'`, since package names and titles come from images and feeds).
 */

/** One open critical finding as the report lists it. */
export interface CriticalRow {
  repository: string;
  digest: string;
  vulnerability: string;
  package: string;
  installedVersion: string;
  fixedVersion: string;
  fixAvailable: string;
  epss: string;
  kev: string;
  firstObserved: string;
  lastObserved: string;
  scanType: string;
}

export const CRITICAL_COLUMNS: readonly (readonly [keyof CriticalRow, string])[] = [
  ["repository", "Repository"],
  ["digest", "Image Digest"],
  ["vulnerability", "Vulnerability"],
  ["package", "Package"],
  ["installedVersion", "Installed Version"],
  ["fixedVersion", "Fixed Version"],
  ["fixAvailable", "Fix Available"],
  ["epss", "EPSS"],
  ["kev", "Known Exploited"],
  ["firstObserved", "First Observed"],
  ["lastObserved", "Last Observed"],
  ["scanType", "Scan Type"],
];

/** A text cell a spreadsheet would evaluate (=, +, -, @, tab, CR) starts with `'` instead. */
export function safeCell(v: string): string {
  return /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
}

export function criticalsCsvHeader(): string {
  return csvLine(CRITICAL_COLUMNS.map(([, h]) => h));
}

export function criticalCsvLine(r: CriticalRow): string {
  return csvLine(CRITICAL_COLUMNS.map(([k]) => safeCell(r[k])));
}

/** The dashboard in long form: section, key, metric, value (one row per figure). */
export function dashboardCsv(d: DashboardView): string {
  const out = [csvLine(["Section", "Key", "Metric", "Value"])];
  const row = (section: string, key: string, metric: string, value: number | string | null) =>
    out.push(csvLine([section, safeCell(key), metric, value === null ? "" : String(value)]));
  for (const p of d.open) for (const s of DASHBOARD_SEVERITIES) row("open", p.day, s, p[s]);
  for (const w of d.weekly) {
    row("weekly", w.week, "opened", w.opened);
    row("weekly", w.week, "fixed", w.fixed);
  }
  for (const m of d.remediation) {
    row("remediation", m.severity, "fixed", m.fixed);
    row("remediation", m.severity, "meanHours", m.meanMs === null ? null : round(m.meanMs / 3_600_000));
  }
  for (const [status, n] of Object.entries(d.coverage.byStatus)) row("coverage", status, "images", n);
  const vuln = (section: string, v: TopVulnerabilityView) => {
    row(section, v.id, "images", v.images);
    row(section, v.id, "severity", v.severity);
    row(section, v.id, "epss", v.epss);
    row(section, v.id, "kev", v.kev ? "YES" : "NO");
  };
  for (const v of d.topVulnerabilities) vuln("top", v);
  for (const v of d.priority) vuln("priority", v);
  row("database", "builtAt", "time", d.database.builtAt);
  row("database", "ageHours", "hours", d.database.ageHours);
  return out.join("");
}

const round = (n: number) => Math.round(n * 10) / 10;

const ESC: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
export function esc(v: unknown): string {
  return String(v ?? "").replace(/[&<>"']/g, (c) => ESC[c]!);
}

/** The console path of a repository (as web/src/router.tsx: each segment of the name encoded). */
const repositoryPath = (name: string) =>
  `/console/repositories/${name.split("/").map(encodeURIComponent).join("/")}`;

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");

export interface HtmlInput {
  title: string;
  from: number;
  to: number;
  generatedAt: number;
  dashboard: DashboardView;
  summary: ReportSummary;
  criticals: CriticalRow[];
  /** Open criticals in all (the HTML lists the first `criticals.length`). */
  criticalsTotal: number;
  /** The console's base URL (config publicUrl), for links; none: plain text. */
  consoleUrl?: string;
}

export function reportHtml(i: HtmlInput): string {
  const d = i.dashboard;
  const link = (path: string, text: string) =>
    i.consoleUrl ? `<a href="${esc(`${i.consoleUrl}${path}`)}">${esc(text)}</a>` : esc(text);
  const vulnLink = (id: string) => link(`/console/vulnerabilities/${encodeURIComponent(id)}`, id);
  const table = (head: string[], rows: string[][]) =>
    `<table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join("")}</tr></thead><tbody>${rows
      .map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join("")}</tr>`)
      .join("")}</tbody></table>`;
  const vulnRows = (vs: TopVulnerabilityView[]) =>
    vs.map((v) => [vulnLink(v.id), esc(v.severity), esc(v.images), esc(v.epss ?? ""), v.kev ? "YES" : "NO"]);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(i.title)}</title>
<style>body{font:14px system-ui,sans-serif;margin:2em;color:#1b1f24}table{border-collapse:collapse;margin:.5em 0 1.5em}
th,td{border:1px solid #ccd;padding:3px 8px;text-align:left}th{background:#eef}h2{margin-top:1.5em}.muted{color:#555}</style></head>
<body><h1>${esc(i.title)}</h1>
<p class="muted">Range ${esc(iso(i.from))} to ${esc(iso(i.to))}; generated ${esc(iso(i.generatedAt))}.</p>
<h2>Open findings now</h2>
${table([...DASHBOARD_SEVERITIES], [DASHBOARD_SEVERITIES.map((s) => esc(i.summary.open[s] ?? 0))])}
<p>In the range: ${esc(i.summary.opened)} findings opened, ${esc(i.summary.fixed)} fixed.</p>
<h2>New versus fixed per week</h2>
${table(
  ["Week", "Opened", "Fixed"],
  d.weekly.map((w) => [esc(w.week), esc(w.opened), esc(w.fixed)]),
)}
<h2>Mean time to remediate</h2>
${table(
  ["Severity", "Fixed", "Mean (hours)"],
  d.remediation.map((m) => [
    esc(m.severity),
    esc(m.fixed),
    esc(m.meanMs === null ? "" : round(m.meanMs / 3_600_000)),
  ]),
)}
<h2>Coverage</h2>
${table(
  ["Scanned", "Failed", "Unsupported", "Expired", "All"],
  [
    [
      esc(d.coverage.scanned),
      esc(d.coverage.failed),
      esc(d.coverage.unsupported),
      esc(d.coverage.expired),
      esc(d.coverage.total),
    ],
  ],
)}
<h2>Top vulnerabilities by affected images</h2>
${table(["Vulnerability", "Severity", "Images", "EPSS", "KEV"], vulnRows(d.topVulnerabilities))}
<h2>Fix first (known exploited, then EPSS x severity)</h2>
${table(["Vulnerability", "Severity", "Images", "EPSS", "KEV"], vulnRows(d.priority))}
<h2>Open critical findings (${esc(i.criticalsTotal)})</h2>
${
  i.criticalsTotal > i.criticals.length
    ? `<p class="muted">The first ${esc(i.criticals.length)}; the CSV lists them all.</p>`
    : ""
}
${table(
  ["Repository", "Image", "Vulnerability", "Package", "Installed", "Fixed", "EPSS", "KEV"],
  i.criticals.map((c) => [
    link(repositoryPath(c.repository), c.repository),
    link(`${repositoryPath(c.repository)}/images/${c.digest}`, c.digest.slice(0, 19)),
    vulnLink(c.vulnerability),
    esc(c.package),
    esc(c.installedVersion),
    esc(c.fixedVersion),
    esc(c.epss),
    esc(c.kev),
  ]),
)}
<h2>Vulnerability database</h2>
<p>Status ${esc(d.database.status)}; built ${esc(d.database.builtAt ?? "never")}${
    d.database.ageHours === null ? "" : `; ${esc(d.database.ageHours)} hours since last confirmed current`
  }${d.database.stale ? " (stale)" : ""}.</p>
</body></html>
`;
}
