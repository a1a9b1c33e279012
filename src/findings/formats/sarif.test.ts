import { describe, expect, it } from "vitest";
import { githubSarifSchema, testFinding } from "../testing.js";
import { sarifDocument, securitySeverity, toSarif } from "./sarif.js";

const opts = { image: "oci:/images/java-app", toolVersion: "0.1.0" };

const stdlib = (path: string) =>
  testFinding({
    vulnerabilityId: "CVE-2024-24790",
    severity: "CRITICAL",
    cvss: [
      { type: "CVSS_V3", vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", score: 9.8, source: "nvd" },
    ],
    fixedVersion: "1.21.11",
    package: {
      name: "stdlib",
      version: "v1.19.8",
      ecosystem: "golang",
      purl: "pkg:golang/stdlib@v1.19.8",
      path,
    },
  });
const vendorLow = testFinding({
  vulnerabilityId: "CVE-2023-0286",
  severity: "LOW",
  severitySource: "vendor",
  vendorSeverity: "low",
  // NVD says 7.4, the distro says low: GitHub must rank it low, as the report does
  cvss: [
    { type: "CVSS_V3", vector: "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:N/A:H", score: 7.4, source: "nvd" },
  ],
});
const nested = testFinding({
  vulnerabilityId: "CVE-2019-17571",
  severity: "UNDEFINED",
  severitySource: "none",
  cvss: [],
  fixedVersion: undefined,
  fixAvailable: "NO",
  title: undefined,
  description: undefined,
  references: [],
  package: {
    name: "log4j:log4j",
    version: "1.2.17",
    ecosystem: "maven",
    purl: "pkg:maven/log4j/log4j@1.2.17",
    path: "/app/app.jar",
    archivePath: "BOOT-INF/lib/log4j-1.2.17.jar",
  },
});

describe("SARIF", () => {
  const findings = [stdlib("/usr/local/bin/gomod-demo"), stdlib("/usr/local/bin/skopeo"), vendorLow, nested];
  const text = toSarif(findings, opts);
  const doc = JSON.parse(text) as ReturnType<typeof sarifDocument>;

  it("has what GitHub code scanning reads", () => {
    const r = githubSarifSchema.safeParse(doc);
    expect(r.success ? null : r.error.issues).toBeNull();
    expect(doc.$schema).toBe("https://json.schemastore.org/sarif-2.1.0.json");
  });

  it("has one rule per vulnerability and one result per affected package instance", () => {
    const run = doc.runs[0]!;
    expect(run.tool.driver.name).toBe("Drydock");
    expect(run.tool.driver.rules.map((r) => r.id)).toEqual([
      "CVE-2024-24790",
      "CVE-2023-0286",
      "CVE-2019-17571",
    ]);
    expect(run.results.map((r) => [r.ruleId, r.ruleIndex, r.level])).toEqual([
      ["CVE-2024-24790", 0, "error"],
      ["CVE-2024-24790", 0, "error"],
      ["CVE-2023-0286", 1, "note"],
      ["CVE-2019-17571", 2, "note"],
    ]);
    expect(run.results.map((r) => r.locations[0]!.physicalLocation.artifactLocation.uri)).toEqual([
      "usr/local/bin/gomod-demo",
      "usr/local/bin/skopeo",
      "var/lib/dpkg/status",
      "app/app.jar",
    ]);
  });

  it("names the package, versions and image in each result, and the archive member in its location", () => {
    const [first, , , jar] = doc.runs[0]!.results;
    expect(first!.message.text).toBe(
      [
        "Package: stdlib",
        "Installed version: v1.19.8",
        "Vulnerability: CVE-2024-24790",
        "Severity: CRITICAL",
        "Fixed version: 1.21.11",
        "Image: oci:/images/java-app",
      ].join("\n"),
    );
    expect(jar!.locations[0]!.message.text).toBe(
      "oci:/images/java-app: /app/app.jar!BOOT-INF/lib/log4j-1.2.17.jar",
    );
    expect(jar!.message.text).toContain("Fixed version: none");
    // fingerprints tell two copies of a package apart
    const prints = doc.runs[0]!.results.map((r) => r.partialFingerprints["drydock/v1"]);
    expect(new Set(prints).size).toBe(prints.length);
  });

  it("ranks rules by a security-severity that agrees with the reported severity", () => {
    const rules = doc.runs[0]!.tool.driver.rules;
    expect(rules.map((r) => r.properties["security-severity"])).toEqual(["9.8", "2.0", "0.0"]);
    expect(securitySeverity(testFinding({ severity: "HIGH", severitySource: "cvss-v3" }))).toBe("7.4");
    expect(securitySeverity(testFinding({ severity: "MEDIUM", severitySource: "cvss-v2", cvss: [] }))).toBe(
      "5.5",
    );
  });

  it("describes a rule by its most severe finding", () => {
    const mild = testFinding({ vulnerabilityId: "CVE-1", severity: "LOW", severitySource: "vendor" });
    const severe = testFinding({ vulnerabilityId: "CVE-1", severity: "HIGH", package: { name: "libssl3" } });
    const d = sarifDocument([mild, severe], opts);
    expect(d.runs[0]!.tool.driver.rules).toHaveLength(1);
    expect(d.runs[0]!.tool.driver.rules[0]!.properties).toMatchObject({
      "security-severity": "7.4",
      tags: ["vulnerability", "security", "HIGH"],
    });
  });

  it("is a valid empty log when there are no findings", () => {
    const empty = sarifDocument([], opts);
    expect(githubSarifSchema.safeParse(empty).success).toBe(true);
    expect(empty.runs[0]!.results).toEqual([]);
  });
});
