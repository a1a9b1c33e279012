import type { Config } from "../config/schema.js";
import type { Logger } from "../core/logger.js";
import { Singleton } from "../jobs/singleton.js";
import type { VulnDbHealth } from "../scan/vulndb-health.js";
import type { BlobStore } from "../storage/blob/types.js";
import type { MetaStore } from "../storage/meta/store.js";
import type { VulnDbHandle } from "./database.js";
import { consoleReportsFor, REPORTS_CHECK_MS } from "./reports/service.js";
import { ROLLUP_INTERVAL_MS, runConsoleRollup } from "./rollup.js";

/**
 * The console's background work on `all` and `worker` nodes (main.ts), each a singleton under
 * the database lease: `console-rollup` (the dashboard's aggregates, rollup.ts) and
 * `console-reports` (the scheduled reports, reports/service.ts; once per period across the
 * cluster by the record's unique period). Both run once at start too.
 */
export function startConsoleBackground(o: {
  meta: MetaStore;
  blobs: BlobStore;
  config: Config;
  holder: string;
  log?: Logger;
  vulndb?: VulnDbHandle;
  vulndbHealth?: VulnDbHealth;
  now?: () => number;
}): Singleton[] {
  const now = o.now ?? Date.now;
  const rollup = new Singleton(o.meta, {
    name: "console-rollup",
    holder: o.holder,
    intervalMs: ROLLUP_INTERVAL_MS,
    run: () => runConsoleRollup(o.meta, { historyDays: o.config.findings.historyDays, now, log: o.log }),
    log: o.log,
  });
  const reports = consoleReportsFor({ ...o, now });
  const scheduled = new Singleton(o.meta, {
    name: "console-reports",
    holder: o.holder,
    intervalMs: REPORTS_CHECK_MS,
    run: () => reports.runScheduled(),
    log: o.log,
  });
  for (const s of [rollup, scheduled]) {
    s.start();
    void s.tick();
  }
  return [rollup, scheduled];
}
