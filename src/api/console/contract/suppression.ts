/**
 * The console's suppression rules and exceptions (/api/console/suppression...): Inspector2
 * SUPPRESS filters, of which scoped exceptions are the ones with a `drydock:source` tag
 * (src/findings/exceptions.ts). Type-only: imported by src/api/console/suppression.ts and
 * web/src/pages/suppression/.
 */

/** What an exception applies to (EQUALS on each; repositories may be patterns with `*`/`**`). */
export interface SuppressionScope {
  repositories?: string[];
  imageDigest?: string;
  package?: string;
  packageVersion?: string;
  vulnerability?: string;
}

export interface SuppressionRuleView extends SuppressionScope {
  arn: string;
  name: string;
  /** exception: made by `drydock exceptions`, the configuration or the console; filter: a plain Inspector2 filter. */
  kind: "exception" | "filter";
  reason: string | null;
  owner: string | null;
  /** cli, config or console (exceptions only). */
  source: string | null;
  /** Epoch ms when it stops suppressing (null: never). */
  expiresAt: number | null;
  /** It no longer suppresses (its expiry came). */
  expired: boolean;
  /**
   * The console's form can edit it: a plain filter with other criteria cannot be said by the form,
   * and an exception of the configuration file is changed there.
   */
  editable: boolean;
  /** The Inspector2 FilterCriteria, as stored (for plain filters). */
  criteria: Record<string, unknown>;
  createdAt: number;
  updatedAt: number;
}

/** GET /api/console/suppression?state=active|expired|all&q=&sort=name|createdAt|expiresAt&order=&limit=&offset= */
export interface SuppressionList {
  items: SuppressionRuleView[];
  total: number;
  limit: number;
  offset: number;
}

/** POST /api/console/suppression, PUT /api/console/suppression/:arn (admin). */
export interface SuppressionInput extends SuppressionScope {
  name: string;
  reason: string;
  owner: string;
  /** `2026-12-31` (through that day, UTC) or an ISO 8601 time. */
  expires: string;
}

/** POST /api/console/suppression/:arn/expire (admin): `now`, a day or a time. */
export interface SuppressionExpire {
  expires: string;
}

/** A finding a rule hides now (SUPPRESSED and matched by it). */
export interface HiddenFinding {
  findingArn: string;
  vulnerabilityId: string;
  severity: string;
  repositoryName: string;
  imageDigest: string;
  imageTags: string[];
  packageName: string;
  packageVersion: string;
  updatedAt: number;
}

/** GET /api/console/suppression/:arn/findings?limit=&offset= */
export interface HiddenFindings {
  rule: SuppressionRuleView;
  items: HiddenFinding[];
  /** Findings it hides now (of repositories the caller may pull). */
  total: number;
  /** True when `total` is a lower bound: counting stopped at a cap. */
  totalCapped?: true;
  limit: number;
  offset: number;
}
