import type { CoverageRecord } from "../api/inspector2/backend.js";
import { imageResourceId, type RegistryIdentity } from "../api/inspector2/finding.js";
import { inspectorCoverageEvent } from "../events/envelope.js";
import { appendEvent } from "../events/log.js";
import type { MetaStore } from "../storage/meta/store.js";

/**
 * Inspector's coverage of an image: its scan status as ListCoverage reports it (statusCode and
 * reason), from the image's ENHANCED scan state and its repository's scan frequency; and the
 * `Inspector2 Coverage` event when it changes (first scan, rescan window expiry, revival,
 * unsupported image, findings unavailable).
 */

export type CoverageStatus = CoverageRecord["scanStatus"];
export type ScanFrequencyName = "MANUAL" | "SCAN_ON_PUSH" | "CONTINUOUS_SCAN";

/** An image's coverage status from its ENHANCED scan status (undefined: never scanned). */
export function coverageStatus(status: string | undefined, frequency: ScanFrequencyName): CoverageStatus {
  if (frequency === "MANUAL" && status === undefined)
    return { statusCode: "INACTIVE", reason: "SCAN_FREQUENCY_MANUAL" };
  switch (status) {
    case undefined:
    case "PENDING":
      return { statusCode: "ACTIVE", reason: "PENDING_INITIAL_SCAN" };
    case "IN_PROGRESS":
      return { statusCode: "ACTIVE", reason: "SCAN_IN_PROGRESS" };
    case "UNSUPPORTED_IMAGE":
      return { statusCode: "INACTIVE", reason: "UNSUPPORTED_MEDIA_TYPE" };
    case "FINDINGS_UNAVAILABLE":
      return { statusCode: "INACTIVE", reason: "INTERNAL_ERROR" };
    case "SCAN_ELIGIBILITY_EXPIRED":
      return { statusCode: "INACTIVE", reason: "SCAN_ELIGIBILITY_EXPIRED" };
    default:
      return {
        statusCode: "ACTIVE",
        reason: frequency === "SCAN_ON_PUSH" ? "SCAN_FREQUENCY_SCAN_ON_PUSH" : "SUCCESSFUL",
      };
  }
}

/**
 * Appends an `Inspector2 Coverage` event for an image whose ENHANCED scan status moved from
 * `before` (undefined: none) to `after`, when its coverage status differs (in the transaction
 * of the change). Returns whether it did.
 */
export async function appendCoverageChange(
  tx: MetaStore,
  registry: RegistryIdentity,
  e: {
    repositoryName: string;
    digest: string;
    frequency: ScanFrequencyName;
    before: string | undefined;
    after: string;
  },
  now: number,
): Promise<boolean> {
  const a = coverageStatus(e.before, e.frequency);
  const b = coverageStatus(e.after, e.frequency);
  if (a.statusCode === b.statusCode && a.reason === b.reason) return false;
  await appendEvent(
    tx,
    inspectorCoverageEvent(
      registry,
      {
        resourceId: imageResourceId(registry, e.repositoryName, e.digest),
        statusCode: b.statusCode,
        reason: b.reason,
      },
      now,
    ),
  );
  return true;
}
