import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { buildDatabase, type BuildOptions } from "./build.js";
import { VulnDb } from "./db.js";
import { kevImporter } from "./importers/kev.js";
import { osvImporter } from "./importers/osv.js";
import { VulnDbError } from "./schema.js";
import { listSources } from "./sources.js";
import { makeTarGz, makeZip, osvRecord } from "./testing.js";

/** Atomic builds, the replace/merge rules between feeds, and broken documents, on files made here. */

const importers = [kevImporter, osvImporter];
let dir: string;
let target: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "vulndb-build-"));
  target = join(dir, "db", "vulndb.sqlite");
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, content: string | Buffer): string {
  const p = join(dir, "in", name);
  mkdirSync(join(p, ".."), { recursive: true });
  writeFileSync(p, content);
  return p;
}

const json = (v: unknown) => JSON.stringify(v);
const goZip = (...records: Record<string, unknown>[]) =>
  makeZip(records.map((r) => ({ name: `${String(r.id)}.json`, data: json(r) })));

async function build(paths: string[], extra: Partial<BuildOptions> = {}) {
  return buildDatabase({ target, sources: await listSources(paths, []), importers, ...extra });
}

function ids(eco: string, pkg: string): string[] {
  const db = VulnDb.open(target);
  try {
    return db.advisoriesFor(eco, pkg).map((a) => a.id);
  } finally {
    db.close();
  }
}

describe("atomic builds", () => {
  it("a failing import leaves the previous database in service, readable and unchanged", async () => {
    await build([file("go.zip", goZip(osvRecord("GO-2024-0001")))]);
    const before = VulnDb.open(target);
    const status = before.status();

    const next = file("go2.zip", goZip(osvRecord("GO-2024-0002")));
    await expect(
      build([next], {
        onDocument: () => {
          throw new Error("disk full");
        },
      }),
    ).rejects.toThrow("disk full");
    await expect(build([file("README.md", "# nothing to import\n")])).rejects.toThrow(VulnDbError);

    // The reader opened before still reads; a new reader sees the same database.
    expect(before.advisoriesFor("golang", "example.com/mod").map((a) => a.id)).toEqual(["GO-2024-0001"]);
    before.close();
    const after = VulnDb.open(target);
    expect(after.status()).toEqual(status);
    after.close();
    expect(readdirSync(join(dir, "db"))).toEqual(["vulndb.sqlite"]);
  });

  it("--strict refuses a build with problems and keeps the previous database", async () => {
    await build([file("go.zip", goZip(osvRecord("GO-2024-0001")))]);
    const broken = file("bad/GO-2024-0009.json", '{"id": "GO-2024-0009", "affected": [');
    const ok = file("bad/GO-2024-0002.json", json(osvRecord("GO-2024-0002")));
    await expect(build([broken, ok], { strict: true })).rejects.toThrow(/1 problems .*--strict/);
    expect(ids("golang", "example.com/mod")).toEqual(["GO-2024-0001"]);
  });

  it("a reader keeps the database it opened while a rebuild replaces the file", async () => {
    await build([file("go.zip", goZip(osvRecord("GO-2024-0001")))]);
    const reader = VulnDb.open(target);
    await build([file("go.zip", goZip(osvRecord("GO-2024-0003")))]);
    expect(reader.advisoriesFor("golang", "example.com/mod").map((a) => a.id)).toEqual(["GO-2024-0001"]);
    reader.close();
    expect(ids("golang", "example.com/mod")).toEqual(["GO-2024-0003"]);
  });
});

describe("feeds: replace and merge", () => {
  it("re-importing a feed replaces its records and nothing else", async () => {
    await build([file("a/go.zip", goZip(osvRecord("GO-2024-0001"), osvRecord("GO-2024-0002")))]);
    await build([file("b/extra.zip", goZip(osvRecord("GO-2024-0003")))]);
    expect(ids("golang", "example.com/mod")).toEqual(["GO-2024-0001", "GO-2024-0002", "GO-2024-0003"]);
    // Same feed name (go.zip) again, now without GO-2024-0002.
    await build([file("a/go.zip", goZip(osvRecord("GO-2024-0001")))]);
    expect(ids("golang", "example.com/mod")).toEqual(["GO-2024-0001", "GO-2024-0003"]);
    const db = VulnDb.open(target);
    expect(db.status().feeds.map((f) => [f.id, f.advisories])).toEqual([
      ["osv:extra.zip", 1],
      ["osv:go.zip", 1],
    ]);
    db.close();
  });

  it("--fresh starts from nothing", async () => {
    await build([file("a.zip", goZip(osvRecord("GO-2024-0001")))]);
    await build([file("b.zip", goZip(osvRecord("GO-2024-0002")))], { fresh: true });
    expect(ids("golang", "example.com/mod")).toEqual(["GO-2024-0002"]);
  });

  it("merges records with one id: in one feed when written, across feeds when read", async () => {
    // One feed, one id twice (AlmaLinux: one ALSA per major release directory).
    const a8 = osvRecord("ALSA-2024:0001", {
      ecosystem: "AlmaLinux:8",
      name: "openssl",
      fixed: "1:3.0.7-1.el8",
    });
    const a9 = osvRecord("ALSA-2024:0001", {
      ecosystem: "AlmaLinux:9",
      name: "openssl",
      fixed: "1:3.0.7-1.el9",
    });
    (a8.affected as { ranges: unknown[] }[])[0]!.ranges = [
      { type: "ECOSYSTEM", events: [{ introduced: "0" }, { fixed: "1:3.0.7-1.el8" }] },
    ];
    (a9.affected as { ranges: unknown[] }[])[0]!.ranges = [
      { type: "ECOSYSTEM", events: [{ introduced: "0" }, { fixed: "1:3.0.7-1.el9" }] },
    ];
    const zip = makeZip([
      { name: "almalinux8/ALSA-2024:0001.json", data: json({ ...a8, related: ["CVE-2024-0001"] }) },
      { name: "almalinux9/ALSA-2024:0001.json", data: json({ ...a9, related: ["CVE-2024-0002"] }) },
    ]);
    await build([file("alma.zip", zip)]);
    // Another feed holding the same id for a third release.
    const a10 = osvRecord("ALSA-2024:0001", { ecosystem: "AlmaLinux:10", name: "openssl" });
    (a10.affected as { ranges: unknown[] }[])[0]!.ranges = [
      { type: "ECOSYSTEM", events: [{ introduced: "0" }] },
    ];
    await build([file("alma10/ALSA-2024:0001.json", json(a10))]);

    const db = VulnDb.open(target);
    const all = db.advisory("osv", "ALSA-2024:0001")!;
    expect(all.affected.map((e) => e.ecosystem)).toEqual(["almalinux:10", "almalinux:8", "almalinux:9"]);
    expect(all.related).toEqual(["CVE-2024-0001", "CVE-2024-0002"]);
    expect(db.advisoriesFor("almalinux:9", "openssl")[0]!.affected).toEqual([
      {
        ecosystem: "almalinux:9",
        package: "openssl",
        ranges: [{ type: "ECOSYSTEM", events: [{ introduced: "0" }, { fixed: "1:3.0.7-1.el9" }] }],
      },
    ]);
    expect(db.status()).toMatchObject({ advisories: 1, records: 2 });
    db.close();
  });
});

describe("broken documents", () => {
  it("are reported per document with the feed, counted, and the rest is imported", async () => {
    const good = osvRecord("GO-2024-0001");
    const badRange = osvRecord("GO-2024-0002");
    (badRange.affected as { ranges: unknown[] }[])[0]!.ranges = [
      { type: "SEMVER", events: [{ introduced: "2.0.0" }, { fixed: "1.0.0" }] },
    ];
    const zip = goZip(good, badRange, osvRecord("GO-2024-0003"));
    const truncated = zip.subarray(0, zip.length - 40);
    const tgz = makeTarGz([
      {
        name: "vulns/a/PYSEC-2024-1.yaml",
        data: "id: PYSEC-2024-1\naffected:\n- package: {ecosystem: PyPI, name: A_b}\n",
      },
      { name: "vulns/a/PYSEC-2024-2.yaml", data: "id: PYSEC-2024-2\naffected: [\n" },
    ]);
    file("feeds/go.zip", truncated);
    file("feeds/pypa.tar.gz", tgz);
    file("feeds/cut.tar.gz", tgz.subarray(0, tgz.length - 20));
    file("feeds/loose/GO-2024-0004.json", json(osvRecord("GO-2024-0004")));
    file("feeds/loose/GO-2024-0005.json", '{"id": "GO-2024-0005", "affected": [}');
    file("feeds/kev.json", json({ catalogVersion: "1", vulnerabilities: [{ cveID: "CVE-2024-0001" }] }));
    const problems: string[] = [];
    // A directory is walked in name order; loose documents form one feed per directory.
    const report = await build([join(dir, "in", "feeds")], {
      onProblem: (p) => problems.push(`${p.feed} | ${p.document.replace(dir, "")} | ${p.reason}`),
    });
    const jsonError = problems.find((p) => p.includes("invalid JSON"))!.split("invalid JSON: ")[1];
    expect(problems).toEqual([
      "osv:cut.tar.gz | /in/feeds/cut.tar.gz | cannot read: unexpected end of file",
      "osv:go.zip | /in/feeds/go.zip!GO-2024-0002.json (GO-2024-0002) | record refused: affected[0] (example.com/mod): SEMVER range: fixed 1.0.0 is below introduced 2.0.0",
      "osv:go.zip | /in/feeds/go.zip | no end of central directory record (truncated or not a zip); 3 members recovered from local headers",
      "kev:feeds | /in/feeds/kev.json [0] CVE-2024-0001 | bad KEV entry: dateAdded: Invalid input: expected string, received undefined",
      "osv:loose | /in/feeds/loose/GO-2024-0005.json | invalid JSON: " + jsonError,
      "osv:pypa.tar.gz | /in/feeds/pypa.tar.gz!vulns/a/PYSEC-2024-2.yaml | invalid YAML: unexpected end of the stream within a flow collection (3:1)",
    ]);
    expect(report.problems).toBe(6);
    expect(ids("golang", "example.com/mod")).toEqual(["GO-2024-0001", "GO-2024-0003", "GO-2024-0004"]);
    expect(ids("pypi", "a-b")).toEqual(["PYSEC-2024-1"]);
    const db = VulnDb.open(target);
    const s = db.status();
    expect(s.problems).toBe(6);
    expect(s.feeds.map((f) => [f.id, f.advisories + f.enrichments, f.problems])).toEqual([
      ["kev:feeds", 0, 1],
      ["osv:cut.tar.gz", 1, 1],
      ["osv:go.zip", 2, 2],
      ["osv:loose", 1, 1],
      ["osv:pypa.tar.gz", 1, 1],
    ]);
    expect(db.problems("osv:go.zip")).toHaveLength(2);
    db.close();
  });

  it("a file nothing can read is reported under an `unknown` feed, and replaced when it imports", async () => {
    const zip = goZip(osvRecord("GO-2024-0001"));
    await build([file("ok.json", json(osvRecord("GO-2024-0009"))), file("go.zip", zip.subarray(0, 20))]);
    let db = VulnDb.open(target);
    expect(db.status().feeds.map((f) => [f.id, f.problems])).toEqual([
      ["osv:ok.json", 0],
      ["unknown:go.zip", 1],
    ]);
    db.close();
    await build([file("go.zip", zip)]);
    db = VulnDb.open(target);
    expect(db.status().feeds.map((f) => f.id)).toEqual(["osv:go.zip", "osv:ok.json"]);
    db.close();
  });
});
