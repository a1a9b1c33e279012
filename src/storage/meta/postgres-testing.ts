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

function urlOf(name: string): string {
  const url = new URL(pgServerUrl!);
  url.pathname = `/${name}`;
  return url.toString();
}

let template: Promise<string> | undefined;

/** A migrated database of this test process to copy (CREATE DATABASE … TEMPLATE is faster than migrating). */
function migratedTemplate(): Promise<string> {
  template ??= (async () => {
    const name = `tpl_${process.pid}_${randomBytes(3).toString("hex")}`;
    await admin((c) => c.query(`create database ${name}`));
    const store = openPostgresMetaStore(urlOf(name));
    await store.migrate();
    await store.close();
    return name;
  })();
  return template;
}

/**
 * A database on the test server, migrated (the default) or empty: its URL, and a cleanup that
 * drops it.
 */
export async function freshPostgresDatabase(
  o: { migrated?: boolean } = {},
): Promise<{ url: string; drop: () => Promise<void> }> {
  if (!pgServerUrl) throw new Error(`no PostgreSQL for tests: ${pgSkipReason}`);
  const name = `t_${randomBytes(6).toString("hex")}`;
  const from = o.migrated === false ? "" : ` template ${await migratedTemplate()}`;
  await admin((c) => c.query(`create database ${name}${from}`));
  return {
    url: urlOf(name),
    drop: () => admin((c) => c.query(`drop database if exists ${name} with (force)`)).then(() => undefined),
  };
}

/** A migrated MetaStore on a fresh database. */
export async function freshPostgres(
  now?: () => number,
): Promise<{ store: MetaStore; cleanup: () => Promise<void> }> {
  const db = await freshPostgresDatabase();
  return { store: openPostgresMetaStore(db.url, { now }), cleanup: db.drop };
}
