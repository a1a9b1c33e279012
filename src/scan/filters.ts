import {
  ScanError,
  type RegistryScanningConfiguration,
  type RepositoryFilter,
  type ScanFrequency,
  type ScanType,
} from "./types.js";

/**
 * Registry scanning rules, exactly as ECR documents them (image-scanning-filters.html):
 * a filter without `*` matches every repository name that contains it; with `*`, the filter
 * is anchored at both ends and `*` matches zero or more characters. Continuous-scan filters
 * win over scan-on-push filters.
 */

export const MAX_RULES = 2;
export const MAX_FILTERS_PER_RULE = 100;
const FILTER_RE = /^[a-z0-9*](?:[._\-/a-z0-9*]?[a-z0-9*]+)*$/;

const ALLOWED: Record<ScanType, readonly ScanFrequency[]> = {
  BASIC: ["SCAN_ON_PUSH"],
  ENHANCED: ["SCAN_ON_PUSH", "CONTINUOUS_SCAN"],
};

export function filterMatches(filter: string, repositoryName: string): boolean {
  if (!filter.includes("*")) return repositoryName.includes(filter);
  const re = filter
    .split("*")
    .map((part) => part.replace(/[.+?^${}()|[\]\\/-]/g, "\\$&"))
    .join(".*");
  return new RegExp(`^${re}$`).test(repositoryName);
}

/** Throws ScanError("Validation") unless the configuration is one ECR accepts. */
export function validateScanningConfiguration(c: RegistryScanningConfiguration): void {
  if (c.scanType !== "BASIC" && c.scanType !== "ENHANCED")
    throw new ScanError("Validation", `scanType must be BASIC or ENHANCED, got ${String(c.scanType)}`);
  if (c.rules.length > MAX_RULES)
    throw new ScanError(
      "Validation",
      `at most ${MAX_RULES} scanning rules are allowed, got ${c.rules.length}`,
    );
  for (const rule of c.rules) {
    if (!ALLOWED[c.scanType].includes(rule.scanFrequency)) {
      throw new ScanError(
        "Validation",
        `scanFrequency ${String(rule.scanFrequency)} is not allowed for scanType ${c.scanType} (allowed: ${ALLOWED[c.scanType].join(", ")})`,
      );
    }
    if (rule.repositoryFilters.length > MAX_FILTERS_PER_RULE) {
      throw new ScanError(
        "Validation",
        `at most ${MAX_FILTERS_PER_RULE} repository filters per rule are allowed, got ${rule.repositoryFilters.length}`,
      );
    }
    for (const f of rule.repositoryFilters) {
      if (f.filterType !== "WILDCARD")
        throw new ScanError("Validation", `filterType must be WILDCARD, got ${String(f.filterType)}`);
      if (
        typeof f.filter !== "string" ||
        f.filter.length < 1 ||
        f.filter.length > 255 ||
        !FILTER_RE.test(f.filter)
      )
        throw new ScanError("Validation", `invalid repository filter ${JSON.stringify(f.filter)}`);
    }
  }
}

export interface RepositoryDecision {
  /** The effective frequency, as BatchGetRepositoryScanningConfiguration reports it. */
  scanFrequency: ScanFrequency;
  /** The filters of the winning rule kind that match the repository. */
  appliedScanFilters: RepositoryFilter[];
  /** Whether a push is scanned. */
  scanOnPush: boolean;
  /** Whether StartImageScan is allowed (BASIC only). */
  manualAllowed: boolean;
}

/**
 * The effective scanning of one repository. `repositoryScanOnPush` is the repository-level
 * flag (PutImageScanningConfiguration / CreateRepository); it applies to BASIC scanning when
 * the registry has no rules (ECR ignores it under ENHANCED, where rules alone decide).
 */
export function decideRepository(
  c: RegistryScanningConfiguration,
  repositoryName: string,
  repositoryScanOnPush = false,
): RepositoryDecision {
  const matching = (freq: ScanFrequency) =>
    c.rules
      .filter((r) => r.scanFrequency === freq)
      .flatMap((r) => r.repositoryFilters)
      .filter((f) => filterMatches(f.filter, repositoryName));
  const manualAllowed = c.scanType === "BASIC";
  if (c.scanType === "ENHANCED") {
    const continuous = matching("CONTINUOUS_SCAN");
    if (continuous.length)
      return {
        scanFrequency: "CONTINUOUS_SCAN",
        appliedScanFilters: continuous,
        scanOnPush: true,
        manualAllowed,
      };
  }
  const onPush = matching("SCAN_ON_PUSH");
  if (onPush.length)
    return { scanFrequency: "SCAN_ON_PUSH", appliedScanFilters: onPush, scanOnPush: true, manualAllowed };
  if (c.scanType === "BASIC" && c.rules.length === 0 && repositoryScanOnPush)
    return { scanFrequency: "SCAN_ON_PUSH", appliedScanFilters: [], scanOnPush: true, manualAllowed };
  // BASIC: MANUAL (StartImageScan only). ENHANCED: not scanned at all (reported as MANUAL).
  return { scanFrequency: "MANUAL", appliedScanFilters: [], scanOnPush: false, manualAllowed };
}
