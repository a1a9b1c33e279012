/**
 * The console's repository list (GET /api/console/repositories). Type-only: imported by
 * src/api/console/repositories.ts and web/src/pages/repositories/.
 */

/** Counts of findings by severity (CRITICAL, HIGH, MEDIUM, LOW, INFORMATIONAL, UNTRIAGED, UNDEFINED). */
export type SeverityCountsView = Partial<Record<string, number>>;

/** How the registry's scanning rules treat a repository (ECR's BatchGetRepositoryScanningConfiguration). */
export type ScanFrequencyView = "SCAN_ON_PUSH" | "CONTINUOUS_SCAN" | "MANUAL";

export interface RepositoryView {
  name: string;
  createdAt: number;
  /** Manifests in the repository (images, indexes and artifacts such as signatures). */
  images: number;
  /** Epoch ms of the latest push of any of its images; null when it has none. */
  lastPushAt: number | null;
  scanFrequency: ScanFrequencyView;
  /** The registry's scan type, whose findings are counted. */
  scanType: "BASIC" | "ENHANCED";
  /** ACTIVE findings by severity (maintained counts; suppressed and closed ones are not counted). */
  findings: SeverityCountsView;
}

export const REPOSITORY_SORTS = [
  "name",
  "created",
  "images",
  "lastPush",
  "findings",
  "critical",
  "high",
  "medium",
  "low",
] as const;
export type RepositorySort = (typeof REPOSITORY_SORTS)[number];

export interface RepositoryListPage {
  items: RepositoryView[];
  total: number;
  limit: number;
  offset: number;
}
