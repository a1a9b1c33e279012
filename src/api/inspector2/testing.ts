import { randomBytes, randomUUID } from "node:crypto";
import { compareStrings } from "../../core/compare.js";
import type { AwsPrincipal } from "../access.js";
import type {
  ActivationStatus,
  AggregationQuery,
  AggregationResponse,
  CoverageRecord,
  CoverageStatistics,
  CoverageStatisticsQuery,
  EcrConfigurationState,
  FilterInput,
  FilterRecord,
  FindingDetail,
  FindingDetailError,
  FindingsReportInput,
  FindingsReportStatus,
  Inspector2Backend,
  ListCoverageQuery,
  ListFiltersQuery,
  ListFindingsQuery,
  Page,
  SbomExportInput,
  SbomExportStatus,
  SeverityCounts,
} from "./backend.js";
import { coverageGroupValue, matchesCoverageCriteria, toCoveredResource } from "./coverage.js";
import {
  compareFindings,
  compareSortKeys,
  matchesDateFilters,
  matchesFilterCriteria,
  matchesNumberFilters,
  matchesStringFilters,
  sortKeyOf,
  type SortKey,
} from "./criteria.js";
import { badRequest, resourceNotFound, serviceQuotaExceeded } from "./errors.js";
import {
  toInspectorFinding,
  type FindingRecord,
  type InspectorFinding,
  type RegistryIdentity,
} from "./finding.js";
import type { EcrConfiguration, StringFilter } from "./shapes.js";
import { aggregationPage, decodePageToken, encodePageToken, imageOrderKey } from "./tokens.js";

/**
 * An in-memory Inspector2Backend for the wire layer's tests only (excluded from dist): findings
 * are a list of records, filters a map, reports never run. It answers with the reference
 * semantics (criteria.ts evaluator and comparator, coverage.ts), pages with keyset tokens, and
 * shows only the repositories the caller may pull. It proves the protocol, not the feature: the
 * findings store is the real backend.
 */
export class MemoryInspector2Backend implements Inspector2Backend {
  readonly findings: FindingRecord[] = [];
  readonly coverage: CoverageRecord[] = [];
  readonly filters = new Map<string, FilterRecord>();
  readonly reports = new Map<string, FindingsReportStatus>();
  readonly sbomExports = new Map<string, SbomExportStatus>();
  configuration: EcrConfigurationState = { rescanDuration: "LIFETIME", status: "SUCCESS" };
  ecr: ActivationStatus = "DISABLED";
  /** Every call, for assertions: [method, principal user]. */
  readonly calls: [string, string | null][] = [];
  maxFilters = 500;

  constructor(
    readonly registry: RegistryIdentity,
    private readonly now: () => number = Date.now,
  ) {}

  private visible(principal: AwsPrincipal, repository: string): boolean {
    return principal.pullsEverything || principal.may("pull", repository);
  }

  private shaped(principal: AwsPrincipal): InspectorFinding[] {
    return this.findings
      .filter((r) => this.visible(principal, r.repositoryName))
      .map((r) => toInspectorFinding(r, this.registry));
  }

  async listFindings(q: ListFindingsQuery, principal: AwsPrincipal): Promise<Page<FindingRecord>> {
    this.calls.push(["listFindings", principal.user]);
    const after = decodePageToken("findings", q.nextToken, isSortKey);
    const byArn = new Map(this.findings.map((r) => [r.findingArn, r]));
    const rows = this.shaped(principal)
      .filter((f) => matchesFilterCriteria(f, q.criteria))
      .sort((a, b) => compareFindings(a, b, q.sort))
      .filter((f) => after === undefined || compareSortKeys(sortKeyOf(f, q.sort), after, q.sort) > 0);
    const pageRows = rows.slice(0, q.maxResults);
    const last = pageRows.at(-1);
    return {
      items: pageRows.map((f) => byArn.get(f.findingArn)!),
      ...(rows.length > q.maxResults && last
        ? { nextToken: encodePageToken("findings", sortKeyOf(last, q.sort)) }
        : {}),
    };
  }

  async listFindingAggregations(
    q: AggregationQuery,
    principal: AwsPrincipal,
  ): Promise<Page<AggregationResponse>> {
    this.calls.push(["listFindingAggregations", principal.user]);
    const r = q.request;
    const acct = this.registry.accountId;
    const active = this.shaped(principal).filter(
      (f) => f.status === "ACTIVE" && (!q.accountIds || matchesStringFilters([f.awsAccountId], q.accountIds)),
    );
    const sf = (values: string[], filters: StringFilter[] | undefined) =>
      filters === undefined || matchesStringFilters(values, filters);
    const img = (f: InspectorFinding) => f.resources[0]!.details!.awsEcrContainerImage!;
    const pkgs = (f: InspectorFinding) => f.packageVulnerabilityDetails?.vulnerablePackages ?? [];
    type Group = {
      key: string;
      findings: InspectorFinding[];
      row: (counts: SeverityCounts) => AggregationResponse;
    };
    const groups = new Map<string, Group>();
    const add = (key: string, f: InspectorFinding, row: Group["row"]) => {
      const g = groups.get(key) ?? { key, findings: [], row };
      g.findings.push(f);
      groups.set(key, g);
    };
    for (const f of active) {
      const i = img(f);
      switch (r.type) {
        case "REPOSITORY":
          if (sf([i.repositoryName], r.repositories))
            add(i.repositoryName, f, (severityCounts) => ({
              repositoryAggregation: {
                repository: i.repositoryName,
                accountId: acct,
                severityCounts,
                affectedImages: new Set(groups.get(i.repositoryName)!.findings.map((x) => img(x).imageHash))
                  .size,
              },
            }));
          break;
        case "AWS_ECR_CONTAINER": {
          const id = f.resources[0]!.id;
          if (
            sf([id], r.resourceIds) &&
            sf([i.imageHash], r.imageShas) &&
            sf([i.repositoryName], r.repositories) &&
            sf(i.architecture ? [i.architecture] : [], r.architectures) &&
            sf(i.imageTags ?? [], r.imageTags) &&
            (!r.lastInUseAt ||
              matchesDateFilters(i.lastInUseAt === undefined ? [] : [i.lastInUseAt], r.lastInUseAt)) &&
            (!r.inUseCount ||
              matchesNumberFilters(i.inUseCount === undefined ? [] : [i.inUseCount], r.inUseCount))
          )
            add(id, f, (severityCounts) => ({
              awsEcrContainerAggregation: {
                resourceId: id,
                imageSha: i.imageHash,
                repository: i.repositoryName,
                ...(i.architecture ? { architecture: i.architecture } : {}),
                imageTags: i.imageTags ?? [],
                accountId: acct,
                severityCounts,
                ...(i.lastInUseAt !== undefined ? { lastInUseAt: i.lastInUseAt * 1000 } : {}),
              },
            }));
          break;
        }
        case "IMAGE_LAYER":
          for (const p of pkgs(f)) {
            const layer = p.sourceLayerHash;
            if (!layer) continue;
            const id = f.resources[0]!.id;
            if (
              sf([i.repositoryName], r.repositories) &&
              sf([id], r.resourceIds) &&
              sf([layer], r.layerHashes)
            )
              add(`${id} ${layer}`, f, (severityCounts) => ({
                imageLayerAggregation: {
                  repository: i.repositoryName,
                  resourceId: id,
                  layerHash: layer,
                  accountId: acct,
                  severityCounts,
                },
              }));
          }
          break;
        case "PACKAGE":
          for (const p of pkgs(f))
            if (sf([p.name], r.packageNames))
              add(p.name, f, (severityCounts) => ({
                packageAggregation: { packageName: p.name, accountId: acct, severityCounts },
              }));
          break;
        case "TITLE": {
          const title = f.title ?? "";
          const vid = f.packageVulnerabilityDetails?.vulnerabilityId;
          if (
            sf([title], r.titles) &&
            sf(vid ? [vid] : [], r.vulnerabilityIds) &&
            (r.findingType === undefined || r.findingType === f.type) &&
            (r.resourceType === undefined || r.resourceType === f.resources[0]!.type)
          )
            add(title, f, (severityCounts) => ({
              titleAggregation: {
                title,
                ...(vid ? { vulnerabilityId: vid } : {}),
                accountId: acct,
                severityCounts,
              },
            }));
          break;
        }
        case "FINDING_TYPE":
        case "ACCOUNT":
          if (
            (r.findingType === undefined || r.findingType === f.type) &&
            (r.resourceType === undefined || r.resourceType === f.resources[0]!.type)
          )
            add(acct, f, (severityCounts) => {
              const g = groups.get(acct)!.findings;
              const body = {
                accountId: acct,
                severityCounts,
                exploitAvailableCount: g.filter((x) => x.exploitAvailable === "YES").length,
                fixAvailableCount: g.filter((x) => x.fixAvailable === "YES").length,
              };
              return r.type === "ACCOUNT" ? { accountAggregation: body } : { findingTypeAggregation: body };
            });
          break;
      }
    }
    const rows = [...groups.values()].map((g) => {
      const counts: SeverityCounts = {
        all: g.findings.length,
        medium: g.findings.filter((f) => f.severity === "MEDIUM").length,
        high: g.findings.filter((f) => f.severity === "HIGH").length,
        critical: g.findings.filter((f) => f.severity === "CRITICAL").length,
      };
      const row = g.row(counts);
      const by =
        r.sortBy === "AFFECTED_IMAGES"
          ? "repositoryAggregation" in row
            ? (row.repositoryAggregation.affectedImages ?? 0)
            : 0
          : r.sortBy === "CRITICAL"
            ? counts.critical
            : r.sortBy === "HIGH"
              ? counts.high
              : counts.all;
      const key =
        "awsEcrContainerAggregation" in row
          ? imageOrderKey(
              row.awsEcrContainerAggregation.repository!,
              row.awsEcrContainerAggregation.imageSha!,
            )
          : g.key;
      return { key, by, row };
    });
    return aggregationPage(rows, r.sortOrder, q);
  }

  async findingDetails(
    arns: string[],
    principal: AwsPrincipal,
  ): Promise<{ findingDetails: FindingDetail[]; errors: FindingDetailError[] }> {
    this.calls.push(["findingDetails", principal.user]);
    const findingDetails: FindingDetail[] = [];
    const errors: FindingDetailError[] = [];
    for (const arn of arns) {
      const r = this.findings.find((x) => x.findingArn === arn && this.visible(principal, x.repositoryName));
      if (!r) {
        errors.push({
          findingArn: arn,
          errorCode: "FINDING_DETAILS_NOT_FOUND",
          errorMessage: "No such finding.",
        });
        continue;
      }
      findingDetails.push({
        findingArn: arn,
        referenceUrls: r.references,
        ...(r.epss ? { epssScore: r.epss.score } : {}),
        ...(r.kev ? { cisaData: { dateAdded: Date.UTC(2024, 0, 2), action: "Apply updates." } } : {}),
        cwes: [],
      });
    }
    return { findingDetails, errors };
  }

  /** SUPPRESS filters decide ACTIVE vs SUPPRESSED of every open finding (as if ACTIVE). */
  private applyFilters(): void {
    const suppressing = [...this.filters.values()].filter((f) => f.action === "SUPPRESS");
    for (const r of this.findings) {
      if (r.status === "CLOSED") continue;
      const f = toInspectorFinding({ ...r, status: "ACTIVE" }, this.registry);
      r.status = suppressing.some((flt) => matchesFilterCriteria(f, flt.criteria)) ? "SUPPRESSED" : "ACTIVE";
    }
  }

  private filter(arn: string): FilterRecord {
    const f = this.filters.get(arn);
    if (!f) throw resourceNotFound(`Filter ${arn} does not exist.`);
    return f;
  }

  async createFilter(input: FilterInput, principal: AwsPrincipal): Promise<FilterRecord> {
    this.calls.push(["createFilter", principal.user]);
    if ([...this.filters.values()].some((f) => f.name === input.name))
      throw badRequest(`A filter named ${input.name} already exists.`);
    if (this.filters.size >= this.maxFilters)
      throw serviceQuotaExceeded(`At most ${this.maxFilters} filters.`, input.name);
    const { accountId, region } = this.registry;
    const arn = `arn:aws:inspector2:${region}:${accountId}:owner/${accountId}/filter/${randomBytes(8).toString("hex")}`;
    const at = this.now();
    const rec: FilterRecord = {
      arn,
      ownerId: accountId,
      name: input.name,
      criteria: input.criteria,
      action: input.action,
      createdAt: at,
      updatedAt: at,
      ...(input.description !== undefined ? { description: input.description } : {}),
      ...(input.reason !== undefined ? { reason: input.reason } : {}),
      tags: { ...(input.tags ?? {}) },
    };
    this.filters.set(arn, rec);
    this.applyFilters();
    return rec;
  }

  async listFilters(q: ListFiltersQuery, principal: AwsPrincipal): Promise<Page<FilterRecord>> {
    this.calls.push(["listFilters", principal.user]);
    const all = [...this.filters.values()]
      .filter((f) => (!q.arns || q.arns.includes(f.arn)) && (!q.action || f.action === q.action))
      .sort((a, b) => compareStrings(a.arn, b.arn));
    const after = decodePageToken("filters", q.nextToken, isString);
    const rest = after === undefined ? all : all.filter((f) => f.arn > after);
    const items = rest.slice(0, q.maxResults);
    return {
      items,
      ...(rest.length > q.maxResults ? { nextToken: encodePageToken("filters", items.at(-1)!.arn) } : {}),
    };
  }

  async updateFilter(
    arn: string,
    changes: Partial<FilterInput>,
    principal: AwsPrincipal,
  ): Promise<FilterRecord> {
    this.calls.push(["updateFilter", principal.user]);
    const f = this.filter(arn);
    if (
      changes.name !== undefined &&
      changes.name !== f.name &&
      [...this.filters.values()].some((x) => x.name === changes.name)
    )
      throw badRequest(`A filter named ${changes.name} already exists.`);
    Object.assign(f, changes, { updatedAt: this.now() });
    this.applyFilters();
    return f;
  }

  async deleteFilter(arn: string, principal: AwsPrincipal): Promise<void> {
    this.calls.push(["deleteFilter", principal.user]);
    this.filter(arn);
    this.filters.delete(arn);
    this.applyFilters();
  }

  async listTags(resourceArn: string): Promise<Record<string, string>> {
    return { ...this.filter(resourceArn).tags };
  }

  async tagResource(resourceArn: string, tags: Record<string, string>): Promise<void> {
    Object.assign(this.filter(resourceArn).tags, tags);
  }

  async untagResource(resourceArn: string, tagKeys: string[]): Promise<void> {
    const f = this.filter(resourceArn);
    for (const k of tagKeys) delete f.tags[k];
  }

  async createFindingsReport(
    input: FindingsReportInput,
    principal: AwsPrincipal,
  ): Promise<{ reportId: string }> {
    this.calls.push(["createFindingsReport", principal.user]);
    const reportId = randomUUID();
    this.reports.set(reportId, {
      reportId,
      status: "IN_PROGRESS",
      destination: input.destination,
      ...(input.criteria ? { criteria: input.criteria } : {}),
    });
    return { reportId };
  }

  async getFindingsReportStatus(reportId: string | undefined): Promise<FindingsReportStatus> {
    const r = reportId === undefined ? [...this.reports.values()].at(-1) : this.reports.get(reportId);
    if (!r) throw resourceNotFound(`Report ${reportId ?? "(latest)"} does not exist.`);
    return r;
  }

  async cancelFindingsReport(reportId: string): Promise<void> {
    const r = this.reports.get(reportId);
    if (!r) throw resourceNotFound(`Report ${reportId} does not exist.`);
    r.status = "CANCELLED";
  }

  async createSbomExport(input: SbomExportInput): Promise<{ reportId: string }> {
    const reportId = randomUUID();
    this.sbomExports.set(reportId, {
      reportId,
      format: input.format,
      status: "IN_PROGRESS",
      destination: input.destination,
      ...(input.criteria ? { criteria: input.criteria } : {}),
    });
    return { reportId };
  }

  async getSbomExport(reportId: string): Promise<SbomExportStatus> {
    const r = this.sbomExports.get(reportId);
    if (!r) throw resourceNotFound(`SBOM export ${reportId} does not exist.`);
    return r;
  }

  async cancelSbomExport(reportId: string): Promise<void> {
    const r = this.sbomExports.get(reportId);
    if (!r) throw resourceNotFound(`SBOM export ${reportId} does not exist.`);
    r.status = "CANCELLED";
  }

  async getConfiguration(): Promise<EcrConfigurationState> {
    return this.configuration;
  }

  async updateConfiguration(cfg: EcrConfiguration, principal: AwsPrincipal): Promise<void> {
    this.calls.push(["updateConfiguration", principal.user]);
    this.configuration = { ...cfg, status: "SUCCESS", updatedAt: this.now() };
  }

  async enable(principal: AwsPrincipal): Promise<void> {
    this.calls.push(["enable", principal.user]);
    this.ecr = "ENABLED";
  }

  async disable(principal: AwsPrincipal): Promise<void> {
    this.calls.push(["disable", principal.user]);
    this.ecr = "DISABLED";
  }

  async ecrStatus(): Promise<ActivationStatus> {
    return this.ecr;
  }

  private coveredFor(principal: AwsPrincipal, q: { criteria?: ListCoverageQuery["criteria"] }) {
    return this.coverage
      .filter((c) => this.visible(principal, c.repositoryName))
      .filter((c) => matchesCoverageCriteria(toCoveredResource(c, this.registry), q.criteria))
      .sort((a, b) => compareStrings(a.resourceId, b.resourceId));
  }

  async listCoverage(q: ListCoverageQuery, principal: AwsPrincipal): Promise<Page<CoverageRecord>> {
    this.calls.push(["listCoverage", principal.user]);
    const all = this.coveredFor(principal, q);
    const after = decodePageToken("coverage", q.nextToken, isString);
    const rest = after === undefined ? all : all.filter((c) => c.resourceId > after);
    const items = rest.slice(0, q.maxResults);
    return {
      items,
      ...(rest.length > q.maxResults
        ? { nextToken: encodePageToken("coverage", items.at(-1)!.resourceId) }
        : {}),
    };
  }

  async coverageStatistics(q: CoverageStatisticsQuery, principal: AwsPrincipal): Promise<CoverageStatistics> {
    this.calls.push(["coverageStatistics", principal.user]);
    const all = this.coveredFor(principal, q);
    const counts = new Map<string, number>();
    if (q.groupBy)
      for (const c of all) {
        const k = coverageGroupValue(toCoveredResource(c, this.registry), q.groupBy);
        counts.set(k, (counts.get(k) ?? 0) + 1);
      }
    return {
      countsByGroup: [...counts].map(([groupKey, count]) => ({ groupKey, count })),
      totalCounts: all.length,
    };
  }
}

const isString = (p: unknown): p is string => typeof p === "string";
const isSortKey = (p: unknown): p is SortKey =>
  typeof p === "object" &&
  p !== null &&
  typeof (p as SortKey).findingArn === "string" &&
  ["string", "number", "undefined"].includes(typeof (p as SortKey).value);

let seq = 0;

/** A finding record for tests: an openssl CVE in `repo` unless overridden. */
export function findingRecord(overrides: Partial<FindingRecord> = {}): FindingRecord {
  seq++;
  const hex = seq.toString(16).padStart(32, "0");
  return {
    findingArn: `arn:aws:inspector2:us-east-1:123456789012:finding/${hex}`,
    repositoryName: "team/app",
    imageDigest: `sha256:${"ab".repeat(32)}`,
    imageTags: ["1.0"],
    pushedAt: 1_700_000_000_000,
    architecture: "amd64",
    platform: "DEBIAN_12",
    status: "ACTIVE",
    reportedSeverity: "HIGH",
    firstObservedAt: 1_700_000_100_000 + seq * 1000,
    lastObservedAt: 1_700_000_200_000,
    updatedAt: 1_700_000_200_000,
    matchStatus: "affected",
    vulnerabilityId: `CVE-2024-${1000 + seq}`,
    aliases: [],
    severity: "HIGH",
    severitySource: "cvss-v3",
    description: "A flaw in openssl.",
    package: {
      name: "openssl",
      version: "3.0.11-1~deb12u2",
      ecosystem: "deb",
      purl: "pkg:deb/debian/openssl@3.0.11-1~deb12u2?arch=amd64&distro=debian-12",
      layer: `sha256:${"cd".repeat(32)}`,
      path: "/var/lib/dpkg/status",
    },
    fixedVersion: "3.0.13-1~deb12u1",
    fixAvailable: "YES",
    cvss: [
      { type: "CVSS_V3", vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N", score: 7.5, source: "nvd" },
    ],
    kev: false,
    references: ["https://security-tracker.debian.org/tracker/CVE-2024-0001"],
    source: "debian-tracker",
    explanation: {
      advisory: "CVE-2024-0001",
      source: "debian-tracker",
      ecosystem: "debian:12",
      package: "openssl",
      version: "3.0.11-1~deb12u2",
      scheme: "deb",
      matched: "range",
    },
    ...overrides,
  };
}
