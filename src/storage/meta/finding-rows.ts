import { createHash } from "node:crypto";
import type { Database } from "./schema.js";
import type { StoredFindingRow } from "./finding-store.js";

/**
 * How a finding is laid out in the tables `findings` and `finding_details` (schema.ts): the
 * identity hash that keys it, and the split of its JSON document into the part that is the
 * finding's own (package, fix, match explanation, EPSS/KEV) and the vulnerability text shared
 * by every image it hits (title, description, CVSS, references), stored once per content.
 */

/** What identifies a finding: the same identity always gets the same id (and ARN). */
export interface FindingIdentity {
  repositoryId: number;
  digest: string;
  scanType: "BASIC" | "ENHANCED";
  vulnerabilityId: string;
  packageName: string;
  /** The file the package was read from, and inside an archive its path there (`a.jar!b.jar`). */
  packagePath: string;
}

export type FindingStatus = "ACTIVE" | "SUPPRESSED" | "CLOSED";

/**
 * Why a finding closed, which decides how long it is kept (src/findings/retention.ts): `fixed`
 * a match no longer finds it (the advisory was withdrawn, or no longer affects the version);
 * `deleted` its image was deleted; `ineligible` its image left the rescan window.
 */
export type ClosedReason = "fixed" | "deleted" | "ineligible";
export const CLOSED_REASONS: readonly ClosedReason[] = ["fixed", "deleted", "ineligible"];

/** The lifecycle and query columns of a finding. */
export interface FindingState {
  status: FindingStatus;
  /** As the scan type reports it (ENHANCED says UNTRIAGED where BASIC says UNDEFINED). */
  severity: string;
  fixAvailable: string;
  inspectorScore: number | null;
  epssScore: number | null;
  exploitAvailable: boolean;
  firstObservedAt: number;
  lastObservedAt: number;
  updatedAt: number;
  closedAt: number | null;
  /** Why a CLOSED finding closed; absent or null while open (a CLOSED one without: `fixed`). */
  closedReason?: ClosedReason | null;
}

/** The keys of a finding document that go to finding_details. */
const SHARED_KEYS = ["title", "description", "cvss", "references"] as const;

/** The 32 hex digits that identify a finding (the suffix of its Inspector ARN). */
export function findingId(i: FindingIdentity): string {
  return createHash("sha256")
    .update(
      [i.repositoryId, i.digest, i.scanType, i.vulnerabilityId, i.packageName, i.packagePath].join("\u0000"),
    )
    .digest("hex")
    .slice(0, 32);
}

/** A package's path as the identity spells it. */
export function packagePathOf(p: { path: string; archivePath?: string }): string {
  return p.archivePath ? `${p.path}!${p.archivePath}` : p.path;
}

/**
 * A finding document as it is stored: its own part (the `findings.json` column) and the part
 * shared by every image it hits (`finding_details.json`), each as JSON.
 */
export interface DocumentParts {
  own: string;
  details: string;
}

const SHARED = new Set<string>(SHARED_KEYS);

/**
 * The stored parts of a finding document (an object: a match's Finding, or a parsed document).
 * Two documents are the same finding content exactly when their parts are equal: comparing the
 * parts, not the document read back (whose keys come in another order), is how a match that
 * finds a finding again tells "unchanged" from "updated".
 */
export function documentParts(doc: object): DocumentParts {
  const own: Record<string, unknown> = {};
  const shared: Record<string, unknown> = {};
  const d = doc as Record<string, unknown>;
  for (const k of SHARED_KEYS) if (k in d) shared[k] = d[k];
  for (const k of Object.keys(d)) if (!SHARED.has(k)) own[k] = d[k];
  return { own: JSON.stringify(own), details: JSON.stringify(shared) };
}

/** The rows a finding is stored as: its own row and its (shared) details row. */
export function findingRow(
  identity: FindingIdentity,
  state: FindingState,
  documentJson: string,
  /** The document's parts when the caller has them (documentParts): saves parsing it again. */
  parts?: DocumentParts,
): { row: Database["findings"]; details: Database["finding_details"] } {
  const { own, details: detailsJson } = parts ?? documentParts(JSON.parse(documentJson) as object);
  const hash = createHash("sha256").update(detailsJson).digest("hex");
  return {
    row: {
      id: findingId(identity),
      repository_id: identity.repositoryId,
      digest: identity.digest,
      scan_type: identity.scanType,
      vulnerability_id: identity.vulnerabilityId,
      package_name: identity.packageName,
      package_path: identity.packagePath,
      status: state.status,
      severity: state.severity,
      fix_available: state.fixAvailable,
      inspector_score: state.inspectorScore,
      epss_score: state.epssScore,
      exploit_available: state.exploitAvailable ? 1 : 0,
      first_observed_at: state.firstObservedAt,
      last_observed_at: state.lastObservedAt,
      updated_at: state.updatedAt,
      closed_at: state.closedAt,
      closed_reason: state.status === "CLOSED" ? (state.closedReason ?? "fixed") : null,
      json: own,
      details_hash: hash,
    },
    details: { hash, json: detailsJson },
  };
}

/**
 * A stored finding's document as an object, parsed from its stored parts when the row has
 * them (not joined into JSON and parsed again), else from its document.
 */
export function parsedDocument(r: { parts?: DocumentParts; document: string }): unknown {
  if (!r.parts) return JSON.parse(r.document);
  const own = JSON.parse(r.parts.own) as object;
  return r.parts.details === "{}" ? own : { ...(JSON.parse(r.parts.details) as object), ...own };
}

/** The finding document back from its two parts. */
function findingDocument(ownJson: string, detailsJson: string | undefined): string {
  if (!detailsJson || detailsJson === "{}") return ownJson;
  return JSON.stringify({ ...(JSON.parse(detailsJson) as object), ...(JSON.parse(ownJson) as object) });
}

/**
 * A `findings` row as a driver returns it: 64-bit and real columns may come back as strings
 * (raw SQL on PostgreSQL), the rest as the schema says.
 */
export type FindingRowAsRead = {
  [K in keyof Database["findings"]]: Database["findings"][K] extends number
    ? number | string
    : Database["findings"][K] extends number | null
      ? number | string | null
      : Database["findings"][K];
};

/**
 * A stored finding from its row and the JSON of its details (finding_details), if any. Its
 * `parts` are the stored JSON as read; its `document` is joined from them when first read (a
 * re-match compares the parts of a million findings and needs few documents).
 */
export function toStoredFinding(r: FindingRowAsRead, detailsJson: string | undefined): StoredFindingRow {
  let document: string | undefined;
  // A getter in the literal (not defineProperty afterwards, which is slower to make and read).
  return {
    id: r.id,
    repositoryId: Number(r.repository_id),
    digest: r.digest,
    scanType: r.scan_type,
    vulnerabilityId: r.vulnerability_id,
    packageName: r.package_name,
    packagePath: r.package_path,
    status: r.status,
    severity: r.severity,
    fixAvailable: r.fix_available,
    inspectorScore: r.inspector_score === null ? null : Number(r.inspector_score),
    epssScore: r.epss_score === null ? null : Number(r.epss_score),
    exploitAvailable: Number(r.exploit_available) === 1,
    firstObservedAt: Number(r.first_observed_at),
    lastObservedAt: Number(r.last_observed_at),
    updatedAt: Number(r.updated_at),
    closedAt: r.closed_at === null ? null : Number(r.closed_at),
    closedReason: (r.closed_reason ?? null) as ClosedReason | null,
    parts: { own: r.json, details: detailsJson ?? "{}" },
    get document() {
      return (document ??= findingDocument(r.json, detailsJson));
    },
  };
}
