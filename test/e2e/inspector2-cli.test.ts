import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  GetConfigurationCommand,
  Inspector2Client,
  paginateListFindings,
  UpdateConfigurationCommand,
} from "@aws-sdk/client-inspector2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { awsCli, awsEnv, type AwsCli, type Json } from "./aws-cli.js";
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
  importVulnDb,
} from "./harness.js";

/**
 * The Inspector2 API end to end on one `drydock serve` with the store-backed backend: `aws
 * inspector2 enable` turns ENHANCED scanning on with a CONTINUOUS_SCAN rule for every
 * repository, java-app (vulnerable Go modules; database from the shared OSV Go feed) is pushed
 * with skopeo and scanned, then the real AWS CLI lists its findings with filter criteria,
 * aggregates by repository, suppresses findings with a SUPPRESS filter and revives them by
 * deleting it, and @aws-sdk/client-inspector2's paginator walks the same findings; ECR's
 * DescribeImageScanFindings and Inspector2's ListFindings agree on the counts.
 */

const skip = missingShared();
const AKID = "AKIAINSPECTOR2E2E0001";
const SECRET = "inspector2-e2e-secret-0123456789";
const REPO = "team/java-app";

describe.skipIf(skip !== null)("Inspector2 API with the real AWS CLI and SDK", () => {
  let dd: Drydock;
  let work: string;
  let aws: AwsCli;
  const digest = manifestDigestOfLayout(ociLayout("java-app"));
  const repoFilter = { ecrImageRepositoryName: [{ comparison: "EQUALS", value: REPO }] };
  const status = (s: string) => ({ findingStatus: [{ comparison: "EQUALS", value: s }] });

  const listFindings = async (criteria: object): Promise<Json[]> => {
    const r = await aws("inspector2", "list-findings", "--filter-criteria", JSON.stringify(criteria));
    expect(r.code, r.stderr).toBe(0);
    return r.json().findings as Json[];
  };

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "drydock-inspector2-e2e-"));
    const dataDir = join(work, "data");
    await importVulnDb(dataDir, join(sharedDir, "vulndata/osv/Go"));
    dd = await startDrydock({
      dataDir,
      config: {
        aws: { accountId: "123456789012", credentials: [{ accessKeyId: AKID, secretAccessKey: SECRET }] },
      },
    });
    aws = awsCli(dd.url, await awsEnv(work, AKID, SECRET));
  }, 60_000);
  afterAll(async () => {
    await dd?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("enable turns ENHANCED scanning on with a CONTINUOUS_SCAN rule for every repository", async () => {
    const r = await aws("inspector2", "enable", "--resource-types", "ECR");
    expect(r.code, r.stderr).toBe(0);
    const cfg = await aws("ecr", "get-registry-scanning-configuration");
    expect(cfg.json().scanningConfiguration).toMatchObject({
      scanType: "ENHANCED",
      rules: [
        { scanFrequency: "CONTINUOUS_SCAN", repositoryFilters: [{ filter: "*", filterType: "WILDCARD" }] },
      ],
    });
    const st = await aws("inspector2", "batch-get-account-status");
    expect(st.json().accounts[0].resourceState.ecr.status).toBe("ENABLED");
  });

  it("a pushed java-app is scanned; ListFindings and DescribeImageScanFindings agree", async () => {
    const push = await skopeo([
      "copy",
      "--quiet",
      "--dest-tls-verify=false",
      "--preserve-digests",
      `oci:${ociLayout("java-app")}`,
      `docker://${dd.addr}/${REPO}:v1`,
    ]);
    expect(push.code, push.stderr).toBe(0);
    let ecr: Json;
    const end = Date.now() + 45_000;
    for (;;) {
      const r = await aws(
        "ecr",
        "describe-image-scan-findings",
        "--repository-name",
        REPO,
        "--image-id",
        `imageDigest=${digest}`,
      );
      if (r.code === 0) {
        ecr = r.json();
        if (ecr.imageScanStatus.status === "ACTIVE") break;
      }
      if (Date.now() > end) throw new Error(`no scan: ${r.stdout}${r.stderr}\n${dd.logs()}`);
      await new Promise((res) => setTimeout(res, 250));
    }
    const counts = ecr.imageScanFindings.findingSeverityCounts as Record<string, number>;
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    expect(total).toBeGreaterThan(0);
    expect(ecr.imageScanFindings.enhancedFindings).toHaveLength(total);

    const active = await listFindings({ ...repoFilter, ...status("ACTIVE") });
    expect(active).toHaveLength(total);
    for (const [severity, n] of Object.entries(counts))
      expect(
        active.filter((f) => f.severity === severity),
        severity,
      ).toHaveLength(n);
    const f = active[0];
    expect(f.findingArn).toMatch(/^arn:aws:inspector2:us-east-1:123456789012:finding\/[0-9a-f]{32}$/);
    expect(f.resources[0]).toMatchObject({
      type: "AWS_ECR_CONTAINER_IMAGE",
      id: `arn:aws:ecr:us-east-1:123456789012:repository/${REPO}/${digest}`,
      details: { awsEcrContainerImage: { repositoryName: REPO, imageHash: digest, imageTags: ["v1"] } },
    });
    // Criteria the store narrows and criteria it cannot (tags): the same findings either way.
    const byTag = await listFindings({
      ecrImageTags: [{ comparison: "EQUALS", value: "v1" }],
      ...status("ACTIVE"),
    });
    expect(byTag.map((x) => x.findingArn).sort()).toEqual(active.map((x) => x.findingArn).sort());
    expect(
      await listFindings({ ...repoFilter, ecrImageTags: [{ comparison: "EQUALS", value: "v2" }] }),
    ).toEqual([]);

    const agg = await aws("inspector2", "list-finding-aggregations", "--aggregation-type", "REPOSITORY");
    expect(agg.code, agg.stderr).toBe(0);
    expect(agg.json().responses).toContainEqual({
      repositoryAggregation: {
        repository: REPO,
        accountId: "123456789012",
        affectedImages: 1,
        severityCounts: {
          all: total,
          critical: counts.CRITICAL ?? 0,
          high: counts.HIGH ?? 0,
          medium: counts.MEDIUM ?? 0,
        },
      },
    });

    // The SDK's paginator, 3 findings a page, walks the same set.
    const client = new Inspector2Client({
      endpoint: dd.url,
      region: "us-east-1",
      credentials: { accessKeyId: AKID, secretAccessKey: SECRET },
      maxAttempts: 1,
    });
    const arns: string[] = [];
    for await (const page of paginateListFindings(
      { client, pageSize: 3 },
      { filterCriteria: { ...repoFilter, ...status("ACTIVE") } as never },
    ))
      arns.push(...(page.findings ?? []).map((x) => x.findingArn!));
    expect(arns.sort()).toEqual(active.map((x) => x.findingArn).sort());
    client.destroy();
  }, 60_000);

  it("a SUPPRESS filter suppresses at once; deleting it revives the findings", async () => {
    const active = await listFindings({ ...repoFilter, ...status("ACTIVE") });
    const vulnerabilityId = active[0].packageVulnerabilityDetails.vulnerabilityId as string;
    const hit = active.filter(
      (f) => f.packageVulnerabilityDetails.vulnerabilityId === vulnerabilityId,
    ).length;
    const c = await aws(
      "inspector2",
      "create-filter",
      "--name",
      "accepted",
      "--action",
      "SUPPRESS",
      "--reason",
      "accepted risk",
      "--filter-criteria",
      JSON.stringify({ vulnerabilityId: [{ comparison: "EQUALS", value: vulnerabilityId }] }),
    );
    expect(c.code, c.stderr).toBe(0);
    const arn = c.json().arn as string;
    expect(arn).toMatch(/^arn:aws:inspector2:us-east-1:123456789012:owner\/123456789012\/filter\/[0-9a-f]+$/);
    const suppressed = await listFindings({ ...repoFilter, ...status("SUPPRESSED") });
    expect(suppressed).toHaveLength(hit);
    expect(await listFindings({ ...repoFilter, ...status("ACTIVE") })).toHaveLength(active.length - hit);
    // DescribeImageScanFindings shows open (ACTIVE) findings only: it agrees.
    const ecr = await aws(
      "ecr",
      "describe-image-scan-findings",
      "--repository-name",
      REPO,
      "--image-id",
      `imageDigest=${digest}`,
    );
    expect(ecr.json().imageScanFindings.enhancedFindings).toHaveLength(active.length - hit);

    const d = await aws("inspector2", "delete-filter", "--arn", arn);
    expect(d.code, d.stderr).toBe(0);
    expect(await listFindings({ ...repoFilter, ...status("SUPPRESSED") })).toEqual([]);
    expect(await listFindings({ ...repoFilter, ...status("ACTIVE") })).toHaveLength(active.length);
  }, 60_000);

  it("a filter tagged drydock:expires-at suppresses until its time, then its findings are ACTIVE again", async () => {
    const active = await listFindings({ ...repoFilter, ...status("ACTIVE") });
    const vulnerabilityId = active[0].packageVulnerabilityDetails.vulnerabilityId as string;
    const hit = active.filter(
      (f) => f.packageVulnerabilityDetails.vulnerabilityId === vulnerabilityId,
    ).length;
    const expiresAt = new Date(Date.now() + 4000).toISOString();
    const c = await aws(
      "inspector2",
      "create-filter",
      "--name",
      "accepted-for-now",
      "--action",
      "SUPPRESS",
      "--filter-criteria",
      JSON.stringify({ vulnerabilityId: [{ comparison: "EQUALS", value: vulnerabilityId }] }),
      "--tags",
      `drydock:expires-at=${expiresAt},drydock:owner=alice`,
    );
    expect(c.code, c.stderr).toBe(0);
    expect(await listFindings({ ...repoFilter, ...status("SUPPRESSED") })).toHaveLength(hit);
    // The expiry check runs every few seconds (docs/inspector2-api.md): ACTIVE again soon after.
    const end = Date.now() + 20_000;
    while ((await listFindings({ ...repoFilter, ...status("SUPPRESSED") })).length > 0) {
      if (Date.now() > end) throw new Error(`the filter did not expire:\n${dd.logs()}`);
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(Date.now()).toBeGreaterThanOrEqual(Date.parse(expiresAt));
    expect(await listFindings({ ...repoFilter, ...status("ACTIVE") })).toHaveLength(active.length);
    // The expired filter is kept (with its reason and tags), no longer suppressing.
    const listed = await aws("inspector2", "list-filters", "--arns", c.json().arn as string);
    expect(listed.json().filters[0]).toMatchObject({
      name: "accepted-for-now",
      tags: { "drydock:expires-at": expiresAt, "drydock:owner": "alice" },
    });
  }, 60_000);

  it("the event log holds the Inspector2 events of the scan and the suppression", async () => {
    const r = await run(process.execPath, [
      join(repoRoot, "dist/cli/main.js"),
      "events",
      "tail",
      "--data",
      dd.dataDir,
      "-n",
      "100000",
    ]);
    expect(r.code, r.stderr).toBe(0);
    const events = r.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { "detail-type": string; source: string; detail: Json });
    const scan = events.find((e) => e["detail-type"] === "Inspector2 Scan");
    expect(scan).toMatchObject({
      source: "aws.inspector2",
      detail: {
        "scan-status": "INITIAL_SCAN_COMPLETE",
        "repository-name": `arn:aws:ecr:us-east-1:123456789012:repository/${REPO}`,
        "image-digest": digest,
      },
    });
    expect(scan!.detail["finding-severity-counts"].TOTAL).toBeGreaterThan(0);
    expect(events.some((e) => e["detail-type"] === "ECR Image Scan")).toBe(false);
    expect(events.filter((e) => e["detail-type"] === "Inspector2 Finding").length).toBeGreaterThan(
      scan!.detail["finding-severity-counts"].TOTAL,
    );
    expect(
      events.filter((e) => e["detail-type"] === "Drydock Suppression Change").map((e) => e.detail.change),
    ).toEqual(["CREATED", "DELETED", "CREATED", "EXPIRED"]);
    // The first ENHANCED scan changed the image's coverage (pending → monitored).
    expect(events.find((e) => e["detail-type"] === "Inspector2 Coverage")).toMatchObject({
      source: "aws.inspector2",
      resources: [`arn:aws:ecr:us-east-1:123456789012:repository/${REPO}/${digest}`],
      detail: { scanStatus: { reason: "SUCCESSFUL", statusCodeValue: "ACTIVE" }, scanType: "PACKAGE" },
    });
  });

  it("the rescan window: the default, rescanDuration by the CLI, the pull-date settings by the SDK", async () => {
    const get = async () => {
      const r = await aws("inspector2", "get-configuration");
      expect(r.code, r.stderr).toBe(0);
      return r.json().ecrConfiguration.rescanDurationState as Json;
    };
    const client = new Inspector2Client({
      endpoint: dd.url,
      region: "us-east-1",
      credentials: { accessKeyId: AKID, secretAccessKey: SECRET },
      maxAttempts: 1,
    });
    const sdkGet = async () =>
      (await client.send(new GetConfigurationCommand({}))).ecrConfiguration?.rescanDurationState;
    // awscli 2.9's model has no pull-date fields (it drops them): the SDK reads them.
    expect(await get()).toMatchObject({ rescanDuration: "DAYS_90", status: "SUCCESS" });
    expect(await sdkGet()).toEqual({
      rescanDuration: "DAYS_90",
      pullDateRescanDuration: "DAYS_90",
      pullDateRescanMode: "LAST_PULL_DATE",
      status: "SUCCESS",
    });
    const up = await aws(
      "inspector2",
      "update-configuration",
      "--ecr-configuration",
      "rescanDuration=DAYS_30",
    );
    expect(up.code, up.stderr).toBe(0);
    expect(await get()).toMatchObject({ rescanDuration: "DAYS_30", status: "SUCCESS" });
    // UpdateConfiguration replaces the configuration: pulls no longer count.
    expect((await sdkGet())?.pullDateRescanMode).toBeUndefined();
    await client.send(
      new UpdateConfigurationCommand({
        ecrConfiguration: {
          rescanDuration: "DAYS_14",
          pullDateRescanDuration: "DAYS_30",
          pullDateRescanMode: "LAST_PULL_DATE",
        },
      }),
    );
    const state = await sdkGet();
    expect(state).toMatchObject({
      rescanDuration: "DAYS_14",
      pullDateRescanDuration: "DAYS_30",
      pullDateRescanMode: "LAST_PULL_DATE",
      status: "SUCCESS",
    });
    expect(state?.updatedAt).toBeInstanceOf(Date);
    // java-app was pushed minutes ago: inside the window, still monitored after the window's run.
    await new Promise((r) => setTimeout(r, 500));
    const d = await aws(
      "ecr",
      "describe-images",
      "--repository-name",
      REPO,
      "--image-ids",
      `imageDigest=${digest}`,
    );
    expect(d.json().imageDetails[0].imageScanStatus.status).toBe("ACTIVE");
  });
});
