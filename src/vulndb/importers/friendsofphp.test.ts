import { describe, expect, it } from "vitest";
import { friendsOfPhpImporter } from "./friendsofphp.js";
import { advisoryById, missingVulndata, readPackTarGz, runImporter } from "./native-feed-testing.js";
import type { FeedDocument } from "./types.js";

const PACK = "raw/friendsofphp-security-advisories.tar.gz";
const doc = (name: string, body: string): FeedDocument => ({ name, content: Buffer.from(body) });

const SYMFONY = `title:     Session fixation
link:      https://github.com/symfony/symfony/security/advisories/GHSA-3gv2-29qc-v67m
cve:       ~
branches:
    4.4.x:
        time:     2022-01-28 08:00:00
        versions: ['>=4.4.0', '<4.4.37']
    5.0:
        time:     ~
        versions: ['>=5.0.0']
reference: composer://symfony/security-http
`;

describe("FriendsOfPHP importer", () => {
  it("recognizes advisory files by their keys, not other YAML feeds", () => {
    const yes = (name: string, head: string) =>
      friendsOfPhpImporter.recognizes({ name, head: Buffer.from(head) });
    expect(yes("symfony/security-http/2022-01-28.yaml", SYMFONY)).toBe(true);
    expect(yes("a/b/c.yaml", "\n  \nreference: composer://a/b\n")).toBe(true);
    expect(yes("vulns/x/PYSEC-1.yaml", "id: PYSEC-1\n")).toBe(false);
    expect(yes("x.advisories.yaml", "title: no\n")).toBe(false);
    expect(yes("gems/x/CVE-1.yml", "---\ngem: x\n")).toBe(false);
    expect(yes("a/b/c.json", SYMFONY)).toBe(false);
  });

  it("turns each branch into one AND-ed Composer constraint", async () => {
    const run = await runImporter(friendsOfPhpImporter, [
      doc("symfony/security-http/2022-01-28.yaml", SYMFONY),
    ]);
    expect(run.problems).toEqual([]);
    expect(run.advisories).toEqual([
      {
        // No CVE: the GHSA id in the link names it.
        id: "GHSA-3gv2-29qc-v67m",
        source: "friendsofphp",
        aliases: [],
        summary: "Session fixation",
        references: [
          {
            type: "ADVISORY",
            url: "https://github.com/symfony/symfony/security/advisories/GHSA-3gv2-29qc-v67m",
          },
        ],
        affected: [
          {
            ecosystem: "composer",
            package: "symfony/security-http",
            ranges: [
              { type: "NATIVE", vulnerable: ">=4.4.0,<4.4.37" },
              { type: "NATIVE", vulnerable: ">=5.0.0" },
            ],
          },
        ],
      },
    ]);
  });

  it("names id-less advisories after their file", async () => {
    const run = await runImporter(friendsOfPhpImporter, [
      doc(
        "x.tar.gz!security-advisories-master/3f/pygmentize/2017-05-15.yaml",
        "title: RCE\nlink: https://example.org/1\ncve: ~\nbranches:\n    1.x:\n        time: 2017-05-15 09:09:00\n        versions: ['<1.2']\nreference: composer://3f/pygmentize\n",
      ),
    ]);
    expect(run.advisories.map((a) => [a.id, a.aliases])).toEqual([
      ["FriendsOfPHP:3f/pygmentize/2017-05-15", []],
    ]);
  });

  it("reports broken documents with feed and document, and goes on", async () => {
    const run = await runImporter(friendsOfPhpImporter, [
      doc("a/b/1.yaml", SYMFONY.slice(0, SYMFONY.indexOf("versions: ['>=5") + 16)),
      doc("a/b/2.yaml", "title: x\nreference: https://example.org\nbranches: {}\n"),
      doc("a/b/3.yaml", "title: x\nreference: composer://a/b\n"),
      doc("a/b/4.yaml", "title: x\nreference: composer://a/b\nbranches:\n  main: {time: ~, versions: []}\n"),
      doc(
        "a/b/5.yaml",
        "title: x\ncve: 2020-1\nreference: composer://a/b\nbranches:\n  main: {versions: ['<1']}\n",
      ),
      doc("symfony/security-http/2022-01-28.yaml", SYMFONY),
    ]);
    expect(run.problems.map((p) => [p.feed, p.document, p.reason.replace(/:.*/s, "")])).toEqual([
      ["friendsofphp", "a/b/1.yaml", "invalid YAML"],
      ["friendsofphp", "a/b/2.yaml", 'reference "https'],
      ["friendsofphp", "a/b/3.yaml", "no branches"],
      ["friendsofphp", "a/b/4.yaml", "branch main"],
      ["friendsofphp", "a/b/5.yaml", 'cve "2020-1" is not a CVE id'],
    ]);
    expect(run.advisories.map((a) => a.id)).toEqual(["FriendsOfPHP:a/b/5", "GHSA-3gv2-29qc-v67m"]);
  });

  const missing = missingVulndata(PACK);
  it.skipIf(missing !== null)(`imports the real FriendsOfPHP database ${missing ?? ""}`, async () => {
    const docs = await readPackTarGz(PACK);
    const started = Date.now();
    const run = await runImporter(friendsOfPhpImporter, docs);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(run.problems).toEqual([]);
    expect(run.refused.map((r) => r.slice(r.indexOf("!") + 1))).toEqual(["LICENSE"]);
    // PROVENANCE.md: 1,592 advisories over 350 Composer packages.
    expect(run.advisories).toHaveLength(1592);
    expect(new Set(run.advisories.map((a) => a.affected[0]!.package)).size).toBe(350);

    expect(advisoryById(run, "CVE-2016-4855", "adodb/adodb-php")).toEqual({
      id: "CVE-2016-4855",
      source: "friendsofphp",
      aliases: [],
      summary: "XSS vulnerability in old test script",
      references: [{ type: "ADVISORY", url: "https://github.com/ADOdb/ADOdb/issues/274" }],
      affected: [
        {
          ecosystem: "composer",
          package: "adodb/adodb-php",
          ranges: [{ type: "NATIVE", vulnerable: "<5.20.6" }],
        },
      ],
    });
    expect(advisoryById(run, "CVE-2023-25575", "api-platform/core")).toMatchObject({
      aliases: ["GHSA-vr2x-7687-h6qv"],
      affected: [
        {
          ranges: [
            { type: "NATIVE", vulnerable: ">=2.6.0,<2.7.10" },
            { type: "NATIVE", vulnerable: ">=3.0.0,<3.0.12" },
            { type: "NATIVE", vulnerable: ">=3.1.0,<3.1.3" },
          ],
        },
      ],
    });
    expect(advisoryById(run, "FriendsOfPHP:3f/pygmentize/2017-05-15").affected[0]!.ranges).toEqual([
      { type: "NATIVE", vulnerable: "<1.2" },
    ]);
  });
});
