import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildDatabase, type BuildReport } from "./build.js";
import { LOOKUP_SQL, VulnDb } from "./db.js";
import { cvesOf } from "./ecosystems.js";
import { epssImporter } from "./importers/epss.js";
import { kevImporter } from "./importers/kev.js";
import { nvdImporter } from "./importers/nvd.js";
import { osvImporter } from "./importers/osv.js";
import { vulnrichmentImporter } from "./importers/vulnrichment.js";
import { mirrorPaths } from "./importers/registry.js";
import { listSources } from "./sources.js";
import { pack, packMissing } from "./testing.js";

/**
 * The read API on a database built from real feeds of ../shared/vulndata: advisory lookups
 * by package key, enrichment lookups (KEV, EPSS, NVD CVSS), merging across feeds, status.
 */

const FILES = [
  "osv/Go/all.zip",
  "osv/PyPI/all.zip",
  "raw/pypa-advisory-database-vulns.tar.gz",
  "enrichment/kev/known_exploited_vulnerabilities.json",
  "enrichment/epss/emba-epss-by-year.tar.gz",
  "enrichment/nvd/nvdcve-1.1-referenced.jsonl.gz",
  "enrichment/cisa-vulnrichment/vulnrichment-referenced.tar.gz",
];
const importers = [kevImporter, vulnrichmentImporter, nvdImporter, epssImporter, osvImporter];

describe.skipIf(packMissing(...FILES) !== null)("VulnDb on real feeds", () => {
  let dir: string;
  let db: VulnDb;
  let report: BuildReport;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "vulndb-"));
    const sources = await listSources(
      FILES.map((f) => pack(f)),
      mirrorPaths(importers),
    );
    report = await buildDatabase({ target: join(dir, "vulndb.sqlite"), sources, importers });
    db = VulnDb.open(join(dir, "vulndb.sqlite"));
  }, 120_000);
  afterAll(() => {
    db?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("imported every file as its own feed, without problems", () => {
    expect(report.problems).toBe(0);
    expect(report.feeds.map((f) => [f.id, f.records])).toEqual([
      ["osv:osv/Go/all.zip", 4291],
      ["osv:osv/PyPI/all.zip", 7080],
      ["osv:pypa-advisory-database-vulns.tar.gz", 7080],
      ["kev:enrichment/kev/known_exploited_vulnerabilities.json", 1404],
      ["epss:emba-epss-by-year.tar.gz", 360_142],
      ["nvd:nvdcve-1.1-referenced.jsonl.gz", 15_138],
      ["vulnrichment:vulnrichment-referenced.tar.gz", 5795],
    ]);
  });

  it("advisoriesFor returns the advisories of a key with only that key's entries", () => {
    const jwt = db.advisoriesFor("golang", "github.com/dgrijalva/jwt-go/v4");
    const a = jwt.find((x) => x.id === "GO-2020-0017")!;
    expect(a.aliases).toEqual(["CVE-2020-26160", "GHSA-w73w-5m7g-f7qc"]);
    expect(a.affected).toEqual([
      {
        ecosystem: "golang",
        package: "github.com/dgrijalva/jwt-go/v4",
        ranges: [{ type: "SEMVER", events: [{ introduced: "0" }, { fixed: "4.0.0-preview1" }] }],
      },
    ]);
    const stdlib = db.advisoriesFor("golang", "stdlib");
    expect(stdlib.length).toBeGreaterThan(100);
    expect(stdlib.every((x) => x.affected.every((e) => e.package === "stdlib"))).toBe(true);
    expect(db.advisoriesFor("golang", "example.com/no-such-module")).toEqual([]);
  });

  it("merges one advisory imported from two feeds (PyPI zip and PyPA YAML) into one", () => {
    const [a, ...rest] = db.advisoriesFor("pypi", "Capstone");
    expect(rest).toEqual([]);
    expect(a!.id).toBe("PYSEC-2017-113");
    expect(a!.affected).toHaveLength(1);
    expect(db.advisory("osv", "PYSEC-2017-113")!.affected).toEqual(a!.affected);
    expect(db.status()).toMatchObject({ advisories: 4291 + 7080, records: 4291 + 7080 + 7080 });
  });

  it("leaves withdrawn advisories out unless asked", () => {
    const ids = (o = {}) => db.advisoriesFor("golang", "k8s.io/kubernetes", o).map((a) => a.id);
    expect(ids()).not.toContain("GO-2022-0617");
    expect(ids({ includeWithdrawn: true })).toContain("GO-2022-0617");
  });

  it("looks a key up through one index range scan", () => {
    const raw = new Database(join(dir, "vulndb.sqlite"), { readonly: true });
    const plan = raw.prepare(`EXPLAIN QUERY PLAN ${LOOKUP_SQL}`).all("golang", "stdlib") as {
      detail: string;
    }[];
    raw.close();
    const details = plan.map((p) => p.detail).join("\n");
    expect(details).toMatch(/SEARCH f USING (COVERING )?INDEX affected_key \(ecosystem=\? AND package=\?\)/);
    expect(details).toMatch(/SEARCH a USING INTEGER PRIMARY KEY/);
    expect(details).not.toMatch(/SCAN (f|a)\b/);
  });

  it("enrichment: a KEV CVE, its EPSS score and NVD's CVSS", () => {
    const e = db.enrichment(["CVE-2021-44228", "cve-2014-0160", "CVE-2019-1069", "GHSA-w73w-5m7g-f7qc"]);
    expect([...e.keys()]).toEqual(["CVE-2021-44228", "CVE-2014-0160", "CVE-2019-1069"]);
    expect(e.get("CVE-2021-44228")).toMatchObject({
      kev: { dateAdded: "2021-12-10", knownRansomwareCampaignUse: "Known", vendorProject: "Apache" },
      epss: { score: 0.99999, percentile: 1 },
    });
    expect(e.get("CVE-2014-0160")!.cvss![0]).toEqual({
      type: "CVSS_V3",
      vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N",
      score: 7.5,
      source: "nvd",
    });
    expect(e.get("CVE-2014-0160")!.kev).toMatchObject({ dateAdded: "2022-05-04" });
    // The KEV catalog's entry wins over vulnrichment's KEV note (2024-09-18); SSVC and the
    // CISA-ADP score fill in where NVD (whose 1.1 extract stops at 2018) has nothing.
    expect(e.get("CVE-2019-1069")).toMatchObject({
      kev: { dateAdded: "2022-03-15", dueDate: "2022-04-05", product: "Task Scheduler" },
      ssvc: { exploitation: "active", automatable: "no", technicalImpact: "total" },
      cvss: [{ source: "cisa-adp", score: 7.8 }],
    });
  });

  it("finds an advisory's CVEs for enrichment from its id, aliases, upstream and related", () => {
    const a = db
      .advisoriesFor("golang", "github.com/dgrijalva/jwt-go/v4")
      .find((x) => x.id === "GO-2020-0017")!;
    expect(cvesOf(a)).toEqual(["CVE-2020-26160"]);
  });

  it("status lists feeds with fingerprints and counts", () => {
    const s = db.status();
    expect(s.schemaVersion).toBe(1);
    expect(s.problems).toBe(0);
    expect(s.enrichedCves).toBeGreaterThanOrEqual(360_142);
    const go = s.feeds.find((f) => f.id === "osv:osv/Go/all.zip")!;
    expect(go).toMatchObject({
      importer: "osv",
      documents: 4291,
      records: 4291,
      advisories: 4291,
      problems: 0,
    });
    expect(go.fingerprint).toMatch(/^[0-9a-f]{64}$/);
  });
});
