import { describe, expect, it } from "vitest";
import { testFinding } from "../testing.js";
import { renderTable, summaryCounts, summaryLine } from "./table.js";

const lodash = (path: string) =>
  testFinding({
    vulnerabilityId: "NSWG-ECO-516",
    severity: "HIGH",
    title: "Prototype pollution",
    fixedVersion: "4.17.19",
    package: { name: "lodash", version: "4.17.15", ecosystem: "npm", purl: "pkg:npm/lodash@4.17.15", path },
  });
const critical = testFinding({
  vulnerabilityId: "CVE-2024-24790",
  severity: "CRITICAL",
  title: undefined,
  fixedVersion: "1.21.11",
  package: {
    name: "stdlib",
    version: "v1.19.8",
    ecosystem: "golang",
    purl: "pkg:golang/stdlib@v1.19.8",
    path: "/usr/local/bin/gomod-demo",
  },
});
const wontFix = testFinding({
  vulnerabilityId: "CVE-2021-0001",
  severity: "LOW",
  status: "will_not_fix",
  fixedVersion: undefined,
  fixAvailable: "NO",
});
const partial = testFinding({
  vulnerabilityId: "CVE-2022-1000",
  severity: "UNDEFINED",
  fixedVersion: undefined,
  fixAvailable: "PARTIAL",
  package: {
    name: "log4j",
    version: "1.2.17",
    ecosystem: "maven",
    path: "/app/app.jar",
    archivePath: "BOOT-INF/lib/log4j-1.2.17.jar",
  },
});

describe("renderTable", () => {
  const text = renderTable(
    [
      lodash("/app/package-lock.json"),
      wontFix,
      critical,
      lodash("/app/node_modules/lodash/package.json"),
      partial,
    ],
    {
      title: "oci:/images/node-app (linux/amd64, debian 12)",
    },
  );
  const lines = text.split("\n");

  it("groups by severity, most severe first, with the title on top", () => {
    expect(lines[0]).toBe("oci:/images/node-app (linux/amd64, debian 12)");
    const groups = lines.filter((l) => /^[A-Z]+ \(\d+\)$/.test(l));
    expect(groups).toEqual(["CRITICAL (1)", "HIGH (2)", "LOW (1)", "UNDEFINED (1)"]);
  });

  it("has a row per finding with package, versions, type and where it was found", () => {
    expect(
      lines
        .find((l) => l.includes("VULNERABILITY"))!
        .trim()
        .split(/\s{2,}/),
    ).toEqual(["VULNERABILITY", "PACKAGE", "INSTALLED", "FIXED", "TYPE", "LOCATION", "TITLE"]);
    const rows = lines.filter((l) => l.includes("NSWG-ECO-516")).map((l) => l.trim().split(/\s{2,}/));
    // the two copies of lodash are told apart by their location
    expect(rows).toEqual([
      [
        "NSWG-ECO-516",
        "lodash",
        "4.17.15",
        "4.17.19",
        "npm",
        "/app/package-lock.json",
        "Prototype pollution",
      ],
      [
        "NSWG-ECO-516",
        "lodash",
        "4.17.15",
        "4.17.19",
        "npm",
        "/app/node_modules/lodash/package.json",
        "Prototype pollution",
      ],
    ]);
    expect(lines.find((l) => l.includes("CVE-2021-0001"))).toContain("(will not fix)");
    expect(lines.find((l) => l.includes("CVE-2022-1000"))).toContain("(partial)");
    expect(lines.find((l) => l.includes("CVE-2022-1000"))).toContain(
      "/app/app.jar!BOOT-INF/lib/log4j-1.2.17.jar",
    );
  });

  it("ends with a summary line", () => {
    expect(lines.at(-1)).toBe(
      "Total: 5 vulnerabilities (1 critical, 2 high, 1 low, 1 undefined), 3 with a fix",
    );
  });

  it("uses colour only when asked", () => {
    expect(text).not.toContain("\x1b[");
    expect(renderTable([critical], { color: true })).toContain("\x1b[1;31mCRITICAL (1)\x1b[0m");
  });

  it("cuts long cells, keeping the end of paths", () => {
    const deep = testFinding({
      package: { path: `/very/${"deep/".repeat(20)}package.json` },
      title: "t".repeat(100),
    });
    const row = renderTable([deep])
      .split("\n")
      .find((l) => l.includes("CVE-2023-0286"))!;
    const location = row.trim().split(/\s{2,}/)[5]!;
    expect(location).toMatch(/^…(deep\/)+package\.json$/);
    expect(location).toHaveLength(48);
    expect(row).toContain("t".repeat(59) + "…");
  });

  it("says when nothing was found, and how many findings the ignore file suppressed", () => {
    expect(renderTable([])).toBe("Total: 0 vulnerabilities");
    expect(renderTable([critical], { ignored: 2 }).split("\n").at(-1)).toBe(
      "Total: 1 vulnerability (1 critical), 1 with a fix; 2 ignored by the ignore file",
    );
  });
});

describe("summary", () => {
  it("counts every severity", () => {
    expect(summaryCounts([critical, wontFix, wontFix])).toEqual({
      CRITICAL: 1,
      HIGH: 0,
      MEDIUM: 0,
      LOW: 2,
      INFORMATIONAL: 0,
      UNDEFINED: 0,
    });
    expect(summaryLine(summaryCounts([critical, wontFix, wontFix]), 3)).toBe(
      "Total: 3 vulnerabilities (1 critical, 2 low)",
    );
  });
});
