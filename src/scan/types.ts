import type { Finding, Severity } from "../findings/finding.js";
import type { MetaStore } from "../storage/meta/store.js";

/**
 * The seam between the control-plane APIs (ECR, later Inspector2) and the registry's scan
 * engine. The API layer translates wire shapes; the engine owns configuration semantics,
 * the durable job queue, scan states and stored findings. Both sides meet only here.
 */

export type ScanType = "BASIC" | "ENHANCED";

/**
 * A severity as a scan type reports it: ECR basic scanning's names (`UNDEFINED` for what
 * nothing rates) or Amazon Inspector's (`UNTRIAGED` instead), see engine.ts reportedSeverity.
 */
export type ReportedSeverity = Severity | "UNTRIAGED";

/** `findingSeverityCounts`: findings per reported severity. */
export type SeverityCounts = Partial<Record<ReportedSeverity, number>>;
export type ScanFrequency = "SCAN_ON_PUSH" | "CONTINUOUS_SCAN" | "MANUAL";

export interface RepositoryFilter {
  filter: string;
  filterType: "WILDCARD";
}

export interface ScanningRule {
  scanFrequency: ScanFrequency;
  repositoryFilters: RepositoryFilter[];
}

export interface RegistryScanningConfiguration {
  scanType: ScanType;
  rules: ScanningRule[];
}

/**
 * The repository-level scanOnPush flag (ECR's imageScanningConfiguration.scanOnPush, set by
 * CreateRepository and PutImageScanningConfiguration) is a repository setting: kept by the
 * settings service (src/settings/service.ts, table repository_settings; no row = false). The ECR
 * API reports it in BatchGetRepositoryScanningConfiguration itself, apart from the rules.
 */
/** What BatchGetRepositoryScanningConfiguration reports for one repository. */
export interface RepositoryScanningConfiguration {
  repositoryName: string;
  scanOnPush: boolean;
  scanFrequency: ScanFrequency;
  appliedScanFilters: RepositoryFilter[];
}

/**
 * ECR scan statuses. BASIC: IN_PROGRESS → COMPLETE | FAILED, UNSUPPORTED_IMAGE.
 * ENHANCED adds ACTIVE, PENDING, SCAN_ELIGIBILITY_EXPIRED, FINDINGS_UNAVAILABLE.
 */
export type ScanStatus =
  | "IN_PROGRESS"
  | "COMPLETE"
  | "FAILED"
  | "UNSUPPORTED_IMAGE"
  | "ACTIVE"
  | "PENDING"
  | "SCAN_ELIGIBILITY_EXPIRED"
  | "FINDINGS_UNAVAILABLE";

export interface ImageScanState {
  repositoryName: string;
  imageDigest: string;
  status: ScanStatus;
  description?: string;
  /** When the last completed scan finished (epoch ms). */
  completedAt?: number;
  /** When the vulnerability database used was built (epoch ms). */
  vulnerabilitySourceUpdatedAt?: number;
  scanType: ScanType;
}

export interface ImageScanSummary {
  state: ImageScanState;
  severityCounts: SeverityCounts;
}

export interface ImageScanFindings {
  state: ImageScanState;
  findings: Finding[];
  severityCounts: SeverityCounts;
  /**
   * The stored lifecycle of each finding, in the same order (absent from test doubles): so that
   * ECR's enhancedFindings show the ARN, status and dates Inspector2's ListFindings shows.
   */
  lifecycles?: FindingLifecycle[];
}

/** A stored finding's identity and lifecycle (src/findings/lifecycle.ts), dates in epoch ms. */
export interface FindingLifecycle {
  /** 32 hex digits: the finding's ARN is `arn:aws:inspector2:<region>:<account>:finding/<id>`. */
  id: string;
  status: string;
  firstObservedAt: number;
  lastObservedAt: number;
  updatedAt: number;
}

/** Errors the API maps onto ECR exception names (see api/ecr). */
export class ScanError extends Error {
  constructor(
    readonly code:
      | "RepositoryNotFound"
      | "ImageNotFound"
      | "ScanNotFound"
      | "LimitExceeded"
      | "UnsupportedImageType"
      | "Validation"
      | "InvalidParameter",
    message: string,
  ) {
    super(message);
    this.name = "ScanError";
  }
}

export interface ScanService {
  getRegistryScanningConfiguration(): Promise<RegistryScanningConfiguration>;
  /** Validates (≤2 rules, ≤100 filters, frequencies allowed for the scan type) and stores. */
  putRegistryScanningConfiguration(c: RegistryScanningConfiguration): Promise<RegistryScanningConfiguration>;
  /** The effective frequency and matching filters of each repository. */
  repositoryScanningConfiguration(repositoryNames: string[]): Promise<RepositoryScanningConfiguration[]>;
  /**
   * A manual scan (StartImageScan) of a manifest by digest. BASIC: one scan per image per 24 h,
   * counting scan on push (LimitExceeded); ENHANCED: refused (ValidationException in ECR).
   */
  startImageScan(repositoryName: string, imageDigest: string): Promise<ImageScanState>;
  /** The scan state of an image, or null when it was never scanned. */
  imageScanState(repositoryName: string, imageDigest: string): Promise<ImageScanState | null>;
  /**
   * The scan state and, once a scan completed, its severity counts of each image of a page
   * (DescribeImages), in a fixed number of queries whatever the page size; images never scanned
   * (or scanned under the other scan type) are absent.
   */
  imageScanSummaries(
    repositoryName: string,
    imageDigests: readonly string[],
  ): Promise<Map<string, ImageScanSummary>>;
  /** The last completed scan's findings (ScanNotFound when there is none). */
  imageScanFindings(repositoryName: string, imageDigest: string): Promise<ImageScanFindings>;
  /** A repository was created (ECR CreateRepository), in its creating transaction. */
  repositoryCreated(tx: MetaStore, repositoryName: string): Promise<void>;
  /** Called by the registry after a manifest is stored (scan on push / continuous decisions). */
  onManifestPushed(repositoryName: string, imageDigest: string, mediaType: string): Promise<void>;
}
