import type { Handle } from "./handle.js";

/** A stored policy document: its JSON text, the version every put moves, who and when. */
export interface PolicyDocumentRow {
  name: string;
  json: string;
  version: number;
  updatedBy: string;
  updatedAt: number;
}

/** JSON text of a cleared document: the row stays so that its version keeps moving up. */
const CLEARED = "null";

/**
 * Named policy documents (table policy_documents): the pull policy set at run time by
 * `drydock policy set`. Contract: every put or clear moves the document's version up by one
 * (never back, a clear included), in one statement, so a process that cached a compiled
 * policy under a version knows it is current by reading one row; `put` with `expectedVersion`
 * writes only over that version (compare and set: of two concurrent writers one wins, the other
 * learns it lost).
 */
export class PolicyStore {
  constructor(private readonly h: Handle) {}

  /** The document, or null when never set or cleared. */
  async get(name: string): Promise<PolicyDocumentRow | null> {
    const row = await this.h.db
      .selectFrom("policy_documents")
      .selectAll()
      .where("name", "=", name)
      .executeTakeFirst();
    if (!row || row.json === CLEARED) return null;
    return {
      name: row.name,
      json: row.json,
      version: Number(row.version),
      updatedBy: row.updated_by,
      updatedAt: Number(row.updated_at),
    };
  }

  /** The document's version (0: never set; a cleared document keeps its version). */
  async version(name: string): Promise<number> {
    const row = await this.h.db
      .selectFrom("policy_documents")
      .select("version")
      .where("name", "=", name)
      .executeTakeFirst();
    return row ? Number(row.version) : 0;
  }

  /**
   * Stores the document and returns its new version; with `expectedVersion`, only when the
   * stored version is that one (0: never set), else null and nothing changes.
   */
  async put(
    name: string,
    json: string,
    by: string,
    o: { expectedVersion?: number } = {},
  ): Promise<number | null> {
    const now = this.h.now();
    const values = { name, json, version: 1, updated_by: by, updated_at: now };
    if (o.expectedVersion === 0) {
      const row = await this.h.db
        .insertInto("policy_documents")
        .values(values)
        .onConflict((oc) => oc.column("name").doNothing())
        .returning("version")
        .executeTakeFirst();
      return row ? Number(row.version) : null;
    }
    if (o.expectedVersion !== undefined) {
      const row = await this.h.db
        .updateTable("policy_documents")
        .set((eb) => ({ json, updated_by: by, updated_at: now, version: eb(eb.ref("version"), "+", 1) }))
        .where("name", "=", name)
        .where("version", "=", o.expectedVersion)
        .returning("version")
        .executeTakeFirst();
      return row ? Number(row.version) : null;
    }
    const row = await this.h.db
      .insertInto("policy_documents")
      .values(values)
      .onConflict((oc) =>
        oc.column("name").doUpdateSet((eb) => ({
          json,
          updated_by: by,
          updated_at: now,
          version: eb(eb.ref("policy_documents.version"), "+", 1),
        })),
      )
      .returning("version")
      .executeTakeFirstOrThrow();
    return Number(row.version);
  }

  /** Clears the document (readers fall back to the configuration); its version moves on. */
  async clear(name: string, by: string): Promise<number> {
    const row = await this.h.db
      .updateTable("policy_documents")
      .set((eb) => ({
        json: CLEARED,
        updated_by: by,
        updated_at: this.h.now(),
        version: eb(eb.ref("version"), "+", 1),
      }))
      .where("name", "=", name)
      .where("json", "<>", CLEARED)
      .returning("version")
      .executeTakeFirst();
    return row ? Number(row.version) : this.version(name);
  }
}
