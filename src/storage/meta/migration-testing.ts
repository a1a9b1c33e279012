import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import SqliteDatabase from "better-sqlite3";
import { Kysely, Migrator, PostgresDialect, SqliteDialect } from "kysely";
import pg from "pg";
import { expect, it } from "vitest";
import { migrationProvider } from "./migrations.js";
import { freshPostgresDatabase, pgServerUrl } from "./postgres-testing.js";
import { openPostgresMetaStore } from "./postgres.js";
import { openSqliteMetaStore } from "./sqlite.js";
import type { MetaStore } from "./store.js";

/**
 * A data directory's database from before a migration, carried forward: on SQLite and on
 * PostgreSQL (skipped without a server), the database is migrated up to `from`, `rows` writes
 * what such a database held (raw rows, in the schema of then), then the store opens it (which
 * applies every later migration) and `check` looks at the result. Defines the two tests.
 */
export function itCarriesOver(
  from: string,
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the schema as `from` left it
  rows: (db: Kysely<any>) => Promise<void>,
  check: (store: MetaStore) => Promise<void>,
): void {
  it("on SQLite", async () => {
    const dir = await mkdtemp(join(tmpdir(), "drydock-migration-"));
    try {
      const file = join(dir, "meta.db");
      // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the schema as `from` left it
      const old = new Kysely<any>({ dialect: new SqliteDialect({ database: new SqliteDatabase(file) }) });
      const m = await new Migrator({ db: old, provider: migrationProvider("sqlite") }).migrateTo(from);
      expect(m.error).toBeUndefined();
      await rows(old);
      await old.destroy();
      const store = await openSqliteMetaStore(file);
      try {
        await check(store);
      } finally {
        await store.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it.skipIf(!pgServerUrl)("on PostgreSQL", async () => {
    const db = await freshPostgresDatabase({ migrated: false });
    try {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the schema as `from` left it
      const old = new Kysely<any>({
        dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: db.url, max: 1 }) }),
      });
      const m = await new Migrator({ db: old, provider: migrationProvider("postgres") }).migrateTo(from);
      expect(m.error).toBeUndefined();
      await rows(old);
      await old.destroy();
      const store = openPostgresMetaStore(db.url);
      try {
        await store.migrate();
        await check(store);
      } finally {
        await store.close();
      }
    } finally {
      await db.drop();
    }
  });
}
