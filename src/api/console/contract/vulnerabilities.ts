/**
 * The console's vulnerability page (/api/console/vulnerabilities/...): what is known of one
 * vulnerability id (CVE, GHSA, distro advisory) and every image it affects now.
 * Type-only: imported by src/api/console/vulnerabilities.ts and web/src/pages/vulnerabilities/.
 */
import type { TopVulnerabilityView } from "./dashboard.js";

export const VULNERABILITY_LIST_SORTS = ["images", "priority", "id"] as const;
export type VulnerabilityListSort = (typeof VULNERABILITY_LIST_SORTS)[number];

/** The open vulnerabilities (GET /api/console/vulnerabilities?search=&sort=&order=&limit=&offset=). */
export interface VulnerabilityListPage {
  items: TopVulnerabilityView[];
  total: number;
  limit: number;
  offset: number;
  /** When the counts were refreshed (the rollup, every 15 minutes; null: not yet). */
  refreshedAt: number | null;
}

export interface CvssView {
  version: "2.0" | "3.x" | "4.0";
  vector: string;
  score: number | null;
  /** Who scored it: nvd, cisa-adp, a feed id, or the finding's source. */
  source: string;
}

export interface ReferenceView {
  url: string;
  /** OSV's reference type (ADVISORY, FIX, WEB...) when known. */
  type?: string;
}

/** One advisory about the vulnerability in the database (one per feed that publishes it). */
export interface AdvisoryView {
  id: string;
  source: string;
  summary?: string;
  published?: string;
  modified?: string;
  withdrawn?: string;
  /** The vendor's severity word (GHSA MODERATE, Debian urgency...). */
  severity?: string;
  /** The packages the advisory names, `ecosystem package`. */
  packages: string[];
}

export interface VulnerabilityView {
  id: string;
  aliases: string[];
  title: string | null;
  description: string | null;
  /** The highest severity among its open findings, else from its findings' text; null when unknown. */
  severity: string | null;
  cvss: CvssView[];
  epss: { score: number; percentile: number | null; date?: string } | null;
  /** CISA's Known Exploited Vulnerabilities catalog entry, or null when not listed. */
  kev: {
    dateAdded: string;
    dueDate?: string;
    knownRansomwareCampaignUse?: string;
    vendorProject?: string;
    product?: string;
  } | null;
  references: ReferenceView[];
  advisories: AdvisoryView[];
  /** What it affects now, in the caller's repositories (counted up to a cap: `capped`). */
  affected: { findings: number; capped: boolean };
  /** Whether the vulnerability database was read (false: none is installed yet). */
  database: boolean;
}

export const AFFECTED_SORTS = ["lastObserved", "severity"] as const;
export type AffectedSort = (typeof AFFECTED_SORTS)[number];

/** One open finding of the vulnerability: an image (and package) it affects. */
export interface AffectedImageView {
  repository: string;
  digest: string;
  scanType: "BASIC" | "ENHANCED";
  status: "ACTIVE" | "SUPPRESSED";
  severity: string;
  package: string;
  installedVersion: string | null;
  fixedVersion: string | null;
  fixAvailable: string;
  epss: number | null;
  firstObservedAt: number;
  lastObservedAt: number;
  /** The finding's ARN suffix (its id in the image details page). */
  findingId: string;
}

export interface AffectedImagesPage {
  items: AffectedImageView[];
  total: number;
  totalCapped?: true;
  limit: number;
  offset: number;
}
