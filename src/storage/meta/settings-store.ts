import { sql, type RawBuilder } from "kysely";
import type { Handle } from "./handle.js";
import type { Database } from "./schema.js";
import { notReserved, type Page } from "./registry-store.js";

export type TagMutability = "MUTABLE" | "IMMUTABLE" | "IMMUTABLE_WITH_EXCLUSION" | "MUTABLE_WITH_EXCLUSION";

/** A repository with its settings (the defaults when none were ever written). */
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

const json = <T>(s: string | null): T | null => (s === null ? null : (JSON.parse(s) as T));

/**
 * Settings: per repository (table repository_settings; no row = the defaults, as for a
 * repository created by a push) and registry-wide by key (table scan_settings).
 */
export class SettingsStore {
  constructor(private readonly h: Handle) {}

  private base() {
    return this.h.db
      .selectFrom("repositories")
      .leftJoin("repository_settings as s", "s.repository_id", "repositories.id")
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
    return row ? SettingsStore.toRecord(row) : null;
  }

  async repositoryById(id: number): Promise<RepositoryRecord | null> {
    const row = await this.base().where("repositories.id", "=", id).executeTakeFirst();
    return row ? SettingsStore.toRecord(row) : null;
  }

  /** Repositories in name order after `after`, Drydock's reserved ones (`_drydock/…`) left out. */
  async repositories(after: string | undefined, limit: number): Promise<Page<RepositoryRecord>> {
    let q = this.base()
      .where(notReserved)
      .orderBy("repositories.name")
      .limit(limit + 1);
    if (after !== undefined) q = q.where("repositories.name", ">", after);
    const rows = await q.execute();
    return { items: rows.slice(0, limit).map((r) => SettingsStore.toRecord(r)), more: rows.length > limit };
  }

  /**
   * Repositories (name order, after `after` and `offset` more) whose names match any of `filters`: ECR registry
   * scanning filters with the semantics of src/scan/filters.ts `filterMatches` (no `*`: the name
   * contains the filter; with `*`: anchored, `*` any run of characters), decided in SQL (LIKE)
   * so that the console's preview pages 100,000 repositories without reading them. No filters:
   * nothing matches.
   */
  async repositoriesMatching(
    filters: readonly string[],
    o: { after?: string; offset?: number; limit: number },
  ): Promise<Page<RepositoryRecord>> {
    if (!filters.length) return { items: [], more: false };
    let q = this.base()
      .where(notReserved)
      .where(anyFilter(filters))
      .orderBy("repositories.name")
      .limit(o.limit + 1);
    if (o.after !== undefined) q = q.where("repositories.name", ">", o.after);
    if (o.offset) q = q.offset(o.offset);
    const rows = await q.execute();
    return {
      items: rows.slice(0, o.limit).map((r) => SettingsStore.toRecord(r)),
      more: rows.length > o.limit,
    };
  }

  /**
   * How many repositories match each set of filters (a set matches a name when any of its
   * filters does; an empty set matches none), all counted in one pass over the repositories.
   */
  async countMatching(sets: readonly (readonly string[])[]): Promise<number[]> {
    if (!sets.length) return [];
    const row = await this.h.db
      .selectFrom("repositories")
      .where(notReserved)
      .select(
        sets.map((f, i) =>
          (f.length
            ? sql<number>`coalesce(sum(case when ${anyFilter(f)} then 1 else 0 end), 0)`
            : sql<number>`0`
          ).as(`c${i}`),
        ),
      )
      .executeTakeFirst();
    const r = (row ?? {}) as Record<string, unknown>;
    return sets.map((_, i) => Number(r[`c${i}`] ?? 0));
  }

  /** Creates the repository row and its settings; false when the name exists. */
  async createRepository(name: string, settings: SettingsUpdate): Promise<boolean> {
    return this.h.tx(async (t) => {
      const now = t.now();
      const r = await t.db
        .insertInto("repositories")
        .values({ name, created_at: now })
        .onConflict((oc) => oc.column("name").doNothing())
        .executeTakeFirst();
      if (Number(r.numInsertedOrUpdatedRows ?? 0) === 0) return false;
      const row = await t.db
        .selectFrom("repositories")
        .select("id")
        .where("name", "=", name)
        .executeTakeFirstOrThrow();
      await new SettingsStore(t).update(row.id, settings);
      return true;
    });
  }

  /** Updates the given settings of a repository (others keep their value or default). */
  async update(repositoryId: number, u: SettingsUpdate): Promise<void> {
    const set: Partial<Database["repository_settings"]> = { updated_at: this.h.now() };
    if (u.scanOnPush !== undefined) set.scan_on_push = u.scanOnPush ? 1 : 0;
    if (u.imageTagMutability !== undefined) set.image_tag_mutability = u.imageTagMutability;
    if (u.tagMutabilityExclusions !== undefined)
      set.tag_mutability_exclusions = u.tagMutabilityExclusions
        ? JSON.stringify(u.tagMutabilityExclusions)
        : null;
    if (u.encryption !== undefined) set.encryption = u.encryption ? JSON.stringify(u.encryption) : null;
    if (u.tags !== undefined) set.tags = u.tags ? JSON.stringify(u.tags) : null;
    await this.h.db
      .insertInto("repository_settings")
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

  // --- registry-wide settings ------------------------------------------------------------

  /** A registry-wide setting's JSON value, or null when never written. */
  async registrySetting<T>(key: string): Promise<T | null> {
    const row = await this.h.db
      .selectFrom("scan_settings")
      .select("value")
      .where("key", "=", key)
      .executeTakeFirst();
    return row ? (JSON.parse(row.value) as T) : null;
  }

  async putRegistrySetting(key: string, value: unknown): Promise<void> {
    const text = JSON.stringify(value);
    const now = this.h.now();
    await this.h.db
      .insertInto("scan_settings")
      .values({ key, value: text, updated_at: now })
      .onConflict((oc) => oc.column("key").doUpdateSet({ value: text, updated_at: now }))
      .execute();
  }
}

/**
 * An ECR wildcard filter as a LIKE pattern (escape character `!`): `*` becomes `%`, and a
 * filter without `*` is "contains" (`%filter%`), as src/scan/filters.ts filterMatches decides.
 * `%`, `_` and `!` of the filter are literal. Repository names and valid filters are lower case,
 * so SQLite's case-insensitive LIKE and PostgreSQL's case-sensitive one agree.
 */
export function wildcardLike(filter: string): string {
  const literal = filter.replace(/[!%_]/g, "!$&");
  return filter.includes("*") ? literal.replace(/\*/g, "%") : `%${literal}%`;
}

function anyFilter(filters: readonly string[]): RawBuilder<boolean> {
  return sql<boolean>`(${sql.join(
    filters.map((f) => sql`repositories.name like ${wildcardLike(f)} escape '!'`),
    sql` or `,
  )})`;
}
