import type { CoverageRecord } from "./backend.js";
import { inRange } from "./criteria.js";
import { toSeconds, type RegistryIdentity } from "./finding.js";
import type { CoverageFilterCriteria, CoverageGroupKey, CoverageStringFilter } from "./shapes.js";

/**
 * Coverage (ListCoverage, ListCoverageStatistics): the wire shape of a covered resource, and
 * the evaluator of CoverageFilterCriteria over it (the reference for backends). Coverage string
 * filters are EQUALS / NOT_EQUALS only; within a key EQUALS filters are ORed and every
 * NOT_EQUALS must hold, keys are ANDed, as for findings. Keys of other resource kinds (EC2,
 * Lambda, code repositories, scan mode) match nothing.
 */

/** A covered resource as on the wire (timestamps in epoch seconds). */
export interface CoveredResource {
  resourceType: CoverageRecord["resourceType"];
  resourceId: string;
  accountId: string;
  scanType: "PACKAGE";
  scanStatus: CoverageRecord["scanStatus"];
  resourceMetadata: {
    ecrRepository?: { name: string; scanFrequency?: string };
    ecrImage?: { tags?: string[]; imagePulledAt?: number; lastInUseAt?: number; inUseCount?: number };
  };
  lastScannedAt?: number;
}

export function toCoveredResource(c: CoverageRecord, r: RegistryIdentity): CoveredResource {
  const image = c.resourceType === "AWS_ECR_CONTAINER_IMAGE";
  return {
    resourceType: c.resourceType,
    resourceId: c.resourceId,
    accountId: r.accountId,
    scanType: "PACKAGE",
    scanStatus: c.scanStatus,
    resourceMetadata: {
      ecrRepository: {
        name: c.repositoryName,
        ...(c.scanFrequency ? { scanFrequency: c.scanFrequency } : {}),
      },
      ...(image
        ? {
            ecrImage: {
              tags: c.imageTags ?? [],
              ...(c.imagePulledAt !== undefined ? { imagePulledAt: toSeconds(c.imagePulledAt) } : {}),
              ...(c.lastInUseAt !== undefined ? { lastInUseAt: toSeconds(c.lastInUseAt) } : {}),
              ...(c.inUseCount !== undefined ? { inUseCount: c.inUseCount } : {}),
            },
          }
        : {}),
    },
    ...(c.lastScannedAt !== undefined ? { lastScannedAt: toSeconds(c.lastScannedAt) } : {}),
  };
}

/**
 * Inspector's resource string filters (coverage and SBOM-export criteria): EQUALS filters
 * ORed, every NOT_EQUALS must hold; an empty list holds.
 */
export function matchesResourceStrings(
  values: readonly string[],
  filters: readonly Pick<CoverageStringFilter, "comparison" | "value">[],
): boolean {
  let positives = 0;
  let any = false;
  for (const f of filters) {
    if (f.comparison === "NOT_EQUALS") {
      if (values.includes(f.value)) return false;
    } else {
      positives++;
      if (values.includes(f.value)) any = true;
    }
  }
  return positives === 0 || any;
}

const dates = (v: number | undefined) => (v === undefined ? [] : [v]);

const INAPPLICABLE_COVERAGE_KEYS = [
  "ec2InstanceTags",
  "lambdaFunctionName",
  "lambdaFunctionTags",
  "lambdaFunctionRuntime",
  "scanMode",
  "codeRepositoryProjectName",
  "codeRepositoryProviderType",
  "codeRepositoryProviderTypeVisibility",
  "lastScannedCommitId",
] as const;

export function matchesCoverageCriteria(
  c: CoveredResource,
  criteria: CoverageFilterCriteria | undefined,
): boolean {
  if (!criteria) return true;
  for (const k of INAPPLICABLE_COVERAGE_KEYS) if (criteria[k] !== undefined) return false;
  const strings: [CoverageStringFilter[] | undefined, string[]][] = [
    [criteria.scanStatusCode, [c.scanStatus.statusCode]],
    [criteria.scanStatusReason, [c.scanStatus.reason]],
    [criteria.accountId, [c.accountId]],
    [criteria.resourceId, [c.resourceId]],
    [criteria.resourceType, [c.resourceType]],
    [criteria.scanType, [c.scanType]],
    [
      criteria.ecrRepositoryName,
      c.resourceMetadata.ecrRepository ? [c.resourceMetadata.ecrRepository.name] : [],
    ],
    [criteria.ecrImageTags, c.resourceMetadata.ecrImage?.tags ?? []],
  ];
  for (const [filters, values] of strings)
    if (filters && !matchesResourceStrings(values, filters)) return false;
  const img = c.resourceMetadata.ecrImage;
  const ranges: [{ startInclusive?: number; endInclusive?: number }[] | undefined, number[]][] = [
    [criteria.lastScannedAt, dates(c.lastScannedAt)],
    [criteria.imagePulledAt, dates(img?.imagePulledAt)],
    [criteria.ecrImageLastInUseAt, dates(img?.lastInUseAt)],
  ];
  for (const [filters, values] of ranges)
    if (filters && !filters.some((f) => values.some((v) => inRange(v, f.startInclusive, f.endInclusive))))
      return false;
  if (criteria.ecrImageInUseCount) {
    const values = img?.inUseCount === undefined ? [] : [img.inUseCount];
    if (
      !criteria.ecrImageInUseCount.some((f) =>
        values.some((v) => inRange(v, f.lowerInclusive, f.upperInclusive)),
      )
    )
      return false;
  }
  return true;
}

/** The group value of a resource for ListCoverageStatistics' `groupBy`. */
export function coverageGroupValue(c: CoveredResource, key: CoverageGroupKey): string {
  switch (key) {
    case "SCAN_STATUS_CODE":
      return c.scanStatus.statusCode;
    case "SCAN_STATUS_REASON":
      return c.scanStatus.reason;
    case "ACCOUNT_ID":
      return c.accountId;
    case "RESOURCE_TYPE":
      return c.resourceType;
    case "ECR_REPOSITORY_NAME":
      return c.resourceMetadata.ecrRepository?.name ?? "";
  }
}
