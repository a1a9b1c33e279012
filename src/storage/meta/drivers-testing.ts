import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openPostgresMetaStore } from "./postgres.js";
import { freshPostgresDatabase, pgServerUrl, pgSkipReason } from "./postgres-testing.js";
import { openSqliteMetaStore } from "./sqlite.js";
import type { MetaStore } from "./store.js";

/** A migrated store for a conformance test, a second connection to its database, and a cleanup. */
export interface DriverFixture {
  store: MetaStore;
  /** Another MetaStore on the same database (another node, or another pool's connections). */
  another: () => Promise<MetaStore>;
  cleanup: () => Promise<void>;
}

export type Driver = "sqlite" | "postgres";

/**
 * The drivers a store's conformance suite runs on (for `describe.each`): SQLite in a temporary
 * directory always, PostgreSQL when the test server is up (else skipped, saying why).
 */
export function metaDrivers(what: string): [Driver, (now: () => number) => Promise<DriverFixture>][] {
  const drivers: [Driver, (now: () => number) => Promise<DriverFixture>][] = [
    [
      "sqlite",
      async (now) => {
        const dir = await mkdtemp(join(tmpdir(), "drydock-meta-"));
        const file = join(dir, "meta.sqlite");
        return {
          store: await openSqliteMetaStore(file, now),
          another: () => openSqliteMetaStore(file, now),
          cleanup: () => rm(dir, { recursive: true, force: true }),
        };
      },
    ],
  ];
  if (pgServerUrl)
    drivers.push([
      "postgres",
      async (now) => {
        const db = await freshPostgresDatabase();
        return {
          store: openPostgresMetaStore(db.url, { now }),
          another: async () => openPostgresMetaStore(db.url, { now }),
          cleanup: db.drop,
        };
      },
    ]);
  else console.warn(`${what} on PostgreSQL skipped: ${pgSkipReason}`);
  return drivers;
}
