import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { pino } from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FsBlobStore } from "../storage/blob/fs.js";
import type { BlobStore } from "../storage/blob/types.js";
import { openSqliteMetaStore } from "../storage/meta/sqlite.js";
import type { MetaStore } from "../storage/meta/store.js";
import { VulnDb } from "../vulndb/db.js";
import { pack, packMissing } from "../vulndb/testing.js";
import { publishedVulnDb, VulnDbSync } from "./vulndb-distribution.js";
import { runVulnDbUpdate, withoutSecrets } from "./vulndb-update.js";
import { lastUpdateOf } from "../vulndb/last-update.js";

/**
 * The server's scheduled database update on a mirror directory of real feeds from
 * ../shared/vulndata (linked at their mirror paths, never copied into the repository), with the
 * full importer list, as `drydock serve` runs it.
 */

const GO = "osv/Go/all.zip";
const KEV = "enrichment/kev/known_exploited_vulnerabilities.json";
const skip = packMissing(GO, KEV);

let dir: string;
let mirror: string;
let target: string;
let lines: { level: number; msg: string; [k: string]: unknown }[];
let logText: string;

/** A pino logger whose lines the test reads. */
function testLogger() {
  lines = [];
  logText = "";
  return pino(
    { level: "debug" },
    new Writable({
      write(chunk: Buffer, _enc, cb) {
        logText += chunk.toString();
        for (const l of chunk.toString().split("\n").filter(Boolean))
          lines.push(JSON.parse(l) as (typeof lines)[number]);
        cb();
      },
    }),
  );
}

function link(root: string, rel: string): void {
  mkdirSync(join(root, rel, ".."), { recursive: true });
  symlinkSync(pack(rel), join(root, rel));
}

const opts = () => ({ target, mirror, timeoutMs: 60_000, log: testLogger() });
const identity = (f: string) => {
  const st = statSync(f);
  return `${st.ino}/${st.mtimeMs}`;
};
function status(f = target) {
  const db = VulnDb.open(f);
  try {
    return db.status();
  } finally {
    db.close();
  }
}

describe.skipIf(skip)("scheduled vulnerability database update (real feeds)", () => {
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "drydock-vulndb-sched-"));
    mirror = join(dir, "mirror");
    target = join(dir, "data", "vulndb", "vulndb.sqlite");
    link(mirror, GO);
    link(mirror, KEV);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("builds the database from the mirror, then finds it current and changes nothing", async () => {
    const first = await runVulnDbUpdate(opts());
    expect(first.outcome).toBe("built");
    expect(first.feeds.updated).toBe(2);
    expect(first.feeds.failed).toBe(0);
    // Every other importer's upstream file is absent from this mirror: missing, not failed.
    expect(first.feeds.missing).toBeGreaterThan(10);
    const s1 = status();
    expect(s1.feeds.map((f) => f.id).sort()).toEqual([`kev:${KEV}`, `osv:${GO}`]);
    expect(s1.feeds.find((f) => f.id === `osv:${GO}`)!.advisories).toBe(4291);
    expect(s1.enrichedCves).toBeGreaterThan(1000);
    expect(lines.some((l) => l.msg.includes("new build in service"))).toBe(true);
    expect(lastUpdateOf(target)).toMatchObject({ outcome: "built", feeds: first.feeds });

    const before = identity(target);
    const second = await runVulnDbUpdate(opts());
    expect(second).toEqual({
      outcome: "unchanged",
      feeds: { updated: 0, unchanged: 2, missing: first.feeds.missing, failed: 0 },
    });
    // Not rebuilt (no new file renamed in), same build, same feeds; only "checked at" moved.
    expect(statSync(target).ino).toBe(Number(before.split("/")[0]));
    const s2 = status();
    expect(s2.builtAt).toBe(s1.builtAt);
    expect(s2.feeds).toEqual(s1.feeds);
    expect(s2.checkedAt >= s1.checkedAt).toBe(true);
    expect(lines.some((l) => l.msg.includes("feeds unchanged"))).toBe(true);
  });

  it("a mirror that does not exist or a broken document leaves the database as it was, without throwing", async () => {
    expect((await runVulnDbUpdate(opts())).outcome).toBe("built");
    const bytes = readFileSync(target);

    const gone = await runVulnDbUpdate({ ...opts(), mirror: join(dir, "no-such-mirror") });
    expect(gone).toMatchObject({ outcome: "failed", error: "no feed found in the mirror" });
    expect(lines.some((l) => l.level === 50 && l.msg.includes("update failed"))).toBe(true);
    expect(readFileSync(target).equals(bytes)).toBe(true);
    // Recorded beside the database for `drydock db status` (the database cannot say it).
    expect(lastUpdateOf(target)).toMatchObject({ outcome: "failed", error: "no feed found in the mirror" });

    // A mirror whose Go archive is damaged beyond reading (KEV unchanged): the build fails.
    const broken = join(dir, "broken");
    link(broken, KEV);
    mkdirSync(join(broken, "osv/Go"), { recursive: true });
    writeFileSync(join(broken, GO), "this is not a zip");
    const bad = await runVulnDbUpdate({ ...opts(), mirror: broken });
    expect(bad.outcome).toBe("failed");
    expect(bad.error).toMatch(/no feed documents recognized/);
    expect(readFileSync(target).equals(bytes)).toBe(true);
    expect(status().feeds.find((f) => f.id === `osv:${GO}`)!.advisories).toBe(4291);

    // A file at the database's path that is not a database: reported, left alone.
    writeFileSync(target, "not sqlite");
    const notDb = await runVulnDbUpdate(opts());
    expect(notDb.outcome).toBe("failed");
    expect(readFileSync(target, "utf8")).toBe("not sqlite");
  });

  it("over HTTP: the feeds the mirror has are imported, each one it fails is a warning with its reason", async () => {
    const server = createServer((req, res) => {
      const rel = decodeURIComponent(new URL(req.url!, "http://x").pathname).slice(1);
      if (rel !== GO) res.writeHead(404).end();
      else res.writeHead(200).end(readFileSync(pack(GO)));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    try {
      const base = `http://127.0.0.1:${(server.address() as { port: number }).port}/`;
      const r = await runVulnDbUpdate({ ...opts(), mirror: base });
      expect(r.outcome).toBe("built");
      expect(r.feeds.updated).toBe(1);
      const warnings = lines.filter((l) => l.level === 40);
      expect(warnings).toHaveLength(r.feeds.failed);
      expect(warnings.length).toBeGreaterThan(10);
      expect(warnings[0]).toMatchObject({
        reason: "HTTP 404 Not Found",
        location: expect.stringContaining(base),
      });
      expect(status().feeds.map((f) => f.id)).toEqual([`osv:${GO}`]);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it("stops when the server stops, leaving the database as it was", async () => {
    const stop = new AbortController();
    stop.abort();
    const r = await runVulnDbUpdate({ ...opts(), signal: stop.signal });
    expect(r.outcome).toBe("stopped");
    expect(() => statSync(target)).toThrow();

    // Stopped in the middle of the build (4,291 Go records take about a second): no database,
    // no temporary file or download directory left beside it.
    const mid = new AbortController();
    setTimeout(() => mid.abort(), 150);
    expect((await runVulnDbUpdate({ ...opts(), signal: mid.signal })).outcome).toBe("stopped");
    expect(readdirSync(join(target, ".."))).toEqual([]);
  });
});

describe.skipIf(skip)("scheduled update in a cluster: publication to the workers", () => {
  let meta: MetaStore;
  let blobs: FsBlobStore;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "drydock-vulndb-sched-"));
    mirror = join(dir, "mirror");
    target = join(dir, "updater", "vulndb.sqlite");
    link(mirror, GO);
    link(mirror, KEV);
    blobs = await FsBlobStore.open(join(dir, "store"));
    meta = await openSqliteMetaStore(join(dir, "meta.db"));
  });
  afterEach(async () => {
    await meta.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("publishes a new build once; workers fetch it; the updater does not fetch its own build back", async () => {
    const own = new VulnDbSync(meta, blobs, target);
    const r = await runVulnDbUpdate({ ...opts(), cluster: { meta, blobs, sync: own } });
    expect(r.outcome).toBe("built");
    const pub = await publishedVulnDb(meta, blobs);
    expect(pub?.manifest).toBe(r.published);
    expect(pub?.builtAt).toBe(status().builtAt);
    expect(await own.sync()).toBe(false);

    const worker = new VulnDbSync(meta, blobs, join(dir, "worker", "vulndb.sqlite"));
    expect(await worker.sync()).toBe(true);
    expect(status(join(dir, "worker", "vulndb.sqlite")).feeds).toEqual(status().feeds);

    const again = await runVulnDbUpdate({ ...opts(), cluster: { meta, blobs, sync: own } });
    expect(again).toMatchObject({ outcome: "unchanged" });
    expect(again.published).toBeUndefined();
    expect((await publishedVulnDb(meta, blobs))?.manifest).toBe(pub?.manifest);
  });

  it("a publication that failed is made at the next run, even with nothing new upstream", async () => {
    const failing = new Proxy(blobs, {
      get(t, p, recv) {
        if (p === "upload") return () => Promise.reject(new Error("object store unreachable"));
        return Reflect.get(t, p, recv) as unknown;
      },
    }) as BlobStore;
    const r = await runVulnDbUpdate({ ...opts(), cluster: { meta, blobs: failing } });
    expect(r).toMatchObject({ outcome: "built", error: expect.stringMatching(/unreachable/) });
    expect(await publishedVulnDb(meta, blobs)).toBeNull();
    expect(lines.some((l) => l.level === 50 && l.msg.includes("could not be published"))).toBe(true);

    const next = await runVulnDbUpdate({ ...opts(), cluster: { meta, blobs } });
    expect(next.outcome).toBe("unchanged");
    expect(next.published).toMatch(/^sha256:/);
    expect((await publishedVulnDb(meta, blobs))?.builtAt).toBe(status().builtAt);
  });
});

describe("credentials never reach the log", () => {
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "drydock-vulndb-sched-"));
    target = join(dir, "vulndb.sqlite");
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("a mirror URL with a password: every feed fails, one error line, no secret in the log", async () => {
    const r = await runVulnDbUpdate({
      ...opts(),
      mirror: "http://mirror-user:s3cr3t-pw@127.0.0.1:9/feeds?token=tok3n",
      timeoutMs: 5_000,
    });
    expect(r.outcome).toBe("failed");
    expect(r.feeds.failed).toBeGreaterThan(10);
    expect(r.error).toMatch(/^no feed could be fetched/);
    expect(lines.filter((l) => l.level >= 40)).toEqual([
      expect.objectContaining({ level: 50, reasons: expect.any(Object) }),
    ]);
    expect(logText).toContain("http://***@127.0.0.1:9/feeds?***");
    expect(logText).not.toContain("s3cr3t");
    expect(logText).not.toContain("tok3n");
    expect(() => statSync(target)).toThrow();
  });

  it("withoutSecrets removes user info and query strings", () => {
    expect(withoutSecrets("fetch https://u:p@h.example/x?sig=abc failed")).toBe(
      "fetch https://***@h.example/x?*** failed",
    );
    expect(withoutSecrets("/var/lib/a@b/c and https://h/x")).toBe("/var/lib/a@b/c and https://h/x");
  });
});
