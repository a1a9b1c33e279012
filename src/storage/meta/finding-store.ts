import { sql, type Selectable, type SqlBool } from "kysely";
import {
  toStoredFinding,
  findingRow,
  type ClosedReason,
  type DocumentParts,
  type FindingIdentity,
  type FindingState,
  type FindingStatus,
} from "./finding-rows.js";
import {
  aggregateFindings,
  imageContexts,
  imageTotalsPage,
  listFindings,
  repositoryTotalsPage,
  setFindingStatus,
  type AggregationGroup,
  type AggregationRow,
  type FindingListQuery,
  type FindingNarrowing,
  type ImageContextRow,
  type ListedFinding,
  type TotalsPageQuery,
} from "./finding-query.js";
import { applyCountDeltas, countDrift, lockCountedRows } from "./finding-counts.js";
import type { Handle } from "./handle.js";
import { closeIntervalsOf, recordIntervals } from "./history-store.js";
import type { Database } from "./schema.js";

export type { ClosedReason, FindingIdentity, FindingState, FindingStatus } from "./finding-rows.js";

/** A stored finding: identity, lifecycle columns and its whole JSON document. */
export interface StoredFindingRow extends FindingIdentity, FindingState {
  /** 32 hex digits, the suffix of the finding's ARN. */
  id: string;
  /** The finding document (match/types.ts Finding), both parts joined. */
  document: string;
  /** The document as stored (rows read from the store have them): what a match compares. */
  parts?: DocumentParts;
}

/** A finding to write: created, or an existing one (same identity) changed. */
export interface FindingWrite {
  identity: FindingIdentity;
  state: FindingState;
  document: string;
  /** The document's stored parts, when the writer has them (saves parsing the document again). */
  parts?: DocumentParts;
}

const BATCH = 200;
/**
 * The PostgreSQL advisory lock between writers of findings (shared, held until their commit)
 * and the purge of unreferenced finding_details (exclusive): the purge never deletes a details
 * row that a transaction still in flight has just decided to reuse. SQLite has one writer.
 */
const DETAILS_LOCK = 0x64726466; // "drdf"

/**
 * Findings and their lifecycle columns (tables findings, finding_details). The store keeps
 * rows; what a change means (new, updated, closed, reopened) is decided by src/findings.
 */
export class FindingStore {
  constructor(private readonly h: Handle) {}

  /**
   * The findings of one image under one scan type, any status unless `statuses` says, ordered
   * by id (stable). Documents included.
   */
  async forImage(
    repositoryId: number,
    digest: string,
    scanType: "BASIC" | "ENHANCED",
    o: { statuses?: readonly FindingStatus[] } = {},
  ): Promise<StoredFindingRow[]> {
    let q = this.h.db
      .selectFrom("findings")
      .selectAll()
      .where("repository_id", "=", repositoryId)
      .where("digest", "=", digest)
      .where("scan_type", "=", scanType)
      .orderBy("id");
    if (o.statuses) q = q.where("status", "in", [...o.statuses]);
    return this.withDocuments(await q.execute());
  }

  /**
   * The findings of many images under one scan type, in a few queries (a re-match of a chunk of
   * images): those of `packageNames` when given, or of `vulnerabilityIds` when given (either
   * matches when both are), any status unless `statuses` says. Documents included.
   */
  async forImages(
    images: readonly { repositoryId: number; digest: string }[],
    scanType: "BASIC" | "ENHANCED",
    o: {
      packageNames?: readonly string[];
      vulnerabilityIds?: readonly string[];
      statuses?: readonly FindingStatus[];
    } = {},
  ): Promise<StoredFindingRow[]> {
    const filtered = o.packageNames !== undefined || o.vulnerabilityIds !== undefined;
    const names = o.packageNames ?? [];
    const ids = o.vulnerabilityIds ?? [];
    if (filtered && !names.length && !ids.length) return [];
    const wanted = new Set(images.map((i) => `${i.repositoryId}@${i.digest}`));
    const rows: Selectable<Database["findings"]>[] = [];
    const seen = new Set<string>();
    const IMAGES = 100;
    for (let i = 0; i < images.length; i += IMAGES) {
      const part = images.slice(i, i + IMAGES);
      // (repository IN, digest IN) is a superset of the pairs: the exact ones are kept below.
      const select = async (n: readonly string[], v: readonly string[]) => {
        const list = (values: readonly (string | number)[]) => sql.join(values.map((x) => sql`${x}`));
        const where = [
          sql`repository_id in (${list([...new Set(part.map((x) => x.repositoryId))])})`,
          sql`digest in (${list([...new Set(part.map((x) => x.digest))])})`,
          sql`scan_type = ${scanType}`,
        ];
        if (o.statuses) where.push(sql`status in (${list(o.statuses)})`);
        if (n.length && v.length)
          where.push(sql`(package_name in (${list(n)}) or vulnerability_id in (${list(v)}))`);
        else if (n.length) where.push(sql`package_name in (${list(n)})`);
        else if (v.length) where.push(sql`vulnerability_id in (${list(v)})`);
        // The image index, named on SQLite: without statistics its planner weighed the IN lists
        // of (repository, digest) above a lookup by scan type, and read every finding for each
        // hundred images (1.8 s a statement at a million findings; 5 ms with it).
        const read = await sql<Selectable<Database["findings"]>>`
          select * from findings ${this.h.dialect === "sqlite" ? sql`indexed by findings_image` : sql``}
          where ${sql.join(where, sql` and `)}`.execute(this.h.db);
        for (const r of read.rows)
          if (!seen.has(r.id) && wanted.has(`${r.repository_id}@${r.digest}`)) {
            seen.add(r.id);
            rows.push(r);
          }
      };
      if (!filtered) await select([], []);
      // both lists in one statement (a row matching both is read once), BATCH values of each
      for (let j = 0; j < Math.max(names.length, ids.length); j += BATCH)
        await select(names.slice(j, j + BATCH), ids.slice(j, j + BATCH));
    }
    return this.withDocuments(rows);
  }

  /** Findings by id (any image), documents included; unknown ids are absent. */
  async byIds(ids: readonly string[]): Promise<StoredFindingRow[]> {
    const rows: Selectable<Database["findings"]>[] = [];
    for (let i = 0; i < ids.length; i += BATCH)
      rows.push(
        ...(await this.h.db
          .selectFrom("findings")
          .selectAll()
          .where("id", "in", ids.slice(i, i + BATCH))
          .execute()),
      );
    return this.withDocuments(rows);
  }

  /** The images with a finding (any status) of one of these vulnerability ids, under a scan type. */
  async imagesWithVulnerabilities(
    vulnerabilityIds: readonly string[],
    scanType: "BASIC" | "ENHANCED",
  ): Promise<{ repositoryId: number; digest: string }[]> {
    const seen = new Map<string, { repositoryId: number; digest: string }>();
    for (let i = 0; i < vulnerabilityIds.length; i += BATCH)
      for (const r of await this.h.db
        .selectFrom("findings")
        .select(["repository_id", "digest"])
        .distinct()
        .where("vulnerability_id", "in", vulnerabilityIds.slice(i, i + BATCH))
        .where("scan_type", "=", scanType)
        .execute())
        seen.set(`${r.repository_id}@${r.digest}`, {
          repositoryId: Number(r.repository_id),
          digest: r.digest,
        });
    return [...seen.values()];
  }

  /**
   * Inserts new findings and replaces existing ones (by identity), in one transaction, with
   * their history: an interval opens when a finding is created or reopened and closes when it
   * closes (history-store.ts recordIntervals).
   */
  async put(writes: readonly FindingWrite[]): Promise<void> {
    if (!writes.length) return;
    await this.h.tx(async (t) => {
      if (t.dialect === "postgres")
        await sql`select pg_advisory_xact_lock_shared(${DETAILS_LOCK})`.execute(t.db);
      const rows = writes.map((w) => findingRow(w.identity, w.state, w.document, w.parts));
      const details = new Map(rows.map((r) => [r.details.hash, r.details]));
      const all = [...details.values()];
      for (let i = 0; i < all.length; i += BATCH)
        await t.db
          .insertInto("finding_details")
          .values(all.slice(i, i + BATCH))
          .onConflict((oc) => oc.column("hash").doNothing())
          .execute();
      // The rows as they were, locked (counts: finding-counts.ts). A finding new to this writer
      // is inserted first; one that another transaction inserted meanwhile is then locked and
      // read as an old row, so that each change is counted once.
      const ids = rows.map((r) => r.row.id);
      const before = await lockCountedRows(t, ids);
      const existing = new Set(before.map((r) => r.id));
      const fresh = rows.filter((r) => !existing.has(r.row.id));
      const inserted = new Set<string>();
      for (let i = 0; i < fresh.length; i += BATCH)
        for (const r of await t.db
          .insertInto("findings")
          .values(fresh.slice(i, i + BATCH).map((r) => r.row))
          .onConflict((oc) => oc.column("id").doNothing())
          .returning("id")
          .execute())
          inserted.add(r.id);
      const raced = fresh.filter((r) => !inserted.has(r.row.id)).map((r) => r.row.id);
      if (raced.length) before.push(...(await lockCountedRows(t, raced)));
      const updates = rows.filter((r) => !inserted.has(r.row.id));
      for (let i = 0; i < updates.length; i += BATCH)
        await t.db
          .insertInto("findings")
          .values(updates.slice(i, i + BATCH).map((r) => r.row))
          .onConflict((oc) =>
            oc.column("id").doUpdateSet((eb) => ({
              status: eb.ref("excluded.status"),
              severity: eb.ref("excluded.severity"),
              fix_available: eb.ref("excluded.fix_available"),
              inspector_score: eb.ref("excluded.inspector_score"),
              epss_score: eb.ref("excluded.epss_score"),
              exploit_available: eb.ref("excluded.exploit_available"),
              first_observed_at: eb.ref("excluded.first_observed_at"),
              last_observed_at: eb.ref("excluded.last_observed_at"),
              updated_at: eb.ref("excluded.updated_at"),
              closed_at: eb.ref("excluded.closed_at"),
              closed_reason: eb.ref("excluded.closed_reason"),
              json: eb.ref("excluded.json"),
              details_hash: eb.ref("excluded.details_hash"),
            })),
          )
          .execute();
      await applyCountDeltas(
        t,
        before,
        rows.map((r) => r.row),
      );
      await recordIntervals(
        t,
        writes,
        rows.map((r) => r.row.id),
      );
    });
  }

  /** A match found these findings again, unchanged: only `last_observed_at` moves. */
  async observe(ids: readonly string[], at: number): Promise<void> {
    for (let i = 0; i < ids.length; i += BATCH)
      await this.h.db
        .updateTable("findings")
        .set({ last_observed_at: at })
        .where("id", "in", ids.slice(i, i + BATCH))
        .execute();
  }

  /**
   * Counts of an image's open findings (ACTIVE; SUPPRESSED and CLOSED are not counted, as in
   * Inspector) by severity, for each digest of a page: one query.
   */
  async severityCounts(
    repositoryId: number,
    digests: readonly string[],
    scanType: "BASIC" | "ENHANCED",
  ): Promise<Map<string, Record<string, number>>> {
    const out = new Map<string, Record<string, number>>();
    if (!digests.length) return out;
    const rows = await this.h.db
      .selectFrom("findings")
      .select((eb) => ["digest", "severity", eb.fn.countAll<number>().as("n")])
      .where("repository_id", "=", repositoryId)
      .where("digest", "in", [...digests])
      .where("scan_type", "=", scanType)
      .where("status", "=", "ACTIVE")
      .groupBy(["digest", "severity"])
      .execute();
    for (const r of rows) {
      const counts = out.get(r.digest) ?? {};
      counts[r.severity] = Number(r.n);
      out.set(r.digest, counts);
    }
    return out;
  }

  /**
   * The maintained counts (finding-counts.ts) of the open findings of one status (ACTIVE unless
   * said) by severity, for each digest of a page: one primary-key lookup per image.
   */
  async imageCounts(
    repositoryId: number,
    digests: readonly string[],
    scanType: "BASIC" | "ENHANCED",
    status: "ACTIVE" | "SUPPRESSED" = "ACTIVE",
  ): Promise<Map<string, Record<string, number>>> {
    const out = new Map<string, Record<string, number>>();
    for (let i = 0; i < digests.length; i += BATCH)
      for (const r of await this.h.db
        .selectFrom("image_finding_counts")
        .select(["digest", "severity", "count"])
        .where("repository_id", "=", repositoryId)
        .where("digest", "in", digests.slice(i, i + BATCH))
        .where("scan_type", "=", scanType)
        .where("status", "=", status)
        .where("count", ">", 0)
        .execute()) {
        const counts = out.get(r.digest) ?? {};
        counts[r.severity] = Number(r.count);
        out.set(r.digest, counts);
      }
    return out;
  }

  /** The maintained counts of the open findings of one status by severity, for each repository given. */
  async repositoryCounts(
    repositoryIds: readonly number[],
    scanType: "BASIC" | "ENHANCED",
    status: "ACTIVE" | "SUPPRESSED" = "ACTIVE",
  ): Promise<Map<number, Record<string, number>>> {
    const out = new Map<number, Record<string, number>>();
    for (let i = 0; i < repositoryIds.length; i += BATCH)
      for (const r of await this.h.db
        .selectFrom("repository_finding_counts")
        .select(["repository_id", "severity", "count"])
        .where("repository_id", "in", repositoryIds.slice(i, i + BATCH))
        .where("scan_type", "=", scanType)
        .where("status", "=", status)
        .where("count", ">", 0)
        .execute()) {
        const id = Number(r.repository_id);
        const counts = out.get(id) ?? {};
        counts[r.severity] = Number(r.count);
        out.set(id, counts);
      }
    return out;
  }

  /** Where the maintained counts differ from a recount of the findings (empty: nowhere). */
  countDrift(): Promise<string[]> {
    return countDrift(this.h);
  }

  /**
   * How many findings are stored, by status and severity, whatever image or scan type (the
   * `drydock_findings` gauge): one GROUP BY that the index findings(status, severity, …) covers.
   */
  async countsByStatusSeverity(): Promise<{ status: string; severity: string; count: number }[]> {
    const rows = await this.h.db
      .selectFrom("findings")
      .select((eb) => ["status", "severity", eb.fn.countAll<number>().as("n")])
      .groupBy(["status", "severity"])
      .execute();
    return rows.map((r) => ({ status: r.status, severity: r.severity, count: Number(r.n) }));
  }

  /**
   * A page of findings narrowed in SQL (a superset: the caller checks each exactly), in the
   * order's sort expression then id, after a keyset position; with the repository name, image
   * tags, push and pull times and repository tags (storage/meta/finding-query.ts).
   */
  list(q: FindingListQuery): Promise<{ items: ListedFinding[]; more: boolean }> {
    return listFindings(this.h, q);
  }

  /** What findings show of their images (repository name, push and pull, tags), for many images. */
  imageContexts(images: readonly { repositoryId: number; digest: string }[]): Promise<ImageContextRow[]> {
    return imageContexts(this.h, images);
  }

  /** Counts of the narrowed findings by group (aggregations). */
  aggregate(narrowing: FindingNarrowing, group: AggregationGroup): Promise<AggregationRow[]> {
    return aggregateFindings(this.h, narrowing, group);
  }

  /** A page of images by one count of their open findings (the maintained totals). */
  imageTotals(q: TotalsPageQuery): Promise<{ rows: AggregationRow[]; more: boolean }> {
    return imageTotalsPage(this.h, q);
  }

  /** A page of repositories with open findings by one of their counts (the maintained totals). */
  repositoryTotals(q: TotalsPageQuery): Promise<{ rows: AggregationRow[]; more: boolean }> {
    return repositoryTotalsPage(this.h, q);
  }

  /** Suppression applied or lifted: the status moves, and `updated_at`. */
  async setStatus(ids: readonly string[], status: "ACTIVE" | "SUPPRESSED", at: number): Promise<void> {
    if (!ids.length) return;
    await this.h.tx(async (t) => {
      const before = await lockCountedRows(t, ids);
      await setFindingStatus(t, ids, status, at);
      await applyCountDeltas(
        t,
        before,
        before.map((r) => ({ ...r, status })),
      );
    });
  }

  /**
   * Removes an image's findings (its manifest is gone and nothing keeps them); their history
   * stays, the open intervals closed as `deleted`.
   */
  async forgetImage(repositoryId: number, digest: string): Promise<void> {
    await this.h.tx(async (t) => {
      await closeIntervalsOf(t, { repositoryId, digest }, t.now(), "deleted");
      const gone = await t.db
        .deleteFrom("findings")
        .where("repository_id", "=", repositoryId)
        .where("digest", "=", digest)
        .returning(["repository_id", "digest", "scan_type", "status", "severity"])
        .execute();
      await applyCountDeltas(t, gone, []);
    });
  }

  /**
   * Deletes at most `limit` CLOSED findings closed before `before` (for one of `reasons`, any
   * when absent); returns how many. One statement, so a purge of a million findings is many
   * short transactions (src/findings/retention.ts loops). A finding reopened meanwhile is
   * spared: the conditions are on the deleted row itself, which PostgreSQL checks again after
   * waiting for a concurrent writer. Its history (finding_intervals) stays.
   */
  async purgeClosed(
    before: number,
    o: { reasons?: readonly ClosedReason[]; limit?: number } = {},
  ): Promise<number> {
    const limit = o.limit ?? 1000;
    const reasons = o.reasons ? [...o.reasons] : undefined;
    if (reasons && !reasons.length) return 0;
    // The candidates come from the partial index findings_closed (the literal lets SQLite plan
    // through it); the deleted rows by primary key. The outer conditions repeat the candidates'
    // as expressions no index serves, so that SQLite, which has no statistics, does not scan
    // every closed finding again for each batch.
    const r = await this.h.db
      .deleteFrom("findings")
      .where((eb) =>
        eb(
          "id",
          "in",
          eb
            .selectFrom("findings as c")
            .select("c.id")
            .where("c.status", "=", sql.lit("CLOSED"))
            .where("c.closed_at", "<", before)
            .$if(reasons !== undefined, (q) => q.where("c.closed_reason", "in", reasons!))
            .limit(limit),
        ),
      )
      .where(sql<SqlBool>`status || '' = 'CLOSED'`)
      .where(sql<SqlBool>`closed_at + 0 < ${before}`)
      .$if(reasons !== undefined, (q) => q.where("closed_reason", "in", reasons!))
      .executeTakeFirst();
    return Number(r.numDeletedRows);
  }

  /**
   * One step of the sweep of finding_details: of the next `limit` rows after `after` (by hash),
   * deletes those no finding references. Returns how many were deleted and where to go on
   * (null: the sweep is done), or `busy` when, on PostgreSQL, writers of findings hold the
   * details lock (try again later: the purge never makes them wait).
   */
  async purgeUnusedDetails(
    after: string | null,
    limit: number,
  ): Promise<{ deleted: number; next: string | null; busy?: true }> {
    return this.h.tx(async (t) => {
      if (t.dialect === "postgres") {
        const got = await sql<{
          ok: boolean;
        }>`select pg_try_advisory_xact_lock(${DETAILS_LOCK}) as ok`.execute(t.db);
        if (!got.rows[0]?.ok) return { deleted: 0, next: after, busy: true };
      }
      let q = t.db.selectFrom("finding_details").select("hash").orderBy("hash").limit(limit);
      if (after !== null) q = q.where("hash", ">", after);
      const hashes = (await q.execute()).map((r) => r.hash);
      if (!hashes.length) return { deleted: 0, next: null };
      const r = await t.db
        .deleteFrom("finding_details")
        .where("hash", "in", hashes)
        .where((eb) =>
          eb.not(
            eb.exists(
              eb
                .selectFrom("findings")
                .select("findings.id")
                .whereRef("findings.details_hash", "=", "finding_details.hash"),
            ),
          ),
        )
        .executeTakeFirst();
      return { deleted: Number(r.numDeletedRows), next: hashes.length < limit ? null : hashes.at(-1)! };
    });
  }

  private async withDocuments(rows: Selectable<Database["findings"]>[]): Promise<StoredFindingRow[]> {
    const hashes = [...new Set(rows.map((r) => r.details_hash))];
    const details = new Map<string, string>();
    for (let i = 0; i < hashes.length; i += BATCH)
      for (const d of await this.h.db
        .selectFrom("finding_details")
        .selectAll()
        .where("hash", "in", hashes.slice(i, i + BATCH))
        .execute())
        details.set(d.hash, d.json);
    return rows.map((r) => toStoredFinding(r, details.get(r.details_hash)));
  }
}
