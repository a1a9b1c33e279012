import { bestCvss } from "../api/inspector2/finding.js";
import type { Finding } from "./finding.js";
import type {
  ClosedReason,
  FindingIdentity,
  FindingState,
  FindingStatus,
  FindingWrite,
  StoredFindingRow,
} from "../storage/meta/store.js";
import { documentParts, findingId, packagePathOf, type DocumentParts } from "../storage/meta/finding-rows.js";

/**
 * The lifecycle of findings, as Amazon Inspector defines it: a finding is identified by
 * (repository, image, scan type, vulnerability id, package, its path), so its id (and ARN) is
 * the same at every match. A match that finds it for the first time creates it ACTIVE with
 * `firstObservedAt` now; one that finds it again moves `lastObservedAt`, and `updatedAt` when
 * any of its fields changed (severity, score, fix, EPSS, KEV, text); one that no longer finds
 * it closes it (CLOSED, `closedAt`, reason `fixed`); a closed finding found again while it is
 * kept (src/findings/retention.ts) is ACTIVE again under the same id, its first observation
 * kept. SUPPRESSED replaces ACTIVE while a suppression rule matches the finding. A finding also
 * closes, whatever a match says, when its image is deleted (`deleted`) or leaves the rescan
 * window (`ineligible`): closeAll. The reason decides how long the closed finding is kept.
 */

export type FindingChangeKind = "created" | "updated" | "closed" | "reopened";

/** One change of one finding, for events and metrics. */
export interface FindingChange {
  kind: FindingChangeKind;
  id: string;
  identity: FindingIdentity;
  state: FindingState;
  /** The finding document after the change (the last one known for a closed finding). */
  document: string;
  /** The matched finding itself (not for a closed one): what the document is the JSON of. */
  finding?: Finding;
}

export interface Reconciliation {
  /** Rows to write (created, changed, closed, reopened). */
  writes: FindingWrite[];
  /** Ids found again unchanged: only their last observation moves. */
  observed: string[];
  changes: FindingChange[];
}

export interface ReconcileContext {
  repositoryId: number;
  digest: string;
  scanType: "BASIC" | "ENHANCED";
  now: number;
  /** The severity a finding is reported with by this scan type (engine.ts reportedSeverity). */
  severityOf: (f: Finding) => string;
  /** Whether a suppression rule hides this finding now (none: never). */
  suppressed?: (f: Finding) => boolean;
  /**
   * The stored parts of a matched finding (default: documentParts), for a caller that has them
   * memoized: a re-match finds the same findings of a shared layer in thousands of images.
   */
  partsOf?: (f: Finding) => DocumentParts;
}

/** The identity of a matched finding in an image. */
export function identityOf(
  f: Finding,
  ctx: Pick<ReconcileContext, "repositoryId" | "digest" | "scanType">,
): FindingIdentity {
  return {
    repositoryId: ctx.repositoryId,
    digest: ctx.digest,
    scanType: ctx.scanType,
    vulnerabilityId: f.vulnerabilityId,
    packageName: f.package.name,
    packagePath: packagePathOf(f.package),
  };
}

/**
 * What a match changes: `previous` are the stored findings of the scope that was matched (the
 * whole image after a scan; the packages a re-match looked at), `matched` what the match found
 * in that scope now. Findings of `previous` that are not matched any more are closed.
 */
export function reconcile(
  previous: readonly StoredFindingRow[],
  matched: readonly Finding[],
  ctx: ReconcileContext,
): Reconciliation {
  const byId = new Map(previous.map((r) => [r.id, r]));
  const out: Reconciliation = { writes: [], observed: [], changes: [] };
  const seen = new Set<string>();
  for (const f of matched) {
    const identity = identityOf(f, ctx);
    const id = findingId(identity);
    if (seen.has(id)) continue; // the matcher reports a (package instance, id) once; be safe
    seen.add(id);
    const parts = ctx.partsOf ? ctx.partsOf(f) : documentParts(f);
    const status: FindingStatus = ctx.suppressed?.(f) ? "SUPPRESSED" : "ACTIVE";
    const fields = {
      severity: ctx.severityOf(f),
      fixAvailable: f.fixAvailable,
      inspectorScore: inspectorScore(f),
      epssScore: f.epss?.score ?? null,
      exploitAvailable: f.kev,
    };
    const prev = byId.get(id);
    if (!prev) {
      const state: FindingState = {
        status,
        ...fields,
        firstObservedAt: ctx.now,
        lastObservedAt: ctx.now,
        updatedAt: ctx.now,
        closedAt: null,
        closedReason: null,
      };
      out.writes.push(lazyDocument({ identity, state, parts }, f));
      out.changes.push(lazyDocument({ kind: "created" as const, id, identity, state, finding: f }, f));
      continue;
    }
    const reopened = prev.status === "CLOSED";
    const changed = reopened || prev.status !== status || !sameContent(prev, parts, f);
    if (!changed) {
      out.observed.push(id);
      continue;
    }
    const state: FindingState = {
      status,
      ...fields,
      firstObservedAt: prev.firstObservedAt,
      lastObservedAt: ctx.now,
      updatedAt: ctx.now,
      closedAt: null,
      closedReason: null,
    };
    out.writes.push(lazyDocument({ identity, state, parts }, f));
    out.changes.push(
      lazyDocument(
        { kind: reopened ? ("reopened" as const) : ("updated" as const), id, identity, state, finding: f },
        f,
      ),
    );
  }
  for (const prev of previous) {
    if (seen.has(prev.id) || prev.status === "CLOSED") continue;
    const change = closeRow(prev, ctx.now, "fixed");
    out.writes.push(change);
    out.changes.push({ kind: "closed", id: prev.id, ...change });
  }
  return out;
}

/**
 * Closes findings whatever a match says, for `reason`: `deleted` (the image was deleted),
 * `ineligible` (it left the rescan window). Already closed ones are left as they are.
 */
export function closeAll(
  previous: readonly StoredFindingRow[],
  now: number,
  reason: ClosedReason,
): Reconciliation {
  const out: Reconciliation = { writes: [], observed: [], changes: [] };
  for (const prev of previous) {
    if (prev.status === "CLOSED") continue;
    const change = closeRow(prev, now, reason);
    out.writes.push(change);
    out.changes.push({ kind: "closed", id: prev.id, ...change });
  }
  return out;
}

function closeRow(prev: StoredFindingRow, now: number, reason: ClosedReason): FindingWrite {
  // Not `...prev`: that reads its document, joined from the stored parts when first read.
  const rest = prev;
  const identity: FindingIdentity = {
    repositoryId: rest.repositoryId,
    digest: rest.digest,
    scanType: rest.scanType,
    vulnerabilityId: rest.vulnerabilityId,
    packageName: rest.packageName,
    packagePath: rest.packagePath,
  };
  const state: FindingState = {
    status: "CLOSED",
    severity: rest.severity,
    fixAvailable: rest.fixAvailable,
    inspectorScore: rest.inspectorScore,
    epssScore: rest.epssScore,
    exploitAvailable: rest.exploitAvailable,
    firstObservedAt: rest.firstObservedAt,
    lastObservedAt: rest.lastObservedAt,
    updatedAt: now,
    closedAt: now,
    closedReason: reason,
  };
  const write = { identity, state, ...(prev.parts ? { parts: prev.parts } : {}) };
  // The stored document is joined from its parts only if someone reads it (an event does).
  return Object.defineProperty(write, "document", {
    enumerable: true,
    configurable: true,
    get: () => prev.document,
  }) as FindingWrite;
}

/**
 * `o` with a `document` that is the JSON of `f`, made when first read: a write with its parts
 * and a change whose event reads the finding itself never need it.
 */
function lazyDocument<T extends object>(o: T, f: Finding): T & { document: string } {
  let document: string | undefined;
  return Object.defineProperty(o, "document", {
    enumerable: true,
    configurable: true,
    get: () => (document ??= JSON.stringify(f)),
  }) as T & { document: string };
}

/**
 * Whether a stored finding holds this content: its stored parts compared with the match's (the
 * document read back has its keys in another order than the matcher's, so comparing documents
 * would call every finding of every match "updated"); rows without parts by their document.
 */
function sameContent(prev: StoredFindingRow, parts: DocumentParts, f: Finding): boolean {
  if (prev.parts) return prev.parts.own === parts.own && prev.parts.details === parts.details;
  return prev.document === JSON.stringify(f);
}

/**
 * Inspector's score: the CVSS base score the Inspector Finding shows as `inspectorScore`
 * (api/inspector2/finding.ts bestCvss: NVD's v3, else any v3, else v4, else v2), so that the
 * store's column sorts and narrows as the Finding reads; null when none.
 */
export function inspectorScore(f: Finding): number | null {
  return bestCvss(f.cvss)?.score ?? null;
}
