import { existsSync, mkdirSync, symlinkSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  manifestDigestOfLayout,
  missingShared,
  ociLayout,
  repoRoot,
  run,
  serverProblems,
  sharedDir,
  skopeo,
  startDrydock,
  type Drydock,
} from "./harness.js";

/**
 * Scheduled vulnerability-database updates in `drydock serve`: a server started with no
 * database, `vulndb.updateIntervalHours` tiny (about 2 s) and a mirror directory holding the
 * real Go OSV archive of ../shared/vulndata (linked at its mirror path, not copied) builds its
 * database by itself, scans pushed images with it, and at the next runs finds the feeds
 * unchanged.
 */

const GO = "osv/Go/all.zip";
const skip =
  missingShared() ??
  (existsSync(join(sharedDir, "vulndata", GO)) ? null : `../shared/vulndata/${GO} missing`);

let dir: string;
let dd: Drydock | undefined;

const logLines = () =>
  dd!
    .logs()
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as { msg: string; level: number; feeds?: Record<string, number> });

async function until<T>(
  what: string,
  f: () => T | undefined,
  server: Drydock | undefined = dd,
  ms = 20_000,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}:\n${server?.logs()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A statement on the server's SQLite metadata database (read rows, or run a write). */
function sql<T>(server: Drydock, query: string, ...args: unknown[]): T[] {
  const db = new Database(join(server.dataDir, "meta.db"));
  try {
    db.pragma("busy_timeout = 5000");
    const st = db.prepare(query);
    if (!st.reader) {
      st.run(...args);
      return [];
    }
    return st.all(...args) as T[];
  } finally {
    db.close();
  }
}

/** Scanning configured as ENHANCED with scan on push for every repository, then java-app (Go modules) pushed with skopeo; its digest. */
async function pushScannedJavaApp(server: Drydock): Promise<string> {
  sql(
    server,
    "INSERT INTO scan_settings (key, value, updated_at) VALUES ('registry', ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    JSON.stringify({
      scanType: "ENHANCED",
      rules: [
        { scanFrequency: "SCAN_ON_PUSH", repositoryFilters: [{ filter: "*", filterType: "WILDCARD" }] },
      ],
    }),
    Date.now(),
  );
  const push = await skopeo([
    "copy",
    "--dest-tls-verify=false",
    `oci:${ociLayout("java-app")}`,
    `docker://${server.addr}/team/java-app:v1`,
  ]);
  expect(push.code, push.stderr).toBe(0);
  return manifestDigestOfLayout(ociLayout("java-app"));
}

/** The scan status of team/java-app@digest, or undefined before it has one. */
const scanStatus = (server: Drydock, digest: string): string | undefined =>
  sql<{ status: string }>(
    server,
    "SELECT s.status FROM image_scans s JOIN repositories r ON r.id = s.repository_id WHERE r.name = ? AND s.digest = ?",
    "team/java-app",
    digest,
  )[0]?.status;

const scanDone = (status: string | undefined) =>
  status !== undefined && !["IN_PROGRESS", "PENDING"].includes(status) ? status : undefined;

describe.skipIf(skip)("scheduled vulnerability database updates (drydock serve)", () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "drydock-vulndb-update-e2e-"));
    mkdirSync(join(dir, "mirror", "osv", "Go"), { recursive: true });
    symlinkSync(join(sharedDir, "vulndata", GO), join(dir, "mirror", GO));
    mkdirSync(join(dir, "data"));
    dd = await startDrydock({
      dataDir: join(dir, "data"),
      config: { vulndb: { mirror: join(dir, "mirror"), updateIntervalHours: 0.0005 } },
    });
  }, 60_000);
  afterAll(async () => {
    await dd?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("builds the database by itself, scans with it, then finds the feeds unchanged", async () => {
    const path = join(dd!.dataDir, "vulndb", "vulndb.sqlite");
    expect(existsSync(path)).toBe(false);
    const built = await until("the first scheduled update", () =>
      logLines().find((l) => l.msg.includes("new build in service")),
    );
    expect(built.feeds).toMatchObject({ updated: 1, failed: 0 });
    expect(existsSync(path)).toBe(true);

    // Scan on push of an image with Go modules: COMPLETE, with Go findings from the new database.
    const digest = await pushScannedJavaApp(dd!);
    expect(await until("the scan", () => scanDone(scanStatus(dd!, digest)))).toBe("COMPLETE");
    const findings = sql<{ json: string }>(
      dd!,
      "SELECT f.json FROM findings f JOIN repositories r ON r.id = f.repository_id WHERE r.name = ? AND f.digest = ? AND f.status = 'ACTIVE'",
      "team/java-app",
      digest,
    ).map((x) => JSON.parse(x.json) as { package: { ecosystem: string }; id?: string });
    expect(findings.some((f) => ["go", "golang"].includes(f.package.ecosystem))).toBe(true);

    // The next runs (one per interval) find nothing new and rebuild nothing.
    await until("a run with the feeds unchanged", () =>
      logLines().find((l) => l.msg.includes("feeds unchanged")),
    );
    expect(logLines().filter((l) => l.msg.includes("new build in service"))).toHaveLength(1);
    expect(serverProblems(dd!)).toEqual([]);
  }, 60_000);
});

/**
 * A new server on a machine that cannot reach the feeds: the first build fails, the log and
 * /healthz say how to import a database, pushed images wait for one (not FAILED), and a
 * `drydock db import` into the data directory while the server runs lets them be scanned.
 */
describe.skipIf(skip)("a new server offline (drydock serve)", () => {
  let offline: Drydock | undefined;
  let work: string;
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "drydock-vulndb-offline-e2e-"));
    mkdirSync(join(work, "data"));
    offline = await startDrydock({
      dataDir: join(work, "data"),
      // Port 9 on loopback: nothing listens, every download fails at once, as offline.
      config: { vulndb: { mirror: "http://127.0.0.1:9", updateIntervalHours: 1 } },
    });
  }, 60_000);
  afterAll(async () => {
    await offline?.stop();
    await rm(work, { recursive: true, force: true });
  });

  it("says how to import a database, lets scans wait for it, and scans once it is imported", async () => {
    const d = offline!;
    const health = async () =>
      (await (await fetch(`${d.url}/healthz`)).json()) as {
        status: string;
        vulndb: { status: string; message?: string };
      };
    const end = Date.now() + 30_000;
    let h = await health();
    while (h.vulndb.status !== "missing" && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 200));
      h = await health();
    }
    expect(h.status).toBe("ok");
    expect(h.vulndb.status).toBe("missing");
    expect(h.vulndb.message).toMatch(/building one from the feeds failed.*drydock db import PATH --data /);
    expect(d.logs()).toMatch(/"level":50.*drydock db import PATH/);
    const st = await run(process.execPath, [
      join(repoRoot, "dist/cli/main.js"),
      "db",
      "status",
      "--data",
      d.dataDir,
    ]);
    expect(st.code).not.toBe(0);
    expect(st.stderr).toMatch(
      /the server's last scheduled update failed at .*; import one with `drydock db import PATH`/,
    );

    const digest = await pushScannedJavaApp(d);
    // Waits rather than fails while there is no database.
    await new Promise((r) => setTimeout(r, 2000));
    expect(scanStatus(d, digest)).toBe("IN_PROGRESS");

    const imp = await run(process.execPath, [
      join(repoRoot, "dist/cli/main.js"),
      "db",
      "import",
      "--data",
      d.dataDir,
      join(sharedDir, "vulndata", "osv", "Go"),
    ]);
    expect(imp.code, imp.stderr).toBe(0);
    expect((await health()).vulndb.status).toBe("ready");
    expect(await until("the scan", () => scanDone(scanStatus(d, digest)), d, 40_000)).toBe("COMPLETE");
  }, 120_000);
});
