import type { RegistryIdentity } from "../api/inspector2/finding.js";
import { closeAll, reconcile, type FindingChange } from "../findings/lifecycle.js";
import { appendFindingEvents, suppressedPredicate } from "../findings/suppression.js";
import type { ImageInventory } from "../image/types.js";
import { SEVERITY_ORDER, type Finding } from "../findings/finding.js";
import type { MetaStore, StoredFindingRow } from "../storage/meta/store.js";
import { reportedSeverity } from "./engine.js";
import { inventorySegments } from "./inventory.js";
import type { FindingLifecycle, ScanType, SeverityCounts } from "./types.js";

/**
 * What a scan leaves in the stores, in its commit transaction: the image's merged inventory
 * (for re-matching without reading a layer again) and its findings, reconciled with the stored
 * ones (src/findings/lifecycle.ts), so that a finding keeps its id and first observation.
 */

export interface ScanResult {
  repositoryId: number;
  digest: string;
  scanType: ScanType;
  inventory: ImageInventory;
  findings: readonly Finding[];
  now: number;
  /**
   * The registry's account and region: ENHANCED findings are then suppressed by the SUPPRESS
   * filters in force and each change appends an `Inspector2 Finding` event (src/findings/suppression.ts).
   */
  aws?: RegistryIdentity;
}

/** Stores the inventory and the findings of a completed scan; returns the finding changes. */
export async function recordScan(tx: MetaStore, r: ScanResult): Promise<FindingChange[]> {
  await tx.inventories.putImage(
    r.repositoryId,
    r.digest,
    r.inventory.distro ? JSON.stringify(r.inventory.distro) : null,
    inventorySegments(r.inventory),
  );
  const previous = await tx.findings.forImage(r.repositoryId, r.digest, r.scanType);
  const inspector = r.aws && r.scanType === "ENHANCED" ? r.aws : undefined;
  const suppressed = inspector
    ? await suppressedPredicate(tx, inspector, r.repositoryId, r.digest, r.now)
    : undefined;
  const rec = reconcile(previous, r.findings, {
    repositoryId: r.repositoryId,
    digest: r.digest,
    scanType: r.scanType,
    now: r.now,
    severityOf: (f) => reportedSeverity(f.severity, r.scanType),
    ...(suppressed ? { suppressed } : {}),
  });
  await tx.findings.put(rec.writes);
  await tx.findings.observe(rec.observed, r.now);
  if (inspector) await appendFindingEvents(tx, inspector, rec.changes, r.now);
  return rec.changes;
}

/**
 * An image's manifest is deleted: its findings close as `deleted` (kept 3 days, as Inspector
 * does; src/findings/retention.ts), and a push of the same digest while they are kept reopens
 * them under the same ids.
 */
export async function forgetImage(
  tx: MetaStore,
  repositoryId: number,
  digest: string,
  now: number,
  aws?: RegistryIdentity,
): Promise<FindingChange[]> {
  const changes: FindingChange[] = [];
  for (const scanType of ["BASIC", "ENHANCED"] as const) {
    const rec = closeAll(await tx.findings.forImage(repositoryId, digest, scanType), now, "deleted");
    await tx.findings.put(rec.writes);
    changes.push(...rec.changes);
  }
  if (aws) await appendFindingEvents(tx, aws, changes, now);
  await tx.inventories.forgetImage(repositoryId, digest);
  return changes;
}

const severityRank = (s: string) => {
  const i = (SEVERITY_ORDER as readonly string[]).indexOf(s === "UNTRIAGED" ? "UNDEFINED" : s);
  return i < 0 ? SEVERITY_ORDER.length : i;
};

/**
 * The open (ACTIVE) findings of an image under a scan type, most severe first, then by
 * vulnerability id and package, with their counts by severity: what DescribeImageScanFindings
 * shows; DescribeImages' summary counts the same rows (FindingStore.severityCounts).
 */
export async function openFindings(
  meta: MetaStore,
  repositoryId: number,
  digest: string,
  scanType: ScanType,
): Promise<{ findings: Finding[]; severityCounts: SeverityCounts; lifecycles: FindingLifecycle[] }> {
  const rows = await meta.findings.forImage(repositoryId, digest, scanType, { statuses: ["ACTIVE"] });
  rows.sort(
    (a: StoredFindingRow, b: StoredFindingRow) =>
      severityRank(a.severity) - severityRank(b.severity) ||
      (a.vulnerabilityId < b.vulnerabilityId ? -1 : a.vulnerabilityId > b.vulnerabilityId ? 1 : 0) ||
      (a.packageName < b.packageName ? -1 : a.packageName > b.packageName ? 1 : 0) ||
      (a.packagePath < b.packagePath ? -1 : a.packagePath > b.packagePath ? 1 : 0),
  );
  const severityCounts: SeverityCounts = {};
  for (const r of rows) {
    const s = r.severity as keyof SeverityCounts;
    severityCounts[s] = (severityCounts[s] ?? 0) + 1;
  }
  return {
    findings: rows.map((r) => JSON.parse(r.document) as Finding),
    severityCounts,
    lifecycles: rows.map((r) => ({
      id: r.id,
      status: r.status,
      firstObservedAt: r.firstObservedAt,
      lastObservedAt: r.lastObservedAt,
      updatedAt: r.updatedAt,
    })),
  };
}
