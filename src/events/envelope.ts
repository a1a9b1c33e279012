import { randomUUID } from "node:crypto";

/** EventBridge's event envelope (aws-api.md §3): what rules match and targets receive. */
export interface EventEnvelope {
  version: "0";
  id: string;
  "detail-type": string;
  source: string;
  account: string;
  /** ISO-8601 UTC without fraction, as EventBridge writes it. */
  time: string;
  region: string;
  resources: string[];
  detail: Record<string, unknown>;
}

export interface AwsIdentity {
  accountId: string;
  region: string;
}

export function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

export function repositoryArn(id: AwsIdentity, repositoryName: string): string {
  return `arn:aws:ecr:${id.region}:${id.accountId}:repository/${repositoryName}`;
}

function envelope(
  id: AwsIdentity,
  detailType: string,
  resources: string[],
  detail: Record<string, unknown>,
  now: number,
  source = "aws.ecr",
): EventEnvelope {
  return {
    version: "0",
    id: randomUUID(),
    "detail-type": detailType,
    source,
    account: id.accountId,
    time: isoSeconds(now),
    region: id.region,
    resources,
    detail,
  };
}

/** `ECR Image Action`: a push or delete. `image-tag` is present when a tag was named. */
export function imageActionEvent(
  id: AwsIdentity,
  e: { repositoryName: string; digest: string; action: "PUSH" | "DELETE"; tag?: string },
  now: number,
): EventEnvelope {
  return envelope(
    id,
    "ECR Image Action",
    [],
    {
      result: "SUCCESS",
      "repository-name": e.repositoryName,
      "image-digest": e.digest,
      "action-type": e.action,
      ...(e.tag !== undefined ? { "image-tag": e.tag } : {}),
    },
    now,
  );
}

/** `ECR Image Scan`: a scan finished; severity keys appear only with a count above 0. */
export function imageScanEvent(
  id: AwsIdentity,
  e: {
    repositoryName: string;
    digest: string;
    tags: string[];
    status: string;
    severityCounts: Record<string, number>;
  },
  now: number,
): EventEnvelope {
  const counts = Object.fromEntries(Object.entries(e.severityCounts).filter(([, n]) => n > 0));
  return envelope(
    id,
    "ECR Image Scan",
    [repositoryArn(id, e.repositoryName)],
    {
      "scan-status": e.status,
      "repository-name": e.repositoryName,
      "finding-severity-counts": counts,
      "image-digest": e.digest,
      "image-tags": e.tags,
    },
    now,
  );
}

/** A repository whose scan frequency changed (ECR Scan Resource Change). */
export interface ScanFrequencyChange {
  repositoryName: string;
  scanFrequency: string;
  previousScanFrequency: string;
}

/**
 * `ECR Scan Resource Change` (enhanced scanning only): repositories' scan frequencies changed;
 * `resources` empty as in ECR's example (image-scanning-enhanced-events.html, aws-api.md §3).
 */
export function scanResourceChangeEvent(
  id: AwsIdentity,
  repositories: readonly ScanFrequencyChange[],
  now: number,
): EventEnvelope {
  return envelope(
    id,
    "ECR Scan Resource Change",
    [],
    {
      "action-type": "SCAN_FREQUENCY_CHANGE",
      repositories: repositories.map((r) => ({
        "repository-name": r.repositoryName,
        "repository-arn": repositoryArn(id, r.repositoryName),
        "scan-frequency": r.scanFrequency,
        "previous-scan-frequency": r.previousScanFrequency,
      })),
      "resource-type": "REPOSITORY",
      "scan-type": "ENHANCED",
    },
    now,
  );
}

/**
 * `Inspector2 Coverage`: a resource's scan status changed. The shape of Inspector's documented
 * example (eventbridge-integration.html, "coverage event schema"): `resources` the resource id
 * (for an image, `arn:aws:ecr:<r>:<acct>:repository/<name>/sha256:<hex>`), `detail.scanStatus`
 * with `statusCodeValue` (ACTIVE, INACTIVE) and `reason` (ListCoverage's reasons),
 * `scanType` PACKAGE, the provider fields, `eventTimestamp` ISO-8601 with fraction, `version`.
 */
export function inspectorCoverageEvent(
  id: AwsIdentity,
  e: { resourceId: string; statusCode: "ACTIVE" | "INACTIVE"; reason: string },
  now: number,
): EventEnvelope {
  return envelope(
    id,
    "Inspector2 Coverage",
    [e.resourceId],
    {
      scanStatus: { reason: e.reason, statusCodeValue: e.statusCode },
      scanType: "PACKAGE",
      provider: "AWS",
      providerAccountId: id.accountId,
      providerRegion: id.region,
      eventTimestamp: new Date(now).toISOString(),
      version: "1.0",
    },
    now,
    "aws.inspector2",
  );
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** A time as Inspector's events show dates in `detail`: "Dec 3, 2021, 6:02:30 PM" (UTC). */
export function displayDate(ms: number): string {
  const d = new Date(ms);
  const h = d.getUTCHours();
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${MONTHS[d.getUTCMonth()]} ${d.getUTCDate()}, ${d.getUTCFullYear()}, ${h % 12 === 0 ? 12 : h % 12}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} ${h < 12 ? "AM" : "PM"}`;
}

/** Epoch seconds (the Finding's wire dates) as a display date; other values unchanged. */
const display = (v: unknown) => (typeof v === "number" ? displayDate(v * 1000) : v);

/** An Inspector2 Finding (wire shape, dates in epoch seconds) as an event shows it. */
export interface InspectorFindingLike {
  firstObservedAt: number;
  lastObservedAt: number;
  updatedAt?: number;
  resources: {
    id: string;
    partition?: string;
    region?: string;
    details?: { awsEcrContainerImage?: object };
  }[];
  packageVulnerabilityDetails?: object;
  exploitabilityDetails?: object;
}

/**
 * `Inspector2 Finding` (a finding created, updated, suppressed, closed): `resources` the image
 * ARN, `detail` the Finding with dates as display strings and `partition`/`region` "N/A" in
 * its resources (aws-api.md §3).
 */
export function inspectorFindingEvent(id: AwsIdentity, f: InspectorFindingLike, now: number): EventEnvelope {
  const withDates = (o: object | undefined, keys: string[]): Record<string, unknown> | undefined => {
    if (!o) return undefined;
    const out: Record<string, unknown> = { ...(o as Record<string, unknown>) };
    for (const k of keys) if (k in out) out[k] = display(out[k]);
    return out;
  };
  const detail = {
    ...f,
    firstObservedAt: display(f.firstObservedAt),
    lastObservedAt: display(f.lastObservedAt),
    ...(f.updatedAt !== undefined ? { updatedAt: display(f.updatedAt) } : {}),
    resources: f.resources.map((r) => ({
      ...r,
      partition: "N/A",
      region: "N/A",
      ...(r.details?.awsEcrContainerImage
        ? {
            details: {
              ...r.details,
              awsEcrContainerImage: withDates(r.details.awsEcrContainerImage, ["pushedAt", "lastInUseAt"]),
            },
          }
        : {}),
    })),
    ...(f.packageVulnerabilityDetails
      ? {
          packageVulnerabilityDetails: withDates(f.packageVulnerabilityDetails, [
            "vendorCreatedAt",
            "vendorUpdatedAt",
          ]),
        }
      : {}),
    ...(f.exploitabilityDetails
      ? { exploitabilityDetails: withDates(f.exploitabilityDetails, ["lastKnownExploitAt"]) }
      : {}),
  };
  return envelope(
    id,
    "Inspector2 Finding",
    f.resources.map((r) => r.id),
    detail as Record<string, unknown>,
    now,
    "aws.inspector2",
  );
}

/**
 * `Inspector2 Scan`: an image's initial enhanced scan is done. As AWS documents it,
 * `repository-name` holds the repository's ARN; the counts include `TOTAL`.
 */
export function inspectorScanEvent(
  id: AwsIdentity,
  e: { repositoryName: string; digest: string; tags: string[]; severityCounts: Record<string, number> },
  now: number,
): EventEnvelope {
  const counts: Record<string, number> = Object.fromEntries(
    Object.entries(e.severityCounts).filter(([, n]) => n > 0),
  );
  counts.TOTAL = Object.values(counts).reduce((a, b) => a + b, 0);
  const repo = repositoryArn(id, e.repositoryName);
  return envelope(
    id,
    "Inspector2 Scan",
    [repo],
    {
      "scan-status": "INITIAL_SCAN_COMPLETE",
      "repository-name": repo,
      "finding-severity-counts": counts,
      "image-digest": e.digest,
      "image-tags": e.tags,
    },
    now,
    "aws.inspector2",
  );
}

/** `Drydock Suppression Change`: a filter was created, updated, deleted, tagged or expired. */
export function suppressionChangeEvent(
  id: AwsIdentity,
  e: {
    change: "CREATED" | "UPDATED" | "DELETED" | "TAGGED" | "UNTAGGED" | "EXPIRED";
    /** Who: the caller's IAM-shaped ARN, or `drydock` for an expiry. */
    by: string;
    filter: {
      arn: string;
      name: string;
      action: string;
      criteria: unknown;
      reason?: string | null;
      /** Its tags: an exception's owner, origin and repository patterns are `drydock:*` tags. */
      tags?: Record<string, string>;
    };
    /** Findings whose status changed because of it. */
    findingsChanged: number;
  },
  now: number,
): EventEnvelope {
  return envelope(
    id,
    "Drydock Suppression Change",
    [e.filter.arn],
    {
      change: e.change,
      by: e.by,
      at: isoSeconds(now),
      filter: e.filter,
      "findings-changed": e.findingsChanged,
    },
    now,
    "drydock",
  );
}

/**
 * `Drydock VEX Change`: a VEX document pushed as a referrer was applied (APPLIED), refused as
 * invalid (INVALID: stored by the registry, never applied; `error` says why) or deleted with
 * its referrer (REMOVED). `resources` the subject image.
 */
export function vexChangeEvent(
  id: AwsIdentity,
  e: {
    change: "APPLIED" | "INVALID" | "REMOVED";
    repositoryName: string;
    subjectDigest: string;
    referrerDigest: string;
    format: string;
    statements?: number;
    error?: string;
    /** The images whose findings it speaks for (the subject, the platform manifests of an index). */
    images: string[];
    findingsChanged: number;
  },
  now: number,
): EventEnvelope {
  return envelope(
    id,
    "Drydock VEX Change",
    [`${repositoryArn(id, e.repositoryName)}/${e.subjectDigest}`],
    {
      change: e.change,
      at: isoSeconds(now),
      "repository-name": e.repositoryName,
      "subject-digest": e.subjectDigest,
      "referrer-digest": e.referrerDigest,
      format: e.format,
      ...(e.statements !== undefined ? { statements: e.statements } : {}),
      ...(e.error !== undefined ? { error: e.error } : {}),
      images: e.images,
      "findings-changed": e.findingsChanged,
    },
    now,
    "drydock",
  );
}
