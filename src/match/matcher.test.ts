import { describe, expect, it } from "vitest";
import type { Distro, Package } from "../catalog/types.js";
import type { Advisory, Affected, Enrichment } from "../vulndb/types.js";
import { matchPackages } from "./matcher.js";
import type { AdvisoryLookup } from "./types.js";

/** The database as the matcher sees it: advisories by (ecosystem, package), enrichment by CVE. */
function lookup(
  advisories: Advisory[],
  enrichment: Enrichment[] = [],
): AdvisoryLookup & { queries: string[] } {
  const queries: string[] = [];
  return {
    queries,
    advisoriesFor(eco, name) {
      queries.push(`${eco}/${name}`);
      return advisories
        .map((a) => ({ ...a, affected: a.affected.filter((x) => x.ecosystem === eco && x.package === name) }))
        .filter((a) => a.affected.length);
    },
    enrichment(ids) {
      return new Map(enrichment.filter((e) => ids.includes(e.cve)).map((e) => [e.cve, e]));
    },
  };
}

const adv = (id: string, affected: Affected[], extra: Partial<Advisory> = {}): Advisory => ({
  id,
  source: "test",
  aliases: [],
  affected,
  ...extra,
});

const fixedAt = (ecosystem: string, pkg: string, fixed: string, extra: Partial<Affected> = {}): Affected => ({
  ecosystem,
  package: pkg,
  ranges: [{ type: "ECOSYSTEM", events: [{ introduced: "0" }, { fixed }] }],
  ...extra,
});

const pkg = (p: Partial<Package> & Pick<Package, "name" | "version" | "ecosystem">): Package => ({
  purl: `pkg:${p.ecosystem}/${p.name}@${p.version}`,
  path: "/var/lib/dpkg/status",
  layer: "sha256:aaaa",
  ...p,
});

const bookworm: Distro = { id: "debian", versionId: "12", codename: "bookworm" };
const alpine: Distro = { id: "alpine", versionId: "3.19.1" };

describe("matchPackages: distro statuses", () => {
  it("never reports not_affected (Alpine `0` keys, Debian fixed `0`)", () => {
    const db = lookup([
      adv("CVE-2020-0001", [
        { ecosystem: "alpine:3.19", package: "busybox", status: "not_affected", ranges: [] },
      ]),
      adv("CVE-2020-0002", [
        { ecosystem: "debian:12", package: "bash", status: "not_affected", ranges: [] },
        // the same CVE, another release: not this image's
        fixedAt("debian:11", "bash", "5.1-2+deb11u1"),
      ]),
    ]);
    expect(
      matchPackages(
        [pkg({ name: "busybox", version: "1.36.1-r15", ecosystem: "apk", path: "/lib/apk/db/installed" })],
        alpine,
        db,
      ),
    ).toEqual([]);
    expect(matchPackages([pkg({ name: "bash", version: "5.0-1", ecosystem: "deb" })], bookworm, db)).toEqual(
      [],
    );
  });

  it("reports will_not_fix without a fix, and affected-without-fix as NO", () => {
    const db = lookup([
      adv("CVE-2021-0001", [
        { ecosystem: "debian:12", package: "glibc", status: "will_not_fix", severity: "low", ranges: [] },
      ]),
      adv("CVE-2021-0002", [{ ecosystem: "debian:12", package: "glibc", status: "affected", ranges: [] }]),
    ]);
    const found = matchPackages(
      [pkg({ name: "libc6", sourceName: "glibc", version: "2.36-9", ecosystem: "deb" })],
      bookworm,
      db,
    );
    expect(found.map((f) => [f.vulnerabilityId, f.status, f.fixAvailable, f.fixedVersion])).toEqual([
      ["CVE-2021-0001", "will_not_fix", "NO", undefined],
      ["CVE-2021-0002", "affected", "NO", undefined],
    ]);
    expect(found[0]!.explanation).toMatchObject({
      matched: "status",
      status: "will_not_fix",
      package: "glibc",
    });
    expect(found[0]).toMatchObject({ severity: "LOW", severitySource: "vendor", vendorSeverity: "low" });
  });

  it("compares the source version for distro packages and reports the fixed version", () => {
    const db = lookup([adv("CVE-2023-0286", [fixedAt("debian:12", "openssl", "3.0.8-1")])]);
    const libssl = pkg({
      name: "libssl3",
      version: "3.0.7-1+b1",
      ecosystem: "deb",
      sourceName: "openssl",
      sourceVersion: "3.0.7-1",
    });
    const [f] = matchPackages([libssl], bookworm, db);
    expect(f).toMatchObject({
      vulnerabilityId: "CVE-2023-0286",
      fixedVersion: "3.0.8-1",
      fixAvailable: "YES",
      package: { name: "libssl3", version: "3.0.7-1+b1", sourceName: "openssl", layer: "sha256:aaaa" },
      explanation: {
        advisory: "CVE-2023-0286",
        ecosystem: "debian:12",
        package: "openssl",
        version: "3.0.7-1",
        scheme: "deb",
        matched: "range",
        range: "<3.0.8-1",
      },
    });
    // at the fixed version: nothing
    expect(matchPackages([{ ...libssl, sourceVersion: "3.0.8-1" }], bookworm, db)).toEqual([]);
  });

  it("assumes the package's epoch for rpm fixes written without one (AlmaLinux)", () => {
    const db = lookup([
      adv("ALSA-2024:0001", [fixedAt("almalinux:9", "openssl", "3.0.7-25.el9_3")], {
        related: ["CVE-2023-5678"],
      }),
    ]);
    const alma: Distro = { id: "almalinux", versionId: "9.3" };
    const p = (version: string) =>
      pkg({ name: "openssl", version, ecosystem: "rpm", epoch: 1, path: "/var/lib/rpm/rpmdb.sqlite" });
    expect(matchPackages([p("1:3.0.7-24.el9")], alma, db).map((f) => f.fixedVersion)).toEqual([
      "1:3.0.7-25.el9_3",
    ]);
    expect(matchPackages([p("1:3.0.7-25.el9_3")], alma, db)).toEqual([]);
  });
});

describe("matchPackages: partial fixes", () => {
  it("marks a vulnerability fixed for some packages of the image and not others PARTIAL", () => {
    const db = lookup([
      adv("CVE-2022-1000", [
        fixedAt("debian:12", "curl", "7.88.1-10+deb12u1"),
        { ecosystem: "debian:12", package: "libssh2", status: "affected", ranges: [] },
      ]),
    ]);
    const found = matchPackages(
      [
        pkg({ name: "curl", version: "7.88.1-10", ecosystem: "deb" }),
        pkg({ name: "libssh2-1", sourceName: "libssh2", version: "1.10.0-3", ecosystem: "deb" }),
      ],
      bookworm,
      db,
    );
    expect(found.map((f) => [f.package.name, f.fixAvailable, f.fixedVersion])).toEqual([
      ["curl", "YES", "7.88.1-10+deb12u1"],
      ["libssh2-1", "PARTIAL", undefined],
    ]);
  });
});

describe("matchPackages: vulnerability ids", () => {
  it("reports a bundle advisory (DSA, ALSA) once per CVE, the advisory among the aliases", () => {
    const db = lookup([
      adv("DSA-5343-1", [fixedAt("debian:12", "openssl", "3.0.8-1")], {
        aliases: ["CVE-2022-4450", "CVE-2023-0215"],
      }),
      // AlmaLinux lists its CVEs in related
      adv("ALSA-2023:1234", [fixedAt("almalinux:9", "curl", "7.76.1-26.el9")], {
        related: ["CVE-2023-23914", "CVE-2023-23915"],
      }),
    ]);
    const deb = matchPackages([pkg({ name: "openssl", version: "3.0.7-1", ecosystem: "deb" })], bookworm, db);
    expect(deb.map((f) => [f.vulnerabilityId, f.aliases, f.explanation.advisory])).toEqual([
      ["CVE-2022-4450", ["DSA-5343-1", "CVE-2023-0215"], "DSA-5343-1"],
      ["CVE-2023-0215", ["DSA-5343-1", "CVE-2022-4450"], "DSA-5343-1"],
    ]);
    const rpm = matchPackages(
      [pkg({ name: "curl", version: "7.76.1-19.el9", ecosystem: "rpm" })],
      { id: "almalinux", versionId: "9.1" },
      db,
    );
    expect(rpm.map((f) => f.vulnerabilityId)).toEqual(["CVE-2023-23914", "CVE-2023-23915"]);
  });

  it("reports other advisories under their one CVE alias, never under a related CVE", () => {
    const db = lookup([
      // GO-2023-2102 is CVE-2023-39325 and only related to CVE-2023-44487
      adv("GO-2023-2102", [fixedAt("golang", "golang.org/x/net", "0.17.0")], {
        aliases: ["CVE-2023-39325", "GHSA-4374-p667-p6c8"],
        related: ["CVE-2023-44487"],
      }),
      // two CVE aliases: the advisory's own id
      adv("GHSA-aaaa-bbbb-cccc", [fixedAt("golang", "golang.org/x/net", "0.8.0")], {
        aliases: ["CVE-2023-0001", "CVE-2023-0002"],
      }),
    ]);
    const found = matchPackages(
      [pkg({ name: "golang.org/x/net", version: "v0.7.0", ecosystem: "golang", path: "/usr/bin/app" })],
      null,
      db,
    );
    expect(found.map((f) => [f.vulnerabilityId, f.aliases])).toEqual([
      ["CVE-2023-39325", ["GO-2023-2102", "GHSA-4374-p667-p6c8"]],
      ["GHSA-aaaa-bbbb-cccc", ["CVE-2023-0001", "CVE-2023-0002"]],
    ]);
  });

  it("makes one finding of several advisories naming the same CVE, keeping the fix and every id", () => {
    const db = lookup([
      adv("CVE-2023-0286", [{ ecosystem: "debian:12", package: "openssl", status: "affected", ranges: [] }], {
        source: "debian-tracker",
      }),
      adv("DSA-5343-1", [fixedAt("debian:12", "openssl", "3.0.8-1")], {
        aliases: ["CVE-2023-0286"],
        source: "debian-dsa",
      }),
    ]);
    const found = matchPackages(
      [pkg({ name: "openssl", version: "3.0.7-1", ecosystem: "deb" })],
      bookworm,
      db,
    );
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({
      vulnerabilityId: "CVE-2023-0286",
      fixedVersion: "3.0.8-1",
      source: "debian-dsa",
    });
    expect(found[0]!.aliases).toContain("DSA-5343-1");
  });

  it("ignores withdrawn advisories", () => {
    const db = lookup([
      adv("GO-2020-0001", [fixedAt("golang", "example.com/m", "1.0.0")], {
        withdrawn: "2021-01-01T00:00:00Z",
      }),
    ]);
    expect(
      matchPackages([pkg({ name: "example.com/m", version: "v0.1.0", ecosystem: "golang" })], null, db),
    ).toEqual([]);
  });
});

describe("matchPackages: what is not matched", () => {
  it("skips local and project packages and empty versions without querying the database", () => {
    const db = lookup([adv("RUSTSEC-2020-0001", [fixedAt("cargo", "mycrate", "9.0.0")])]);
    const found = matchPackages(
      [
        pkg({ name: "mycrate", version: "0.1.0", ecosystem: "cargo", metadata: { local: true } }),
        pkg({ name: "MyApp", version: "1.0.0", ecosystem: "nuget", metadata: { project: true } }),
        pkg({ name: "mycrate", version: "", ecosystem: "cargo" }),
      ],
      null,
      db,
    );
    expect(found).toEqual([]);
    expect(db.queries).toEqual([]);
  });

  it("keeps to the ecosystems asked for (BASIC scanning: OS packages only)", () => {
    const db = lookup([
      adv("CVE-2023-0286", [fixedAt("debian:12", "openssl", "3.0.8-1")]),
      adv("PYSEC-2018-28", [fixedAt("pypi", "requests", "2.20.0")], { aliases: ["CVE-2018-18074"] }),
    ]);
    const pkgs = [
      pkg({ name: "openssl", version: "3.0.7-1", ecosystem: "deb" }),
      pkg({ name: "requests", version: "2.19.1", ecosystem: "pypi", path: "/app/requirements.txt" }),
    ];
    expect(matchPackages(pkgs, bookworm, db).map((f) => f.vulnerabilityId)).toEqual([
      "CVE-2018-18074",
      "CVE-2023-0286",
    ]);
    expect(
      matchPackages(pkgs, bookworm, db, { ecosystems: ["deb", "apk", "rpm"] }).map((f) => f.vulnerabilityId),
    ).toEqual(["CVE-2023-0286"]);
  });
});

describe("matchPackages: ranges and fixes", () => {
  it("takes the fix from the ranges when the version matched by the versions list", () => {
    const db = lookup([
      adv("PYSEC-2018-28", [{ ...fixedAt("pypi", "requests", "2.20.0"), versions: ["2.19.0", "2.19.1"] }], {
        aliases: ["CVE-2018-18074"],
      }),
    ]);
    const [f] = matchPackages(
      [pkg({ name: "requests", version: "2.19.1", ecosystem: "pypi", path: "/app/poetry.lock" })],
      null,
      db,
    );
    expect(f).toMatchObject({
      fixedVersion: "2.20.0",
      fixAvailable: "YES",
      explanation: { matched: "versions" },
    });
  });

  it("finds a listed version by the scheme's equality (PEP 440: 2.2 is 2.2.0)", () => {
    const db = lookup([
      adv("PYSEC-2019-1", [{ ecosystem: "pypi", package: "django", ranges: [], versions: ["2.2.0"] }]),
    ]);
    const found = matchPackages([pkg({ name: "Django", version: "2.2", ecosystem: "pypi" })], null, db);
    expect(found.map((f) => [f.vulnerabilityId, f.explanation.matched, f.explanation.package])).toEqual([
      ["PYSEC-2019-1", "versions", "django"],
    ]);
  });

  it("derives the fix of native ranges from their constraints", () => {
    const db = lookup([
      // Node.js WG: vulnerable_versions / patched_versions
      adv("NSWG-ECO-516", [
        {
          ecosystem: "npm",
          package: "lodash",
          ranges: [{ type: "NATIVE", vulnerable: ">=4.17.15 <4.17.19", unaffected: [">=4.17.19"] }],
        },
      ]),
      // FriendsOfPHP: only the vulnerable constraint, one range per branch
      adv("FOP-1", [
        {
          ecosystem: "composer",
          package: "vendor/pkg",
          ranges: [
            { type: "NATIVE", vulnerable: ">=1.0.0,<1.2.3" },
            { type: "NATIVE", vulnerable: ">=2.0.0,<2.0.5" },
          ],
        },
      ]),
      // RubySec: patched and unaffected lists
      adv("GHSA-rails", [
        {
          ecosystem: "gem",
          package: "rails",
          ranges: [{ type: "NATIVE", unaffected: ["~> 5.2.4.3", ">= 6.0.3.1"] }],
        },
      ]),
    ]);
    const fix = (p: Package) => matchPackages([p], null, db).map((f) => f.fixedVersion);
    expect(fix(pkg({ name: "lodash", version: "4.17.15", ecosystem: "npm" }))).toEqual(["4.17.19"]);
    expect(fix(pkg({ name: "lodash", version: "4.17.19", ecosystem: "npm" }))).toEqual([]);
    expect(fix(pkg({ name: "vendor/pkg", version: "1.1.0", ecosystem: "composer" }))).toEqual(["1.2.3"]);
    expect(fix(pkg({ name: "vendor/pkg", version: "2.0.1", ecosystem: "composer" }))).toEqual(["2.0.5"]);
    expect(fix(pkg({ name: "vendor/pkg", version: "1.5.0", ecosystem: "composer" }))).toEqual([]);
    expect(fix(pkg({ name: "rails", version: "5.2.4.1", ecosystem: "gem" }))).toEqual(["5.2.4.3"]);
    expect(fix(pkg({ name: "rails", version: "6.0.0", ecosystem: "gem" }))).toEqual(["6.0.3.1"]);
  });

  it("skips a native range its scheme cannot parse instead of failing the scan", () => {
    const db = lookup([
      adv("NSWG-ECO-1", [
        {
          ecosystem: "npm",
          package: "x",
          ranges: [
            { type: "NATIVE", vulnerable: ">=>=<<garbage" },
            { type: "NATIVE", vulnerable: "<2.0.0" },
          ],
        },
      ]),
    ]);
    expect(
      matchPackages([pkg({ name: "x", version: "1.0.0", ecosystem: "npm" })], null, db).map(
        (f) => f.fixedVersion,
      ),
    ).toEqual(["2.0.0"]);
  });

  it("evaluates SEMVER ranges in OSV's lenient order (Go pseudo-versions, `1` = 1.0.0)", () => {
    const db = lookup([
      adv("GO-2022-0001", [
        {
          ecosystem: "golang",
          package: "example.com/m",
          ranges: [
            { type: "SEMVER", events: [{ introduced: "0" }, { fixed: "0.0.0-20220412211240-33da011f77ad" }] },
          ],
        },
      ]),
      adv("GHSA-one", [
        {
          ecosystem: "npm",
          package: "y",
          ranges: [{ type: "SEMVER", events: [{ introduced: "0" }, { fixed: "1" }] }],
        },
      ]),
    ]);
    const ids = (p: Package) => matchPackages([p], null, db).map((f) => f.vulnerabilityId);
    expect(
      ids(pkg({ name: "example.com/m", version: "v0.0.0-20210101000000-abcdefabcdef", ecosystem: "golang" })),
    ).toEqual(["GO-2022-0001"]);
    expect(
      ids(pkg({ name: "example.com/m", version: "v0.0.0-20220412211240-33da011f77ad", ecosystem: "golang" })),
    ).toEqual([]);
    expect(ids(pkg({ name: "y", version: "0.9.0", ecosystem: "npm" }))).toEqual(["GHSA-one"]);
    expect(ids(pkg({ name: "y", version: "1.0.0", ecosystem: "npm" }))).toEqual([]);
  });
});

describe("matchPackages: enrichment", () => {
  it("attaches CVSS, EPSS and KEV by CVE and decides the severity from them", () => {
    const db = lookup(
      [adv("CVE-2021-44228", [fixedAt("maven", "org.apache.logging.log4j:log4j-core", "2.15.0")])],
      [
        {
          cve: "CVE-2021-44228",
          cvss: [
            {
              type: "CVSS_V3",
              vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H",
              score: 10,
              source: "nvd",
            },
          ],
          epss: { score: 0.97, percentile: 0.99 },
          kev: { dateAdded: "2021-12-10" },
        },
      ],
    );
    const [f] = matchPackages(
      [
        pkg({
          name: "org.apache.logging.log4j:log4j-core",
          version: "2.14.1",
          ecosystem: "maven",
          path: "/app/lib/log4j-core.jar",
        }),
      ],
      null,
      db,
    );
    expect(f).toMatchObject({
      severity: "CRITICAL",
      severitySource: "cvss-v3",
      epss: { score: 0.97, percentile: 0.99 },
      kev: true,
      cvss: [{ type: "CVSS_V3", score: 10, source: "nvd" }],
    });
  });

  it("enriches a finding under a non-CVE id from all its CVE aliases", () => {
    const db = lookup(
      [
        adv("GHSA-aaaa-bbbb-cccc", [fixedAt("npm", "z", "2.0.0")], {
          aliases: ["CVE-2023-0001", "CVE-2023-0002"],
        }),
      ],
      [
        { cve: "CVE-2023-0001", epss: { score: 0.01, percentile: 0.5 } },
        { cve: "CVE-2023-0002", epss: { score: 0.4, percentile: 0.9 }, kev: { dateAdded: "2024-01-01" } },
      ],
    );
    const [f] = matchPackages([pkg({ name: "z", version: "1.0.0", ecosystem: "npm" })], null, db);
    expect(f).toMatchObject({ kev: true, epss: { score: 0.4 } });
  });

  it("keeps the vendor's severity over CVSS, and the advisory's own CVSS beside the enrichment's", () => {
    const db = lookup(
      [
        adv("CVE-2023-0286", [fixedAt("debian:12", "openssl", "3.0.8-1", { severity: "medium" })], {
          cvss: [
            {
              type: "CVSS_V3",
              vector: "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:N/A:H",
              score: 7.4,
              source: "osv",
            },
          ],
        }),
      ],
      [
        {
          cve: "CVE-2023-0286",
          cvss: [
            {
              type: "CVSS_V3",
              vector: "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:N/A:H",
              score: 7.4,
              source: "nvd",
            },
          ],
        },
      ],
    );
    const [f] = matchPackages([pkg({ name: "openssl", version: "3.0.7-1", ecosystem: "deb" })], bookworm, db);
    expect(f).toMatchObject({
      severity: "MEDIUM",
      severitySource: "vendor",
      vendorSeverity: "medium",
      kev: false,
    });
    expect(f!.cvss.map((c) => c.source)).toEqual(["osv", "nvd"]);
    expect(f!.epss).toBeUndefined();
  });
});

describe("matchPackages: references", () => {
  it("lists each reference URL once, in the feed's order (PYSEC-2023-87 names its fix commit as FIX and WEB)", () => {
    const commit = "https://github.com/andialbrecht/sqlparse/commit/c457abd5f097dd13fb21543381e7cfafe7d31cfb";
    const db = lookup([
      adv("PYSEC-2023-87", [fixedAt("pypi", "sqlparse", "0.4.4")], {
        references: [
          { type: "FIX", url: commit },
          {
            type: "WEB",
            url: "https://github.com/andialbrecht/sqlparse/security/advisories/GHSA-rrm6-wvj7-cwh2",
          },
          { type: "WEB", url: commit },
        ],
      }),
    ]);
    const [f] = matchPackages(
      [
        pkg({
          name: "sqlparse",
          version: "0.3.0",
          ecosystem: "pypi",
          path: "/usr/local/lib/python3.11/site-packages/sqlparse",
        }),
      ],
      null,
      db,
    );
    expect(f!.references).toEqual([
      commit,
      "https://github.com/andialbrecht/sqlparse/security/advisories/GHSA-rrm6-wvj7-cwh2",
    ]);
  });
});
