import type { Handle } from "./handle.js";
import { notReserved, type Page } from "./registry-store.js";

/** A repository's lifecycle policy as stored (the text was validated before it was put). */
export interface StoredLifecyclePolicy {
  repositoryId: number;
  policyText: string;
  updatedAt: number;
  /** End of the last run that evaluated it, or null. */
  lastEvaluatedAt: number | null;
}

export type LifecyclePreviewStatus = "IN_PROGRESS" | "COMPLETE" | "FAILED";

export interface StoredLifecyclePreview {
  repositoryId: number;
  token: string;
  policyText: string;
  status: LifecyclePreviewStatus;
  error: string | null;
  createdAt: number;
  updatedAt: number;
}

export interface LifecyclePreviewResult {
  digest: string;
  tags: string[];
  pushedAt: number;
  rulePriority: number;
}

/** A manifest of a repository as lifecycle evaluation sees it (evaluate.ts's LifecycleImage). */
export interface LifecycleImageRow {
  digest: string;
  tags: string[];
  pushedAt: number;
  lastPulledAt: number | null;
  subject: string | null;
  children?: string[];
}

/**
 * Lifecycle policies, previews and their results (tables lifecycle_*, schema.ts), and the bulk
 * read a lifecycle evaluation needs: every manifest of a repository with its tags, subject and
 * index children, in three queries whatever the repository's size.
 */
export class LifecycleStore {
  constructor(private readonly h: Handle) {}

  async policy(repositoryId: number): Promise<StoredLifecyclePolicy | null> {
    const r = await this.h.db
      .selectFrom("lifecycle_policies")
      .selectAll()
      .where("repository_id", "=", repositoryId)
      .executeTakeFirst();
    return r ? toPolicy(r) : null;
  }

  /** Puts (creates or replaces) a policy; `lastEvaluatedAt` survives a replacement. */
  async putPolicy(repositoryId: number, policyText: string): Promise<void> {
    const now = this.h.now();
    await this.h.db
      .insertInto("lifecycle_policies")
      .values({
        repository_id: repositoryId,
        policy_text: policyText,
        updated_at: now,
        last_evaluated_at: null,
      })
      .onConflict((oc) =>
        oc.column("repository_id").doUpdateSet({ policy_text: policyText, updated_at: now }),
      )
      .execute();
  }

  /** Deletes a policy; returns what was deleted, or null when there was none. */
  async deletePolicy(repositoryId: number): Promise<StoredLifecyclePolicy | null> {
    return this.h.tx(async (t) => {
      const found = await new LifecycleStore(t).policy(repositoryId);
      if (!found) return null;
      await t.db.deleteFrom("lifecycle_policies").where("repository_id", "=", repositoryId).execute();
      return found;
    });
  }

  /** Records a run's evaluation of the policy (`at`), unless the policy changed or went since `policyText`. */
  async markEvaluated(repositoryId: number, policyText: string, at: number): Promise<boolean> {
    const r = await this.h.db
      .updateTable("lifecycle_policies")
      .set({ last_evaluated_at: at })
      .where("repository_id", "=", repositoryId)
      .where("policy_text", "=", policyText)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  /** Repositories with a policy, in name order after `after` (Drydock's reserved ones left out). */
  async policies(
    after: string | undefined,
    limit: number,
  ): Promise<Page<StoredLifecyclePolicy & { repository: string }>> {
    let q = this.h.db
      .selectFrom("lifecycle_policies as p")
      .innerJoin("repositories", "repositories.id", "p.repository_id")
      .select([
        "repositories.name as repository",
        "p.repository_id",
        "p.policy_text",
        "p.updated_at",
        "p.last_evaluated_at",
      ])
      .where(notReserved)
      .orderBy("repositories.name")
      .limit(limit + 1);
    if (after !== undefined) q = q.where("repositories.name", ">", after);
    const rows = await q.execute();
    return {
      items: rows.slice(0, limit).map((r) => ({ repository: r.repository, ...toPolicy(r) })),
      more: rows.length > limit,
    };
  }

  // --- previews ---------------------------------------------------------------------------

  async preview(repositoryId: number): Promise<StoredLifecyclePreview | null> {
    const r = await this.h.db
      .selectFrom("lifecycle_previews")
      .selectAll()
      .where("repository_id", "=", repositoryId)
      .executeTakeFirst();
    return r
      ? {
          repositoryId: r.repository_id,
          token: r.token,
          policyText: r.policy_text,
          status: r.status as LifecyclePreviewStatus,
          error: r.error,
          createdAt: Number(r.created_at),
          updatedAt: Number(r.updated_at),
        }
      : null;
  }

  /**
   * Starts a preview (IN_PROGRESS, its results cleared) unless one is in progress and was last
   * touched at or after `staleBefore` (a preview whose job died is taken over). Atomic across
   * processes: of two starts racing, one wins. Returns whether it started.
   */
  async startPreview(
    repositoryId: number,
    token: string,
    policyText: string,
    staleBefore: number,
  ): Promise<boolean> {
    return this.h.tx(async (t) => {
      const now = t.now();
      const row = {
        token,
        policy_text: policyText,
        status: "IN_PROGRESS",
        error: null,
        created_at: now,
        updated_at: now,
      };
      const r = await t.db
        .insertInto("lifecycle_previews")
        .values({ repository_id: repositoryId, ...row })
        .onConflict((oc) =>
          oc
            .column("repository_id")
            .doUpdateSet(row)
            .where((eb) =>
              eb.or([
                eb("lifecycle_previews.status", "<>", "IN_PROGRESS"),
                eb("lifecycle_previews.updated_at", "<", staleBefore),
              ]),
            ),
        )
        .executeTakeFirst();
      if (Number(r.numInsertedOrUpdatedRows ?? 0) === 0) return false;
      await t.db.deleteFrom("lifecycle_preview_results").where("repository_id", "=", repositoryId).execute();
      return true;
    });
  }

  /**
   * Ends the preview named by `token` with its results (COMPLETE) or an error (FAILED); false
   * (nothing written) when another preview replaced it or it already ended.
   */
  async finishPreview(
    repositoryId: number,
    token: string,
    outcome: { results: readonly LifecyclePreviewResult[] } | { error: string },
  ): Promise<boolean> {
    return this.h.tx(async (t) => {
      const done = "results" in outcome;
      const r = await t.db
        .updateTable("lifecycle_previews")
        .set({
          status: done ? "COMPLETE" : "FAILED",
          error: done ? null : outcome.error,
          updated_at: t.now(),
        })
        .where("repository_id", "=", repositoryId)
        .where("token", "=", token)
        .where("status", "=", "IN_PROGRESS")
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) === 0) return false;
      if (!done) return true;
      // Big previews in chunks (SQLite's bound-parameter limit; PostgreSQL's 65535).
      const rows = outcome.results.map((x) => ({
        repository_id: repositoryId,
        digest: x.digest,
        image_tags: JSON.stringify(x.tags),
        tagged: x.tags.length ? 1 : 0,
        pushed_at: x.pushedAt,
        rule_priority: x.rulePriority,
      }));
      for (let i = 0; i < rows.length; i += 1000)
        await t.db
          .insertInto("lifecycle_preview_results")
          .values(rows.slice(i, i + 1000))
          .onConflict((oc) => oc.columns(["repository_id", "digest"]).doNothing())
          .execute();
      return true;
    });
  }

  /** Results of the repository's preview in digest order after `after`, optionally narrowed. */
  async previewResults(
    repositoryId: number,
    o: {
      after?: string;
      limit: number;
      tagStatus?: "TAGGED" | "UNTAGGED" | "ANY";
      digests?: readonly string[];
    },
  ): Promise<Page<LifecyclePreviewResult>> {
    let q = this.h.db
      .selectFrom("lifecycle_preview_results")
      .select(["digest", "image_tags", "pushed_at", "rule_priority"])
      .where("repository_id", "=", repositoryId)
      .orderBy("digest")
      .limit(o.limit + 1);
    if (o.after !== undefined) q = q.where("digest", ">", o.after);
    if (o.tagStatus === "TAGGED") q = q.where("tagged", "=", 1);
    if (o.tagStatus === "UNTAGGED") q = q.where("tagged", "=", 0);
    if (o.digests !== undefined) {
      if (!o.digests.length) return { items: [], more: false };
      q = q.where("digest", "in", [...o.digests]);
    }
    const rows = await q.execute();
    return {
      items: rows.slice(0, o.limit).map((r) => ({
        digest: r.digest,
        tags: JSON.parse(r.image_tags) as string[],
        pushedAt: Number(r.pushed_at),
        rulePriority: Number(r.rule_priority),
      })),
      more: rows.length > o.limit,
    };
  }

  async countPreviewResults(repositoryId: number): Promise<number> {
    const r = await this.h.db
      .selectFrom("lifecycle_preview_results")
      .select((eb) => eb.fn.countAll<number>().as("n"))
      .where("repository_id", "=", repositoryId)
      .executeTakeFirst();
    return Number(r?.n ?? 0);
  }

  // --- what an evaluation reads -------------------------------------------------------------

  /**
   * Every manifest of a repository with its tags, subject and (for an index) the manifests it
   * lists: three queries, each a scan of the repository's rows in an index.
   */
  async images(repositoryId: number): Promise<LifecycleImageRow[]> {
    const manifests = await this.h.db
      .selectFrom("manifests")
      .select(["digest", "created_at", "last_pulled_at", "subject"])
      .where("repository_id", "=", repositoryId)
      .execute();
    const tags = await this.h.db
      .selectFrom("tags")
      .select(["name", "digest"])
      .where("repository_id", "=", repositoryId)
      .orderBy("name")
      .execute();
    const children = await this.h.db
      .selectFrom("manifest_references")
      .select(["parent", "child"])
      .where("repository_id", "=", repositoryId)
      .where("kind", "=", "manifest")
      .execute();
    const out = new Map<string, LifecycleImageRow>();
    for (const m of manifests)
      out.set(m.digest, {
        digest: m.digest,
        tags: [],
        pushedAt: Number(m.created_at),
        lastPulledAt: m.last_pulled_at === null ? null : Number(m.last_pulled_at),
        subject: m.subject,
      });
    for (const t of tags) out.get(t.digest)?.tags.push(t.name);
    for (const c of children) {
      const parent = out.get(c.parent);
      if (parent) (parent.children ??= []).push(c.child);
    }
    return [...out.values()];
  }
}

function toPolicy(r: {
  repository_id: number;
  policy_text: string;
  updated_at: number;
  last_evaluated_at: number | null;
}): StoredLifecyclePolicy {
  return {
    repositoryId: r.repository_id,
    policyText: r.policy_text,
    updatedAt: Number(r.updated_at),
    lastEvaluatedAt: r.last_evaluated_at === null ? null : Number(r.last_evaluated_at),
  };
}
