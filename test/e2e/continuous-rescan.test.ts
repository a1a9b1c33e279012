import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Inspector2Client, paginateListFindings, type Finding } from "@aws-sdk/client-inspector2";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readZip } from "../../src/vulndb/archive/zip.js";
import { makeZip } from "../../src/vulndb/testing.js";
import { awsCli, awsEnv, type AwsCli, type Json } from "./aws-cli.js";
import {
  manifestDigestOfLayout,
  missingShared,
  ociLayout,
  repoRoot,
  run,
  scrapeMetric,
  serverProblems,
  sharedDir,
  skopeo,
  startDrydock,
  type Drydock,
} from "./harness.js";
import { Client, sha256 } from "./registry-http.js";

/**
 * Continuous re-scanning end to end, on `drydock serve` with its scheduled database update
 * reading a mirror directory that this test writes from real OSV documents of the PyPI feed
 * (../shared/vulndata/osv/PyPI/all.zip, read here, never copied into the repository):
 *
 * - python-app (sqlparse 0.3.0 installed under /usr/local) is pushed with skopeo into a
 *   CONTINUOUS_SCAN repository and into a SCAN_ON_PUSH one, both ENHANCED, and scanned with v1
 *   (a few real advisories, none of them PYSEC-2023-87);
 * - v2 adds PYSEC-2023-87 (CVE-2023-30608, sqlparse) without its fixed versions: the finding
 *   appears ACTIVE without a fix, observed after the update, with its `Inspector2 Finding`
 *   event, and no layer is read (drydock_scan_layers_analyzed_total, _layer_cache_hits_total);
 *   v3 is the document as published (fixed in 0.4.4): same ARN, fixAvailable YES, updatedAt
 *   later; v4 withdraws it: CLOSED, an event; the SCAN_ON_PUSH image never changes. Findings
 *   are read with the real AWS CLI (inspector2 list-findings, ecr describe-image-scan-findings)
 *   and the SDK;
 * - kill -9 during a re-match: 300 distinct images (distinct configs over python-app's own
 *   layer, pushed over plain HTTP) are scanned, v5 adds PYSEC-2023-227 (Pillow 6.2.0, in every
 *   one of them), the server is killed while its re-match jobs (5 images each) are running,
 *   restarted, and then every image has exactly its new findings and every finding change
 *   exactly one event;
 * - a scheduled update whose feed is gone from the mirror fails: the database in service and
 *   the findings stay, drydock_vulndb_update_failures_total counts it.
 */

const PYPI = "osv/PyPI/all.zip";
const skip =
  missingShared() ??
  (existsSync(join(sharedDir, "vulndata", PYPI)) ? null : `../shared/vulndata/${PYPI} missing`);

const AKID = "AKIACONTINUOUSRESCAN1";
const SECRET = "continuous-rescan-e2e-secret-012345";
const WATCHED = "watched/python-app";
const PUSHED = "pushed/python-app";
const FLEET = "watched/fleet";
const FLEET_SIZE = 300;
const CHUNK = 5;
/** The advisory the test adds, fixes and withdraws (sqlparse: 0.1.15 up to 0.4.4 affected). */
const SQLPARSE = "PYSEC-2023-87";
const SQLPARSE_CVE = "CVE-2023-30608";
/** The advisory that reaches every image of the fleet (Pillow: below 10.0.0 affected). */
const PILLOW = "PYSEC-2023-227";
const PILLOW_CVE = "CVE-2023-44271";
/** v1: real advisories of python-app's packages (sqlparse, PyYAML), PYSEC-2023-87 not among them. */
const BASE = ["PYSEC-2026-1940", "PYSEC-2018-49", "PYSEC-2020-176", "PYSEC-2020-96", "PYSEC-2021-142"];

type Osv = { id: string; affected: { ranges: { events: Record<string, string>[] }[] }[]; withdrawn?: string };

/** The real documents this test needs, by id, read from the shared PyPI archive. */
function realDocuments(ids: readonly string[]): Map<string, Osv> {
  const want = new Set(ids);
  const out = new Map<string, Osv>();
  for (const item of readZip(join(sharedDir, "vulndata", PYPI), PYPI)) {
    if (item.kind !== "member") continue;
    const id = item.name.replace(/^.*\//, "").replace(/\.json$/, "");
    if (want.has(id)) out.set(id, JSON.parse(item.content.toString("utf8")) as Osv);
    if (out.size === want.size) break;
  }
  for (const id of ids) if (!out.has(id)) throw new Error(`${id} not in ${PYPI}`);
  return out;
}

describe.skipIf(skip)("continuous re-scanning end to end (scheduled update from a mirror directory)", () => {
  let work: string;
  let dataDir: string;
  let mirror: string;
  let dd: Drydock;
  let aws: AwsCli;
  let sdk: Inspector2Client;
  let docs: Map<string, Osv>;
  let config: Record<string, unknown>;
  const digest = manifestDigestOfLayout(ociLayout("python-app"));

  /** Replaces the mirror's PyPI archive (atomically: the update never reads half a file). */
  const publishFeed = (records: readonly Osv[]) => {
    const path = join(mirror, PYPI);
    writeFileSync(
      `${path}.tmp`,
      makeZip(records.map((r) => ({ name: `${r.id}.json`, data: JSON.stringify(r) }))),
    );
    renameSync(`${path}.tmp`, path);
  };
  const base = () => BASE.map((id) => docs.get(id)!);
  /** PYSEC-2023-87 as published, or with its fixed versions left out (no fix known yet). */
  const sqlparse = (o: { fixed: boolean; withdrawn?: string }): Osv => {
    const d = structuredClone(docs.get(SQLPARSE)!);
    if (!o.fixed)
      for (const a of d.affected)
        for (const r of a.ranges) r.events = r.events.filter((e) => !("fixed" in e));
    if (o.withdrawn) d.withdrawn = o.withdrawn;
    return d;
  };

  const builds = () =>
    dd
      .logs()
      .split("\n")
      .filter((l) => l.includes("new build in service")).length;
  async function until<T>(what: string, f: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
    const end = Date.now() + ms;
    for (;;) {
      const v = await f();
      if (v !== undefined) return v;
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}:\n${dd.logs().slice(-4000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  /** Publishes a feed and waits until the server has built it (the scheduled update). */
  async function update(records: readonly Osv[]): Promise<number> {
    const before = builds();
    const at = Date.now();
    publishFeed(records);
    await until("the scheduled update to build the new feed", async () =>
      builds() > before ? true : undefined,
    );
    return at;
  }

  /** Findings of a repository (any status) through the SDK's paginator. */
  async function findingsOf(repository: string, vulnerabilityId?: string): Promise<Finding[]> {
    const out: Finding[] = [];
    for await (const page of paginateListFindings(
      { client: sdk, pageSize: 100 },
      {
        filterCriteria: {
          ecrImageRepositoryName: [{ comparison: "EQUALS", value: repository }],
          ...(vulnerabilityId ? { vulnerabilityId: [{ comparison: "EQUALS", value: vulnerabilityId }] } : {}),
        },
      },
    ))
      out.push(...(page.findings ?? []));
    return out;
  }
  /** The same through the real AWS CLI (awscli 2.9), for one vulnerability of one repository. */
  async function cliFindings(repository: string, vulnerabilityId: string): Promise<Json[]> {
    const r = await aws(
      "inspector2",
      "list-findings",
      "--filter-criteria",
      JSON.stringify({
        ecrImageRepositoryName: [{ comparison: "EQUALS", value: repository }],
        vulnerabilityId: [{ comparison: "EQUALS", value: vulnerabilityId }],
      }),
    );
    expect(r.code, r.stderr).toBe(0);
    return r.json().findings as Json[];
  }
  /** ECR's view of the same image: DescribeImageScanFindings' enhanced findings. */
  async function ecrFindings(repository: string): Promise<Json> {
    const r = await aws(
      "ecr",
      "describe-image-scan-findings",
      "--repository-name",
      repository,
      "--image-id",
      `imageDigest=${digest}`,
    );
    expect(r.code, r.stderr).toBe(0);
    return r.json();
  }
  /** Every `Inspector2 Finding` event of the log, in order (`drydock events tail`). */
  async function findingEvents(): Promise<Json[]> {
    const r = await run(process.execPath, [
      join(repoRoot, "dist/cli/main.js"),
      "events",
      "tail",
      "--data",
      dataDir,
      "-n",
      "1000000",
    ]);
    expect(r.code, r.stderr).toBe(0);
    return r.stdout
      .trim()
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Json)
      .filter((e) => e["detail-type"] === "Inspector2 Finding");
  }
  const layerWork = async () => ({
    read: await scrapeMetric(dd, "drydock_scan_layers_analyzed_total"),
    cached: await scrapeMetric(dd, "drydock_scan_layer_cache_hits_total"),
  });
  /**
   * What must not move: for an image that is not re-matched, not even the last observation; a
   * re-match that finds a finding again unchanged moves only its lastObservedAt (`observed`).
   */
  const snapshot = (fs: Finding[], o: { observed?: boolean } = {}) =>
    fs
      .map((f) => [
        f.findingArn,
        f.status,
        f.fixAvailable,
        f.updatedAt?.getTime(),
        o.observed ? 0 : f.lastObservedAt?.getTime(),
      ])
      .sort();

  beforeAll(async () => {
    docs = realDocuments([...BASE, SQLPARSE, PILLOW]);
    work = await mkdtemp(join(tmpdir(), "drydock-continuous-rescan-e2e-"));
    dataDir = join(work, "data");
    mirror = join(work, "mirror");
    mkdirSync(join(mirror, "osv", "PyPI"), { recursive: true });
    mkdirSync(dataDir);
    publishFeed(base());
    config = {
      aws: { accountId: "123456789012", credentials: [{ accessKeyId: AKID, secretAccessKey: SECRET }] },
      // A scheduled update every 1.8 s, from the mirror directory only.
      vulndb: { mirror, updateIntervalHours: 0.0005 },
      scan: { rematchChunkSize: CHUNK },
    };
    dd = await startDrydock({ dataDir, config });
    aws = awsCli(dd.url, await awsEnv(work, AKID, SECRET));
    sdk = new Inspector2Client({
      endpoint: dd.url,
      region: "us-east-1",
      credentials: { accessKeyId: AKID, secretAccessKey: SECRET },
      maxAttempts: 1,
    });
  }, 60_000);
  afterAll(async () => {
    sdk?.destroy();
    await dd?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  let watchedBefore: Finding[];
  let pushedBefore: Finding[];
  let layersAfterScans: { read: number; cached: number };

  it("v1: images pushed into a CONTINUOUS_SCAN and a SCAN_ON_PUSH repository are scanned", async () => {
    await until("the first scheduled update", async () => (builds() > 0 ? true : undefined));
    const cfg = await aws(
      "ecr",
      "put-registry-scanning-configuration",
      "--scan-type",
      "ENHANCED",
      "--rules",
      JSON.stringify([
        {
          scanFrequency: "CONTINUOUS_SCAN",
          repositoryFilters: [{ filter: "watched/*", filterType: "WILDCARD" }],
        },
        {
          scanFrequency: "SCAN_ON_PUSH",
          repositoryFilters: [{ filter: "pushed/*", filterType: "WILDCARD" }],
        },
      ]),
    );
    expect(cfg.code, cfg.stderr).toBe(0);
    for (const repo of [WATCHED, PUSHED]) {
      const push = await skopeo([
        "copy",
        "--quiet",
        "--dest-tls-verify=false",
        "--preserve-digests",
        `oci:${ociLayout("python-app")}`,
        `docker://${dd.addr}/${repo}:v1`,
      ]);
      expect(push.code, push.stderr).toBe(0);
    }
    for (const [repo, status] of [
      [WATCHED, "ACTIVE"],
      [PUSHED, "COMPLETE"],
    ] as const)
      await until(`the scan of ${repo}`, async () => {
        const r = await ecrFindings(repo).catch(() => undefined);
        return r?.imageScanStatus?.status === status ? true : undefined;
      });
    watchedBefore = await findingsOf(WATCHED);
    pushedBefore = await findingsOf(PUSHED);
    // v1's advisories hit both images alike (another sqlparse advisory, PyYAML's), not CVE-2023-30608.
    expect(watchedBefore.length).toBeGreaterThan(0);
    expect(snapshot(pushedBefore).length).toBe(watchedBefore.length);
    expect(watchedBefore.some((f) => f.packageVulnerabilityDetails?.vulnerabilityId === SQLPARSE_CVE)).toBe(
      false,
    );
    layersAfterScans = await layerWork();
    expect(layersAfterScans.read).toBeGreaterThan(0);
    // The gauges read the database: both images, their findings, the database just built.
    expect(await scrapeMetric(dd, "drydock_images", { scan_type: "ENHANCED", scan_status: "ACTIVE" })).toBe(
      1,
    );
    expect(await scrapeMetric(dd, "drydock_images", { scan_type: "ENHANCED", scan_status: "COMPLETE" })).toBe(
      1,
    );
    expect(await scrapeMetric(dd, "drydock_findings", { status: "ACTIVE" })).toBe(2 * watchedBefore.length);
    const age = await scrapeMetric(dd, "drydock_vulndb_age_seconds");
    expect(age).toBeGreaterThan(0);
    expect(age).toBeLessThan(300);
  }, 120_000);

  let arn: string;
  let v2UpdatedAt: number;
  let eventsAfterV1: number;

  it("v2 adds an advisory without a fix: the finding appears ACTIVE, with its event, no layer read", async () => {
    eventsAfterV1 = (await findingEvents()).length;
    const rematchesBefore = await scrapeMetric(dd, "drydock_rematch_images_total");
    const at = await update([...base(), sqlparse({ fixed: false })]);
    const [f] = await until("the new finding", async () => {
      const fs = await findingsOf(WATCHED, SQLPARSE_CVE);
      return fs.length ? fs : undefined;
    });
    expect(f).toMatchObject({ status: "ACTIVE", fixAvailable: "NO" });
    expect(f!.packageVulnerabilityDetails?.vulnerablePackages?.[0]).toMatchObject({
      name: "sqlparse",
      version: "0.3.0",
    });
    expect(f!.firstObservedAt!.getTime()).toBeGreaterThanOrEqual(Math.floor(at / 1000) * 1000);
    arn = f!.findingArn!;
    v2UpdatedAt = f!.updatedAt!.getTime();

    // The real CLI and ECR's DescribeImageScanFindings say the same.
    const cli = await cliFindings(WATCHED, SQLPARSE_CVE);
    expect(cli.map((x) => [x.findingArn, x.status, x.fixAvailable])).toEqual([[arn, "ACTIVE", "NO"]]);
    const ecr = await ecrFindings(WATCHED);
    const inEcr = ecr.imageScanFindings.enhancedFindings.filter((x: Json) => x.findingArn === arn);
    expect(inEcr).toHaveLength(1);
    expect(inEcr[0]).toMatchObject({
      status: "ACTIVE",
      remediation: { recommendation: { text: "None Provided" } },
    });
    expect(Date.parse(inEcr[0].firstObservedAt)).toBe(f!.firstObservedAt!.getTime());

    // One Inspector2 Finding event, for this finding only; the other findings did not change.
    const events = (await findingEvents()).slice(eventsAfterV1);
    expect(events.map((e) => [e.detail.findingArn, e.detail.status, e.detail.fixAvailable])).toEqual([
      [arn, "ACTIVE", "NO"],
    ]);
    expect(events[0].resources).toEqual([
      `arn:aws:ecr:us-east-1:123456789012:repository/${WATCHED}/${digest}`,
    ]);

    // Re-matched from the stored inventory: no layer read, none even taken from the cache.
    expect(await layerWork()).toEqual(layersAfterScans);
    expect(await scrapeMetric(dd, "drydock_rematch_images_total")).toBe(rematchesBefore + 1);
    expect(await scrapeMetric(dd, "drydock_rematch_finding_changes_total", { change: "created" })).toBe(1);
  }, 60_000);

  it("v3 publishes the fix: the same finding, fixAvailable YES, updatedAt later", async () => {
    await update([...base(), sqlparse({ fixed: true })]);
    const [f] = await until("the fix", async () => {
      const fs = await findingsOf(WATCHED, SQLPARSE_CVE);
      return fs[0]?.fixAvailable === "YES" ? fs : undefined;
    });
    expect(f).toMatchObject({ findingArn: arn, status: "ACTIVE", fixAvailable: "YES" });
    expect(f!.packageVulnerabilityDetails?.vulnerablePackages?.[0]?.fixedInVersion).toBe("0.4.4");
    expect(f!.updatedAt!.getTime()).toBeGreaterThan(v2UpdatedAt);
    const cli = await cliFindings(WATCHED, SQLPARSE_CVE);
    expect(cli.map((x) => [x.findingArn, x.status, x.fixAvailable])).toEqual([[arn, "ACTIVE", "YES"]]);
    const ecr = await ecrFindings(WATCHED);
    // The same finding in ECR, its recommendation now naming the fix (awscli 2.9's ECR model
    // has neither fixAvailable nor fixedInVersion), with the same updatedAt.
    const inEcr = ecr.imageScanFindings.enhancedFindings.find((x: Json) => x.findingArn === arn);
    expect(inEcr.remediation.recommendation.text).toBe("Upgrade sqlparse to 0.4.4");
    expect(Date.parse(inEcr.updatedAt)).toBe(f!.updatedAt!.getTime());
    const events = (await findingEvents()).slice(eventsAfterV1);
    expect(events.map((e) => [e.detail.findingArn, e.detail.status, e.detail.fixAvailable])).toEqual([
      [arn, "ACTIVE", "NO"],
      [arn, "ACTIVE", "YES"],
    ]);
    expect(await layerWork()).toEqual(layersAfterScans);
  }, 60_000);

  it("v4 withdraws it: CLOSED with an event; the SCAN_ON_PUSH image never changed", async () => {
    await update([...base(), sqlparse({ fixed: true, withdrawn: "2026-08-22T00:00:00Z" })]);
    const [f] = await until("the close", async () => {
      const fs = await findingsOf(WATCHED, SQLPARSE_CVE);
      return fs[0]?.status === "CLOSED" ? fs : undefined;
    });
    expect(f!.findingArn).toBe(arn);
    const cli = await cliFindings(WATCHED, SQLPARSE_CVE);
    expect(cli.map((x) => [x.findingArn, x.status])).toEqual([[arn, "CLOSED"]]);
    // DescribeImageScanFindings shows open findings only: it is gone there.
    const ecr = await ecrFindings(WATCHED);
    expect(ecr.imageScanFindings.enhancedFindings.some((x: Json) => x.findingArn === arn)).toBe(false);
    const events = (await findingEvents()).slice(eventsAfterV1);
    expect(events.map((e) => [e.detail.findingArn, e.detail.status])).toEqual([
      [arn, "ACTIVE"],
      [arn, "ACTIVE"],
      [arn, "CLOSED"],
    ]);
    expect(await scrapeMetric(dd, "drydock_rematch_finding_changes_total")).toBe(3);
    expect(await scrapeMetric(dd, "drydock_findings", { status: "CLOSED" })).toBe(1);

    // The image's other findings and the SCAN_ON_PUSH image's: untouched through v2-v4.
    const others = (await findingsOf(WATCHED)).filter((x) => x.findingArn !== arn);
    expect(snapshot(others, { observed: true })).toEqual(snapshot(watchedBefore, { observed: true }));
    expect(snapshot(await findingsOf(PUSHED))).toEqual(snapshot(pushedBefore));
    expect(await layerWork()).toEqual(layersAfterScans);
  }, 60_000);

  it("kill -9 while the re-match of 300 images runs: after restart every finding and every event exactly once", async () => {
    // 300 distinct images over one shared layer (python-app's own: pip dist-info, /app), over plain HTTP.
    const layout = ociLayout("python-app");
    const blob = (d: string) => readFileSync(join(layout, "blobs", ...d.split(":")));
    const manifest = JSON.parse(blob(digest).toString()) as {
      config: { digest: string };
      layers: { mediaType: string; digest: string; size: number }[];
    };
    const imageConfig = JSON.parse(blob(manifest.config.digest).toString()) as {
      rootfs: { diff_ids: string[] };
    };
    const layer = manifest.layers[2]!;
    const http = new Client(dd.url);
    expect((await http.pushBlob(FLEET, blob(layer.digest))).status).toBe(201);
    const fleet: string[] = [];
    const pushOne = async (i: number) => {
      const cfg = Buffer.from(
        JSON.stringify({
          architecture: "amd64",
          os: "linux",
          config: { Labels: { "fleet.index": String(i) } },
          rootfs: { type: "layers", diff_ids: [imageConfig.rootfs.diff_ids[2]] },
        }),
      );
      expect((await http.pushBlob(FLEET, cfg)).status).toBe(201);
      const m = JSON.stringify({
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        config: {
          mediaType: "application/vnd.oci.image.config.v1+json",
          digest: sha256(cfg),
          size: cfg.length,
        },
        layers: [layer],
      });
      const r = await http.pushManifest(FLEET, `i${i}`, m, "application/vnd.oci.image.manifest.v1+json");
      expect(r.status, r.text).toBe(201);
      fleet.push(sha256(m));
    };
    for (let i = 0; i < FLEET_SIZE; i += 10)
      await Promise.all(Array.from({ length: 10 }, (_, k) => pushOne(i + k)));
    await until(
      "the fleet's scans",
      async () =>
        (await scrapeMetric(dd, "drydock_images", { scan_type: "ENHANCED", scan_status: "ACTIVE" })) ===
        FLEET_SIZE + 1
          ? true
          : undefined,
      90_000,
    );
    const eventsBefore = (await findingEvents()).length;

    // v5: an advisory every fleet image (and python-app) is affected by. Kill the server as soon
    // as some of the re-match jobs have committed and others have not.
    const db = new Database(join(dataDir, "meta.db"), { readonly: true });
    const pending = db.prepare("SELECT count(*) AS n FROM jobs WHERE kind = 'rematch'");
    let planned = 0;
    let left = 0;
    publishFeed([...base(), sqlparse({ fixed: true, withdrawn: "2026-08-22T00:00:00Z" }), docs.get(PILLOW)!]);
    const deadline = Date.now() + 30_000;
    for (;;) {
      left = (pending.get() as { n: number }).n;
      planned = Math.max(planned, left);
      if (planned > 0 && left > 0 && left < planned) break;
      if (Date.now() > deadline)
        throw new Error(
          `no re-match in progress to interrupt (planned ${planned}):\n${dd.logs().slice(-4000)}`,
        );
      await new Promise((r) => setTimeout(r, 2));
    }
    await dd.kill9();
    db.close();
    // The jobs were caught in the middle: some committed, some not (else this proves nothing).
    expect(planned).toBe(Math.ceil((FLEET_SIZE + 1) / CHUNK));
    expect(left).toBeGreaterThan(0);
    expect(left).toBeLessThan(planned);

    dd = await startDrydock({ dataDir, config, port: Number(dd.addr.split(":")[1]) });
    const after = new Database(join(dataDir, "meta.db"), { readonly: true });
    try {
      await until("the re-match to finish after the restart", async () =>
        (after.prepare("SELECT count(*) AS n FROM jobs WHERE kind = 'rematch'").get() as { n: number }).n ===
        0
          ? true
          : undefined,
      );
    } finally {
      after.close();
    }

    // Every fleet image has the same new findings (Pillow 6.2.0), ACTIVE, once: through the CLI.
    const found = await cliFindings(FLEET, PILLOW_CVE);
    const byImage = new Map<string, Json[]>();
    for (const f of found) {
      const d = f.resources[0].details.awsEcrContainerImage.imageHash as string;
      byImage.set(d, [...(byImage.get(d) ?? []), f]);
    }
    expect([...byImage.keys()].sort()).toEqual([...fleet].sort());
    const perImage = byImage.get(fleet[0]!)!.length;
    expect(perImage).toBeGreaterThan(0);
    for (const [d, fs] of byImage) {
      expect(fs.length, d).toBe(perImage);
      expect(
        fs.every(
          (f) =>
            f.status === "ACTIVE" &&
            /^pillow$/i.test(f.packageVulnerabilityDetails.vulnerablePackages[0].name),
        ),
        d,
      ).toBe(true);
    }
    expect(new Set(found.map((f) => f.findingArn)).size).toBe(found.length);
    const pythonApp = await findingsOf(WATCHED, PILLOW_CVE);
    expect(pythonApp.length).toBeGreaterThan(0);

    // Every finding change since v5 has exactly one event, and each event is a change: the new
    // findings of the fleet and of python-app, nothing else, nothing twice, nothing missing.
    const events = (await findingEvents()).slice(eventsBefore);
    const arns = events.map((e) => e.detail.findingArn as string);
    expect(new Set(arns).size).toBe(arns.length);
    expect(arns.sort()).toEqual([...found, ...pythonApp].map((f) => f.findingArn as string).sort());
    expect(
      events.every(
        (e) =>
          e.detail.status === "ACTIVE" && e.detail.packageVulnerabilityDetails.vulnerabilityId === PILLOW_CVE,
      ),
    ).toBe(true);
    // The SCAN_ON_PUSH image still never changed; no layer was read by the re-match.
    expect(snapshot(await findingsOf(PUSHED))).toEqual(snapshot(pushedBefore));
    expect(await scrapeMetric(dd, "drydock_scan_layers_analyzed_total")).toBe(0);
    expect(serverProblems(dd).filter((l) => !/interrupted by a restart/.test(l))).toEqual([]);
  }, 180_000);

  it("a scheduled update that fails keeps the database in service and is counted", async () => {
    expect(await scrapeMetric(dd, "drydock_vulndb_update_failures_total")).toBe(0);
    const findings = snapshot(await findingsOf(WATCHED));
    rmSync(join(mirror, PYPI)); // the mirror lost its only feed
    await until("a failed update", async () =>
      (await scrapeMetric(dd, "drydock_vulndb_update_failures_total")) > 0 ? true : undefined,
    );
    expect(snapshot(await findingsOf(WATCHED))).toEqual(findings);
    const age = await scrapeMetric(dd, "drydock_vulndb_age_seconds");
    expect(age).toBeGreaterThan(0);
  }, 60_000);
});
