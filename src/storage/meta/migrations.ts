import { sql, type Kysely, type Migration, type MigrationProvider } from "kysely";

/**
 * Versioned migrations, applied in name order by Kysely's Migrator (table
 * `kysely_migration`). Never edit a released migration: add the next one.
 * SQL is kept to what SQLite and PostgreSQL both accept.
 */
const migrations: Record<string, Migration> = {
  "0001_registry": {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable("repositories")
        .addColumn("id", "integer", (c) => c.primaryKey().autoIncrement())
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
    async up(db: Kysely<unknown>) {
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
    async up(db: Kysely<unknown>) {
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
        .addColumn("id", "integer", (c) => c.primaryKey().autoIncrement())
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
        .addColumn("seq", "integer", (c) => c.primaryKey().autoIncrement())
        .addColumn("id", "text", (c) => c.notNull())
        .addColumn("time", "bigint", (c) => c.notNull())
        .addColumn("source", "text", (c) => c.notNull())
        .addColumn("detail_type", "text", (c) => c.notNull())
        .addColumn("json", "text", (c) => c.notNull())
        .execute();
    },
  },
};

export const migrationProvider: MigrationProvider = {
  getMigrations: async () => migrations,
};
