/**
 * The console's scanning configuration (GET/PUT /api/console/scanning) and its live preview
 * (GET /api/console/scanning/preview): the JSON the server answers and the web pages read.
 * Type-only: imported by src/api/console/scanning.ts and web/src/pages/scanning/.
 */

export type ConsoleScanType = "BASIC" | "ENHANCED";
export type ConsoleScanFrequency = "SCAN_ON_PUSH" | "CONTINUOUS_SCAN" | "MANUAL";

/** A registry scanning rule, as ECR's PutRegistryScanningConfiguration takes it. */
export interface ScanningRuleView {
  scanFrequency: ConsoleScanFrequency;
  repositoryFilters: { filter: string; filterType: "WILDCARD" }[];
}

/** Inspector's ECR rescan window (UpdateConfiguration's ecrConfiguration). */
export interface RescanWindowView {
  rescanDuration: string;
  pullDateRescanDuration?: string;
  pullDateRescanMode?: string;
}

/** GET /api/console/scanning */
export interface ScanningView {
  scanType: ConsoleScanType;
  rules: ScanningRuleView[];
  rescanWindow: RescanWindowView & {
    /** Epoch ms of the last change; absent while the default applies. */
    updatedAt?: number;
    /** True while the registry never set one (Drydock's default applies). */
    isDefault: boolean;
  };
  /** Whether the caller may change it (admin). */
  canEdit: boolean;
  /** What the form offers: the values the server accepts. */
  options: {
    maxRules: number;
    maxFiltersPerRule: number;
    frequencies: Record<ConsoleScanType, ConsoleScanFrequency[]>;
    rescanDurations: string[];
    pullDateRescanDurations: string[];
    pullDateRescanModes: string[];
  };
}

/** PUT /api/console/scanning (admin): the whole configuration; the window only when given. */
export interface ScanningUpdate {
  scanType: ConsoleScanType;
  rules: ScanningRuleView[];
  rescanWindow?: RescanWindowView;
}

/** One filter of a draft rule in the preview. */
export interface PreviewFilter {
  filter: string;
  /** False when ECR would refuse it (then `error` says why and it matches nothing). */
  valid: boolean;
  error?: string;
  /** Repositories it matches (that the caller may pull). */
  matches: number;
}

export interface PreviewRule {
  scanFrequency: ConsoleScanFrequency;
  /** Repositories any of its filters matches. */
  matches: number;
  filters: PreviewFilter[];
}

/** A repository of the preview's list, with what the draft would make of it. */
export interface PreviewRepository {
  name: string;
  /** Its scan frequency under the draft (continuous wins over scan on push). */
  scanFrequency: ConsoleScanFrequency;
  /** The filters (of the winning rule kind) that match it. */
  appliedFilters: string[];
}

/**
 * GET /api/console/scanning/preview?scanType=&rules=<JSON [{scanFrequency, filters: [..]}]>
 * &rule=<index>&filter=<index>&limit=&offset=
 */
export interface ScanningPreview {
  /** Whether PUT would accept the draft as it is; else `error` says why. */
  valid: boolean;
  error?: string;
  rules: PreviewRule[];
  /** What `repositories` lists: one rule's filter, one rule, or (null) every filter of the draft. */
  selection: { rule: number; filter?: number } | null;
  repositories: {
    items: PreviewRepository[];
    total: number;
    /** True when the counts are lower bounds (a restricted caller over many repositories). */
    totalCapped?: true;
    limit: number;
    offset: number;
  };
}
