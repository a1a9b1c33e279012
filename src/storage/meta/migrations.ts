import {
  sql,
  type ColumnDefinitionBuilder,
  type Kysely,
  type Migration,
  type MigrationProvider,
} from "kysely";
import { findingRow, packagePathOf } from "./finding-rows.js";
import type { Dialect } from "./handle.js";

/** Migrations see the database as it is at their point in history, not today's schema. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any>;

/**
 * Versioned migrations, applied in name order by Kysely's Migrator (table
 * `kysely_migration`; on PostgreSQL it takes a lock, so nodes starting together migrate once).
 * Never edit what a released migration does to SQLite: add the next one. One description serves
 * both dialects; where they differ (auto-increment keys) `generated()` says it once.
 */
const migrationsFor = (dialect: Dialect): Record<string, Migration> => {
  /** An auto-increment integer primary key: SQLite's AUTOINCREMENT, PostgreSQL's serial. */
  const idType = dialect === "postgres" ? "serial" : "integer";
  const generated = (c: ColumnDefinitionBuilder) =>
    dialect === "postgres" ? c.primaryKey() : c.primaryKey().autoIncrement();
  return {
    "0001_registry": {
      async up(db: AnyDb) {
        await db.schema
          .createTable("repositories")
          .addColumn("id", idType, generated)
          .addColumn("name", "text", (c) => c.notNull().unique())
          .addColumn("created_at", "bigint", (c) => c.notNull())
          .execute();
        await db.schema
          .createTable("blobs")
          .addColumn("digest", "text", (c) => c.primaryKey())
          .addColumn("size", "bigint", (c) => c.notNull())
          .addColumn("created_at", "bigint", (c) => c.notNull())
          .addColumn("last_used_at", "bigint", (c) => c.notNull())
          .execute();
        await db.schema
          .createTable("repository_blobs")
          .addColumn("repository_id", "integer", (c) =>
            c.notNull().references("repositories.id").onDelete("cascade"),
          )
          .addColumn("digest", "text", (c) => c.notNull())
          .addColumn("created_at", "bigint", (c) => c.notNull())
          .addPrimaryKeyConstraint("repository_blobs_pk", ["repository_id", "digest"])
          .execute();
        await db.schema
          .createIndex("repository_blobs_digest")
          .on("repository_blobs")
          .column("digest")
          .execute();
        await db.schema
          .createTable("manifests")
          .addColumn("repository_id", "integer", (c) =>
            c.notNull().references("repositories.id").onDelete("cascade"),
          )
          .addColumn("digest", "text", (c) => c.notNull())
          .addColumn("media_type", "text", (c) => c.notNull())
          .addColumn("artifact_type", "text")
          .addColumn("subject", "text")
          .addColumn("size", "bigint", (c) => c.notNull())
          .addColumn("annotations", "text")
          .addColumn("created_at", "bigint", (c) => c.notNull())
          .addPrimaryKeyConstraint("manifests_pk", ["repository_id", "digest"])
          .execute();
        await db.schema
          .createIndex("manifests_subject")
          .on("manifests")
          .columns(["repository_id", "subject"])
          .execute();
        await db.schema.createIndex("manifests_digest").on("manifests").column("digest").execute();
        await db.schema
          .createTable("manifest_references")
          .addColumn("repository_id", "integer", (c) =>
            c.notNull().references("repositories.id").onDelete("cascade"),
          )
          .addColumn("parent", "text", (c) => c.notNull())
          .addColumn("child", "text", (c) => c.notNull())
          .addColumn("kind", "text", (c) => c.notNull())
          .addPrimaryKeyConstraint("manifest_references_pk", ["repository_id", "parent", "child"])
          .execute();
        await db.schema
          .createIndex("manifest_references_child")
          .on("manifest_references")
          .column("child")
          .execute();
        await db.schema
          .createTable("tags")
          .addColumn("repository_id", "integer", (c) =>
            c.notNull().references("repositories.id").onDelete("cascade"),
          )
          .addColumn("name", "text", (c) => c.notNull())
          .addColumn("digest", "text", (c) => c.notNull())
          .addColumn("updated_at", "bigint", (c) => c.notNull())
          .addPrimaryKeyConstraint("tags_pk", ["repository_id", "name"])
          .execute();
        await db.schema.createIndex("tags_digest").on("tags").columns(["repository_id", "digest"]).execute();
        await db.schema
          .createTable("uploads")
          .addColumn("id", "text", (c) => c.primaryKey())
          .addColumn("repository_id", "integer", (c) =>
            c.notNull().references("repositories.id").onDelete("cascade"),
          )
          .addColumn("created_at", "bigint", (c) => c.notNull())
          .addColumn("updated_at", "bigint", (c) => c.notNull())
          .execute();
        await sql`select 1`.execute(db);
      },
    },
    /** ECR repository settings (src/api/ecr): one row per repository created or changed via the API. */
    "0002_ecr": {
      async up(db: AnyDb) {
        await db.schema
          .createTable("ecr_repository_settings")
          .addColumn("repository_id", "integer", (c) =>
            c.primaryKey().references("repositories.id").onDelete("cascade"),
          )
          .addColumn("scan_on_push", "integer", (c) => c.notNull().defaultTo(0))
          .addColumn("image_tag_mutability", "text", (c) => c.notNull().defaultTo("MUTABLE"))
          .addColumn("tag_mutability_exclusions", "text")
          .addColumn("encryption", "text")
          .addColumn("tags", "text")
          .addColumn("updated_at", "bigint", (c) => c.notNull())
          .execute();
      },
    },
    /** Scanning (src/scan, src/events): configuration, scan states, findings, jobs, event log. */
    "0003_scans": {
      async up(db: AnyDb) {
        await db.schema
          .createTable("scan_settings")
          .addColumn("key", "text", (c) => c.primaryKey())
          .addColumn("value", "text", (c) => c.notNull())
          .addColumn("updated_at", "bigint", (c) => c.notNull())
          .execute();
        await db.schema
          .createTable("image_scans")
          .addColumn("repository_id", "integer", (c) =>
            c.notNull().references("repositories.id").onDelete("cascade"),
          )
          .addColumn("digest", "text", (c) => c.notNull())
          .addColumn("scan_type", "text", (c) => c.notNull())
          .addColumn("status", "text", (c) => c.notNull())
          .addColumn("description", "text")
          .addColumn("last_scan_at", "bigint", (c) => c.notNull())
          .addColumn("completed_at", "bigint")
          .addColumn("vulnerability_source_updated_at", "bigint")
          .addColumn("severity_counts", "text")
          .addColumn("updated_at", "bigint", (c) => c.notNull())
          .addPrimaryKeyConstraint("image_scans_pk", ["repository_id", "digest"])
          .execute();
        await db.schema
          .createTable("scan_findings")
          .addColumn("repository_id", "integer", (c) =>
            c.notNull().references("repositories.id").onDelete("cascade"),
          )
          .addColumn("digest", "text", (c) => c.notNull())
          .addColumn("seq", "integer", (c) => c.notNull())
          .addColumn("vulnerability_id", "text", (c) => c.notNull())
          .addColumn("severity", "text", (c) => c.notNull())
          .addColumn("package_name", "text", (c) => c.notNull())
          .addColumn("json", "text", (c) => c.notNull())
          .addPrimaryKeyConstraint("scan_findings_pk", ["repository_id", "digest", "seq"])
          .execute();
        await db.schema
          .createTable("scan_jobs")
          .addColumn("id", idType, generated)
          .addColumn("repository_id", "integer", (c) =>
            c.notNull().references("repositories.id").onDelete("cascade"),
          )
          .addColumn("digest", "text", (c) => c.notNull())
          .addColumn("scan_type", "text", (c) => c.notNull())
          .addColumn("reason", "text", (c) => c.notNull())
          .addColumn("state", "text", (c) => c.notNull())
          .addColumn("attempts", "integer", (c) => c.notNull())
          .addColumn("run_after", "bigint", (c) => c.notNull())
          .addColumn("lease_until", "bigint")
          .addColumn("last_error", "text")
          .addColumn("created_at", "bigint", (c) => c.notNull())
          .addColumn("updated_at", "bigint", (c) => c.notNull())
          .execute();
        await db.schema
          .createIndex("scan_jobs_state")
          .on("scan_jobs")
          .columns(["state", "run_after"])
          .execute();
        await db.schema
          .createTable("event_log")
          .addColumn("seq", idType, generated)
          .addColumn("id", "text", (c) => c.notNull())
          .addColumn("time", "bigint", (c) => c.notNull())
          .addColumn("source", "text", (c) => c.notNull())
          .addColumn("detail_type", "text", (c) => c.notNull())
          .addColumn("json", "text", (c) => c.notNull())
          .execute();
      },
    },
    /**
     * The storage seam (src/storage/meta stores): repository settings become their own service's
     * table; scan jobs move to the generic, lease-fenced job queue (their pending rows carried
     * over); the event log's sequence comes from a counter row (commit order); leases for
     * singletons; the layer-inventory cache moves into the database (shared by every worker).
     */
    "0004_storage_seam": {
      async up(db: AnyDb) {
        await db.schema.alterTable("ecr_repository_settings").renameTo("repository_settings").execute();
        await db.schema.alterTable("uploads").addColumn("lease_until", "bigint").execute();
        await db.schema.alterTable("uploads").addColumn("lease_token", "text").execute();
        await db.schema
          .createTable("jobs")
          .addColumn("id", idType, generated)
          .addColumn("kind", "text", (c) => c.notNull())
          .addColumn("key", "text")
          .addColumn("payload", "text", (c) => c.notNull())
          .addColumn("state", "text", (c) => c.notNull())
          .addColumn("attempts", "integer", (c) => c.notNull())
          .addColumn("run_after", "bigint", (c) => c.notNull())
          .addColumn("lease_until", "bigint")
          .addColumn("lease_token", "text")
          .addColumn("last_error", "text")
          .addColumn("created_at", "bigint", (c) => c.notNull())
          .addColumn("updated_at", "bigint", (c) => c.notNull())
          .execute();
        await db.schema.createIndex("jobs_due").on("jobs").columns(["state", "run_after"]).execute();
        await db.schema.createIndex("jobs_key").on("jobs").columns(["kind", "key"]).execute();
        const old = await db.selectFrom("scan_jobs").selectAll().orderBy("id").execute();
        for (const j of old as ScanJobRow[]) {
          await db
            .insertInto("jobs")
            .values({
              kind: "scan",
              key: `${j.repository_id}@${j.digest}`,
              payload: JSON.stringify({
                repositoryId: j.repository_id,
                digest: j.digest,
                scanType: j.scan_type,
                reason: j.reason,
              }),
              // A job running when the old version stopped runs again (its worker is gone).
              state: j.state === "failed" ? "failed" : "queued",
              attempts: j.attempts,
              run_after: j.run_after,
              lease_until: null,
              lease_token: null,
              last_error: j.last_error,
              created_at: j.created_at,
              updated_at: j.updated_at,
            })
            .execute();
        }
        await db.schema.dropTable("scan_jobs").execute();
        await db.schema
          .createTable("counters")
          .addColumn("name", "text", (c) => c.primaryKey())
          .addColumn("value", "bigint", (c) => c.notNull())
          .execute();
        const last = await db
          .selectFrom("event_log")
          .select((eb) => eb.fn.max("seq").as("seq"))
          .executeTakeFirst();
        await db
          .insertInto("counters")
          .values({ name: "event_log", value: Number(last?.seq ?? 0) })
          .execute();
        await db.schema
          .createTable("leases")
          .addColumn("name", "text", (c) => c.primaryKey())
          .addColumn("holder", "text", (c) => c.notNull())
          .addColumn("expires_at", "bigint", (c) => c.notNull())
          .execute();
        await db.schema
          .createTable("layer_inventories")
          .addColumn("key", "text", (c) => c.primaryKey())
          .addColumn("diff_id", "text", (c) => c.notNull())
          .addColumn("json", "text", (c) => c.notNull())
          .addColumn("created_at", "bigint", (c) => c.notNull())
          .execute();
      },
    },
    /**
     * Findings with a lifecycle (src/findings) instead of a JSON list per scan, and the image
     * inventories the re-matching reads (schema.ts). The rows of scan_findings are carried over
     * as ACTIVE findings first observed at their scan's completion.
     */
    "0005_findings_inventories": {
      async up(db: AnyDb) {
        await db.schema
          .createTable("findings")
          .addColumn("id", "text", (c) => c.primaryKey())
          .addColumn("repository_id", "integer", (c) =>
            c.notNull().references("repositories.id").onDelete("cascade"),
          )
          .addColumn("digest", "text", (c) => c.notNull())
          .addColumn("scan_type", "text", (c) => c.notNull())
          .addColumn("vulnerability_id", "text", (c) => c.notNull())
          .addColumn("package_name", "text", (c) => c.notNull())
          .addColumn("package_path", "text", (c) => c.notNull())
          .addColumn("status", "text", (c) => c.notNull())
          .addColumn("severity", "text", (c) => c.notNull())
          .addColumn("fix_available", "text", (c) => c.notNull())
          .addColumn("inspector_score", "double precision")
          .addColumn("epss_score", "double precision")
          .addColumn("exploit_available", "integer", (c) => c.notNull())
          .addColumn("first_observed_at", "bigint", (c) => c.notNull())
          .addColumn("last_observed_at", "bigint", (c) => c.notNull())
          .addColumn("updated_at", "bigint", (c) => c.notNull())
          .addColumn("closed_at", "bigint")
          .addColumn("json", "text", (c) => c.notNull())
          .addColumn("details_hash", "text", (c) => c.notNull())
          .execute();
        await db.schema
          .createIndex("findings_image")
          .on("findings")
          .columns(["repository_id", "digest", "scan_type", "status"])
          .execute();
        await db.schema
          .createIndex("findings_vulnerability")
          .on("findings")
          .columns(["vulnerability_id", "status"])
          .execute();
        await db.schema
          .createIndex("findings_package")
          .on("findings")
          .columns(["package_name", "status"])
          .execute();
        await db.schema
          .createIndex("findings_status_severity")
          .on("findings")
          .columns(["status", "severity", "last_observed_at"])
          .execute();
        await db.schema
          .createTable("finding_details")
          .addColumn("hash", "text", (c) => c.primaryKey())
          .addColumn("json", "text", (c) => c.notNull())
          .execute();
        await db.schema
          .createTable("inventory_segments")
          .addColumn("id", idType, generated)
          .addColumn("hash", "text", (c) => c.notNull().unique())
          .addColumn("distro_key", "text")
          .addColumn("package_count", "integer", (c) => c.notNull())
          .addColumn("created_at", "bigint", (c) => c.notNull())
          .execute();
        await db.schema
          .createTable("segment_packages")
          .addColumn("segment_id", "integer", (c) =>
            c.notNull().references("inventory_segments.id").onDelete("cascade"),
          )
          .addColumn("seq", "integer", (c) => c.notNull())
          .addColumn("json", "text", (c) => c.notNull())
          .addPrimaryKeyConstraint("segment_packages_pk", ["segment_id", "seq"])
          .execute();
        await db.schema
          .createTable("segment_keys")
          .addColumn("match_key", "text", (c) => c.notNull())
          .addColumn("segment_id", "integer", (c) =>
            c.notNull().references("inventory_segments.id").onDelete("cascade"),
          )
          .addPrimaryKeyConstraint("segment_keys_pk", ["match_key", "segment_id"])
          .execute();
        await db.schema
          .createTable("image_inventories")
          .addColumn("repository_id", "integer", (c) =>
            c.notNull().references("repositories.id").onDelete("cascade"),
          )
          .addColumn("digest", "text", (c) => c.notNull())
          .addColumn("distro", "text")
          .addColumn("analyzed_at", "bigint", (c) => c.notNull())
          .addPrimaryKeyConstraint("image_inventories_pk", ["repository_id", "digest"])
          .execute();
        await db.schema
          .createTable("image_segments")
          .addColumn("repository_id", "integer", (c) =>
            c.notNull().references("repositories.id").onDelete("cascade"),
          )
          .addColumn("digest", "text", (c) => c.notNull())
          .addColumn("segment_id", "integer", (c) => c.notNull().references("inventory_segments.id"))
          .addColumn("position", "integer", (c) => c.notNull())
          .addPrimaryKeyConstraint("image_segments_pk", ["repository_id", "digest", "segment_id"])
          .execute();
        await db.schema
          .createIndex("image_segments_segment")
          .on("image_segments")
          .column("segment_id")
          .execute();
        await db.schema.alterTable("manifests").addColumn("last_pulled_at", "bigint").execute();
        // With `name` in the index, a page of images with their tags (ListImages) joins tags by
        // digest already in name order; without it SQLite's planner, which has no statistics,
        // preferred the primary key for that order and scanned every tag per image (150 ms for
        // 1,000 images, bench:cluster).
        await db.schema.dropIndex("tags_digest").execute();
        await db.schema
          .createIndex("tags_digest")
          .on("tags")
          .columns(["repository_id", "digest", "name"])
          .execute();
        await carryOverScanFindings(db);
        await db.schema.dropTable("scan_findings").execute();
      },
    },
    /** Inspector2 suppression filters and their tags (schema.ts). */
    "0006_inspector_filters": {
      async up(db: AnyDb) {
        await db.schema
          .createTable("inspector_filters")
          .addColumn("id", "text", (c) => c.primaryKey())
          .addColumn("name", "text", (c) => c.notNull().unique())
          .addColumn("action", "text", (c) => c.notNull())
          .addColumn("criteria", "text", (c) => c.notNull())
          .addColumn("description", "text")
          .addColumn("reason", "text")
          .addColumn("expires_at", "bigint")
          .addColumn("expired", "integer", (c) => c.notNull().defaultTo(0))
          .addColumn("created_at", "bigint", (c) => c.notNull())
          .addColumn("updated_at", "bigint", (c) => c.notNull())
          .execute();
        await db.schema
          .createTable("inspector_filter_tags")
          .addColumn("filter_id", "text", (c) =>
            c.notNull().references("inspector_filters.id").onDelete("cascade"),
          )
          .addColumn("key", "text", (c) => c.notNull())
          .addColumn("value", "text", (c) => c.notNull())
          .addPrimaryKeyConstraint("inspector_filter_tags_pk", ["filter_id", "key"])
          .execute();
        await db.schema
          .createIndex("findings_scan_first_observed")
          .on("findings")
          .columns(["scan_type", "first_observed_at", "id"])
          .execute();
      },
    },
    /**
     * Closed-finding retention and the finding history (src/findings/retention.ts, schema.ts):
     * why each CLOSED finding closed, the open/closed intervals of every finding (carried over
     * from the findings kept: one interval from first observation, closed when the finding is),
     * the daily snapshots, when a segment was last used, and the indexes the purges walk
     * (partial, so that they hold only closed rows and no other query is planned through them).
     */
    "0007_finding_history": {
      async up(db: AnyDb) {
        await db.schema.alterTable("findings").addColumn("closed_reason", "text").execute();
        // A closed finding whose image is gone closed because it was deleted; the others because
        // a match no longer found them.
        await sql`update findings set closed_reason = case when exists (select 1 from manifests m
            where m.repository_id = findings.repository_id and m.digest = findings.digest)
          then 'fixed' else 'deleted' end
          where status = 'CLOSED'`.execute(db);
        await db.schema
          .createIndex("findings_closed")
          .on("findings")
          .columns(["status", "closed_at"])
          .where(sql.ref("status"), "=", sql.lit("CLOSED"))
          .execute();
        await db.schema.createIndex("findings_details").on("findings").column("details_hash").execute();
        await db.schema
          .createTable("finding_intervals")
          // A plain rowid on SQLite (no AUTOINCREMENT bookkeeping per insert): ids are never reused
          // while their row exists, which is all the purge's batches need.
          .addColumn("id", idType, (c) => c.primaryKey())
          .addColumn("finding_id", "text", (c) => c.notNull())
          .addColumn("repository_id", "integer", (c) => c.notNull())
          .addColumn("scan_type", "text", (c) => c.notNull())
          .addColumn("severity", "text", (c) => c.notNull())
          .addColumn("opened_at", "bigint", (c) => c.notNull())
          .addColumn("closed_at", "bigint")
          .addColumn("closed_reason", "text")
          .execute();
        await db.schema
          .createIndex("finding_intervals_open")
          .on("finding_intervals")
          .column("finding_id")
          .unique()
          .where(sql.ref("closed_at"), "is", null)
          .execute();
        await db.schema
          .createIndex("finding_intervals_opened")
          .on("finding_intervals")
          .column("opened_at")
          .execute();
        await db.schema
          .createIndex("finding_intervals_closed")
          .on("finding_intervals")
          .column("closed_at")
          // Partial: SQLite's planner, without statistics, would otherwise read all the open
          // intervals through it (closed_at IS NULL) to close a few by finding_id.
          .where(sql.ref("closed_at"), "is not", null)
          .execute();
        await sql`insert into finding_intervals
            (finding_id, repository_id, scan_type, severity, opened_at, closed_at, closed_reason)
          select id, repository_id, scan_type, severity, first_observed_at,
            case when status = 'CLOSED' then coalesce(closed_at, updated_at) end,
            case when status = 'CLOSED' then closed_reason end
          from findings`.execute(db);
        await db.schema
          .createTable("finding_snapshots")
          .addColumn("day", "text", (c) => c.notNull())
          .addColumn("repository_id", "integer", (c) => c.notNull())
          .addColumn("scan_type", "text", (c) => c.notNull())
          .addColumn("severity", "text", (c) => c.notNull())
          .addColumn("status", "text", (c) => c.notNull())
          .addColumn("count", "integer", (c) => c.notNull())
          .addPrimaryKeyConstraint("finding_snapshots_pk", [
            "day",
            "repository_id",
            "scan_type",
            "severity",
            "status",
          ])
          .execute();
        await db.schema
          .alterTable("inventory_segments")
          .addColumn("last_used_at", "bigint", (c) => c.notNull().defaultTo(0))
          .execute();
        // Deleting a segment deletes its keys (cascade), found by segment.
        await db.schema.createIndex("segment_keys_segment").on("segment_keys").column("segment_id").execute();
        await sql`update inventory_segments set last_used_at = created_at`.execute(db);
      },
    },
    /** Inspector2 findings reports and SBOM exports (schema.ts; src/findings/reports/). */
    "0008_inspector_reports": {
      async up(db: AnyDb) {
        await db.schema
          .createTable("inspector_reports")
          .addColumn("id", "text", (c) => c.primaryKey())
          .addColumn("kind", "text", (c) => c.notNull())
          .addColumn("format", "text", (c) => c.notNull())
          .addColumn("criteria", "text")
          .addColumn("bucket", "text", (c) => c.notNull())
          .addColumn("key_prefix", "text")
          .addColumn("kms_key_arn", "text", (c) => c.notNull())
          .addColumn("location", "text", (c) => c.notNull())
          .addColumn("status", "text", (c) => c.notNull())
          .addColumn("error_code", "text")
          .addColumn("error_message", "text")
          .addColumn("items", "integer")
          .addColumn("created_by", "text", (c) => c.notNull())
          .addColumn("created_at", "bigint", (c) => c.notNull())
          .addColumn("updated_at", "bigint", (c) => c.notNull())
          .addColumn("completed_at", "bigint")
          .execute();
        await db.schema
          .createIndex("inspector_reports_kind_created")
          .on("inspector_reports")
          .columns(["kind", "created_at"])
          .execute();
        // One findings report in progress at a time, as Inspector ("Cannot have multiple reports
        // in-progress"); SBOM exports are not limited.
        await sql`create unique index inspector_reports_one_findings_report on inspector_reports (kind)
          where status = 'IN_PROGRESS' and kind = 'FINDINGS'`.execute(db);
      },
    },
    /** The rescan window: each manifest's last push, and scan states found by status (schema.ts). */
    "0009_scan_eligibility": {
      async up(db: AnyDb) {
        await db.schema.alterTable("manifests").addColumn("last_pushed_at", "bigint").execute();
        await db
          .updateTable("manifests")
          .set({ last_pushed_at: sql`created_at` })
          .execute();
        await db.schema
          .createIndex("image_scans_type_status")
          .on("image_scans")
          .columns(["scan_type", "status"])
          .execute();
      },
    },
    /**
     * ListFindings' pages in index order at a million findings (bench:rematch): narrowed by
     * package or vulnerability and sorted by last observation or by severity, or narrowed by
     * status and one severity (then in id order), a page is read from an index in its order
     * and the query stops after it, instead of sorting every finding of stdlib or of a CVE
     * found in every image. The severity order is finding-query.ts's rank expression, most
     * severe first, then the id as the query orders it (COLLATE "C" on PostgreSQL). The
     * (package, status) and (vulnerability, status) indexes give way to the observed ones,
     * which narrow as well. And the image index covers what aggregations count (severity, fix,
     * exploit), so that counting the findings of every image reads the index alone, in image
     * order, instead of each finding's row.
     */
    "0010_rematch_indexes": {
      async up(db: AnyDb) {
        const id = dialect === "postgres" ? sql`id collate "C"` : sql`id`;
        const rank = sql`(case severity when 'CRITICAL' then 5 when 'HIGH' then 4 when 'MEDIUM' then 3 when 'LOW' then 2 when 'INFORMATIONAL' then 1 when 'UNTRIAGED' then 0 else 6 end)`;
        await db.schema.dropIndex("findings_package").execute();
        await db.schema.dropIndex("findings_vulnerability").execute();
        for (const column of ["package_name", "vulnerability_id"] as const) {
          const name = column === "package_name" ? "package" : "vulnerability";
          await sql`create index ${sql.ref(`findings_${name}_observed`)}
            on findings (${sql.ref(column)}, last_observed_at desc, ${id})`.execute(db);
          await sql`create index ${sql.ref(`findings_${name}_severity`)}
            on findings (${sql.ref(column)}, ${rank} desc, ${id})`.execute(db);
        }
        await sql`create index findings_status_severity_id on findings (status, severity, ${id})`.execute(db);
        await db.schema.dropIndex("findings_image").execute();
        await db.schema
          .createIndex("findings_image")
          .on("findings")
          .columns([
            "repository_id",
            "digest",
            "scan_type",
            "status",
            "severity",
            "fix_available",
            "exploit_available",
          ])
          .execute();
      },
    },
    /**
     * The EventBridge-compatible bus (schema.ts; src/events, src/api/events): buses, rules,
     * targets, connections, API destinations, archives, replays, tags, schedule state, pending
     * deliveries and dead letters; the bus of each logged event; the routing config counter.
     */
    "0011_event_bus": {
      async up(db: AnyDb) {
        await db.schema
          .createTable("event_buses")
          .addColumn("name", "text", (c) => c.primaryKey())
          .addColumn("description", "text")
          .addColumn("created_at", "bigint", (c) => c.notNull())
          .addColumn("updated_at", "bigint", (c) => c.notNull())
          .execute();
        await db.schema
          .createTable("event_rules")
          .addColumn("bus", "text", (c) => c.notNull())
          .addColumn("name", "text", (c) => c.notNull())
          .addColumn("event_pattern", "text")
          .addColumn("schedule_expression", "text")
          .addColumn("state", "text", (c) => c.notNull())
          .addColumn("description", "text")
          .addColumn("role_arn", "text")
          .addColumn("created_by", "text", (c) => c.notNull())
          .addColumn("created_at", "bigint", (c) => c.notNull())
          .addColumn("updated_at", "bigint", (c) => c.notNull())
          .addPrimaryKeyConstraint("event_rules_pk", ["bus", "name"])
          .execute();
        await db.schema
          .createTable("event_targets")
          .addColumn("bus", "text", (c) => c.notNull())
          .addColumn("rule", "text", (c) => c.notNull())
          .addColumn("id", "text", (c) => c.notNull())
          .addColumn("arn", "text", (c) => c.notNull())
          .addColumn("json", "text", (c) => c.notNull())
          .addPrimaryKeyConstraint("event_targets_pk", ["bus", "rule", "id"])
          .execute();
        // ListRuleNamesByTarget: the rules of a bus with a target of one ARN, in name order.
        await db.schema
          .createIndex("event_targets_arn")
          .on("event_targets")
          .columns(["arn", "bus", "rule"])
          .execute();
        await db.schema
          .createTable("event_connections")
          .addColumn("name", "text", (c) => c.primaryKey())
          .addColumn("description", "text")
          .addColumn("authorization_type", "text", (c) => c.notNull())
          .addColumn("auth_parameters", "text", (c) => c.notNull())
          .addColumn("state", "text", (c) => c.notNull())
          .addColumn("state_reason", "text")
          .addColumn("signing_secret", "text", (c) => c.notNull())
          .addColumn("previous_signing_secret", "text")
          .addColumn("rotated_at", "bigint")
          .addColumn("created_at", "bigint", (c) => c.notNull())
          .addColumn("updated_at", "bigint", (c) => c.notNull())
          .addColumn("last_authorized_at", "bigint")
          .execute();
        await db.schema
          .createTable("event_api_destinations")
          .addColumn("name", "text", (c) => c.primaryKey())
          .addColumn("description", "text")
          .addColumn("connection_name", "text", (c) => c.notNull())
          .addColumn("endpoint", "text", (c) => c.notNull())
          .addColumn("http_method", "text", (c) => c.notNull())
          .addColumn("invocation_rate_limit_per_second", "integer", (c) => c.notNull())
          .addColumn("state", "text", (c) => c.notNull())
          .addColumn("created_at", "bigint", (c) => c.notNull())
          .addColumn("updated_at", "bigint", (c) => c.notNull())
          .execute();
        await db.schema
          .createTable("event_archives")
          .addColumn("name", "text", (c) => c.primaryKey())
          .addColumn("bus", "text", (c) => c.notNull())
          .addColumn("description", "text")
          .addColumn("event_pattern", "text")
          .addColumn("retention_days", "integer", (c) => c.notNull())
          .addColumn("state", "text", (c) => c.notNull())
          .addColumn("created_at", "bigint", (c) => c.notNull())
          .execute();
        await db.schema
          .createTable("event_archive_events")
          .addColumn("archive", "text", (c) => c.notNull())
          .addColumn("seq", "bigint", (c) => c.notNull())
          .addColumn("time", "bigint", (c) => c.notNull())
          .addColumn("size", "integer", (c) => c.notNull())
          .addPrimaryKeyConstraint("event_archive_events_pk", ["archive", "seq"])
          .execute();
        // Replays select a time range; the retention purge deletes by time.
        await db.schema
          .createIndex("event_archive_events_time")
          .on("event_archive_events")
          .columns(["archive", "time"])
          .execute();
        await db.schema
          .createTable("event_replays")
          .addColumn("name", "text", (c) => c.primaryKey())
          .addColumn("description", "text")
          .addColumn("archive", "text", (c) => c.notNull())
          .addColumn("destination", "text", (c) => c.notNull())
          .addColumn("event_start_time", "bigint", (c) => c.notNull())
          .addColumn("event_end_time", "bigint", (c) => c.notNull())
          .addColumn("state", "text", (c) => c.notNull())
          .addColumn("state_reason", "text")
          .addColumn("replay_start_time", "bigint")
          .addColumn("replay_end_time", "bigint")
          .addColumn("event_last_replayed_time", "bigint")
          .addColumn("cursor", "bigint", (c) => c.notNull())
          .execute();
        await db.schema
          .createTable("event_tags")
          .addColumn("arn", "text", (c) => c.notNull())
          .addColumn("key", "text", (c) => c.notNull())
          .addColumn("value", "text", (c) => c.notNull())
          .addPrimaryKeyConstraint("event_tags_pk", ["arn", "key"])
          .execute();
        await db.schema
          .createTable("event_schedules")
          .addColumn("bus", "text", (c) => c.notNull())
          .addColumn("rule", "text", (c) => c.notNull())
          .addColumn("fired_at", "bigint", (c) => c.notNull())
          .addPrimaryKeyConstraint("event_schedules_pk", ["bus", "rule"])
          .execute();
        await db.schema
          .createTable("event_deliveries")
          // A plain rowid on SQLite (no AUTOINCREMENT bookkeeping per insert): thousands are
          // written and deleted a second; a reused id is harmless, every write is token-fenced.
          .addColumn("id", idType, (c) => c.primaryKey())
          .addColumn("bus", "text", (c) => c.notNull())
          .addColumn("rule", "text", (c) => c.notNull())
          .addColumn("target_id", "text", (c) => c.notNull())
          .addColumn("event_seq", "bigint", (c) => c.notNull())
          .addColumn("event_json", "text")
          .addColumn("event_time", "bigint", (c) => c.notNull())
          .addColumn("run_after", "bigint", (c) => c.notNull())
          .addColumn("attempts", "integer", (c) => c.notNull())
          .addColumn("lease_until", "bigint")
          .addColumn("lease_token", "text")
          .addColumn("last_error", "text")
          .addColumn("created_at", "bigint", (c) => c.notNull())
          .execute();
        // The claim's order: a claim moves run_after to the lease's end, so `run_after <= now`
        // alone finds both due and lease-expired rows, from the start of this index.
        await db.schema
          .createIndex("event_deliveries_due")
          .on("event_deliveries")
          .columns(["run_after", "id"])
          .execute();
        await db.schema
          .createIndex("event_deliveries_target")
          .on("event_deliveries")
          .columns(["bus", "rule", "target_id"])
          .execute();
        await db.schema
          .createTable("event_dead_letters")
          .addColumn("id", idType, generated)
          .addColumn("queue", "text", (c) => c.notNull())
          .addColumn("bus", "text", (c) => c.notNull())
          .addColumn("rule", "text", (c) => c.notNull())
          .addColumn("target_id", "text", (c) => c.notNull())
          .addColumn("target_arn", "text", (c) => c.notNull())
          .addColumn("event_seq", "bigint", (c) => c.notNull())
          .addColumn("event_json", "text", (c) => c.notNull())
          .addColumn("event_time", "bigint", (c) => c.notNull())
          .addColumn("attempts", "integer", (c) => c.notNull())
          .addColumn("error_code", "text", (c) => c.notNull())
          .addColumn("error_message", "text", (c) => c.notNull())
          .addColumn("dead_at", "bigint", (c) => c.notNull())
          .execute();
        await db.schema
          .createIndex("event_dead_letters_rule")
          .on("event_dead_letters")
          .columns(["bus", "rule", "target_id", "id"])
          .execute();
        await db.schema
          .alterTable("event_log")
          .addColumn("bus", "text", (c) => c.notNull().defaultTo("default"))
          .execute();
        await db.insertInto("counters").values({ name: "event_rules", value: 0 }).execute();
      },
    },
    /** Lifecycle policies per repository, their previews and preview results (schema.ts; src/policy/lifecycle). */
    "0012_lifecycle": {
      async up(db: AnyDb) {
        await db.schema
          .createTable("lifecycle_policies")
          .addColumn("repository_id", "integer", (c) => c.primaryKey())
          .addColumn("policy_text", "text", (c) => c.notNull())
          .addColumn("updated_at", "bigint", (c) => c.notNull())
          .addColumn("last_evaluated_at", "bigint")
          .execute();
        await db.schema
          .createTable("lifecycle_previews")
          .addColumn("repository_id", "integer", (c) => c.primaryKey())
          .addColumn("token", "text", (c) => c.notNull())
          .addColumn("policy_text", "text", (c) => c.notNull())
          .addColumn("status", "text", (c) => c.notNull())
          .addColumn("error", "text")
          .addColumn("created_at", "bigint", (c) => c.notNull())
          .addColumn("updated_at", "bigint", (c) => c.notNull())
          .execute();
        await db.schema
          .createTable("lifecycle_preview_results")
          .addColumn("repository_id", "integer", (c) => c.notNull())
          .addColumn("digest", "text", (c) => c.notNull())
          .addColumn("image_tags", "text", (c) => c.notNull())
          .addColumn("tagged", "integer", (c) => c.notNull())
          .addColumn("pushed_at", "bigint", (c) => c.notNull())
          .addColumn("rule_priority", "integer", (c) => c.notNull())
          .addPrimaryKeyConstraint("lifecycle_preview_results_pk", ["repository_id", "digest"])
          .execute();
      },
    },
    /** Policy documents (the pull policy set by `drydock policy set`; schema.ts). */
    "0013_policy": {
      async up(db: AnyDb) {
        await db.schema
          .createTable("policy_documents")
          .addColumn("name", "text", (c) => c.primaryKey())
          .addColumn("json", "text", (c) => c.notNull())
          .addColumn("version", "bigint", (c) => c.notNull())
          .addColumn("updated_by", "text", (c) => c.notNull())
          .addColumn("updated_at", "bigint", (c) => c.notNull())
          .execute();
      },
    },
    /** VEX documents pushed as referrers, per image (schema.ts; src/findings/vex). */
    "0014_exceptions_vex": {
      async up(db: AnyDb) {
        await db.schema
          .createTable("vex_documents")
          .addColumn("repository_id", "integer", (c) => c.notNull())
          .addColumn("referrer_digest", "text", (c) => c.notNull())
          .addColumn("image_digest", "text", (c) => c.notNull())
          .addColumn("subject_digest", "text", (c) => c.notNull())
          .addColumn("format", "text", (c) => c.notNull())
          .addColumn("status", "text", (c) => c.notNull())
          .addColumn("error", "text")
          .addColumn("statements", "text")
          .addColumn("created_at", "bigint", (c) => c.notNull())
          .addPrimaryKeyConstraint("vex_documents_pk", ["repository_id", "referrer_digest", "image_digest"])
          .execute();
        await db.schema
          .createIndex("vex_documents_image")
          .on("vex_documents")
          .columns(["repository_id", "image_digest"])
          .execute();
      },
    },
    /**
     * Maintained counts of open findings per image and per repository (schema.ts;
     * storage/meta/finding-counts.ts), filled from the findings there are.
     */
    "0015_finding_counts": {
      async up(db: AnyDb) {
        await db.schema
          .createTable("image_finding_counts")
          .addColumn("repository_id", "integer", (c) => c.notNull())
          .addColumn("digest", "text", (c) => c.notNull())
          .addColumn("scan_type", "text", (c) => c.notNull())
          .addColumn("status", "text", (c) => c.notNull())
          .addColumn("severity", "text", (c) => c.notNull())
          .addColumn("count", "integer", (c) => c.notNull())
          .addPrimaryKeyConstraint("image_finding_counts_pk", [
            "repository_id",
            "digest",
            "scan_type",
            "status",
            "severity",
          ])
          .execute();
        await db.schema
          .createTable("repository_finding_counts")
          .addColumn("repository_id", "integer", (c) => c.notNull())
          .addColumn("scan_type", "text", (c) => c.notNull())
          .addColumn("status", "text", (c) => c.notNull())
          .addColumn("severity", "text", (c) => c.notNull())
          .addColumn("count", "integer", (c) => c.notNull())
          .addPrimaryKeyConstraint("repository_finding_counts_pk", [
            "repository_id",
            "scan_type",
            "status",
            "severity",
          ])
          .execute();
        // A repository's images in order of one severity's count, then digest (the console).
        await db.schema
          .createIndex("image_finding_counts_order")
          .on("image_finding_counts")
          .columns(["repository_id", "scan_type", "status", "severity", "count", "digest"])
          .execute();
        // Repositories in order of one severity's count (the console's sort by critical, high...).
        await db.schema
          .createIndex("repository_finding_counts_order")
          .on("repository_finding_counts")
          .columns(["scan_type", "status", "severity", "count", "repository_id"])
          .execute();
        await sql`insert into image_finding_counts (repository_id, digest, scan_type, status, severity, count)
          select repository_id, digest, scan_type, status, severity, count(*)
          from findings where status in ('ACTIVE', 'SUPPRESSED')
          group by repository_id, digest, scan_type, status, severity`.execute(db);
        await sql`insert into repository_finding_counts (repository_id, scan_type, status, severity, count)
          select repository_id, scan_type, status, severity, sum(count)
          from image_finding_counts group by repository_id, scan_type, status, severity`.execute(db);
      },
    },
    /**
     * The console's maintained aggregates and report records (schema.ts; ConsoleStore,
     * src/console): daily rollups of the finding history, per-vulnerability counts of open
     * findings, and the scheduled reports, one per period.
     */
    "0016_console": {
      async up(db: AnyDb) {
        await db.schema
          .createTable("console_daily")
          .addColumn("day", "text", (c) => c.notNull())
          .addColumn("repository_id", "integer", (c) => c.notNull())
          .addColumn("scan_type", "text", (c) => c.notNull())
          .addColumn("severity", "text", (c) => c.notNull())
          .addColumn("snapshot", "integer", (c) => c.notNull())
          .addColumn("active", "integer", (c) => c.notNull())
          .addColumn("suppressed", "integer", (c) => c.notNull())
          .addColumn("opened", "integer", (c) => c.notNull())
          .addColumn("fixed", "integer", (c) => c.notNull())
          .addColumn("fixed_ms", "bigint", (c) => c.notNull())
          .addPrimaryKeyConstraint("console_daily_pk", ["day", "repository_id", "scan_type", "severity"])
          .execute();
        await db.schema
          .createTable("console_vulnerabilities")
          .addColumn("vulnerability_id", "text", (c) => c.primaryKey())
          .addColumn("images", "integer", (c) => c.notNull())
          .addColumn("repositories", "integer", (c) => c.notNull())
          .addColumn("findings", "integer", (c) => c.notNull())
          .addColumn("severity", "text", (c) => c.notNull())
          .addColumn("epss_score", "real")
          .addColumn("kev", "integer", (c) => c.notNull())
          .addColumn("priority", "real", (c) => c.notNull())
          .addColumn("refreshed_at", "bigint", (c) => c.notNull())
          .execute();
        await db.schema
          .createIndex("console_vulnerabilities_images")
          .on("console_vulnerabilities")
          .columns(["images desc", "vulnerability_id"])
          .execute();
        await db.schema
          .createIndex("console_vulnerabilities_priority")
          .on("console_vulnerabilities")
          .columns(["kev desc", "priority desc", "images desc", "vulnerability_id"])
          .execute();
        await db.schema
          .createTable("console_repository_vulnerabilities")
          .addColumn("repository_id", "integer", (c) => c.notNull())
          .addColumn("vulnerability_id", "text", (c) => c.notNull())
          .addColumn("images", "integer", (c) => c.notNull())
          .addColumn("findings", "integer", (c) => c.notNull())
          .addColumn("severity_rank", "integer", (c) => c.notNull())
          .addColumn("epss_score", "real")
          .addColumn("kev", "integer", (c) => c.notNull())
          .addColumn("refreshed_at", "bigint", (c) => c.notNull())
          .addPrimaryKeyConstraint("console_repository_vulnerabilities_pk", [
            "repository_id",
            "vulnerability_id",
          ])
          .execute();
        await db.schema
          .createTable("console_reports")
          .addColumn("id", "text", (c) => c.primaryKey())
          .addColumn("period", "text", (c) => c.notNull().unique())
          .addColumn("kind", "text", (c) => c.notNull())
          .addColumn("status", "text", (c) => c.notNull())
          .addColumn("range_from", "bigint", (c) => c.notNull())
          .addColumn("range_to", "bigint", (c) => c.notNull())
          .addColumn("html_key", "text")
          .addColumn("csv_key", "text")
          .addColumn("html_bytes", "bigint")
          .addColumn("csv_bytes", "bigint")
          .addColumn("summary", "text")
          .addColumn("error", "text")
          .addColumn("created_by", "text", (c) => c.notNull())
          .addColumn("created_at", "bigint", (c) => c.notNull())
          .addColumn("updated_at", "bigint", (c) => c.notNull())
          .addColumn("completed_at", "bigint")
          .execute();
        await db.schema
          .createIndex("console_reports_created")
          .on("console_reports")
          .columns(["created_at desc", "id"])
          .execute();
      },
    },
    /**
     * Per-image and per-repository totals of open findings (schema.ts; finding-counts.ts):
     * one wide row each, so that the account-wide aggregations sort and page in SQL, by an
     * index, instead of summing 300,000 count rows and sorting 100,000 groups in the process.
     */
    "0017_finding_totals": {
      async up(db: AnyDb) {
        // Names and digests in code-unit order on both dialects (the API's tie order).
        const text = dialect === "postgres" ? sql`text collate "C"` : sql`text`;
        let images = db.schema
          .createTable("image_finding_totals")
          .addColumn("repository_id", "integer", (c) => c.notNull())
          .addColumn("digest", text, (c) => c.notNull())
          .addColumn("scan_type", "text", (c) => c.notNull())
          .addColumn("status", "text", (c) => c.notNull())
          .addColumn("repository_name", text, (c) => c.notNull());
        let repositories = db.schema
          .createTable("repository_finding_totals")
          .addColumn("repository_id", "integer", (c) => c.notNull())
          .addColumn("scan_type", "text", (c) => c.notNull())
          .addColumn("status", "text", (c) => c.notNull());
        for (const n of ["n_all", "n_critical", "n_high", "n_medium"]) {
          images = images.addColumn(n, "integer", (c) => c.notNull());
          repositories = repositories.addColumn(n, "integer", (c) => c.notNull());
        }
        await images
          .addPrimaryKeyConstraint("image_finding_totals_pk", [
            "repository_id",
            "digest",
            "scan_type",
            "status",
          ])
          .execute();
        await repositories
          .addColumn("n_images", "integer", (c) => c.notNull())
          .addPrimaryKeyConstraint("repository_finding_totals_pk", ["repository_id", "scan_type", "status"])
          .execute();
        // The aggregation by image in order of each sortable count, ties by repository name and
        // digest; ASC is DESC read backwards.
        for (const n of ["n_all", "n_critical", "n_high"])
          await db.schema
            .createIndex(`image_finding_totals_${n.slice(2)}`)
            .on("image_finding_totals")
            .columns(["scan_type", "status", n, "repository_name", "digest"])
            .execute();
        await sql`insert into image_finding_totals
            (repository_id, digest, scan_type, status, repository_name, n_all, n_critical, n_high, n_medium)
          select f.repository_id, f.digest, f.scan_type, f.status, min(r.name), count(*),
            sum(case when f.severity = 'CRITICAL' then 1 else 0 end),
            sum(case when f.severity = 'HIGH' then 1 else 0 end),
            sum(case when f.severity = 'MEDIUM' then 1 else 0 end)
          from findings f join repositories r on r.id = f.repository_id
          where f.status in ('ACTIVE', 'SUPPRESSED')
          group by f.repository_id, f.digest, f.scan_type, f.status`.execute(db);
        await sql`insert into repository_finding_totals
            (repository_id, scan_type, status, n_all, n_critical, n_high, n_medium, n_images)
          select repository_id, scan_type, status, sum(n_all), sum(n_critical), sum(n_high),
            sum(n_medium), count(*)
          from image_finding_totals group by repository_id, scan_type, status`.execute(db);
      },
    },
  };
};

/** 0005: each scan_findings row becomes an ACTIVE finding observed at its scan's completion. */
async function carryOverScanFindings(db: AnyDb): Promise<void> {
  const scans = (await db
    .selectFrom("image_scans")
    .select(["repository_id", "digest", "scan_type", "completed_at", "updated_at"])
    .execute()) as {
    repository_id: number;
    digest: string;
    scan_type: string;
    completed_at: number | null;
    updated_at: number;
  }[];
  for (const scan of scans) {
    const rows = (await db
      .selectFrom("scan_findings")
      .select(["json"])
      .where("repository_id", "=", scan.repository_id)
      .where("digest", "=", scan.digest)
      .orderBy("seq")
      .execute()) as { json: string }[];
    const at = Number(scan.completed_at ?? scan.updated_at);
    const seen = new Set<string>();
    for (const r of rows) {
      const f = JSON.parse(r.json) as LegacyFinding;
      const severity = scan.scan_type === "ENHANCED" && f.severity === "UNDEFINED" ? "UNTRIAGED" : f.severity;
      const { row, details } = findingRow(
        {
          repositoryId: scan.repository_id,
          digest: scan.digest,
          scanType: scan.scan_type as "BASIC" | "ENHANCED",
          vulnerabilityId: f.vulnerabilityId,
          packageName: f.package.name,
          packagePath: packagePathOf(f.package),
        },
        {
          status: "ACTIVE",
          severity,
          fixAvailable: f.fixAvailable,
          inspectorScore: null,
          epssScore: f.epss?.score ?? null,
          exploitAvailable: f.kev === true,
          firstObservedAt: at,
          lastObservedAt: at,
          updatedAt: at,
          closedAt: null,
        },
        r.json,
      );
      if (seen.has(row.id)) continue;
      seen.add(row.id);
      await db
        .insertInto("finding_details")
        .values(details)
        .onConflict((oc) => oc.doNothing())
        .execute();
      // findings as 0005 created it: closed_reason comes with 0007.
      const { closed_reason: _later, ...then } = row;
      await db.insertInto("findings").values(then).execute();
    }
  }
}

interface LegacyFinding {
  vulnerabilityId: string;
  severity: string;
  fixAvailable: string;
  kev?: boolean;
  epss?: { score: number };
  package: { name: string; path: string; archivePath?: string };
}

interface ScanJobRow {
  repository_id: number;
  digest: string;
  scan_type: string;
  reason: string;
  state: string;
  attempts: number;
  run_after: number;
  last_error: string | null;
  created_at: number;
  updated_at: number;
}

/** The names of every migration, in order: a database whose latest is older needs `drydock migrate`. */
export const MIGRATION_NAMES = Object.keys(migrationsFor("sqlite")).sort();

export function migrationProvider(dialect: Dialect): MigrationProvider {
  return { getMigrations: async () => migrationsFor(dialect) };
}
