import type { Kysely, Transaction } from "kysely";
import { sql } from "kysely";
import type { Database } from "./schema.js";
import { signalChannel, type SignalTopic } from "./signals.js";

/** The SQL dialects the stores speak: SQLite (embedded) and PostgreSQL (scale-out). */
export type Dialect = "sqlite" | "postgres";

export type Db = Kysely<Database> | Transaction<Database>;

/**
 * What a store works with: the Kysely handle (the database or the current transaction), its
 * dialect, and the clock. Private to `storage/meta`: nothing outside `storage/` sees Kysely.
 */
export class Handle {
  constructor(
    readonly db: Db,
    readonly dialect: Dialect,
    readonly now: () => number,
  ) {}

  get inTransaction(): boolean {
    return this.db.isTransaction;
  }

  /**
   * Tells the other processes that this transaction's commit concerns `topic` (signals.ts):
   * PostgreSQL's NOTIFY, sent at commit and never for a rollback. Nothing on SQLite, whose
   * listeners notice any commit of another connection.
   */
  async signal(topic: SignalTopic): Promise<void> {
    if (this.dialect === "postgres")
      await sql`select pg_notify(${signalChannel(topic)}, '')`.execute(this.db);
  }

  /** Runs `fn` in a transaction; joins the current one when there is one (Kysely cannot nest). */
  tx<T>(fn: (h: Handle) => Promise<T>): Promise<T> {
    if (this.db.isTransaction) return fn(this);
    return (this.db as Kysely<Database>)
      .transaction()
      .execute((trx) => fn(new Handle(trx, this.dialect, this.now)));
  }
}
