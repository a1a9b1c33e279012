import { beforeAll, describe, expect, it } from "vitest";
import { gzipSync } from "node:zlib";
import { importFile, pack, packMissing, type ImportedFile } from "../testing.js";
import type { Enrichment } from "../types.js";
import { epssImporter } from "./epss.js";
import { kevImporter } from "./kev.js";
import { nvdImporter } from "./nvd.js";
import { vulnrichmentImporter } from "./vulnrichment.js";

/** NVD, CISA vulnrichment, KEV and EPSS on the real files in ../shared/vulndata. */

const find = (r: ImportedFile, cve: string): Enrichment[] => r.enrichments.filter((e) => e.cve === cve);

describe.skipIf(packMissing("enrichment/kev/known_exploited_vulnerabilities.json") !== null)("kev", () => {
  let r: ImportedFile;
  beforeAll(async () => {
    r = await importFile(kevImporter, pack("enrichment/kev/known_exploited_vulnerabilities.json"));
  }, 60_000);

  it("reads all 1,404 entries of catalog 2025.08.25", () => {
    expect(r.problems).toEqual([]);
    expect(r.enrichments).toHaveLength(1404);
  });

  it("CVE-2021-44228 (Log4Shell)", () => {
    expect(find(r, "CVE-2021-44228")).toEqual([
      {
        cve: "CVE-2021-44228",
        kev: {
          dateAdded: "2021-12-10",
          dueDate: "2021-12-24",
          knownRansomwareCampaignUse: "Known",
          vendorProject: "Apache",
          product: "Log4j2",
        },
      },
    ]);
  });

  it("does not take the catalog's JSON Schema for a catalog", async () => {
    const s = await importFile(
      kevImporter,
      pack("enrichment/kev/known_exploited_vulnerabilities_schema.json"),
    );
    expect(s.unrecognized).toBe(1);
  });

  it("reports a bad entry and reads the others", () => {
    const doc = {
      name: "kev.json",
      content: Buffer.from(
        JSON.stringify({
          catalogVersion: "1",
          vulnerabilities: [
            { cveID: "CVE-2024-0001", dateAdded: "2024-01-02" },
            { cveID: "not-a-cve", dateAdded: "2024-01-02" },
            { cveID: "CVE-2024-0002", dateAdded: "yesterday" },
          ],
        }),
      ),
    };
    expect([...(kevImporter.parse(doc) as Iterable<unknown>)]).toMatchObject([
      { kind: "enrichment", enrichment: { cve: "CVE-2024-0001", kev: { dateAdded: "2024-01-02" } } },
      {
        kind: "problem",
        problem: { document: "kev.json [1] not-a-cve", reason: expect.stringContaining("cveID") },
      },
      { kind: "problem", problem: { reason: expect.stringContaining("dateAdded") } },
    ]);
  });
});

describe.skipIf(packMissing("enrichment/epss/emba-epss-by-year.tar.gz") !== null)("epss", () => {
  let r: ImportedFile;
  beforeAll(async () => {
    r = await importFile(epssImporter, pack("enrichment/epss/emba-epss-by-year.tar.gz"));
  }, 60_000);

  it("reads EMBA's 28 per-year files: 360,142 rows, no duplicates, no dates", () => {
    expect(r.problems).toEqual([]);
    expect(r.documents).toBe(28);
    expect(r.enrichments).toHaveLength(360_142);
    expect(new Set(r.enrichments.map((e) => e.cve)).size).toBe(360_142);
    expect(r.enrichments.some((e) => e.epss?.date)).toBe(false);
  });

  it("CVE-2021-44228: 0.99999, percentile 1", () => {
    expect(find(r, "CVE-2021-44228")).toEqual([
      { cve: "CVE-2021-44228", epss: { score: 0.99999, percentile: 1 } },
    ]);
  });

  it("reads FIRST's daily layout with its model and score date (a .gz of it too)", async () => {
    const csv =
      "#model_version:v2025.03.14,score_date:2026-08-16T00:00:00+0000\ncve,epss,percentile\n" +
      "CVE-2021-44228,0.94358,0.99957\nCVE-2024-0001,0.00043,0.11\n";
    const f = await importFile(epssImporter, gzipSync(csv), "epss_scores-2026-08-16.csv.gz");
    expect(f.problems).toEqual([]);
    expect(f.enrichments).toEqual([
      {
        cve: "CVE-2021-44228",
        epss: { score: 0.94358, percentile: 0.99957, date: "2026-08-16", model: "v2025.03.14" },
      },
      {
        cve: "CVE-2024-0001",
        epss: { score: 0.00043, percentile: 0.11, date: "2026-08-16", model: "v2025.03.14" },
      },
    ]);
  });

  it.skipIf(packMissing("samples/anchore-vunnel-format-samples.tar.gz") !== null)(
    "reads the genuine FIRST sample in samples/",
    async () => {
      const s = await importFile(epssImporter, pack("samples/anchore-vunnel-format-samples.tar.gz"));
      expect(s.enrichments).toHaveLength(5);
      expect(s.enrichments[0]).toEqual({
        cve: "CVE-1999-0001",
        epss: { score: 0.00383, percentile: 0.73075, date: "2025-02-20", model: "v2023.03.01" },
      });
    },
  );

  it("reports bad rows by line and keeps the good ones", () => {
    const doc = {
      name: "CVE_2024_EPSS.csv",
      content: Buffer.from("CVE-2024-0001;0.1;0.2\nCVE-2024-0002;2;0.5\nfoo;0.1;0.1\n"),
    };
    expect([...(epssImporter.parse(doc) as Iterable<unknown>)]).toMatchObject([
      { kind: "enrichment", enrichment: { cve: "CVE-2024-0001", epss: { score: 0.1, percentile: 0.2 } } },
      { kind: "problem", problem: { document: "CVE_2024_EPSS.csv:2" } },
      { kind: "problem", problem: { document: "CVE_2024_EPSS.csv:3" } },
    ]);
  });
});

describe.skipIf(packMissing("enrichment/nvd/nvdcve-1.1-referenced.jsonl.gz") !== null)("nvd", () => {
  let r: ImportedFile;
  beforeAll(async () => {
    r = await importFile(nvdImporter, pack("enrichment/nvd/nvdcve-1.1-referenced.jsonl.gz"));
  }, 60_000);

  it("reads the 15,183-line extract: 14,993 v2 and 7,297 v3 scores, source nvd", () => {
    expect(r.problems).toEqual([]);
    const all = r.enrichments.flatMap((e) => e.cvss ?? []);
    expect(all.filter((c) => c.type === "CVSS_V2")).toHaveLength(14_993);
    expect(all.filter((c) => c.type === "CVSS_V3")).toHaveLength(7_297);
    expect(all.every((c) => c.source === "nvd")).toBe(true);
  });

  it("CVE-2014-0160 (Heartbleed): v3.1 7.5 and v2 5.0", () => {
    expect(find(r, "CVE-2014-0160")).toEqual([
      {
        cve: "CVE-2014-0160",
        cvss: [
          {
            type: "CVSS_V3",
            vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N",
            score: 7.5,
            source: "nvd",
          },
          { type: "CVSS_V2", vector: "AV:N/AC:L/Au:N/C:P/I:N/A:N", score: 5, source: "nvd" },
        ],
      },
    ]);
  });

  it.skipIf(packMissing("enrichment/nvd/nvdcve-1.1-modified.json.gz") !== null)(
    "reads a whole JSON 1.1 feed item by item: 2,228 items, 1,759 with scores",
    async () => {
      const m = await importFile(nvdImporter, pack("enrichment/nvd/nvdcve-1.1-modified.json.gz"));
      expect(m.problems).toEqual([]);
      expect(m.enrichments).toHaveLength(1759);
    },
  );

  const feed20 = {
    resultsPerPage: 2,
    startIndex: 0,
    totalResults: 2,
    format: "NVD_CVE",
    version: "2.0",
    timestamp: "2026-08-16T00:00:00.000",
    vulnerabilities: [
      {
        cve: {
          id: "CVE-2024-3094",
          sourceIdentifier: "secalert@redhat.com",
          vulnStatus: "Modified",
          metrics: {
            cvssMetricV31: [
              {
                source: "secalert@redhat.com",
                type: "Secondary",
                cvssData: {
                  version: "3.1",
                  vectorString: "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:C/C:H/I:H/A:H",
                  baseScore: 10.0,
                },
              },
            ],
            cvssMetricV40: [
              {
                source: "nvd@nist.gov",
                type: "Primary",
                cvssData: {
                  version: "4.0",
                  vectorString: "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
                  baseScore: 9.3,
                },
              },
            ],
          },
        },
      },
      { cve: { id: "CVE-2024-0002", sourceIdentifier: "x", vulnStatus: "Rejected", metrics: {} } },
    ],
  };

  it("reads NVD JSON 2.0 feeds: every scorer, v4 included; rejected CVEs skipped", async () => {
    const f = await importFile(nvdImporter, gzipSync(JSON.stringify(feed20)), "nvdcve-2.0-2024.json.gz");
    expect(f.problems).toEqual([]);
    expect(f.skipped).toBe(1);
    expect(f.enrichments).toEqual([
      {
        cve: "CVE-2024-3094",
        cvss: [
          {
            type: "CVSS_V4",
            vector: "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
            score: 9.3,
            source: "nvd",
          },
          {
            type: "CVSS_V3",
            vector: "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:C/C:H/I:H/A:H",
            score: 10,
            source: "secalert@redhat.com",
          },
        ],
      },
    ]);
  });

  it("keeps the items before the point where a feed is cut off, and reports it", async () => {
    const text = JSON.stringify(feed20);
    const f = await importFile(
      nvdImporter,
      Buffer.from(text.slice(0, text.indexOf('"CVE-2024-0002"'))),
      "nvdcve-2.0-2024.json",
    );
    expect(f.enrichments.map((e) => e.cve)).toEqual(["CVE-2024-3094"]);
    expect(f.problems).toMatchObject([{ document: "nvdcve-2.0-2024.json", reason: /truncated/ }]);
  });
});

describe.skipIf(packMissing("enrichment/cisa-vulnrichment/vulnrichment-referenced.tar.gz") !== null)(
  "vulnrichment",
  () => {
    let r: ImportedFile;
    beforeAll(async () => {
      r = await importFile(
        vulnrichmentImporter,
        pack("enrichment/cisa-vulnrichment/vulnrichment-referenced.tar.gz"),
      );
    }, 60_000);

    it("reads 5,801 records (6 rejected, skipped): CISA-ADP CVSS ×777, SSVC ×5,795, KEV notes ×222", () => {
      expect(r.problems).toEqual([]);
      expect(r.documents).toBe(5801);
      expect(r.skipped).toBe(6);
      expect(r.enrichments.flatMap((e) => e.cvss ?? []).filter((c) => c.source === "cisa-adp")).toHaveLength(
        777,
      );
      expect(r.enrichments.filter((e) => e.ssvc)).toHaveLength(5795);
      expect(r.enrichments.filter((e) => e.kev)).toHaveLength(222);
    });

    it("CVE-2019-1069: CISA-ADP v3.1 7.8, SSVC active/no/total, KEV note", () => {
      expect(find(r, "CVE-2019-1069")).toEqual([
        {
          cve: "CVE-2019-1069",
          cvss: [
            {
              type: "CVSS_V3",
              vector: "CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H",
              score: 7.8,
              source: "cisa-adp",
            },
          ],
          ssvc: {
            exploitation: "active",
            automatable: "no",
            technicalImpact: "total",
            date: "2024-09-18T18:07:57.773732Z",
          },
          kev: { dateAdded: "2024-09-18" },
        },
      ]);
    });

    it("takes CNA scores with the CNA's name as source", () => {
      const cna = r.enrichments.flatMap((e) => e.cvss ?? []).filter((c) => c.source !== "cisa-adp");
      // PROVENANCE: CNA metrics cvssV3_1 ×2,132, cvssV3_0 ×285, cvssV4_0 ×93, cvssV2_0 ×21.
      expect(cna.filter((c) => c.type === "CVSS_V4")).toHaveLength(93);
      expect(cna.filter((c) => c.type === "CVSS_V2")).toHaveLength(21);
      expect(cna.filter((c) => c.type === "CVSS_V3")).toHaveLength(2132 + 285);
      expect(cna.every((c) => c.source && c.source !== "cna")).toBe(true);
    });
  },
);
