import { createHash, randomUUID } from "node:crypto";
import { Readable } from "node:stream";
import { AwsPrincipal } from "../../api/access.js";
import type {
  FindingsReportInput,
  FindingsReportStatus,
  ReportErrorCode,
  SbomExportInput,
  SbomExportStatus,
} from "../../api/inspector2/backend.js";
import { DEFAULT_SORT } from "../../api/inspector2/criteria.js";
import { Inspector2Error, invalidField, resourceNotFound } from "../../api/inspector2/errors.js";
import { imageResourceId, toInspectorFinding, type RegistryIdentity } from "../../api/inspector2/finding.js";
import {
  criteriaKeys,
  type Destination,
  type FilterCriteria,
  type ResourceFilterCriteria,
  type SbomFormat,
} from "../../api/inspector2/shapes.js";
import type { Logger } from "../../core/logger.js";
import { ImageFormatError } from "../../image/resolve.js";
import type { JobHandler, Job, Commit } from "../../jobs/worker.js";
import type { BlobStore } from "../../storage/blob/types.js";
import type { MetaStore, ReportKind, ReportOutcome, StoredReport } from "../../storage/meta/store.js";
import { StoreInspector2Backend } from "../inspector-backend.js";
import {
  checkDestination,
  findingsReportKey,
  sbomExportFolder,
  sbomFileName,
  type CheckedDestination,
} from "./destination.js";
import { reportWriter } from "./findings-format.js";
import { imageSbom, matchesResourceCriteria, mayMatchRepository } from "./sbom-export.js";

/**
 * Inspector2 findings reports and SBOM exports (docs/inspector2-api.md, "Reports and SBOM
 * exports"). Create records the request (ReportStore) and queues a job in one transaction; the
 * job, on any worker of any node, writes the output through the blob store's named objects
 * (destination.ts: `reports/<bucket>/<keyPrefix>/...`) and ends the record in the transaction
 * that completes the job:
 *
 * - a findings report streams ListFindings' keyset pages (the store-backed query, every
 *   repository) into one object, CSV or JSON (findings-format.ts): one page in memory at a time,
 *   the object visible only once whole. No criteria: the ACTIVE findings, as Inspector.
 * - an SBOM export writes one CycloneDX 1.4 or SPDX 2.3 document per image the resource criteria
 *   select, from stored inventories (sbom-export.ts), each file atomic.
 *
 * Cancel ends the record CANCELLED at once and drops a queued job; a running job sees it between
 * pages (or images), stops, and removes what it wrote; a job that finished its writes just as
 * the cancel came finds the record no longer IN_PROGRESS at its commit and removes its output.
 * Nothing of a cancelled report is left. A job killed midway runs again from the start (after
 * its lease, or at once when the embedded server restarts); a failed object write publishes
 * nothing. Transient failures are retried by the job queue; the last one ends the record FAILED
 * (INTERNAL_ERROR) with the reason. Nothing to report ends it FAILED with NO_FINDINGS_FOUND.
 */

export const REPORT_JOB = "inspector2-report";

export interface ReportJob {
  reportId: string;
}

export interface InspectorReportsOptions {
  registry: RegistryIdentity;
  now?: () => number;
  /** Findings read per page while writing a findings report (default 500). */
  pageSize?: number;
  log?: Logger;
}

/** The criteria of a findings report asked without any: Inspector reports ACTIVE findings. */
export const DEFAULT_REPORT_CRITERIA: FilterCriteria = {
  findingStatus: [{ comparison: "EQUALS", value: "ACTIVE" }],
};

/** The record left IN_PROGRESS (cancelled): the job stops. */
class ReportCancelled extends Error {
  constructor(id: string) {
    super(`report ${id} was cancelled`);
  }
}

/** Nothing matched: the report ends FAILED with NO_FINDINGS_FOUND. */
class NothingToReport extends Error {}

const sha256hex = (s: string) => createHash("sha256").update(s).digest("hex");

export class InspectorReports {
  /** Called once a job was queued (committed): wakes this process's report worker. */
  onQueued?: () => void;
  private readonly registry: RegistryIdentity;
  private readonly now: () => number;
  private readonly pageSize: number;
  /** The store-backed ListFindings, for every repository (reports are admin-only). */
  private readonly findings: StoreInspector2Backend;
  private readonly everything: AwsPrincipal;

  constructor(
    private readonly meta: MetaStore,
    private readonly blobs: BlobStore,
    private readonly o: InspectorReportsOptions,
  ) {
    this.registry = o.registry;
    this.now = o.now ?? Date.now;
    this.pageSize = o.pageSize ?? 500;
    this.findings = new StoreInspector2Backend(meta, { registry: o.registry, now: this.now });
    this.everything = AwsPrincipal.unrestricted(o.registry.accountId);
  }

  // --- the API ----------------------------------------------------------------------------

  async createFindingsReport(
    input: FindingsReportInput,
    principal: AwsPrincipal,
  ): Promise<{ reportId: string }> {
    const dest = checkDestination(input.destination);
    const id = randomUUID();
    const created = await this.create(
      {
        kind: "FINDINGS",
        format: input.format,
        criteria: input.criteria ? JSON.stringify(input.criteria) : null,
        location: findingsReportKey(dest.folder, id, input.format),
      },
      id,
      dest,
      principal,
    );
    if (!created) {
      const running = await this.meta.reports.latest("FINDINGS");
      throw new Inspector2Error(
        "ValidationException",
        `Cannot have multiple reports in-progress: findings report ${running?.status === "IN_PROGRESS" ? running.id : "(another)"} is being generated. Wait for it to finish, or cancel it.`,
        { reason: "OTHER", fields: [] },
      );
    }
    return { reportId: id };
  }

  async getFindingsReportStatus(reportId: string | undefined): Promise<FindingsReportStatus> {
    const r =
      reportId === undefined
        ? await this.meta.reports.latest("FINDINGS")
        : await this.meta.reports.get(reportId);
    if (!r || r.kind !== "FINDINGS")
      throw resourceNotFound(
        reportId === undefined
          ? "There is no findings report."
          : `The findings report ${reportId} does not exist.`,
      );
    return {
      reportId: r.id,
      status: r.status,
      ...this.errorOf(r),
      destination: destinationOf(r),
      ...(r.criteria !== null ? { criteria: JSON.parse(r.criteria) as FilterCriteria } : {}),
    };
  }

  cancelFindingsReport(reportId: string, principal: AwsPrincipal): Promise<void> {
    return this.cancel("FINDINGS", reportId, principal);
  }

  async createSbomExport(input: SbomExportInput, principal: AwsPrincipal): Promise<{ reportId: string }> {
    const dest = checkDestination(input.destination);
    const id = randomUUID();
    await this.create(
      {
        kind: "SBOM",
        format: input.format,
        criteria: input.criteria ? JSON.stringify(input.criteria) : null,
        location: sbomExportFolder(dest.folder, id, input.format, this.registry.accountId),
      },
      id,
      dest,
      principal,
    );
    return { reportId: id };
  }

  async getSbomExport(reportId: string): Promise<SbomExportStatus> {
    const r = await this.meta.reports.get(reportId);
    if (!r || r.kind !== "SBOM") throw resourceNotFound(`The SBOM export ${reportId} does not exist.`);
    return {
      reportId: r.id,
      format: r.format as SbomFormat,
      status: r.status,
      ...this.errorOf(r),
      destination: destinationOf(r),
      ...(r.criteria !== null ? { criteria: JSON.parse(r.criteria) as ResourceFilterCriteria } : {}),
    };
  }

  cancelSbomExport(reportId: string, principal: AwsPrincipal): Promise<void> {
    return this.cancel("SBOM", reportId, principal);
  }

  private errorOf(r: StoredReport): { errorCode?: ReportErrorCode; errorMessage?: string } {
    return {
      ...(r.errorCode !== null ? { errorCode: r.errorCode as ReportErrorCode } : {}),
      ...(r.errorMessage !== null ? { errorMessage: r.errorMessage } : {}),
    };
  }

  /** The record and its job, in one transaction; false when the kind's single slot is taken. */
  private async create(
    r: { kind: ReportKind; format: string; criteria: string | null; location: string },
    id: string,
    dest: CheckedDestination,
    principal: AwsPrincipal,
  ): Promise<boolean> {
    const created = await this.meta.tx(async (tx) => {
      const ok = await tx.reports.create({
        id,
        ...r,
        bucket: dest.given.bucketName,
        keyPrefix: dest.given.keyPrefix ?? null,
        kmsKeyArn: dest.given.kmsKeyArn,
        createdBy: principal.arn,
      });
      if (ok)
        await tx.jobs.enqueue({ kind: REPORT_JOB, key: id, payload: { reportId: id } satisfies ReportJob });
      return ok;
    });
    if (created) {
      this.o.log?.info({ report: id, kind: r.kind, format: r.format, location: r.location }, "report queued");
      this.onQueued?.();
    }
    return created;
  }

  private async cancel(kind: ReportKind, reportId: string, principal: AwsPrincipal): Promise<void> {
    const what = kind === "FINDINGS" ? "findings report" : "SBOM export";
    const r = await this.meta.reports.get(reportId);
    if (!r || r.kind !== kind) throw resourceNotFound(`The ${what} ${reportId} does not exist.`);
    const cancelled = await this.meta.tx(async (tx) => {
      const ok = await tx.reports.finish(r.id, { status: "CANCELLED" });
      if (ok) await tx.jobs.dropQueued(REPORT_JOB, r.id);
      return ok;
    });
    if (!cancelled) {
      const now = await this.meta.reports.get(r.id);
      if (now?.status === "CANCELLED") return; // cancelled already: nothing more to do
      throw invalidField(
        "reportId",
        `Member must name a ${what} in progress: ${r.id} is ${now?.status ?? "gone"}`,
      );
    }
    this.o.log?.info({ report: r.id, kind, by: principal.arn }, "report cancelled");
    // A running job stops at its next check and removes its output too; this covers what it
    // published before the cancel.
    await this.removeOutput(r);
  }

  // --- the job ----------------------------------------------------------------------------

  /** The job kinds of a report worker (main.ts runs a JobWorker with them). */
  jobHandlers(): Record<string, JobHandler<ReportJob>> {
    return {
      [REPORT_JOB]: {
        run: (job) => this.runJob(job),
        // Storage and database errors may pass; what the job itself decided is in its outcome.
        isTransient: () => true,
        failed: async (tx, job, reason) => {
          const r = await tx.reports.get(job.payload.reportId);
          if (!r) return;
          await tx.reports.finish(r.id, {
            status: "FAILED",
            errorCode: "INTERNAL_ERROR",
            errorMessage: `The report could not be written: ${reason}`.slice(0, 1000),
          });
          await this.removeOutput(r);
        },
      },
    };
  }

  private async runJob(job: Job<ReportJob>): Promise<Commit> {
    const r = await this.meta.reports.get(job.payload.reportId);
    if (!r || r.status !== "IN_PROGRESS") return async () => undefined; // cancelled while queued
    let outcome: ReportOutcome;
    try {
      const items = r.kind === "FINDINGS" ? await this.writeFindingsReport(r) : await this.writeSbomExport(r);
      outcome = { status: "SUCCEEDED", items };
    } catch (e) {
      if (e instanceof ReportCancelled) {
        await this.removeOutput(r);
        return async () => undefined;
      }
      if (!(e instanceof NothingToReport)) throw e;
      outcome = { status: "FAILED", errorCode: "NO_FINDINGS_FOUND", errorMessage: e.message, items: 0 };
    }
    this.o.log?.info({ report: r.id, kind: r.kind, ...outcome }, "report written");
    return async (tx) => {
      // Cancelled after the last check: what was written goes.
      if (!(await tx.reports.finish(r.id, outcome))) await this.removeOutput(r);
    };
  }

  private async checkNotCancelled(id: string): Promise<void> {
    const r = await this.meta.reports.get(id);
    if (!r || r.status !== "IN_PROGRESS") throw new ReportCancelled(id);
  }

  /** Streams the findings into one object; returns how many. */
  private async writeFindingsReport(r: StoredReport): Promise<number> {
    const given = r.criteria !== null ? (JSON.parse(r.criteria) as FilterCriteria) : undefined;
    const criteria = given && criteriaKeys(given).length ? given : DEFAULT_REPORT_CRITERIA;
    const format = r.format === "JSON" ? "JSON" : "CSV";
    const writer = reportWriter(format, this.now());
    let written = 0;
    const pages = async function* (self: InspectorReports): AsyncGenerator<Buffer> {
      let nextToken: string | undefined;
      for (let first = true; ; first = false) {
        const page = await self.findings.listFindings(
          { criteria, sort: DEFAULT_SORT, maxResults: self.pageSize, nextToken },
          self.everything,
        );
        if (first) {
          if (!page.items.length)
            throw new NothingToReport("No findings match the report's filter criteria.");
          yield Buffer.from(writer.head());
        }
        const findings = page.items.map((rec) => toInspectorFinding(rec, self.registry));
        yield Buffer.from(writer.page(findings, written === 0));
        written += findings.length;
        if (!page.nextToken) break;
        nextToken = page.nextToken;
        await self.checkNotCancelled(r.id);
      }
      yield Buffer.from(writer.tail());
    };
    await this.blobs.putObject(r.location, Readable.from(pages(this)), { contentType: writer.contentType });
    return written;
  }

  /** One SBOM file per selected image with a stored inventory; returns how many. */
  private async writeSbomExport(r: StoredReport): Promise<number> {
    const criteria = r.criteria !== null ? (JSON.parse(r.criteria) as ResourceFilterCriteria) : undefined;
    const format = r.format as SbomFormat;
    const now = new Date(this.now());
    // A retry starts clean: files of images deleted since the last attempt do not stay.
    await this.removeOutput(r);
    let written = 0;
    let after: string | undefined;
    for (;;) {
      const repos = await this.meta.settings.repositories(after, 500);
      for (const repo of repos.items) {
        if (!mayMatchRepository(this.registry, repo.name, criteria)) continue;
        let imgAfter: string | undefined;
        for (;;) {
          const imgs = await this.meta.registry.images(repo.id, {
            ...(imgAfter ? { after: imgAfter } : {}),
            limit: 500,
          });
          for (const img of imgs.items) {
            if (img.subject) continue; // signatures, SBOMs and other referrers
            const resourceId = imageResourceId(this.registry, repo.name, img.digest);
            const selected = matchesResourceCriteria(
              { accountId: this.registry.accountId, resourceId, repositoryName: repo.name, tags: img.tags },
              criteria,
            );
            if (!selected) continue;
            await this.checkNotCancelled(r.id);
            let doc: string | null;
            try {
              doc = await imageSbom(this.meta, this.blobs, this.registry, repo, img.digest, format, now);
            } catch (e) {
              // A manifest or config the registry cannot read: that image has no SBOM, the others do.
              if (!(e instanceof ImageFormatError)) throw e;
              this.o.log?.warn(
                { report: r.id, image: resourceId, err: e.message },
                "image left out of an SBOM export",
              );
              continue;
            }
            if (doc === null) continue;
            await this.blobs.putObject(
              `${r.location}${sbomFileName(resourceId, format, sha256hex)}`,
              Buffer.from(doc),
              {
                contentType: "application/json",
              },
            );
            written++;
          }
          if (!imgs.more || !imgs.items.length) break;
          imgAfter = imgs.items.at(-1)!.digest;
        }
      }
      if (!repos.more || !repos.items.length) break;
      after = repos.items.at(-1)!.name;
    }
    if (written === 0) throw new NothingToReport("No scanned image matches the resource filter criteria.");
    return written;
  }

  /** Removes what a report wrote (its object, or every file of its export folder). */
  private async removeOutput(r: StoredReport): Promise<void> {
    if (r.kind === "FINDINGS") {
      await this.blobs.deleteObject(r.location);
      return;
    }
    const keys: string[] = [];
    for await (const o of this.blobs.listObjects(r.location)) keys.push(o.key);
    for (const k of keys) await this.blobs.deleteObject(k);
  }
}

function destinationOf(r: StoredReport): Destination {
  return {
    bucketName: r.bucket,
    ...(r.keyPrefix !== null ? { keyPrefix: r.keyPrefix } : {}),
    kmsKeyArn: r.kmsKeyArn,
  };
}
