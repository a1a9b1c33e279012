import { describe, expect, it } from "vitest";
import {
  bestCvss,
  packageManagerOf,
  splitPackageVersion,
  toEcrEnhancedFinding,
  toInspectorFinding,
} from "./finding.js";
import { findingRecord } from "./testing.js";

const R = { accountId: "123456789012", region: "eu-west-1" };

describe("toInspectorFinding", () => {
  it("shapes a Debian finding exactly as Inspector2's Finding", () => {
    const rec = findingRecord({
      findingArn: "arn:aws:inspector2:eu-west-1:123456789012:finding/0123456789abcdef0123456789abcdef",
      vulnerabilityId: "CVE-2024-0001",
      aliases: ["CVE-2024-0001", "DSA-5600-1"],
      vendorSeverity: "high",
      epss: { score: 0.42, percentile: 0.9 },
      kev: true,
      imageTags: ["1.0", "latest"],
      lastInUseAt: 1_700_000_300_000,
      resourceTags: { team: "a" },
      reportedSeverity: "HIGH",
    });
    expect(toInspectorFinding(rec, R)).toEqual({
      findingArn: "arn:aws:inspector2:eu-west-1:123456789012:finding/0123456789abcdef0123456789abcdef",
      awsAccountId: "123456789012",
      type: "PACKAGE_VULNERABILITY",
      description: "A flaw in openssl.",
      title: "CVE-2024-0001 - openssl",
      remediation: {
        recommendation: {
          text: "Upgrade openssl to version 3.0.13-1~deb12u1 or later.",
          Url: "https://security-tracker.debian.org/tracker/CVE-2024-0001",
        },
      },
      severity: "HIGH",
      firstObservedAt: rec.firstObservedAt / 1000,
      lastObservedAt: 1_700_000_200,
      updatedAt: 1_700_000_200,
      status: "ACTIVE",
      resources: [
        {
          type: "AWS_ECR_CONTAINER_IMAGE",
          id: `arn:aws:ecr:eu-west-1:123456789012:repository/team/app/sha256:${"ab".repeat(32)}`,
          partition: "aws",
          region: "eu-west-1",
          tags: { team: "a" },
          details: {
            awsEcrContainerImage: {
              repositoryName: "team/app",
              imageTags: ["1.0", "latest"],
              pushedAt: 1_700_000_000,
              architecture: "amd64",
              imageHash: `sha256:${"ab".repeat(32)}`,
              registry: "123456789012",
              platform: "DEBIAN_12",
              lastInUseAt: 1_700_000_300,
            },
          },
        },
      ],
      inspectorScore: 7.5,
      inspectorScoreDetails: {
        adjustedCvss: {
          scoreSource: "nvd",
          cvssSource: "nvd",
          version: "3.1",
          score: 7.5,
          scoringVector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N",
          adjustments: [],
        },
      },
      packageVulnerabilityDetails: {
        vulnerabilityId: "CVE-2024-0001",
        source: "debian-tracker",
        vulnerablePackages: [
          {
            name: "openssl",
            version: "3.0.11",
            epoch: 0,
            release: "1~deb12u2",
            arch: "AMD64",
            packageManager: "OS",
            fixedInVersion: "3.0.13-1~deb12u1",
            remediation: "Upgrade openssl to version 3.0.13-1~deb12u1 or later",
            sourceLayerHash: `sha256:${"cd".repeat(32)}`,
          },
        ],
        cvss: [
          {
            baseScore: 7.5,
            scoringVector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N",
            version: "3.1",
            source: "nvd",
          },
        ],
        relatedVulnerabilities: ["DSA-5600-1"],
        sourceUrl: "https://security-tracker.debian.org/tracker/CVE-2024-0001",
        vendorSeverity: "high",
        referenceUrls: ["https://security-tracker.debian.org/tracker/CVE-2024-0001"],
      },
      fixAvailable: "YES",
      exploitAvailable: "YES",
      epss: { score: 0.42 },
    });
  });

  it("language packages: whole version, file path, manager; no fix; untriaged; at most 10 reference URLs", () => {
    const f = toInspectorFinding(
      findingRecord({
        reportedSeverity: "UNTRIAGED",
        severity: "UNDEFINED",
        fixedVersion: undefined,
        fixAvailable: "NO",
        cvss: [],
        references: Array.from({ length: 12 }, (_, i) => `https://example.com/${i}`),
        package: {
          name: "lodash",
          version: "4.17.20",
          ecosystem: "npm",
          purl: "pkg:npm/lodash@4.17.20",
          path: "/app/node_modules/lodash/package.json",
          layer: "not-a-digest",
        },
      }),
      R,
    );
    expect(f.severity).toBe("UNTRIAGED");
    expect(f.inspectorScore).toBeUndefined();
    expect(f.remediation.recommendation).toEqual({ text: "None Provided", Url: "https://example.com/0" });
    expect(f.packageVulnerabilityDetails!.vulnerablePackages).toEqual([
      {
        name: "lodash",
        version: "4.17.20",
        epoch: 0,
        packageManager: "NPM",
        filePath: "app/node_modules/lodash/package.json",
        fixedInVersion: "NotAvailable",
      },
    ]);
    expect(f.packageVulnerabilityDetails!.referenceUrls).toHaveLength(10);
    expect(f.fixAvailable).toBe("NO");
    expect(f.exploitAvailable).toBe("NO");
    expect(f.epss).toBeUndefined();
  });

  it("a will-not-fix finding says so; an over-long description is cut to 1024 characters", () => {
    const f = toInspectorFinding(
      findingRecord({ fixedVersion: undefined, matchStatus: "will_not_fix", description: "x".repeat(5000) }),
      R,
    );
    expect(f.remediation.recommendation!.text).toMatch(/does not plan to fix/);
    expect(f.description).toHaveLength(1024);
  });
});

describe("package fields", () => {
  it("maps our ecosystems to Inspector's package managers", () => {
    expect(
      [
        ["deb", "/var/lib/dpkg/status"],
        ["apk", "/lib/apk/db/installed"],
        ["rpm", "/var/lib/rpm/rpmdb.sqlite"],
        ["npm", "/app/package-lock.json"],
        ["pypi", "/usr/lib/python3/site-packages/x.dist-info/METADATA"],
        ["maven", "/app/lib/x.jar"],
        ["maven", "/src/pom.xml"],
        ["golang", "/usr/local/bin/app"],
        ["golang", "/src/go.mod"],
        ["gem", "/usr/lib/ruby/gems/3.1.0/specifications/x.gemspec"],
        ["cargo", "/app/Cargo.lock"],
        ["nuget", "/app/app.deps.json"],
        ["composer", "/app/composer.lock"],
      ].map(([e, p]) => packageManagerOf(e!, p)),
    ).toEqual([
      "OS",
      "OS",
      "OS",
      "NPM",
      "PIP",
      "JAR",
      "POM",
      "GOBINARY",
      "GOMOD",
      "GEMSPEC",
      "CARGO",
      "NUGET",
      "COMPOSER",
    ]);
  });

  it("splits OS versions into epoch, version and release", () => {
    expect(splitPackageVersion("deb", "1:2.36-9+deb12u4")).toEqual({
      epoch: 1,
      version: "2.36",
      release: "9+deb12u4",
    });
    expect(splitPackageVersion("deb", "2.36")).toEqual({ epoch: 0, version: "2.36" });
    expect(splitPackageVersion("rpm", "2:1.1.1k-9.el8_7")).toEqual({
      epoch: 2,
      version: "1.1.1k",
      release: "9.el8_7",
    });
    expect(splitPackageVersion("apk", "3.1.4-r5")).toEqual({ epoch: 0, version: "3.1.4", release: "r5" });
    expect(splitPackageVersion("npm", "1:2-3")).toEqual({ epoch: 0, version: "1:2-3" });
  });

  it("picks NVD's CVSS v3 for the Inspector score, then any v3, v4, v2", () => {
    const v2 = { type: "CVSS_V2" as const, vector: "AV:N/AC:L/Au:N/C:P/I:P/A:P", score: 7.5 };
    const v3 = { type: "CVSS_V3" as const, vector: "CVSS:3.1/AV:N", score: 9.8, source: "ghsa" };
    const v3nvd = { ...v3, score: 8.1, source: "nvd" };
    const v4 = { type: "CVSS_V4" as const, vector: "CVSS:4.0/AV:N", score: 6 };
    expect(bestCvss([v2, v3, v3nvd, v4])).toBe(v3nvd);
    expect(bestCvss([v2, v3, v4])).toBe(v3);
    expect(bestCvss([v2, v4])).toBe(v4);
    expect(bestCvss([v2])).toBe(v2);
    expect(bestCvss([{ ...v3, score: undefined }])).toBeUndefined();
  });
});

describe("toEcrEnhancedFinding", () => {
  it("is the Inspector2 Finding with ECR's member names", () => {
    const rec = findingRecord();
    const i = toInspectorFinding(rec, R);
    const e = toEcrEnhancedFinding(rec, R);
    expect(e.score).toBe(i.inspectorScore);
    expect(e.scoreDetails!.cvss).toEqual({
      adjustments: [],
      score: 7.5,
      scoreSource: "nvd",
      scoringVector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N",
      version: "3.1",
    });
    expect(e.remediation.recommendation).toEqual({
      url: i.remediation.recommendation!.Url,
      text: i.remediation.recommendation!.text,
    });
    expect(e.resources[0]).not.toHaveProperty("partition");
    expect(e).not.toHaveProperty("inspectorScore");
    expect(e.packageVulnerabilityDetails).toEqual(i.packageVulnerabilityDetails);
    expect(e.findingArn).toBe(i.findingArn);
  });
});
