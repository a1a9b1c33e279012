import { ratingV3 } from "../../match/severity.js";
import { SEVERITY_ORDER, type Finding, type Severity } from "../finding.js";

/**
 * SARIF 2.1.0 for GitHub code scanning: one rule per vulnerability id, one result per
 * affected package instance, located at the file the package was read from (the image path
 * without its leading slash). `security-severity` carries the score GitHub ranks by.
 */
const LEVEL: Record<Severity, "error" | "warning" | "note"> = {
  CRITICAL: "error",
  HIGH: "error",
  MEDIUM: "warning",
  LOW: "note",
  INFORMATIONAL: "note",
  UNDEFINED: "note",
};

/** GitHub's bands: critical > 9.0, high 7.0–8.9, medium 4.0–6.9, low 0.1–3.9. */
const DEFAULT_SCORE: Record<Severity, string> = {
  CRITICAL: "9.5",
  HIGH: "8.0",
  MEDIUM: "5.5",
  LOW: "2.0",
  INFORMATIONAL: "0.0",
  UNDEFINED: "0.0",
};

export interface SarifOptions {
  /** The image reference, named in every result. */
  image: string;
  toolVersion: string;
}

export function toSarif(findings: Finding[], opts: SarifOptions): string {
  return JSON.stringify(sarifDocument(findings, opts), null, 2);
}

/**
 * GitHub ranks alerts by `security-severity` alone, so it must agree with the severity we
 * report: the CVSS v3 score when that decided the severity, else the middle of the
 * severity's band (a vendor's LOW stays low even when NVD scored the CVE 9.8).
 */
export function securitySeverity(f: Finding): string {
  if (f.severitySource === "cvss-v3") {
    const v3 = f.cvss
      .flatMap((c) => (c.type === "CVSS_V3" && c.score !== undefined ? [c.score] : []))
      .filter((score) => ratingV3(score) === f.severity)
      .sort((a, b) => b - a)[0];
    if (v3 !== undefined) return v3.toFixed(1);
  }
  return DEFAULT_SCORE[f.severity];
}

function location(f: Finding): string {
  return f.package.archivePath ? `${f.package.path}!${f.package.archivePath}` : f.package.path;
}

function rule(id: string, f: Finding) {
  const title = f.title ? `: ${f.title}` : "";
  const refs = f.references.slice(0, 5);
  const about = "Each result names the affected package, its installed version and the fixed version.";
  return {
    id,
    name: id.replace(/[^A-Za-z0-9]/g, ""),
    shortDescription: { text: f.title ?? `${id} (${f.severity})` },
    fullDescription: { text: f.description ?? f.title ?? id },
    helpUri: f.references[0] ?? `https://osv.dev/vulnerability/${id}`,
    help: {
      text: `${id} (${f.severity})${title}. ${about}${refs.length ? ` References: ${refs.join(" ")}` : ""}`,
      markdown: `**${id}** (${f.severity})${title}\n\n${about}${refs.length ? "\n\n" + refs.map((u) => `- <${u}>`).join("\n") : ""}`,
    },
    properties: {
      "security-severity": securitySeverity(f),
      tags: ["vulnerability", "security", f.severity],
      precision: "very-high",
    },
  };
}

function result(f: Finding, ruleIndex: number, image: string) {
  return {
    ruleId: f.vulnerabilityId,
    ruleIndex,
    level: LEVEL[f.severity],
    message: {
      text: [
        `Package: ${f.package.name}`,
        `Installed version: ${f.package.version}`,
        `Vulnerability: ${f.vulnerabilityId}`,
        `Severity: ${f.severity}`,
        `Fixed version: ${f.fixedVersion ?? "none"}`,
        `Image: ${image}`,
      ].join("\n"),
    },
    locations: [
      {
        physicalLocation: {
          artifactLocation: { uri: f.package.path.replace(/^\/+/, "") || "image", uriBaseId: "ROOTPATH" },
          region: { startLine: 1 },
        },
        message: { text: `${image}: ${location(f)}` },
      },
    ],
    partialFingerprints: {
      "drydock/v1": `${f.vulnerabilityId}:${f.package.purl}:${location(f)}`,
    },
  };
}

/** The SARIF log as an object (toSarif serializes it). */
export function sarifDocument(findings: Finding[], opts: SarifOptions) {
  // One rule per vulnerability, described by its most severe finding (vendor severities may
  // differ between packages): GitHub shows the rule's security-severity on every result.
  const rank = (f: Finding) => SEVERITY_ORDER.indexOf(f.severity);
  const rules = new Map<string, Finding>();
  for (const f of findings) {
    const prev = rules.get(f.vulnerabilityId);
    if (!prev || rank(f) < rank(prev)) rules.set(f.vulnerabilityId, f);
  }
  const ruleIds = [...rules.keys()];
  const ruleIndex = new Map(ruleIds.map((id, i) => [id, i]));
  return {
    $schema: "https://json.schemastore.org/sarif-2.1.0.json",
    version: "2.1.0",
    runs: [
      {
        tool: {
          driver: {
            name: "Drydock",
            version: opts.toolVersion,
            informationUri: "https://github.com/drydock/drydock",
            rules: ruleIds.map((id) => rule(id, rules.get(id)!)),
          },
        },
        results: findings.map((f) => result(f, ruleIndex.get(f.vulnerabilityId)!, opts.image)),
        originalUriBaseIds: { ROOTPATH: { uri: "file:///" } },
      },
    ],
  };
}
