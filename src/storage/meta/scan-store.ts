import type { Expression, ExpressionBuilder, Selectable, SqlBool } from "kysely";
import type { Handle } from "./handle.js";
import type { Database } from "./schema.js";

/** Scan types and statuses as the stores keep them (the scan service gives them meaning). */
export type StoredScanType = "BASIC" | "ENHANCED";

/** An image of a repository. */
export interface ImageKey {
  repositoryId: number;
  digest: string;
}

/**
 * Images in a scan state outside a rescan window: last pushed before `pushedBefore` and, when
 * `pulledBefore` is not null, not pulled since then (src/scan/window.ts).
 */
export interface WindowQuery {
  scanType: StoredScanType;
  status: string;
  pushedBefore: number;
  /** Null: pulls do not count. */
  pulledBefore: number | null;
}

/** An image with its push and pull dates and its scan state, if any. */
export interface ImageScanState {
  digest: string;
  mediaType: string;
  lastPushedAt: number;
  lastPulledAt: number | null;
  scanType: StoredScanType | null;
  status: string | null;
}

/** The manifest (alias `m`) of an image is outside the window. */
function outsideWindowOf(
  eb: ExpressionBuilder<{ m: Database["manifests"] }, "m">,
  q: Pick<WindowQuery, "pushedBefore" | "pulledBefore">,
): Expression<SqlBool> {
  const pushed = eb(eb.fn.coalesce("m.last_pushed_at", "m.created_at"), "<", q.pushedBefore);
  if (q.pulledBefore === null) return pushed;
  return eb.and([
    pushed,
    eb.or([eb("m.last_pulled_at", "is", null), eb("m.last_pulled_at", "<", q.pulledBefore)]),
  ]);
}

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

  // --- the rescan window (src/scan/window.ts gives it meaning) ---------------------------

  /**
   * Images in a state (e.g. ENHANCED ACTIVE) whose manifest was last pushed before
   * `pushedBefore` and, when `pulledBefore` is given, not pulled since it (never pulled
   * included): the images outside the rescan window. A page in (repository, digest) order
   * after `after`.
   */
  async outsideWindow(q: WindowQuery & { after?: ImageKey; limit: number }): Promise<ImageKey[]> {
    let sel = this.h.db
      .selectFrom("image_scans as s")
      .innerJoin("manifests as m", (j) =>
        j.onRef("m.repository_id", "=", "s.repository_id").onRef("m.digest", "=", "s.digest"),
      )
      .select(["s.repository_id", "s.digest"])
      .where("s.scan_type", "=", q.scanType)
      .where("s.status", "=", q.status)
      .where((eb) => outsideWindowOf(eb, q))
      .orderBy("s.repository_id")
      .orderBy("s.digest")
      .limit(q.limit);
    const a = q.after;
    if (a)
      sel = sel.where((eb) =>
        eb.or([
          eb("s.repository_id", ">", a.repositoryId),
          eb.and([eb("s.repository_id", "=", a.repositoryId), eb("s.digest", ">", a.digest)]),
        ]),
      );
    return (await sel.execute()).map((r) => ({ repositoryId: Number(r.repository_id), digest: r.digest }));
  }

  /**
   * Moves an image from the window query's state to `to` (with its description) if it is still
   * in that state and still outside the window, in one statement: a pull recorded or a scan
   * started meanwhile keeps it. Returns whether it moved.
   */
  async leaveWindow(
    repositoryId: number,
    digest: string,
    q: WindowQuery & { to: string; description: string },
  ): Promise<boolean> {
    const r = await this.h.db
      .updateTable("image_scans")
      .set({ status: q.to, description: q.description, updated_at: this.h.now() })
      .where("repository_id", "=", repositoryId)
      .where("digest", "=", digest)
      .where("scan_type", "=", q.scanType)
      .where("status", "=", q.status)
      .where((eb) =>
        eb.exists(
          eb
            .selectFrom("manifests as m")
            .select("m.digest")
            .where("m.repository_id", "=", repositoryId)
            .where("m.digest", "=", digest)
            .where((w) => outsideWindowOf(w, q)),
        ),
      )
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /** Which of these images are in this state (e.g. ENHANCED SCAN_ELIGIBILITY_EXPIRED). */
  async inState(images: readonly ImageKey[], scanType: StoredScanType, status: string): Promise<ImageKey[]> {
    const byRepo = new Map<number, string[]>();
    for (const i of images) byRepo.set(i.repositoryId, [...(byRepo.get(i.repositoryId) ?? []), i.digest]);
    const out: ImageKey[] = [];
    for (const [repositoryId, digests] of byRepo)
      for (let i = 0; i < digests.length; i += 500)
        for (const r of await this.h.db
          .selectFrom("image_scans")
          .select("digest")
          .where("repository_id", "=", repositoryId)
          .where("digest", "in", digests.slice(i, i + 500))
          .where("scan_type", "=", scanType)
          .where("status", "=", status)
          .execute())
          out.push({ repositoryId, digest: r.digest });
    return out;
  }

  /**
   * A page of a repository's images (manifests that are not referrers), in digest order after
   * `after`, with their last push and pull and their scan state (null: never scanned): what
   * switching a repository to continuous scanning plans over.
   */
  async imageStates(
    repositoryId: number,
    o: { after?: string; limit: number },
  ): Promise<{ items: ImageScanState[]; more: boolean }> {
    let q = this.h.db
      .selectFrom("manifests as m")
      .leftJoin("image_scans as s", (j) =>
        j.onRef("s.repository_id", "=", "m.repository_id").onRef("s.digest", "=", "m.digest"),
      )
      .select([
        "m.digest",
        "m.media_type",
        "m.created_at",
        "m.last_pushed_at",
        "m.last_pulled_at",
        "s.scan_type",
        "s.status",
      ])
      .where("m.repository_id", "=", repositoryId)
      .where("m.subject", "is", null)
      .orderBy("m.digest")
      .limit(o.limit + 1);
    if (o.after !== undefined) q = q.where("m.digest", ">", o.after);
    const rows = await q.execute();
    return {
      items: rows.slice(0, o.limit).map((r) => ({
        digest: r.digest,
        mediaType: r.media_type,
        lastPushedAt: Number(r.last_pushed_at ?? r.created_at),
        lastPulledAt: r.last_pulled_at === null ? null : Number(r.last_pulled_at),
        scanType: r.scan_type,
        status: r.status,
      })),
      more: rows.length > o.limit,
    };
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
