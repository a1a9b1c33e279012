import type { ExpressionBuilder } from "kysely";
import type { Handle } from "./handle.js";
import { closeIntervalsOf } from "./history-store.js";
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
  /** The last recorded pull, or null. */
  lastPulledAt: number | null;
  /** The last push of this digest (the rescan window's push date; createdAt is the first). */
  lastPushedAt: number;
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

/** An image (manifest or index) as the APIs list it: with its tags and sizes. */
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
  /** The last recorded pull, or null. */
  lastPulledAt: number | null;
  tags: string[];
}

export type TagStatus = "TAGGED" | "UNTAGGED" | "ANY";

/**
 * The registry's metadata: repositories, blobs and their links, manifests with their
 * references, tags, upload sessions, and what garbage collection needs. Atomic operations
 * run in one transaction (joining the caller's when there is one). Lists are paginated in
 * the database (keyset), so a repository of 100,000 images answers as fast as one of ten.
 */
export class RegistryStore {
  constructor(private readonly h: Handle) {}

  // --- repositories -----------------------------------------------------------------

  async repositoryId(name: string): Promise<number | null> {
    const row = await this.h.db
      .selectFrom("repositories")
      .select("id")
      .where("name", "=", name)
      .executeTakeFirst();
    return row?.id ?? null;
  }

  /**
   * Creates a repository; its id, or null when the name exists already (also when another
   * transaction created it concurrently: the insert then waits for that one and does nothing).
   */
  async insertRepository(name: string): Promise<number | null> {
    const r = await this.h.db
      .insertInto("repositories")
      .values({ name, created_at: this.h.now() })
      .onConflict((oc) => oc.column("name").doNothing())
      .executeTakeFirst();
    if (Number(r.numInsertedOrUpdatedRows ?? 0) === 0) return null;
    return this.repositoryId(name);
  }

  async ensureRepository(name: string): Promise<number> {
    const existing = await this.repositoryId(name);
    if (existing !== null) return existing;
    await this.h.db
      .insertInto("repositories")
      .values({ name, created_at: this.h.now() })
      .onConflict((oc) => oc.column("name").doNothing())
      .execute();
    const id = await this.repositoryId(name);
    if (id === null) throw new Error(`repository ${name} vanished while being created`);
    return id;
  }

  /**
   * Repository names in lexical order after `last`; names with no content are omitted, and so
   * are Drydock's reserved repositories (names starting with `_`, which clients cannot use).
   */
  async listRepositories(last: string | undefined, limit: number): Promise<Page<string>> {
    let q = this.h.db
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
      .where(notReserved)
      .orderBy("name")
      .limit(limit + 1);
    if (last !== undefined) q = q.where("name", ">", last);
    const rows = await q.execute();
    return { items: rows.slice(0, limit).map((r) => r.name), more: rows.length > limit };
  }

  async repositoryName(id: number): Promise<string | null> {
    const row = await this.h.db
      .selectFrom("repositories")
      .select("name")
      .where("id", "=", id)
      .executeTakeFirst();
    return row?.name ?? null;
  }

  /**
   * Serializes the manifest and tag writes of one repository until the transaction ends
   * (PostgreSQL: a row lock on the repository; SQLite has one writer at a time anyway), so
   * that a decision such as "this tag is immutable and already points elsewhere" holds when
   * the write commits, whatever the other nodes do. Call inside `tx`.
   */
  async lockRepository(id: number): Promise<void> {
    if (this.h.dialect !== "postgres") return;
    await this.h.db.selectFrom("repositories").select("id").where("id", "=", id).forUpdate().execute();
  }

  /** Removes a repository and everything in it (tables with a repository_id). */
  async deleteRepository(id: number): Promise<void> {
    await this.h.tx(async (t) => {
      // Its findings go; their history stays, closed as deleted.
      await closeIntervalsOf(t, { repositoryId: id }, t.now(), "deleted");
      for (const table of [
        "tags",
        "manifest_references",
        "manifests",
        "repository_blobs",
        "uploads",
        "findings",
        "image_segments",
        "image_inventories",
        "image_scans",
        "repository_settings",
        "lifecycle_policies",
        "lifecycle_previews",
        "lifecycle_preview_results",
        "image_finding_counts",
        "repository_finding_counts",
        "image_finding_totals",
        "repository_finding_totals",
      ] as const) {
        await t.db.deleteFrom(table).where("repository_id", "=", id).execute();
      }
      await t.db.deleteFrom("repositories").where("id", "=", id).execute();
    });
  }

  // --- blobs ------------------------------------------------------------------------

  /** Records a complete blob and links it to a repository. */
  async linkBlob(repositoryId: number, digest: string, size: number): Promise<void> {
    const now = this.h.now();
    await this.h.tx(async (t) => {
      await t.db
        .insertInto("blobs")
        .values({ digest, size, created_at: now, last_used_at: now })
        .onConflict((oc) => oc.column("digest").doUpdateSet({ last_used_at: now }))
        .execute();
      await t.db
        .insertInto("repository_blobs")
        .values({ repository_id: repositoryId, digest, created_at: now })
        .onConflict((oc) => oc.columns(["repository_id", "digest"]).doNothing())
        .execute();
    });
  }

  /** The blob's size when it is linked to the repository, else null. */
  async linkedBlob(repositoryId: number, digest: string): Promise<{ size: number } | null> {
    const row = await this.h.db
      .selectFrom("repository_blobs")
      .innerJoin("blobs", "blobs.digest", "repository_blobs.digest")
      .select("blobs.size")
      .where("repository_blobs.repository_id", "=", repositoryId)
      .where("repository_blobs.digest", "=", digest)
      .executeTakeFirst();
    return row ? { size: Number(row.size) } : null;
  }

  /**
   * A blob GET or HEAD's check in one statement (one round trip on PostgreSQL, per blob of a
   * pull): the repository's id, and the blob's size when it is linked there (else null);
   * null when there is no repository of that name.
   */
  async repositoryBlob(
    name: string,
    digest: string,
  ): Promise<{ repositoryId: number; size: number | null } | null> {
    const row = await this.h.db
      .selectFrom("repositories")
      .leftJoin("repository_blobs", (j) =>
        j
          .onRef("repository_blobs.repository_id", "=", "repositories.id")
          .on("repository_blobs.digest", "=", digest),
      )
      .leftJoin("blobs", "blobs.digest", "repository_blobs.digest")
      .select(["repositories.id", "blobs.size"])
      .where("repositories.name", "=", name)
      .executeTakeFirst();
    if (!row) return null;
    return { repositoryId: row.id, size: row.size === null ? null : Number(row.size) };
  }

  async blob(digest: string): Promise<{ size: number; lastUsedAt: number } | null> {
    const row = await this.h.db
      .selectFrom("blobs")
      .select(["size", "last_used_at"])
      .where("digest", "=", digest)
      .executeTakeFirst();
    return row ? { size: Number(row.size), lastUsedAt: Number(row.last_used_at) } : null;
  }

  /** Marks a blob as about to be used (GC grace period starts again). */
  async touchBlob(digest: string): Promise<void> {
    await this.h.db
      .updateTable("blobs")
      .set({ last_used_at: this.h.now() })
      .where("digest", "=", digest)
      .execute();
  }

  /**
   * Removes a blob link (as Distribution does, even while a manifest of the repository
   * references the blob: the manifest then fails to pull, and GC keeps the bytes while
   * any manifest anywhere references them). Returns false when there was no link.
   */
  async unlinkBlob(repositoryId: number, digest: string): Promise<boolean> {
    const r = await this.h.db
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
    const now = this.h.now();
    return this.h.tx(async (t) => {
      const missing: ManifestReference[] = [];
      for (const ref of m.references) {
        const found =
          ref.kind === "blob"
            ? await t.db
                .selectFrom("repository_blobs")
                .select("digest")
                .where("repository_id", "=", m.repositoryId)
                .where("digest", "=", ref.digest)
                .executeTakeFirst()
            : await t.db
                .selectFrom("manifests")
                .select("digest")
                .where("repository_id", "=", m.repositoryId)
                .where("digest", "=", ref.digest)
                .executeTakeFirst();
        if (!found) missing.push(ref);
      }
      if (missing.length) return { ok: false as const, missing };
      await t.db
        .insertInto("blobs")
        .values({ digest: m.digest, size: m.size, created_at: now, last_used_at: now })
        .onConflict((oc) => oc.column("digest").doUpdateSet({ last_used_at: now }))
        .execute();
      await t.db
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
          last_pulled_at: null,
          last_pushed_at: now,
        })
        // A push again of the same content is a push for the rescan window (ECR keeps imagePushedAt).
        .onConflict((oc) => oc.columns(["repository_id", "digest"]).doUpdateSet({ last_pushed_at: now }))
        .execute();
      // Pushing an index pushes its images again: clients skip the manifests the registry has.
      const children = m.references.filter((r) => r.kind === "manifest").map((r) => r.digest);
      if (children.length)
        await t.db
          .updateTable("manifests")
          .set({ last_pushed_at: now })
          .where("repository_id", "=", m.repositoryId)
          .where("digest", "in", children)
          .execute();
      for (const ref of dedupe(m.references)) {
        await t.db
          .insertInto("manifest_references")
          .values({ repository_id: m.repositoryId, parent: m.digest, child: ref.digest, kind: ref.kind })
          .onConflict((oc) => oc.columns(["repository_id", "parent", "child"]).doNothing())
          .execute();
      }
      if (m.tag !== undefined) {
        await t.db
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
    const row = await this.h.db
      .selectFrom("manifests")
      .selectAll()
      .where("repository_id", "=", repositoryId)
      .where("digest", "=", digest)
      .executeTakeFirst();
    return row ? toManifest(row) : null;
  }

  /** Records a pull of a manifest (ECR's lastRecordedPullTime). */
  async recordPull(repositoryId: number, digest: string, at: number): Promise<void> {
    await this.h.db
      .updateTable("manifests")
      .set({ last_pulled_at: at })
      .where("repository_id", "=", repositoryId)
      .where("digest", "=", digest)
      .execute();
  }

  async tag(repositoryId: number, name: string): Promise<string | null> {
    const row = await this.h.db
      .selectFrom("tags")
      .select("digest")
      .where("repository_id", "=", repositoryId)
      .where("name", "=", name)
      .executeTakeFirst();
    return row?.digest ?? null;
  }

  /** Tags in lexical order after `last`. */
  async listTags(repositoryId: number, last: string | undefined, limit: number): Promise<Page<string>> {
    let q = this.h.db
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
    const r = await this.h.db
      .deleteFrom("tags")
      .where("repository_id", "=", repositoryId)
      .where("name", "=", name)
      .executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  /** Deletes a manifest, the tags that point to it and its references. */
  async deleteManifest(repositoryId: number, digest: string): Promise<boolean> {
    return this.h.tx(async (t) => {
      const r = await t.db
        .deleteFrom("manifests")
        .where("repository_id", "=", repositoryId)
        .where("digest", "=", digest)
        .executeTakeFirst();
      if (Number(r.numDeletedRows) === 0) return false;
      await t.db
        .deleteFrom("tags")
        .where("repository_id", "=", repositoryId)
        .where("digest", "=", digest)
        .execute();
      await t.db
        .deleteFrom("manifest_references")
        .where("repository_id", "=", repositoryId)
        .where("parent", "=", digest)
        .execute();
      return true;
    });
  }

  /** Manifests whose `subject` is the given digest, optionally of one artifact type. */
  async referrers(repositoryId: number, subject: string, artifactType?: string): Promise<ManifestRecord[]> {
    let q = this.h.db
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
    const now = this.h.now();
    await this.h.db
      .insertInto("uploads")
      .values({
        id,
        repository_id: repositoryId,
        created_at: now,
        updated_at: now,
        lease_until: null,
        lease_token: null,
      })
      .execute();
  }

  async upload(id: string): Promise<{ repositoryId: number; createdAt: number } | null> {
    const row = await this.h.db.selectFrom("uploads").selectAll().where("id", "=", id).executeTakeFirst();
    return row ? { repositoryId: row.repository_id, createdAt: Number(row.created_at) } : null;
  }

  /**
   * Leases an upload session to one operation (`token`) for `ttlMs`, or renews the lease of
   * that token: "busy" while another token holds an unexpired lease, "unknown" without such a
   * session. One conditional update, so two nodes never hold a session at once.
   */
  async leaseUpload(id: string, token: string, ttlMs: number): Promise<"leased" | "busy" | "unknown"> {
    const now = this.h.now();
    const r = await this.h.db
      .updateTable("uploads")
      .set({ lease_token: token, lease_until: now + ttlMs })
      .where("id", "=", id)
      .where((eb) =>
        eb.or([eb("lease_until", "is", null), eb("lease_until", "<", now), eb("lease_token", "=", token)]),
      )
      .executeTakeFirst();
    if (Number(r.numUpdatedRows) === 1) return "leased";
    return (await this.upload(id)) ? "busy" : "unknown";
  }

  async releaseUpload(id: string, token: string): Promise<void> {
    await this.h.db
      .updateTable("uploads")
      .set({ lease_token: null, lease_until: null })
      .where("id", "=", id)
      .where("lease_token", "=", token)
      .execute();
  }

  async touchUpload(id: string): Promise<void> {
    await this.h.db.updateTable("uploads").set({ updated_at: this.h.now() }).where("id", "=", id).execute();
  }

  async deleteUpload(id: string): Promise<void> {
    await this.h.db.deleteFrom("uploads").where("id", "=", id).execute();
  }

  async countUploads(): Promise<number> {
    const row = await this.h.db
      .selectFrom("uploads")
      .select((eb) => eb.fn.countAll<number>().as("n"))
      .executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  async staleUploads(olderThan: number): Promise<string[]> {
    const rows = await this.h.db
      .selectFrom("uploads")
      .select("id")
      .where("updated_at", "<", olderThan)
      .execute();
    return rows.map((r) => r.id);
  }

  /** The tags of a manifest, in name order. */
  async tagsOf(repositoryId: number, digest: string): Promise<string[]> {
    const rows = await this.h.db
      .selectFrom("tags")
      .select("name")
      .where("repository_id", "=", repositoryId)
      .where("digest", "=", digest)
      .orderBy("name")
      .execute();
    return rows.map((r) => r.name);
  }

  // --- images (manifests with tags and sizes), paginated ----------------------------

  /** Images of a repository in digest order after `after`, filtered by tag status. */
  async images(
    repositoryId: number,
    o: { after?: string; limit: number; tagStatus?: TagStatus },
  ): Promise<Page<ImageRecord>> {
    let q = this.h.db
      .selectFrom("manifests")
      .selectAll()
      .where("repository_id", "=", repositoryId)
      .orderBy("digest")
      .limit(o.limit + 1);
    if (o.after !== undefined) q = q.where("digest", ">", o.after);
    if (o.tagStatus === "TAGGED" || o.tagStatus === "UNTAGGED") {
      const wantTagged = o.tagStatus === "TAGGED";
      q = q.where((eb) => {
        const tagged = eb.exists(
          eb
            .selectFrom("tags")
            .select("tags.name")
            .whereRef("tags.repository_id", "=", "manifests.repository_id")
            .whereRef("tags.digest", "=", "manifests.digest"),
        );
        return wantTagged ? tagged : eb.not(tagged);
      });
    }
    const rows = await q.execute();
    const items = await this.withTagsAndSizes(repositoryId, rows.slice(0, o.limit));
    return { items, more: rows.length > o.limit };
  }

  /**
   * Image ids of a repository, one per tag (an untagged image is its digest alone), in
   * (digest, tag) order after `after`: what ListImages pages over.
   */
  async imageIds(
    repositoryId: number,
    o: { after?: { digest: string; tag: string }; limit: number; tagStatus?: TagStatus },
  ): Promise<Page<{ digest: string; tag: string | null }>> {
    let q = this.h.db
      .selectFrom("manifests")
      .leftJoin("tags", (j) =>
        j
          .onRef("tags.repository_id", "=", "manifests.repository_id")
          .onRef("tags.digest", "=", "manifests.digest"),
      )
      .select(["manifests.digest as digest", "tags.name as tag"])
      .where("manifests.repository_id", "=", repositoryId)
      .orderBy("manifests.digest")
      .orderBy("tags.name")
      .limit(o.limit + 1);
    if (o.tagStatus === "TAGGED") q = q.where("tags.name", "is not", null);
    if (o.tagStatus === "UNTAGGED") q = q.where("tags.name", "is", null);
    if (o.after !== undefined) {
      const a = o.after;
      // An untagged image sorts as tag "" (NULL is first in both dialects' ascending order here
      // because a digest has either tags or NULL, never both).
      q = q.where((eb) =>
        eb.or([
          eb("manifests.digest", ">", a.digest),
          eb.and([eb("manifests.digest", "=", a.digest), eb("tags.name", ">", a.tag)]),
        ]),
      );
    }
    const rows = await q.execute();
    return {
      items: rows.slice(0, o.limit).map((r) => ({ digest: r.digest, tag: r.tag ?? null })),
      more: rows.length > o.limit,
    };
  }

  /** The image a digest or a tag names (both: they must agree), or null. */
  async findImage(repositoryId: number, id: { digest?: string; tag?: string }): Promise<ImageRecord | null> {
    let digest = id.digest;
    if (digest === undefined && id.tag !== undefined)
      digest = (await this.tag(repositoryId, id.tag)) ?? undefined;
    if (digest === undefined) return null;
    const row = await this.h.db
      .selectFrom("manifests")
      .selectAll()
      .where("repository_id", "=", repositoryId)
      .where("digest", "=", digest)
      .executeTakeFirst();
    if (!row) return null;
    const [img] = await this.withTagsAndSizes(repositoryId, [row]);
    if (id.tag !== undefined && !img!.tags.includes(id.tag)) return null;
    return img!;
  }

  /** The images of these digests with their tags and sizes, in the order given (absent ones skipped). */
  async imagesByDigest(repositoryId: number, digests: readonly string[]): Promise<ImageRecord[]> {
    if (!digests.length) return [];
    const rows = await this.h.db
      .selectFrom("manifests")
      .selectAll()
      .where("repository_id", "=", repositoryId)
      .where("digest", "in", [...digests])
      .execute();
    const byDigest = new Map(
      (await this.withTagsAndSizes(repositoryId, rows)).map((i) => [i.digest, i] as const),
    );
    return digests.flatMap((d) => byDigest.get(d) ?? []);
  }

  /** Number of manifests in a repository. */
  async countImages(repositoryId: number): Promise<number> {
    const row = await this.h.db
      .selectFrom("manifests")
      .select((eb) => eb.fn.countAll<number>().as("n"))
      .where("repository_id", "=", repositoryId)
      .executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  /** Tags and sizes of a page of manifests: three indexed queries for the page, whatever its size. */
  private async withTagsAndSizes(
    repositoryId: number,
    rows: Database["manifests"][],
  ): Promise<ImageRecord[]> {
    if (!rows.length) return [];
    const digests = rows.map((r) => r.digest);
    const tags = await this.h.db
      .selectFrom("tags")
      .select(["name", "digest"])
      .where("repository_id", "=", repositoryId)
      .where("digest", "in", digests)
      .orderBy("name")
      .execute();
    const refs = await this.h.db
      .selectFrom("manifest_references")
      .select(["parent", "child", "kind"])
      .where("repository_id", "=", repositoryId)
      .where("parent", "in", digests)
      .execute();
    const children = [...new Set(refs.filter((r) => r.kind === "manifest").map((r) => r.child))];
    const childRefs = children.length
      ? await this.h.db
          .selectFrom("manifest_references")
          .select(["parent", "child", "kind"])
          .where("repository_id", "=", repositoryId)
          .where("parent", "in", children)
          .where("kind", "=", "blob")
          .execute()
      : [];
    const blobDigests = [
      ...new Set([...refs, ...childRefs].filter((r) => r.kind === "blob").map((r) => r.child)),
    ];
    const sizes = new Map<string, number>();
    for (let i = 0; i < blobDigests.length; i += 500) {
      const part = blobDigests.slice(i, i + 500);
      for (const b of await this.h.db
        .selectFrom("blobs")
        .select(["digest", "size"])
        .where("digest", "in", part)
        .execute())
        sizes.set(b.digest, Number(b.size));
    }
    const blobSum = new Map<string, number>();
    const kids = new Map<string, string[]>();
    for (const r of [...refs, ...childRefs]) {
      if (r.kind === "blob") blobSum.set(r.parent, (blobSum.get(r.parent) ?? 0) + (sizes.get(r.child) ?? 0));
      else kids.set(r.parent, [...(kids.get(r.parent) ?? []), r.child]);
    }
    const tagsOf = new Map<string, string[]>();
    for (const t of tags) tagsOf.set(t.digest, [...(tagsOf.get(t.digest) ?? []), t.name]);
    return rows.map((m) => {
      const k = kids.get(m.digest);
      return {
        digest: m.digest,
        mediaType: m.media_type,
        artifactType: m.artifact_type,
        subject: m.subject,
        manifestSize: Number(m.size),
        imageSize: k?.length
          ? Math.max(0, ...k.map((c) => blobSum.get(c) ?? 0))
          : (blobSum.get(m.digest) ?? 0),
        pushedAt: Number(m.created_at),
        lastPulledAt: m.last_pulled_at === null ? null : Number(m.last_pulled_at),
        tags: tagsOf.get(m.digest) ?? [],
      };
    });
  }

  // --- garbage collection -----------------------------------------------------------

  /**
   * Blobs that no manifest references (and that are not manifests themselves), last used
   * before `usedBefore`. Reads a snapshot; deletion re-checks in `deleteUnreferencedBlob`.
   */
  async unreferencedBlobs(usedBefore: number, limit: number): Promise<string[]> {
    const rows = await this.h.db
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
    return this.h.tx(async (t) => {
      const row = await t.db
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
      await t.db.deleteFrom("repository_blobs").where("digest", "=", digest).execute();
      await t.db.deleteFrom("blobs").where("digest", "=", digest).execute();
      return true;
    });
  }

  async hasBlobRecord(digest: string): Promise<boolean> {
    return (await this.blob(digest)) !== null;
  }
}

/** Not one of Drydock's reserved repositories (`_drydock/…`: a first character clients cannot use). */
export const notReserved = (eb: ExpressionBuilder<Database, "repositories">) =>
  eb(eb.fn<string>("substr", [eb.ref("repositories.name"), eb.val(1), eb.val(1)]), "<>", "_");

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
    lastPulledAt: row.last_pulled_at === null ? null : Number(row.last_pulled_at),
    lastPushedAt: Number(row.last_pushed_at ?? row.created_at),
  };
}

function dedupe(refs: ManifestReference[]): ManifestReference[] {
  const seen = new Map<string, ManifestReference>();
  for (const r of refs) if (!seen.has(r.digest)) seen.set(r.digest, r);
  return [...seen.values()];
}
