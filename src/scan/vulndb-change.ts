import { existsSync, linkSync, renameSync, rmSync } from "node:fs";
import type { Logger } from "../core/logger.js";
import type { MetaStore } from "../storage/meta/store.js";
import { VulnDb } from "../vulndb/db.js";
import { diffVulnDbs } from "../vulndb/diff.js";
import { matchKeyOf } from "../match/keys.js";
import { planRematch, REMATCH_JOB, type DatabaseChange, type RematchJob } from "./rematch.js";

/**
 * Turns a change of the vulnerability database into re-matching work, once per change across
 * the cluster. The registry records which build the stored findings were matched with
 * (setting `vulndb-matched`); a node whose database is newer diffs the two builds (vulndb/diff:
 * the match keys of every advisory added, removed or changed, the CVEs whose KEV or CVSS facts
 * changed) and queues the re-matching (scan/rematch.ts) in the transaction that records the new
 * build. To diff, the node keeps a snapshot of the build it last planned from (a hard link:
 * builds are new files, never rewritten); without one that is exactly the recorded build (a
 * node that did not plan the last change), every watched image is re-matched: slower, never
 * wrong. Runs under the `vulndb-rematch` lease (jobs/singleton.ts), so one node plans at a time.
 */

const MATCHED_KEY = "vulndb-matched";

interface Matched {
  builtAt: number;
}

export interface PlannerOptions {
  /** The node's database file (the one its scans use). */
  path: string;
  /** Where the node keeps its snapshot of the last planned build. */
  snapshotPath: string;
  scanOnPush: (tx: MetaStore, repositoryId: number) => Promise<boolean>;
  /** Images per re-match job (`scan.rematchChunkSize`; default 500). */
  chunkSize?: number;
  log?: Logger;
}

export type PlanOutcome =
  | { kind: "no-database" }
  | { kind: "first"; builtAt: number }
  | { kind: "current"; builtAt: number }
  | { kind: "planned"; builtAt: number; from: number; images: number; keys: number | "all"; cves: number };

function builtAtOf(path: string): number | null {
  if (!existsSync(path)) return null;
  const db = VulnDb.open(path);
  try {
    return Date.parse(db.freshness().builtAt) || 0;
  } finally {
    db.close();
  }
}

export async function planDatabaseChange(meta: MetaStore, o: PlannerOptions): Promise<PlanOutcome> {
  const builtAt = builtAtOf(o.path);
  if (builtAt === null) return { kind: "no-database" };
  const matched = await meta.settings.registrySetting<Matched>(MATCHED_KEY);
  if (!matched) {
    // The first database: the scans that follow use it; nothing was matched before.
    await meta.settings.putRegistrySetting(MATCHED_KEY, { builtAt } satisfies Matched);
    snapshot(o.path, o.snapshotPath);
    return { kind: "first", builtAt };
  }
  if (builtAt <= matched.builtAt) {
    if (builtAt === matched.builtAt && builtAtOf(o.snapshotPath) !== builtAt)
      snapshot(o.path, o.snapshotPath);
    return { kind: "current", builtAt };
  }
  const change = diffFrom(o, matched.builtAt, builtAt);
  const outcome = await meta.tx(async (tx) => {
    const again = await tx.settings.registrySetting<Matched>(MATCHED_KEY);
    if (again && again.builtAt >= builtAt) return null; // another node planned it meanwhile
    const images = await planRematch(tx, change, o.scanOnPush, o.chunkSize);
    await tx.settings.putRegistrySetting(MATCHED_KEY, { builtAt } satisfies Matched);
    return images;
  });
  if (outcome === null) return { kind: "current", builtAt };
  snapshot(o.path, o.snapshotPath);
  const result: PlanOutcome = {
    kind: "planned",
    builtAt,
    from: matched.builtAt,
    images: outcome,
    keys: change.keys === "all" ? "all" : change.keys.length,
    cves: change.cves.length,
  };
  o.log?.info(result, "vulnerability database changed: re-matching the images it concerns");
  return result;
}

/**
 * A scan that matched with an older build than the one the registry's findings were last
 * planned for (a database change was planned while the scan ran: the plan could not see this
 * image's inventory, not stored yet, or re-matched it before the scan overwrote its findings)
 * queues the re-match of the whole image against that build, in the scan's commit
 * transaction; otherwise the image would keep the older build's findings until it is scanned
 * again. Returns whether it queued one.
 */
export async function rematchIfStale(
  tx: MetaStore,
  image: { repositoryId: number; digest: string },
  scannedWith: number,
): Promise<boolean> {
  const matched = await tx.settings.registrySetting<Matched>(MATCHED_KEY);
  if (!matched || matched.builtAt <= scannedWith) return false;
  const job: RematchJob = {
    builtAt: matched.builtAt,
    keys: "all",
    cves: [],
    images: [{ repositoryId: image.repositoryId, digest: image.digest }],
  };
  await tx.jobs.enqueue({
    kind: REMATCH_JOB,
    key: `${matched.builtAt}@${image.repositoryId}@${image.digest}`,
    payload: job,
  });
  return true;
}

/** The change from the recorded build to the node's: a diff when the snapshot is that build. */
function diffFrom(o: PlannerOptions, from: number, builtAt: number): DatabaseChange {
  if (builtAtOf(o.snapshotPath) !== from) {
    o.log?.warn(
      { from: new Date(from).toISOString() },
      "no copy of the database the findings were matched with: re-matching every watched image",
    );
    return { builtAt, keys: "all", cves: [] };
  }
  const d = diffVulnDbs(o.snapshotPath, o.path);
  return {
    builtAt,
    keys: [...new Set(d.keys.map(matchKeyOf))],
    cves: [...new Set([...d.enrichment.kevAdded, ...d.enrichment.kevRemoved, ...d.enrichment.cvssChanged])],
  };
}

/** Keeps the node's current build as its snapshot (a hard link, swapped in by rename). */
function snapshot(path: string, snapshotPath: string): void {
  const tmp = `${snapshotPath}.tmp`;
  rmSync(tmp, { force: true });
  linkSync(path, tmp);
  renameSync(tmp, snapshotPath);
}
