import type { AwsPrincipal } from "../access.js";
import {
  isImageAggregationType,
  type ActivationStatus,
  type AggregationRequest,
  type AggregationResponse,
  type FilterRecord,
  type Inspector2Backend,
} from "./backend.js";
import { toCoveredResource } from "./coverage.js";
import { DEFAULT_SORT } from "./criteria.js";
import { invalidField } from "./errors.js";
import { toInspectorFinding, toSeconds, type RegistryIdentity } from "./finding.js";
import {
  AGGREGATION_MEMBER,
  batchGetAccountStatusRequest,
  batchGetFindingDetailsRequest,
  cancelFindingsReportRequest,
  cancelSbomExportRequest,
  createFilterRequest,
  createFindingsReportRequest,
  createSbomExportRequest,
  criteriaKeys,
  deleteFilterRequest,
  disableRequest,
  enableRequest,
  getFindingsReportStatusRequest,
  getSbomExportRequest,
  listCoverageRequest,
  listCoverageStatisticsRequest,
  listFiltersRequest,
  listFindingAggregationsRequest,
  listFindingsRequest,
  listTagsForResourceRequest,
  tagResourceRequest,
  untagResourceRequest,
  updateConfigurationRequest,
  updateFilterRequest,
  type FilterCriteria,
} from "./shapes.js";
import { parseRequest } from "./validate.js";

/**
 * The Inspector2 operations: validate (shapes.ts), call the backend, shape the answer as the
 * model's output (timestamps in epoch seconds). Authorization happened before (the access table
 * of src/api/access.ts); readers pass the principal on so that the backend shows only the
 * repositories the caller may pull.
 */

export interface Inspector2Context {
  principal: AwsPrincipal;
}

export type Inspector2Handler = (input: Record<string, unknown>, ctx: Inspector2Context) => Promise<unknown>;

export interface Inspector2Route {
  /** The operation's name (the access table's key, `inspector2:<name>` in IAM messages). */
  name: string;
  method: "POST" | "GET" | "DELETE";
  /** Fastify path; `:resourceArn` is the tag operations' URI label. */
  path: string;
}

/** Every operation's HTTP binding, as the model (and @aws-sdk/client-inspector2's serializers) say. */
export const INSPECTOR2_ROUTES: readonly Inspector2Route[] = [
  { name: "ListFindings", method: "POST", path: "/findings/list" },
  { name: "ListFindingAggregations", method: "POST", path: "/findings/aggregation/list" },
  { name: "BatchGetFindingDetails", method: "POST", path: "/findings/details/batch/get" },
  { name: "CreateFilter", method: "POST", path: "/filters/create" },
  { name: "ListFilters", method: "POST", path: "/filters/list" },
  { name: "UpdateFilter", method: "POST", path: "/filters/update" },
  { name: "DeleteFilter", method: "POST", path: "/filters/delete" },
  { name: "CreateFindingsReport", method: "POST", path: "/reporting/create" },
  { name: "GetFindingsReportStatus", method: "POST", path: "/reporting/status/get" },
  { name: "CancelFindingsReport", method: "POST", path: "/reporting/cancel" },
  { name: "CreateSbomExport", method: "POST", path: "/sbomexport/create" },
  { name: "GetSbomExport", method: "POST", path: "/sbomexport/get" },
  { name: "CancelSbomExport", method: "POST", path: "/sbomexport/cancel" },
  { name: "GetConfiguration", method: "POST", path: "/configuration/get" },
  { name: "UpdateConfiguration", method: "POST", path: "/configuration/update" },
  { name: "ListCoverage", method: "POST", path: "/coverage/list" },
  { name: "ListCoverageStatistics", method: "POST", path: "/coverage/statistics/list" },
  { name: "Enable", method: "POST", path: "/enable" },
  { name: "Disable", method: "POST", path: "/disable" },
  { name: "BatchGetAccountStatus", method: "POST", path: "/status/batch/get" },
  { name: "ListTagsForResource", method: "GET", path: "/tags/:resourceArn" },
  { name: "TagResource", method: "POST", path: "/tags/:resourceArn" },
  { name: "UntagResource", method: "DELETE", path: "/tags/:resourceArn" },
];

const DEFAULT_MAX_RESULTS = 100;

const opt = <K extends string, V>(k: K, v: V | undefined): Partial<Record<K, V>> =>
  v === undefined ? {} : ({ [k]: v } as Record<K, V>);
const secs = (ms: number | undefined) => (ms === undefined ? undefined : toSeconds(ms));
const token = (t: string | undefined) => (t === undefined || t === "" ? undefined : t);
const page = (nextToken: string | undefined) => (nextToken ? { nextToken } : {});

function requireCriteria(c: FilterCriteria, field: string): void {
  if (criteriaKeys(c).length === 0)
    throw invalidField(
      field,
      "Member must set at least one filter (an empty filter would match every finding)",
    );
}

function shapeFilter(f: FilterRecord) {
  return {
    arn: f.arn,
    ownerId: f.ownerId,
    name: f.name,
    criteria: f.criteria,
    action: f.action,
    createdAt: toSeconds(f.createdAt),
    updatedAt: toSeconds(f.updatedAt),
    ...opt("description", f.description),
    ...opt("reason", f.reason),
    tags: f.tags,
  };
}

function shapeAggregation(r: AggregationResponse): AggregationResponse {
  if ("awsEcrContainerAggregation" in r) {
    const a = r.awsEcrContainerAggregation;
    return { awsEcrContainerAggregation: { ...a, ...opt("lastInUseAt", secs(a.lastInUseAt)) } };
  }
  return r;
}

const OTHER_RESOURCES = {
  ec2: "DISABLED",
  lambda: "DISABLED",
  lambdaCode: "DISABLED",
  codeRepository: "DISABLED",
};

/** The handlers, by operation name. */
export function inspector2Operations(
  backend: Inspector2Backend,
  registry: RegistryIdentity,
): Readonly<Record<string, Inspector2Handler>> {
  const ours = registry.accountId;
  const notOurs = (accountId: string) => ({
    accountId,
    errorCode: "ACCESS_DENIED",
    errorMessage: `This registry is account ${ours}; it has no account ${accountId}.`,
  });
  const accountStatus = (ecr: ActivationStatus) => ({
    accountId: ours,
    status: ecr,
    resourceStatus: { ...OTHER_RESOURCES, ecr },
  });

  return {
    async ListFindings(input, { principal }) {
      const req = parseRequest(listFindingsRequest, input);
      const p = await backend.listFindings(
        {
          criteria: req.filterCriteria,
          sort: req.sortCriteria ?? DEFAULT_SORT,
          maxResults: req.maxResults ?? DEFAULT_MAX_RESULTS,
          nextToken: token(req.nextToken),
        },
        principal,
      );
      return { findings: p.items.map((r) => toInspectorFinding(r, registry)), ...page(p.nextToken) };
    },

    async ListFindingAggregations(input, { principal }) {
      const req = parseRequest(listFindingAggregationsRequest, input);
      const type = req.aggregationType;
      const given = Object.entries(req.aggregationRequest ?? {}).filter(([, v]) => v !== undefined);
      if (given.length > 1)
        throw invalidField("aggregationRequest", "Member must set exactly one aggregation (it is a union)");
      const member = AGGREGATION_MEMBER[type];
      if (given.length === 1 && given[0]![0] !== member)
        throw invalidField(
          `aggregationRequest.${given[0]![0]}`,
          `Member must be ${member} for aggregationType ${type}`,
        );
      if (!isImageAggregationType(type)) return { aggregationType: type, responses: [] };
      const body = (given[0]?.[1] ?? {}) as Record<string, unknown> & { sortBy?: string; sortOrder?: string };
      const request = {
        ...body,
        type,
        sortBy: body.sortBy ?? "CRITICAL",
        sortOrder: body.sortOrder ?? "DESC",
      } as AggregationRequest;
      const p = await backend.listFindingAggregations(
        {
          request,
          accountIds: req.accountIds,
          maxResults: req.maxResults ?? DEFAULT_MAX_RESULTS,
          nextToken: token(req.nextToken),
        },
        principal,
      );
      return { aggregationType: type, responses: p.items.map(shapeAggregation), ...page(p.nextToken) };
    },

    async BatchGetFindingDetails(input, { principal }) {
      const req = parseRequest(batchGetFindingDetailsRequest, input);
      const r = await backend.findingDetails(req.findingArns, principal);
      return {
        findingDetails: r.findingDetails.map((d) => ({
          ...d,
          ...(d.cisaData
            ? {
                cisaData: {
                  ...d.cisaData,
                  ...opt("dateAdded", secs(d.cisaData.dateAdded)),
                  ...opt("dateDue", secs(d.cisaData.dateDue)),
                },
              }
            : {}),
          ...(d.exploitObserved
            ? {
                exploitObserved: {
                  ...opt("lastSeen", secs(d.exploitObserved.lastSeen)),
                  ...opt("firstSeen", secs(d.exploitObserved.firstSeen)),
                },
              }
            : {}),
        })),
        errors: r.errors,
      };
    },

    async CreateFilter(input, { principal }) {
      const req = parseRequest(createFilterRequest, input);
      requireCriteria(req.filterCriteria, "filterCriteria");
      const f = await backend.createFilter(
        {
          name: req.name,
          action: req.action,
          criteria: req.filterCriteria,
          ...opt("description", req.description),
          ...opt("reason", req.reason),
          ...opt("tags", req.tags),
        },
        principal,
      );
      return { arn: f.arn };
    },

    async ListFilters(input, { principal }) {
      const req = parseRequest(listFiltersRequest, input);
      const p = await backend.listFilters(
        {
          ...opt("arns", req.arns),
          ...opt("action", req.action),
          maxResults: req.maxResults ?? DEFAULT_MAX_RESULTS,
          nextToken: token(req.nextToken),
        },
        principal,
      );
      return { filters: p.items.map(shapeFilter), ...page(p.nextToken) };
    },

    async UpdateFilter(input, { principal }) {
      const req = parseRequest(updateFilterRequest, input);
      if (req.filterCriteria) requireCriteria(req.filterCriteria, "filterCriteria");
      const f = await backend.updateFilter(
        req.filterArn,
        {
          ...opt("name", req.name),
          ...opt("action", req.action),
          ...opt("criteria", req.filterCriteria),
          ...opt("description", req.description),
          ...opt("reason", req.reason),
        },
        principal,
      );
      return { arn: f.arn };
    },

    async DeleteFilter(input, { principal }) {
      const req = parseRequest(deleteFilterRequest, input);
      await backend.deleteFilter(req.arn, principal);
      return { arn: req.arn };
    },

    async CreateFindingsReport(input, { principal }) {
      const req = parseRequest(createFindingsReportRequest, input);
      return backend.createFindingsReport(
        { ...opt("criteria", req.filterCriteria), format: req.reportFormat, destination: req.s3Destination },
        principal,
      );
    },

    async GetFindingsReportStatus(input, { principal }) {
      const req = parseRequest(getFindingsReportStatusRequest, input);
      const s = await backend.getFindingsReportStatus(req.reportId, principal);
      return {
        reportId: s.reportId,
        status: s.status,
        ...opt("errorCode", s.errorCode),
        ...opt("errorMessage", s.errorMessage),
        ...opt("destination", s.destination),
        ...opt("filterCriteria", s.criteria),
      };
    },

    async CancelFindingsReport(input, { principal }) {
      const req = parseRequest(cancelFindingsReportRequest, input);
      await backend.cancelFindingsReport(req.reportId, principal);
      return { reportId: req.reportId };
    },

    async CreateSbomExport(input, { principal }) {
      const req = parseRequest(createSbomExportRequest, input);
      return backend.createSbomExport(
        {
          ...opt("criteria", req.resourceFilterCriteria),
          format: req.reportFormat,
          destination: req.s3Destination,
        },
        principal,
      );
    },

    async GetSbomExport(input, { principal }) {
      const req = parseRequest(getSbomExportRequest, input);
      const s = await backend.getSbomExport(req.reportId, principal);
      return {
        reportId: s.reportId,
        format: s.format,
        status: s.status,
        ...opt("errorCode", s.errorCode),
        ...opt("errorMessage", s.errorMessage),
        ...opt("s3Destination", s.destination),
        ...opt("filterCriteria", s.criteria),
      };
    },

    async CancelSbomExport(input, { principal }) {
      const req = parseRequest(cancelSbomExportRequest, input);
      await backend.cancelSbomExport(req.reportId, principal);
      return { reportId: req.reportId };
    },

    async GetConfiguration(_input, { principal }) {
      const c = await backend.getConfiguration(principal);
      return {
        ecrConfiguration: {
          rescanDurationState: {
            rescanDuration: c.rescanDuration,
            status: c.status,
            ...opt("updatedAt", secs(c.updatedAt)),
            ...opt("pullDateRescanDuration", c.pullDateRescanDuration),
            ...opt("pullDateRescanMode", c.pullDateRescanMode),
          },
        },
      };
    },

    async UpdateConfiguration(input, { principal }) {
      const req = parseRequest(updateConfigurationRequest, input);
      // ec2Configuration is accepted and ignored: there are no EC2 instances here.
      if (req.ecrConfiguration) await backend.updateConfiguration(req.ecrConfiguration, principal);
      return {};
    },

    async ListCoverage(input, { principal }) {
      const req = parseRequest(listCoverageRequest, input);
      const p = await backend.listCoverage(
        {
          ...opt("criteria", req.filterCriteria),
          maxResults: req.maxResults ?? DEFAULT_MAX_RESULTS,
          nextToken: token(req.nextToken),
        },
        principal,
      );
      return { coveredResources: p.items.map((c) => toCoveredResource(c, registry)), ...page(p.nextToken) };
    },

    async ListCoverageStatistics(input, { principal }) {
      const req = parseRequest(listCoverageStatisticsRequest, input);
      const s = await backend.coverageStatistics(
        {
          ...opt("criteria", req.filterCriteria),
          ...opt("groupBy", req.groupBy),
          nextToken: token(req.nextToken),
        },
        principal,
      );
      return {
        ...(s.countsByGroup.length ? { countsByGroup: s.countsByGroup } : {}),
        totalCounts: s.totalCounts,
        ...page(s.nextToken),
      };
    },

    async Enable(input, { principal }) {
      const req = parseRequest(enableRequest, input);
      const ids = req.accountIds?.length ? req.accountIds : [ours];
      const failed = ids.filter((a) => a !== ours).map(notOurs);
      const accounts = [];
      if (ids.includes(ours)) {
        // Only ECR scanning exists here; other resource types stay DISABLED.
        if (req.resourceTypes.includes("ECR")) await backend.enable(principal);
        accounts.push(accountStatus(await backend.ecrStatus(principal)));
      }
      return { accounts, ...(failed.length ? { failedAccounts: failed } : {}) };
    },

    async Disable(input, { principal }) {
      const req = parseRequest(disableRequest, input);
      const ids = req.accountIds?.length ? req.accountIds : [ours];
      const failed = ids.filter((a) => a !== ours).map(notOurs);
      const accounts = [];
      if (ids.includes(ours)) {
        const types = req.resourceTypes?.length ? req.resourceTypes : ["ECR"];
        if (types.includes("ECR")) await backend.disable(principal);
        accounts.push(accountStatus(await backend.ecrStatus(principal)));
      }
      return { accounts, ...(failed.length ? { failedAccounts: failed } : {}) };
    },

    async BatchGetAccountStatus(input, { principal }) {
      const req = parseRequest(batchGetAccountStatusRequest, input);
      const ids = req.accountIds?.length ? req.accountIds : [ours];
      const failed = ids.filter((a) => a !== ours).map(notOurs);
      const accounts = [];
      if (ids.includes(ours)) {
        const ecr = await backend.ecrStatus(principal);
        const st = (status: string) => ({ status });
        accounts.push({
          accountId: ours,
          state: st(ecr),
          resourceState: {
            ec2: st("DISABLED"),
            ecr: st(ecr),
            lambda: st("DISABLED"),
            lambdaCode: st("DISABLED"),
            codeRepository: st("DISABLED"),
          },
        });
      }
      return { accounts, ...(failed.length ? { failedAccounts: failed } : {}) };
    },

    async ListTagsForResource(input, { principal }) {
      const req = parseRequest(listTagsForResourceRequest, input);
      return { tags: await backend.listTags(req.resourceArn, principal) };
    },

    async TagResource(input, { principal }) {
      const req = parseRequest(tagResourceRequest, input);
      await backend.tagResource(req.resourceArn, req.tags, principal);
      return {};
    },

    async UntagResource(input, { principal }) {
      const req = parseRequest(untagResourceRequest, input);
      await backend.untagResource(req.resourceArn, req.tagKeys, principal);
      return {};
    },
  };
}
