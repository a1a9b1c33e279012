import { readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { CvssError, cvssRating, parseCvss } from "./cvss.js";
import { pack, packMissing } from "./testing.js";

describe("CVSS base scores", () => {
  // Pairs as NVD's CVE pages show them (vector, NVD base score).
  const known: [string, number][] = [
    ["CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", 10.0], // CVE-2021-44228
    ["CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8], // CVE-2017-5638
    ["CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H", 7.8], // CVE-2021-4034
    ["CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", 6.1], // typical reflected XSS
    ["CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:N/A:N", 5.9],
    ["CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H", 7.5],
    ["CVSS:3.0/AV:N/AC:L/PR:N/UI:R/S:U/C:H/I:H/A:H", 8.8],
    ["CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N", 1.6],
    ["CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N", 0],
    ["AV:N/AC:L/Au:N/C:P/I:N/A:N", 5.0], // CVE-2014-0160 v2
    ["AV:N/AC:L/Au:N/C:P/I:P/A:P", 7.5],
    ["AV:N/AC:M/Au:N/C:N/I:P/A:N", 4.3],
    ["AV:N/AC:L/Au:N/C:C/I:C/A:C", 10.0],
    ["AV:L/AC:L/Au:N/C:P/I:N/A:N", 2.1],
    ["(AV:N/AC:M/Au:S/C:P/I:P/A:P)", 6.0],
  ];
  it.each(known)("%s → %d", (vector, score) => {
    expect(parseCvss(vector).score).toBe(score);
  });

  it("reads v2 in the spellings feeds use and keeps a canonical vector", () => {
    expect(parseCvss("(AV:N/AC:L/Au:N/C:P/I:N/A:N)")).toEqual({
      version: "2.0",
      vector: "AV:N/AC:L/Au:N/C:P/I:N/A:N",
      score: 5,
    });
    expect(parseCvss("CVSS:2.0/AV:N/AC:L/Au:N/C:P/I:N/A:N").vector).toBe("AV:N/AC:L/Au:N/C:P/I:N/A:N");
  });

  it("ignores temporal and environmental metrics for the base score", () => {
    expect(parseCvss("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:U/RL:O/RC:R").score).toBe(9.8);
    expect(parseCvss("AV:N/AC:L/Au:N/C:P/I:P/A:P/E:POC/RL:OF/RC:C").score).toBe(7.5);
  });

  it("validates v4 vectors without scoring them", () => {
    const v4 = parseCvss("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N");
    expect(v4).toEqual({ version: "4.0", vector: v4.vector });
    expect(() => parseCvss("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N")).toThrow(CvssError);
  });

  it.each([
    ["CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H", "lacks A"],
    ["CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "AV cannot be X"],
    ["CVSS:3.1/AV:N/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "repeats AV"],
    ["CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/ZZ:1", "unknown metric ZZ"],
    ["CVSS:9.9/AV:N", "unknown CVSS version"],
    ["high", "not a CVSS vector"],
  ])("refuses %s", (vector, message) => {
    expect(() => parseCvss(vector)).toThrow(message);
  });

  it("rates scores as NVD does", () => {
    expect([0, 3.9, 4, 6.9, 7, 8.9, 9, 10].map((s) => cvssRating(s))).toEqual([
      "NONE",
      "LOW",
      "MEDIUM",
      "MEDIUM",
      "HIGH",
      "HIGH",
      "CRITICAL",
      "CRITICAL",
    ]);
    expect(cvssRating(6.9, "2.0")).toBe("MEDIUM");
  });

  const nvd = "enrichment/nvd/nvdcve-1.1-referenced.jsonl.gz";
  it.skipIf(packMissing(nvd) !== null)(
    "agrees with NVD on every v2 and v3 vector of the NVD extract in ../shared/vulndata",
    () => {
      let v2 = 0;
      let v3 = 0;
      const wrong: string[] = [];
      for (const line of gunzipSync(readFileSync(pack(nvd)))
        .toString("utf8")
        .split("\n")) {
        if (!line) continue;
        const impact = (
          JSON.parse(line) as { impact: Record<string, Record<string, Record<string, unknown>>> }
        ).impact;
        for (const m of [impact.baseMetricV2?.cvssV2, impact.baseMetricV3?.cvssV3]) {
          if (!m) continue;
          if (m === impact.baseMetricV2?.cvssV2) v2++;
          else v3++;
          const score = parseCvss(String(m.vectorString)).score;
          if (score !== m.baseScore)
            wrong.push(`${String(m.vectorString)}: NVD ${String(m.baseScore)}, ours ${score}`);
        }
      }
      // PROVENANCE.md: 14,993 records with baseMetricV2, 7,297 with baseMetricV3.
      expect({ v2, v3, wrong }).toEqual({ v2: 14_993, v3: 7_297, wrong: [] });
    },
  );
});
