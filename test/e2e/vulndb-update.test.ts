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

async function until<T>(what: string, f: () => T | undefined, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}:\n${dd?.logs()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function sql<T>(query: string, ...args: unknown[]): T[] {
  const db = new Database(join(dd!.dataDir, "meta.db"));
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
    sql(
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
      `docker://${dd!.addr}/team/java-app:v1`,
    ]);
    expect(push.code, push.stderr).toBe(0);
    const digest = manifestDigestOfLayout(ociLayout("java-app"));
    const scan = await until("the scan", () => {
      const s = sql<{ status: string }>(
        "SELECT s.status FROM image_scans s JOIN repositories r ON r.id = s.repository_id WHERE r.name = ? AND s.digest = ?",
        "team/java-app",
        digest,
      )[0];
      return s && !["IN_PROGRESS", "PENDING"].includes(s.status) ? s : undefined;
    });
    expect(scan.status).toBe("COMPLETE");
    const findings = sql<{ json: string }>(
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
