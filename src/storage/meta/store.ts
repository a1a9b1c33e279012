import { Kysely, Migrator, sql, type Transaction } from "kysely";
import { migrationProvider } from "./migrations.js";
import type { Database } from "./schema.js";

export interface ManifestRecord {
  repositoryId: number;
  digest: string;
  mediaType: string;
  artifactType: string | null;
  subject: string | null;
  size: number;
  annotations: Record<string, string> | null;
  createdAt: number;
}

export interface ManifestReference {
  digest: string;
  kind: "blob" | "manifest";
}

export interface PutManifestInput {
  repositoryId: number;
  digest: string;
  mediaType: string;
  artifactType: string | null;
  subject: string | null;
  size: number;
  annotations: Record<string, string> | null;
  references: ManifestReference[];
  tag?: string;
}

export type PutManifestResult = { ok: true } | { ok: false; missing: ManifestReference[] };

export interface Page<T> {
  items: T[];
  /** True when more items follow the last one returned. */
  more: boolean;
}

type Db = Kysely<Database> | Transaction<Database>;

/**
 * MetaStore: all registry metadata behind typed methods over Kysely, so that the
 * SQLite (embedded) and PostgreSQL (scale-out) drivers run the same queries.
 * Methods that must be atomic run in one transaction (`tx`). The schema is described
 * in ./schema.ts.
 */
export class MetaStore {
  constructor(
    readonly db: Kysely<Database>,
    private readonly now: () => number = Date.now,
  ) {}

  async migrate(): Promise<void> {
    const { error, results } = await new Migrator({
      db: this.db,
      provider: migrationProvider,
    }).migrateToLatest();
    if (error) {
      const failed = results?.find((r) => r.status === "Error")?.migrationName ?? "?";
      throw new Error(`database migration ${failed} failed: ${String(error)}`);
    }
  }

  tx<T>(fn: (store: MetaStore) => Promise<T>): Promise<T> {
    // Already in a transaction (a caller wrapping several writes, e.g. a manifest and its
    // event): join it, since Kysely cannot nest transactions.
    if (this.db.isTransaction) return fn(this);
    return this.db
      .transaction()
      .execute((trx) => fn(new MetaStore(trx as unknown as Kysely<Database>, this.now)));
  }

  close(): Promise<void> {
    return this.db.destroy();
  }

  // --- repositories -----------------------------------------------------------------

  async repositoryId(name: string): Promise<number | null> {
    const row = await this.db
      .selectFrom("repositories")
      .select("id")
      .where("name", "=", name)
      .executeTakeFirst();
    return row?.id ?? null;
  }

  async ensureRepository(name: string): Promise<number> {
    const existing = await this.repositoryId(name);
    if (existing !== null) return existing;
    await this.db
      .insertInto("repositories")
      .values({ name, created_at: this.now() })
      .onConflict((oc) => oc.column("name").doNothing())
      .execute();
    const id = await this.repositoryId(name);
    if (id === null) throw new Error(`repository ${name} vanished while being created`);
    return id;
  }

  /** Repository names in lexical order after `last`; names with no content are omitted. */
  async listRepositories(last: string | undefined, limit: number): Promise<Page<string>> {
    let q = this.db
      .selectFrom("repositories")
      .select("name")
      .where((eb) =>
        eb.exists(
          eb
            .selectFrom("manifests")
            .select("manifests.digest")
            .whereRef("manifests.repository_id", "=", "repositories.id"),
        ),
      )
      .orderBy("name")
      .limit(limit + 1);
    if (last !== undefined) q = q.where("name", ">", last);
    const rows = await q.execute();
    return { items: rows.slice(0, limit).map((r) => r.name), more: rows.length > limit };
  }

  async deleteRepository(id: number): Promise<void> {
    await this.tx(async (s) => {
      for (const t of ["tags", "manifest_references", "manifests", "repository_blobs", "uploads"] as const) {
        await s.db.deleteFrom(t).where("repository_id", "=", id).execute();
      }
      await s.db.deleteFrom("repositories").where("id", "=", id).execute();
    });
  }

  // --- blobs ------------------------------------------------------------------------

  /** Records a complete blob and links it to a repository. */
  async linkBlob(repositoryId: number, digest: string, size: number): Promise<void> {
    const now = this.now();
    await this.tx(async (s) => {
      await s.db
        .insertInto("blobs")
        .values({ digest, size, created_at: now, last_used_at: now })
        .onConflict((oc) => oc.column("digest").doUpdateSet({ last_used_at: now }))
        .execute();
      await s.db
        .insertInto("repository_blobs")
        .values({ repository_id: repositoryId, digest, created_at: now })
        .onConflict((oc) => oc.columns(["repository_id", "digest"]).doNothing())
        .execute();
    });
  }

  /** The blob's size when it is linked to the repository, else null. */
  async linkedBlob(repositoryId: number, digest: string): Promise<{ size: number } | null> {
    const row = await this.db
      .selectFrom("repository_blobs")
      .innerJoin("blobs", "blobs.digest", "repository_blobs.digest")
      .select("blobs.size")
      .where("repository_blobs.repository_id", "=", repositoryId)
      .where("repository_blobs.digest", "=", digest)
      .executeTakeFirst();
    return row ? { size: Number(row.size) } : null;
  }

  async blob(digest: string): Promise<{ size: number; lastUsedAt: number } | null> {
    const row = await this.db
      .selectFrom("blobs")
      .select(["size", "last_used_at"])
      .where("digest", "=", digest)
      .executeTakeFirst();
    return row ? { size: Number(row.size), lastUsedAt: Number(row.last_used_at) } : null;
  }

  /** Marks a blob as about to be used (GC grace period starts again). */
  async touchBlob(digest: string): Promise<void> {
    await this.db
      .updateTable("blobs")
      .set({ last_used_at: this.now() })
      .where("digest", "=", digest)
      .execute();
  }

  /**
   * Removes a blob link (as Distribution does, even while a manifest of the repository
   * references the blob: the manifest then fails to pull, and GC keeps the bytes while
   * any manifest anywhere references them). Returns false when there was no link.
   */
  async unlinkBlob(repositoryId: number, digest: string): Promise<boolean> {
    const r = await this.db
      .deleteFrom("repository_blobs")
      .where("repository_id", "=", repositoryId)
      .where("digest", "=", digest)
      .executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  // --- manifests and tags -----------------------------------------------------------

  /**
   * Stores a manifest atomically: checks that every referenced blob is linked to the
   * repository and every referenced manifest exists in it, then writes the manifest,
   * its references, blob links for its own bytes, and the tag. Nothing is written when
   * a reference is missing.
   */
  async putManifest(m: PutManifestInput): Promise<PutManifestResult> {
    const now = this.now();
    return this.tx(async (s) => {
      const missing: ManifestReference[] = [];
      for (const ref of m.references) {
        const found =
          ref.kind === "blob"
            ? await s.db
                .selectFrom("repository_blobs")
                .select("digest")
                .where("repository_id", "=", m.repositoryId)
                .where("digest", "=", ref.digest)
                .executeTakeFirst()
            : await s.db
                .selectFrom("manifests")
                .select("digest")
                .where("repository_id", "=", m.repositoryId)
                .where("digest", "=", ref.digest)
                .executeTakeFirst();
        if (!found) missing.push(ref);
      }
      if (missing.length) return { ok: false as const, missing };
      await s.db
        .insertInto("blobs")
        .values({ digest: m.digest, size: m.size, created_at: now, last_used_at: now })
        .onConflict((oc) => oc.column("digest").doUpdateSet({ last_used_at: now }))
        .execute();
      await s.db
        .insertInto("manifests")
        .values({
          repository_id: m.repositoryId,
          digest: m.digest,
          media_type: m.mediaType,
          artifact_type: m.artifactType,
          subject: m.subject,
          size: m.size,
          annotations: m.annotations ? JSON.stringify(m.annotations) : null,
          created_at: now,
        })
        .onConflict((oc) => oc.columns(["repository_id", "digest"]).doNothing())
        .execute();
      for (const ref of dedupe(m.references)) {
        await s.db
          .insertInto("manifest_references")
          .values({ repository_id: m.repositoryId, parent: m.digest, child: ref.digest, kind: ref.kind })
          .onConflict((oc) => oc.columns(["repository_id", "parent", "child"]).doNothing())
          .execute();
      }
      if (m.tag !== undefined) {
        await s.db
          .insertInto("tags")
          .values({ repository_id: m.repositoryId, name: m.tag, digest: m.digest, updated_at: now })
          .onConflict((oc) =>
            oc.columns(["repository_id", "name"]).doUpdateSet({ digest: m.digest, updated_at: now }),
          )
          .execute();
      }
      return { ok: true as const };
    });
  }

  async manifest(repositoryId: number, digest: string): Promise<ManifestRecord | null> {
    const row = await this.db
      .selectFrom("manifests")
      .selectAll()
      .where("repository_id", "=", repositoryId)
      .where("digest", "=", digest)
      .executeTakeFirst();
    return row ? toManifest(row) : null;
  }

  async tag(repositoryId: number, name: string): Promise<string | null> {
    const row = await this.db
      .selectFrom("tags")
      .select("digest")
      .where("repository_id", "=", repositoryId)
      .where("name", "=", name)
      .executeTakeFirst();
    return row?.digest ?? null;
  }

  /** Tags in lexical order after `last`. */
  async listTags(repositoryId: number, last: string | undefined, limit: number): Promise<Page<string>> {
    let q = this.db
      .selectFrom("tags")
      .select("name")
      .where("repository_id", "=", repositoryId)
      .orderBy("name")
      .limit(limit + 1);
    if (last !== undefined) q = q.where("name", ">", last);
    const rows = await q.execute();
    return { items: rows.slice(0, limit).map((r) => r.name), more: rows.length > limit };
  }

  async deleteTag(repositoryId: number, name: string): Promise<boolean> {
    const r = await this.db
      .deleteFrom("tags")
      .where("repository_id", "=", repositoryId)
      .where("name", "=", name)
      .executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  /** Deletes a manifest, the tags that point to it and its references. */
  async deleteManifest(repositoryId: number, digest: string): Promise<boolean> {
    return this.tx(async (s) => {
      const r = await s.db
        .deleteFrom("manifests")
        .where("repository_id", "=", repositoryId)
        .where("digest", "=", digest)
        .executeTakeFirst();
      if (Number(r.numDeletedRows) === 0) return false;
      await s.db
        .deleteFrom("tags")
        .where("repository_id", "=", repositoryId)
        .where("digest", "=", digest)
        .execute();
      await s.db
        .deleteFrom("manifest_references")
        .where("repository_id", "=", repositoryId)
        .where("parent", "=", digest)
        .execute();
      return true;
    });
  }

  /** Manifests whose `subject` is the given digest, optionally of one artifact type. */
  async referrers(repositoryId: number, subject: string, artifactType?: string): Promise<ManifestRecord[]> {
    let q = this.db
      .selectFrom("manifests")
      .selectAll()
      .where("repository_id", "=", repositoryId)
      .where("subject", "=", subject)
      .orderBy("created_at")
      .orderBy("digest");
    if (artifactType !== undefined) q = q.where("artifact_type", "=", artifactType);
    return (await q.execute()).map(toManifest);
  }

  // --- uploads ----------------------------------------------------------------------

  async createUpload(id: string, repositoryId: number): Promise<void> {
    const now = this.now();
    await this.db
      .insertInto("uploads")
      .values({ id, repository_id: repositoryId, created_at: now, updated_at: now })
      .execute();
  }

  async upload(id: string): Promise<{ repositoryId: number; createdAt: number } | null> {
    const row = await this.db.selectFrom("uploads").selectAll().where("id", "=", id).executeTakeFirst();
    return row ? { repositoryId: row.repository_id, createdAt: Number(row.created_at) } : null;
  }

  async touchUpload(id: string): Promise<void> {
    await this.db.updateTable("uploads").set({ updated_at: this.now() }).where("id", "=", id).execute();
  }

  async deleteUpload(id: string): Promise<void> {
    await this.db.deleteFrom("uploads").where("id", "=", id).execute();
  }

  async countUploads(): Promise<number> {
    const row = await this.db
      .selectFrom("uploads")
      .select((eb) => eb.fn.countAll<number>().as("n"))
      .executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  async staleUploads(olderThan: number): Promise<string[]> {
    const rows = await this.db
      .selectFrom("uploads")
      .select("id")
      .where("updated_at", "<", olderThan)
      .execute();
    return rows.map((r) => r.id);
  }

  // --- garbage collection -----------------------------------------------------------

  /**
   * Blobs that no manifest references (and that are not manifests themselves), last used
   * before `usedBefore`. Reads a snapshot; deletion re-checks in `deleteUnreferencedBlob`.
   */
  async unreferencedBlobs(usedBefore: number, limit: number): Promise<string[]> {
    const rows = await this.db
      .selectFrom("blobs")
      .select("digest")
      .where("last_used_at", "<", usedBefore)
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom("manifest_references")
              .select("child")
              .whereRef("manifest_references.child", "=", "blobs.digest"),
          ),
        ),
      )
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(selectFrom("manifests").select("digest").whereRef("manifests.digest", "=", "blobs.digest")),
        ),
      )
      .limit(limit)
      .execute();
    return rows.map((r) => r.digest);
  }

  /**
   * Deletes a blob's record and links if, inside this transaction, it is still
   * unreferenced and unused since `usedBefore`. Returns true when the caller may remove
   * the bytes. Because manifest writes check their references in a transaction too,
   * either the manifest sees the blob gone (and reports it unknown) or GC sees the reference.
   */
  async deleteUnreferencedBlob(digest: string, usedBefore: number): Promise<boolean> {
    return this.tx(async (s) => {
      const row = await s.db
        .selectFrom("blobs")
        .select("digest")
        .where("digest", "=", digest)
        .where("last_used_at", "<", usedBefore)
        .where(({ not, exists, selectFrom }) =>
          not(exists(selectFrom("manifest_references").select("child").where("child", "=", digest))),
        )
        .where(({ not, exists, selectFrom }) =>
          not(exists(selectFrom("manifests").select("digest").where("digest", "=", digest))),
        )
        .executeTakeFirst();
      if (!row) return false;
      await s.db.deleteFrom("repository_blobs").where("digest", "=", digest).execute();
      await s.db.deleteFrom("blobs").where("digest", "=", digest).execute();
      return true;
    });
  }

  async hasBlobRecord(digest: string): Promise<boolean> {
    return (await this.blob(digest)) !== null;
  }

  /** A cheap consistency probe used by health checks. */
  async ping(): Promise<void> {
    await sql`select 1`.execute(this.db);
  }
}

function toManifest(row: Database["manifests"]): ManifestRecord {
  return {
    repositoryId: row.repository_id,
    digest: row.digest,
    mediaType: row.media_type,
    artifactType: row.artifact_type,
    subject: row.subject,
    size: Number(row.size),
    annotations: row.annotations ? (JSON.parse(row.annotations) as Record<string, string>) : null,
    createdAt: Number(row.created_at),
  };
}

function dedupe(refs: ManifestReference[]): ManifestReference[] {
  const seen = new Map<string, ManifestReference>();
  for (const r of refs) if (!seen.has(r.digest)) seen.set(r.digest, r);
  return [...seen.values()];
}

export type { Db };
