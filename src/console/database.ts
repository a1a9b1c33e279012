import type { VulnDbHealth } from "../scan/vulndb-health.js";
import type { VulnDb } from "../vulndb/db.js";
import type { DatabaseSource } from "./dashboard.js";

/** The running server's vulnerability database as the console reads it (VulnDbProvider's shape). */
export interface VulnDbHandle {
  acquire(): { db: VulnDb; release(): void };
}

/**
 * Runs `fn` on the database in service, or returns null when there is none (a server started
 * without one, or one being built): the console shows what the findings say and says so.
 */
export function withDatabase<T>(handle: VulnDbHandle | undefined, fn: (db: VulnDb) => T): T | null {
  if (!handle) return null;
  let lease: ReturnType<VulnDbHandle["acquire"]>;
  try {
    lease = handle.acquire();
  } catch {
    return null;
  }
  try {
    return fn(lease.db);
  } finally {
    lease.release();
  }
}

/**
 * The dashboard's view of the database: freshness and feeds (small tables), and /healthz's
 * report. The handle is looked up at each read (`() => handle`): the console's dependencies may
 * get their database after the routes are registered.
 */
export function databaseSource(
  handle: VulnDbHandle | undefined | (() => VulnDbHandle | undefined),
  health?: VulnDbHealth | (() => VulnDbHealth | undefined),
): DatabaseSource {
  const h = typeof handle === "function" ? handle : () => handle;
  const hl = typeof health === "function" ? health : () => health;
  return {
    info: () => withDatabase(h(), (db) => ({ ...db.freshness(), feeds: db.feeds() })),
    health: () => hl()?.report() ?? undefined,
  };
}
