import { createHash } from "node:crypto";
import type { Finding } from "../../findings/finding.js";
import type { FindingLifecycle, ImageScanState } from "../../scan/types.js";
import { epochSeconds, repositoryArn, type Registry } from "./shapes.js";

/** Finding → ECR wire shapes: basic `findings[]` and ENHANCED `enhancedFindings[]` (Inspector-like). */

function referenceUrl(f: Finding): string {
  const cve = [f.vulnerabilityId, ...f.aliases].find((a) => /^CVE-\d{4}-\d+$/.test(a));
  return f.references[0] ?? (cve ? `https://nvd.nist.gov/vuln/detail/${cve}` : "");
}

export function basicFinding(f: Finding) {
  const attributes: { key: string; value: string }[] = [
    { key: "package_name", value: f.package.name },
    { key: "package_version", value: f.package.version },
  ];
  for (const c of f.cvss) {
    const v = c.type === "CVSS_V2" ? "CVSS2" : c.type === "CVSS_V3" ? "CVSS3" : null;
    if (!v || attributes.some((a) => a.key === `${v}_VECTOR`)) continue;
    attributes.push({ key: `${v}_VECTOR`, value: c.vector });
    if (c.score !== undefined) attributes.push({ key: `${v}_SCORE`, value: String(c.score) });
  }
  return {
    name: f.vulnerabilityId,
    ...(f.description ? { description: f.description } : {}),
    uri: referenceUrl(f),
    severity: f.severity,
    attributes,
  };
}

/** "3.1" from `CVSS:3.1/…`; v2 vectors carry no version. */
function cvssVersion(c: { type: string; vector: string }): string {
  return /^CVSS:(\d\.\d)\//.exec(c.vector)?.[1] ?? (c.type === "CVSS_V2" ? "2.0" : c.type.slice(6));
}

const PACKAGE_MANAGERS: Record<string, string> = {
  npm: "NPM",
  pypi: "PIP",
  maven: "JAR",
  golang: "GOMOD",
  gem: "GEMSPEC",
  nuget: "NUGET",
  cargo: "CARGO",
  composer: "COMPOSER",
};

/** Inspector's packageManager; Go modules read from a compiled binary are GOBINARY, from go.mod GOMOD. */
function packageManager(ecosystem: string, path: string | undefined): string {
  if (ecosystem === "golang" && path && !/(^|\/)go\.(mod|sum)$/.test(path)) return "GOBINARY";
  return PACKAGE_MANAGERS[ecosystem] ?? "OS";
}

export function enhancedFinding(
  r: Registry,
  repo: string,
  tags: string[],
  state: ImageScanState,
  f: Finding,
  /** The stored finding's id, status and dates: the same as Inspector2's ListFindings shows. */
  lifecycle?: FindingLifecycle,
) {
  const id =
    lifecycle?.id ??
    createHash("sha256")
      .update(`${repo}\0${state.imageDigest}\0${f.vulnerabilityId}\0${f.package.name}\0${f.package.version}`)
      .digest("hex")
      .slice(0, 32);
  const best =
    f.cvss.find((c) => c.type === "CVSS_V3" && c.score !== undefined) ??
    f.cvss.find((c) => c.score !== undefined);
  const at = epochSeconds(state.completedAt ?? Date.now());
  const observed = lifecycle
    ? {
        firstObservedAt: epochSeconds(lifecycle.firstObservedAt),
        lastObservedAt: epochSeconds(lifecycle.lastObservedAt),
        updatedAt: epochSeconds(lifecycle.updatedAt),
      }
    : { firstObservedAt: at, lastObservedAt: at, updatedAt: at };
  const ecosystem = f.package.ecosystem.toLowerCase();
  return {
    awsAccountId: r.accountId,
    description: f.description ?? f.title ?? f.vulnerabilityId,
    findingArn: `arn:aws:inspector2:${r.region}:${r.accountId}:finding/${id}`,
    ...observed,
    packageVulnerabilityDetails: {
      vulnerabilityId: f.vulnerabilityId,
      source: f.source,
      sourceUrl: referenceUrl(f),
      ...(f.vendorSeverity ? { vendorSeverity: f.vendorSeverity } : {}),
      relatedVulnerabilities: f.aliases,
      referenceUrls: f.references.slice(0, 10),
      cvss: f.cvss
        .filter((c) => c.score !== undefined)
        .map((c) => ({
          baseScore: c.score!,
          scoringVector: c.vector,
          version: cvssVersion(c),
          source: c.source ?? "NVD",
        })),
      vulnerablePackages: [
        {
          name: f.package.name,
          version: f.package.version,
          packageManager: packageManager(ecosystem, f.package.path),
          ...(f.fixedVersion ? { fixedInVersion: f.fixedVersion } : { fixedInVersion: "NotAvailable" }),
          ...(f.package.layer ? { sourceLayerHash: f.package.layer } : {}),
          ...(f.package.path ? { filePath: f.package.path } : {}),
        },
      ],
    },
    remediation: {
      recommendation: {
        text: f.fixedVersion ? `Upgrade ${f.package.name} to ${f.fixedVersion}` : "None Provided",
        url: referenceUrl(f),
      },
    },
    resources: [
      {
        id: `${repositoryArn(r, repo)}/${state.imageDigest}`,
        type: "AWS_ECR_CONTAINER_IMAGE",
        details: {
          awsEcrContainerImage: {
            repositoryName: repo,
            imageTags: tags,
            imageHash: state.imageDigest,
            registry: r.accountId,
          },
        },
      },
    ],
    ...(best?.score !== undefined
      ? {
          score: best.score,
          scoreDetails: {
            cvss: {
              score: best.score,
              scoreSource: best.source ?? "NVD",
              scoringVector: best.vector,
              version: cvssVersion(best),
              adjustments: [],
            },
          },
        }
      : {}),
    severity: f.severity === "UNDEFINED" ? "UNTRIAGED" : f.severity,
    status: lifecycle?.status ?? "ACTIVE",
    title: f.title ? `${f.vulnerabilityId} - ${f.title}` : `${f.vulnerabilityId} - ${f.package.name}`,
    type: "PACKAGE_VULNERABILITY",
    fixAvailable: f.fixAvailable,
    exploitAvailable: f.kev ? "YES" : "NO",
  };
}
