import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildDatabase } from "./build.js";
import { diffVulnDbs } from "./diff.js";
import { epssImporter } from "./importers/epss.js";
import { kevImporter } from "./importers/kev.js";
import { osvImporter } from "./importers/osv.js";
import { listSources } from "./sources.js";
import { makeZip, osvRecord } from "./testing.js";

/** `db diff` on two small databases built here. */

const importers = [kevImporter, epssImporter, osvImporter];
let dir: string;

async function db(name: string, files: Record<string, string | Buffer>): Promise<string> {
  const input = join(dir, name);
  for (const [f, content] of Object.entries(files)) {
    mkdirSync(join(input, f, ".."), { recursive: true });
    writeFileSync(join(input, f), content);
  }
  const target = join(dir, `${name}.sqlite`);
  await buildDatabase({ target, sources: await listSources([input], []), importers });
  return target;
}

const zip = (...records: Record<string, unknown>[]) =>
  makeZip(records.map((r) => ({ name: `${String(r.id)}.json`, data: JSON.stringify(r) })));
const kev = (...cves: string[]) =>
  JSON.stringify({
    catalogVersion: "1",
    vulnerabilities: cves.map((cveID) => ({ cveID, dateAdded: "2024-01-01" })),
  });

describe("diffVulnDbs", () => {
  let oldDb: string;
  let newDb: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "vulndb-diff-"));
    oldDb = await db("old", {
      "osv/go.zip": zip(
        osvRecord("GO-2024-0001", { name: "example.com/a", fixed: "1.0.0", aliases: ["CVE-2024-0001"] }),
        osvRecord("GO-2024-0002", { name: "example.com/b" }),
        osvRecord("GO-2024-0004", { name: "example.com/d" }),
      ),
      "kev/kev.json": kev("CVE-2024-0001", "CVE-2024-0002"),
      "epss/CVE_2024_EPSS.csv": "CVE-2024-0001;0.1;0.5\nCVE-2024-0003;0.2;0.6\n",
    });
    newDb = await db("new", {
      "osv/go.zip": zip(
        osvRecord("GO-2024-0001", { name: "example.com/a", fixed: "1.0.1", aliases: ["CVE-2024-0001"] }),
        osvRecord("GO-2024-0003", { name: "example.com/c" }),
        osvRecord("GO-2024-0004", { name: "example.com/d" }),
      ),
      "kev/kev.json": kev("CVE-2024-0001", "CVE-2024-0005"),
      "epss/CVE_2024_EPSS.csv": "CVE-2024-0001;0.3;0.7\nCVE-2024-0003;0.2;0.6\n",
    });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("lists advisories added, removed and changed and the package keys they touch", () => {
    const d = diffVulnDbs(oldDb, newDb);
    expect(d.advisories).toEqual({
      added: [{ source: "osv", id: "GO-2024-0003" }],
      removed: [{ source: "osv", id: "GO-2024-0002" }],
      changed: [{ source: "osv", id: "GO-2024-0001" }],
    });
    expect(d.keys).toEqual([
      { ecosystem: "golang", package: "example.com/a" },
      { ecosystem: "golang", package: "example.com/b" },
      { ecosystem: "golang", package: "example.com/c" },
    ]);
    expect(d.enrichment).toEqual({
      changed: 3,
      kevAdded: ["CVE-2024-0005"],
      kevRemoved: ["CVE-2024-0002"],
      cvssChanged: [],
      epssChanged: 1,
    });
    expect(d.old.path).toBe(oldDb);
    expect(d.new.builtAt).toMatch(/^\d{4}-/);
  });

  it("finds nothing between a database and itself, or a copy built from the same feeds", async () => {
    const again = await db("new", {});
    for (const d of [diffVulnDbs(newDb, newDb), diffVulnDbs(newDb, again)]) {
      expect(d.advisories).toEqual({ added: [], removed: [], changed: [] });
      expect(d.keys).toEqual([]);
      expect(d.enrichment.changed).toBe(0);
    }
  });

  it("compares only the feeds a build imported again: an update of one feed, the others kept as they were", async () => {
    // `old` again, then an update of its Go feed alone into a copy (as `db update` does).
    const base = await db("base", {
      "osv/go.zip": zip(osvRecord("GO-2024-0001", { name: "example.com/a", fixed: "1.0.0" })),
      "kev/kev.json": kev("CVE-2024-0001"),
    });
    const updated = join(dir, "updated.sqlite");
    copyFileSync(base, updated);
    const feed = join(dir, "update", "osv");
    mkdirSync(feed, { recursive: true });
    writeFileSync(
      join(feed, "go.zip"),
      zip(
        osvRecord("GO-2024-0001", { name: "example.com/a", fixed: "1.0.1" }),
        osvRecord("GO-2024-0009", { name: "example.com/z" }),
      ),
    );
    await buildDatabase({
      target: updated,
      sources: await listSources([join(dir, "update")], []),
      importers,
    });
    const d = diffVulnDbs(base, updated);
    expect(d.advisories).toEqual({
      added: [{ source: "osv", id: "GO-2024-0009" }],
      removed: [],
      changed: [{ source: "osv", id: "GO-2024-0001" }],
    });
    expect(d.keys).toEqual([
      { ecosystem: "golang", package: "example.com/a" },
      { ecosystem: "golang", package: "example.com/z" },
    ]);
    expect(d.enrichment.changed).toBe(0);
    // The same feed imported again from the same bytes (another import time): compared, unchanged.
    const again = join(dir, "again.sqlite");
    copyFileSync(updated, again);
    await buildDatabase({ target: again, sources: await listSources([join(dir, "update")], []), importers });
    const same = diffVulnDbs(updated, again);
    expect(same.advisories).toEqual({ added: [], removed: [], changed: [] });
    expect(same.keys).toEqual([]);
  });
});
