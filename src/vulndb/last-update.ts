import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

/** The last scheduled update of a node's database, as `drydock db status` shows it. */
export interface LastUpdate {
  at: string;
  /** built, unchanged or failed (src/scan/vulndb-update.ts VulnDbUpdateResult). */
  outcome: string;
  error?: string;
  /** Feeds per fetch status. */
  feeds: Record<string, number>;
}

/**
 * Where the outcome of the last scheduled update is kept: beside the database file (the
 * database itself is not touched by a failed update, so it cannot say that one failed).
 */
export const lastUpdatePath = (target: string): string => `${target}.last-update.json`;

export function recordLastUpdate(
  target: string,
  r: Pick<LastUpdate, "outcome" | "error" | "feeds">,
  now: Date,
): void {
  const rec: LastUpdate = {
    at: now.toISOString(),
    outcome: r.outcome,
    ...(r.error !== undefined ? { error: r.error } : {}),
    feeds: r.feeds,
  };
  const file = lastUpdatePath(target);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(`${file}.tmp`, JSON.stringify(rec) + "\n");
  renameSync(`${file}.tmp`, file);
}

/** The last scheduled update recorded beside `target`, or undefined (none yet, or unreadable). */
export function lastUpdateOf(target: string): LastUpdate | undefined {
  try {
    const v = JSON.parse(readFileSync(lastUpdatePath(target), "utf8")) as LastUpdate;
    return typeof v.at === "string" && typeof v.outcome === "string" ? v : undefined;
  } catch {
    return undefined;
  }
}
