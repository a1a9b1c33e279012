import { z } from "zod";

/**
 * Inspector2 request shapes (zod) with the Smithy model's constraints (aws/api-models-aws
 * inspector2, as botocore 1.43 and @aws-sdk/client-inspector2 3.1085 carry it), and the typed
 * FilterCriteria they produce. Timestamps are epoch seconds (JSON numbers, fractions allowed)
 * everywhere in these shapes, as on the wire. Members the model does not know are dropped.
 */

// --- FilterCriteria --------------------------------------------------------------------------

export const STRING_COMPARISONS = ["EQUALS", "PREFIX", "NOT_EQUALS"] as const;
export type StringComparison = (typeof STRING_COMPARISONS)[number];

export interface StringFilter {
  comparison: StringComparison;
  value: string;
}
/** Epoch seconds, both bounds inclusive and optional. */
export interface DateFilter {
  startInclusive?: number;
  endInclusive?: number;
}
export interface NumberFilter {
  lowerInclusive?: number;
  upperInclusive?: number;
}
export interface MapFilter {
  comparison: "EQUALS";
  key: string;
  value?: string;
}
export interface PortRangeFilter {
  beginInclusive?: number;
  endInclusive?: number;
}
export interface PackageFilter {
  name?: StringFilter;
  version?: StringFilter;
  epoch?: NumberFilter;
  release?: StringFilter;
  architecture?: StringFilter;
  sourceLayerHash?: StringFilter;
  sourceLambdaLayerArn?: StringFilter;
  filePath?: StringFilter;
}

/** String keys that apply to container-image findings (criteria.ts reads each from the finding). */
export const STRING_KEYS = [
  "findingArn",
  "awsAccountId",
  "findingType",
  "severity",
  "findingStatus",
  "title",
  "resourceType",
  "resourceId",
  "ecrImageArchitecture",
  "ecrImageRegistry",
  "ecrImageRepositoryName",
  "ecrImageTags",
  "ecrImageHash",
  "vulnerabilityId",
  "vulnerabilitySource",
  "vendorSeverity",
  "relatedVulnerabilities",
  "fixAvailable",
  "exploitAvailable",
] as const;
export const DATE_KEYS = [
  "firstObservedAt",
  "lastObservedAt",
  "updatedAt",
  "ecrImagePushedAt",
  "ecrImageLastInUseAt",
] as const;
export const NUMBER_KEYS = ["inspectorScore", "epssScore", "ecrImageInUseCount"] as const;

/**
 * Keys of resources other than container images (EC2 instances, Lambda functions, code
 * repositories, network reachability, other clouds): valid in a request, but a criterion on one
 * of them matches no finding of this registry (criteria.ts).
 */
export const INAPPLICABLE_STRING_KEYS = [
  "ec2InstanceImageId",
  "ec2InstanceVpcId",
  "ec2InstanceSubnetId",
  "networkProtocol",
  "componentId",
  "componentType",
  "lambdaFunctionName",
  "lambdaFunctionLayers",
  "lambdaFunctionRuntime",
  "lambdaFunctionExecutionRoleArn",
  "codeVulnerabilityDetectorName",
  "codeVulnerabilityDetectorTags",
  "codeVulnerabilityFilePath",
  "codeRepositoryProjectName",
  "codeRepositoryProviderType",
  "cloudProvider",
  "cloudProviderRegion",
  "cloudProviderAccountId",
  "cloudProviderOrgId",
  "cloudVmImageReference",
  "cloudVmNetworkId",
  "cloudVmSubnetIds",
  "cloudImageRepositoryName",
  "cloudImageRegistry",
  "cloudImageDigest",
  "cloudImageTags",
  "cloudImageArchitecture",
  "cloudServerlessFunctionName",
  "cloudServerlessFunctionRuntime",
  "cloudServerlessFunctionExecutionRole",
] as const;
export const INAPPLICABLE_DATE_KEYS = [
  "lambdaFunctionLastModifiedAt",
  "cloudImagePushedAt",
  "cloudImageLastInUseAt",
  "cloudServerlessFunctionLastModifiedAt",
] as const;
export const INAPPLICABLE_NUMBER_KEYS = ["cloudImageInUseCount"] as const;

export type StringKey = (typeof STRING_KEYS)[number];
export type DateKey = (typeof DATE_KEYS)[number];
export type NumberKey = (typeof NUMBER_KEYS)[number];
export type InapplicableKey =
  | (typeof INAPPLICABLE_STRING_KEYS)[number]
  | (typeof INAPPLICABLE_DATE_KEYS)[number]
  | (typeof INAPPLICABLE_NUMBER_KEYS)[number]
  | "portRange";

/** Inspector2's FilterCriteria: each key a list of 1–10 filters. */
export type FilterCriteria = { [K in StringKey]?: StringFilter[] } & { [K in DateKey]?: DateFilter[] } & {
  [K in NumberKey]?: NumberFilter[];
} & { [K in (typeof INAPPLICABLE_STRING_KEYS)[number]]?: StringFilter[] } & {
  [K in (typeof INAPPLICABLE_DATE_KEYS)[number]]?: DateFilter[];
} & { [K in (typeof INAPPLICABLE_NUMBER_KEYS)[number]]?: NumberFilter[] } & {
  resourceTags?: MapFilter[];
  vulnerablePackages?: PackageFilter[];
  portRange?: PortRangeFilter[];
};

const list = <T extends z.ZodType>(item: T, min = 1, max = 10) => z.array(item).min(min).max(max);
/** Epoch seconds: a finite JSON number. */
export const timestamp = z.number();
export const stringFilter = z.object({
  comparison: z.enum(STRING_COMPARISONS),
  value: z.string().min(1).max(1024),
});
export const dateFilter = z.object({
  startInclusive: timestamp.optional(),
  endInclusive: timestamp.optional(),
});
export const numberFilter = z.object({
  upperInclusive: z.number().optional(),
  lowerInclusive: z.number().optional(),
});
export const mapFilter = z.object({
  comparison: z.enum(["EQUALS"]),
  key: z.string().min(1).max(128),
  value: z.string().max(256).optional(),
});
const port = z.number().int().min(0).max(65535);
export const portRangeFilter = z.object({ beginInclusive: port.optional(), endInclusive: port.optional() });
export const packageFilter = z.object({
  name: stringFilter.optional(),
  version: stringFilter.optional(),
  epoch: numberFilter.optional(),
  release: stringFilter.optional(),
  architecture: stringFilter.optional(),
  sourceLayerHash: stringFilter.optional(),
  sourceLambdaLayerArn: stringFilter.optional(),
  filePath: stringFilter.optional(),
});

const criteriaShape: Record<string, z.ZodType> = {
  resourceTags: list(mapFilter).optional(),
  vulnerablePackages: list(packageFilter).optional(),
  portRange: list(portRangeFilter).optional(),
};
for (const k of [...STRING_KEYS, ...INAPPLICABLE_STRING_KEYS])
  criteriaShape[k] = list(stringFilter).optional();
for (const k of [...DATE_KEYS, ...INAPPLICABLE_DATE_KEYS]) criteriaShape[k] = list(dateFilter).optional();
for (const k of [...NUMBER_KEYS, ...INAPPLICABLE_NUMBER_KEYS])
  criteriaShape[k] = list(numberFilter).optional();
export const filterCriteria = z.object(criteriaShape) as unknown as z.ZodType<FilterCriteria>;

/** The keys a FilterCriteria sets (those with a list). */
export function criteriaKeys(c: FilterCriteria): string[] {
  return Object.entries(c)
    .filter(([, v]) => Array.isArray(v))
    .map(([k]) => k);
}

// --- Sorting ---------------------------------------------------------------------------------

export const SORT_FIELDS = [
  "AWS_ACCOUNT_ID",
  "FINDING_TYPE",
  "SEVERITY",
  "FIRST_OBSERVED_AT",
  "LAST_OBSERVED_AT",
  "FINDING_STATUS",
  "RESOURCE_TYPE",
  "ECR_IMAGE_PUSHED_AT",
  "ECR_IMAGE_REPOSITORY_NAME",
  "ECR_IMAGE_REGISTRY",
  "NETWORK_PROTOCOL",
  "COMPONENT_TYPE",
  "VULNERABILITY_ID",
  "VULNERABILITY_SOURCE",
  "INSPECTOR_SCORE",
  "VENDOR_SEVERITY",
  "EPSS_SCORE",
] as const;
export type SortField = (typeof SORT_FIELDS)[number];
export const SORT_ORDERS = ["ASC", "DESC"] as const;
export type SortOrder = (typeof SORT_ORDERS)[number];
export interface SortCriteria {
  field: SortField;
  sortOrder: SortOrder;
}
export const sortCriteria = z.object({ field: z.enum(SORT_FIELDS), sortOrder: z.enum(SORT_ORDERS) });

// --- Common ----------------------------------------------------------------------------------

export const nextToken = z.string().max(1_000_000);
export const FINDING_ARN_RE =
  /^arn:(aws[a-zA-Z-]*)?:inspector2:[a-z]{2}(-gov)?-[a-z]+-\d{1}:\d{12}:finding\/[a-f0-9]{32}$/;
export const findingArn = z.string().min(1).max(100).regex(FINDING_ARN_RE, {
  message:
    "Member must satisfy regular expression pattern: arn:(aws[a-zA-Z-]*)?:inspector2:[a-z]{2}(-gov)?-[a-z]+-\\d{1}:\\d{12}:finding/[a-f0-9]{32}",
});
export const filterArn = z.string().min(1).max(128);
export const accountId = z
  .string()
  .min(12)
  .max(12)
  .regex(/^\d{12}$/, { message: "Member must satisfy regular expression pattern: \\d{12}" });
export const REPORT_ID_RE = /^[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}$/;
export const reportId = z.string().regex(REPORT_ID_RE, {
  message:
    "Member must satisfy regular expression pattern: \\b[a-f0-9]{8}\\b-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-\\b[a-f0-9]{12}\\b",
});
export const tagMap = z.record(z.string().min(1).max(128), z.string().max(256));
export const TAG_KEY_RE = /^(?!aws:)[a-zA-Z+\-=._:/]+$/;
export const tagKey = z
  .string()
  .min(1)
  .max(128)
  .regex(TAG_KEY_RE, { message: "Member must satisfy regular expression pattern: (?!aws:)[a-zA-Z+-=._:/]+" });
export const destination = z.object({
  bucketName: z.string(),
  keyPrefix: z.string().optional(),
  kmsKeyArn: z.string(),
});
export type Destination = z.infer<typeof destination>;

// --- Operations ------------------------------------------------------------------------------

export const listFindingsRequest = z.object({
  maxResults: z.number().int().min(1).max(100).optional(),
  nextToken: nextToken.optional(),
  filterCriteria: filterCriteria.optional(),
  sortCriteria: sortCriteria.optional(),
});

export const AGGREGATION_TYPES = [
  "FINDING_TYPE",
  "PACKAGE",
  "TITLE",
  "REPOSITORY",
  "AMI",
  "AWS_EC2_INSTANCE",
  "AWS_ECR_CONTAINER",
  "IMAGE_LAYER",
  "ACCOUNT",
  "AWS_LAMBDA_FUNCTION",
  "LAMBDA_LAYER",
  "CODE_REPOSITORY",
  "CONTAINER_IMAGE",
  "SERVERLESS_FUNCTION",
  "VM_INSTANCE",
] as const;
export type AggregationType = (typeof AGGREGATION_TYPES)[number];
const sortOrder = z.enum(SORT_ORDERS);
const sortBy3 = z.enum(["CRITICAL", "HIGH", "ALL"]);
const aggFindingType = z.enum(["NETWORK_REACHABILITY", "PACKAGE_VULNERABILITY", "CODE_VULNERABILITY"]);
const aggResourceType = z.enum([
  "AWS_EC2_INSTANCE",
  "AWS_ECR_CONTAINER_IMAGE",
  "AWS_LAMBDA_FUNCTION",
  "CODE_REPOSITORY",
]);
const sfl = list(stringFilter).optional();

export const accountAggregation = z.object({
  findingType: aggFindingType.optional(),
  resourceType: aggResourceType.optional(),
  sortOrder: sortOrder.optional(),
  sortBy: sortBy3.optional(),
});
export const awsEcrContainerAggregation = z.object({
  resourceIds: sfl,
  imageShas: sfl,
  repositories: sfl,
  architectures: sfl,
  imageTags: sfl,
  sortOrder: sortOrder.optional(),
  sortBy: sortBy3.optional(),
  lastInUseAt: list(dateFilter).optional(),
  inUseCount: list(numberFilter).optional(),
});
export const findingTypeAggregation = z.object({
  findingType: aggFindingType.optional(),
  resourceType: aggResourceType.optional(),
  sortOrder: sortOrder.optional(),
  sortBy: sortBy3.optional(),
});
export const imageLayerAggregation = z.object({
  repositories: sfl,
  resourceIds: sfl,
  layerHashes: sfl,
  sortOrder: sortOrder.optional(),
  sortBy: sortBy3.optional(),
});
export const packageAggregation = z.object({
  packageNames: sfl,
  sortOrder: sortOrder.optional(),
  sortBy: sortBy3.optional(),
});
export const repositoryAggregation = z.object({
  repositories: sfl,
  sortOrder: sortOrder.optional(),
  sortBy: z.enum(["CRITICAL", "HIGH", "ALL", "AFFECTED_IMAGES"]).optional(),
});
export const titleAggregation = z.object({
  titles: sfl,
  vulnerabilityIds: sfl,
  resourceType: aggResourceType.optional(),
  sortOrder: sortOrder.optional(),
  sortBy: sortBy3.optional(),
  findingType: aggFindingType.optional(),
});
/** Aggregations of other resource kinds: validated loosely (their answers are always empty). */
const otherAggregation = z.object({ sortOrder: sortOrder.optional(), sortBy: z.string().optional() });

/** The union member that goes with each aggregation type. */
export const AGGREGATION_MEMBER: Readonly<Record<AggregationType, string>> = {
  ACCOUNT: "accountAggregation",
  AMI: "amiAggregation",
  AWS_ECR_CONTAINER: "awsEcrContainerAggregation",
  AWS_EC2_INSTANCE: "ec2InstanceAggregation",
  FINDING_TYPE: "findingTypeAggregation",
  IMAGE_LAYER: "imageLayerAggregation",
  PACKAGE: "packageAggregation",
  REPOSITORY: "repositoryAggregation",
  TITLE: "titleAggregation",
  LAMBDA_LAYER: "lambdaLayerAggregation",
  AWS_LAMBDA_FUNCTION: "lambdaFunctionAggregation",
  CODE_REPOSITORY: "codeRepositoryAggregation",
  CONTAINER_IMAGE: "containerImageAggregation",
  SERVERLESS_FUNCTION: "serverlessFunctionAggregation",
  VM_INSTANCE: "vmInstanceAggregation",
};

export const aggregationRequest = z.object({
  accountAggregation: accountAggregation.optional(),
  amiAggregation: otherAggregation.optional(),
  awsEcrContainerAggregation: awsEcrContainerAggregation.optional(),
  ec2InstanceAggregation: otherAggregation.optional(),
  findingTypeAggregation: findingTypeAggregation.optional(),
  imageLayerAggregation: imageLayerAggregation.optional(),
  packageAggregation: packageAggregation.optional(),
  repositoryAggregation: repositoryAggregation.optional(),
  titleAggregation: titleAggregation.optional(),
  lambdaLayerAggregation: otherAggregation.optional(),
  lambdaFunctionAggregation: otherAggregation.optional(),
  codeRepositoryAggregation: otherAggregation.optional(),
  containerImageAggregation: otherAggregation.optional(),
  serverlessFunctionAggregation: otherAggregation.optional(),
  vmInstanceAggregation: otherAggregation.optional(),
});

export const listFindingAggregationsRequest = z.object({
  aggregationType: z.enum(AGGREGATION_TYPES),
  nextToken: nextToken.optional(),
  maxResults: z.number().int().min(1).max(100).optional(),
  accountIds: sfl,
  aggregationRequest: aggregationRequest.optional(),
});

export const batchGetFindingDetailsRequest = z.object({ findingArns: list(findingArn, 1, 10) });

export const FILTER_ACTIONS = ["NONE", "SUPPRESS"] as const;
export type FilterAction = (typeof FILTER_ACTIONS)[number];
export const createFilterRequest = z.object({
  action: z.enum(FILTER_ACTIONS),
  description: z.string().min(1).max(512).optional(),
  filterCriteria,
  name: z.string().min(1).max(128),
  tags: tagMap.optional(),
  reason: z.string().min(1).max(512).optional(),
});
export const listFiltersRequest = z.object({
  arns: z.array(filterArn).optional(),
  action: z.enum(FILTER_ACTIONS).optional(),
  nextToken: nextToken.optional(),
  maxResults: z.number().int().min(1).max(100).optional(),
});
export const updateFilterRequest = z.object({
  action: z.enum(FILTER_ACTIONS).optional(),
  description: z.string().min(1).max(512).optional(),
  filterCriteria: filterCriteria.optional(),
  name: z.string().min(1).max(128).optional(),
  filterArn,
  reason: z.string().min(1).max(512).optional(),
});
export const deleteFilterRequest = z.object({ arn: filterArn });

export const createFindingsReportRequest = z.object({
  filterCriteria: filterCriteria.optional(),
  reportFormat: z.enum(["CSV", "JSON"]),
  s3Destination: destination,
});
export const getFindingsReportStatusRequest = z.object({ reportId: reportId.optional() });
export const cancelFindingsReportRequest = z.object({ reportId });

const resourceStringFilter = z.object({
  comparison: z.enum(["EQUALS", "NOT_EQUALS"]),
  value: z.string().min(1).max(1024),
});
const resourceMapFilter = z.object({
  comparison: z.enum(["EQUALS"]),
  key: z.string().min(1),
  value: z.string().min(1).optional(),
});
export const resourceFilterCriteria = z.object({
  accountId: list(resourceStringFilter).optional(),
  resourceId: list(resourceStringFilter).optional(),
  resourceType: list(resourceStringFilter).optional(),
  ecrRepositoryName: list(resourceStringFilter).optional(),
  lambdaFunctionName: list(resourceStringFilter).optional(),
  ecrImageTags: list(resourceStringFilter).optional(),
  ec2InstanceTags: list(resourceMapFilter).optional(),
  lambdaFunctionTags: list(resourceMapFilter).optional(),
});
export type ResourceFilterCriteria = z.infer<typeof resourceFilterCriteria>;
export const SBOM_FORMATS = ["CYCLONEDX_1_4", "SPDX_2_3"] as const;
export type SbomFormat = (typeof SBOM_FORMATS)[number];
export const createSbomExportRequest = z.object({
  resourceFilterCriteria: resourceFilterCriteria.optional(),
  reportFormat: z.enum(SBOM_FORMATS),
  s3Destination: destination,
});
export const getSbomExportRequest = z.object({ reportId });
export const cancelSbomExportRequest = z.object({ reportId });

export const RESCAN_DURATIONS = [
  "LIFETIME",
  "DAYS_3",
  "DAYS_7",
  "DAYS_14",
  "DAYS_30",
  "DAYS_60",
  "DAYS_90",
  "DAYS_180",
] as const;
export type RescanDuration = (typeof RESCAN_DURATIONS)[number];
export const PULL_DATE_RESCAN_DURATIONS = [
  "DAYS_3",
  "DAYS_7",
  "DAYS_14",
  "DAYS_30",
  "DAYS_60",
  "DAYS_90",
  "DAYS_180",
] as const;
export type PullDateRescanDuration = (typeof PULL_DATE_RESCAN_DURATIONS)[number];
export const PULL_DATE_RESCAN_MODES = ["LAST_PULL_DATE", "LAST_IN_USE_AT"] as const;
export type PullDateRescanMode = (typeof PULL_DATE_RESCAN_MODES)[number];
export const ecrConfiguration = z.object({
  rescanDuration: z.enum(RESCAN_DURATIONS),
  pullDateRescanDuration: z.enum(PULL_DATE_RESCAN_DURATIONS).optional(),
  pullDateRescanMode: z.enum(PULL_DATE_RESCAN_MODES).optional(),
});
export type EcrConfiguration = z.infer<typeof ecrConfiguration>;
export const updateConfigurationRequest = z.object({
  ecrConfiguration: ecrConfiguration.optional(),
  ec2Configuration: z.object({ scanMode: z.enum(["EC2_SSM_AGENT_BASED", "EC2_HYBRID"]) }).optional(),
});

const coverageStringFilter = z.object({
  comparison: z.enum(["EQUALS", "NOT_EQUALS"]),
  value: z.string().min(1).max(1024),
});
export type CoverageStringFilter = z.infer<typeof coverageStringFilter>;
const coverageMapFilter = z.object({
  comparison: z.enum(["EQUALS"]),
  key: z.string().min(1),
  value: z.string().min(1).optional(),
});
const coverageDateFilter = z.object({
  startInclusive: timestamp.optional(),
  endInclusive: timestamp.optional(),
});
const coverageNumberFilter = z.object({
  upperInclusive: z.number().int().optional(),
  lowerInclusive: z.number().int().optional(),
});
const csfl = list(coverageStringFilter).optional();
export const coverageFilterCriteria = z.object({
  scanStatusCode: csfl,
  scanStatusReason: csfl,
  accountId: csfl,
  resourceId: csfl,
  resourceType: csfl,
  scanType: csfl,
  ecrRepositoryName: csfl,
  ecrImageTags: csfl,
  ec2InstanceTags: list(coverageMapFilter).optional(),
  lambdaFunctionName: csfl,
  lambdaFunctionTags: list(coverageMapFilter).optional(),
  lambdaFunctionRuntime: csfl,
  lastScannedAt: list(coverageDateFilter).optional(),
  scanMode: csfl,
  imagePulledAt: list(coverageDateFilter).optional(),
  ecrImageLastInUseAt: list(coverageDateFilter).optional(),
  ecrImageInUseCount: list(coverageNumberFilter).optional(),
  codeRepositoryProjectName: csfl,
  codeRepositoryProviderType: csfl,
  codeRepositoryProviderTypeVisibility: csfl,
  lastScannedCommitId: csfl,
});
export type CoverageFilterCriteria = z.infer<typeof coverageFilterCriteria>;
export const listCoverageRequest = z.object({
  maxResults: z.number().int().min(1).max(200).optional(),
  nextToken: nextToken.optional(),
  filterCriteria: coverageFilterCriteria.optional(),
});
export const COVERAGE_GROUP_KEYS = [
  "SCAN_STATUS_CODE",
  "SCAN_STATUS_REASON",
  "ACCOUNT_ID",
  "RESOURCE_TYPE",
  "ECR_REPOSITORY_NAME",
] as const;
export type CoverageGroupKey = (typeof COVERAGE_GROUP_KEYS)[number];
export const listCoverageStatisticsRequest = z.object({
  filterCriteria: coverageFilterCriteria.optional(),
  groupBy: z.enum(COVERAGE_GROUP_KEYS).optional(),
  nextToken: nextToken.optional(),
});

export const RESOURCE_SCAN_TYPES = ["EC2", "ECR", "LAMBDA", "LAMBDA_CODE", "CODE_REPOSITORY"] as const;
export type ResourceScanType = (typeof RESOURCE_SCAN_TYPES)[number];
export const enableRequest = z.object({
  accountIds: list(accountId, 0, 100).optional(),
  resourceTypes: list(z.enum(RESOURCE_SCAN_TYPES), 1, 5),
  clientToken: z.string().min(1).max(64).optional(),
});
export const disableRequest = z.object({
  accountIds: list(accountId, 0, 100).optional(),
  resourceTypes: list(z.enum(RESOURCE_SCAN_TYPES), 0, 5).optional(),
});
export const batchGetAccountStatusRequest = z.object({ accountIds: list(accountId, 0, 100).optional() });

export const resourceArn = z.string().min(1).max(1011);
export const tagResourceRequest = z.object({ resourceArn, tags: tagMap });
export const untagResourceRequest = z.object({ resourceArn, tagKeys: list(tagKey, 0, 50) });
export const listTagsForResourceRequest = z.object({ resourceArn });
