import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeZip } from "../../src/vulndb/testing.js";
import { repoRoot, run, sharedDir } from "./harness.js";

/**
 * `drydock db` end to end, as a user runs it: import the whole vulnerability pack of
 * ../shared/vulndata, read its status, update a copy from a small mirror directory made here,
 * and diff the two databases.
 */

const vulndata = join(sharedDir, "vulndata");
const cli = join(repoRoot, "dist/cli/main.js");
const missing = !existsSync(join(vulndata, "PROVENANCE.md"))
  ? `../shared/vulndata not found at ${vulndata}: skipped`
  : !existsSync(cli)
    ? "dist/cli/main.js missing (npm run build): skipped"
    : null;

interface Status {
  advisories: number;
  problems: number;
  stale: boolean;
  feeds: { id: string; advisories: number; enrichments: number; problems: number; fingerprint: string }[];
}

describe.skipIf(missing !== null)("drydock db (whole pack)", () => {
  let dir: string;
  let a: string;
  let b: string;
  const drydock = (...args: string[]) => run(process.execPath, [cli, ...args], { cwd: dir });

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "drydock-db-e2e-"));
    a = join(dir, "a", "vulndb.sqlite");
    b = join(dir, "b", "vulndb.sqlite");
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("imports the whole pack", async () => {
    const r = await drydock("db", "import", "--db", a, vulndata);
    expect(r.stderr).not.toMatch(/Error|at .*\.js:\d+/);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^osv:osv\/Go\/all\.zip\s+4,291\s+4,291\s+0\s+0$/m);
    expect(r.stdout).toMatch(
      /^kev:enrichment\/kev\/known_exploited_vulnerabilities\.json\s+1\s+1,404\s+0\s+0$/m,
    );
    expect(r.stdout).toMatch(/feeds imported in [\d.]+ s/);
  });

  it("reports status as a table and as JSON", async () => {
    const t = await drydock("db", "status", "--db", a);
    expect(t.code).toBe(0);
    expect(t.stdout).toMatch(/^feed\s+advisories\s+enrichments\s+problems\s+imported\s+age\s+fingerprint$/m);
    expect(t.stdout).toMatch(/^database: .*vulndb\.sqlite \([\d.]+ MB, schema 1\)$/m);

    const j = await drydock("db", "status", "--db", a, "--json");
    expect(j.code).toBe(0);
    const s = JSON.parse(j.stdout) as Status;
    expect(s.stale).toBe(false);
    const feed = (id: string) => s.feeds.find((f) => f.id === id)!;
    expect(feed("osv:osv/Go/all.zip")).toMatchObject({ advisories: 4291, problems: 0 });
    expect(feed("osv:osv/crates.io/all.zip")).toMatchObject({ advisories: 1206, problems: 0 });
    expect(feed("epss:enrichment/epss/emba-epss-by-year.tar.gz")).toMatchObject({ enrichments: 360_142 });
    expect(feed("nvd:enrichment/nvd/nvdcve-1.1-referenced.jsonl.gz").enrichments).toBe(15_138);
    expect(feed("osv:osv/Go/all.zip").fingerprint).toMatch(/^[0-9a-f]{64}$/);
    expect(s.problems).toBe(s.feeds.reduce((n, f) => n + f.problems, 0));

    const p = await drydock("db", "status", "--db", a, "--problems", "--json");
    expect((JSON.parse(p.stdout) as unknown[]).length).toBe(s.problems);
  });

  it("updates a copy from a mirror directory: unchanged feeds stay, changed ones are replaced", async () => {
    mkdirSync(join(dir, "b"));
    copyFileSync(a, b);
    const mirror = join(dir, "mirror");
    const put = (rel: string, content: string | Buffer) => {
      mkdirSync(join(mirror, rel, ".."), { recursive: true });
      writeFileSync(join(mirror, rel), content);
    };
    // Go: the very same bytes. KEV: Log4Shell dropped. crates.io: two records only, one changed, one new.
    put("osv/Go/all.zip", readFileSync(join(vulndata, "osv/Go/all.zip")));
    const kev = JSON.parse(
      readFileSync(join(vulndata, "enrichment/kev/known_exploited_vulnerabilities.json"), "utf8"),
    ) as {
      vulnerabilities: { cveID: string }[];
    };
    kev.vulnerabilities = kev.vulnerabilities.filter((v) => v.cveID !== "CVE-2021-44228");
    put("enrichment/kev/known_exploited_vulnerabilities.json", JSON.stringify(kev));
    const rec = (id: string, summary: string) => ({
      id,
      modified: "2026-08-21T00:00:00Z",
      summary,
      aliases: [],
      affected: [
        {
          package: { ecosystem: "crates.io", name: "dirs" },
          ranges: [{ type: "SEMVER", events: [{ introduced: "0.0.0-0" }] }],
        },
      ],
    });
    put(
      "osv/crates.io/all.zip",
      makeZip([
        {
          name: "RUSTSEC-2020-0053.json",
          data: JSON.stringify(rec("RUSTSEC-2020-0053", "dirs is unmaintained")),
        },
        { name: "RUSTSEC-2099-0001.json", data: JSON.stringify(rec("RUSTSEC-2099-0001", "a new one")) },
      ]),
    );

    const r = await drydock("db", "update", "--db", b, "--mirror", mirror);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^osv:osv\/Go\/all\.zip\s+unchanged\s/m);
    expect(r.stdout).toMatch(/^kev:enrichment\/kev\/known_exploited_vulnerabilities\.json\s+updated\s/m);
    expect(r.stdout).toMatch(/^osv:osv\/crates\.io\/all\.zip\s+updated\s/m);
    expect(r.stderr).toMatch(
      /^drydock: warning: osv:osv\/npm\/all\.zip: missing: not in the mirror directory/m,
    );

    const again = await drydock("db", "update", "--db", b, "--mirror", mirror);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/up to date, nothing imported/);
  });

  it("diffs the two databases: advisories, package keys, enrichment", async () => {
    const r = await drydock("db", "diff", a, b);
    expect(r.code).toBe(0);
    const d = JSON.parse(r.stdout) as {
      advisories: Record<"added" | "removed" | "changed", { source: string; id: string }[]>;
      keys: { ecosystem: string; package: string }[];
      enrichment: { kevAdded: string[]; kevRemoved: string[]; epssChanged: number };
    };
    expect(d.advisories.added).toEqual([{ source: "osv", id: "RUSTSEC-2099-0001" }]);
    expect(d.advisories.changed).toEqual([{ source: "osv", id: "RUSTSEC-2020-0053" }]);
    expect(d.advisories.removed).toHaveLength(1205);
    expect(d.advisories.removed.every((x) => x.id.startsWith("RUSTSEC-"))).toBe(true);
    expect(d.keys).toContainEqual({ ecosystem: "cargo", package: "dirs" });
    expect(d.keys.every((k) => k.ecosystem === "cargo")).toBe(true);
    expect(d.enrichment).toMatchObject({ kevAdded: [], kevRemoved: ["CVE-2021-44228"], epssChanged: 0 });
  });

  it("fails cleanly without a database, keeping the exit code for scripts", async () => {
    const r = await drydock("db", "status", "--db", join(dir, "none.sqlite"));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^drydock: no vulnerability database at .*none\.sqlite/);
    const bad = await drydock("db", "import", "--db", join(dir, "c.sqlite"), join(vulndata, "PROVENANCE.md"));
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/no feed documents recognized/);
    expect(existsSync(join(dir, "c.sqlite"))).toBe(false);
  });
});

describe.skipIf(!existsSync(cli))("drydock db usage errors", () => {
  const drydock = (...args: string[]) => run(process.execPath, [cli, ...args]);

  // Exit 1 is "the database could not be built or read": a usage error must not look like one.
  it.each([
    [["db", "nosuch"], /^error: unknown command 'nosuch'/],
    [["db", "import"], /^error: missing required argument 'path'/],
    [["db", "diff", "old.sqlite"], /^error: missing required argument 'new'/],
    [["db", "status", "--bogus"], /^error: unknown option '--bogus'/],
    [["db", "update", "--mirror"], /^error: option '--mirror <url\|dir>' argument missing/],
  ])("drydock %j exits 2 with commander's message and the usage", async (args, message) => {
    const r = await drydock(...args);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toMatch(/^Usage: drydock db/m);
  });

  it("exits 2 without a subcommand, the help on stderr", async () => {
    const r = await drydock("db");
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^Usage: drydock db \[options\] \[command\]/);
  });

  it("exits 0 for --help", async () => {
    const r = await drydock("db", "import", "--help");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: drydock db import \[options\] <path\.\.\.>/);
  });
});
