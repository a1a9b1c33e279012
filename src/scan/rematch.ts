import type { Distro, Package } from "../catalog/types.js";
import type { RegistryIdentity } from "../api/inspector2/finding.js";
import { reconcile, type FindingChange } from "../findings/lifecycle.js";
import { appendFindingEvents, suppressedPredicate } from "../findings/suppression.js";
import { packageMatchKeys } from "../match/keys.js";
import { markPartialFixes, matchPackages } from "../match/matcher.js";
import type { AdvisoryLookup } from "../match/types.js";
import type { Finding } from "../findings/finding.js";
import { packagePathOf } from "../storage/meta/finding-rows.js";
import type { MetaStore, StoredFindingRow } from "../storage/meta/store.js";
import { reportedSeverity } from "./engine.js";
import { decideRepository } from "./filters.js";
import { readScanningConfiguration } from "./state.js";
import { EXPIRED } from "./window.js";

/**
 * Continuous re-scanning without reading a layer: when the vulnerability database changes,
 * the images in CONTINUOUS_SCAN repositories (ENHANCED) whose stored inventories hold a
 * package under a changed match key, or a finding of a CVE whose facts changed (KEV, CVSS),
 * are matched again, those packages only, and the difference recorded in their findings.
 *
 * Planning (planRematch) runs once per database change, in one transaction: it finds the
 * images through the inventory index and queues `rematch` jobs of at most CHUNK images each;
 * a job (RematchJob) runs on any worker whose database is at least the planned build, matches
 * each distinct layer segment once for all the images of its chunk, and commits the chunk's
 * finding changes (and their events) in one transaction, exactly once (the job queue's lease
 * fences the commit).
 */

export const REMATCH_JOB = "rematch";
const CHUNK = 500;

/** What changed between the database the findings were matched with and the new one. */
export interface DatabaseChange {
  /** The new database's build time (epoch ms): jobs wait for a worker that has it. */
  builtAt: number;
  /** Match keys (`<ecosystem key> <name>`) of every advisory added, removed or changed; "all" after a rebuild nobody could diff. */
  keys: readonly string[] | "all";
  /** CVEs whose enrichment that findings carry changed (KEV, CVSS). */
  cves: readonly string[];
}

export interface RematchJob {
  builtAt: number;
  keys: string[] | "all";
  cves: string[];
  images: { repositoryId: number; digest: string }[];
}

/** Which repositories are watched: ENHANCED with a CONTINUOUS_SCAN rule that matches them. */
async function continuousRepositories(
  tx: MetaStore,
  repositoryIds: Iterable<number>,
  scanOnPush: (tx: MetaStore, repositoryId: number) => Promise<boolean>,
): Promise<Set<number>> {
  const config = await readScanningConfiguration(tx);
  const out = new Set<number>();
  if (config.scanType !== "ENHANCED") return out;
  for (const id of repositoryIds) {
    const name = await tx.registry.repositoryName(id);
    if (name === null) continue;
    if (decideRepository(config, name, await scanOnPush(tx, id)).scanFrequency === "CONTINUOUS_SCAN")
      out.add(id);
  }
  return out;
}

/**
 * Queues the re-matching of a database change (in the caller's transaction); returns the
 * number of images queued.
 */
export async function planRematch(
  tx: MetaStore,
  change: DatabaseChange,
  scanOnPush: (tx: MetaStore, repositoryId: number) => Promise<boolean>,
  /** Images per job (`scan.rematchChunkSize`). */
  chunk = CHUNK,
): Promise<number> {
  const images = new Map<string, { repositoryId: number; digest: string }>();
  const add = (repositoryId: number, digest: string) =>
    images.set(`${repositoryId}@${digest}`, { repositoryId, digest });
  if (change.keys === "all") {
    for (const i of await tx.inventories.allImages()) add(i.repositoryId, i.digest);
  } else if (change.keys.length) {
    const segments = await tx.inventories.segmentsWithKeys(change.keys);
    for (const i of await tx.inventories.imagesWithSegments(segments)) add(i.repositoryId, i.digest);
  }
  if (change.cves.length)
    for (const i of await tx.findings.imagesWithVulnerabilities(change.cves, "ENHANCED"))
      add(i.repositoryId, i.digest);
  const watched = await continuousRepositories(
    tx,
    new Set([...images.values()].map((i) => i.repositoryId)),
    scanOnPush,
  );
  const inWatched = [...images.values()].filter((i) => watched.has(i.repositoryId));
  // Images that left the rescan window are not monitored (scan/window.ts).
  const expired = new Set(
    (await tx.scans.inState(inWatched, "ENHANCED", EXPIRED)).map((i) => `${i.repositoryId}@${i.digest}`),
  );
  const queued = inWatched.filter((i) => !expired.has(`${i.repositoryId}@${i.digest}`));
  for (let i = 0; i < queued.length; i += chunk) {
    const job: RematchJob = {
      builtAt: change.builtAt,
      keys: change.keys === "all" ? "all" : [...change.keys],
      cves: [...change.cves],
      images: queued.slice(i, i + chunk),
    };
    await tx.jobs.enqueue({ kind: REMATCH_JOB, key: `${change.builtAt}#${i / chunk}`, payload: job });
  }
  return queued.length;
}

/** One image of a chunk, matched: the packages looked at, and what matched in them now. */
interface ImageMatch {
  repositoryId: number;
  digest: string;
  /** `name\0path` of every package looked at: the scope whose stored findings are reconciled. */
  scope: Set<string>;
  findings: Finding[];
}

const scopeKey = (name: string, path: string) => `${name}\u0000${path}`;

/**
 * Matches the images of a chunk again (no transaction): for each image, the packages of its
 * stored inventory that a changed key or CVE concerns; each distinct segment is matched once.
 */
export async function matchChunk(
  meta: MetaStore,
  job: RematchJob,
  db: AdvisoryLookup,
): Promise<ImageMatch[]> {
  const keys = job.keys === "all" ? null : new Set(job.keys);
  const cves = new Set(job.cves);
  // Packages named by the findings of a changed CVE, per image.
  const byCve = new Map<string, Set<string>>();
  if (cves.size)
    for (const image of job.images)
      for (const f of await meta.findings.forImage(image.repositoryId, image.digest, "ENHANCED"))
        if (cves.has(f.vulnerabilityId)) {
          const k = `${image.repositoryId}@${image.digest}`;
          const set = byCve.get(k) ?? new Set<string>();
          set.add(scopeKey(f.packageName, f.packagePath));
          byCve.set(k, set);
        }
  const segmentCache = new Map<string, { scope: Set<string>; findings: Finding[] }>();
  const out: ImageMatch[] = [];
  for (const image of job.images) {
    const inv = await meta.inventories.image(image.repositoryId, image.digest);
    if (!inv) continue; // deleted since it was planned
    const distro = inv.distro ? (JSON.parse(inv.distro) as Distro) : null;
    const named = byCve.get(`${image.repositoryId}@${image.digest}`);
    const scope = new Set<string>();
    const findings: Finding[] = [];
    for (const seg of inv.segments) {
      const cacheKey = `${seg.id}\u0000${inv.distro ?? ""}`;
      let r = named ? undefined : segmentCache.get(cacheKey);
      if (!r) {
        const packages = seg.packages
          .map((j) => JSON.parse(j) as Package)
          .filter(
            (p) =>
              keys === null ||
              packageMatchKeys(p, distro).some((k) => keys.has(k)) ||
              named?.has(scopeKey(p.name, packagePathOf(p))) === true,
          );
        r = {
          scope: new Set(packages.map((p) => scopeKey(p.name, packagePathOf(p)))),
          findings: packages.length ? matchPackages(packages, distro, db) : [],
        };
        if (!named) segmentCache.set(cacheKey, r);
      }
      for (const s of r.scope) scope.add(s);
      findings.push(...r.findings);
    }
    out.push({ repositoryId: image.repositoryId, digest: image.digest, scope, findings });
  }
  return out;
}

/** Records the matches of a chunk (in the job's commit transaction); returns the changes. */
export async function commitChunk(
  tx: MetaStore,
  matches: readonly ImageMatch[],
  now: number,
  /** The registry's identity: suppression filters apply and changes append `Inspector2 Finding` events. */
  aws?: RegistryIdentity,
): Promise<FindingChange[]> {
  const changes: FindingChange[] = [];
  // An image may have left the rescan window since the chunk was planned: its findings stay closed.
  const expired = new Set(
    (await tx.scans.inState(matches, "ENHANCED", EXPIRED)).map((i) => `${i.repositoryId}@${i.digest}`),
  );
  for (const m of matches) {
    if (expired.has(`${m.repositoryId}@${m.digest}`)) continue;
    // The image may have been deleted, or re-scanned, since: reconcile with what is stored now.
    if (!(await tx.inventories.has(m.repositoryId, m.digest))) continue;
    const stored = await tx.findings.forImage(m.repositoryId, m.digest, "ENHANCED");
    const inScope = (f: StoredFindingRow) => m.scope.has(scopeKey(f.packageName, f.packagePath));
    // PARTIAL depends on the image's other findings of the same vulnerability: recompute it over
    // the re-matched findings and the open ones kept; a kept finding whose fix availability
    // changes joins the reconciliation.
    const kept = stored.filter((f) => !inScope(f) && f.status !== "CLOSED");
    const keptDocs = kept.map((f) => JSON.parse(f.document) as Finding);
    const matched = m.findings.map((f) => ({ ...f }));
    markPartialFixes([...matched, ...keptDocs]);
    const previous = stored.filter(inScope);
    kept.forEach((f, i) => {
      if (keptDocs[i]!.fixAvailable !== f.fixAvailable) {
        previous.push(f);
        matched.push(keptDocs[i]!);
      }
    });
    const suppressed = aws ? await suppressedPredicate(tx, aws, m.repositoryId, m.digest, now) : undefined;
    const rec = reconcile(previous, matched, {
      repositoryId: m.repositoryId,
      digest: m.digest,
      scanType: "ENHANCED",
      now,
      severityOf: (f) => reportedSeverity(f.severity, "ENHANCED"),
      ...(suppressed ? { suppressed } : {}),
    });
    await tx.findings.put(rec.writes);
    await tx.findings.observe(rec.observed, now);
    if (aws) await appendFindingEvents(tx, aws, rec.changes, now);
    changes.push(...rec.changes);
  }
  return changes;
}
