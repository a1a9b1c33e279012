import { randomBytes } from "node:crypto";
import { compareStrings } from "../core/compare.js";
import type { AwsPrincipal } from "../api/access.js";
import type {
  ActivationStatus,
  AggregationQuery,
  AggregationRequest,
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
} from "../api/inspector2/backend.js";
import {
  coverageGroupValue,
  matchesCoverageCriteria,
  toCoveredResource,
} from "../api/inspector2/coverage.js";
import {
  criteriaAst,
  matchesFilterCriteria,
  matchesDateFilters,
  matchesStringFilters,
} from "../api/inspector2/criteria.js";
import { badRequest, resourceNotFound, serviceQuotaExceeded } from "../api/inspector2/errors.js";
import {
  imageResourceId,
  toInspectorFinding,
  type FindingRecord,
  type RegistryIdentity,
} from "../api/inspector2/finding.js";
import type { EcrConfiguration, FilterCriteria, StringFilter } from "../api/inspector2/shapes.js";
import {
  aggregationOffset,
  aggregationPage,
  decodePageToken,
  imageOrderKey,
  encodePageToken,
  isOffset,
} from "../api/inspector2/tokens.js";
import { suppressionChangeEvent } from "../events/envelope.js";
import { appendEvent } from "../events/log.js";
import type { Finding } from "./finding.js";
import { decideRepository } from "../scan/filters.js";
import { applyScanningConfiguration } from "../scan/activation.js";
import { readScanningConfiguration } from "../scan/state.js";
import {
  ecrConfiguration,
  storedEcrConfiguration,
  WINDOW_JOB,
  writeEcrConfiguration,
} from "../scan/window.js";
import { coverageStatus } from "./coverage.js";
import type {
  AggregationGroup,
  AggregationRow,
  FindingNarrowing,
  MetaStore,
  OrderValue,
  StoredFilter,
} from "../storage/meta/store.js";
import { narrowingOf, orderOf } from "./narrowing.js";
import { listedRecord } from "./records.js";
import { annotateRecords, reapplySuppression, REPOSITORY_PATTERN_TAG } from "./suppression.js";
import type { InspectorReports } from "./reports/service.js";

/**
 * The Inspector2 API over the stores (docs/inspector2-api.md, "The backend"): ENHANCED findings
 * from the findings store (narrowed in SQL, checked exactly with the criteria evaluator, in
 * compareFindings order), aggregations as GROUP BY counts, suppression filters and their tags,
 * the ECR configuration in the registry settings, activation as the registry's scanning
 * configuration, and coverage from the images and their scans.
 */

/** At most this many filters (Inspector's quota is 500 per account). */
export const MAX_FILTERS = 500;
/** The tag that ends a filter at a time (ISO date): it stops suppressing then. */
export const EXPIRES_AT_TAG = "drydock:expires-at";

type Position = { v: OrderValue; id: string };
const isPosition = (p: unknown): p is Position =>
  typeof p === "object" &&
  p !== null &&
  typeof (p as Position).id === "string" &&
  ((p as Position).v === null || ["string", "number"].includes(typeof (p as Position).v));
const isString = (p: unknown): p is string => typeof p === "string";

export interface StoreInspector2BackendOptions {
  registry: RegistryIdentity;
  now?: () => number;
  maxFilters?: number;
  /** Findings reports and SBOM exports (src/findings/reports/); absent: BadRequestException. */
  reports?: InspectorReports;
  /** Jobs were queued (committed): wake this process's workers. */
  onQueued?: () => void;
}

export class StoreInspector2Backend implements Inspector2Backend {
  private readonly registry: RegistryIdentity;
  private readonly now: () => number;
  private readonly maxFilters: number;
  private readonly reports: InspectorReports | undefined;

  constructor(
    private readonly meta: MetaStore,
    private readonly o: StoreInspector2BackendOptions,
  ) {
    this.registry = o.registry;
    this.now = o.now ?? Date.now;
    this.maxFilters = o.maxFilters ?? MAX_FILTERS;
    this.reports = o.reports;
  }

  /** The ids of the repositories the caller may pull (undefined: every one). */
  private async visibleRepositoryIds(principal: AwsPrincipal): Promise<number[] | undefined> {
    if (principal.pullsEverything) return undefined;
    const ids: number[] = [];
    let after: string | undefined;
    for (;;) {
      const p = await this.meta.settings.repositories(after, 1000);
      for (const r of p.items) if (principal.may("pull", r.name)) ids.push(r.id);
      if (!p.more || !p.items.length) return ids;
      after = p.items.at(-1)!.name;
    }
  }

  // --- findings -------------------------------------------------------------------------

  async listFindings(q: ListFindingsQuery, principal: AwsPrincipal): Promise<Page<FindingRecord>> {
    const start = decodePageToken("findings", q.nextToken, isPosition);
    const repositoryIds = await this.visibleRepositoryIds(principal);
    const narrowing = narrowingOf(q.criteria, {
      scanType: "ENHANCED",
      ...(repositoryIds ? { repositoryIds } : {}),
    });
    const order = orderOf(q.sort);
    const ast = q.criteria ? criteriaAst(q.criteria) : [];
    const batch = Math.min(Math.max(q.maxResults + 1, 200), 1000);
    const items: FindingRecord[] = [];
    // Why each is suppressed, what VEX says of it (Drydock's `drydock` member), for the page.
    const noted: { rec: FindingRecord; repositoryId: number; digest: string }[] = [];
    const annotated = async () => {
      await annotateRecords(this.meta, this.registry, noted, this.now());
      return items;
    };
    let last: Position | undefined;
    let after = start ? { value: start.v, id: start.id } : undefined;
    for (;;) {
      const page = await this.meta.findings.list({ narrowing, order, after, limit: batch });
      for (const r of page.items) {
        const rec = listedRecord(this.registry, r);
        if (!matchesFilterCriteria(toInspectorFinding(rec, this.registry), ast)) continue;
        if (items.length === q.maxResults)
          return { items: await annotated(), nextToken: encodePageToken("findings", last) };
        items.push(rec);
        noted.push({ rec, repositoryId: r.repositoryId, digest: r.digest });
        last = { v: r.orderValue, id: r.id };
      }
      const end = page.items.at(-1);
      if (!page.more || !end) return { items: await annotated() };
      after = { value: end.orderValue, id: end.id };
    }
  }

  async listFindingAggregations(
    q: AggregationQuery,
    principal: AwsPrincipal,
  ): Promise<Page<AggregationResponse>> {
    const r = q.request;
    const acct = this.registry.accountId;
    const empty = { items: [] };
    if (q.accountIds && !matchesStringFilters([acct], q.accountIds)) return empty;
    if (
      "findingType" in r &&
      ((r.findingType !== undefined && r.findingType !== "PACKAGE_VULNERABILITY") ||
        (r.resourceType !== undefined && r.resourceType !== "AWS_ECR_CONTAINER_IMAGE"))
    )
      return empty;
    const repositoryIds = await this.visibleRepositoryIds(principal);
    const totals = await this.totalsPage(r, repositoryIds, q);
    if (totals) return totals;
    const criteria: FilterCriteria = {};
    if ("repositories" in r && r.repositories) criteria.ecrImageRepositoryName = r.repositories;
    if (r.type === "TITLE" && r.vulnerabilityIds) criteria.vulnerabilityId = r.vulnerabilityIds;
    const narrowing: FindingNarrowing = {
      ...narrowingOf(criteria, { scanType: "ENHANCED", ...(repositoryIds ? { repositoryIds } : {}) }),
      statuses: ["ACTIVE"],
    };
    const group: Record<typeof r.type, AggregationGroup> = {
      REPOSITORY: "repository",
      AWS_ECR_CONTAINER: "image",
      IMAGE_LAYER: "layer",
      PACKAGE: "package",
      TITLE: "title",
      FINDING_TYPE: "account",
      ACCOUNT: "account",
    };
    const rows = await this.meta.findings.aggregate(narrowing, group[r.type]);
    const sf = (values: string[], filters: StringFilter[] | undefined) =>
      filters === undefined || matchesStringFilters(values, filters);
    const counts = (g: AggregationRow): SeverityCounts => ({
      all: g.all,
      medium: g.medium,
      high: g.high,
      critical: g.critical,
    });
    const out: { key: string; by: number; row: AggregationResponse }[] = [];
    // AWS_ECR_CONTAINER: each row's image (its tags are read for the page's rows), and the
    // groups an imageTags filter decides on.
    const images = new Map<AggregationResponse, { repositoryId: number; digest: string }>();
    const tagFiltered: { image: { repositoryId: number; digest: string }; id: string; g: AggregationRow }[] =
      [];
    const by = (g: AggregationRow) =>
      r.sortBy === "AFFECTED_IMAGES"
        ? r.type === "REPOSITORY"
          ? g.images
          : 0
        : r.sortBy === "CRITICAL"
          ? g.critical
          : r.sortBy === "HIGH"
            ? g.high
            : g.all;
    for (const g of rows) {
      switch (r.type) {
        case "REPOSITORY":
          if (sf([g.repositoryName], r.repositories))
            out.push({ key: g.repositoryName, by: by(g), row: this.repositoryAggregation(g) });
          break;
        case "AWS_ECR_CONTAINER": {
          const id = imageResourceId(this.registry, g.repositoryName, g.digest!);
          if (
            !sf([id], r.resourceIds) ||
            !sf([g.digest!], r.imageShas) ||
            !sf([g.repositoryName], r.repositories) ||
            !sf([], r.architectures) ||
            (r.inUseCount !== undefined && r.inUseCount.length > 0) ||
            (r.lastInUseAt &&
              !matchesDateFilters(g.lastPulledAt ? [g.lastPulledAt / 1000] : [], r.lastInUseAt))
          )
            break;
          // Tags are read for the images of the page only, unless a filter needs every image's.
          const image = { repositoryId: g.repositoryId, digest: g.digest! };
          if (r.imageTags) tagFiltered.push({ image, id, g });
          else
            out.push({
              key: imageOrderKey(g.repositoryName, g.digest!),
              by: by(g),
              row: this.imageAggregation(id, g, image, images),
            });
          break;
        }
        case "IMAGE_LAYER": {
          if (!g.layer || !/^sha256:[0-9a-f]{64}$/.test(g.layer)) break;
          const id = imageResourceId(this.registry, g.repositoryName, g.digest!);
          if (
            !sf([g.repositoryName], r.repositories) ||
            !sf([id], r.resourceIds) ||
            !sf([g.layer], r.layerHashes)
          )
            break;
          out.push({
            key: `${id} ${g.layer}`,
            by: by(g),
            row: {
              imageLayerAggregation: {
                repository: g.repositoryName,
                resourceId: id,
                layerHash: g.layer,
                accountId: acct,
                severityCounts: counts(g),
              },
            },
          });
          break;
        }
        case "PACKAGE":
          if (sf([g.packageName!], r.packageNames))
            out.push({
              key: g.packageName!,
              by: by(g),
              row: {
                packageAggregation: {
                  packageName: g.packageName!,
                  accountId: acct,
                  severityCounts: counts(g),
                },
              },
            });
          break;
        case "TITLE": {
          const title = `${g.vulnerabilityId!} - ${g.packageName!}`;
          if (sf([title], r.titles) && sf([g.vulnerabilityId!], r.vulnerabilityIds))
            out.push({
              key: title,
              by: by(g),
              row: {
                titleAggregation: {
                  title,
                  vulnerabilityId: g.vulnerabilityId!,
                  accountId: acct,
                  severityCounts: counts(g),
                },
              },
            });
          break;
        }
        case "FINDING_TYPE":
        case "ACCOUNT": {
          const body = {
            accountId: acct,
            severityCounts: counts(g),
            exploitAvailableCount: g.exploitAvailable,
            fixAvailableCount: g.fixAvailable,
          };
          out.push({
            key: acct,
            by: by(g),
            row: r.type === "ACCOUNT" ? { accountAggregation: body } : { findingTypeAggregation: body },
          });
          break;
        }
      }
    }
    if (tagFiltered.length && r.type === "AWS_ECR_CONTAINER") {
      const tags = await this.tagsOf(tagFiltered.map((x) => x.image));
      for (const { image, id, g } of tagFiltered)
        if (sf(tags.get(`${image.repositoryId}@${image.digest}`) ?? [], r.imageTags))
          out.push({
            key: imageOrderKey(g.repositoryName, g.digest!),
            by: by(g),
            row: this.imageAggregation(id, g, image, images),
          });
    }
    const page = aggregationPage(out, r.sortOrder, q);
    await this.fillImageTags(page.items, images);
    return page;
  }

  /**
   * The account-wide aggregations by repository and by image when nothing but the caller's
   * repositories narrows them: one page of the maintained totals, sorted and paged in SQL
   * (100,000 images: the page's rows are read, not every group). Undefined otherwise.
   */
  private async totalsPage(
    r: AggregationRequest,
    repositoryIds: number[] | undefined,
    q: AggregationQuery,
  ): Promise<Page<AggregationResponse> | undefined> {
    const sortBy =
      r.sortBy === "CRITICAL"
        ? "critical"
        : r.sortBy === "HIGH"
          ? "high"
          : r.sortBy === "ALL"
            ? "all"
            : "images";
    const offset = aggregationOffset(q.nextToken);
    const query = {
      scanType: "ENHANCED",
      status: "ACTIVE",
      ...(repositoryIds ? { repositoryIds } : {}),
      sortBy,
      order: r.sortOrder,
      offset,
      limit: q.maxResults,
    } as const;
    let page: { rows: AggregationRow[]; more: boolean };
    let items: AggregationResponse[];
    const images = new Map<AggregationResponse, { repositoryId: number; digest: string }>();
    if (r.type === "REPOSITORY" && !r.repositories) {
      page = await this.meta.findings.repositoryTotals(query);
      items = page.rows.map((g) => this.repositoryAggregation(g));
    } else if (
      r.type === "AWS_ECR_CONTAINER" &&
      sortBy !== "images" &&
      !r.resourceIds &&
      !r.imageShas &&
      !r.repositories &&
      !r.architectures &&
      !r.imageTags &&
      !r.lastInUseAt &&
      !r.inUseCount
    ) {
      page = await this.meta.findings.imageTotals(query);
      items = page.rows.map((g) =>
        this.imageAggregation(
          imageResourceId(this.registry, g.repositoryName, g.digest!),
          g,
          { repositoryId: g.repositoryId, digest: g.digest! },
          images,
        ),
      );
      await this.fillImageTags(items, images);
    } else return undefined;
    return {
      items,
      ...(page.more ? { nextToken: encodePageToken("aggregations", offset + items.length) } : {}),
    };
  }

  private repositoryAggregation(g: AggregationRow): AggregationResponse {
    return {
      repositoryAggregation: {
        repository: g.repositoryName,
        accountId: this.registry.accountId,
        severityCounts: { all: g.all, medium: g.medium, high: g.high, critical: g.critical },
        affectedImages: g.images,
      },
    };
  }

  /** The tags of the images of a page's rows (imageAggregation remembered which). */
  private async fillImageTags(
    rows: readonly AggregationResponse[],
    images: Map<AggregationResponse, { repositoryId: number; digest: string }>,
  ): Promise<void> {
    if (!images.size) return;
    const tags = await this.tagsOf(rows.flatMap((row) => images.get(row) ?? []));
    for (const row of rows) {
      const image = images.get(row);
      if (image && "awsEcrContainerAggregation" in row)
        row.awsEcrContainerAggregation.imageTags = tags.get(`${image.repositoryId}@${image.digest}`) ?? [];
    }
  }

  /** An image aggregation row (its tags filled in later), remembered with its image. */
  private imageAggregation(
    id: string,
    g: AggregationRow,
    image: { repositoryId: number; digest: string },
    images: Map<AggregationResponse, { repositoryId: number; digest: string }>,
  ): AggregationResponse {
    const row: AggregationResponse = {
      awsEcrContainerAggregation: {
        resourceId: id,
        imageSha: g.digest!,
        repository: g.repositoryName,
        imageTags: [],
        accountId: this.registry.accountId,
        severityCounts: { all: g.all, medium: g.medium, high: g.high, critical: g.critical },
        ...(g.lastPulledAt ? { lastInUseAt: g.lastPulledAt } : {}),
      },
    };
    images.set(row, image);
    return row;
  }

  /** The tags of images, by `repositoryId@digest`, in a few queries. */
  private async tagsOf(
    images: readonly { repositoryId: number; digest: string }[],
  ): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>();
    for (const c of await this.meta.findings.imageContexts(images))
      out.set(`${c.repositoryId}@${c.digest}`, c.imageTags);
    return out;
  }

  async findingDetails(
    arns: string[],
    principal: AwsPrincipal,
  ): Promise<{ findingDetails: FindingDetail[]; errors: FindingDetailError[] }> {
    const prefix = `arn:aws:inspector2:${this.registry.region}:${this.registry.accountId}:finding/`;
    const ids = arns.filter((a) => a.startsWith(prefix)).map((a) => a.slice(prefix.length));
    const rows = new Map((await this.meta.findings.byIds(ids)).map((r) => [r.id, r]));
    const names = new Map<number, string | null>();
    const findingDetails: FindingDetail[] = [];
    const errors: FindingDetailError[] = [];
    for (const arn of arns) {
      const row = arn.startsWith(prefix) ? rows.get(arn.slice(prefix.length)) : undefined;
      let name: string | null | undefined;
      if (row) {
        name = names.get(row.repositoryId);
        if (name === undefined) {
          name = await this.meta.registry.repositoryName(row.repositoryId);
          names.set(row.repositoryId, name);
        }
      }
      if (
        !row ||
        row.scanType !== "ENHANCED" ||
        name === null ||
        name === undefined ||
        !(principal.pullsEverything || principal.may("pull", name))
      ) {
        errors.push({
          findingArn: arn,
          errorCode: "FINDING_DETAILS_NOT_FOUND",
          errorMessage: "No such finding.",
        });
        continue;
      }
      const doc = JSON.parse(row.document) as Finding & { cwes?: string[] };
      findingDetails.push({
        findingArn: arn,
        referenceUrls: doc.references.filter((u) => u !== ""),
        cwes: Array.isArray(doc.cwes) ? doc.cwes : [],
        ...(doc.epss ? { epssScore: doc.epss.score } : {}),
        // The finding knows that the CVE is in CISA's KEV catalog, not the catalog's dates.
        ...(doc.kev
          ? {
              cisaData: {
                action:
                  "Apply mitigations per vendor instructions or discontinue use of the product if mitigations are unavailable.",
              },
            }
          : {}),
      });
    }
    return { findingDetails, errors };
  }

  // --- filters --------------------------------------------------------------------------

  private arnOf(id: string): string {
    const { region, accountId } = this.registry;
    return `arn:aws:inspector2:${region}:${accountId}:owner/${accountId}/filter/${id}`;
  }

  private idOf(arn: string): string {
    const prefix = this.arnOf("");
    return arn.startsWith(prefix) ? arn.slice(prefix.length) : "";
  }

  private toRecord(f: StoredFilter): FilterRecord {
    return {
      arn: this.arnOf(f.id),
      ownerId: this.registry.accountId,
      name: f.name,
      criteria: JSON.parse(f.criteria) as FilterCriteria,
      action: f.action as FilterRecord["action"],
      createdAt: f.createdAt,
      updatedAt: f.updatedAt,
      ...(f.description !== null ? { description: f.description } : {}),
      ...(f.reason !== null ? { reason: f.reason } : {}),
      tags: f.tags,
    };
  }

  private async existing(tx: MetaStore, arn: string): Promise<StoredFilter> {
    const id = this.idOf(arn);
    const f = id ? await tx.filters.get(id) : null;
    if (!f) throw resourceNotFound(`Filter ${arn} does not exist.`);
    return f;
  }

  /** Re-evaluates suppression and records the change (in the change's transaction). */
  private async changed(
    tx: MetaStore,
    change: Parameters<typeof suppressionChangeEvent>[1]["change"],
    f: StoredFilter,
    by: string,
    now: number,
  ): Promise<void> {
    const n = await reapplySuppression(tx, this.registry, now);
    await appendEvent(
      tx,
      suppressionChangeEvent(
        this.registry,
        {
          change,
          by,
          filter: {
            arn: this.arnOf(f.id),
            name: f.name,
            action: f.action,
            criteria: JSON.parse(f.criteria) as unknown,
            reason: f.reason,
            ...(Object.keys(f.tags).length ? { tags: f.tags } : {}),
          },
          findingsChanged: n,
        },
        now,
      ),
    );
  }

  async createFilter(input: FilterInput, principal: AwsPrincipal): Promise<FilterRecord> {
    const expiresAt = expiryOf(input.tags);
    return this.meta.tx(async (tx) => {
      if (await tx.filters.byName(input.name))
        throw badRequest(`A filter named ${input.name} already exists.`);
      if ((await tx.filters.count()) >= this.maxFilters)
        throw serviceQuotaExceeded(`At most ${this.maxFilters} filters per account.`, input.name);
      const now = this.now();
      const id = randomBytes(8).toString("hex");
      await tx.filters.put({
        id,
        name: input.name,
        action: input.action,
        criteria: JSON.stringify(input.criteria),
        description: input.description ?? null,
        reason: input.reason ?? null,
        expiresAt: expiresAt ?? null,
        createdAt: now,
        updatedAt: now,
      });
      await tx.filters.tag(id, input.tags ?? {});
      const f = (await tx.filters.get(id))!;
      await this.changed(tx, "CREATED", f, principal.arn, now);
      return this.toRecord(f);
    });
  }

  async listFilters(q: ListFiltersQuery, _principal?: AwsPrincipal): Promise<Page<FilterRecord>> {
    const after = decodePageToken("filters", q.nextToken, isString);
    const page = await this.meta.filters.list({
      ...(after !== undefined ? { after } : {}),
      limit: q.maxResults,
      ...(q.arns ? { ids: q.arns.map((a) => this.idOf(a)).filter((x) => x !== "") } : {}),
      ...(q.action ? { action: q.action } : {}),
    });
    return {
      items: page.items.map((f) => this.toRecord(f)),
      ...(page.more && page.items.length
        ? { nextToken: encodePageToken("filters", page.items.at(-1)!.id) }
        : {}),
    };
  }

  async updateFilter(
    arn: string,
    changes: Partial<FilterInput>,
    principal: AwsPrincipal,
  ): Promise<FilterRecord> {
    return this.meta.tx(async (tx) => {
      const f = await this.existing(tx, arn);
      if (changes.name !== undefined && changes.name !== f.name && (await tx.filters.byName(changes.name)))
        throw badRequest(`A filter named ${changes.name} already exists.`);
      const now = this.now();
      await tx.filters.put({
        ...f,
        ...(changes.name !== undefined ? { name: changes.name } : {}),
        ...(changes.action !== undefined ? { action: changes.action } : {}),
        ...(changes.criteria !== undefined ? { criteria: JSON.stringify(changes.criteria) } : {}),
        ...(changes.description !== undefined ? { description: changes.description } : {}),
        ...(changes.reason !== undefined ? { reason: changes.reason } : {}),
        updatedAt: now,
      });
      const updated = (await tx.filters.get(f.id))!;
      await this.changed(tx, "UPDATED", updated, principal.arn, now);
      return this.toRecord(updated);
    });
  }

  async deleteFilter(arn: string, principal: AwsPrincipal): Promise<void> {
    await this.meta.tx(async (tx) => {
      const f = await this.existing(tx, arn);
      await tx.filters.delete(f.id);
      await this.changed(tx, "DELETED", f, principal.arn, this.now());
    });
  }

  async listTags(resourceArn: string, _principal?: AwsPrincipal): Promise<Record<string, string>> {
    return (await this.existing(this.meta, resourceArn)).tags;
  }

  async tagResource(
    resourceArn: string,
    tags: Record<string, string>,
    principal: AwsPrincipal,
  ): Promise<void> {
    const expiresAt = expiryOf(tags);
    await this.meta.tx(async (tx) => {
      const f = await this.existing(tx, resourceArn);
      await tx.filters.tag(f.id, tags);
      // The expiry and the repository patterns (src/findings/exceptions.ts) decide suppression.
      if (expiresAt === undefined && !(REPOSITORY_PATTERN_TAG in tags)) return;
      const now = this.now();
      await tx.filters.put({
        ...f,
        ...(expiresAt !== undefined ? { expiresAt, expired: false } : {}),
        updatedAt: now,
      });
      await this.changed(tx, "TAGGED", (await tx.filters.get(f.id))!, principal.arn, now);
    });
  }

  async untagResource(resourceArn: string, tagKeys: string[], principal: AwsPrincipal): Promise<void> {
    await this.meta.tx(async (tx) => {
      const f = await this.existing(tx, resourceArn);
      await tx.filters.untag(f.id, tagKeys);
      const expiry = tagKeys.includes(EXPIRES_AT_TAG) && f.expiresAt !== null;
      const pattern =
        tagKeys.includes(REPOSITORY_PATTERN_TAG) && f.tags[REPOSITORY_PATTERN_TAG] !== undefined;
      if (!expiry && !pattern) return;
      const now = this.now();
      await tx.filters.put({ ...f, ...(expiry ? { expiresAt: null, expired: false } : {}), updatedAt: now });
      await this.changed(tx, "UNTAGGED", (await tx.filters.get(f.id))!, principal.arn, now);
    });
  }

  /**
   * Ends the filters whose `drydock:expires-at` has come (the expiry singleton runs it): each
   * stops suppressing, findings are re-evaluated, a `Drydock Suppression Change` (EXPIRED) is
   * appended, in one transaction per filter. Returns how many expired.
   */
  async expireFilters(): Promise<number> {
    const due = await this.meta.filters.dueToExpire(this.now());
    for (const d of due)
      await this.meta.tx(async (tx) => {
        const f = await tx.filters.get(d.id);
        if (!f || f.expired) return;
        const now = this.now();
        await tx.filters.put({ ...f, expired: true });
        await this.changed(tx, "EXPIRED", f, "drydock", now);
      });
    return due.length;
  }

  // --- reports and SBOM exports (src/findings/reports/) ------------------------------------

  /** The report service; without one (a backend built for tests), reports are a BadRequest. */
  private reportService(what: string): InspectorReports {
    if (!this.reports) throw badRequest(`${what} are not available on this registry.`);
    return this.reports;
  }

  async createFindingsReport(
    input: FindingsReportInput,
    principal: AwsPrincipal,
  ): Promise<{ reportId: string }> {
    return this.reportService("Findings reports").createFindingsReport(input, principal);
  }

  async getFindingsReportStatus(reportId: string | undefined): Promise<FindingsReportStatus> {
    return this.reportService("Findings reports").getFindingsReportStatus(reportId);
  }

  async cancelFindingsReport(reportId: string, principal: AwsPrincipal): Promise<void> {
    return this.reportService("Findings reports").cancelFindingsReport(reportId, principal);
  }

  async createSbomExport(input: SbomExportInput, principal: AwsPrincipal): Promise<{ reportId: string }> {
    return this.reportService("SBOM exports").createSbomExport(input, principal);
  }

  async getSbomExport(reportId: string): Promise<SbomExportStatus> {
    return this.reportService("SBOM exports").getSbomExport(reportId);
  }

  async cancelSbomExport(reportId: string, principal: AwsPrincipal): Promise<void> {
    return this.reportService("SBOM exports").cancelSbomExport(reportId, principal);
  }

  // --- configuration and activation -------------------------------------------------------

  /** The rescan window in force (scan/window.ts: the default when never set). */
  async getConfiguration(_principal?: AwsPrincipal): Promise<EcrConfigurationState> {
    const stored = await storedEcrConfiguration(this.meta);
    const c = await ecrConfiguration(this.meta);
    return {
      rescanDuration: c.rescanDuration,
      status: "SUCCESS",
      ...(stored ? { updatedAt: stored.updatedAt } : {}),
      ...(c.pullDateRescanDuration ? { pullDateRescanDuration: c.pullDateRescanDuration } : {}),
      ...(c.pullDateRescanMode ? { pullDateRescanMode: c.pullDateRescanMode } : {}),
    };
  }

  /**
   * Replaces the rescan window; a `rescan-window` job (any worker) then expires the images
   * outside it at once. Images already expired stay so (a push or pull brings them back).
   */
  async updateConfiguration(cfg: EcrConfiguration, _principal?: AwsPrincipal): Promise<void> {
    await this.meta.tx(async (tx) => {
      await writeEcrConfiguration(tx, cfg, this.now());
      await tx.jobs.enqueue({ kind: WINDOW_JOB, payload: {} });
    });
    this.o.onQueued?.();
  }

  /**
   * ENHANCED scanning with a CONTINUOUS_SCAN rule for every repository when there are no rules,
   * as Inspector's activation; through scan/activation.ts like PutRegistryScanningConfiguration
   * (scan frequency events, the images of newly continuous repositories scanned).
   */
  async enable(_principal?: AwsPrincipal): Promise<void> {
    await this.meta.tx(async (tx) => {
      const c = await readScanningConfiguration(tx);
      await applyScanningConfiguration(
        tx,
        {
          scanType: "ENHANCED",
          rules: c.rules.length
            ? c.rules
            : [
                {
                  scanFrequency: "CONTINUOUS_SCAN",
                  repositoryFilters: [{ filter: "*", filterType: "WILDCARD" }],
                },
              ],
        },
        { aws: this.registry, now: this.now() },
      );
    });
    this.o.onQueued?.();
  }

  async disable(_principal?: AwsPrincipal): Promise<void> {
    await this.meta.tx(async (tx) => {
      const c = await readScanningConfiguration(tx);
      await applyScanningConfiguration(
        tx,
        { ...c, scanType: "BASIC" },
        { aws: this.registry, now: this.now() },
      );
    });
  }

  async ecrStatus(_principal?: AwsPrincipal): Promise<ActivationStatus> {
    return (await readScanningConfiguration(this.meta)).scanType === "ENHANCED" ? "ENABLED" : "DISABLED";
  }

  // --- coverage ---------------------------------------------------------------------------

  /**
   * Every monitored resource (repositories and their images) visible to the caller, under
   * ENHANCED scanning (nothing is covered under BASIC, as with Inspector disabled).
   */
  private async coverage(principal: AwsPrincipal): Promise<CoverageRecord[]> {
    const config = await readScanningConfiguration(this.meta);
    if (config.scanType !== "ENHANCED") return [];
    const out: CoverageRecord[] = [];
    let after: string | undefined;
    for (;;) {
      const p = await this.meta.settings.repositories(after, 500);
      for (const repo of p.items) {
        if (!(principal.pullsEverything || principal.may("pull", repo.name))) continue;
        const d = decideRepository(config, repo.name, repo.scanOnPush);
        out.push({
          resourceType: "AWS_ECR_REPOSITORY",
          resourceId: `arn:aws:ecr:${this.registry.region}:${this.registry.accountId}:repository/${repo.name}`,
          repositoryName: repo.name,
          scanStatus:
            d.scanFrequency === "MANUAL"
              ? { statusCode: "INACTIVE", reason: "SCAN_FREQUENCY_MANUAL" }
              : { statusCode: "ACTIVE", reason: "SUCCESSFUL" },
          scanFrequency: d.scanFrequency,
        });
        let imgAfter: string | undefined;
        for (;;) {
          const imgs = await this.meta.registry.images(repo.id, {
            ...(imgAfter ? { after: imgAfter } : {}),
            limit: 500,
          });
          const scans = await this.meta.scans.getMany(
            repo.id,
            imgs.items.map((i) => i.digest),
          );
          for (const img of imgs.items) {
            if (img.subject) continue;
            const s = scans.get(img.digest);
            const scanStatus = coverageStatus(
              s?.scanType === "ENHANCED" ? s.status : undefined,
              d.scanFrequency,
            );
            out.push({
              resourceType: "AWS_ECR_CONTAINER_IMAGE",
              resourceId: imageResourceId(this.registry, repo.name, img.digest),
              repositoryName: repo.name,
              scanStatus,
              scanFrequency: d.scanFrequency,
              imageTags: img.tags,
              ...(img.lastPulledAt !== null && img.lastPulledAt !== undefined
                ? { imagePulledAt: img.lastPulledAt, lastInUseAt: img.lastPulledAt }
                : {}),
              ...(s?.scanType === "ENHANCED" && s.completedAt !== null
                ? { lastScannedAt: s.completedAt }
                : {}),
            });
          }
          if (!imgs.more || !imgs.items.length) break;
          imgAfter = imgs.items.at(-1)!.digest;
        }
      }
      if (!p.more || !p.items.length) break;
      after = p.items.at(-1)!.name;
    }
    return out;
  }

  async listCoverage(q: ListCoverageQuery, principal: AwsPrincipal): Promise<Page<CoverageRecord>> {
    const all = (await this.coverage(principal)).filter((c) =>
      matchesCoverageCriteria(toCoveredResource(c, this.registry), q.criteria),
    );
    all.sort((a, b) => compareStrings(a.resourceId, b.resourceId));
    const offset = decodePageToken("coverage", q.nextToken, isOffset) ?? 0;
    return {
      items: all.slice(offset, offset + q.maxResults),
      ...(offset + q.maxResults < all.length
        ? { nextToken: encodePageToken("coverage", offset + q.maxResults) }
        : {}),
    };
  }

  async coverageStatistics(q: CoverageStatisticsQuery, principal: AwsPrincipal): Promise<CoverageStatistics> {
    const all = (await this.coverage(principal))
      .map((c) => toCoveredResource(c, this.registry))
      .filter((c) => matchesCoverageCriteria(c, q.criteria));
    if (!q.groupBy) return { countsByGroup: [], totalCounts: all.length };
    const groups = new Map<string, number>();
    for (const c of all) {
      const k = coverageGroupValue(c, q.groupBy);
      groups.set(k, (groups.get(k) ?? 0) + 1);
    }
    return {
      countsByGroup: [...groups]
        .sort(([a], [b]) => compareStrings(a, b))
        .map(([groupKey, count]) => ({ groupKey, count })),
      totalCounts: all.length,
    };
  }
}

/** The `drydock:expires-at` tag as epoch ms (undefined: no such tag); a bad date is refused. */
function expiryOf(tags: Record<string, string> | undefined): number | undefined {
  const v = tags?.[EXPIRES_AT_TAG];
  if (v === undefined) return undefined;
  const t = Date.parse(v);
  if (!Number.isFinite(t)) throw badRequest(`Tag ${EXPIRES_AT_TAG} must be an ISO 8601 date, not "${v}".`);
  return t;
}
