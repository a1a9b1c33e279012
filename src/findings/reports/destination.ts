import { validationError, type ValidationField } from "../../api/inspector2/errors.js";
import type { Destination } from "../../api/inspector2/shapes.js";
import { objectKeyProblem } from "../../storage/blob/object-keys.js";

/**
 * Where a findings report or an SBOM export goes: the request's `s3Destination` checked and
 * turned into keys of the blob store's named-object area (docs/inspector2-api.md, "Reports and
 * SBOM exports"). Every destination bucket is a folder of the one store: `reports/<bucket>/`,
 * then the key prefix, then Inspector's own file names:
 *
 *   reports/<bucket>/<keyPrefix>/<reportId>.csv|json                       findings report
 *   reports/<bucket>/<keyPrefix>/<FORMAT>_outputs_<reportId>/account=<account>/
 *     resource=AWS_ECR_CONTAINER_IMAGE/<image ARN, / as _>_<FORMAT>.json    one SBOM per image
 *
 * (the export layout is the one Inspector writes; a real export's key reads
 * `CYCLONEDX_1_4_outputs_<id>/account=<acct>/resource=AWS_ECR_CONTAINER_IMAGE/
 * arn:aws:ecr:<region>:<acct>:repository_<repo>_sha256:<hex>_CYCLONEDX_1_4.json`).
 */

export const REPORTS_AREA = "reports";

/** S3's bucket naming rules (general purpose buckets): 3-63 of a-z 0-9 . -, alphanumeric ends. */
const BUCKET_RE = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const IP_RE = /^\d{1,3}(\.\d{1,3}){3}$/;
/** An AWS KMS key or alias ARN (the key is recorded; the blob store's own encryption applies). */
export const KMS_KEY_ARN_RE = /^arn:aws[a-zA-Z-]*:kms:[a-z0-9-]+:\d{12}:(key|alias)\/[A-Za-z0-9/_+=.@-]+$/;
/**
 * The longest key prefix: what is left of an object key's 1,024 bytes around it in the longest
 * key an export writes: `reports/` + a 63-byte bucket + `/`, the prefix, `/`, the export folder
 * (`CYCLONEDX_1_4_outputs_<36>/account=<12>/resource=AWS_ECR_CONTAINER_IMAGE/`, 113 bytes) and a
 * file name of at most 255 bytes.
 */
export const MAX_KEY_PREFIX_BYTES = 1024 - (8 + 63 + 1) - 1 - 113 - 255;

export interface CheckedDestination {
  /** As given (GetFindingsReportStatus / GetSbomExport echo it). */
  given: Destination;
  /** `reports/<bucket>/` plus the key prefix without its trailing slashes, and a `/`. */
  folder: string;
}

/** The destination, or a ValidationException naming each bad member (`s3Destination.bucketName`...). */
export function checkDestination(d: Destination): CheckedDestination {
  const fields: ValidationField[] = [];
  const field = (name: string, message: string) => fields.push({ name: `s3Destination.${name}`, message });
  if (!BUCKET_RE.test(d.bucketName) || d.bucketName.includes("..") || IP_RE.test(d.bucketName))
    field(
      "bucketName",
      "Member must be a bucket name: 3 to 63 lower-case letters, digits, dots and hyphens, beginning and ending with a letter or digit, no '..', not an IP address",
    );
  const prefix = (d.keyPrefix ?? "").replace(/\/+$/, "");
  if (prefix !== "") {
    const p = objectKeyProblem(prefix);
    if (p !== null) field("keyPrefix", `Member must be an object key prefix: ${p}`);
    else if (Buffer.byteLength(prefix, "utf8") > MAX_KEY_PREFIX_BYTES)
      field("keyPrefix", `Member must have length less than or equal to ${MAX_KEY_PREFIX_BYTES}`);
  }
  if (!KMS_KEY_ARN_RE.test(d.kmsKeyArn))
    field(
      "kmsKeyArn",
      "Member must be the ARN of a KMS key: arn:aws:kms:<region>:<account>:key/<id> (or alias/<name>)",
    );
  if (fields.length) throw validationError(fields);
  return {
    given: d,
    folder: `${REPORTS_AREA}/${d.bucketName}/${prefix === "" ? "" : `${prefix}/`}`,
  };
}

/** The key of a findings report. */
export function findingsReportKey(folder: string, reportId: string, format: "CSV" | "JSON"): string {
  return `${folder}${reportId}.${format === "CSV" ? "csv" : "json"}`;
}

/** The folder (a prefix ending in `/`) of an SBOM export's files. */
export function sbomExportFolder(
  folder: string,
  reportId: string,
  format: string,
  accountId: string,
): string {
  return `${folder}${format}_outputs_${reportId}/account=${accountId}/resource=AWS_ECR_CONTAINER_IMAGE/`;
}

/**
 * The file name of one image's SBOM: its resource ARN with `/` as `_`, then the format. A name
 * longer than a file system allows (a repository name near ECR's 256 characters) keeps the
 * digest and shortens the repository part to a hash of it.
 */
export function sbomFileName(resourceArn: string, format: string, hash: (s: string) => string): string {
  const name = `${resourceArn.replaceAll("/", "_")}_${format}.json`;
  if (Buffer.byteLength(name, "utf8") <= 255) return name;
  const m = /^(arn:[^:]*:ecr:[^:]*:[^:]*:repository\/)(.*)\/(sha256:[0-9a-f]+)$/.exec(resourceArn);
  const short = m
    ? `${m[1]!.replaceAll("/", "_")}${hash(m[2]!).slice(0, 16)}_${m[3]}`
    : hash(resourceArn).slice(0, 32);
  return `${short}_${format}.json`;
}
