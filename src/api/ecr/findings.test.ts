import { describe, expect, it } from "vitest";
import type { Finding } from "../../findings/finding.js";
import type { ImageScanState } from "../../scan/types.js";
import { enhancedFinding } from "./findings.js";

const registry = { accountId: "123456789012", region: "eu-west-1" };
const digest = `sha256:${"a".repeat(64)}`;
const state: ImageScanState = {
  repositoryName: "team/app",
  imageDigest: digest,
  status: "ACTIVE",
  scanType: "ENHANCED",
  completedAt: Date.parse("2025-01-02T00:00:00Z"),
} as ImageScanState;
const finding: Finding = {
  vulnerabilityId: "CVE-2023-30608",
  aliases: [],
  severity: "MEDIUM",
  severitySource: "cvss-v3",
  package: {
    name: "sqlparse",
    version: "0.3.0",
    ecosystem: "pypi",
    purl: "pkg:pypi/sqlparse@0.3.0",
    path: "/usr/local/lib/x/METADATA",
  },
  fixedVersion: "0.4.4",
  fixAvailable: "YES",
  status: "affected",
  cvss: [],
  kev: false,
  references: [],
  source: "osv",
  explanation: {
    advisory: "PYSEC-2023-87",
    source: "osv",
    ecosystem: "pypi",
    package: "sqlparse",
    version: "0.3.0",
    scheme: "pep440",
    matched: "range",
  },
};

describe("ECR enhancedFindings", () => {
  it("carry the stored finding's ARN, status and dates: what Inspector2's ListFindings shows", () => {
    const f = enhancedFinding(registry, "team/app", ["v1"], state, finding, {
      id: "0123456789abcdef0123456789abcdef",
      status: "ACTIVE",
      firstObservedAt: Date.parse("2025-01-01T00:00:00Z"),
      lastObservedAt: Date.parse("2025-01-03T00:00:00Z"),
      updatedAt: Date.parse("2025-01-02T12:00:00Z"),
    });
    expect(f).toMatchObject({
      findingArn: "arn:aws:inspector2:eu-west-1:123456789012:finding/0123456789abcdef0123456789abcdef",
      status: "ACTIVE",
      firstObservedAt: Date.parse("2025-01-01T00:00:00Z") / 1000,
      lastObservedAt: Date.parse("2025-01-03T00:00:00Z") / 1000,
      updatedAt: Date.parse("2025-01-02T12:00:00Z") / 1000,
      fixAvailable: "YES",
    });
  });

  it("without a stored lifecycle (a scan service that keeps none): the scan's time and a derived id", () => {
    const f = enhancedFinding(registry, "team/app", [], state, finding);
    expect(f.findingArn).toMatch(/^arn:aws:inspector2:eu-west-1:123456789012:finding\/[0-9a-f]{32}$/);
    expect(f).toMatchObject({
      status: "ACTIVE",
      firstObservedAt: state.completedAt! / 1000,
      updatedAt: state.completedAt! / 1000,
    });
  });
});
