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
): EventEnvelope {
  return {
    version: "0",
    id: randomUUID(),
    "detail-type": detailType,
    source: "aws.ecr",
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
