import type { Selectable } from "kysely";
import type { Handle } from "./handle.js";
import type { Database } from "./schema.js";

/** A VEX document applied (or refused) for one image (table vex_documents). */
export interface StoredVex {
  repositoryId: number;
  referrerDigest: string;
  /** The image whose findings it speaks for: the subject, or a platform manifest of a subject index. */
  imageDigest: string;
  subjectDigest: string;
  format: string;
  status: "APPLIED" | "INVALID";
  error: string | null;
  /** The normalized statements' JSON (src/findings/vex/types.ts VexStatement[]); null when INVALID. */
  statements: string | null;
  createdAt: number;
}

const toStored = (r: Selectable<Database["vex_documents"]>): StoredVex => ({
  repositoryId: Number(r.repository_id),
  referrerDigest: r.referrer_digest,
  imageDigest: r.image_digest,
  subjectDigest: r.subject_digest,
  format: r.format,
  status: r.status as StoredVex["status"],
  error: r.error,
  statements: r.statements,
  createdAt: Number(r.created_at),
});

/** How many images one query asks about (SQLite's and PostgreSQL's parameter limits are far above). */
const IMAGES_PER_QUERY = 400;

/**
 * The VEX documents pushed as referrers (table vex_documents). The store keeps rows; what they
 * do to findings is src/findings/vex-referrers.ts and src/findings/suppression.ts.
 */
export class VexStore {
  constructor(private readonly h: Handle) {}

  /** Stores a document's rows (one per image it speaks for), replacing the referrer's earlier ones. */
  async put(rows: readonly StoredVex[]): Promise<void> {
    if (!rows.length) return;
    await this.h.tx(async (t) => {
      for (const key of new Set(rows.map((r) => `${r.repositoryId}\n${r.referrerDigest}`))) {
        const [repo, referrer] = key.split("\n") as [string, string];
        await t.db
          .deleteFrom("vex_documents")
          .where("repository_id", "=", Number(repo))
          .where("referrer_digest", "=", referrer)
          .execute();
      }
      await t.db
        .insertInto("vex_documents")
        .values(
          rows.map((r) => ({
            repository_id: r.repositoryId,
            referrer_digest: r.referrerDigest,
            image_digest: r.imageDigest,
            subject_digest: r.subjectDigest,
            format: r.format,
            status: r.status,
            error: r.error,
            statements: r.statements,
            created_at: r.createdAt,
          })),
        )
        .execute();
    });
  }

  /** The rows of a referrer (empty: it is not a VEX document Drydock stored). */
  async ofReferrer(repositoryId: number, referrerDigest: string): Promise<StoredVex[]> {
    const rows = await this.h.db
      .selectFrom("vex_documents")
      .selectAll()
      .where("repository_id", "=", repositoryId)
      .where("referrer_digest", "=", referrerDigest)
      .orderBy("image_digest")
      .execute();
    return rows.map(toStored);
  }

  /** Deletes a referrer's rows; returns them (the images whose findings must be decided again). */
  async deleteReferrer(repositoryId: number, referrerDigest: string): Promise<StoredVex[]> {
    return this.h.tx(async (t) => {
      const rows = await new VexStore(t).ofReferrer(repositoryId, referrerDigest);
      if (rows.length)
        await t.db
          .deleteFrom("vex_documents")
          .where("repository_id", "=", repositoryId)
          .where("referrer_digest", "=", referrerDigest)
          .execute();
      return rows;
    });
  }

  /**
   * The APPLIED documents of each image, by `repositoryId@digest`, oldest first (created time,
   * then referrer digest): the order in which equal-time statements are decided.
   */
  async appliedFor(
    images: readonly { repositoryId: number; digest: string }[],
  ): Promise<Map<string, StoredVex[]>> {
    const out = new Map<string, StoredVex[]>();
    const byRepo = new Map<number, string[]>();
    for (const i of images) {
      const list = byRepo.get(i.repositoryId) ?? [];
      list.push(i.digest);
      byRepo.set(i.repositoryId, list);
    }
    for (const [repo, digests] of byRepo)
      for (let k = 0; k < digests.length; k += IMAGES_PER_QUERY) {
        const rows = await this.h.db
          .selectFrom("vex_documents")
          .selectAll()
          .where("repository_id", "=", repo)
          .where("image_digest", "in", [...new Set(digests.slice(k, k + IMAGES_PER_QUERY))])
          .where("status", "=", "APPLIED")
          .orderBy("created_at")
          .orderBy("referrer_digest")
          .execute();
        for (const r of rows) {
          const s = toStored(r);
          const key = `${s.repositoryId}@${s.imageDigest}`;
          const list = out.get(key) ?? [];
          list.push(s);
          out.set(key, list);
        }
      }
    return out;
  }

  /** Every APPLIED document, oldest first (a re-evaluation of all findings reads them once). */
  async allApplied(): Promise<StoredVex[]> {
    const rows = await this.h.db
      .selectFrom("vex_documents")
      .selectAll()
      .where("status", "=", "APPLIED")
      .orderBy("created_at")
      .orderBy("referrer_digest")
      .execute();
    return rows.map(toStored);
  }

  /** Whether any document is applied at all (the common case, none, costs one indexed probe). */
  async anyApplied(): Promise<boolean> {
    const r = await this.h.db
      .selectFrom("vex_documents")
      .select("repository_id")
      .where("status", "=", "APPLIED")
      .limit(1)
      .executeTakeFirst();
    return r !== undefined;
  }

  /** Documents of a repository (or all), for people: by repository, subject, referrer, image. */
  async list(o: { repositoryId?: number; subjectDigest?: string; limit: number }): Promise<StoredVex[]> {
    let q = this.h.db
      .selectFrom("vex_documents")
      .selectAll()
      .orderBy("repository_id")
      .orderBy("subject_digest")
      .orderBy("referrer_digest")
      .orderBy("image_digest")
      .limit(o.limit);
    if (o.repositoryId !== undefined) q = q.where("repository_id", "=", o.repositoryId);
    if (o.subjectDigest !== undefined) q = q.where("subject_digest", "=", o.subjectDigest);
    return (await q.execute()).map(toStored);
  }
}
