import { compareStrings } from "../../core/compare.js";
import {
  INAPPLICABLE_DATE_KEYS,
  INAPPLICABLE_NUMBER_KEYS,
  INAPPLICABLE_STRING_KEYS,
  DATE_KEYS,
  NUMBER_KEYS,
  STRING_KEYS,
  type DateFilter,
  type DateKey,
  type FilterCriteria,
  type InapplicableKey,
  type MapFilter,
  type NumberFilter,
  type NumberKey,
  type PackageFilter,
  type SortCriteria,
  type StringFilter,
  type StringKey,
} from "./shapes.js";
import { INSPECTOR_SEVERITY_ORDER, type InspectorFinding, type VulnerablePackage } from "./finding.js";

/**
 * FilterCriteria as a typed AST, its evaluator over the Inspector2 Finding, and the sort
 * comparator of ListFindings. The evaluator decides suppression (a SUPPRESS filter applies to
 * every new finding) and is the oracle of the findings store's SQL in tests: the store must
 * select exactly the findings `matchesFilterCriteria` accepts, in `compareFindings` order.
 *
 * Semantics (docs/inspector2-api.md, "Filter criteria"):
 * - Keys are ANDed. Within one key, EQUALS and PREFIX filters are ORed, and every NOT_EQUALS
 *   filter must hold too: `severity: [EQUALS HIGH, EQUALS CRITICAL]` is HIGH or CRITICAL,
 *   `ecrImageRepositoryName: [NOT_EQUALS a, NOT_EQUALS b]` is neither a nor b.
 * - Comparisons are case-sensitive. A field with several values (image tags, related
 *   vulnerabilities, packages) matches EQUALS/PREFIX when one value does, and NOT_EQUALS when
 *   no value equals the filter's. An absent field has no values: EQUALS/PREFIX fail,
 *   NOT_EQUALS holds, and date and number ranges fail.
 * - Date and number ranges are inclusive; a missing bound is open. Several ranges are ORed.
 * - `resourceTags`: a filter matches when the resource has the key with that value (with the
 *   key alone when `value` is absent); several are ORed.
 * - `vulnerablePackages`: a package filter holds when one vulnerable package satisfies every
 *   member it sets. Package filters whose string members are all NOT_EQUALS (and that set no
 *   epoch range) are negative: each must hold for the finding (no package equals what it
 *   names); the others are ORed.
 * - Keys of other resource kinds (EC2, Lambda, code repositories, network reachability, port
 *   ranges, other clouds) cannot apply to a container image: given at all, they match nothing.
 */

export type Criterion =
  | { kind: "string"; key: StringKey; filters: StringFilter[] }
  | { kind: "date"; key: DateKey; filters: DateFilter[] }
  | { kind: "number"; key: NumberKey; filters: NumberFilter[] }
  | { kind: "map"; key: "resourceTags"; filters: MapFilter[] }
  | { kind: "package"; key: "vulnerablePackages"; filters: PackageFilter[] }
  /** A key of another resource kind: matches nothing. */
  | { kind: "inapplicable"; key: InapplicableKey };

const INAPPLICABLE: ReadonlySet<string> = new Set<string>([
  ...INAPPLICABLE_STRING_KEYS,
  ...INAPPLICABLE_DATE_KEYS,
  ...INAPPLICABLE_NUMBER_KEYS,
  "portRange",
]);

/** The criteria as a list of ANDed criteria (keys without a list are absent). */
export function criteriaAst(c: FilterCriteria): Criterion[] {
  const out: Criterion[] = [];
  const rec = c as Record<string, unknown>;
  for (const key of STRING_KEYS) {
    const f = rec[key];
    if (Array.isArray(f)) out.push({ kind: "string", key, filters: f as StringFilter[] });
  }
  for (const key of DATE_KEYS) {
    const f = rec[key];
    if (Array.isArray(f)) out.push({ kind: "date", key, filters: f as DateFilter[] });
  }
  for (const key of NUMBER_KEYS) {
    const f = rec[key];
    if (Array.isArray(f)) out.push({ kind: "number", key, filters: f as NumberFilter[] });
  }
  if (Array.isArray(c.resourceTags)) out.push({ kind: "map", key: "resourceTags", filters: c.resourceTags });
  if (Array.isArray(c.vulnerablePackages))
    out.push({ kind: "package", key: "vulnerablePackages", filters: c.vulnerablePackages });
  for (const key of INAPPLICABLE) {
    if (Array.isArray(rec[key])) out.push({ kind: "inapplicable", key: key as InapplicableKey });
  }
  return out;
}

// --- reading a finding ------------------------------------------------------------------------

const present = <T>(v: T | undefined | null): v is T => v !== undefined && v !== null;

function ecrImages(f: InspectorFinding) {
  return f.resources.map((r) => r.details?.awsEcrContainerImage).filter(present);
}

/** The values of a string key in a finding (none when absent). */
export function stringValues(f: InspectorFinding, key: StringKey): string[] {
  const pvd = f.packageVulnerabilityDetails;
  switch (key) {
    case "findingArn":
      return [f.findingArn];
    case "awsAccountId":
      return [f.awsAccountId];
    case "findingType":
      return [f.type];
    case "severity":
      return [f.severity];
    case "findingStatus":
      return [f.status];
    case "title":
      return f.title !== undefined ? [f.title] : [];
    case "resourceType":
      return f.resources.map((r) => r.type);
    case "resourceId":
      return f.resources.map((r) => r.id);
    case "ecrImageArchitecture":
      return ecrImages(f)
        .map((i) => i.architecture)
        .filter(present);
    case "ecrImageRegistry":
      return ecrImages(f).map((i) => i.registry);
    case "ecrImageRepositoryName":
      return ecrImages(f).map((i) => i.repositoryName);
    case "ecrImageTags":
      return ecrImages(f).flatMap((i) => i.imageTags ?? []);
    case "ecrImageHash":
      return ecrImages(f).map((i) => i.imageHash);
    case "vulnerabilityId":
      return pvd ? [pvd.vulnerabilityId] : [];
    case "vulnerabilitySource":
      return pvd ? [pvd.source] : [];
    case "vendorSeverity":
      return pvd?.vendorSeverity !== undefined ? [pvd.vendorSeverity] : [];
    case "relatedVulnerabilities":
      return pvd?.relatedVulnerabilities ?? [];
    case "fixAvailable":
      return f.fixAvailable !== undefined ? [f.fixAvailable] : [];
    case "exploitAvailable":
      return f.exploitAvailable !== undefined ? [f.exploitAvailable] : [];
  }
}

/** The values of a date key, in epoch seconds. */
export function dateValues(f: InspectorFinding, key: DateKey): number[] {
  switch (key) {
    case "firstObservedAt":
      return [f.firstObservedAt];
    case "lastObservedAt":
      return [f.lastObservedAt];
    case "updatedAt":
      return f.updatedAt !== undefined ? [f.updatedAt] : [];
    case "ecrImagePushedAt":
      return ecrImages(f)
        .map((i) => i.pushedAt)
        .filter(present);
    case "ecrImageLastInUseAt":
      return ecrImages(f)
        .map((i) => i.lastInUseAt)
        .filter(present);
  }
}

export function numberValues(f: InspectorFinding, key: NumberKey): number[] {
  switch (key) {
    case "inspectorScore":
      return f.inspectorScore !== undefined ? [f.inspectorScore] : [];
    case "epssScore":
      return f.epss ? [f.epss.score] : [];
    case "ecrImageInUseCount":
      return ecrImages(f)
        .map((i) => i.inUseCount)
        .filter(present);
  }
}

// --- primitives (exported for backends: aggregation requests use the same filters) -----------

/** One string filter against one value. */
export function stringFilterHolds(filter: StringFilter, value: string): boolean {
  switch (filter.comparison) {
    case "EQUALS":
      return value === filter.value;
    case "PREFIX":
      return value.startsWith(filter.value);
    case "NOT_EQUALS":
      return value !== filter.value;
  }
}

/**
 * A list of string filters against a field's values: (some EQUALS/PREFIX filter matches some
 * value, or there is none) and every NOT_EQUALS filter's value is absent from the values.
 */
export function matchesStringFilters(values: readonly string[], filters: readonly StringFilter[]): boolean {
  let positives = 0;
  let anyPositive = false;
  for (const flt of filters) {
    if (flt.comparison === "NOT_EQUALS") {
      if (values.includes(flt.value)) return false;
    } else {
      positives++;
      if (!anyPositive && values.some((v) => stringFilterHolds(flt, v))) anyPositive = true;
    }
  }
  return positives === 0 || anyPositive;
}

export function inRange(v: number, lower: number | undefined, upper: number | undefined): boolean {
  return (lower === undefined || v >= lower) && (upper === undefined || v <= upper);
}

export function matchesDateFilters(values: readonly number[], filters: readonly DateFilter[]): boolean {
  return filters.some((flt) => values.some((v) => inRange(v, flt.startInclusive, flt.endInclusive)));
}

export function matchesNumberFilters(values: readonly number[], filters: readonly NumberFilter[]): boolean {
  return filters.some((flt) => values.some((v) => inRange(v, flt.lowerInclusive, flt.upperInclusive)));
}

export function matchesMapFilters(
  tags: readonly Record<string, string>[],
  filters: readonly MapFilter[],
): boolean {
  return filters.some((flt) =>
    tags.some((t) => Object.hasOwn(t, flt.key) && (flt.value === undefined || t[flt.key] === flt.value)),
  );
}

const PACKAGE_STRING_MEMBERS = [
  ["name", (p: VulnerablePackage) => p.name],
  ["version", (p: VulnerablePackage) => p.version],
  ["release", (p: VulnerablePackage) => p.release],
  ["architecture", (p: VulnerablePackage) => p.arch],
  ["sourceLayerHash", (p: VulnerablePackage) => p.sourceLayerHash],
  ["sourceLambdaLayerArn", (p: VulnerablePackage) => p.sourceLambdaLayerArn],
  ["filePath", (p: VulnerablePackage) => p.filePath],
] as const;

/** Whether a package filter is negative: string members only, all NOT_EQUALS. */
export function isNegativePackageFilter(flt: PackageFilter): boolean {
  const set = PACKAGE_STRING_MEMBERS.map(([m]) => flt[m]).filter(present);
  return set.length > 0 && flt.epoch === undefined && set.every((s) => s.comparison === "NOT_EQUALS");
}

/** Every member the filter sets holds for this package (NOT_EQUALS on an absent member holds). */
function packageHolds(flt: PackageFilter, p: VulnerablePackage): boolean {
  for (const [member, read] of PACKAGE_STRING_MEMBERS) {
    const sf = flt[member];
    if (!sf) continue;
    const v = read(p);
    if (v === undefined) {
      if (sf.comparison !== "NOT_EQUALS") return false;
    } else if (!stringFilterHolds(sf, v)) return false;
  }
  if (flt.epoch) {
    const e = p.epoch ?? 0;
    if (!inRange(e, flt.epoch.lowerInclusive, flt.epoch.upperInclusive)) return false;
  }
  return true;
}

/** The same filter with its NOT_EQUALS members turned into EQUALS (what a negative filter excludes). */
function positiveForm(flt: PackageFilter): PackageFilter {
  const out: PackageFilter = {};
  for (const [member] of PACKAGE_STRING_MEMBERS) {
    const sf = flt[member];
    if (sf) out[member] = { comparison: "EQUALS", value: sf.value };
  }
  return out;
}

export function matchesPackageFilters(
  packages: readonly VulnerablePackage[],
  filters: readonly PackageFilter[],
): boolean {
  let positives = 0;
  let anyPositive = false;
  for (const flt of filters) {
    if (isNegativePackageFilter(flt)) {
      const excluded = positiveForm(flt);
      if (packages.some((p) => packageHolds(excluded, p))) return false;
    } else {
      positives++;
      if (!anyPositive && packages.some((p) => packageHolds(flt, p))) anyPositive = true;
    }
  }
  return positives === 0 || anyPositive;
}

// --- the evaluator ----------------------------------------------------------------------------

export function matchesCriterion(f: InspectorFinding, c: Criterion): boolean {
  switch (c.kind) {
    case "string":
      return matchesStringFilters(stringValues(f, c.key), c.filters);
    case "date":
      return matchesDateFilters(dateValues(f, c.key), c.filters);
    case "number":
      return matchesNumberFilters(numberValues(f, c.key), c.filters);
    case "map":
      return matchesMapFilters(
        f.resources.map((r) => r.tags ?? {}),
        c.filters,
      );
    case "package":
      return matchesPackageFilters(f.packageVulnerabilityDetails?.vulnerablePackages ?? [], c.filters);
    case "inapplicable":
      return false;
  }
}

/** Whether a finding matches the criteria (no criteria, or `{}`: every finding). */
export function matchesFilterCriteria(
  f: InspectorFinding,
  criteria: FilterCriteria | readonly Criterion[] | undefined,
): boolean {
  if (criteria === undefined) return true;
  const ast = Array.isArray(criteria)
    ? (criteria as readonly Criterion[])
    : criteriaAst(criteria as FilterCriteria);
  return ast.every((c) => matchesCriterion(f, c));
}

// --- sorting ----------------------------------------------------------------------------------

/**
 * The order when a request has no sortCriteria: first observed, newest first (then the ARN).
 * `firstObservedAt` never changes for a finding (a reopened finding keeps it), so paging by it
 * neither skips nor repeats findings whose severity, score or status change between pages, and
 * new findings appear on the first page.
 */
export const DEFAULT_SORT: SortCriteria = { field: "FIRST_OBSERVED_AT", sortOrder: "DESC" };

type SortValue = string | number | undefined;

/** The value a sort field reads; undefined sorts last in both orders. */
export function sortValue(f: InspectorFinding, field: SortCriteria["field"]): SortValue {
  const img = ecrImages(f)[0];
  const pvd = f.packageVulnerabilityDetails;
  switch (field) {
    case "AWS_ACCOUNT_ID":
      return f.awsAccountId;
    case "FINDING_TYPE":
      return f.type;
    case "SEVERITY":
      // Ranked, not alphabetical: UNTRIAGED 0 < INFORMATIONAL 1 < ... < CRITICAL 5.
      return INSPECTOR_SEVERITY_ORDER.length - 1 - INSPECTOR_SEVERITY_ORDER.indexOf(f.severity);
    case "FIRST_OBSERVED_AT":
      return f.firstObservedAt;
    case "LAST_OBSERVED_AT":
      return f.lastObservedAt;
    case "FINDING_STATUS":
      return f.status;
    case "RESOURCE_TYPE":
      return f.resources[0]?.type;
    case "ECR_IMAGE_PUSHED_AT":
      return img?.pushedAt;
    case "ECR_IMAGE_REPOSITORY_NAME":
      return img?.repositoryName;
    case "ECR_IMAGE_REGISTRY":
      return img?.registry;
    case "VULNERABILITY_ID":
      return pvd?.vulnerabilityId;
    case "VULNERABILITY_SOURCE":
      return pvd?.source;
    case "INSPECTOR_SCORE":
      return f.inspectorScore;
    case "VENDOR_SEVERITY":
      return pvd?.vendorSeverity;
    case "EPSS_SCORE":
      return f.epss?.score;
    case "NETWORK_PROTOCOL":
    case "COMPONENT_TYPE":
      // Network reachability fields: no container-image finding has one.
      return undefined;
  }
}

function compareValues(a: SortValue, b: SortValue): number {
  if (typeof a === "number" && typeof b === "number") return a < b ? -1 : a > b ? 1 : 0;
  return compareStrings(String(a), String(b));
}

/** Where a finding sits in an order: its sort value and ARN (what a keyset page token holds). */
export interface SortKey {
  value: SortValue;
  findingArn: string;
}

export function sortKeyOf(f: InspectorFinding, sort: SortCriteria = DEFAULT_SORT): SortKey {
  return { value: sortValue(f, sort.field), findingArn: f.findingArn };
}

/**
 * The order of two sort keys: the value in the requested direction (absent values last in both
 * directions), then the ARN ascending. A keyset page continues with the findings whose key is
 * greater than the last key returned.
 */
export function compareSortKeys(a: SortKey, b: SortKey, sort: SortCriteria = DEFAULT_SORT): number {
  const va = a.value;
  const vb = b.value;
  if (va === undefined || vb === undefined) {
    if (va !== undefined) return -1;
    if (vb !== undefined) return 1;
  } else {
    const c = compareValues(va, vb);
    if (c !== 0) return sort.sortOrder === "DESC" ? -c : c;
  }
  return compareStrings(a.findingArn, b.findingArn);
}

/**
 * ListFindings' order: the sort field in the requested direction (strings by code unit,
 * severity by rank, absent values last in both directions), then the finding ARN ascending, so
 * the order is total and pages are stable.
 */
export function compareFindings(
  a: InspectorFinding,
  b: InspectorFinding,
  sort: SortCriteria = DEFAULT_SORT,
): number {
  return compareSortKeys(sortKeyOf(a, sort), sortKeyOf(b, sort), sort);
}
