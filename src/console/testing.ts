import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { VulnDbProvider } from "../scan/vulndb-provider.js";
import type { Advisory } from "../vulndb/types.js";
import { DbWriter } from "../vulndb/writer.js";

/**
 * A small real vulnerability database for the console's tests: an OSV-style advisory of
 * CVE-2099-0001 (summary, details, a CVSS v3.1 vector, references) and the enrichment a CVE gets
 * from the NVD (CVSS), EPSS and CISA's KEV catalog, written by the database's own writer.
 */
export const KEV_DATE = "2099-02-01";

export async function consoleTestDatabase(): Promise<{
  provider: VulnDbProvider;
  path: string;
  dir: string;
}> {
  const dir = await mkdtemp(join(tmpdir(), "drydock-console-vulndb-"));
  const path = join(dir, "vulndb.sqlite");
  const w = new DbWriter(path);
  w.startFeed("osv:test", "osv", "test advisories");
  w.addAdvisory("osv:test", {
    id: "CVE-2099-0001",
    source: "osv",
    aliases: ["GHSA-aaaa-bbbb-cccc"],
    summary: "base-files: a test flaw",
    details: "A flaw in base-files before 12.5 lets a test fail.",
    published: "2099-01-01T00:00:00Z",
    modified: "2099-01-02T00:00:00Z",
    severity: "HIGH",
    cvss: [
      { type: "CVSS_V3", vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", score: 9.8, source: "osv" },
    ],
    references: [
      { type: "ADVISORY", url: "https://example.org/CVE-2099-0001" },
      { type: "FIX", url: "https://example.org/fix" },
    ],
    affected: [
      {
        ecosystem: "debian:12",
        package: "base-files",
        ranges: [{ type: "ECOSYSTEM", events: [{ introduced: "0" }, { fixed: "12.5" }] }],
      },
    ],
  } as Advisory);
  w.startFeed("nvd:test", "nvd", "NVD");
  w.addEnrichment("nvd:test", {
    cve: "CVE-2099-0001",
    cvss: [
      { type: "CVSS_V3", vector: "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H", score: 8.1, source: "nvd" },
    ],
  });
  w.startFeed("epss:test", "epss", "EPSS");
  w.addEnrichment("epss:test", {
    cve: "CVE-2099-0001",
    epss: { score: 0.42, percentile: 0.97, date: "2099-02-02" },
  });
  w.startFeed("kev:test", "kev", "CISA KEV");
  w.addEnrichment("kev:test", {
    cve: "CVE-2099-0001",
    kev: { dateAdded: KEV_DATE, dueDate: "2099-02-22", vendorProject: "Debian", product: "base-files" },
  });
  w.finish(new Date("2099-02-03T00:00:00Z"));
  w.close();
  return { provider: new VulnDbProvider(path), path, dir };
}
