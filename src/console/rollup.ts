import type { Logger } from "../core/logger.js";
import { DAY_MS, utcDay } from "../storage/meta/history-store.js";
import { addStat, finishStats } from "../storage/meta/console-store.js";
import type { MetaStore, VulnerabilityStat } from "../storage/meta/store.js";

/**
 * The console's maintained aggregates (ConsoleStore, tables console_daily and
 * console_vulnerabilities), refreshed by the singleton `console-rollup` (main.ts) every
 * ROLLUP_INTERVAL_MS on one node of a cluster, and once at start:
 *
 * - the finding history of each UTC day is summed once the day has ended (and today's so far on
 *   every run), so that the dashboard reads at most (days x scan types x severities) rows
 *   whatever the registry's size; days older than findings.historyDays are purged;
 * - the open findings per (repository, vulnerability) are counted again a few repositories at a
 *   time (each chunk a short statement on the findings' image index, the event loop yielded
 *   between them) and summed per vulnerability: the top vulnerabilities, the priority queue and
 *   a restricted user's open vulnerabilities are at most one interval old.
 */

export const ROLLUP_INTERVAL_MS = 15 * 60_000;
/** How far back a first run sums the history (the dashboard shows up to a year). */
export const FIRST_ROLLUP_DAYS = 366;
/**
 * Repositories per chunk of the per-vulnerability count: at the synthetic registry's density
 * (100 findings a repository), a statement over about 10,000 findings.
 */
const CHUNK = 100;

export interface RollupRun {
  days: string[];
  /** Repositories whose open findings were counted. */
  repositories: number;
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
  // A first run starts where the history does (a new server: today), at most `keep` days back.
  const last = (await meta.console.rolledThrough()) ?? ((await meta.console.historyStart()) ?? today) - 1;
  const out: RollupRun = { days: [], repositories: 0, vulnerabilities: 0, dropped: 0, purged: 0 };
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

  // The open findings per (repository, vulnerability), a chunk of repositories at a time (each
  // chunk one statement over those repositories' findings, the event loop yielded between them),
  // summed into the per-vulnerability rows. Every row written now carries `at`; rows left from
  // before are vulnerabilities no longer open (or repositories deleted).
  const previous = await meta.console.vulnerabilitiesRefreshedAt();
  const at = Math.max(now, (previous ?? 0) + 1);
  const chunk = o.chunk ?? CHUNK;
  const totals = new Map<string, VulnerabilityStat & { rank: number }>();
  for (let after = 0; ;) {
    const ids = await meta.console.repositoryIdsAfter(after, chunk);
    if (!ids.length) break;
    const stats = await meta.console.countRepositoryVulnerabilities(ids);
    await meta.console.putRepositoryVulnerabilities(stats, at);
    for (const s of stats) addStat(totals, s);
    out.repositories += ids.length;
    after = ids.at(-1)!;
    await yieldToOthers();
  }
  out.dropped = await meta.console.dropRepositoryVulnerabilitiesBefore(at);
  const all = finishStats(totals);
  for (let i = 0; i < all.length; i += 500) {
    await meta.console.putVulnerabilities(all.slice(i, i + 500), at);
    await yieldToOthers();
  }
  out.vulnerabilities = all.length;
  out.dropped += await meta.console.dropVulnerabilitiesBefore(at);
  o.log?.debug({ task: "console-rollup", ...out, days: out.days.length }, "console rollup done");
  return out;
}
