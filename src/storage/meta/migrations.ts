import {
  sql,
  type ColumnDefinitionBuilder,
  type Kysely,
  type Migration,
  type MigrationProvider,
} from "kysely";
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
  };
};

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
