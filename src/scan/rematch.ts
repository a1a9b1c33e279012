import type { Distro, Package } from "../catalog/types.js";
import type { RegistryIdentity } from "../api/inspector2/finding.js";
import { reconcile, type FindingChange } from "../findings/lifecycle.js";
import { appendFindingEventsOf, suppressedPredicates } from "../findings/suppression.js";
import { packageMatchKeys } from "../match/keys.js";
import { markPartialFixes, matchPackages } from "../match/matcher.js";
import type { AdvisoryLookup } from "../match/types.js";
import type { Advisory, Enrichment } from "../vulndb/types.js";
import type { Finding } from "../findings/finding.js";
import { documentParts, packagePathOf, type DocumentParts } from "../storage/meta/finding-rows.js";
import type { FindingWrite, MetaStore, StoredFindingRow } from "../storage/meta/store.js";
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
  /**
   * The images; `segments`: those of its inventory segments that hold a changed key (the plan
   * found them through the index), the only ones a keys re-match reads; absent: every one.
   */
  images: { repositoryId: number; digest: string; segments?: number[] }[];
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
  const images = new Map<string, RematchJob["images"][number]>();
  const add = (repositoryId: number, digest: string, segments?: number[]) => {
    const k = `${repositoryId}@${digest}`;
    // An image a changed CVE names is matched over all its segments (the CVE's package may be in any).
    images.set(k, images.has(k) || !segments ? { repositoryId, digest } : { repositoryId, digest, segments });
  };
  if (change.keys === "all") {
    for (const i of await tx.inventories.allImages()) add(i.repositoryId, i.digest);
  } else if (change.keys.length) {
    const segments = await tx.inventories.segmentsWithKeys(change.keys);
    for (const i of await tx.inventories.imagesWithSegments(segments))
      add(i.repositoryId, i.digest, i.segmentIds);
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
  /** Every package was looked at (a re-match of everything): all the image's findings are in scope. */
  everything?: boolean;
  findings: Finding[];
}

const scopeKey = (name: string, path: string) => `${name}\u0000${path}`;
const imageKey = (i: { repositoryId: number; digest: string }) => `${i.repositoryId}@${i.digest}`;

/** A stored package of a chunk: parsed once, its match keys and findings computed at most once. */
interface PackageEntry {
  layer: string | undefined;
  scope: string;
  keys: string[];
  /** The package's findings (computed when first needed), bound to its layer. */
  findings?: Finding[];
  /** The findings of the same package content in any layer (the memo they were bound from). */
  content: ContentEntry;
  package: Package;
}

interface ContentEntry {
  keys: string[];
  findings?: Finding[];
}

/**
 * Matching for one chunk: a package document stored in a segment is parsed and keyed once for
 * every image of the chunk that shares the segment; a package content (the same package in
 * another layer: the dependency tree or binary every build of an application repeats) is
 * matched once; the database's lookups are cached for the chunk.
 */
class ChunkMatcher {
  private readonly entries = new Map<string, PackageEntry>();
  private readonly contents = new Map<string, ContentEntry>();
  private readonly distros = new Map<string, Distro | null>();
  private readonly db: AdvisoryLookup;

  constructor(db: AdvisoryLookup) {
    const advisories = new Map<string, Advisory[]>();
    const enrichment = new Map<string, Enrichment | null>();
    this.db = {
      advisoriesFor: (ecosystem, pkg) => {
        const k = `${ecosystem}\u0000${pkg}`;
        let list = advisories.get(k);
        if (!list) advisories.set(k, (list = db.advisoriesFor(ecosystem, pkg)));
        return list;
      },
      enrichment: (ids) => {
        const missing = ids.filter((id) => !enrichment.has(id));
        if (missing.length) {
          const got = db.enrichment(missing);
          for (const id of missing) enrichment.set(id, got.get(id) ?? null);
        }
        const out = new Map<string, Enrichment>();
        for (const id of ids) {
          const e = enrichment.get(id);
          if (e) out.set(id, e);
        }
        return out;
      },
    };
  }

  distro(json: string | null): Distro | null {
    if (json === null) return null;
    let d = this.distros.get(json);
    if (d === undefined) this.distros.set(json, (d = JSON.parse(json) as Distro));
    return d;
  }

  /** A stored package document of an image of this distro. */
  entry(json: string, distroJson: string | null): PackageEntry {
    const k = `${distroJson ?? ""}\u0000${json}`;
    let e = this.entries.get(k);
    if (e) return e;
    const p = JSON.parse(json) as Package;
    const { layer, ...rest } = p;
    const ck = `${distroJson ?? ""}\u0000${JSON.stringify(rest)}`;
    let content = this.contents.get(ck);
    if (!content) this.contents.set(ck, (content = { keys: packageMatchKeys(p, this.distro(distroJson)) }));
    e = { layer, scope: scopeKey(p.name, packagePathOf(p)), keys: content.keys, content, package: p };
    this.entries.set(k, e);
    return e;
  }

  /** The findings of a package entry, matched once per content, bound to the entry's layer. */
  findings(e: PackageEntry, distroJson: string | null): Finding[] {
    if (e.findings) return e.findings;
    const c = e.content;
    c.findings ??= matchPackages([e.package], this.distro(distroJson), this.db);
    e.findings = c.findings.map((f) =>
      f.package.layer === e.layer ? f : { ...f, package: { ...f.package, layer: e.layer } },
    );
    return e.findings;
  }
}

/**
 * Matches the images of a chunk again (no transaction): for each image, the packages of its
 * stored inventory that a changed key or CVE concerns, read from the segments that hold them
 * (the plan names them); each stored package is keyed once and each package content matched
 * once for the whole chunk (ChunkMatcher).
 */
export async function matchChunk(
  meta: MetaStore,
  job: RematchJob,
  db: AdvisoryLookup,
): Promise<ImageMatch[]> {
  const keys = job.keys === "all" ? null : new Set(job.keys);
  const stored = await meta.inventories.segmentsOf(job.images); // deleted since the plan: absent
  // Packages named by the findings of a changed CVE, per image.
  const named = new Map<string, Set<string>>();
  if (job.cves.length)
    for (const f of await meta.findings.forImages(stored, "ENHANCED", { vulnerabilityIds: job.cves })) {
      const k = imageKey(f);
      const set = named.get(k) ?? new Set<string>();
      set.add(scopeKey(f.packageName, f.packagePath));
      named.set(k, set);
    }
  // The segments to read per image: those the plan found holding a changed key, when it says,
  // and still the image's; every one for a re-match of everything or of a CVE's packages.
  const planned = new Map(job.images.map((i) => [imageKey(i), i.segments]));
  const segmentsOf = new Map<string, number[]>();
  const needed = new Set<number>();
  for (const inv of stored) {
    const k = imageKey(inv);
    const only = planned.get(k);
    const ids =
      keys === null || named.has(k) || !only
        ? inv.segmentIds
        : inv.segmentIds.filter((id) => only.includes(id));
    segmentsOf.set(k, ids);
    for (const id of ids) needed.add(id);
  }
  const packages = await meta.inventories.segmentPackages([...needed]);
  const matcher = new ChunkMatcher(db);
  // Per segment and distro: its entries a changed key concerns (all for a re-match of everything).
  const concerned = new Map<string, PackageEntry[]>();
  const concernedIn = (segment: number, distroJson: string | null): PackageEntry[] => {
    const k = `${segment}\u0000${distroJson ?? ""}`;
    let list = concerned.get(k);
    if (!list) {
      const all = (packages.get(segment) ?? []).map((j) => matcher.entry(j, distroJson));
      concerned.set(k, (list = keys === null ? all : all.filter((e) => e.keys.some((x) => keys.has(x)))));
    }
    return list;
  };
  const out: ImageMatch[] = [];
  for (const inv of stored) {
    const k = imageKey(inv);
    const names = named.get(k);
    const scope = new Set<string>();
    const findings: Finding[] = [];
    const take = (e: PackageEntry) => {
      scope.add(e.scope);
      findings.push(...matcher.findings(e, inv.distro));
    };
    for (const id of segmentsOf.get(k) ?? []) {
      if (names && keys !== null) {
        // A changed CVE's packages may be anywhere in the image: every stored package is looked at.
        for (const j of packages.get(id) ?? []) {
          const e = matcher.entry(j, inv.distro);
          if (e.keys.some((x) => keys.has(x)) || names.has(e.scope)) take(e);
        }
      } else for (const e of concernedIn(id, inv.distro)) take(e);
    }
    out.push({
      repositoryId: inv.repositoryId,
      digest: inv.digest,
      scope,
      ...(keys === null ? { everything: true } : {}),
      findings,
    });
  }
  return out;
}

/**
 * Records the matches of a chunk (in the job's commit transaction); returns the changes. The
 * stored findings of the chunk's images are read, and their changes and events written, in a
 * few statements for the whole chunk.
 */
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
  // The image may have been deleted, or re-scanned, since: reconcile with what is stored now.
  const present = new Set(
    (await tx.inventories.stored(matches.filter((m) => !expired.has(imageKey(m))))).map(imageKey),
  );
  const todo = matches.filter((m) => present.has(imageKey(m)));
  if (!todo.length) return changes;
  // The stored findings of the packages looked at (every finding of an image matched whole),
  // and, for PARTIAL, which depends on the image's other findings of the same vulnerability,
  // the open ones of the vulnerabilities matched again: one read.
  const whole = todo.filter((m) => m.everything);
  const partial = todo.filter((m) => !m.everything);
  const names = [
    ...new Set(partial.flatMap((m) => [...m.scope].map((s) => s.slice(0, s.indexOf("\u0000"))))),
  ];
  const matchedIds = new Set(partial.flatMap((m) => m.findings.map((f) => f.vulnerabilityId)));
  const rows = [
    ...(whole.length ? await tx.findings.forImages(whole, "ENHANCED") : []),
    ...(partial.length && (names.length || matchedIds.size)
      ? await tx.findings.forImages(partial, "ENHANCED", {
          packageNames: names,
          vulnerabilityIds: [...matchedIds],
        })
      : []),
  ];
  const inScope = (m: ImageMatch, f: StoredFindingRow) =>
    m.everything === true || m.scope.has(scopeKey(f.packageName, f.packagePath));
  // The vulnerabilities of stored findings in scope that were not matched again (they close):
  // their open findings outside the scope are read as well.
  const seen = new Set(rows.map((r) => r.id));
  const partialKeys = new Map(partial.map((m) => [imageKey(m), m]));
  const closing = new Set<string>();
  for (const r of rows) {
    const m = partialKeys.get(imageKey(r));
    if (m && inScope(m, r) && !matchedIds.has(r.vulnerabilityId)) closing.add(r.vulnerabilityId);
  }
  if (closing.size)
    for (const r of await tx.findings.forImages(partial, "ENHANCED", {
      vulnerabilityIds: [...closing],
      statuses: ["ACTIVE", "SUPPRESSED"],
    }))
      if (!seen.has(r.id)) rows.push(r);
  const byImage = new Map<string, StoredFindingRow[]>();
  for (const r of rows) {
    const list = byImage.get(imageKey(r)) ?? [];
    list.push(r);
    byImage.set(imageKey(r), list);
  }
  const suppressedOf = aws ? await suppressedPredicates(tx, aws, todo, now) : undefined;
  // The stored parts of matched findings, made once per finding of the chunk's matcher and fix
  // availability: the findings of a shared layer are the same objects in all its images.
  const templateOf = new WeakMap<Finding, Finding>();
  const partsMemo = new WeakMap<Finding, Map<string, DocumentParts>>();
  const partsOf = (f: Finding): DocumentParts => {
    const t = templateOf.get(f);
    if (!t) return documentParts(f);
    let byFix = partsMemo.get(t);
    if (!byFix) partsMemo.set(t, (byFix = new Map()));
    let parts = byFix.get(f.fixAvailable);
    if (!parts) byFix.set(f.fixAvailable, (parts = documentParts(f)));
    return parts;
  };
  const writes: FindingWrite[] = [];
  const observed: string[] = [];
  for (const m of todo) {
    const k = imageKey(m);
    const stored = byImage.get(k) ?? [];
    const previous = stored.filter((f) => inScope(m, f));
    // copies (PARTIAL is marked per image), each knowing the finding it copies
    const matched = m.findings.map((f) => {
      const copy = { ...f };
      templateOf.set(copy, f);
      return copy;
    });
    // Open findings outside the scope, of a vulnerability matched again or stored in the scope:
    // PARTIAL is recomputed over them and the matched ones, first on what their columns say
    // (a fixed version exactly when YES); those whose fix availability changes are read whole
    // and join the reconciliation.
    const vulnerabilities = new Set([...matched, ...previous].map((f) => f.vulnerabilityId));
    const kept = stored.filter(
      (f) => f.status !== "CLOSED" && !inScope(m, f) && vulnerabilities.has(f.vulnerabilityId),
    );
    if (kept.length) {
      const standIns = kept.map((f) => ({
        vulnerabilityId: f.vulnerabilityId,
        fixedVersion: f.fixAvailable === "YES" ? "yes" : undefined,
        fixAvailable: f.fixAvailable,
      }));
      markPartialFixes([...matched, ...(standIns as unknown as Finding[])]);
      kept.forEach((f, i) => {
        if (standIns[i]!.fixAvailable === f.fixAvailable) return;
        const doc = JSON.parse(f.document) as Finding;
        doc.fixAvailable = standIns[i]!.fixAvailable as Finding["fixAvailable"];
        previous.push(f);
        matched.push(doc);
      });
    } else markPartialFixes(matched);
    const suppressed = suppressedOf?.get(k);
    const rec = reconcile(previous, matched, {
      repositoryId: m.repositoryId,
      digest: m.digest,
      scanType: "ENHANCED",
      now,
      severityOf: (f) => reportedSeverity(f.severity, "ENHANCED"),
      ...(suppressed ? { suppressed } : {}),
      partsOf,
    });
    writes.push(...rec.writes);
    observed.push(...rec.observed);
    changes.push(...rec.changes);
  }
  await tx.findings.put(writes);
  await tx.findings.observe(observed, now);
  if (aws) await appendFindingEventsOf(tx, aws, changes, now);
  return changes;
}
