import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { toInspectorFinding, type FindingRecord } from "../../api/inspector2/finding.js";
import { testFinding } from "../testing.js";
import { parseCsv } from "./csv-testing.js";
import { CSV_COLUMNS, csvLine, csvValues, reportWriter } from "./findings-format.js";

const REGISTRY = { accountId: "123456789012", region: "us-east-1" };
const DIGEST = `sha256:${"ab".repeat(32)}`;

function record(over: Partial<FindingRecord> = {}): FindingRecord {
  const { status: _matchStatus, ...doc } = testFinding({
    description: 'Type confusion, "X.400", in\nGeneralName',
    aliases: ["CVE-2023-0286", "DSA-5343-1"],
    vendorSeverity: "important",
    cvss: [
      { type: "CVSS_V3", vector: "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:N/A:H", score: 7.4, source: "nvd" },
      { type: "CVSS_V2", vector: "AV:N/AC:M/Au:N/C:C/I:N/A:C", score: 7.1, source: "nvd" },
      {
        type: "CVSS_V3",
        vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
        score: 9.8,
        source: "debian",
      },
    ],
    epss: { score: 0.0123, percentile: 0.8 },
    kev: true,
    package: {
      name: "openssl",
      version: "1:3.0.7-1",
      purl: "pkg:deb/debian/openssl@1:3.0.7-1?arch=amd64&distro=debian-12",
      layer: `sha256:${"cd".repeat(32)}`,
    },
  });
  return {
    ...doc,
    findingArn: `arn:aws:inspector2:us-east-1:123456789012:finding/${"0".repeat(32)}`,
    repositoryName: "team/app",
    imageDigest: DIGEST,
    imageTags: ["v1", "latest"],
    resourceTags: { team: "core", "cost,center": "42" },
    platform: "DEBIAN_12",
    status: "ACTIVE",
    reportedSeverity: "HIGH",
    firstObservedAt: Date.UTC(2024, 0, 1),
    lastObservedAt: Date.UTC(2024, 0, 5),
    updatedAt: Date.UTC(2024, 0, 5),
    ...over,
  };
}

describe("findings report CSV", () => {
  it("has Inspector's columns, in its order", () => {
    expect(CSV_COLUMNS.slice(0, 11)).toEqual([
      "AWS Account Id",
      "Severity",
      "Fix Available",
      "Finding Type",
      "Title",
      "Description",
      "Finding ARN",
      "First Seen",
      "Last Seen",
      "Last Updated",
      "Resource ID",
    ]);
    expect(CSV_COLUMNS).toHaveLength(55);
    expect(CSV_COLUMNS.at(-1)).toBe("Package Manager");
    expect(new Set(CSV_COLUMNS).size).toBe(CSV_COLUMNS.length);
  });

  it("maps an image finding to the columns", () => {
    const f = toInspectorFinding(record(), REGISTRY);
    const v = csvValues(f, Date.UTC(2024, 0, 11, 12));
    expect(v).toMatchObject({
      "AWS Account Id": "123456789012",
      Severity: "HIGH",
      "Fix Available": "YES",
      "Finding Type": "PACKAGE_VULNERABILITY",
      Title: "CVE-2023-0286 - openssl",
      "Finding ARN": f.findingArn,
      "First Seen": "2024-01-01T00:00:00.000Z",
      "Last Seen": "2024-01-05T00:00:00.000Z",
      "Resource ID": `arn:aws:ecr:us-east-1:123456789012:repository/team/app/${DIGEST}`,
      "Container Image Tags": "v1, latest",
      Region: "us-east-1",
      Platform: "DEBIAN_12",
      "Resource Tags": "team=core, cost,center=42",
      "Affected Packages": "openssl",
      "Package Installed Version": "1:3.0.7-1",
      "Fixed in Version": "3.0.8-1",
      "Package Remediation": "Upgrade openssl to version 3.0.8-1 or later",
      "Age (Days)": "10",
      Remediation: "Upgrade openssl to version 3.0.8-1 or later.",
      "Inspector Score": "7.4",
      "Inspector Score Vector": "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:N/A:H",
      Status: "ACTIVE",
      "Vulnerability Id": "CVE-2023-0286",
      Vendor: "debian-dsa",
      "Vendor Severity": "important",
      "Vendor Advisory": "https://www.openssl.org/news/secadv/20230207.txt",
      "NVD CVSS3 Score": "7.4",
      "NVD CVSS2 Score": "7.1",
      "NVD CVSS2 Vector": "AV:N/AC:M/Au:N/C:C/I:N/A:C",
      "Vendor CVSS3 Score": "9.8",
      "Vendor CVSS2 Score": "",
      "Resource Type": "AWS_ECR_CONTAINER_IMAGE",
      Ami: "",
      "Epss Score": "0.0123",
      "Exploit Available": "YES",
      "Reference Urls": "https://www.openssl.org/news/secadv/20230207.txt",
      "Package Manager": "OS",
    });
  });

  it("a written report reads back with a strict RFC 4180 reader: header, then one row per finding", () => {
    const w = reportWriter("CSV", Date.UTC(2024, 1, 1));
    const fs = [
      record(),
      record({ findingArn: `arn:aws:inspector2:us-east-1:123456789012:finding/${"1".repeat(32)}` }),
    ];
    const text =
      w.head() +
      w.page(
        fs.map((r) => toInspectorFinding(r, REGISTRY)),
        true,
      ) +
      w.tail();
    const rows = parseCsv(text);
    expect(rows[0]).toEqual([...CSV_COLUMNS]);
    expect(rows).toHaveLength(3);
    const desc = CSV_COLUMNS.indexOf("Description");
    expect(rows[1]![desc]).toBe('Type confusion, "X.400", in\nGeneralName');
    for (const r of rows) expect(r).toHaveLength(CSV_COLUMNS.length);
  });

  it("any field values round-trip through the escaping (fast-check)", () => {
    const text = fc.string({ unit: fc.constantFrom("a", ",", '"', "\r", "\n", " ", "é", "=", "x") });
    fc.assert(
      fc.property(
        fc.array(fc.array(text, { minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 5 }),
        (rows) => {
          // A record of one empty field is an empty line, which RFC 4180 readers skip: not written here.
          const kept = rows.filter((r) => !(r.length === 1 && r[0] === ""));
          expect(parseCsv(kept.map((r) => csvLine(r)).join(""))).toEqual(kept);
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe("findings report JSON", () => {
  it("is {findings: [...]} with each finding as ListFindings shows it, over any number of pages", () => {
    const w = reportWriter("JSON", 0);
    const a = toInspectorFinding(record(), REGISTRY);
    const b = toInspectorFinding(record({ status: "SUPPRESSED" }), REGISTRY);
    const text = w.head() + w.page([a], true) + w.page([], false) + w.page([b, a], false) + w.tail();
    expect(JSON.parse(text)).toEqual({ findings: [a, b, a] });
    expect(JSON.parse(w.head() + w.tail())).toEqual({ findings: [] });
  });
});
