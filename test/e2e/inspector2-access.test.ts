import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import bcrypt from "bcryptjs";
import {
  BatchGetFindingDetailsCommand,
  CreateFilterCommand,
  Inspector2Client,
  ListCoverageCommand,
  ListFindingAggregationsCommand,
  ListFindingsCommand,
  UpdateConfigurationCommand,
  paginateListFindings,
  type Finding,
} from "@aws-sdk/client-inspector2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { awsCli, awsEnv } from "./aws-cli.js";
import {
  missingShared,
  ociLayout,
  sharedDir,
  skopeo,
  startDrydock,
  type Drydock,
  importVulnDb,
} from "./harness.js";

/**
 * Inspector2's access rules on the real, store-backed backend (docs/access.md): a key acts as
 * its user; alice may pull team/* only, admin everything. Findings, aggregations, finding
 * details and coverage show alice the repositories she may pull and nothing else; filters and
 * configuration changes need `admin`. java-app (Go modules with findings in the shared OSV Go
 * feed) is pushed to team/app and other/app.
 */

const skip = missingShared();
const ACCOUNT = "123456789012";
const ALICE = { accessKeyId: "AKIAALICEINSPECTOR01", secretAccessKey: "alice-inspector-secret-0123" };
const ADMIN = { accessKeyId: "AKIAADMININSPECTOR01", secretAccessKey: "admin-inspector-secret-0123" };
const ADMIN_PASSWORD = "admin-password-for-skopeo";

describe.skipIf(skip !== null)("Inspector2 access rules with a restricted caller", () => {
  let dd: Drydock;
  let work: string;
  let alice: Inspector2Client;
  let admin: Inspector2Client;
  const client = (k: typeof ALICE) =>
    new Inspector2Client({ endpoint: dd.url, region: "us-east-1", credentials: k, maxAttempts: 1 });
  const all = async (c: Inspector2Client): Promise<Finding[]> => {
    const out: Finding[] = [];
    for await (const p of paginateListFindings({ client: c, pageSize: 100 }, {}))
      out.push(...(p.findings ?? []));
    return out;
  };
  const repoOf = (f: Finding) => f.resources?.[0]?.details?.awsEcrContainerImage?.repositoryName;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "drydock-inspector2-access-"));
    const dataDir = join(work, "data");
    await importVulnDb(dataDir, join(sharedDir, "vulndata/osv/Go"));
    dd = await startDrydock({
      dataDir,
      config: {
        auth: {
          users: [
            {
              username: "alice",
              passwordHash: bcrypt.hashSync("alice-password-not-used", 4),
              access: [{ repository: "team/*", actions: ["pull"] }],
            },
            {
              username: "admin",
              passwordHash: bcrypt.hashSync(ADMIN_PASSWORD, 4),
              access: [{ repository: "**", actions: ["pull", "push", "delete", "admin"] }],
            },
          ],
        },
        aws: {
          accountId: ACCOUNT,
          credentials: [
            { ...ALICE, user: "alice" },
            { ...ADMIN, user: "admin" },
          ],
        },
      },
    });
    alice = client(ALICE);
    admin = client(ADMIN);
    const enable = await awsCli(
      dd.url,
      await awsEnv(join(work, "admin"), ADMIN.accessKeyId, ADMIN.secretAccessKey),
    )("inspector2", "enable", "--resource-types", "ECR");
    expect(enable.code, enable.stderr).toBe(0);
    for (const repo of ["team/app", "other/app"]) {
      const push = await skopeo([
        "copy",
        "--quiet",
        "--dest-tls-verify=false",
        "--dest-creds",
        `admin:${ADMIN_PASSWORD}`,
        `oci:${ociLayout("java-app")}`,
        `docker://${dd.addr}/${repo}:v1`,
      ]);
      expect(push.code, push.stderr).toBe(0);
    }
    const end = Date.now() + 60_000;
    for (;;) {
      const repos = new Set((await all(admin)).map(repoOf));
      if (repos.has("team/app") && repos.has("other/app")) break;
      if (Date.now() > end) throw new Error(`the images were not scanned:\n${dd.logs()}`);
      await new Promise((r) => setTimeout(r, 300));
    }
  }, 120_000);
  afterAll(async () => {
    alice?.destroy();
    admin?.destroy();
    await dd?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("ListFindings shows alice the findings of team/app only, all of them", async () => {
    const everything = await all(admin);
    const mine = await all(alice);
    expect(new Set(everything.map(repoOf))).toEqual(new Set(["team/app", "other/app"]));
    expect(new Set(mine.map(repoOf))).toEqual(new Set(["team/app"]));
    expect(mine.map((f) => f.findingArn).sort()).toEqual(
      everything
        .filter((f) => repoOf(f) === "team/app")
        .map((f) => f.findingArn)
        .sort(),
    );
    // Naming a repository she may not pull in a filter matches nothing (no error, nothing leaked).
    const named = await alice.send(
      new ListFindingsCommand({
        filterCriteria: { ecrImageRepositoryName: [{ comparison: "EQUALS", value: "other/app" }] },
      }),
    );
    expect(named.findings).toEqual([]);
  });

  it("aggregations and coverage show alice team/app only", async () => {
    const agg = await alice.send(new ListFindingAggregationsCommand({ aggregationType: "REPOSITORY" }));
    expect(agg.responses?.map((r) => r.repositoryAggregation?.repository)).toEqual(["team/app"]);
    const images = await alice.send(
      new ListFindingAggregationsCommand({ aggregationType: "AWS_ECR_CONTAINER" }),
    );
    expect(images.responses?.map((r) => r.awsEcrContainerAggregation?.repository)).toEqual(["team/app"]);
    const adminAgg = await admin.send(new ListFindingAggregationsCommand({ aggregationType: "REPOSITORY" }));
    expect(adminAgg.responses?.map((r) => r.repositoryAggregation?.repository).sort()).toEqual([
      "other/app",
      "team/app",
    ]);
    const cov = await alice.send(new ListCoverageCommand({}));
    expect(cov.coveredResources?.length).toBeGreaterThan(0);
    expect(cov.coveredResources?.every((c) => c.resourceId?.includes("/team/app"))).toBe(true);
    expect(cov.coveredResources?.some((c) => c.resourceId?.includes("/other/app"))).toBe(false);
    expect(cov.coveredResources?.some((c) => c.resourceId?.includes("/team/app"))).toBe(true);
  });

  it("BatchGetFindingDetails answers alice's findings and refuses other/app's as not found", async () => {
    const everything = await all(admin);
    const theirs = everything.find((f) => repoOf(f) === "other/app")!.findingArn!;
    const ours = everything.find((f) => repoOf(f) === "team/app")!.findingArn!;
    const r = await alice.send(new BatchGetFindingDetailsCommand({ findingArns: [ours, theirs] }));
    expect(r.findingDetails?.map((d) => d.findingArn)).toEqual([ours]);
    expect(r.errors).toEqual([
      { findingArn: theirs, errorCode: "FINDING_DETAILS_NOT_FOUND", errorMessage: "No such finding." },
    ]);
  });

  it("filters and configuration changes need admin (AccessDeniedException), and change nothing", async () => {
    await expect(
      alice.send(
        new CreateFilterCommand({
          name: "hide-everything",
          action: "SUPPRESS",
          filterCriteria: { findingStatus: [{ comparison: "EQUALS", value: "ACTIVE" }] },
        }),
      ),
    ).rejects.toMatchObject({ name: "AccessDeniedException" });
    await expect(
      alice.send(new UpdateConfigurationCommand({ ecrConfiguration: { rescanDuration: "DAYS_14" } })),
    ).rejects.toMatchObject({ name: "AccessDeniedException" });
    const mine = await all(alice);
    expect(mine.length).toBeGreaterThan(0);
    expect(mine.every((f) => f.status === "ACTIVE")).toBe(true);
  });
});
