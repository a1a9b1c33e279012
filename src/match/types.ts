import type { Advisory, Enrichment } from "../vulndb/types.js";

/** What the matcher needs from the vulnerability database (VulnDb implements it). */
export interface AdvisoryLookup {
  /** Advisories with an affected entry for (ecosystem key, package name); each carries only those entries. */
  advisoriesFor(ecosystem: string, pkg: string): Advisory[];
  /** CVSS/EPSS/KEV facts by CVE id. */
  enrichment(ids: string[]): Map<string, Enrichment>;
}
