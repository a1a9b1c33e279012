import { describe, expect, it } from "vitest";
import { advisoryById, missingVulndata, readPackTarGz, runImporter } from "./native-feed-testing.js";
import { nodejsWgImporter } from "./nodejs-wg.js";
import type { FeedDocument } from "./types.js";

const PACK = "raw/nodejs-security-wg-vuln.tar.gz";
const doc = (name: string, body: unknown): FeedDocument => ({
  name,
  content: Buffer.from(typeof body === "string" ? body : JSON.stringify(body, null, 2)),
});

const ECO = {
  id: 1,
  created_at: "2015-10-17",
  updated_at: "2016-04-28",
  title: "Arbitrary JavaScript Execution",
  module_name: "bassmaster",
  publish_date: "2014-09-27",
  cves: ["CVE-2014-7205"],
  vulnerable_versions: "<=1.5.1",
  patched_versions: ">=1.5.2",
  overview: "eval.",
  recommendation: "Update.",
  references: ["https://www.npmjs.org/package/bassmaster"],
  cvss_vector: "CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:L/A:N",
  cvss_score: 6.5,
};

describe("Node.js security-wg importer", () => {
  it("recognizes npm and core records only", () => {
    const head = Buffer.from("{\n");
    expect(nodejsWgImporter.recognizes({ name: "x.tar.gz!vuln/npm/1.json", head })).toBe(true);
    expect(nodejsWgImporter.recognizes({ name: "security-wg-main/vuln/core/100.json", head })).toBe(true);
    expect(nodejsWgImporter.recognizes({ name: "vuln/npm/index.json", head })).toBe(false);
    expect(nodejsWgImporter.recognizes({ name: "vuln/deps/1.json", head })).toBe(false);
    expect(nodejsWgImporter.recognizes({ name: "vuln/npm/1.json", head: Buffer.from("[1]") })).toBe(false);
  });

  it("maps npm advisories and runtime advisories", async () => {
    const run = await runImporter(nodejsWgImporter, [
      doc("vuln/npm/1.json", ECO),
      doc("vuln/npm/2.json", { ...ECO, id: 2, patched_versions: null, cvss_vector: null, cves: [] }),
      doc("vuln/core/100.json", {
        cve: ["CVE-2022-35256"],
        vulnerable: "14.x || 16.x || 18.x",
        patched: "^14.20.1 || ^16.17.1 || ^18.9.1",
        ref: "https://nodejs.org/en/blog/vulnerability/september-2022-security-releases/",
        overview: "Request smuggling.",
        severity: "medium",
      }),
    ]);
    expect(run.problems).toEqual([]);
    expect(run.advisories[0]).toEqual({
      id: "NSWG-ECO-1",
      source: "nodejs-wg",
      aliases: ["CVE-2014-7205"],
      summary: "Arbitrary JavaScript Execution",
      details: "eval.\n\nUpdate.",
      published: "2014-09-27",
      modified: "2016-04-28",
      cvss: [
        {
          type: "CVSS_V3",
          vector: "CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:L/A:N",
          score: 6.5,
          source: "nodejs-wg",
        },
      ],
      references: [{ type: "WEB", url: "https://www.npmjs.org/package/bassmaster" }],
      affected: [
        {
          ecosystem: "npm",
          package: "bassmaster",
          ranges: [{ type: "NATIVE", vulnerable: "<=1.5.1", unaffected: [">=1.5.2"] }],
        },
      ],
    });
    // No patched version: vulnerable_versions alone decides.
    expect(run.advisories[1]!.affected[0]!.ranges).toEqual([
      { type: "NATIVE", vulnerable: "<=1.5.1", unaffected: [] },
    ]);
    expect(run.advisories[1]!.cvss).toBeUndefined();
    expect(run.advisories[2]).toEqual({
      id: "NSWG-CORE-100",
      source: "nodejs-wg",
      aliases: ["CVE-2022-35256"],
      severity: "medium",
      details: "Request smuggling.",
      references: [
        { type: "WEB", url: "https://nodejs.org/en/blog/vulnerability/september-2022-security-releases/" },
      ],
      affected: [
        {
          ecosystem: "node-runtime",
          package: "node",
          severity: "medium",
          ranges: [
            {
              type: "NATIVE",
              vulnerable: "14.x || 16.x || 18.x",
              unaffected: ["^14.20.1 || ^16.17.1 || ^18.9.1"],
            },
          ],
        },
      ],
    });
  });

  it("reports broken documents with feed and document, and goes on", async () => {
    const text = JSON.stringify(ECO);
    const run = await runImporter(nodejsWgImporter, [
      doc("vuln/npm/3.json", text.slice(0, 40)),
      doc("vuln/npm/4.json", { ...ECO, module_name: null }),
      doc("vuln/core/5.json", { cve: [] }),
      doc("vuln/npm/1.json", ECO),
    ]);
    expect(run.problems).toEqual([
      { feed: "nodejs-wg", document: "vuln/npm/3.json", reason: expect.stringMatching(/^invalid JSON/) },
      {
        feed: "nodejs-wg",
        document: "vuln/npm/4.json",
        reason: "module_name, vulnerable_versions or id missing",
      },
      { feed: "nodejs-wg", document: "vuln/core/5.json", reason: "vulnerable missing" },
    ]);
    expect(run.advisories.map((a) => a.id)).toEqual(["NSWG-ECO-1"]);
  });

  const missing = missingVulndata(PACK);
  it.skipIf(missing !== null)(`imports the real vuln/ tree ${missing ?? ""}`, async () => {
    const run = await runImporter(nodejsWgImporter, await readPackTarGz(PACK));
    expect(run.problems).toEqual([]);
    // PROVENANCE.md: vuln/npm 467 advisories, vuln/core 171 (indexes and vuln/deps not imported).
    const npm = run.advisories.filter((a) => a.affected[0]!.ecosystem === "npm");
    expect(npm).toHaveLength(467);
    expect(run.advisories.filter((a) => a.affected[0]!.ecosystem === "node-runtime")).toHaveLength(171);
    expect(run.refused.map((r) => r.slice(r.indexOf("!") + 1)).sort()).toEqual([
      "LICENSE.md",
      "vuln/README.md",
      "vuln/core/index.json",
      "vuln/deps/1.json",
      "vuln/deps/2.json",
      "vuln/deps/3.json",
      "vuln/deps/4.json",
      "vuln/deps/5.json",
      "vuln/deps/6.json",
      "vuln/deps/index.json",
      "vuln/index.js",
      "vuln/npm/index.json",
    ]);
    expect(new Set(npm.map((a) => a.id)).size).toBe(467);
    expect(advisoryById(run, "NSWG-ECO-1")).toMatchObject({
      aliases: ["CVE-2014-7205"],
      published: "2014-09-27",
      cvss: [{ type: "CVSS_V3", vector: "CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:L/A:N", score: 6.5 }],
      affected: [
        {
          ecosystem: "npm",
          package: "bassmaster",
          ranges: [{ type: "NATIVE", vulnerable: "<=1.5.1", unaffected: [">=1.5.2"] }],
        },
      ],
    });
    expect(advisoryById(run, "NSWG-CORE-100").affected[0]!.ranges).toEqual([
      { type: "NATIVE", vulnerable: "14.x || 16.x || 18.x", unaffected: ["^14.20.1 || ^16.17.1 || ^18.9.1"] },
    ]);
  });
});
