import type { Finding, Severity } from "../../match/types.js";
import { SEVERITY_ORDER } from "../../match/types.js";

/**
 * The terminal report: findings grouped by severity (most severe first), one row each
 * (vulnerability, package, installed, fixed, status), and a summary line.
 */
export function renderTable(findings: Finding[], opts: { color?: boolean; title?: string } = {}): string {
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
  const counts = summaryCounts(findings);
  for (const sev of SEVERITY_ORDER) {
    const group = findings.filter((f) => f.severity === sev);
    if (!group.length) continue;
    lines.push(c(sev, `${sev} (${group.length})`));
    const rows = group.map((f) => [
      f.vulnerabilityId,
      f.package.name,
      f.package.version,
      f.fixedVersion ?? (f.status === "will_not_fix" ? "(will not fix)" : "(no fix)"),
      f.package.ecosystem,
      f.title ? truncate(f.title, 60) : "",
    ]);
    const header = ["VULNERABILITY", "PACKAGE", "INSTALLED", "FIXED", "TYPE", "TITLE"];
    const widths = header.map((h, i) => Math.min(48, Math.max(h.length, ...rows.map((r) => r[i]!.length))));
    const fmt = (r: string[]) =>
      "  " +
      r
        .map((cell, i) => (i === r.length - 1 ? cell : truncate(cell, widths[i]!).padEnd(widths[i]!)))
        .join("  ")
        .trimEnd();
    lines.push(fmt(header));
    for (const r of rows) lines.push(fmt(r));
    lines.push("");
  }
  lines.push(summaryLine(counts, findings.length));
  return lines.join("\n");
}

export function summaryCounts(findings: Finding[]): Record<Severity, number> {
  const counts = Object.fromEntries(SEVERITY_ORDER.map((s) => [s, 0])) as Record<Severity, number>;
  for (const f of findings) counts[f.severity]++;
  return counts;
}

export function summaryLine(counts: Record<Severity, number>, total: number): string {
  const parts = SEVERITY_ORDER.filter((s) => counts[s] > 0).map((s) => `${counts[s]} ${s.toLowerCase()}`);
  return `Total: ${total} vulnerabilit${total === 1 ? "y" : "ies"}${parts.length ? ` (${parts.join(", ")})` : ""}`;
}

function truncate(s: string, n: number): string {
  return s.length > n ? s.slice(0, n - 1) + "…" : s;
}
