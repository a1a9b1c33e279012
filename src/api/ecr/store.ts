import type { Kysely } from "kysely";
import type { Database } from "../../storage/meta/schema.js";

/**
 * The ECR view of the registry's metadata: repositories with their ECR settings (table
 * ecr_repository_settings, migration 0002_ecr; no row = ECR defaults, as for a repository
 * created by a push) and images (manifests with their tags and sizes). Reads the shared
 * tables directly (same Kysely queries on SQLite and PostgreSQL); writes only its own table.
 */

export type TagMutability = "MUTABLE" | "IMMUTABLE" | "IMMUTABLE_WITH_EXCLUSION" | "MUTABLE_WITH_EXCLUSION";

export interface RepositoryRecord {
  id: number;
  name: string;
  createdAt: number;
  scanOnPush: boolean;
  imageTagMutability: TagMutability;
  tagMutabilityExclusions: { filterType: "WILDCARD"; filter: string }[] | null;
  encryption: { encryptionType: string; kmsKey?: string } | null;
  tags: { Key: string; Value: string }[] | null;
}

export interface SettingsUpdate {
  scanOnPush?: boolean;
  imageTagMutability?: TagMutability;
  tagMutabilityExclusions?: RepositoryRecord["tagMutabilityExclusions"];
  encryption?: RepositoryRecord["encryption"];
  tags?: RepositoryRecord["tags"];
}

export interface ImageRecord {
  digest: string;
  mediaType: string;
  artifactType: string | null;
  subject: string | null;
  /** Manifest size in bytes. */
  manifestSize: number;
  /** Sum of the config and layer sizes (image), or the largest child's (index). */
  imageSize: number;
  pushedAt: number;
  tags: string[];
}

const json = <T>(s: string | null): T | null => (s === null ? null : (JSON.parse(s) as T));

export class EcrStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly now: () => number = Date.now,
  ) {}

  private base() {
    return this.db
      .selectFrom("repositories")
      .leftJoin("ecr_repository_settings as s", "s.repository_id", "repositories.id")
      .select([
        "repositories.id",
        "repositories.name",
        "repositories.created_at",
        "s.scan_on_push",
        "s.image_tag_mutability",
        "s.tag_mutability_exclusions",
        "s.encryption",
        "s.tags",
      ]);
  }

  private static toRecord(r: {
    id: number;
    name: string;
    created_at: number;
    scan_on_push: number | null;
    image_tag_mutability: string | null;
    tag_mutability_exclusions: string | null;
    encryption: string | null;
    tags: string | null;
  }): RepositoryRecord {
    return {
      id: r.id,
      name: r.name,
      createdAt: Number(r.created_at),
      scanOnPush: Number(r.scan_on_push ?? 0) === 1,
      imageTagMutability: (r.image_tag_mutability ?? "MUTABLE") as TagMutability,
      tagMutabilityExclusions: json(r.tag_mutability_exclusions),
      encryption: json(r.encryption),
      tags: json(r.tags),
    };
  }

  async repository(name: string): Promise<RepositoryRecord | null> {
    const row = await this.base().where("repositories.name", "=", name).executeTakeFirst();
    return row ? EcrStore.toRecord(row) : null;
  }

  /** Repositories in name order after `after`, at most `limit` (plus whether more follow). */
  async repositories(
    after: string | undefined,
    limit: number,
  ): Promise<{ items: RepositoryRecord[]; more: boolean }> {
    let q = this.base()
      .orderBy("repositories.name")
      .limit(limit + 1);
    if (after !== undefined) q = q.where("repositories.name", ">", after);
    const rows = await q.execute();
    return { items: rows.slice(0, limit).map((r) => EcrStore.toRecord(r)), more: rows.length > limit };
  }

  /** Creates the repository row and its settings; false when the name exists. */
  async createRepository(name: string, settings: SettingsUpdate): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      const existing = await trx
        .selectFrom("repositories")
        .select("id")
        .where("name", "=", name)
        .executeTakeFirst();
      if (existing) return false;
      const now = this.now();
      await trx.insertInto("repositories").values({ name, created_at: now }).execute();
      const row = await trx
        .selectFrom("repositories")
        .select("id")
        .where("name", "=", name)
        .executeTakeFirstOrThrow();
      await new EcrStore(trx as unknown as Kysely<Database>, this.now).writeSettings(row.id, settings);
      return true;
    });
  }

  /** Updates the given settings of a repository (others keep their value or default). */
  async updateSettings(repositoryId: number, update: SettingsUpdate): Promise<void> {
    await this.writeSettings(repositoryId, update);
  }

  private async writeSettings(repositoryId: number, u: SettingsUpdate): Promise<void> {
    const set: Partial<Database["ecr_repository_settings"]> = { updated_at: this.now() };
    if (u.scanOnPush !== undefined) set.scan_on_push = u.scanOnPush ? 1 : 0;
    if (u.imageTagMutability !== undefined) set.image_tag_mutability = u.imageTagMutability;
    if (u.tagMutabilityExclusions !== undefined)
      set.tag_mutability_exclusions = u.tagMutabilityExclusions
        ? JSON.stringify(u.tagMutabilityExclusions)
        : null;
    if (u.encryption !== undefined) set.encryption = u.encryption ? JSON.stringify(u.encryption) : null;
    if (u.tags !== undefined) set.tags = u.tags ? JSON.stringify(u.tags) : null;
    await this.db
      .insertInto("ecr_repository_settings")
      .values({
        repository_id: repositoryId,
        scan_on_push: set.scan_on_push ?? 0,
        image_tag_mutability: set.image_tag_mutability ?? "MUTABLE",
        tag_mutability_exclusions: set.tag_mutability_exclusions ?? null,
        encryption: set.encryption ?? null,
        tags: set.tags ?? null,
        updated_at: set.updated_at!,
      })
      .onConflict((oc) => oc.column("repository_id").doUpdateSet(set))
      .execute();
  }

  /** Every manifest of a repository with its tags and sizes, in digest order. */
  async images(repositoryId: number): Promise<ImageRecord[]> {
    const manifests = await this.db
      .selectFrom("manifests")
      .select(["digest", "media_type", "artifact_type", "subject", "size", "created_at"])
      .where("repository_id", "=", repositoryId)
      .orderBy("digest")
      .execute();
    const tags = await this.db
      .selectFrom("tags")
      .select(["name", "digest"])
      .where("repository_id", "=", repositoryId)
      .orderBy("name")
      .execute();
    const refs = await this.db
      .selectFrom("manifest_references")
      .leftJoin("blobs", "blobs.digest", "manifest_references.child")
      .select([
        "manifest_references.parent",
        "manifest_references.child",
        "manifest_references.kind",
        "blobs.size",
      ])
      .where("manifest_references.repository_id", "=", repositoryId)
      .execute();
    const tagsOf = new Map<string, string[]>();
    for (const t of tags) tagsOf.set(t.digest, [...(tagsOf.get(t.digest) ?? []), t.name]);
    const blobSum = new Map<string, number>();
    const children = new Map<string, string[]>();
    for (const r of refs) {
      if (r.kind === "blob") blobSum.set(r.parent, (blobSum.get(r.parent) ?? 0) + Number(r.size ?? 0));
      else children.set(r.parent, [...(children.get(r.parent) ?? []), r.child]);
    }
    return manifests.map((m) => {
      const kids = children.get(m.digest);
      const imageSize = kids?.length
        ? Math.max(0, ...kids.map((k) => blobSum.get(k) ?? 0))
        : (blobSum.get(m.digest) ?? 0);
      return {
        digest: m.digest,
        mediaType: m.media_type,
        artifactType: m.artifact_type,
        subject: m.subject,
        manifestSize: Number(m.size),
        imageSize,
        pushedAt: Number(m.created_at),
        tags: tagsOf.get(m.digest) ?? [],
      };
    });
  }

  /** The repository-level scan-on-push flag (false for unknown repositories). */
  async scanOnPush(name: string): Promise<boolean> {
    return (await this.repository(name))?.scanOnPush ?? false;
  }
}
