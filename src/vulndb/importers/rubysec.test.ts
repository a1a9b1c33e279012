import { describe, expect, it } from "vitest";
import { advisoryById, missingVulndata, readPackTarGz, runImporter } from "./native-feed-testing.js";
import { rubysecImporter } from "./rubysec.js";
import type { FeedDocument } from "./types.js";

const PACK = "raw/ruby-advisory-db.tar.gz";
const doc = (name: string, body: string): FeedDocument => ({ name, content: Buffer.from(body) });

const SANITIZE = `---
gem: sanitize
cve: 2018-3740
ghsa: 7f42-p84j-f58p
url: https://github.com/rgrove/sanitize/issues/176
title: HTML injection/XSS in Sanitize
date: 2018-03-19
description: |
  Crafted HTML.
cvss_v3: 7.5
cvss_v2: 5.0
unaffected_versions:
  - "< 1.1.0"
patched_versions:
  - ~> 2.1.1
  - ">= 4.6.3"
  - 3.0
related:
  cve:
    - 2018-0001
  url:
    - https://github.com/rgrove/sanitize/commit/01629a1
`;

describe("rubysec importer", () => {
  it("recognizes gem and interpreter advisories by their first key", () => {
    const yes = (name: string, head: string) => rubysecImporter.recognizes({ name, head: Buffer.from(head) });
    expect(yes("gems/sanitize/CVE-2018-3740.yml", SANITIZE)).toBe(true);
    expect(
      yes("x.tar.gz!ruby-advisory-db-master/rubies/jruby/CVE-2022-25857.yml", "---\nengine: jruby\n"),
    ).toBe(true);
    expect(yes("vulns/pkg/PYSEC-1.yaml", "id: PYSEC-1\n")).toBe(false);
    expect(yes("gems/x/README.md", "gem: x")).toBe(false);
    expect(rubysecImporter.upstream?.[0]?.url).toBe(
      "https://github.com/rubysec/ruby-advisory-db/archive/refs/heads/master.tar.gz",
    );
  });

  it("maps a gem advisory: prefixed ids, unaffected = patched + unaffected, scores, references", async () => {
    const run = await runImporter(rubysecImporter, [doc("gems/sanitize/CVE-2018-3740.yml", SANITIZE)]);
    expect(run.problems).toEqual([]);
    expect(run.advisories).toEqual([
      {
        id: "CVE-2018-3740",
        source: "rubysec",
        aliases: ["GHSA-7f42-p84j-f58p"],
        related: ["CVE-2018-0001"],
        summary: "HTML injection/XSS in Sanitize",
        details: "Crafted HTML.",
        published: "2018-03-19",
        cvss: [
          { type: "CVSS_V3", vector: "", score: 7.5, source: "rubysec" },
          { type: "CVSS_V2", vector: "", score: 5, source: "rubysec" },
        ],
        references: [
          { type: "ADVISORY", url: "https://github.com/rgrove/sanitize/issues/176" },
          { type: "WEB", url: "https://github.com/rgrove/sanitize/commit/01629a1" },
        ],
        affected: [
          {
            ecosystem: "gem",
            package: "sanitize",
            // A bare 3.0 stays the version "3.0" (YAML would make it the float 3).
            ranges: [{ type: "NATIVE", unaffected: ["~> 2.1.1", ">= 4.6.3", "3.0", "< 1.1.0"] }],
          },
        ],
      },
    ]);
  });

  it("maps interpreter advisories to ruby-interpreter and falls back to GHSA/OSVDB ids", async () => {
    const run = await runImporter(rubysecImporter, [
      doc(
        "rubies/jruby/CVE-2022-25857.yml",
        "---\nengine: jruby\ncve: 2022-25857\npatched_versions:\n  - '>= 9.3.8.0'\n",
      ),
      doc("gems/a/GHSA-aaaa-bbbb-cccc.yml", "gem: a\nghsa: aaaa-bbbb-cccc\nosvdb: 1234\n"),
      doc("gems/b/OSVDB-99.yml", "gem: b\nosvdb: 99\n"),
    ]);
    expect(run.advisories.map((a) => [a.id, a.aliases, a.affected[0]])).toEqual([
      [
        "CVE-2022-25857",
        [],
        {
          ecosystem: "ruby-interpreter",
          package: "jruby",
          ranges: [{ type: "NATIVE", unaffected: [">= 9.3.8.0"] }],
        },
      ],
      [
        "GHSA-aaaa-bbbb-cccc",
        ["OSVDB-1234"],
        { ecosystem: "gem", package: "a", ranges: [{ type: "NATIVE", unaffected: [] }] },
      ],
      ["OSVDB-99", [], { ecosystem: "gem", package: "b", ranges: [{ type: "NATIVE", unaffected: [] }] }],
    ]);
  });

  it("reports broken documents with feed and document, and goes on", async () => {
    const run = await runImporter(rubysecImporter, [
      doc("gems/a/1.yml", SANITIZE.slice(0, SANITIZE.indexOf("description")) + "title: [unclosed\n"),
      doc("gems/b/2.yml", "gem: b\ngem: c\n"),
      doc("gems/c/3.yml", "gem: \n"),
      doc("gems/sanitize/CVE-2018-3740.yml", SANITIZE),
    ]);
    expect(run.problems.map((p) => [p.feed, p.document])).toEqual([
      ["rubysec", "gems/a/1.yml"],
      ["rubysec", "gems/b/2.yml"],
      ["rubysec", "gems/c/3.yml"],
    ]);
    expect(run.problems[0]!.reason).toMatch(/invalid YAML/);
    expect(run.problems[1]!.reason).toMatch(/invalid YAML/);
    expect(run.problems[2]!.reason).toBe("neither gem nor engine");
    expect(run.advisories.map((a) => a.id)).toEqual(["CVE-2018-3740"]);
  });

  const missing = missingVulndata(PACK);
  it.skipIf(missing !== null)(`imports the real ruby-advisory-db ${missing ?? ""}`, async () => {
    const docs = await readPackTarGz(PACK);
    const started = Date.now();
    const run = await runImporter(rubysecImporter, docs);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(run.problems).toEqual([]);
    expect(run.refused.map((r) => r.slice(r.indexOf("!") + 1))).toEqual(["LICENSE.txt"]);
    // PROVENANCE.md: 1,234 gem advisories over 465 gems; 147 for interpreters.
    const gems = run.advisories.filter((a) => a.affected[0]!.ecosystem === "gem");
    expect(gems).toHaveLength(1234);
    expect(new Set(gems.map((a) => a.affected[0]!.package)).size).toBe(465);
    expect(run.advisories.filter((a) => a.affected[0]!.ecosystem === "ruby-interpreter")).toHaveLength(147);
    expect(run.advisories.every((a) => /^(CVE|GHSA|OSVDB)-/.test(a.id))).toBe(true);

    expect(advisoryById(run, "CVE-2018-3740", "sanitize")).toMatchObject({
      aliases: ["GHSA-7f42-p84j-f58p"],
      published: "2018-03-19",
      cvss: [{ type: "CVSS_V3", vector: "", score: 7.5 }],
      affected: [
        {
          ecosystem: "gem",
          package: "sanitize",
          ranges: [{ type: "NATIVE", unaffected: ["~> 2.1.1", ">= 4.6.3", "< 1.1.0"] }],
        },
      ],
    });
    expect(advisoryById(run, "CVE-2013-4389", "actionmailer").affected).toEqual([
      {
        ecosystem: "gem",
        package: "actionmailer",
        ranges: [{ type: "NATIVE", unaffected: [">= 3.2.15", "~> 2.3.2"] }],
      },
    ]);
    expect(advisoryById(run, "CVE-2022-25857", "jruby").affected[0]).toEqual({
      ecosystem: "ruby-interpreter",
      package: "jruby",
      ranges: [{ type: "NATIVE", unaffected: [">= 9.3.8.0"] }],
    });
    // Every version string stayed a string, whatever YAML would have made of it.
    for (const a of run.advisories)
      for (const r of a.affected[0]!.ranges)
        if (r.type === "NATIVE") for (const u of r.unaffected ?? []) expect(typeof u).toBe("string");
  });
});
