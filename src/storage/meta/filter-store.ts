import type { Selectable } from "kysely";
import type { Handle } from "./handle.js";
import type { Database } from "./schema.js";

/** A stored Inspector2 filter (table inspector_filters) with its tags. */
export interface StoredFilter {
  id: string;
  name: string;
  action: string;
  /** The FilterCriteria JSON as given. */
  criteria: string;
  description: string | null;
  reason: string | null;
  /** The `drydock:expires-at` tag as epoch ms (null: none). */
  expiresAt: number | null;
  /** The expiry was applied: the filter no longer suppresses. */
  expired: boolean;
  createdAt: number;
  updatedAt: number;
  tags: Record<string, string>;
}

export type FilterWrite = Omit<StoredFilter, "expired" | "tags"> & { expired?: boolean };

/**
 * Inspector2 filters and their tags (tables inspector_filters, inspector_filter_tags). The store
 * keeps rows; what a filter does to findings is src/findings/suppression.ts.
 */
export class FilterStore {
  constructor(private readonly h: Handle) {}

  async get(id: string): Promise<StoredFilter | null> {
    const row = await this.h.db
      .selectFrom("inspector_filters")
      .selectAll()
      .where("id", "=", id)
      .executeTakeFirst();
    return row ? (await this.withTags([row]))[0]! : null;
  }

  async byName(name: string): Promise<StoredFilter | null> {
    const row = await this.h.db
      .selectFrom("inspector_filters")
      .selectAll()
      .where("name", "=", name)
      .executeTakeFirst();
    return row ? (await this.withTags([row]))[0]! : null;
  }

  async count(): Promise<number> {
    const r = await this.h.db
      .selectFrom("inspector_filters")
      .select((eb) => eb.fn.countAll<number>().as("n"))
      .executeTakeFirst();
    return Number(r?.n ?? 0);
  }

  /** Filters in id order after `after`, at most `limit` (+ whether more follow). */
  async list(o: {
    after?: string;
    limit: number;
    ids?: readonly string[];
    action?: string;
  }): Promise<{ items: StoredFilter[]; more: boolean }> {
    let q = this.h.db
      .selectFrom("inspector_filters")
      .selectAll()
      .orderBy("id")
      .limit(o.limit + 1);
    if (o.after !== undefined) q = q.where("id", ">", o.after);
    if (o.ids) {
      if (!o.ids.length) return { items: [], more: false };
      q = q.where("id", "in", [...o.ids]);
    }
    if (o.action !== undefined) q = q.where("action", "=", o.action);
    const rows = await q.execute();
    return { items: await this.withTags(rows.slice(0, o.limit)), more: rows.length > o.limit };
  }

  /** Every filter with this action (suppression reads the SUPPRESS ones: a few hundred at most). */
  async withAction(action: string): Promise<StoredFilter[]> {
    const rows = await this.h.db
      .selectFrom("inspector_filters")
      .selectAll()
      .where("action", "=", action)
      .orderBy("id")
      .execute();
    return this.withTags(rows);
  }

  /** Filters whose expiry time has come and was not applied yet. */
  async dueToExpire(now: number): Promise<StoredFilter[]> {
    const rows = await this.h.db
      .selectFrom("inspector_filters")
      .selectAll()
      .where("expires_at", "<=", now)
      .where("expired", "=", 0)
      .orderBy("id")
      .execute();
    return this.withTags(rows);
  }

  /** Creates or replaces a filter (its tags untouched). */
  async put(f: FilterWrite): Promise<void> {
    const row = {
      id: f.id,
      name: f.name,
      action: f.action,
      criteria: f.criteria,
      description: f.description,
      reason: f.reason,
      expires_at: f.expiresAt,
      expired: f.expired ? 1 : 0,
      created_at: f.createdAt,
      updated_at: f.updatedAt,
    };
    const { id: _id, created_at: _c, ...changes } = row;
    await this.h.db
      .insertInto("inspector_filters")
      .values(row)
      .onConflict((oc) => oc.column("id").doUpdateSet(changes))
      .execute();
  }

  async delete(id: string): Promise<boolean> {
    return this.h.tx(async (t) => {
      await t.db.deleteFrom("inspector_filter_tags").where("filter_id", "=", id).execute();
      const r = await t.db.deleteFrom("inspector_filters").where("id", "=", id).executeTakeFirst();
      return Number(r.numDeletedRows) > 0;
    });
  }

  /** Adds or replaces tags. */
  async tag(id: string, tags: Record<string, string>): Promise<void> {
    const rows = Object.entries(tags).map(([key, value]) => ({ filter_id: id, key, value }));
    if (!rows.length) return;
    await this.h.db
      .insertInto("inspector_filter_tags")
      .values(rows)
      .onConflict((oc) =>
        oc.columns(["filter_id", "key"]).doUpdateSet((eb) => ({ value: eb.ref("excluded.value") })),
      )
      .execute();
  }

  async untag(id: string, keys: readonly string[]): Promise<void> {
    if (!keys.length) return;
    await this.h.db
      .deleteFrom("inspector_filter_tags")
      .where("filter_id", "=", id)
      .where("key", "in", [...keys])
      .execute();
  }

  private async withTags(rows: Selectable<Database["inspector_filters"]>[]): Promise<StoredFilter[]> {
    const tags = new Map<string, Record<string, string>>();
    if (rows.length)
      for (const t of await this.h.db
        .selectFrom("inspector_filter_tags")
        .selectAll()
        .where(
          "filter_id",
          "in",
          rows.map((r) => r.id),
        )
        .orderBy("key")
        .execute()) {
        const m = tags.get(t.filter_id) ?? {};
        m[t.key] = t.value;
        tags.set(t.filter_id, m);
      }
    return rows.map((r) => ({
      id: r.id,
      name: r.name,
      action: r.action,
      criteria: r.criteria,
      description: r.description,
      reason: r.reason,
      expiresAt: r.expires_at === null ? null : Number(r.expires_at),
      expired: Number(r.expired) === 1,
      createdAt: Number(r.created_at),
      updatedAt: Number(r.updated_at),
      tags: tags.get(r.id) ?? {},
    }));
  }
}
