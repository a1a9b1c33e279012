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
  sharedDir,
  skopeo,
  startDrydock,
  type Drydock,
} from "./harness.js";

/**
 * Scan on push end to end: a real `drydock serve` with a vulnerability database built from the
 * shared feeds, real images pushed with skopeo, scans on the durable queue (surviving kill -9),
 * and the event log read with `drydock events tail`. Scanning is configured by writing the
 * registry scanning configuration row (the ECR API's tests drive it through the aws CLI).
 */

const skip = missingShared();
const cli = join(repoRoot, "dist/cli/main.js");
let data: string;
let dd: Drydock | undefined;

function configure(config: object): void {
  const db = new Database(join(data, "meta.db"));
  try {
    db.pragma("busy_timeout = 5000");
    db.prepare(
      "INSERT INTO scan_settings (key, value, updated_at) VALUES ('registry', ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    ).run(JSON.stringify(config), Date.now());
  } finally {
    db.close();
  }
}

function query<T>(sql: string, ...args: unknown[]): T[] {
  const db = new Database(join(data, "meta.db"), { readonly: true });
  try {
    return db.prepare(sql).all(...args) as T[];
  } finally {
    db.close();
  }
}

interface ScanRow {
  status: string;
  description: string | null;
  severity_counts: string | null;
}

function scanOf(repo: string, digest: string): ScanRow | undefined {
  return query<ScanRow>(
    `SELECT s.status, s.description, s.severity_counts FROM image_scans s JOIN repositories r ON r.id = s.repository_id
      WHERE r.name = ? AND s.digest = ?`,
    repo,
    digest,
  )[0];
}

async function waitScan(repo: string, digest: string, ms = 120_000): Promise<ScanRow> {
  const end = Date.now() + ms;
  for (;;) {
    const s = scanOf(repo, digest);
    if (s && !["IN_PROGRESS", "PENDING"].includes(s.status)) return s;
    if (Date.now() > end)
      throw new Error(`no finished scan of ${repo}@${digest}: ${JSON.stringify(s)}\n${dd?.logs()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const push = (layout: string, dest: string) =>
  skopeo(["copy", "--dest-tls-verify=false", `oci:${ociLayout(layout)}`, `docker://${dd!.addr}/${dest}`]);

describe.skipIf(skip)("scan on push (drydock serve)", () => {
  beforeAll(async () => {
    data = await mkdtemp(join(tmpdir(), "drydock-scan-e2e-"));
    const imp = await run(process.execPath, [
      cli,
      "db",
      "import",
      join(sharedDir, "vulndata/distro/debian"),
      join(sharedDir, "vulndata/osv/Go"),
      "--db",
      join(data, "vulndb", "vulndb.sqlite"),
    ]);
    expect(imp.code, imp.stderr).toBe(0);
    dd = await startDrydock({ dataDir: data });
  }, 120_000);
  afterAll(async () => {
    await dd?.stop();
    await rm(data, { recursive: true, force: true });
  });

  it("ENHANCED scan on push finds java-app's vulnerable Go modules", async () => {
    configure({
      scanType: "ENHANCED",
      rules: [
        { scanFrequency: "SCAN_ON_PUSH", repositoryFilters: [{ filter: "app", filterType: "WILDCARD" }] },
      ],
    });
    const r = await push("java-app", "team/java-app:v1");
    expect(r.code, r.stderr).toBe(0);
    const digest = manifestDigestOfLayout(ociLayout("java-app"));
    const s = await waitScan("team/java-app", digest);
    expect(s.status).toBe("COMPLETE");
    const findings = query<{ json: string }>(
      "SELECT f.json FROM findings f JOIN repositories r ON r.id = f.repository_id WHERE r.name = ? AND f.digest = ? AND f.status = 'ACTIVE'",
      "team/java-app",
      digest,
    ).map((x) => JSON.parse(x.json) as { package: { ecosystem: string } });
    expect(findings.length).toBeGreaterThan(0);
    expect(findings.some((f) => f.package.ecosystem === "golang" || f.package.ecosystem === "go")).toBe(true);
  }, 180_000);

  it("BASIC scans OS packages only; an image with a distro completes", async () => {
    configure({
      scanType: "BASIC",
      rules: [
        { scanFrequency: "SCAN_ON_PUSH", repositoryFilters: [{ filter: "basic-*", filterType: "WILDCARD" }] },
      ],
    });
    const r = await push("java-app", "basic-java:v1");
    expect(r.code, r.stderr).toBe(0);
    const digest = manifestDigestOfLayout(ociLayout("java-app"));
    const s = await waitScan("basic-java", digest);
    const findings = query<{ json: string }>(
      "SELECT f.json FROM findings f JOIN repositories r ON r.id = f.repository_id WHERE r.name = ? AND f.digest = ? AND f.status = 'ACTIVE'",
      "basic-java",
      digest,
    ).map((x) => JSON.parse(x.json) as { package: { ecosystem: string } });
    // java-app has a distro (Debian) or none: COMPLETE with OS findings only, or UNSUPPORTED_IMAGE.
    expect(["COMPLETE", "UNSUPPORTED_IMAGE"]).toContain(s.status);
    expect(findings.every((f) => ["deb", "apk", "rpm"].includes(f.package.ecosystem))).toBe(true);
    // A repository no filter matches is not scanned (MANUAL).
    expect((await push("debian-bookworm-minimal", "other:v1")).code).toBe(0);
    await new Promise((r2) => setTimeout(r2, 300));
    expect(scanOf("other", manifestDigestOfLayout(ociLayout("debian-bookworm-minimal")))).toBeUndefined();
  }, 180_000);

  it("a scan interrupted by kill -9 finishes after the restart", async () => {
    configure({
      scanType: "ENHANCED",
      rules: [
        { scanFrequency: "SCAN_ON_PUSH", repositoryFilters: [{ filter: "crash", filterType: "WILDCARD" }] },
      ],
    });
    const layout = "python-app";
    const digest = manifestDigestOfLayout(ociLayout(layout));
    const pushing = push(layout, "crash/python-app:v1");
    // Kill as soon as the job is claimed (or queued, if the claim is faster than this poll).
    const end = Date.now() + 60_000;
    let seen: string | undefined;
    while (Date.now() < end) {
      const jobs = query<{ state: string }>(
        "SELECT state FROM jobs WHERE kind = 'scan' AND key LIKE ?",
        `%@${digest}`,
      );
      if (jobs.length) {
        seen = jobs[0]!.state;
        break;
      }
      await new Promise((r) => setTimeout(r, 2));
    }
    await dd!.kill9();
    await pushing;
    const before = scanOf("crash/python-app", digest);
    if (seen && before && ["IN_PROGRESS", "PENDING"].includes(before.status)) {
      expect(query("SELECT * FROM jobs WHERE kind = 'scan' AND key LIKE ?", `%@${digest}`)).toHaveLength(1);
    } else {
      console.warn(
        `scan finished before kill -9 (job seen: ${seen}, state: ${before?.status}): restart check is weak`,
      );
    }
    dd = await startDrydock({ dataDir: data });
    const s = await waitScan("crash/python-app", digest);
    expect(s.status).toBe("COMPLETE");
    expect(query("SELECT * FROM jobs WHERE kind = 'scan' AND key LIKE ?", `%@${digest}`)).toHaveLength(0);
  }, 180_000);

  it("drydock events tail shows ECR Image Action, ECR Image Scan (BASIC) and Inspector2 Scan (ENHANCED) events", async () => {
    const r = await run(process.execPath, [cli, "events", "tail", "--data", data, "-n", "1000"]);
    expect(r.code, r.stderr).toBe(0);
    const events = r.stdout
      .trim()
      .split("\n")
      .map(
        (l) => JSON.parse(l) as { "detail-type": string; source: string; detail: Record<string, unknown> },
      );
    const actions = events.filter((e) => e["detail-type"] === "ECR Image Action");
    const scans = events.filter((e) => e["detail-type"] === "ECR Image Scan");
    expect(actions.length).toBeGreaterThan(0);
    expect(scans.length).toBeGreaterThan(0);
    expect(events.every((e) => e.source === "aws.ecr" || e.source === "aws.inspector2")).toBe(true);
    expect(actions[0]!.detail).toMatchObject({ result: "SUCCESS", "action-type": "PUSH" });
    expect(scans.find((e) => e.detail["repository-name"] === "basic-java")?.detail).toMatchObject({
      "image-tags": ["v1"],
    });
    // ENHANCED scans report as Inspector does: Inspector2 Scan, not ECR Image Scan.
    expect(scans.find((e) => e.detail["repository-name"] === "team/java-app")).toBeUndefined();
    const initial = events.find((e) => e["detail-type"] === "Inspector2 Scan");
    expect(initial?.detail).toMatchObject({
      "scan-status": "INITIAL_SCAN_COMPLETE",
      "repository-name": "arn:aws:ecr:us-east-1:000000000000:repository/team/java-app",
      "image-tags": ["v1"],
    });
  });
});
