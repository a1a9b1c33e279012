import type { SeverityScore } from "../vulndb/types.js";
import type { Severity } from "../findings/finding.js";

/**
 * Vendor severity words onto one scale. Distros and advisories use their own words:
 * Debian urgency (low/medium/high/unimportant, `**` = NVD-derived), Ubuntu priority
 * (negligible/low/medium/high/critical), Red Hat (Low/Moderate/Important/Critical), GHSA
 * (LOW/MODERATE/HIGH/CRITICAL), Alpine none. Unknown words map to undefined (the CVSS
 * fallback then applies); "not yet assigned" likewise.
 */
const VENDOR: Record<string, Severity> = {
  critical: "CRITICAL",
  important: "HIGH",
  high: "HIGH",
  moderate: "MEDIUM",
  medium: "MEDIUM",
  low: "LOW",
  negligible: "INFORMATIONAL",
  unimportant: "INFORMATIONAL",
  informational: "INFORMATIONAL",
  none: "INFORMATIONAL",
};

export function vendorSeverity(word: string | undefined): Severity | undefined {
  if (!word) return undefined;
  // Debian marks urgencies taken from NVD with `**`: not the vendor's own assessment.
  if (word.trim().endsWith("**")) return undefined;
  return VENDOR[word.trim().toLowerCase()];
}

/** NVD qualitative rating of a CVSS v3.x/v4 base score. */
export function ratingV3(score: number): Severity {
  if (score >= 9) return "CRITICAL";
  if (score >= 7) return "HIGH";
  if (score >= 4) return "MEDIUM";
  if (score > 0) return "LOW";
  return "INFORMATIONAL";
}

/** NVD qualitative rating of a CVSS v2 base score (v2 has no CRITICAL). */
export function ratingV2(score: number): Severity {
  if (score >= 7) return "HIGH";
  if (score >= 4) return "MEDIUM";
  return "LOW";
}

/**
 * The severity of a finding: the vendor's when it has one, else CVSS v3.x (then v4, then
 * v2) mapped to the NVD rating, else UNDEFINED.
 */
export function decideSeverity(
  vendorWords: (string | undefined)[],
  cvss: SeverityScore[],
): { severity: Severity; source: "vendor" | "cvss-v4" | "cvss-v3" | "cvss-v2" | "none"; vendor?: string } {
  for (const w of vendorWords) {
    const s = vendorSeverity(w);
    if (s) return { severity: s, source: "vendor", vendor: w };
  }
  const best = (type: SeverityScore["type"]) =>
    cvss
      .filter((c) => c.type === type && typeof c.score === "number")
      .sort((a, b) => rank(a) - rank(b) || b.score! - a.score!)[0];
  const v3 = best("CVSS_V3");
  if (v3?.score !== undefined) return { severity: ratingV3(v3.score), source: "cvss-v3" };
  const v4 = best("CVSS_V4");
  if (v4?.score !== undefined) return { severity: ratingV3(v4.score), source: "cvss-v4" };
  const v2 = best("CVSS_V2");
  if (v2?.score !== undefined) return { severity: ratingV2(v2.score), source: "cvss-v2" };
  return { severity: "UNDEFINED", source: "none" };
}

/** NVD's own score first, then CISA's, then whatever the feed gave; the highest within each. */
function rank(s: SeverityScore): number {
  return s.source === "nvd" ? 0 : s.source === "cisa-adp" ? 1 : 2;
}
