import type { Finding, Severity } from "../../match/types.js";

/**
 * SARIF 2.1.0 for GitHub code scanning: one rule per vulnerability id, one result per
 * affected package instance, located at the file the package was read from (the image path
 * without its leading slash). `security-severity` carries the CVSS score GitHub ranks by.
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

export function toSarif(findings: Finding[], opts: { image: string; toolVersion: string }): string {
  const rules = new Map<string, Finding>();
  for (const f of findings) if (!rules.has(f.vulnerabilityId)) rules.set(f.vulnerabilityId, f);
  const ruleIds = [...rules.keys()];
  const score = (f: Finding) => {
    const v3 = f.cvss.find((c) => c.type === "CVSS_V3" && c.score !== undefined)?.score;
    return v3 !== undefined ? v3.toFixed(1) : DEFAULT_SCORE[f.severity];
  };
  const doc = {
    $schema: "https://json.schemastore.org/sarif-2.1.0.json",
    version: "2.1.0",
    runs: [
      {
        tool: {
          driver: {
            name: "Drydock",
            version: opts.toolVersion,
            informationUri: "https://github.com/drydock/drydock",
            rules: ruleIds.map((id) => {
              const f = rules.get(id)!;
              return {
                id,
                name: id.replace(/[^A-Za-z0-9]/g, ""),
                shortDescription: { text: f.title ?? `${id} in ${f.package.name}` },
                fullDescription: { text: f.description ?? f.title ?? id },
                helpUri: f.references[0] ?? `https://osv.dev/vulnerability/${id}`,
                help: {
                  text: `${id} (${f.severity}). Package ${f.package.name} ${f.package.version}. Fixed version: ${f.fixedVersion ?? "none"}.`,
                  markdown: `**${id}** (${f.severity})\n\n| package | installed | fixed |\n| --- | --- | --- |\n| ${f.package.name} | ${f.package.version} | ${f.fixedVersion ?? "none"} |`,
                },
                properties: {
                  "security-severity": score(f),
                  tags: ["vulnerability", "security", f.severity],
                  precision: "very-high",
                },
              };
            }),
          },
        },
        results: findings.map((f) => ({
          ruleId: f.vulnerabilityId,
          ruleIndex: ruleIds.indexOf(f.vulnerabilityId),
          level: LEVEL[f.severity],
          message: {
            text: `Package: ${f.package.name}\nInstalled version: ${f.package.version}\nVulnerability: ${f.vulnerabilityId}\nSeverity: ${f.severity}\nFixed version: ${f.fixedVersion ?? "none"}\nImage: ${opts.image}`,
          },
          locations: [
            {
              physicalLocation: {
                artifactLocation: {
                  uri: f.package.path.replace(/^\/+/, "") || "image",
                  uriBaseId: "ROOTPATH",
                },
                region: { startLine: 1 },
              },
              message: {
                text: `${opts.image}: ${f.package.path}${f.package.archivePath ? `!${f.package.archivePath}` : ""}`,
              },
            },
          ],
          partialFingerprints: {
            "drydock/v1": `${f.vulnerabilityId}:${f.package.purl}:${f.package.path}`,
          },
        })),
        originalUriBaseIds: { ROOTPATH: { uri: "file:///" } },
      },
    ],
  };
  return JSON.stringify(doc, null, 2);
}
