import type { Handle } from "./handle.js";
import type { Database } from "./schema.js";

/**
 * Inspector2 findings reports and SBOM exports (table inspector_reports, schema.ts): what was
 * asked (format, criteria, destination), where the output goes in the blob store, and how it
 * ended. The work itself is a job on the JobStore (src/findings/reports/); this store only keeps
 * the record, so that every node answers GetFindingsReportStatus / GetSbomExport alike.
 *
 * Contract:
 * - `create` inserts an IN_PROGRESS record, in the caller's transaction (with the job that does
 *   the work); it returns false, inserting nothing, when the kind allows one report in progress
 *   (FINDINGS) and one is: a partial unique index decides, so two nodes racing cannot both win.
 * - `finish` moves a record out of IN_PROGRESS only (false otherwise): the first of the worker's
 *   completion and a user's cancel wins, the other sees false and acts on it.
 */

export type ReportKind = "FINDINGS" | "SBOM";
export type StoredReportStatus = "IN_PROGRESS" | "SUCCEEDED" | "FAILED" | "CANCELLED";

export interface NewReport {
  /** The report id (a UUID, as Inspector's). */
  id: string;
  kind: ReportKind;
  /** CSV, JSON (findings) or CYCLONEDX_1_4, SPDX_2_3 (SBOM). */
  format: string;
  /** The request's criteria as JSON (FilterCriteria or ResourceFilterCriteria), null when none. */
  criteria: string | null;
  bucket: string;
  keyPrefix: string | null;
  kmsKeyArn: string;
  /** The blob-store key of the report (findings) or the key prefix of the export's files (SBOM). */
  location: string;
  /** Who asked (the caller's ARN). */
  createdBy: string;
}

export interface StoredReport extends NewReport {
  status: StoredReportStatus;
  errorCode: string | null;
  errorMessage: string | null;
  /** Findings (rows) or SBOMs (images) written, once finished. */
  items: number | null;
  createdAt: number;
  updatedAt: number;
  completedAt: number | null;
}

export interface ReportOutcome {
  status: Exclude<StoredReportStatus, "IN_PROGRESS">;
  errorCode?: string;
  errorMessage?: string;
  items?: number;
}

type Row = Database["inspector_reports"];

function toReport(r: Row): StoredReport {
  return {
    id: r.id,
    kind: r.kind as ReportKind,
    format: r.format,
    criteria: r.criteria,
    bucket: r.bucket,
    keyPrefix: r.key_prefix,
    kmsKeyArn: r.kms_key_arn,
    location: r.location,
    createdBy: r.created_by,
    status: r.status as StoredReportStatus,
    errorCode: r.error_code,
    errorMessage: r.error_message,
    items: r.items === null ? null : Number(r.items),
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
    completedAt: r.completed_at === null ? null : Number(r.completed_at),
  };
}

export class ReportStore {
  constructor(private readonly h: Handle) {}

  /** Inserts an IN_PROGRESS record; false (nothing inserted) when the kind's single slot is taken. */
  async create(r: NewReport): Promise<boolean> {
    const now = this.h.now();
    // ON CONFLICT DO NOTHING without a target covers every unique index, the partial one too,
    // on both dialects; the id is a fresh UUID, so a conflict means "one is in progress".
    const inserted = await this.h.db
      .insertInto("inspector_reports")
      .values({
        id: r.id,
        kind: r.kind,
        format: r.format,
        criteria: r.criteria,
        bucket: r.bucket,
        key_prefix: r.keyPrefix,
        kms_key_arn: r.kmsKeyArn,
        location: r.location,
        status: "IN_PROGRESS",
        error_code: null,
        error_message: null,
        items: null,
        created_by: r.createdBy,
        created_at: now,
        updated_at: now,
        completed_at: null,
      })
      .onConflict((oc) => oc.doNothing())
      .returning("id")
      .executeTakeFirst();
    return inserted !== undefined;
  }

  async get(id: string): Promise<StoredReport | null> {
    const row = await this.h.db
      .selectFrom("inspector_reports")
      .selectAll()
      .where("id", "=", id)
      .executeTakeFirst();
    return row ? toReport(row) : null;
  }

  /** The most recent report of a kind (newest creation; ties by id), or null. */
  async latest(kind: ReportKind): Promise<StoredReport | null> {
    const row = await this.h.db
      .selectFrom("inspector_reports")
      .selectAll()
      .where("kind", "=", kind)
      .orderBy("created_at", "desc")
      .orderBy("id", "desc")
      .limit(1)
      .executeTakeFirst();
    return row ? toReport(row) : null;
  }

  /**
   * Deletes up to `limit` records of reports that ended (any status but IN_PROGRESS) before
   * `completedBefore`; returns how many. The files they wrote are the user's and stay.
   */
  async purgeFinished(completedBefore: number, limit: number): Promise<number> {
    const r = await this.h.db
      .deleteFrom("inspector_reports")
      .where((eb) =>
        eb(
          "id",
          "in",
          eb
            .selectFrom("inspector_reports as r")
            .select("r.id")
            .where("r.status", "!=", "IN_PROGRESS")
            .where("r.completed_at", "<", completedBefore)
            .limit(limit),
        ),
      )
      .executeTakeFirst();
    return Number(r.numDeletedRows);
  }

  /** Ends an IN_PROGRESS report; false when it was not in progress (finished or cancelled before). */
  async finish(id: string, o: ReportOutcome): Promise<boolean> {
    const now = this.h.now();
    const r = await this.h.db
      .updateTable("inspector_reports")
      .set({
        status: o.status,
        error_code: o.errorCode ?? null,
        error_message: o.errorMessage ?? null,
        items: o.items ?? null,
        updated_at: now,
        completed_at: now,
      })
      .where("id", "=", id)
      .where("status", "=", "IN_PROGRESS")
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }
}
