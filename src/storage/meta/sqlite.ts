import SqliteDatabase from "better-sqlite3";
import { Kysely, SqliteDialect } from "kysely";
import type { Database } from "./schema.js";
import { MetaStore } from "./store.js";

/**
 * The embedded driver: one SQLite file in WAL mode. `synchronous=NORMAL` in WAL mode keeps
 * the database consistent after a process crash (kill -9) and loses at most the last
 * transactions on a power failure; blobs are fsynced before their rows are written. The
 * schema is migrated on open (a user's existing data directory is carried forward).
 */
export async function openSqliteMetaStore(path: string, now?: () => number): Promise<MetaStore> {
  const sqlite = new SqliteDatabase(path);
  sqlite.pragma("journal_mode = WAL");
  sqlite.pragma("synchronous = NORMAL");
  sqlite.pragma("foreign_keys = ON");
  sqlite.pragma("busy_timeout = 5000");
  const store = new MetaStore(
    new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) }),
    "sqlite",
    now,
  );
  await store.migrate();
  return store;
}
