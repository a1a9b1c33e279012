import type { AwsPrincipal } from "../access.js";
import type { FindingRecord } from "./finding.js";
import type {
  AggregationType,
  CoverageFilterCriteria,
  CoverageGroupKey,
  Destination,
  EcrConfiguration,
  FilterAction,
  FilterCriteria,
  PullDateRescanDuration,
  PullDateRescanMode,
  RescanDuration,
  ResourceFilterCriteria,
  ResourceScanType,
  SbomFormat,
  SortCriteria,
  StringFilter,
  DateFilter,
  NumberFilter,
} from "./shapes.js";

/**
 * What the Inspector2 API needs from the findings store, the scan engine and the report
 * writer. The wire layer (operations.ts) validates every request, checks the access table, fills
 * defaults, calls one method, and shapes the answer; the backend does the work.
 *
 * Conventions:
 * - Times are epoch **milliseconds**, except inside FilterCriteria, which is the Inspector2 shape
 *   and keeps its epoch **seconds** (as on the wire; stored filters are echoed verbatim).
 * - `principal` is the caller, already authorized for the operation. Readers of findings,
 *   aggregations, details and coverage must return only what concerns repositories the caller
 *   may pull (`principal.may("pull", repositoryName)`; `principal.pullsEverything` means no
 *   filtering), and page over the visible items only (src/api/paging.ts visiblePage), so a page is
 *   never short while more remain and `nextToken` is present exactly when more follow. Writers
 *   get it to record who made a change.
 * - `nextToken` is the backend's own opaque string (tokens.ts helps); a token it cannot read is
 *   a ValidationException naming `nextToken` (errors.ts invalidField).
 * - Errors are thrown as Inspector2Error (errors.ts): ResourceNotFoundException for an unknown
 *   filter, report or tagged resource, ServiceQuotaExceededException, BadRequestException, ...
 * - Semantics of criteria and order: criteria.ts (`matchesFilterCriteria`, `compareFindings`,
 *   `matchesStringFilters`) is the reference; coverage.ts for coverage criteria.
 */
export interface Inspector2Backend {
  // --- findings ---
  /** Findings matching `criteria`, in `sort` order (ties by findingArn ascending). */
  listFindings(q: ListFindingsQuery, principal: AwsPrincipal): Promise<Page<FindingRecord>>;
  listFindingAggregations(q: AggregationQuery, principal: AwsPrincipal): Promise<Page<AggregationResponse>>;
  /** Details of each ARN; an ARN that is unknown or of a repository the caller may not pull is FINDING_DETAILS_NOT_FOUND. */
  findingDetails(
    findingArns: string[],
    principal: AwsPrincipal,
  ): Promise<{ findingDetails: FindingDetail[]; errors: FindingDetailError[] }>;

  // --- suppression filters ---
  /** Creates a filter (name unique: BadRequestException otherwise); SUPPRESS applies at once. */
  createFilter(input: FilterInput, principal: AwsPrincipal): Promise<FilterRecord>;
  listFilters(q: ListFiltersQuery, principal: AwsPrincipal): Promise<Page<FilterRecord>>;
  /** Changes the members given; unknown ARN: ResourceNotFoundException. */
  updateFilter(arn: string, changes: Partial<FilterInput>, principal: AwsPrincipal): Promise<FilterRecord>;
  /** Unknown ARN: ResourceNotFoundException. */
  deleteFilter(arn: string, principal: AwsPrincipal): Promise<void>;

  // --- tags (of filters) ---
  /** Unknown resource: ResourceNotFoundException. */
  listTags(resourceArn: string, principal: AwsPrincipal): Promise<Record<string, string>>;
  tagResource(resourceArn: string, tags: Record<string, string>, principal: AwsPrincipal): Promise<void>;
  untagResource(resourceArn: string, tagKeys: string[], principal: AwsPrincipal): Promise<void>;

  // --- findings reports and SBOM exports ---
  createFindingsReport(input: FindingsReportInput, principal: AwsPrincipal): Promise<{ reportId: string }>;
  /** `reportId` undefined: the most recent report (ResourceNotFoundException when there is none). */
  getFindingsReportStatus(
    reportId: string | undefined,
    principal: AwsPrincipal,
  ): Promise<FindingsReportStatus>;
  cancelFindingsReport(reportId: string, principal: AwsPrincipal): Promise<void>;
  createSbomExport(input: SbomExportInput, principal: AwsPrincipal): Promise<{ reportId: string }>;
  getSbomExport(reportId: string, principal: AwsPrincipal): Promise<SbomExportStatus>;
  cancelSbomExport(reportId: string, principal: AwsPrincipal): Promise<void>;

  // --- configuration and activation ---
  getConfiguration(principal: AwsPrincipal): Promise<EcrConfigurationState>;
  updateConfiguration(cfg: EcrConfiguration, principal: AwsPrincipal): Promise<void>;
  /** ECR scanning on (ENHANCED with a CONTINUOUS_SCAN rule for `*` when there are no rules) / off. */
  enable(principal: AwsPrincipal): Promise<void>;
  disable(principal: AwsPrincipal): Promise<void>;
  /** The registry's ECR scanning status: ENABLED when scanning is ENHANCED, else DISABLED. */
  ecrStatus(principal: AwsPrincipal): Promise<ActivationStatus>;

  // --- coverage ---
  listCoverage(q: ListCoverageQuery, principal: AwsPrincipal): Promise<Page<CoverageRecord>>;
  coverageStatistics(q: CoverageStatisticsQuery, principal: AwsPrincipal): Promise<CoverageStatistics>;
}

export interface Page<T> {
  items: T[];
  /** Present exactly when more items follow. */
  nextToken?: string;
}

export interface ListFindingsQuery {
  criteria?: FilterCriteria;
  /** Always set: the request's, else criteria.ts DEFAULT_SORT. */
  sort: SortCriteria;
  /** 1–100 (default 100). */
  maxResults: number;
  nextToken?: string;
}

// --- aggregations ---

export type SeveritySortBy = "CRITICAL" | "HIGH" | "ALL";
export type AggregationSortOrder = "ASC" | "DESC";

/**
 * One aggregation request, its type and its request member together, with `sortBy`/`sortOrder`
 * filled in (default CRITICAL, DESC). Only the types that apply to container images reach the
 * backend; the others (AMI, EC2, Lambda, code repositories, other clouds) are answered empty by
 * the wire layer.
 */
export type AggregationRequest =
  | {
      type: "ACCOUNT";
      findingType?: string;
      resourceType?: string;
      sortBy: SeveritySortBy;
      sortOrder: AggregationSortOrder;
    }
  | {
      type: "AWS_ECR_CONTAINER";
      resourceIds?: StringFilter[];
      imageShas?: StringFilter[];
      repositories?: StringFilter[];
      architectures?: StringFilter[];
      imageTags?: StringFilter[];
      lastInUseAt?: DateFilter[];
      inUseCount?: NumberFilter[];
      sortBy: SeveritySortBy;
      sortOrder: AggregationSortOrder;
    }
  | {
      type: "FINDING_TYPE";
      findingType?: string;
      resourceType?: string;
      sortBy: SeveritySortBy;
      sortOrder: AggregationSortOrder;
    }
  | {
      type: "IMAGE_LAYER";
      repositories?: StringFilter[];
      resourceIds?: StringFilter[];
      layerHashes?: StringFilter[];
      sortBy: SeveritySortBy;
      sortOrder: AggregationSortOrder;
    }
  | {
      type: "PACKAGE";
      packageNames?: StringFilter[];
      sortBy: SeveritySortBy;
      sortOrder: AggregationSortOrder;
    }
  | {
      type: "REPOSITORY";
      repositories?: StringFilter[];
      sortBy: SeveritySortBy | "AFFECTED_IMAGES";
      sortOrder: AggregationSortOrder;
    }
  | {
      type: "TITLE";
      titles?: StringFilter[];
      vulnerabilityIds?: StringFilter[];
      findingType?: string;
      resourceType?: string;
      sortBy: SeveritySortBy;
      sortOrder: AggregationSortOrder;
    };

/** The aggregation types a backend answers. */
export type ImageAggregationType = AggregationRequest["type"];
export const IMAGE_AGGREGATION_TYPES: readonly ImageAggregationType[] = [
  "ACCOUNT",
  "AWS_ECR_CONTAINER",
  "FINDING_TYPE",
  "IMAGE_LAYER",
  "PACKAGE",
  "REPOSITORY",
  "TITLE",
];
export const isImageAggregationType = (t: AggregationType): t is ImageAggregationType =>
  (IMAGE_AGGREGATION_TYPES as readonly string[]).includes(t);

export interface AggregationQuery {
  request: AggregationRequest;
  /** `accountIds` of the request: string filters on the account id. */
  accountIds?: StringFilter[];
  /** 1–100 (default 100). */
  maxResults: number;
  nextToken?: string;
}

/** Counts of ACTIVE findings (Inspector's severityCounts has no `low`). */
export interface SeverityCounts {
  all: number;
  medium: number;
  high: number;
  critical: number;
}

/** One row of an aggregation, shaped as the wire's union (times in ms: the wire layer converts). */
export type AggregationResponse =
  | {
      accountAggregation: {
        accountId: string;
        severityCounts: SeverityCounts;
        exploitAvailableCount?: number;
        fixAvailableCount?: number;
      };
    }
  | {
      awsEcrContainerAggregation: {
        /** The image ARN (resources[].id of its findings). */
        resourceId: string;
        imageSha?: string;
        repository?: string;
        architecture?: string;
        imageTags?: string[];
        accountId?: string;
        severityCounts: SeverityCounts;
        lastInUseAt?: number;
        inUseCount?: number;
      };
    }
  | {
      findingTypeAggregation: {
        accountId?: string;
        severityCounts: SeverityCounts;
        exploitAvailableCount?: number;
        fixAvailableCount?: number;
      };
    }
  | {
      imageLayerAggregation: {
        repository: string;
        resourceId: string;
        layerHash: string;
        accountId: string;
        severityCounts: SeverityCounts;
      };
    }
  | { packageAggregation: { packageName: string; accountId?: string; severityCounts: SeverityCounts } }
  | {
      repositoryAggregation: {
        repository: string;
        accountId?: string;
        severityCounts: SeverityCounts;
        affectedImages?: number;
      };
    }
  | {
      titleAggregation: {
        title: string;
        vulnerabilityId?: string;
        accountId?: string;
        severityCounts: SeverityCounts;
      };
    };

// --- finding details ---

export interface FindingDetail {
  findingArn: string;
  /** CISA KEV: dates in ms. */
  cisaData?: { dateAdded?: number; dateDue?: number; action?: string };
  riskScore?: number;
  evidences?: { evidenceRule?: string; evidenceDetail?: string; severity?: string }[];
  ttps?: string[];
  tools?: string[];
  exploitObserved?: { lastSeen?: number; firstSeen?: number };
  referenceUrls?: string[];
  cwes?: string[];
  epssScore?: number;
}

export interface FindingDetailError {
  findingArn: string;
  errorCode: "INTERNAL_ERROR" | "ACCESS_DENIED" | "FINDING_DETAILS_NOT_FOUND" | "INVALID_INPUT";
  errorMessage: string;
}

// --- filters ---

export interface FilterInput {
  name: string;
  action: FilterAction;
  criteria: FilterCriteria;
  description?: string;
  reason?: string;
  tags?: Record<string, string>;
}

export interface FilterRecord {
  /** `arn:aws:inspector2:<region>:<account>:owner/<account>/filter/<id>` */
  arn: string;
  ownerId: string;
  name: string;
  criteria: FilterCriteria;
  action: FilterAction;
  createdAt: number;
  updatedAt: number;
  description?: string;
  reason?: string;
  tags: Record<string, string>;
}

export interface ListFiltersQuery {
  arns?: string[];
  action?: FilterAction;
  /** 1–100 (default 100). */
  maxResults: number;
  nextToken?: string;
}

// --- reports ---

export type ReportStatus = "SUCCEEDED" | "IN_PROGRESS" | "CANCELLED" | "FAILED";
export type ReportErrorCode =
  | "INTERNAL_ERROR"
  | "INVALID_PERMISSIONS"
  | "NO_FINDINGS_FOUND"
  | "BUCKET_NOT_FOUND"
  | "INCOMPATIBLE_BUCKET_REGION"
  | "MALFORMED_KMS_KEY";

export interface FindingsReportInput {
  criteria?: FilterCriteria;
  format: "CSV" | "JSON";
  destination: Destination;
}

export interface FindingsReportStatus {
  reportId: string;
  status: ReportStatus;
  errorCode?: ReportErrorCode;
  errorMessage?: string;
  destination?: Destination;
  criteria?: FilterCriteria;
}

export interface SbomExportInput {
  criteria?: ResourceFilterCriteria;
  format: SbomFormat;
  destination: Destination;
}

export interface SbomExportStatus {
  reportId: string;
  format: SbomFormat;
  status: ReportStatus;
  errorCode?: ReportErrorCode;
  errorMessage?: string;
  destination?: Destination;
  criteria?: ResourceFilterCriteria;
}

// --- configuration ---

export interface EcrConfigurationState {
  rescanDuration: RescanDuration;
  status: "SUCCESS" | "PENDING" | "FAILED";
  updatedAt?: number;
  pullDateRescanDuration?: PullDateRescanDuration;
  pullDateRescanMode?: PullDateRescanMode;
}

export type ActivationStatus = "ENABLING" | "ENABLED" | "DISABLING" | "DISABLED" | "SUSPENDING" | "SUSPENDED";
export type { ResourceScanType };

// --- coverage ---

export type ScanStatusReason =
  | "PENDING_INITIAL_SCAN"
  | "ACCESS_DENIED"
  | "INTERNAL_ERROR"
  | "UNSUPPORTED_OS"
  | "SCAN_ELIGIBILITY_EXPIRED"
  | "RESOURCE_TERMINATED"
  | "SUCCESSFUL"
  | "NO_RESOURCES_FOUND"
  | "IMAGE_SIZE_EXCEEDED"
  | "SCAN_FREQUENCY_MANUAL"
  | "SCAN_FREQUENCY_SCAN_ON_PUSH"
  | "NO_INVENTORY"
  | "STALE_INVENTORY"
  | "UNSUPPORTED_MEDIA_TYPE"
  | "UNSUPPORTED_CONFIG_FILE"
  | "PENDING_REVIVAL_SCAN"
  | "SCAN_IN_PROGRESS"
  | "IMAGE_ARCHIVED";

/** A monitored resource: an image, or a repository. */
export interface CoverageRecord {
  resourceType: "AWS_ECR_CONTAINER_IMAGE" | "AWS_ECR_REPOSITORY";
  /** Image: `arn:aws:ecr:<r>:<acct>:repository/<name>/sha256:<hex>`; repository: its ARN. */
  resourceId: string;
  repositoryName: string;
  scanStatus: { statusCode: "ACTIVE" | "INACTIVE"; reason: ScanStatusReason };
  scanFrequency?: "MANUAL" | "SCAN_ON_PUSH" | "CONTINUOUS_SCAN";
  /** Images only. */
  imageTags?: string[];
  imagePulledAt?: number;
  lastInUseAt?: number;
  inUseCount?: number;
  lastScannedAt?: number;
}

export interface ListCoverageQuery {
  criteria?: CoverageFilterCriteria;
  /** 1–200 (default 100). */
  maxResults: number;
  nextToken?: string;
}

export interface CoverageStatisticsQuery {
  criteria?: CoverageFilterCriteria;
  groupBy?: CoverageGroupKey;
  nextToken?: string;
}

export interface CoverageStatistics {
  /** One entry per group value (`groupKey` is the value: `ACTIVE`, a repository name, ...). */
  countsByGroup: { groupKey: string; count: number }[];
  totalCounts: number;
  nextToken?: string;
}
