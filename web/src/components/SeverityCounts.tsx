/**
 * Counts of findings by severity as small badges, most severe first (the ECR console's
 * Vulnerabilities column). Severities with no finding are left out; none at all shows "None".
 */

export const SEVERITIES = [
  "CRITICAL",
  "HIGH",
  "MEDIUM",
  "LOW",
  "INFORMATIONAL",
  "UNTRIAGED",
  "UNDEFINED",
] as const;
export type Severity = (typeof SEVERITIES)[number];

const LABEL: Record<Severity, string> = {
  CRITICAL: "Critical",
  HIGH: "High",
  MEDIUM: "Medium",
  LOW: "Low",
  INFORMATIONAL: "Informational",
  UNTRIAGED: "Untriaged",
  UNDEFINED: "Undefined",
};

export function severityLabel(s: string): string {
  return LABEL[s as Severity] ?? s;
}

export function SeverityBadge({ severity, children }: { severity: string; children?: React.ReactNode }) {
  return (
    <span className={`sev sev-${severity.toLowerCase()}`} title={severityLabel(severity)}>
      {children ?? severityLabel(severity)}
    </span>
  );
}

export function SeverityCounts({ counts }: { counts: Partial<Record<string, number>> | null | undefined }) {
  const shown = SEVERITIES.filter((s) => (counts?.[s] ?? 0) > 0);
  if (!counts) return <span className="muted">—</span>;
  if (shown.length === 0) return <span className="muted">None</span>;
  return (
    <span className="sev-counts" aria-label={shown.map((s) => `${counts[s]} ${severityLabel(s)}`).join(", ")}>
      {shown.map((s) => (
        <SeverityBadge key={s} severity={s}>
          {counts[s]} {severityLabel(s).charAt(0)}
        </SeverityBadge>
      ))}
    </span>
  );
}
