import type { Finding } from "../match/types.js";
import type { MetaStore } from "../storage/meta/store.js";
import type { ImageScanState, RegistryScanningConfiguration, ScanStatus, ScanType } from "./types.js";

/** Queries of the scanning tables (schema.ts, migration 0003_scans); any MetaStore or transaction. */

export const DEFAULT_SCANNING_CONFIGURATION: RegistryScanningConfiguration = { scanType: "BASIC", rules: [] };
const REGISTRY_KEY = "registry";

export async function readScanningConfiguration(meta: MetaStore): Promise<RegistryScanningConfiguration> {
  const row = await meta.db
    .selectFrom("scan_settings")
    .select("value")
    .where("key", "=", REGISTRY_KEY)
    .executeTakeFirst();
  return row ? (JSON.parse(row.value) as RegistryScanningConfiguration) : DEFAULT_SCANNING_CONFIGURATION;
}

export async function writeScanningConfiguration(
  meta: MetaStore,
  c: RegistryScanningConfiguration,
  now: number,
): Promise<void> {
  const value = JSON.stringify(c);
  await meta.db
    .insertInto("scan_settings")
    .values({ key: REGISTRY_KEY, value, updated_at: now })
    .onConflict((oc) => oc.column("key").doUpdateSet({ value, updated_at: now }))
    .execute();
}

/**
 * The repository-level scanOnPush flag, from the ECR API's settings table (0002_ecr,
 * src/api/ecr owns it): no row means ECR's default, false.
 */
export async function repositoryScanOnPush(meta: MetaStore, repositoryId: number): Promise<boolean> {
  const row = await meta.db
    .selectFrom("ecr_repository_settings")
    .select("scan_on_push")
    .where("repository_id", "=", repositoryId)
    .executeTakeFirst();
  return !!row?.scan_on_push;
}

export async function tagsOf(meta: MetaStore, repositoryId: number, digest: string): Promise<string[]> {
  const rows = await meta.db
    .selectFrom("tags")
    .select("name")
    .where("repository_id", "=", repositoryId)
    .where("digest", "=", digest)
    .orderBy("name")
    .execute();
  return rows.map((r) => r.name);
}

export interface ScanRow {
  scanType: ScanType;
  status: ScanStatus;
  description: string | null;
  lastScanAt: number;
  completedAt: number | null;
  vulnerabilitySourceUpdatedAt: number | null;
  severityCounts: Record<string, number> | null;
}

export async function readScan(
  meta: MetaStore,
  repositoryId: number,
  digest: string,
): Promise<ScanRow | null> {
  const r = await meta.db
    .selectFrom("image_scans")
    .selectAll()
    .where("repository_id", "=", repositoryId)
    .where("digest", "=", digest)
    .executeTakeFirst();
  if (!r) return null;
  return {
    scanType: r.scan_type,
    status: r.status as ScanStatus,
    description: r.description,
    lastScanAt: Number(r.last_scan_at),
    completedAt: r.completed_at === null ? null : Number(r.completed_at),
    vulnerabilitySourceUpdatedAt:
      r.vulnerability_source_updated_at === null ? null : Number(r.vulnerability_source_updated_at),
    severityCounts: r.severity_counts ? (JSON.parse(r.severity_counts) as Record<string, number>) : null,
  };
}

/** A scan starts: the state becomes `status` (IN_PROGRESS or PENDING); the last findings stay. */
export async function markScanStarted(
  meta: MetaStore,
  repositoryId: number,
  digest: string,
  scanType: ScanType,
  status: ScanStatus,
  now: number,
): Promise<void> {
  await meta.db
    .insertInto("image_scans")
    .values({
      repository_id: repositoryId,
      digest,
      scan_type: scanType,
      status,
      description: null,
      last_scan_at: now,
      completed_at: null,
      vulnerability_source_updated_at: null,
      severity_counts: null,
      updated_at: now,
    })
    .onConflict((oc) =>
      oc.columns(["repository_id", "digest"]).doUpdateSet({
        scan_type: scanType,
        status,
        description: null,
        last_scan_at: now,
        updated_at: now,
      }),
    )
    .execute();
}

/** A scan ended without findings (FAILED, UNSUPPORTED_IMAGE, FINDINGS_UNAVAILABLE). */
export async function markScanEnded(
  meta: MetaStore,
  repositoryId: number,
  digest: string,
  status: ScanStatus,
  description: string,
  now: number,
): Promise<void> {
  await meta.db
    .updateTable("image_scans")
    .set({ status, description, updated_at: now })
    .where("repository_id", "=", repositoryId)
    .where("digest", "=", digest)
    .execute();
}

const INSERT_BATCH = 200;

/** A scan completed: its findings replace the previous scan's, with the state, atomically (run in a tx). */
export async function storeCompletedScan(
  tx: MetaStore,
  repositoryId: number,
  digest: string,
  s: {
    status: ScanStatus;
    description: string;
    findings: Finding[];
    severityCounts: Record<string, number>;
    vulnerabilitySourceUpdatedAt: number;
  },
  now: number,
): Promise<void> {
  await tx.db
    .deleteFrom("scan_findings")
    .where("repository_id", "=", repositoryId)
    .where("digest", "=", digest)
    .execute();
  for (let i = 0; i < s.findings.length; i += INSERT_BATCH) {
    await tx.db
      .insertInto("scan_findings")
      .values(
        s.findings.slice(i, i + INSERT_BATCH).map((f, j) => ({
          repository_id: repositoryId,
          digest,
          seq: i + j,
          vulnerability_id: f.vulnerabilityId,
          severity: f.severity,
          package_name: f.package.name,
          json: JSON.stringify(f),
        })),
      )
      .execute();
  }
  await tx.db
    .updateTable("image_scans")
    .set({
      status: s.status,
      description: s.description,
      completed_at: now,
      vulnerability_source_updated_at: s.vulnerabilitySourceUpdatedAt,
      severity_counts: JSON.stringify(s.severityCounts),
      updated_at: now,
    })
    .where("repository_id", "=", repositoryId)
    .where("digest", "=", digest)
    .execute();
}

export async function readFindings(
  meta: MetaStore,
  repositoryId: number,
  digest: string,
): Promise<Finding[]> {
  const rows = await meta.db
    .selectFrom("scan_findings")
    .select("json")
    .where("repository_id", "=", repositoryId)
    .where("digest", "=", digest)
    .orderBy("seq")
    .execute();
  return rows.map((r) => JSON.parse(r.json) as Finding);
}

/** Removes an image's scan state, findings and pending jobs (the manifest is being deleted). */
export async function forgetImage(tx: MetaStore, repositoryId: number, digest: string): Promise<void> {
  for (const table of ["scan_findings", "image_scans"] as const) {
    await tx.db
      .deleteFrom(table)
      .where("repository_id", "=", repositoryId)
      .where("digest", "=", digest)
      .execute();
  }
  await tx.db
    .deleteFrom("scan_jobs")
    .where("repository_id", "=", repositoryId)
    .where("digest", "=", digest)
    .where("state", "=", "queued")
    .execute();
}

export function toState(repositoryName: string, digest: string, r: ScanRow): ImageScanState {
  return {
    repositoryName,
    imageDigest: digest,
    status: r.status,
    ...(r.description ? { description: r.description } : {}),
    ...(r.completedAt !== null ? { completedAt: r.completedAt } : {}),
    ...(r.vulnerabilitySourceUpdatedAt !== null
      ? { vulnerabilitySourceUpdatedAt: r.vulnerabilitySourceUpdatedAt }
      : {}),
    scanType: r.scanType,
  };
}
