import SqliteDatabase from "better-sqlite3";
import { Kysely, SqliteDialect } from "kysely";
import type { Database } from "./schema.js";
import { NO_SIGNALS, SqliteSignals } from "./signals.js";
import { SqliteCheckpointer } from "./sqlite-checkpointer.js";
import { MetaStore } from "./store.js";

/**
 * The embedded driver: one SQLite file in WAL mode. `synchronous=NORMAL` in WAL mode keeps
 * the database consistent after a process crash (kill -9) and loses at most the last
 * transactions on a power failure; blobs are fsynced before their rows are written. The
 * schema is migrated on open (a user's existing data directory is carried forward).
 */
const CACHE_KIB = 128 * 1024;

export async function openSqliteMetaStore(
  path: string,
  now?: () => number,
  /**
   * `checkpointer`: WAL checkpoints on a thread of their own (sqlite-checkpointer.ts), for a
   * long-lived process that writes (storage/open.ts); a file database only.
   */
  o: { checkpointer?: boolean } = {},
): Promise<MetaStore> {
  const sqlite = new SqliteDatabase(path);
  sqlite.pragma("journal_mode = WAL");
  sqlite.pragma("synchronous = NORMAL");
  sqlite.pragma("foreign_keys = ON");
  sqlite.pragma("busy_timeout = 5000");
  // A page cache of up to 128 MiB (SQLite's default is 2 MiB): writes of many findings touch
  // pages all over their eight indexes, and with the default every one was read again and
  // spilled to the WAL mid-transaction (bench:rematch: 50,000 finding rows written in 9.6 s
  // of wall time for 2.4 s of CPU; 2.4 s with this). Taken as pages are used, not at open.
  sqlite.pragma(`cache_size = -${CACHE_KIB}`);
  let checkpointer: SqliteCheckpointer | undefined; // started once the schema is migrated
  const store = new MetaStore(
    new Kysely<Database>({ dialect: new SqliteDialect({ database: statementCache(sqlite) }) }),
    "sqlite",
    now,
    {
      // An in-memory database has no other connection to hear from.
      signals: sqlite.memory ? NO_SIGNALS : new SqliteSignals(sqlite),
      beforeClose: () => checkpointer?.close() ?? Promise.resolve(),
    },
  );
  await store.migrate();
  if (o.checkpointer && !sqlite.memory) checkpointer = await SqliteCheckpointer.start(sqlite, path);
  return store;
}

/** Statements kept prepared (least recently used dropped first). */
const STATEMENT_CACHE = 512;

/**
 * The database as Kysely's SQLite driver sees it, with its prepared statements cached by SQL
 * text: Kysely prepares every query again (compiling the SQL each time), which cost 5 % of the
 * server's CPU per event delivery (bench:events). A cached statement still being iterated (a
 * streamed query) is not shared: the query gets a fresh one.
 */
function statementCache(db: SqliteDatabase.Database): Pick<SqliteDatabase.Database, "close" | "prepare"> {
  const cache = new Map<string, SqliteDatabase.Statement>();
  return {
    close: () => db.close(),
    prepare(sql: string) {
      const hit = cache.get(sql);
      if (hit && !hit.busy) {
        cache.delete(sql);
        cache.set(sql, hit);
        return hit;
      }
      const stmt = db.prepare(sql);
      if (hit) return stmt;
      cache.set(sql, stmt);
      if (cache.size > STATEMENT_CACHE) cache.delete(cache.keys().next().value!);
      return stmt;
    },
  } as Pick<SqliteDatabase.Database, "close" | "prepare">;
}
