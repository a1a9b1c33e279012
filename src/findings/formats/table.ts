import type { Finding, Severity } from "../finding.js";
import { SEVERITY_ORDER } from "../finding.js";

export interface TableOptions {
  /** ANSI colours per severity (a terminal, not a file or a pipe). */
  color?: boolean;
  /** First line: the image, platform and distro. */
  title?: string;
  /** Findings the ignore file suppressed: counted in the summary, not listed. */
  ignored?: number;
  /** Findings VEX or an exception suppressed: counted in the summary, listed apart. */
  suppressed?: number;
}

const HEADER = ["VULNERABILITY", "PACKAGE", "INSTALLED", "FIXED", "TYPE", "LOCATION", "TITLE"];
/** Cells wider than this are cut (the title is last and cut at TITLE_WIDTH). */
const MAX_WIDTH = 48;
const TITLE_WIDTH = 60;

/**
 * The terminal report: findings grouped by severity (most severe first), one row each
 * (vulnerability, package, installed, fixed, type, where in the image, title), and a
 * summary line. The location tells two copies of one package apart (a lock file and the
 * installed package.json, a jar and the same jar nested in a fat jar).
 */
export function renderTable(findings: Finding[], opts: TableOptions = {}): string {
  const color = opts.color ?? false;
  const paint: Record<Severity, string> = {
    CRITICAL: "\x1b[1;31m",
    HIGH: "\x1b[31m",
    MEDIUM: "\x1b[33m",
    LOW: "\x1b[36m",
    INFORMATIONAL: "\x1b[2m",
    UNDEFINED: "\x1b[2m",
  };
  const c = (s: Severity, text: string) => (color ? `${paint[s]}${text}\x1b[0m` : text);
  const lines: string[] = [];
  if (opts.title) lines.push(opts.title, "");
  for (const sev of SEVERITY_ORDER) {
    const group = findings.filter((f) => f.severity === sev);
    if (!group.length) continue;
    lines.push(c(sev, `${sev} (${group.length})`));
    const rows = group.map((f) => [
      f.vulnerabilityId,
      f.package.name,
      f.package.version,
      f.fixedVersion ??
        (f.status === "will_not_fix"
          ? "(will not fix)"
          : f.fixAvailable === "PARTIAL"
            ? "(partial)"
            : "(no fix)"),
      f.package.ecosystem,
      truncateStart(location(f), MAX_WIDTH),
      f.title ? truncate(f.title, TITLE_WIDTH) : "",
    ]);
    const widths = HEADER.map((h, i) =>
      Math.min(MAX_WIDTH, Math.max(h.length, ...rows.map((r) => r[i]!.length))),
    );
    const fmt = (r: string[]) =>
      "  " +
      r
        .map((cell, i) => (i === r.length - 1 ? cell : truncate(cell, widths[i]!).padEnd(widths[i]!)))
        .join("  ")
        .trimEnd();
    lines.push(fmt(HEADER));
    for (const r of rows) lines.push(fmt(r));
    lines.push("");
  }
  lines.push(
    summaryLine(
      summaryCounts(findings),
      findings.length,
      fixableCount(findings),
      opts.ignored,
      opts.suppressed,
    ),
  );
  return lines.join("\n");
}

/** Where the package was read from: the file, and the member inside an archive. */
export function location(f: Finding): string {
  return f.package.archivePath ? `${f.package.path}!${f.package.archivePath}` : f.package.path;
}

export function summaryCounts(findings: Finding[]): Record<Severity, number> {
  const counts = Object.fromEntries(SEVERITY_ORDER.map((s) => [s, 0])) as Record<Severity, number>;
  for (const f of findings) counts[f.severity]++;
  return counts;
}

function fixableCount(findings: Finding[]): number {
  return findings.filter((f) => f.fixedVersion).length;
}

/** `Total: 16 vulnerabilities (6 high, 10 medium), 12 with a fix; 2 ignored`. */
export function summaryLine(
  counts: Record<Severity, number>,
  total: number,
  fixable?: number,
  ignored?: number,
  suppressed?: number,
): string {
  const parts = SEVERITY_ORDER.filter((s) => counts[s] > 0).map((s) => `${counts[s]} ${s.toLowerCase()}`);
  let line = `Total: ${total} vulnerabilit${total === 1 ? "y" : "ies"}${parts.length ? ` (${parts.join(", ")})` : ""}`;
  if (fixable !== undefined && total > 0) line += `, ${fixable} with a fix`;
  if (ignored) line += `; ${ignored} ignored by the ignore file`;
  if (suppressed) line += `; ${suppressed} suppressed by VEX or exceptions`;
  return line;
}

function truncate(s: string, n: number): string {
  return s.length > n ? s.slice(0, n - 1) + "…" : s;
}

/** Paths keep their end (the file name) when cut. */
function truncateStart(s: string, n: number): string {
  return s.length > n ? "…" + s.slice(s.length - n + 1) : s;
}
