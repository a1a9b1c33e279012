import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { dataPaths } from "../storage/paths.js";
import { loadConfig } from "../config/load.js";
import type { Config } from "../config/schema.js";
import { buildDatabase, type BuildReport } from "../vulndb/build.js";
import { VulnDb, type VulnDbStatus } from "../vulndb/db.js";
import { diffVulnDbs } from "../vulndb/diff.js";
import { lastUpdateOf } from "../vulndb/last-update.js";
import { importers, mirrorPaths } from "../vulndb/importers/registry.js";
import { VulnDbError } from "../vulndb/schema.js";
import { listSources } from "../vulndb/sources.js";
import type { FeedProblem } from "../vulndb/types.js";
import { updateDatabase, type FeedUpdate } from "../vulndb/update.js";

/**
 * `drydock db import|update|status|diff`: build and inspect the vulnerability database
 * (docs/vulndb.md). Reports go to stdout (tables, or JSON with --json; `diff` is always
 * JSON); warnings about feed documents go to stderr as `drydock: warning: …`. Exit codes:
 * 0 done (even with document problems, unless --strict), 1 the database could not be built or
 * read (the previous one stays in service), 2 usage or configuration errors.
 */

export interface DbOptions {
  config?: string;
  data?: string;
  db?: string;
  json?: boolean;
}

/** Problems printed one by one before the rest are only counted. */
const MAX_PRINTED_PROBLEMS = 50;

export function vulnDbPath(config: Config, flag?: string): string {
  return flag !== undefined ? resolve(flag) : dataPaths(config.data, config.vulndb.path).vulndb;
}

function configFor(opts: DbOptions): Config {
  return loadConfig({ file: opts.config, flags: { data: opts.data } });
}

/** Runs an action; a VulnDbError is the user's answer (exit 1), not a crash. */
function guarded<A extends unknown[]>(fn: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (e) {
      if (!(e instanceof VulnDbError)) throw e;
      process.stderr.write(`drydock: ${e.message}\n`);
      process.exitCode = 1;
    }
  };
}

function problemPrinter(): { print: (p: FeedProblem) => void; end: () => void } {
  let n = 0;
  return {
    print(p) {
      if (++n <= MAX_PRINTED_PROBLEMS)
        process.stderr.write(`drydock: warning: ${p.feed}: ${p.document}: ${p.reason}\n`);
    },
    end() {
      if (n > MAX_PRINTED_PROBLEMS) {
        process.stderr.write(
          `drydock: warning: ${n - MAX_PRINTED_PROBLEMS} more problems not shown (drydock db status --problems)\n`,
        );
      }
    },
  };
}

/** A redrawn status line on a terminal; nothing when stderr is piped. */
function progressLine(): { update: (text: string) => void; end: () => void } {
  const tty = process.stderr.isTTY;
  let last = 0;
  return {
    update(text) {
      const now = Date.now();
      if (!tty || now - last < 100) return;
      last = now;
      process.stderr.write(`\r\x1b[K${text.slice(0, (process.stderr.columns ?? 100) - 1)}`);
    },
    end() {
      if (tty) process.stderr.write("\r\x1b[K");
    },
  };
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  return rows
    .map((r) =>
      r
        .map((c, i) =>
          i === r.length - 1
            ? c
            : /^[\d.,]+$/.test(c) && i > 0
              ? c.padStart(widths[i]!)
              : c.padEnd(widths[i]!),
        )
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

const num = (n: number) => n.toLocaleString("en-US");

function age(iso: string, now = Date.now()): string {
  const ms = now - Date.parse(iso);
  if (!Number.isFinite(ms)) return "?";
  const h = ms / 3_600_000;
  if (h < 1) return `${Math.max(0, Math.round(ms / 60_000))} min`;
  if (h < 48) return `${h.toFixed(1)} h`;
  return `${(h / 24).toFixed(1)} d`;
}

function printBuild(report: BuildReport, json: boolean | undefined): void {
  if (json) {
    process.stdout.write(JSON.stringify(report, null, 2) + "\n");
    return;
  }
  const rows = [["feed", "documents", "records", "skipped", "problems"]];
  for (const f of report.feeds) {
    rows.push([f.id, num(f.documents), num(f.records), num(f.skipped), num(f.problems)]);
  }
  process.stdout.write(table(rows) + "\n");
  process.stdout.write(
    `${report.target}: ${report.feeds.length} feeds imported in ${(report.durationMs / 1000).toFixed(1)} s` +
      `, ${num(report.problems)} problems, ${num(report.ignored)} documents not recognized\n`,
  );
}

function printStatus(s: VulnDbStatus, maxAgeHours: number, json: boolean | undefined): void {
  const stale = (Date.now() - Date.parse(s.checkedAt)) / 3_600_000 > maxAgeHours;
  // The server's scheduled updates (drydock serve) record their outcome beside the database.
  const last = lastUpdateOf(s.path);
  if (json) {
    process.stdout.write(
      JSON.stringify({ ...s, stale, maxAgeHours, ...(last ? { lastScheduledUpdate: last } : {}) }, null, 2) +
        "\n",
    );
  } else {
    const rows = [["feed", "advisories", "enrichments", "problems", "imported", "age", "fingerprint"]];
    for (const f of s.feeds) {
      rows.push([
        f.id,
        num(f.advisories),
        num(f.enrichments),
        num(f.problems),
        f.importedAt.slice(0, 19) + "Z",
        age(f.importedAt),
        f.fingerprint.slice(0, 12),
      ]);
    }
    process.stdout.write(table(rows) + "\n");
    process.stdout.write(
      [
        `database:   ${s.path} (${(s.sizeBytes / 1e6).toFixed(1)} MB, schema ${s.schemaVersion})`,
        `built:      ${s.builtAt} (${age(s.builtAt)} ago)` +
          (s.checkedAt !== s.builtAt ? `, feeds last found current ${age(s.checkedAt)} ago` : ""),
        `advisories: ${num(s.advisories)} (${num(s.withdrawn)} withdrawn, ${num(s.records)} records), ` +
          `${num(s.packageKeys)} package keys, ${num(s.affectedRows)} affected entries`,
        `enrichment: ${num(s.enrichedCves)} CVEs`,
        `problems:   ${num(s.problems)}`,
        ...(last
          ? [
              `scheduled:  last update ${last.outcome} at ${last.at} (${age(last.at)} ago)` +
                (last.error !== undefined ? `: ${last.error}` : ""),
            ]
          : []),
      ].join("\n") + "\n",
    );
  }
  if (last?.outcome === "failed")
    process.stderr.write(
      `drydock: warning: the server's last scheduled update failed at ${last.at}: ${last.error ?? "unknown reason"}; the database is the one before\n`,
    );
  if (stale) {
    process.stderr.write(
      `drydock: warning: the vulnerability database was last updated ${age(s.checkedAt)} ago ` +
        `(vulndb.maxAgeHours is ${maxAgeHours}): run drydock db update\n`,
    );
  }
}

/**
 * With a cluster configuration (`storage.meta.url`), a new build is published in the cluster's
 * own store (`_drydock/vulndb`, src/scan/vulndb-distribution.ts), from where the workers fetch it;
 * the server's scheduled update publishes with the same function (src/scan/vulndb-update.ts).
 */
async function publishIfCluster(config: Config, target: string, json: boolean | undefined): Promise<void> {
  if (!config.storage.meta.url) return;
  const [{ openStores }, { publishVulnDbFile, VULNDB_REPOSITORY }] = await Promise.all([
    import("../storage/open.js"),
    import("../scan/vulndb-distribution.js"),
  ]);
  const stores = await openStores(config, { schema: "refuse" });
  try {
    const p = await publishVulnDbFile(stores.meta, stores.blobs, target);
    if (!json) process.stdout.write(`published to the cluster as ${VULNDB_REPOSITORY}@${p.manifest}\n`);
  } finally {
    await stores.close();
  }
}

export type ImportOptions = DbOptions & { fresh?: boolean; strict?: boolean };

/** `drydock db import PATH...` (options: main.ts). */
export const importFeeds = guarded(async (paths: string[], opts: ImportOptions) => {
  const config = configFor(opts);
  const target = vulnDbPath(config, opts.db);
  let sources;
  try {
    sources = await listSources(paths, mirrorPaths());
  } catch (e) {
    throw new VulnDbError(`cannot read ${(e as Error).message}`);
  }
  const problems = problemPrinter();
  const progress = progressLine();
  try {
    const report = await buildDatabase({
      target,
      sources,
      importers,
      fresh: opts.fresh,
      strict: opts.strict,
      onProblem: problems.print,
      onDocument: (feed, st) =>
        progress.update(`${feed}: ${num(st.documents)} documents, ${num(st.records)} records`),
    });
    progress.end();
    problems.end();
    printBuild(report, opts.json);
    await publishIfCluster(config, target, opts.json);
  } catch (e) {
    progress.end();
    problems.end();
    throw e;
  }
});

export type UpdateOptions = DbOptions & { mirror?: string; feed?: string[]; strict?: boolean };

/** `drydock db update` (options: main.ts). */
export const update = guarded(async (opts: UpdateOptions) => {
  const config = configFor(opts);
  const target = vulnDbPath(config, opts.db);
  const problems = problemPrinter();
  const onFeed = (u: FeedUpdate) => {
    if (u.status === "failed" || u.status === "missing") {
      process.stderr.write(`drydock: warning: ${u.id}: ${u.status}: ${u.reason ?? ""} (${u.location})\n`);
    }
  };
  try {
    const report = await updateDatabase({
      target,
      importers,
      mirror: opts.mirror ?? config.vulndb.mirror,
      only: opts.feed,
      timeoutMs: config.vulndb.fetchTimeoutSeconds * 1000,
      strict: opts.strict,
      onFeed,
      onProblem: problems.print,
    });
    if (opts.json) {
      process.stdout.write(JSON.stringify(report, null, 2) + "\n");
    } else {
      const rows = [["feed", "status", "source"]];
      for (const f of report.feeds) rows.push([f.id, f.status, f.location]);
      process.stdout.write(table(rows) + "\n");
      if (report.build) printBuild(report.build, false);
      else if (existsSync(target)) process.stdout.write(`${target}: up to date, nothing imported\n`);
    }
    if (!report.build && !existsSync(target)) {
      throw new VulnDbError(`no feed could be fetched, so no database was built at ${target}`);
    }
    if (!report.build && report.feeds.length && report.feeds.every((f) => f.status === "failed")) {
      throw new VulnDbError("no feed could be fetched; the database is unchanged");
    }
    if (report.build) await publishIfCluster(config, target, opts.json);
  } finally {
    problems.end();
  }
});

export type StatusOptions = DbOptions & { problems?: boolean };

/** `drydock db status` (options: main.ts). */
export const status = guarded(async (opts: StatusOptions) => {
  const config = configFor(opts);
  const path = vulnDbPath(config, opts.db);
  const last = lastUpdateOf(path);
  if (!existsSync(path) && last)
    throw new VulnDbError(
      `no vulnerability database at ${path}: the server's last scheduled update ${last.outcome} at ${last.at}` +
        (last.error !== undefined ? ` (${last.error})` : "") +
        "; import one with `drydock db import PATH` (docs/vulndb.md)",
    );
  const vdb = VulnDb.open(path);
  try {
    if (opts.problems) {
      const list = vdb.problems();
      if (opts.json) process.stdout.write(JSON.stringify(list, null, 2) + "\n");
      else for (const p of list) process.stdout.write(`${p.feed}: ${p.document}: ${p.reason}\n`);
      return;
    }
    printStatus(vdb.status(), config.vulndb.maxAgeHours, opts.json);
  } finally {
    vdb.close();
  }
});

/** `drydock db diff OLD NEW`. */
export const diff = guarded(async (oldPath: string, newPath: string) => {
  process.stdout.write(JSON.stringify(diffVulnDbs(resolve(oldPath), resolve(newPath)), null, 2) + "\n");
});
