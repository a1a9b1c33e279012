import { createHash } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { VulnDb } from "./db.js";
import { kevImporter } from "./importers/kev.js";
import { osvImporter } from "./importers/osv.js";
import type { FeedImporter } from "./importers/types.js";
import { makeZip, osvRecord } from "./testing.js";
import { updateDatabase } from "./update.js";

/** `db update` from a mirror directory (offline) and from an HTTP mirror with conditional requests. */

// The real importers with their upstream lists cut to the two files the mirror holds.
const importers: FeedImporter[] = [
  { ...kevImporter, upstream: kevImporter.upstream },
  {
    ...osvImporter,
    upstream: [
      { url: "https://osv-vulnerabilities.storage.googleapis.com/Go/all.zip", mirrorPath: "osv/Go/all.zip" },
      {
        url: "https://osv-vulnerabilities.storage.googleapis.com/npm/all.zip",
        mirrorPath: "osv/npm/all.zip",
      },
    ],
  },
];

let dir: string;
let mirror: string;
let target: string;

const kev = (...cves: string[]) =>
  JSON.stringify({
    catalogVersion: "1",
    vulnerabilities: cves.map((cveID) => ({ cveID, dateAdded: "2024-01-01" })),
  });

function put(rel: string, content: string | Buffer): void {
  mkdirSync(join(mirror, rel, ".."), { recursive: true });
  writeFileSync(join(mirror, rel), content);
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "vulndb-update-"));
  mirror = join(dir, "mirror");
  target = join(dir, "db", "vulndb.sqlite");
  put(
    "osv/Go/all.zip",
    makeZip([{ name: "GO-2024-0001.json", data: JSON.stringify(osvRecord("GO-2024-0001")) }]),
  );
  put("enrichment/kev/known_exploited_vulnerabilities.json", kev("CVE-2024-0001"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const statuses = (r: Awaited<ReturnType<typeof updateDatabase>>) => r.feeds.map((f) => `${f.id} ${f.status}`);

describe("db update from a mirror directory", () => {
  it("imports what is there, then only what changed; reports what is missing", async () => {
    const first = await updateDatabase({ target, importers, mirror });
    expect(statuses(first)).toEqual([
      "kev:enrichment/kev/known_exploited_vulnerabilities.json updated",
      "osv:osv/Go/all.zip updated",
      "osv:osv/npm/all.zip missing",
    ]);
    expect(first.build!.feeds.map((f) => [f.id, f.records])).toEqual([
      ["kev:enrichment/kev/known_exploited_vulnerabilities.json", 1],
      ["osv:osv/Go/all.zip", 1],
    ]);

    const checked = new Date("2030-01-02T00:00:00Z");
    const second = await updateDatabase({ target, importers, mirror, now: checked });
    expect(second.build).toBeUndefined();
    // Nothing new upstream: the database is as current as a new build, and says so.
    const s = VulnDb.open(target);
    expect(s.status()).toMatchObject({ checkedAt: checked.toISOString() });
    expect(s.status().builtAt < checked.toISOString()).toBe(true);
    s.close();
    expect(statuses(second).slice(0, 2)).toEqual([
      "kev:enrichment/kev/known_exploited_vulnerabilities.json unchanged",
      "osv:osv/Go/all.zip unchanged",
    ]);

    put("enrichment/kev/known_exploited_vulnerabilities.json", kev("CVE-2024-0001", "CVE-2024-0002"));
    const third = await updateDatabase({ target, importers, mirror });
    expect(third.build!.feeds.map((f) => f.id)).toEqual([
      "kev:enrichment/kev/known_exploited_vulnerabilities.json",
    ]);
    const db = VulnDb.open(target);
    expect([...db.enrichment(["CVE-2024-0001", "CVE-2024-0002"]).keys()]).toHaveLength(2);
    expect(db.advisoriesFor("golang", "example.com/mod").map((a) => a.id)).toEqual(["GO-2024-0001"]);
    const sha = createHash("sha256")
      .update(readFileSync(join(mirror, "osv/Go/all.zip")))
      .digest("hex");
    expect(db.status().feeds.find((f) => f.id === "osv:osv/Go/all.zip")!.fingerprint).toBe(sha);
    db.close();
  });

  it("keeps the previous data of a feed whose new file is broken beyond reading", async () => {
    await updateDatabase({ target, importers, mirror });
    put("osv/Go/all.zip", "this is not a zip");
    put("enrichment/kev/known_exploited_vulnerabilities.json", kev("CVE-2024-0003"));
    const r = await updateDatabase({ target, importers, mirror });
    expect(statuses(r).slice(0, 2)).toEqual([
      "kev:enrichment/kev/known_exploited_vulnerabilities.json updated",
      "osv:osv/Go/all.zip failed",
    ]);
    const db = VulnDb.open(target);
    expect(db.advisoriesFor("golang", "example.com/mod").map((a) => a.id)).toEqual(["GO-2024-0001"]);
    db.close();
  });
});

describe("db update from an HTTP mirror", () => {
  let server: Server;
  let base: string;
  const log: string[] = [];

  beforeEach(async () => {
    log.length = 0;
    // A static server with ETags, answering If-None-Match with 304 as object stores do.
    server = createServer((req, res) => {
      const path = join(mirror, decodeURIComponent(new URL(req.url!, "http://x").pathname));
      if (!existsSync(path)) {
        log.push(`404 ${req.url}`);
        res.writeHead(404).end();
        return;
      }
      const body = readFileSync(path);
      const etag = `"${createHash("sha1").update(body).digest("hex")}"`;
      if (req.headers["if-none-match"] === etag) {
        log.push(`304 ${req.url}`);
        res.writeHead(304, { etag }).end();
        return;
      }
      log.push(`200 ${req.url}`);
      res.writeHead(200, { etag, "last-modified": "Mon, 01 Jan 2024 00:00:00 GMT" }).end(body);
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}/`;
  });
  afterEach(async () => {
    await new Promise((r) => server.close(r));
  });

  it("downloads, then asks conditionally and gets 304 for unchanged feeds", async () => {
    const first = await updateDatabase({ target, importers, mirror: base });
    expect(statuses(first)).toEqual([
      "kev:enrichment/kev/known_exploited_vulnerabilities.json updated",
      "osv:osv/Go/all.zip updated",
      "osv:osv/npm/all.zip failed",
    ]);
    expect(first.feeds[2]!.reason).toBe("HTTP 404 Not Found");
    const db = VulnDb.open(target);
    expect(db.status().feeds.find((f) => f.id === "osv:osv/Go/all.zip")).toMatchObject({
      url: `${base}osv/Go/all.zip`,
      etag: expect.stringMatching(/^"[0-9a-f]{40}"$/),
      lastModified: "Mon, 01 Jan 2024 00:00:00 GMT",
    });
    db.close();

    log.length = 0;
    const second = await updateDatabase({ target, importers, mirror: base });
    expect(second.build).toBeUndefined();
    expect(log).toEqual([
      "304 /enrichment/kev/known_exploited_vulnerabilities.json",
      "304 /osv/Go/all.zip",
      "404 /osv/npm/all.zip",
    ]);
    // Downloads went to a scratch directory next to the database, removed afterwards.
    expect(readdirSync(join(dir, "db"))).toEqual(["vulndb.sqlite"]);
  });

  it("reports a server that cannot be reached and changes nothing", async () => {
    await updateDatabase({ target, importers, mirror });
    const before = readFileSync(target);
    const r = await updateDatabase({ target, importers, mirror: "http://127.0.0.1:9/" });
    expect(r.feeds.every((f) => f.status === "failed")).toBe(true);
    expect(r.build).toBeUndefined();
    expect(readFileSync(target).equals(before)).toBe(true);
  });
});
