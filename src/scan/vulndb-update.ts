import { existsSync } from "node:fs";
import { recordLastUpdate } from "../vulndb/last-update.js";
import type { Logger } from "../core/logger.js";
import type { BlobStore } from "../storage/blob/types.js";
import type { MetaStore } from "../storage/meta/store.js";
import { importers as allImporters } from "../vulndb/importers/registry.js";
import type { FeedImporter } from "../vulndb/importers/types.js";
import { updateDatabase, type FeedFetchStatus, type UpdateReport } from "../vulndb/update.js";
import {
  builtAtOf,
  publishedVulnDb,
  publishVulnDbFile,
  VULNDB_REPOSITORY,
  type VulnDbSync,
} from "./vulndb-distribution.js";

/**
 * The server's scheduled vulnerability-database update (`vulndb.updateIntervalHours`; main.ts
 * runs it as the singleton "vulndb-update", so one background node of a cluster at a time):
 * what `drydock db update` does, on the node's own database file, the one its VulnDbProvider
 * watches. Only changed feeds are re-imported, into a copy renamed over the file at the end
 * (vulndb/build.ts), so scans switch to the new build without a restart and a failure of any
 * kind leaves the database in service as it was. In a cluster the new build is then published
 * to `_drydock/vulndb` (./vulndb-distribution.ts), from where the other workers fetch it.
 *
 * It never throws: the outcome is logged (failed feeds as warnings with their reason, a failed
 * update as an error) and returned. Logged locations and reasons carry no credentials.
 */

export interface VulnDbUpdateOptions {
  /** The node's database file (`dataPaths(config.data, config.vulndb.path).vulndb`). */
  target: string;
  /** `vulndb.mirror`: base URL or directory; default each feed's upstream URL. */
  mirror?: string;
  /** Per-file download timeout. */
  timeoutMs: number;
  importers?: readonly FeedImporter[];
  /**
   * In a cluster (shared stores): where a new build is published, and this node's copy of the
   * published build, brought up to date before the update (so the update extends the cluster's
   * newest build) and not replaced by a download while the new build is being published.
   */
  cluster?: { meta: MetaStore; blobs: BlobStore; sync?: VulnDbSync };
  /** The server stops: downloads end, a build stops between two documents; nothing changes. */
  signal?: AbortSignal;
  log?: Logger;
  fetchImpl?: typeof fetch;
  now?: Date;
}

export interface VulnDbUpdateResult {
  /**
   * `built`: a new database is in service; `unchanged`: nothing new; `failed`, `stopped` (by
   * `signal`): the database in service is the one before.
   */
  outcome: "built" | "unchanged" | "failed" | "stopped";
  /** Feeds per fetch status. */
  feeds: Record<FeedFetchStatus, number>;
  /** The manifest digest of the build published to the cluster by this run. */
  published?: string;
  /** Why the update or the publication failed (without credentials). */
  error?: string;
}

/** Runs one update, and records its outcome beside the database (lastUpdateOf); see the module comment. */
export async function runVulnDbUpdate(o: VulnDbUpdateOptions): Promise<VulnDbUpdateResult> {
  const sync = o.cluster?.sync;
  const r = await (sync ? sync.exclusive(() => update(o)) : update(o));
  if (r.outcome !== "stopped") {
    try {
      recordLastUpdate(o.target, r, o.now ?? new Date());
    } catch (e) {
      o.log?.warn({ err: safeError(e) }, "cannot record the outcome of the scheduled update");
    }
  }
  return r;
}

async function update(o: VulnDbUpdateOptions): Promise<VulnDbUpdateResult> {
  const log = o.log;
  const started = performance.now();
  const feeds: Record<FeedFetchStatus, number> = { updated: 0, unchanged: 0, missing: 0, failed: 0 };
  if (o.cluster?.sync) {
    try {
      await o.cluster.sync.sync();
    } catch (e) {
      log?.warn(
        { err: safeError(e) },
        "scheduled vulnerability database update: cannot fetch the cluster's published build first; updating the local one",
      );
    }
  }
  let report: UpdateReport;
  try {
    report = await updateDatabase({
      target: o.target,
      importers: o.importers ?? allImporters,
      mirror: o.mirror,
      timeoutMs: o.timeoutMs,
      fetchImpl: o.fetchImpl,
      signal: o.signal,
      now: o.now,
      onFeed: (u) =>
        log?.debug({ feed: u.id, location: withoutSecrets(u.location), status: u.status }, "feed"),
    });
  } catch (e) {
    if (o.signal?.aborted) {
      log?.info(
        { path: o.target },
        "scheduled vulnerability database update stopped: the database is unchanged",
      );
      return { outcome: "stopped", feeds };
    }
    const err = safeError(e);
    log?.error(
      { err, path: o.target },
      "scheduled vulnerability database update failed: the database in service is unchanged",
    );
    return { outcome: "failed", feeds, error: err.message };
  }
  for (const f of report.feeds) feeds[f.status]++;
  const asked = report.feeds.length - feeds.missing;
  const summary = {
    path: o.target,
    feeds,
    ms: Math.round(performance.now() - started),
    ...(report.build && { built: report.build.feeds.map((f) => f.id), problems: report.build.problems }),
  };
  const failed = report.feeds.filter((f) => f.status === "failed");
  if (!report.build && (asked === 0 || failed.length === asked)) {
    const error =
      asked === 0
        ? "no feed found in the mirror"
        : `no feed could be fetched (${failed.length} failed)${existsSync(o.target) ? "" : ", so there is no database"}`;
    // One line, not one per feed: offline, every feed fails the same way.
    const reasons = new Map<string, number>();
    for (const f of failed) {
      const r = withoutSecrets(f.reason ?? "");
      reasons.set(r, (reasons.get(r) ?? 0) + 1);
    }
    log?.error(
      { ...summary, reasons: Object.fromEntries([...reasons].slice(0, 5)) },
      `scheduled vulnerability database update failed: ${error}; the database in service is unchanged`,
    );
    return { outcome: "failed", feeds, error };
  }
  for (const f of failed)
    log?.warn(
      { feed: f.id, location: withoutSecrets(f.location), reason: withoutSecrets(f.reason ?? "") },
      "scheduled vulnerability database update: a feed failed, its previous data is kept",
    );
  log?.info(
    summary,
    report.build
      ? "scheduled vulnerability database update: new build in service"
      : "scheduled vulnerability database update: feeds unchanged",
  );
  const result: VulnDbUpdateResult = { outcome: report.build ? "built" : "unchanged", feeds };
  if (o.cluster) {
    try {
      result.published = await publish(o.cluster, o.target, report.build !== undefined);
      if (result.published)
        log?.info(
          { build: result.published, repository: VULNDB_REPOSITORY },
          "vulnerability database published to the cluster",
        );
    } catch (e) {
      const err = safeError(e);
      log?.error(
        { err },
        "the new vulnerability database could not be published to the cluster (the workers keep the previous build; retried at the next update)",
      );
      result.error = err.message;
    }
  }
  return result;
}

/**
 * Publishes the local database when this run built it, or when it is newer than the published
 * build (a publication that failed last time); returns the manifest digest, or undefined.
 */
async function publish(
  cluster: NonNullable<VulnDbUpdateOptions["cluster"]>,
  target: string,
  built: boolean,
): Promise<string | undefined> {
  if (!existsSync(target)) return undefined;
  if (!built) {
    const pub = await publishedVulnDb(cluster.meta, cluster.blobs);
    if (pub && builtAtOf(target) <= pub.builtAt) return undefined;
  }
  const p = await publishVulnDbFile(cluster.meta, cluster.blobs, target);
  await cluster.sync?.adopt(p.layer);
  return p.manifest;
}

/**
 * A location or message without credentials: the user part of URLs (`https://user:token@…`)
 * and their query strings (signed URLs) are replaced by `***`.
 */
export function withoutSecrets(s: string): string {
  return s
    .replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@]*@/gi, "$1***@")
    .replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^\s?#]*)\?[^\s#]*/gi, "$1?***");
}

/** An error for the log, credentials removed from its message and stack. */
function safeError(e: unknown): { type: string; message: string; stack?: string } {
  const err = e instanceof Error ? e : new Error(String(e));
  const cause = (err as { cause?: unknown }).cause;
  const message = cause instanceof Error && cause.message ? `${err.message}: ${cause.message}` : err.message;
  return {
    type: err.name,
    message: withoutSecrets(message),
    stack: err.stack === undefined ? undefined : withoutSecrets(err.stack),
  };
}
