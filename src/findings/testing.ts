import { z } from "zod";
import type { Finding } from "./finding.js";

/** A finding for tests of the report formats and the ignore file; override what matters. */
export function testFinding(
  over: Partial<Omit<Finding, "package">> & { package?: Partial<Finding["package"]> } = {},
): Finding {
  const { package: p, ...rest } = over;
  const vulnerabilityId = rest.vulnerabilityId ?? "CVE-2023-0286";
  return {
    vulnerabilityId,
    aliases: [],
    severity: "HIGH",
    severitySource: "cvss-v3",
    title: "X.400 address type confusion in X.509 GeneralName",
    package: {
      name: "openssl",
      version: "3.0.7-1",
      ecosystem: "deb",
      purl: "pkg:deb/debian/openssl@3.0.7-1?arch=amd64&distro=debian-12",
      layer: "sha256:aaaa",
      path: "/var/lib/dpkg/status",
      ...p,
    },
    fixedVersion: "3.0.8-1",
    fixAvailable: "YES",
    status: "affected",
    cvss: [
      { type: "CVSS_V3", vector: "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:N/A:H", score: 7.4, source: "nvd" },
    ],
    kev: false,
    references: ["https://www.openssl.org/news/secadv/20230207.txt"],
    source: "debian-dsa",
    explanation: {
      advisory: "DSA-5343-1",
      source: "debian-dsa",
      ecosystem: "debian:12",
      package: p?.name ?? "openssl",
      version: p?.version ?? "3.0.7-1",
      scheme: "deb",
      matched: "range",
      range: "<3.0.8-1",
    },
    ...rest,
  };
}

/**
 * What GitHub code scanning reads from a SARIF upload (docs.github.com "SARIF support for
 * code scanning"): version 2.1.0; each run's tool.driver.name and rules (id, and the
 * `security-severity` score, 0.0–10.0 as a string, that ranks security alerts); each
 * result's ruleId, level, message.text and one location whose artifactLocation.uri is a
 * relative path (no leading slash: it is resolved against the checkout).
 */
export const githubSarifSchema = z.object({
  version: z.literal("2.1.0"),
  runs: z
    .array(
      z.object({
        tool: z.object({
          driver: z.object({
            name: z.string().min(1),
            rules: z.array(
              z.object({
                id: z.string().min(1),
                shortDescription: z.object({ text: z.string().min(1) }).optional(),
                fullDescription: z.object({ text: z.string().min(1) }).optional(),
                help: z.object({ text: z.string().min(1), markdown: z.string().optional() }).optional(),
                properties: z.object({
                  "security-severity": z
                    .string()
                    .regex(/^\d{1,2}\.\d$/)
                    .refine((s) => Number(s) >= 0 && Number(s) <= 10, "0.0 to 10.0"),
                  tags: z.array(z.string()).optional(),
                }),
              }),
            ),
          }),
        }),
        results: z.array(
          z.object({
            ruleId: z.string().min(1),
            ruleIndex: z.number().int().nonnegative().optional(),
            level: z.enum(["none", "note", "warning", "error"]),
            message: z.object({ text: z.string().min(1) }),
            locations: z
              .array(
                z.object({
                  physicalLocation: z.object({
                    artifactLocation: z.object({
                      uri: z.string().min(1).regex(/^[^/]/),
                      uriBaseId: z.string().optional(),
                    }),
                    region: z.object({ startLine: z.number().int().positive() }).optional(),
                  }),
                }),
              )
              .min(1),
            partialFingerprints: z.record(z.string(), z.string()).optional(),
          }),
        ),
      }),
    )
    .min(1),
});
