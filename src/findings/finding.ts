import type { Package } from "../catalog/types.js";
import type { SeverityScore } from "../vulndb/types.js";

/**
 * A finding: one vulnerability in one package of one image, as the matchers report it
 * (src/match) and every consumer reads it (scan results, the findings store and its lifecycle
 * in ./lifecycle.ts, the ECR and Inspector2 shapes, the CLI's formats). Its identity for the
 * lifecycle is ./lifecycle.ts identityOf.
 */

export type Severity = "CRITICAL" | "HIGH" | "MEDIUM" | "LOW" | "INFORMATIONAL" | "UNDEFINED";
export const SEVERITY_ORDER: readonly Severity[] = [
  "CRITICAL",
  "HIGH",
  "MEDIUM",
  "LOW",
  "INFORMATIONAL",
  "UNDEFINED",
];

/** Why a package matched: enough to check the verdict by hand. */
export interface MatchExplanation {
  /** The advisory that matched (its feed id and source importer). */
  advisory: string;
  source: string;
  /** The database key queried: ecosystem key and package name as matched. */
  ecosystem: string;
  package: string;
  /** The version compared (source version for distro packages where the feed keys on source). */
  version: string;
  /** The version scheme that compared. */
  scheme: string;
  /** What matched: a range (as text), the explicit versions list, or a distro status. */
  matched: "range" | "versions" | "status";
  range?: string;
  status?: string;
}

export interface Finding {
  /** The vulnerability id reported: the CVE when the advisory names exactly one, else the advisory id. */
  vulnerabilityId: string;
  aliases: string[];
  severity: Severity;
  /** Where the severity came from: the vendor (distro/advisory), or cvss v3/v2. */
  severitySource: "vendor" | "cvss-v4" | "cvss-v3" | "cvss-v2" | "none";
  vendorSeverity?: string;
  title?: string;
  description?: string;
  package: Pick<Package, "name" | "version" | "ecosystem" | "purl" | "layer" | "path"> & {
    sourceName?: string;
    sourceVersion?: string;
    archivePath?: string;
  };
  fixedVersion?: string;
  fixAvailable: "YES" | "NO" | "PARTIAL";
  /** affected; will_not_fix (the distro does not plan a fix); undetermined (not triaged yet). */
  status: "affected" | "will_not_fix" | "undetermined";
  cvss: SeverityScore[];
  epss?: { score: number; percentile: number };
  kev: boolean;
  references: string[];
  source: string;
  explanation: MatchExplanation;
}
