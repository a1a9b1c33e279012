import type { Enrichment, SeverityScore } from "./types.js";

/**
 * Several feeds know things about one CVE (NVD and vulnrichment CVSS, the KEV catalog and
 * vulnrichment's KEV note, two EPSS files). The database keeps each feed's part as a row and
 * this merges them when read, so the precedence rules live in one place:
 * - CVSS: every (source, version) kept once, the newest import winning; ordered NVD first, then
 *   the CNA (or any other scorer), then CISA-ADP, and within one source the newest CVSS version
 *   first. `enrichment.cvss[0]` is the score to show when the advisory has none of its own.
 * - EPSS: the row with the latest score date; undated rows (EMBA's files carry no date) only
 *   when no dated one exists; among equals the newest import.
 * - KEV: the catalog's entry; vulnrichment's KEV note (date only) fills in when the catalog
 *   lacks the CVE.
 * - SSVC: the newest import.
 */

export type EnrichmentPart = Omit<Enrichment, "cve">;

function sourceRank(source: string | undefined): number {
  if (source === "nvd") return 0;
  if (source === "cisa-adp") return 2;
  return 1;
}

function versionOf(s: SeverityScore): number {
  const m = /^CVSS:(\d\.\d)\//.exec(s.vector);
  if (m) return Number(m[1]);
  return s.type === "CVSS_V2" ? 2 : s.type === "CVSS_V4" ? 4 : 3;
}

export function compareCvss(a: SeverityScore, b: SeverityScore): number {
  return sourceRank(a.source) - sourceRank(b.source) || versionOf(b) - versionOf(a);
}

/** Merges the parts of one CVE, given in import order (oldest first), as described above. */
export function mergeEnrichment(
  cve: string,
  parts: readonly { feed: string; part: EnrichmentPart }[],
): Enrichment {
  const out: Enrichment = { cve };
  const cvss = new Map<string, SeverityScore>();
  let fromCatalog = false;
  for (const { feed, part } of parts) {
    for (const s of part.cvss ?? []) cvss.set(`${s.source ?? ""}|${versionOf(s)}`, s);
    if (part.epss) {
      // "" sorts before any date: an undated row never replaces a dated one.
      if (!out.epss || (part.epss.date ?? "") >= (out.epss.date ?? "")) out.epss = part.epss;
    }
    if (part.kev) {
      const catalog = feed.startsWith("kev:");
      if (catalog) {
        out.kev = { ...(fromCatalog ? {} : out.kev), ...part.kev };
        fromCatalog = true;
      } else if (!fromCatalog) {
        out.kev = { ...out.kev, ...part.kev };
      }
    }
    if (part.ssvc) out.ssvc = part.ssvc;
  }
  if (cvss.size) out.cvss = [...cvss.values()].sort(compareCvss);
  return out;
}
