import { parsePurl } from "../../catalog/purl.js";
import type { Finding } from "../../findings/finding.js";
import type { SeverityScore } from "../../vulndb/types.js";

/**
 * The Inspector2 `Finding` (docs/inspector2-api.md, ../shared/reference/aws-api.md §2) and the
 * stored finding record it is made from. `toInspectorFinding` is the one place that turns a
 * record into the wire shape: ListFindings answers with it, and the filter evaluator and sort
 * comparator (criteria.ts) read it, so what a filter sees is exactly what a client sees.
 */

export type InspectorSeverity = "INFORMATIONAL" | "LOW" | "MEDIUM" | "HIGH" | "CRITICAL" | "UNTRIAGED";
export type FindingStatus = "ACTIVE" | "SUPPRESSED" | "CLOSED";

/** Most severe first. */
export const INSPECTOR_SEVERITY_ORDER: readonly InspectorSeverity[] = [
  "CRITICAL",
  "HIGH",
  "MEDIUM",
  "LOW",
  "INFORMATIONAL",
  "UNTRIAGED",
];

/**
 * A stored finding, as the findings store hands it to the API: the matcher's Finding (its
 * `status` renamed `matchStatus`, the Finding's own `status` being Inspector's lifecycle here)
 * plus its identity, image and lifecycle. Times are epoch milliseconds.
 */
export interface FindingRecord extends Omit<Finding, "status"> {
  /** `arn:aws:inspector2:<region>:<account>:finding/<32 hex>`, stable across re-matches. */
  findingArn: string;
  repositoryName: string;
  /** `sha256:<64 hex>` */
  imageDigest: string;
  imageTags: string[];
  pushedAt?: number;
  /** The image's architecture as its config says (`amd64`, `arm64`). */
  architecture?: string;
  /** Inspector's platform string, e.g. `DEBIAN_12`, `ALPINE_3_19`. */
  platform?: string;
  /** The last pull (the pull-date rescan mode LAST_PULL_DATE reads it). */
  lastInUseAt?: number;
  inUseCount?: number;
  /** Tags of the resource (the repository's tags), for `resourceTags` filters. */
  resourceTags?: Record<string, string>;
  status: FindingStatus;
  /** The severity shown: Inspector's (UNTRIAGED where the match says UNDEFINED). */
  reportedSeverity: InspectorSeverity;
  firstObservedAt: number;
  lastObservedAt: number;
  updatedAt: number;
  /** The matcher's verdict: affected, will_not_fix (no fix planned), undetermined. */
  matchStatus?: Finding["status"];
  /** Why it is suppressed, and what VEX says of it (src/findings/suppression.ts), when known. */
  drydock?: FindingNote;
}

/**
 * Drydock's own member of a Finding (`drydock`), not one of Inspector's: why the finding is
 * SUPPRESSED (the SUPPRESS filters and scoped exceptions that match it, or the VEX statement
 * that says not_affected) and the VEX statement that speaks for it whatever its status. The
 * AWS CLI and SDKs read only the members they know and drop it; raw JSON clients, the event
 * log and `drydock` commands show it (docs/vex-and-exceptions.md).
 */
export interface FindingNote {
  suppressedBy?: SuppressionNote[];
  vex?: VexNote;
}

/** One reason a finding is suppressed. */
export interface SuppressionNote {
  /** filter: an Inspector SUPPRESS filter; exception: one made by `drydock exceptions` or the configuration; vex: a VEX statement. */
  kind: "filter" | "exception" | "vex";
  /** The filter's (exception's) name and ARN, or the VEX document (`referrer sha256:…`, a file). */
  name: string;
  arn?: string;
  reason?: string;
  owner?: string;
  /** ISO 8601, when the filter or exception ends. */
  expiresAt?: string;
  /** For vex: the statement's justification. */
  justification?: string;
}

/** The VEX statement that decides a finding. */
export interface VexNote {
  status: "not_affected" | "affected" | "fixed" | "under_investigation";
  source: string;
  format: "openvex" | "cyclonedx";
  justification?: string;
  detail?: string;
  action?: string;
}

export interface VulnerablePackage {
  name: string;
  version: string;
  epoch?: number;
  release?: string;
  arch?: string;
  packageManager?: string;
  filePath?: string;
  fixedInVersion?: string;
  remediation?: string;
  sourceLayerHash?: string;
  sourceLambdaLayerArn?: string;
}

export interface AwsEcrContainerImageDetails {
  repositoryName: string;
  imageTags?: string[];
  pushedAt?: number;
  author?: string;
  architecture?: string;
  imageHash: string;
  registry: string;
  platform?: string;
  lastInUseAt?: number;
  inUseCount?: number;
}

export interface InspectorResource {
  type:
    | "AWS_ECR_CONTAINER_IMAGE"
    | "AWS_ECR_REPOSITORY"
    | "AWS_EC2_INSTANCE"
    | "AWS_LAMBDA_FUNCTION"
    | "CODE_REPOSITORY";
  id: string;
  partition?: string;
  region?: string;
  tags?: Record<string, string>;
  details?: { awsEcrContainerImage?: AwsEcrContainerImageDetails };
}

export interface CvssScoreDetails {
  scoreSource: string;
  cvssSource?: string;
  version: string;
  score: number;
  scoringVector: string;
  adjustments?: { metric: string; reason: string }[];
}

export interface PackageVulnerabilityDetails {
  vulnerabilityId: string;
  vulnerablePackages?: VulnerablePackage[];
  source: string;
  cvss?: { baseScore: number; scoringVector: string; version: string; source: string }[];
  relatedVulnerabilities?: string[];
  sourceUrl?: string;
  vendorSeverity?: string;
  vendorCreatedAt?: number;
  vendorUpdatedAt?: number;
  referenceUrls?: string[];
}

/** Inspector2's Finding as on the wire (timestamps in epoch seconds). */
export interface InspectorFinding {
  findingArn: string;
  awsAccountId: string;
  type: "PACKAGE_VULNERABILITY" | "NETWORK_REACHABILITY" | "CODE_VULNERABILITY";
  description: string;
  title?: string;
  remediation: { recommendation?: { text?: string; Url?: string } };
  severity: InspectorSeverity;
  firstObservedAt: number;
  lastObservedAt: number;
  updatedAt?: number;
  status: FindingStatus;
  resources: InspectorResource[];
  inspectorScore?: number;
  inspectorScoreDetails?: { adjustedCvss?: CvssScoreDetails };
  packageVulnerabilityDetails?: PackageVulnerabilityDetails;
  fixAvailable?: "YES" | "NO" | "PARTIAL";
  exploitAvailable?: "YES" | "NO";
  exploitabilityDetails?: { lastKnownExploitAt?: number };
  epss?: { score: number };
  /** Drydock's member (FindingNote), only when there is something to say. */
  drydock?: FindingNote;
}

export interface RegistryIdentity {
  accountId: string;
  region: string;
}

/** Epoch ms → the wire's epoch seconds. */
export const toSeconds = (ms: number) => ms / 1000;

/** The image's resource id: `arn:aws:ecr:<region>:<account>:repository/<name>/sha256:<hex>`. */
export function imageResourceId(r: RegistryIdentity, repositoryName: string, digest: string): string {
  return `arn:aws:ecr:${r.region}:${r.accountId}:repository/${repositoryName}/${digest}`;
}

/** `arn:aws:inspector2:<region>:<account>:finding/<32 hex>` from any stable id. */
export function findingArnOf(r: RegistryIdentity, id32hex: string): string {
  return `arn:aws:inspector2:${r.region}:${r.accountId}:finding/${id32hex}`;
}

const ECOSYSTEM_MANAGERS: Record<string, string> = {
  deb: "OS",
  apk: "OS",
  rpm: "OS",
  npm: "NPM",
  pypi: "PIP",
  gem: "GEMSPEC",
  cargo: "CARGO",
  nuget: "NUGET",
  composer: "COMPOSER",
};

/**
 * Inspector's packageManager for one of our ecosystems: OS packages OS; Go modules read from a
 * compiled binary GOBINARY, from go.mod/go.sum GOMOD; Maven artifacts POM when read from a
 * pom.xml or .pom file, else JAR (what Drydock reads in images: jars and their embedded
 * pom.properties); npm NPM, PyPI PIP, gems GEMSPEC, Cargo CARGO, NuGet NUGET, Composer COMPOSER.
 */
export function packageManagerOf(ecosystem: string, path: string | undefined): string {
  const eco = ecosystem.toLowerCase();
  if (eco === "golang") return path && /(^|\/)go\.(mod|sum)$/.test(path) ? "GOMOD" : "GOBINARY";
  if (eco === "maven") return path && /(^|\/)pom\.xml$|\.pom$/.test(path) ? "POM" : "JAR";
  return ECOSYSTEM_MANAGERS[eco] ?? "OS";
}

/**
 * Inspector splits OS package versions into epoch, version and release (Debian revision, rpm
 * release, apk `-rN`): `1:2.36-9+deb12u4` → {epoch 1, version "2.36", release "9+deb12u4"}.
 * Language package versions stay whole (epoch 0).
 */
export function splitPackageVersion(
  ecosystem: string,
  version: string,
): { epoch: number; version: string; release?: string } {
  const eco = ecosystem.toLowerCase();
  if (eco !== "deb" && eco !== "rpm" && eco !== "apk") return { epoch: 0, version };
  let epoch = 0;
  let rest = version;
  const colon = rest.indexOf(":");
  if ((eco === "deb" || eco === "rpm") && colon > 0 && /^\d+$/.test(rest.slice(0, colon))) {
    epoch = Number(rest.slice(0, colon));
    rest = rest.slice(colon + 1);
  }
  const dash = eco === "apk" ? rest.lastIndexOf("-r") : rest.lastIndexOf("-");
  if (dash > 0 && dash < rest.length - 1) {
    return {
      epoch: Number.isSafeInteger(epoch) ? epoch : 0,
      version: rest.slice(0, dash),
      release: rest.slice(dash + 1),
    };
  }
  return { epoch: Number.isSafeInteger(epoch) ? epoch : 0, version: rest || version };
}

function purlQualifier(purl: string, key: string): string | undefined {
  try {
    return parsePurl(purl)?.qualifiers?.[key];
  } catch {
    return undefined;
  }
}

const truncate = (s: string, max: number) => (s.length > max ? s.slice(0, max - 1) + "…" : s);

/** "3.1" from `CVSS:3.1/…`; v2 vectors carry no version. */
export function cvssVersion(c: SeverityScore): string {
  return (
    /^CVSS:(\d\.\d)\//.exec(c.vector)?.[1] ??
    (c.type === "CVSS_V2" ? "2.0" : c.type === "CVSS_V4" ? "4.0" : "3.1")
  );
}

/**
 * The score behind inspectorScore: a CVSS v3 score from NVD, else any v3, else v4, else v2
 * (Inspector scores with CVSS v3 and adjusts it; Drydock makes no adjustment).
 */
export function bestCvss(scores: readonly SeverityScore[]): SeverityScore | undefined {
  const scored = scores.filter((c) => c.score !== undefined && Number.isFinite(c.score));
  const isNvd = (c: SeverityScore) => (c.source ?? "").toLowerCase() === "nvd";
  return (
    scored.find((c) => c.type === "CVSS_V3" && isNvd(c)) ??
    scored.find((c) => c.type === "CVSS_V3") ??
    scored.find((c) => c.type === "CVSS_V4") ??
    scored.find((c) => c.type === "CVSS_V2")
  );
}

const CVE_RE = /^CVE-\d{4}-\d+$/;

/** The advisory page: the first reference, else NVD's page of the CVE. */
export function sourceUrlOf(
  f: Pick<Finding, "vulnerabilityId" | "aliases" | "references">,
): string | undefined {
  const cve = [f.vulnerabilityId, ...f.aliases].find((a) => CVE_RE.test(a));
  return f.references[0] ?? (cve ? `https://nvd.nist.gov/vuln/detail/${cve}` : undefined);
}

const LAYER_HASH_RE = /^sha256:[0-9a-f]{64}$/;

/** The Inspector2 Finding of a stored record (docs/inspector2-api.md, "The Finding"). */
export function toInspectorFinding(rec: FindingRecord, r: RegistryIdentity): InspectorFinding {
  const pkg = rec.package;
  const ecosystem = pkg.ecosystem.toLowerCase();
  const isOs = ecosystem === "deb" || ecosystem === "apk" || ecosystem === "rpm";
  const split = splitPackageVersion(ecosystem, pkg.version);
  const arch = isOs ? purlQualifier(pkg.purl, "arch") : undefined;
  const filePath =
    isOs || !pkg.path ? undefined : pkg.archivePath ? `${pkg.path}!${pkg.archivePath}` : pkg.path;
  const sourceUrl = sourceUrlOf(rec);
  const best = bestCvss(rec.cvss);
  const fixed = rec.fixedVersion;

  const vulnerablePackage: VulnerablePackage = {
    name: truncate(pkg.name, 1024),
    version: truncate(split.version, 1024) || "-",
    epoch: split.epoch,
    ...(split.release ? { release: truncate(split.release, 1024) } : {}),
    ...(arch ? { arch: truncate(arch.toUpperCase(), 64) } : {}),
    packageManager: packageManagerOf(ecosystem, pkg.path),
    ...(filePath ? { filePath: truncate(filePath.replace(/^\//, ""), 1024) } : {}),
    fixedInVersion: fixed ? truncate(fixed, 1024) : "NotAvailable",
    ...(fixed ? { remediation: truncate(`Upgrade ${pkg.name} to version ${fixed} or later`, 1024) } : {}),
    ...(pkg.layer && LAYER_HASH_RE.test(pkg.layer) ? { sourceLayerHash: pkg.layer } : {}),
  };

  const related = rec.aliases.filter((a) => a !== rec.vulnerabilityId);
  const references = rec.references.filter((u) => u !== "").slice(0, 10);
  const cvss = rec.cvss
    .filter((c) => c.score !== undefined && Number.isFinite(c.score))
    .map((c) => ({
      baseScore: c.score!,
      scoringVector: c.vector,
      version: cvssVersion(c),
      source: c.source ?? "NVD",
    }));

  const recommendation = fixed
    ? `Upgrade ${pkg.name} to version ${fixed} or later.`
    : rec.matchStatus === "will_not_fix"
      ? "The vendor does not plan to fix this vulnerability in this package."
      : "None Provided";

  const image: AwsEcrContainerImageDetails = {
    repositoryName: rec.repositoryName,
    imageTags: [...rec.imageTags],
    ...(rec.pushedAt !== undefined ? { pushedAt: toSeconds(rec.pushedAt) } : {}),
    ...(rec.architecture ? { architecture: rec.architecture } : {}),
    imageHash: rec.imageDigest,
    registry: r.accountId,
    ...(rec.platform ? { platform: truncate(rec.platform, 1024) } : {}),
    ...(rec.lastInUseAt !== undefined ? { lastInUseAt: toSeconds(rec.lastInUseAt) } : {}),
    ...(rec.inUseCount !== undefined ? { inUseCount: rec.inUseCount } : {}),
  };

  return {
    findingArn: rec.findingArn,
    awsAccountId: r.accountId,
    type: "PACKAGE_VULNERABILITY",
    description: truncate(rec.description || rec.title || rec.vulnerabilityId, 1024),
    title: truncate(`${rec.vulnerabilityId} - ${pkg.name}`, 1024),
    remediation: { recommendation: { text: recommendation, ...(sourceUrl ? { Url: sourceUrl } : {}) } },
    severity: rec.reportedSeverity,
    firstObservedAt: toSeconds(rec.firstObservedAt),
    lastObservedAt: toSeconds(rec.lastObservedAt),
    updatedAt: toSeconds(rec.updatedAt),
    status: rec.status,
    resources: [
      {
        type: "AWS_ECR_CONTAINER_IMAGE",
        id: imageResourceId(r, rec.repositoryName, rec.imageDigest),
        partition: "aws",
        region: r.region,
        ...(rec.resourceTags && Object.keys(rec.resourceTags).length
          ? { tags: { ...rec.resourceTags } }
          : {}),
        details: { awsEcrContainerImage: image },
      },
    ],
    ...(best
      ? {
          inspectorScore: best.score!,
          inspectorScoreDetails: {
            adjustedCvss: {
              scoreSource: best.source ?? "NVD",
              cvssSource: best.source ?? "NVD",
              version: cvssVersion(best),
              score: best.score!,
              scoringVector: best.vector,
              adjustments: [],
            },
          },
        }
      : {}),
    packageVulnerabilityDetails: {
      vulnerabilityId: truncate(rec.vulnerabilityId, 128),
      source: rec.source || "drydock",
      vulnerablePackages: [vulnerablePackage],
      cvss,
      relatedVulnerabilities: related,
      ...(sourceUrl ? { sourceUrl } : {}),
      ...(rec.vendorSeverity ? { vendorSeverity: rec.vendorSeverity } : {}),
      ...(references.length ? { referenceUrls: references } : {}),
    },
    fixAvailable: rec.fixAvailable,
    exploitAvailable: rec.kev ? "YES" : "NO",
    ...(rec.epss ? { epss: { score: rec.epss.score } } : {}),
    ...(rec.drydock ? { drydock: rec.drydock } : {}),
  };
}

/**
 * ECR's `enhancedFindings[]` entry (DescribeImageScanFindings under ENHANCED) of the same record:
 * the Inspector2 Finding with ECR's names (`inspectorScore` → `score`,
 * `inspectorScoreDetails.adjustedCvss` → `scoreDetails.cvss`, `remediation.recommendation.Url` →
 * `url`) and ECR's Resource (no partition or region), so that both APIs always agree.
 */
export function toEcrEnhancedFinding(rec: FindingRecord, r: RegistryIdentity) {
  const { inspectorScore, inspectorScoreDetails, remediation, resources, ...rest } = toInspectorFinding(
    rec,
    r,
  );
  const rec0 = remediation.recommendation;
  const cvss = inspectorScoreDetails?.adjustedCvss;
  return {
    ...rest,
    remediation: {
      recommendation: {
        ...(rec0?.Url !== undefined ? { url: rec0.Url } : {}),
        ...(rec0?.text !== undefined ? { text: rec0.text } : {}),
      },
    },
    resources: resources.map(({ partition: _p, region: _r, ...res }) => res),
    ...(inspectorScore !== undefined ? { score: inspectorScore } : {}),
    ...(cvss
      ? {
          scoreDetails: {
            cvss: {
              adjustments: cvss.adjustments ?? [],
              score: cvss.score,
              scoreSource: cvss.scoreSource,
              scoringVector: cvss.scoringVector,
              version: cvss.version,
            },
          },
        }
      : {}),
  };
}
