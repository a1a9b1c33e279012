import { randomBytes } from "node:crypto";
import pg from "pg";
import { openPostgresMetaStore } from "./postgres.js";
import type { MetaStore } from "./store.js";

/**
 * PostgreSQL for tests: the server that test/setup/postgres.ts started for the run. Each call
 * of `freshPostgres` creates an empty database of its own and drops it in `cleanup`.
 */
export const pgServerUrl: string | undefined = process.env.DRYDOCK_TEST_PG_URL;
export const pgSkipReason: string =
  process.env.DRYDOCK_TEST_PG_SKIP ?? (pgServerUrl ? "" : "DRYDOCK_TEST_PG_URL is not set");

if (!pgServerUrl) console.warn(`PostgreSQL tests skipped: ${pgSkipReason}`);

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: pgServerUrl });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** An empty database on the test server: its URL, and a cleanup that drops it. */
export async function freshPostgresDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  if (!pgServerUrl) throw new Error(`no PostgreSQL for tests: ${pgSkipReason}`);
  const name = `t_${randomBytes(6).toString("hex")}`;
  await admin((c) => c.query(`create database ${name}`));
  const url = new URL(pgServerUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () => admin((c) => c.query(`drop database if exists ${name} with (force)`)).then(() => undefined),
  };
}

/** A migrated MetaStore on a fresh database. */
export async function freshPostgres(
  now?: () => number,
): Promise<{ store: MetaStore; cleanup: () => Promise<void> }> {
  const db = await freshPostgresDatabase();
  const store = openPostgresMetaStore(db.url, { now });
  await store.migrate();
  return { store, cleanup: db.drop };
}
