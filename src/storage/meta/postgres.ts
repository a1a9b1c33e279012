import { Kysely, PostgresDialect } from "kysely";
import pg from "pg";
import type { Database } from "./schema.js";
import { PostgresSignals } from "./signals.js";
import { MetaStore } from "./store.js";

const INT8 = 20;

/**
 * The scale-out driver: PostgreSQL through `pg`. 64-bit integers (times in epoch ms, sizes,
 * counts) come back from `pg` as strings by default; this pool parses them into numbers, which
 * is exact below 2^53 (every value the schema holds). Migrations are not run here: `drydock
 * migrate` (or `serve` on an empty database) does, and `serve` refuses an older schema.
 */
export function openPostgresMetaStore(
  url: string,
  o: { maxConnections?: number; now?: () => number } = {},
): MetaStore {
  const pool = new pg.Pool({
    connectionString: url,
    max: o.maxConnections ?? 10,
    connectionTimeoutMillis: 10_000,
    // An idle connection that the server dropped (a restart) is replaced, not handed out.
    idleTimeoutMillis: 30_000,
    types: {
      getTypeParser: ((oid: number, format?: "text" | "binary") =>
        oid === INT8
          ? (v: string) => Number(v)
          : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
    },
  });
  // A lost connection (the server restarted) must not crash the process: idle clients report on
  // the pool, checked-out ones (a query or transaction in flight) on the client, where pg-pool
  // leaves no listener. The query in flight fails; the next one gets a new connection.
  pool.on("error", () => undefined);
  pool.on("connect", (client) => client.on("error", () => undefined));
  return new MetaStore(new Kysely<Database>({ dialect: new PostgresDialect({ pool }) }), "postgres", o.now, {
    signals: new PostgresSignals(url),
  });
}
