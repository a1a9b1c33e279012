import type { Handle } from "./handle.js";

/**
 * The layer-inventory cache shared by every worker (table layer_inventories): the JSON of a
 * layer's inventory by cache key (sha256 of diffID, analyzer versions and limits). Entries are
 * immutable: a second writer of the same key changes nothing.
 */
export class LayerInventoryStore {
  constructor(private readonly h: Handle) {}

  async get(key: string): Promise<{ diffId: string; json: string } | null> {
    const row = await this.h.db
      .selectFrom("layer_inventories")
      .select(["diff_id", "json"])
      .where("key", "=", key)
      .executeTakeFirst();
    return row ? { diffId: row.diff_id, json: row.json } : null;
  }

  async put(key: string, diffId: string, json: string): Promise<void> {
    await this.h.db
      .insertInto("layer_inventories")
      .values({ key, diff_id: diffId, json, created_at: this.h.now() })
      .onConflict((oc) => oc.column("key").doNothing())
      .execute();
  }
}
