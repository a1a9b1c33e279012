import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readZip } from "../../src/vulndb/archive/zip.js";
import { VulnDb } from "../../src/vulndb/db.js";
import { documentsOf } from "../../src/vulndb/sources.js";
import { repoRoot, run, sharedDir } from "./harness.js";

/**
 * `drydock db import` of damaged feed documents, end to end: a directory mixing real records of
 * the pack with broken copies of them — a truncated zip, invalid JSON, YAML and XML, unknown
 * fields, a reversed range. Each problem is reported with its feed and document, everything
 * else is imported, the exit code is 0 (1 with --strict, which keeps the previous database).
 * (test/e2e/db-cli.test.ts covers the whole pack, status, update and diff.)
 */

const vulndata = join(sharedDir, "vulndata");
const cli = join(repoRoot, "dist/cli/main.js");
const skip = !existsSync(join(vulndata, "PROVENANCE.md"))
  ? `../shared/vulndata not found at ${vulndata}`
  : !existsSync(cli)
    ? "dist/cli/main.js missing: run `npm run build`"
    : null;
if (skip) console.warn(`drydock db import (broken feeds) e2e skipped: ${skip}`);

/** Members of a pack zip by name. */
function zipMembers(zip: string, names: string[]): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const m of readZip(zip, zip))
    if (m.kind !== "problem" && names.includes(m.name)) out.set(m.name, m.content);
  return out;
}

/** Members of a pack .tar.gz whose names end with one of `suffixes`. */
async function tarMembers(tgz: string, suffixes: string[]): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for await (const item of documentsOf(tgz, tgz)) {
    if (item.kind !== "document") continue;
    const s = suffixes.find((x) => item.doc.name.endsWith(x));
    if (s) out.set(s, item.doc.content);
  }
  return out;
}

describe.skipIf(skip !== null)("drydock db import: broken feed documents", () => {
  let dir: string;
  let feeds: string;
  let db: string;
  const drydock = (...args: string[]) => run(process.execPath, [cli, ...args], { cwd: dir });
  const put = (rel: string, data: string | Buffer) => {
    mkdirSync(dirname(join(feeds, rel)), { recursive: true });
    writeFileSync(join(feeds, rel), data);
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "drydock-broken-feeds-"));
    feeds = join(dir, "feeds");
    db = join(dir, "vulndb.sqlite");
    const goZip = join(vulndata, "osv/Go/all.zip");
    // 1. a zip cut off in the middle: the members before the cut are still readable
    put("truncated-Go.zip", readFileSync(goZip).subarray(0, 1_000_000));
    // 2. loose OSV JSON: two intact records, one cut short, one with unknown fields, one reversed range
    const go = zipMembers(goZip, [
      "GO-2023-1571.json",
      "GO-2023-1988.json",
      "GO-2023-1704.json",
      "GO-2024-2687.json",
    ]);
    put("osv-go/GO-2023-1571.json", go.get("GO-2023-1571.json")!);
    put("osv-go/GO-2023-1988.json", go.get("GO-2023-1988.json")!);
    put("osv-go/GO-2099-0001.json", go.get("GO-2023-1988.json")!.subarray(0, 200));
    const extra = JSON.parse(go.get("GO-2023-1704.json")!.toString()) as Record<string, unknown>;
    extra.colour = "blue";
    (extra.affected as Record<string, unknown>[])[0]!.shade = 1;
    put("osv-go/GO-2023-1704.json", JSON.stringify(extra));
    const reversed = JSON.parse(go.get("GO-2024-2687.json")!.toString()) as {
      affected: { ranges: { events: unknown[] }[] }[];
    };
    reversed.affected[0]!.ranges[0]!.events = [{ introduced: "1.22.0" }, { fixed: "1.21.9" }];
    put("osv-go/GO-2024-2687.json", JSON.stringify(reversed));
    // 3. OSV-YAML (PyPA): an intact record and an invalid one
    const pypa = await tarMembers(join(vulndata, "raw/pypa-advisory-database-vulns.tar.gz"), [
      "vulns/flask/PYSEC-2018-66.yaml",
    ]);
    put("pypa/vulns/flask/PYSEC-2018-66.yaml", pypa.get("vulns/flask/PYSEC-2018-66.yaml")!);
    put("pypa/vulns/flask/PYSEC-2099-1.yaml", "id: PYSEC-2099-1\naffected: [\n  - package: {name: flask\n");
    // 4. Node.js WG JSON: an intact advisory and invalid JSON
    const wg = await tarMembers(join(vulndata, "raw/nodejs-security-wg-vuln.tar.gz"), ["vuln/npm/516.json"]);
    put("nodejs/vuln/npm/516.json", wg.get("vuln/npm/516.json")!);
    put("nodejs/vuln/npm/999.json", '{"id": 999, "module_name": "x", ');
    // 5. OVAL XML cut short
    const oval = gunzipSync(readFileSync(join(vulndata, "distro/ubuntu/com.ubuntu.jammy.usn.oval.xml.gz")));
    put("oval/com.ubuntu.jammy.usn.oval.xml", oval.subarray(0, 200_000));
    // 6. RubySec YAML with bad indentation
    put("rubysec/gems/rack/CVE-2099-1.yml", "---\ngem: rack\ncve: 2099-1\n  bad: [indent\n");
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("reports each broken document with its feed, imports the rest, and exits 0", async () => {
    const r = await drydock("db", "import", "--db", db, feeds);
    expect(r.stderr).not.toMatch(/at .*\.js:\d+/);
    expect(r.code).toBe(0);
    const warnings = r.stderr.split("\n").filter((l) => l.startsWith("drydock: warning: "));
    const expected: [RegExp, RegExp][] = [
      [/^osv:truncated-Go\.zip: .*truncated-Go\.zip!GO-[\d-]+\.json$/, /truncated or not a zip/],
      [/^osv:osv-go: .*GO-2099-0001\.json$/, /^invalid JSON/],
      [/^osv:osv-go: .*GO-2023-1704\.json \(GO-2023-1704\)$/, /^unknown field colour$/],
      [/^osv:osv-go: .*GO-2023-1704\.json \(GO-2023-1704\)$/, /^affected\[0\]: unknown field shade$/],
      [
        /^osv:osv-go: .*GO-2024-2687\.json \(GO-2024-2687\)$/,
        /^record refused: affected\[0\] \(stdlib\): SEMVER range: fixed 1\.21\.9 is below introduced 1\.22\.0$/,
      ],
      [/^osv:pypa\/vulns\/flask: .*PYSEC-2099-1\.yaml$/, /^invalid YAML/],
      [/^nodejs-wg:nodejs\/vuln\/npm: .*999\.json$/, /^invalid JSON/],
      [/^oval:oval: .*com\.ubuntu\.jammy\.usn\.oval\.xml$/, /^invalid XML/],
      [/^rubysec:rubysec\/gems\/rack: .*CVE-2099-1\.yml$/, /^invalid YAML/],
    ];
    // `drydock: warning: FEED: DOCUMENT: REASON`; documents may contain ": " only in the reason
    const parsed = warnings.map((w) => {
      const rest = w.slice("drydock: warning: ".length);
      const cut = rest.indexOf(": ", rest.indexOf(": ") + 2);
      return { where: rest.slice(0, cut), reason: rest.slice(cut + 2) };
    });
    for (const [where, reason] of expected) {
      expect(
        parsed.some((p) => where.test(p.where) && reason.test(p.reason)),
        `${where} ${reason}\n${warnings.join("\n")}`,
      ).toBe(true);
    }
    expect(warnings).toHaveLength(expected.length);
    expect(r.stdout).toMatch(/, 9 problems, /);

    // the same problems are kept in the database for `drydock db status --problems`
    const st = await drydock("db", "status", "--db", db, "--problems", "--json");
    const problems = JSON.parse(st.stdout) as { feed: string; document: string; reason: string }[];
    expect(problems).toHaveLength(9);
    expect(new Set(problems.map((p) => p.feed))).toEqual(
      new Set([
        "osv:truncated-Go.zip",
        "osv:osv-go",
        "osv:pypa/vulns/flask",
        "nodejs-wg:nodejs/vuln/npm",
        "oval:oval",
        "rubysec:rubysec/gems/rack",
      ]),
    );

    // ...and everything readable was imported
    const vdb = VulnDb.open(db);
    try {
      const net = vdb.advisoriesFor("golang", "golang.org/x/net").map((a) => a.id);
      expect(net).toEqual(expect.arrayContaining(["GO-2023-1571", "GO-2023-1988"]));
      // unknown fields are reported, the record is kept; a reversed range refuses the record
      // (GO-2024-2687 itself is in the database, from the intact part of the truncated zip)
      expect(vdb.advisory("osv", "GO-2023-1704")).toBeDefined();
      const looseGo = vdb.status().feeds.find((f) => f.id === "osv:osv-go")!;
      expect(looseGo).toMatchObject({ documents: 5, records: 3, problems: 4 });
      expect(vdb.advisoriesFor("pypi", "flask").map((a) => a.id)).toContain("PYSEC-2018-66");
      expect(vdb.advisoriesFor("npm", "lodash").map((a) => a.id)).toEqual(["NSWG-ECO-516"]);
      const truncated = vdb.status().feeds.find((f) => f.id === "osv:truncated-Go.zip")!;
      expect(truncated.records).toBeGreaterThan(1000);
      expect(truncated.problems).toBe(1);
    } finally {
      vdb.close();
    }
  });

  it("--strict refuses the import with exit 1 and keeps the previous database", async () => {
    const before = statSync(db).mtimeMs;
    const beforeStatus = (await drydock("db", "status", "--db", db, "--json")).stdout;
    const r = await drydock("db", "import", "--db", db, "--strict", feeds);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /^drydock: 9 problems in the feed documents \(--strict\): database left unchanged$/m,
    );
    expect(statSync(db).mtimeMs).toBe(before);
    const after = JSON.parse((await drydock("db", "status", "--db", db, "--json")).stdout) as {
      builtAt: string;
    };
    expect(after.builtAt).toBe((JSON.parse(beforeStatus) as { builtAt: string }).builtAt);
  });
});
