import type { Selectable } from "kysely";
import type { Handle } from "./handle.js";
import type { Database } from "./schema.js";

/** Scan types and statuses as the stores keep them (the scan service gives them meaning). */
export type StoredScanType = "BASIC" | "ENHANCED";

export interface ScanRow {
  scanType: StoredScanType;
  status: string;
  description: string | null;
  lastScanAt: number;
  completedAt: number | null;
  vulnerabilitySourceUpdatedAt: number | null;
  severityCounts: Record<string, number> | null;
}

/** Scan states of images (table image_scans); their findings are FindingStore's. */
export class ScanStore {
  constructor(private readonly h: Handle) {}

  async get(repositoryId: number, digest: string): Promise<ScanRow | null> {
    const r = await this.h.db
      .selectFrom("image_scans")
      .selectAll()
      .where("repository_id", "=", repositoryId)
      .where("digest", "=", digest)
      .executeTakeFirst();
    return r ? toScanRow(r) : null;
  }

  /** The scan states of a page of images in one query (images never scanned are absent). */
  async getMany(repositoryId: number, digests: readonly string[]): Promise<Map<string, ScanRow>> {
    const out = new Map<string, ScanRow>();
    if (!digests.length) return out;
    const rows = await this.h.db
      .selectFrom("image_scans")
      .selectAll()
      .where("repository_id", "=", repositoryId)
      .where("digest", "in", digests)
      .execute();
    for (const r of rows) out.set(r.digest, toScanRow(r));
    return out;
  }

  /** A scan starts: the state becomes `status` (IN_PROGRESS or PENDING); the last findings stay. */
  async markStarted(
    repositoryId: number,
    digest: string,
    scanType: StoredScanType,
    status: string,
  ): Promise<void> {
    const now = this.h.now();
    await this.h.db
      .insertInto("image_scans")
      .values({
        repository_id: repositoryId,
        digest,
        scan_type: scanType,
        status,
        description: null,
        last_scan_at: now,
        completed_at: null,
        vulnerability_source_updated_at: null,
        severity_counts: null,
        updated_at: now,
      })
      .onConflict((oc) =>
        oc.columns(["repository_id", "digest"]).doUpdateSet({
          scan_type: scanType,
          status,
          description: null,
          last_scan_at: now,
          updated_at: now,
        }),
      )
      .execute();
  }

  /** Moves the state from `from` to `to` if it is still `from` (PENDING → IN_PROGRESS). */
  async transition(repositoryId: number, digest: string, from: string, to: string): Promise<void> {
    await this.h.db
      .updateTable("image_scans")
      .set({ status: to, updated_at: this.h.now() })
      .where("repository_id", "=", repositoryId)
      .where("digest", "=", digest)
      .where("status", "=", from)
      .execute();
  }

  /** A scan ended without findings (FAILED, UNSUPPORTED_IMAGE, FINDINGS_UNAVAILABLE). */
  async markEnded(repositoryId: number, digest: string, status: string, description: string): Promise<void> {
    await this.h.db
      .updateTable("image_scans")
      .set({ status, description, updated_at: this.h.now() })
      .where("repository_id", "=", repositoryId)
      .where("digest", "=", digest)
      .execute();
  }

  /**
   * A scan completed: the state moves to `status` with its completion time, in the transaction
   * that wrote its findings (FindingStore).
   */
  async markCompleted(
    repositoryId: number,
    digest: string,
    s: {
      status: string;
      description: string;
      severityCounts: Record<string, number>;
      vulnerabilitySourceUpdatedAt: number;
    },
  ): Promise<void> {
    const now = this.h.now();
    await this.h.db
      .updateTable("image_scans")
      .set({
        status: s.status,
        description: s.description,
        completed_at: now,
        vulnerability_source_updated_at: s.vulnerabilitySourceUpdatedAt,
        severity_counts: JSON.stringify(s.severityCounts),
        updated_at: now,
      })
      .where("repository_id", "=", repositoryId)
      .where("digest", "=", digest)
      .execute();
  }

  /** How many images have a scan state, by scan type and status (the `drydock_images` gauge): one GROUP BY. */
  async countsByStatus(): Promise<{ scanType: StoredScanType; status: string; count: number }[]> {
    const rows = await this.h.db
      .selectFrom("image_scans")
      .select((eb) => ["scan_type", "status", eb.fn.countAll<number>().as("n")])
      .groupBy(["scan_type", "status"])
      .execute();
    return rows.map((r) => ({ scanType: r.scan_type, status: r.status, count: Number(r.n) }));
  }

  /** Removes an image's scan state (the manifest is being deleted). */
  async forget(repositoryId: number, digest: string): Promise<void> {
    await this.h.db
      .deleteFrom("image_scans")
      .where("repository_id", "=", repositoryId)
      .where("digest", "=", digest)
      .execute();
  }
}

function toScanRow(r: Selectable<Database["image_scans"]>): ScanRow {
  return {
    scanType: r.scan_type,
    status: r.status,
    description: r.description,
    lastScanAt: Number(r.last_scan_at),
    completedAt: r.completed_at === null ? null : Number(r.completed_at),
    vulnerabilitySourceUpdatedAt:
      r.vulnerability_source_updated_at === null ? null : Number(r.vulnerability_source_updated_at),
    severityCounts: r.severity_counts ? (JSON.parse(r.severity_counts) as Record<string, number>) : null,
  };
}
