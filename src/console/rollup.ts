import type { Logger } from "../core/logger.js";
import { DAY_MS, utcDay } from "../storage/meta/history-store.js";
import type { MetaStore } from "../storage/meta/store.js";

/**
 * The console's maintained aggregates (ConsoleStore, tables console_daily and
 * console_vulnerabilities), refreshed by the singleton `console-rollup` (main.ts) every
 * ROLLUP_INTERVAL_MS on one node of a cluster, and once at start:
 *
 * - the finding history of each UTC day is summed once the day has ended (and today's so far on
 *   every run), so that the dashboard reads at most (days x scan types x severities) rows
 *   whatever the registry's size; days older than findings.historyDays are purged;
 * - the open findings per vulnerability are counted again in keyset chunks of the vulnerability
 *   index (each chunk a short statement, the event loop yielded between them): the top
 *   vulnerabilities and the priority queue are at most one interval old.
 */

export const ROLLUP_INTERVAL_MS = 15 * 60_000;
/** How far back a first run sums the history (the dashboard shows up to a year). */
export const FIRST_ROLLUP_DAYS = 366;
/** Vulnerability ids per chunk of the per-vulnerability count. */
const CHUNK = 500;

export interface RollupRun {
  days: string[];
  vulnerabilities: number;
  dropped: number;
  purged: number;
}

const yieldToOthers = () => new Promise<void>((r) => setImmediate(r));

export async function runConsoleRollup(
  meta: MetaStore,
  o: { historyDays: number; now?: () => number; log?: Logger; chunk?: number },
): Promise<RollupRun> {
  const now = (o.now ?? Date.now)();
  const today = Math.floor(now / DAY_MS);
  const keep = Math.min(o.historyDays, FIRST_ROLLUP_DAYS);
  const last = (await meta.console.rolledThrough()) ?? today - keep - 1;
  const out: RollupRun = { days: [], vulnerabilities: 0, dropped: 0, purged: 0 };
  for (let d = Math.max(last + 1, today - keep); d <= today; d++) {
    const day = utcDay(d * DAY_MS);
    await meta.console.rollUpDay(day);
    out.days.push(day);
    // A day is final once it has ended: later runs leave it alone.
    if (d < today) await meta.console.markRolledThrough(d);
    await yieldToOthers();
  }
  for (let n; (n = await meta.console.purgeDayBefore(utcDay(now - o.historyDays * DAY_MS))) > 0;) {
    out.purged += n;
    await yieldToOthers();
  }

  // Every row written now carries `at`; rows left from before are vulnerabilities no longer open.
  const previous = await meta.console.vulnerabilitiesRefreshedAt();
  const at = Math.max(now, (previous ?? 0) + 1);
  const chunk = o.chunk ?? CHUNK;
  let after: string | undefined;
  for (;;) {
    const stats = await meta.console.vulnerabilityCounts({ after, limit: chunk });
    await meta.console.putVulnerabilities(stats, at);
    out.vulnerabilities += stats.length;
    if (stats.length < chunk) break;
    after = stats.at(-1)!.vulnerabilityId;
    await yieldToOthers();
  }
  out.dropped = await meta.console.dropVulnerabilitiesBefore(at);
  o.log?.debug({ task: "console-rollup", ...out, days: out.days.length }, "console rollup done");
  return out;
}
