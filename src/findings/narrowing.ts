import { isNegativePackageFilter, matchesStringFilters } from "../api/inspector2/criteria.js";
import { INSPECTOR_SEVERITY_ORDER } from "../api/inspector2/finding.js";
import type { FilterCriteria, SortCriteria, StringFilter } from "../api/inspector2/shapes.js";
import type {
  FindingNarrowing,
  FindingOrder,
  FindingOrderField,
  RangeNarrowing,
  StringNarrowing,
} from "../storage/meta/store.js";

/**
 * What SQL can narrow of Inspector2 filter criteria: the keys that are columns of `findings`
 * (or of the joined repository and manifest). The narrowing is a superset of the findings the
 * criteria match (every candidate is then checked with `matchesFilterCriteria`), exact where a
 * column holds the value the Inspector Finding shows. And ListFindings' sort fields as the
 * store's order expressions.
 */

/** Values of a finite domain that satisfy the filters (an IN list). */
const allowed = (domain: readonly string[], filters: readonly StringFilter[]) =>
  domain.filter((v) => matchesStringFilters([v], filters));

/** The store's value is the Finding's, exactly, when short enough not to be truncated. */
const SHORT = 127;

function stringNarrowing(
  column: StringNarrowing["column"],
  filters: readonly StringFilter[],
): StringNarrowing | null {
  if (filters.some((f) => f.value.length >= SHORT)) return null;
  return {
    column,
    equals: filters.filter((f) => f.comparison === "EQUALS").map((f) => f.value),
    prefixes: filters.filter((f) => f.comparison === "PREFIX").map((f) => f.value),
    notEquals: filters.filter((f) => f.comparison === "NOT_EQUALS").map((f) => f.value),
  };
}

/** Epoch seconds (criteria) to a millisecond range that contains it. */
function msRanges(filters: readonly { startInclusive?: number; endInclusive?: number }[]) {
  return filters.map((f) => ({
    ...(f.startInclusive !== undefined ? { min: Math.floor(f.startInclusive * 1000) - 1 } : {}),
    ...(f.endInclusive !== undefined ? { max: Math.ceil(f.endInclusive * 1000) + 1 } : {}),
  }));
}

export function narrowingOf(
  criteria: FilterCriteria | undefined,
  base: Pick<FindingNarrowing, "scanType" | "repositoryIds">,
): FindingNarrowing {
  const n: FindingNarrowing = { ...base };
  if (!criteria) return n;
  const strings: StringNarrowing[] = [];
  const ranges: RangeNarrowing[] = [];
  const c = criteria;
  if (c.findingStatus) n.statuses = allowed(["ACTIVE", "SUPPRESSED", "CLOSED"], c.findingStatus);
  if (c.severity) n.severities = allowed(INSPECTOR_SEVERITY_ORDER, c.severity);
  if (c.fixAvailable) n.fixAvailable = allowed(["YES", "NO", "PARTIAL"], c.fixAvailable);
  if (c.exploitAvailable)
    n.exploitAvailable = allowed(["YES", "NO"], c.exploitAvailable).map((v) => v === "YES");
  const add = (col: StringNarrowing["column"], f: readonly StringFilter[] | undefined) => {
    const s = f && stringNarrowing(col, f);
    if (s) strings.push(s);
  };
  add("vulnerability_id", c.vulnerabilityId);
  add("repository_name", c.ecrImageRepositoryName);
  add("digest", c.ecrImageHash);
  // Package filters: when every positive one names the package by EQUALS/PREFIX, one of those holds.
  const pkgs = c.vulnerablePackages;
  if (pkgs?.length) {
    const positives = pkgs.filter((p) => !isNegativePackageFilter(p));
    const names = positives.map((p) => p.name);
    if (positives.length && names.every((f) => f !== undefined && f.comparison !== "NOT_EQUALS"))
      add(
        "package_name",
        names.map((f) => f!),
      );
  }
  const dr = (column: RangeNarrowing["column"], f: typeof c.firstObservedAt) => {
    if (f) ranges.push({ column, ranges: msRanges(f) });
  };
  dr("first_observed_at", c.firstObservedAt);
  dr("last_observed_at", c.lastObservedAt);
  dr("updated_at", c.updatedAt);
  dr("pushed_at", c.ecrImagePushedAt);
  const nr = (column: RangeNarrowing["column"], f: typeof c.epssScore) => {
    if (f)
      ranges.push({
        column,
        ranges: f.map((x) => ({
          ...(x.lowerInclusive !== undefined ? { min: x.lowerInclusive } : {}),
          ...(x.upperInclusive !== undefined ? { max: x.upperInclusive } : {}),
        })),
      });
  };
  nr("epss_score", c.epssScore);
  nr("inspector_score", c.inspectorScore);
  if (strings.length) n.strings = strings;
  if (ranges.length) n.ranges = ranges;
  return n;
}

const ORDER_FIELD: Record<SortCriteria["field"], FindingOrderField> = {
  AWS_ACCOUNT_ID: "id",
  FINDING_TYPE: "id",
  SEVERITY: "severity_rank",
  FIRST_OBSERVED_AT: "first_observed_at",
  LAST_OBSERVED_AT: "last_observed_at",
  FINDING_STATUS: "status",
  RESOURCE_TYPE: "id",
  ECR_IMAGE_PUSHED_AT: "pushed_at",
  ECR_IMAGE_REPOSITORY_NAME: "repository_name",
  ECR_IMAGE_REGISTRY: "id",
  NETWORK_PROTOCOL: "id",
  COMPONENT_TYPE: "id",
  VULNERABILITY_SOURCE: "source",
  VULNERABILITY_ID: "vulnerability_id",
  INSPECTOR_SCORE: "inspector_score",
  VENDOR_SEVERITY: "vendor_severity",
  EPSS_SCORE: "epss_score",
};

/** The store order of a sort (the same order as criteria.ts compareFindings). */
export function orderOf(sort: SortCriteria): FindingOrder {
  return { field: ORDER_FIELD[sort.field], desc: sort.sortOrder === "DESC" };
}
