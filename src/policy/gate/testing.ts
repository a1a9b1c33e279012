import type { MetaStore } from "../../storage/meta/store.js";

/** A finding of a test image: vulnerability id, severity, and its status (default ACTIVE). */
export type TestImageFinding = [string, string, ("ACTIVE" | "SUPPRESSED")?];

/**
 * Records a completed BASIC scan of a pushed image with these findings, as the scan service
 * stores one (what the pull gate and the admission webhook read): the scan started, its findings
 * put, the scan completed. A finding's package is `packageName(vulnerabilityId)`.
 */
export async function completeTestScan(
  meta: MetaStore,
  repo: string,
  digest: string,
  findings: readonly TestImageFinding[],
  packageName: (vulnerabilityId: string) => string = (id) => `pkg-${id.toLowerCase()}`,
): Promise<void> {
  const id = (await meta.registry.repositoryId(repo))!;
  await meta.scans.markStarted(id, digest, "BASIC", "IN_PROGRESS");
  const now = Date.now();
  await meta.findings.put(
    findings.map(([vulnerabilityId, severity, status]) => ({
      identity: {
        repositoryId: id,
        digest,
        scanType: "BASIC" as const,
        vulnerabilityId,
        packageName: packageName(vulnerabilityId),
        packagePath: "/var/lib/dpkg/status",
      },
      state: {
        status: status ?? "ACTIVE",
        severity,
        fixAvailable: "NO",
        inspectorScore: null,
        epssScore: null,
        exploitAvailable: false,
        firstObservedAt: now,
        lastObservedAt: now,
        updatedAt: now,
        closedAt: null,
      },
      document: JSON.stringify({
        vulnerabilityId,
        severity,
        title: "t",
        description: "d",
        cvss: [],
        references: [],
      }),
    })),
  );
  await meta.scans.markCompleted(id, digest, {
    status: "COMPLETE",
    description: "The scan was completed successfully.",
    severityCounts: {},
    vulnerabilitySourceUpdatedAt: now,
  });
}
