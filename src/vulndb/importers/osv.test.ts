import { beforeAll, describe, expect, it } from "vitest";
import { pep503 } from "../ecosystems.js";
import { importFile, makeZip, osvRecord, pack, packMissing, type ImportedFile } from "../testing.js";
import type { Advisory } from "../types.js";
import { osvImporter, parseOsvYaml } from "./osv.js";

/**
 * The OSV importer on the real archives in ../shared/vulndata (counts from its PROVENANCE.md),
 * record spot checks field by field, and broken documents made here.
 */

const byId = (r: ImportedFile) => new Map(r.advisories.map((a) => [a.id, a]));
const cveAliases = (r: ImportedFile) =>
  new Set(r.advisories.flatMap((a) => a.aliases.filter((x) => x.startsWith("CVE-")))).size;
const packages = (r: ImportedFile) =>
  new Set(r.advisories.flatMap((a) => a.affected.map((e) => e.package))).size;
const doc = (name: string, content: string) => ({ name, content: Buffer.from(content) });
const parse = (name: string, content: string) => [
  ...(osvImporter.parse(doc(name, content)) as Iterable<never>),
];

describe.skipIf(packMissing("osv/Go/all.zip") !== null)("osv: Go (osv/Go/all.zip)", () => {
  let r: ImportedFile;
  beforeAll(async () => {
    r = await importFile(osvImporter, pack("osv/Go/all.zip"));
  }, 60_000);

  it("reads every record: 4,291 (17 withdrawn), 1,373 modules, 3,913 CVE aliases, no problems", () => {
    expect(r.problems).toEqual([]);
    expect(r.documents).toBe(4291);
    expect(r.advisories).toHaveLength(4291);
    expect(r.advisories.filter((a) => a.withdrawn)).toHaveLength(17);
    expect(packages(r)).toBe(1373);
    expect(cveAliases(r)).toBe(3913);
    expect(new Set(r.advisories.flatMap((a) => a.affected.map((e) => e.ecosystem)))).toEqual(
      new Set(["golang"]),
    );
  });

  it("GO-2023-1840 field by field", () => {
    const a = byId(r).get("GO-2023-1840")!;
    expect(a).toMatchObject({
      id: "GO-2023-1840",
      source: "osv",
      aliases: ["CVE-2023-29403"],
      summary: "Unsafe behavior in setuid/setgid binaries in runtime",
      modified: "0001-01-01T00:00:00Z",
      published: "0001-01-01T00:00:00Z",
    });
    expect(a.withdrawn).toBeUndefined();
    expect(a.details).toMatch(/^On Unix platforms, the Go runtime does not behave differently/);
    expect(a.references).toContainEqual({ type: "FIX", url: "https://go.dev/cl/501223" });
    expect(a.affected).toEqual([
      {
        ecosystem: "golang",
        package: "stdlib",
        ranges: [
          {
            type: "SEMVER",
            events: [
              { introduced: "0" },
              { fixed: "1.19.10" },
              { introduced: "1.20.0-0" },
              { fixed: "1.20.5" },
            ],
          },
        ],
      },
    ]);
  });
});

describe.skipIf(packMissing("osv/crates.io/all.zip") !== null)("osv: RustSec (osv/crates.io/all.zip)", () => {
  let r: ImportedFile;
  beforeAll(async () => {
    r = await importFile(osvImporter, pack("osv/crates.io/all.zip"));
  }, 60_000);

  it("reads 1,206 records (13 withdrawn), 908 crates, 562 CVE aliases; CVSS v3 ×360 and v4 ×57", () => {
    expect(r.problems).toEqual([]);
    expect(r.advisories).toHaveLength(1206);
    expect(r.advisories.filter((a) => a.withdrawn)).toHaveLength(13);
    expect(packages(r)).toBe(908);
    expect(cveAliases(r)).toBe(562);
    const cvss = r.advisories.flatMap((a) => a.cvss ?? []);
    expect(cvss.filter((c) => c.type === "CVSS_V3")).toHaveLength(360);
    expect(cvss.filter((c) => c.type === "CVSS_V4")).toHaveLength(57);
    // v3 vectors are scored here (OSV carries no numbers); v4 is validated, not scored.
    expect(cvss.filter((c) => c.type === "CVSS_V3").every((c) => typeof c.score === "number")).toBe(true);
  });

  it("keeps withdrawn and informational advisories, flagged (RUSTSEC-2020-0053)", () => {
    expect(byId(r).get("RUSTSEC-2020-0053")).toMatchObject({
      withdrawn: "2021-04-19T12:00:00Z",
      informational: "unmaintained",
      affected: [
        {
          ecosystem: "cargo",
          package: "dirs",
          ranges: [{ type: "SEMVER", events: [{ introduced: "0.0.0-0" }] }],
        },
      ],
    });
  });
});

describe.skipIf(packMissing("osv/PyPI/all.zip", "raw/pypa-advisory-database-vulns.tar.gz") !== null)(
  "osv: PyPA (osv/PyPI/all.zip and the OSV-YAML it was converted from)",
  () => {
    let zip: ImportedFile;
    let yaml: ImportedFile;
    beforeAll(async () => {
      zip = await importFile(osvImporter, pack("osv/PyPI/all.zip"));
      yaml = await importFile(osvImporter, pack("raw/pypa-advisory-database-vulns.tar.gz"));
    }, 60_000);

    it("reads 7,080 records (269 withdrawn), 1,532 packages (PEP 503), 5,846 CVE aliases", () => {
      expect(zip.problems).toEqual([]);
      expect(zip.advisories).toHaveLength(7080);
      expect(zip.advisories.filter((a) => a.withdrawn)).toHaveLength(269);
      expect(packages(zip)).toBe(1532);
      expect(cveAliases(zip)).toBe(5846);
      const all = zip.advisories.flatMap((a) => a.affected);
      expect(all.every((e) => e.ecosystem === "pypi" && e.package === pep503(e.package))).toBe(true);
      // 840 last_affected events, 6,773 entries with versions[]; GIT ranges dropped (1,554 upstream).
      const events = all.flatMap((e) => e.ranges.flatMap((g) => ("events" in g ? g.events : [])));
      expect(events.filter((e) => "last_affected" in e)).toHaveLength(840);
      expect(all.filter((e) => e.versions?.length)).toHaveLength(6773);
      expect(all.flatMap((e) => e.ranges).filter((g) => g.type !== "ECOSYSTEM")).toEqual([]);
      const cvss = zip.advisories.flatMap((a) => a.cvss ?? []);
      expect(cvss.filter((c) => c.type === "CVSS_V3")).toHaveLength(3924);
      expect(cvss.filter((c) => c.type === "CVSS_V4")).toHaveLength(814);
    });

    it("reads the byte-exact YAML to the very same advisories (dates and versions stay strings)", () => {
      expect(yaml.problems).toEqual([]);
      expect(yaml.advisories).toHaveLength(7080);
      const fromZip = byId(zip);
      const differing = yaml.advisories.filter(
        (a) => JSON.stringify(a) !== JSON.stringify(fromZip.get(a.id)),
      );
      expect(differing.map((a) => a.id)).toEqual([]);
    });

    it("PYSEC-2017-113: GIT range dropped, versions[] kept as strings, CVSS scored", () => {
      const a = byId(yaml).get("PYSEC-2017-113")!;
      expect(a).toMatchObject({
        aliases: ["CVE-2017-6952", "GHSA-3v99-hpv7-9hh9"],
        modified: "2024-11-21T14:22:41.607839Z",
        published: "2017-03-16T21:59:00Z",
        cvss: [
          {
            type: "CVSS_V3",
            vector: "CVSS:3.0/AV:N/AC:L/PR:N/UI:R/S:U/C:H/I:H/A:H",
            score: 8.8,
            source: "osv",
          },
        ],
      });
      expect(a.affected).toEqual([
        {
          ecosystem: "pypi",
          package: "capstone",
          ranges: [{ type: "ECOSYSTEM", events: [{ introduced: "0" }, { fixed: "3.0.5rc2" }] }],
          versions: ["2.0", "2.1", "3.0", "3.0.1", "3.0.2", "3.0.3", "3.0.4"],
        },
      ]);
    });
  },
);

describe.skipIf(packMissing("osv/AlmaLinux/all.zip") !== null)(
  "osv: AlmaLinux (osv/AlmaLinux/all.zip)",
  () => {
    let r: ImportedFile;
    beforeAll(async () => {
      r = await importFile(osvImporter, pack("osv/AlmaLinux/all.zip"));
    }, 60_000);

    it("reads 5,680 records (ALSA/ALBA/ALEA) with almalinux:8/9/10 entries (40,867 / 23,983 / 6,479)", () => {
      expect(r.problems).toEqual([]);
      expect(r.advisories).toHaveLength(5680);
      const count = (eco: string) =>
        r.advisories.flatMap((a) => a.affected).filter((e) => e.ecosystem === eco).length;
      expect([count("almalinux:8"), count("almalinux:9"), count("almalinux:10")]).toEqual([
        40_867, 23_983, 6_479,
      ]);
      // ALSA 4,480 security, ALBA 978 bugfix, ALEA 222 enhancement records.
      const kind = (p: string) => r.advisories.filter((a) => a.id.startsWith(p)).length;
      expect([kind("ALSA-"), kind("ALBA-"), kind("ALEA-")]).toEqual([4480, 978, 222]);
    });

    it("ALSA-2025:10873: CVEs in related, the rating from the summary, rpm versions as published", () => {
      const a = r.advisories.find((x) => x.id === "ALSA-2025:10873")!;
      expect(a).toMatchObject({
        related: ["CVE-2025-30749", "CVE-2025-30754", "CVE-2025-50059", "CVE-2025-50106"],
        severity: "Important",
        summary: "Important: java-21-openjdk security update",
      });
      expect(a.affected[0]).toEqual({
        ecosystem: "almalinux:10",
        package: "java-21-openjdk",
        ranges: [
          { type: "ECOSYSTEM", events: [{ introduced: "0" }, { fixed: "1:21.0.8.0.9-1.el10.alma.1" }] },
        ],
      });
    });
  },
);

describe.skipIf(packMissing("samples/anchore-vunnel-format-samples.tar.gz") !== null)(
  "osv: Ubuntu records (samples)",
  () => {
    it("maps Ubuntu:Pro:16.04:LTS, keeps upstream CVEs, binaries and the Ubuntu priority", async () => {
      const r = await importFile(osvImporter, pack("samples/anchore-vunnel-format-samples.tar.gz"));
      expect(r.problems).toEqual([]);
      const a = r.advisories.find((x) => x.id === "UBUNTU-CVE-2021-3782")!;
      expect(a).toMatchObject({
        upstream: ["CVE-2021-3782"],
        related: ["USN-5614-1", "USN-5614-2"],
        severity: "medium",
      });
      const pro = a.affected.find((e) => e.ecosystem === "ubuntu:16.04")!;
      expect(pro.package).toBe("wayland");
      expect(pro.binaries).toContain("libwayland-client0");
      expect(a.cvss).toEqual([
        {
          type: "CVSS_V3",
          vector: "CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:L/I:L/A:H",
          score: 6.6,
          source: "osv",
        },
      ]);
    });
  },
);

describe("osv: broken and unusual documents", () => {
  it("reports invalid JSON and YAML per document", () => {
    expect(parse("x/GO-1.json", '{"id": "GO-1", "affected": [')).toEqual([
      {
        kind: "problem",
        problem: { feed: "osv", document: "x/GO-1.json", reason: expect.stringMatching(/^invalid JSON: /) },
      },
    ]);
    expect(parse("PYSEC-1.yaml", "id: PYSEC-1\naffected: [\n")).toMatchObject([
      { kind: "problem", problem: { reason: expect.stringMatching(/^invalid YAML: /) } },
    ]);
  });

  it("refuses a record with a bad range, naming the record and the range", () => {
    const bad = osvRecord("GO-2024-0001");
    (bad.affected as { ranges: unknown[] }[])[0]!.ranges = [
      { type: "SEMVER", events: [{ introduced: "1.5.0" }, { fixed: "1.2.0" }] },
    ];
    expect(parse("GO-2024-0001.json", JSON.stringify(bad))).toEqual([
      {
        kind: "problem",
        problem: {
          feed: "osv",
          document: "GO-2024-0001.json (GO-2024-0001)",
          reason:
            "record refused: affected[0] (example.com/mod): SEMVER range: fixed 1.2.0 is below introduced 1.5.0",
        },
      },
    ]);
    for (const [ranges, reason] of [
      [[{ type: "SEMVER", events: [{ fixed: "1.0.0" }] }], "has no introduced event"],
      [[{ type: "SEMVER", events: [{ introduced: "0", fixd: "1.0.0" }] }], "is not one of introduced/fixed"],
      [[{ type: "SEMVER", events: [{ introduced: "banana" }] }], "is not a SemVer version"],
      [
        [{ type: "ECOSYSTEM", events: [{ introduced: "0" }, { limit: "abc" }] }],
        "limit events belong to GIT",
      ],
      [[{ type: "ECOSYSTEM", events: [{ introduced: 3 }] }], "must be a non-empty string"],
      [[{ type: "HASH", events: [{ introduced: "0" }] }], "unknown range type"],
      [[{ type: "GIT", events: [{ introduced: "0" }] }], "GIT range without repo"],
    ] as const) {
      const r = osvRecord("GO-2024-0002");
      (r.affected as { ranges: unknown }[])[0]!.ranges = ranges;
      const items = parse("a.json", JSON.stringify(r));
      expect(items).toMatchObject([
        { kind: "problem", problem: { reason: expect.stringContaining(reason) } },
      ]);
    }
  });

  it("keeps a record with unknown fields and reports each field", () => {
    const r: Record<string, unknown> = { ...osvRecord("GO-2024-0003"), colour: "blue" };
    (r.affected as Record<string, unknown>[])[0]!.shade = 1;
    const items = parse("a.json", JSON.stringify(r));
    expect(items).toMatchObject([
      { kind: "problem", problem: { document: "a.json (GO-2024-0003)", reason: "unknown field colour" } },
      { kind: "problem", problem: { reason: "affected[0]: unknown field shade" } },
      { kind: "advisory", advisory: { id: "GO-2024-0003" } },
    ]);
  });

  it("maps ecosystems and names: PEP 503, NuGet lowercase, Maven group:artifact, distro releases", () => {
    const r = osvRecord("GHSA-xxxx-yyyy-zzzz");
    r.affected = [
      ["PyPI", "Django_Rest.Framework"],
      ["NuGet", "Newtonsoft.Json"],
      ["Maven", "org.apache.logging.log4j:log4j-core"],
      ["RubyGems", "rails"],
      ["Packagist", "symfony/http-kernel"],
      ["crates.io", "tokio"],
      ["npm", "@babel/core"],
      ["Alpine:v3.19", "openssl"],
      ["Debian:12", "openssl"],
      ["Rocky Linux:9", "openssl"],
    ].map(([ecosystem, name]) => ({
      package: { ecosystem, name },
      ranges: [{ type: "ECOSYSTEM", events: [{ introduced: "0" }] }],
    }));
    const [item] = parse("a.json", JSON.stringify(r)) as { advisory: Advisory }[];
    expect(item!.advisory.affected.map((e) => `${e.ecosystem} ${e.package}`)).toEqual([
      "pypi django-rest-framework",
      "nuget newtonsoft.json",
      "maven org.apache.logging.log4j:log4j-core",
      "gem rails",
      "composer symfony/http-kernel",
      "cargo tokio",
      "npm @babel/core",
      "alpine:3.19 openssl",
      "debian:12 openssl",
      "rocky:9 openssl",
    ]);
  });

  it("skips GHSA records GitHub has not reviewed and takes GitHub's severity word", () => {
    const r = {
      ...osvRecord("GHSA-aaaa-bbbb-cccc"),
      database_specific: { severity: "MODERATE", github_reviewed: true },
    };
    expect(parse("a.json", JSON.stringify(r))).toMatchObject([
      { kind: "advisory", advisory: { severity: "MODERATE" } },
    ]);
    const u = { ...r, database_specific: { github_reviewed: false } };
    expect(parse("a.json", JSON.stringify(u))).toMatchObject([{ kind: "skipped" }]);
  });

  it("YAML: unquoted versions and dates stay the strings they are written as", () => {
    expect(
      parseOsvYaml(
        "id: PYSEC-1\nmodified: 2024-01-01T00:00:00Z\nversions: [3.0, 1.10, 0o17, 1e3]\nx: null\ny: true\n",
      ),
    ).toEqual({
      id: "PYSEC-1",
      modified: "2024-01-01T00:00:00Z",
      versions: ["3.0", "1.10", "0o17", "1e3"],
      x: null,
      y: true,
    });
  });

  it("reads records from a zip whose central directory is cut off, and reports the damage", async () => {
    const zip = makeZip([
      { name: "GO-2024-0004.json", data: JSON.stringify(osvRecord("GO-2024-0004")) },
      { name: "GO-2024-0005.json", data: JSON.stringify(osvRecord("GO-2024-0005")) },
    ]);
    const r = await importFile(osvImporter, zip.subarray(0, zip.length - 30), "Go/all.zip");
    expect(r.advisories.map((a) => a.id)).toEqual(["GO-2024-0004", "GO-2024-0005"]);
    expect(r.problems).toEqual([
      {
        feed: "osv",
        document: "Go/all.zip",
        reason:
          "no end of central directory record (truncated or not a zip); 2 members recovered from local headers",
      },
    ]);
    const cut = await importFile(osvImporter, zip.subarray(0, 120), "Go/all.zip");
    expect(cut.advisories).toEqual([]);
    expect(cut.problems[0]!.document).toBe("Go/all.zip!GO-2024-0004.json");
  });
});
