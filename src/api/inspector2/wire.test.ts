import {
  BatchGetFindingDetailsCommand,
  CreateFilterCommand,
  CreateSbomExportCommand,
  DeleteFilterCommand,
  GetConfigurationCommand,
  GetSbomExportCommand,
  Inspector2Client,
  ListFindingsCommand,
  ListTagsForResourceCommand,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateConfigurationCommand,
  paginateListFilters,
  paginateListFindingAggregations,
  paginateListFindings,
  ValidationException,
  type Finding,
} from "@aws-sdk/client-inspector2";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, mkdir, rm, writeFile } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createLogger } from "../../core/logger.js";
import { openAuthorizer } from "../../auth/types.js";
import type { Config } from "../../config/schema.js";
import { RegistryService } from "../../registry/service.js";
import { buildServer } from "../../server.js";
import { FsBlobStore } from "../../storage/blob/fs.js";
import { openSqliteMetaStore } from "../../storage/meta/sqlite.js";
import type { MetaStore } from "../../storage/meta/store.js";
import { setupInspector2Api } from "./index.js";
import { findingRecord, MemoryInspector2Backend } from "./testing.js";

/**
 * The Inspector2 API on a listening server, mounted as `drydock serve` mounts it, over the
 * test-double backend, with real clients: @aws-sdk/client-inspector2 (SigV4, paginators, error
 * classes) and Debian's AWS CLI 2.9 (`/usr/bin/aws inspector2 ...`, which has the older model:
 * no epssScore, no SBOM exports, no pull-date rescan settings; the SDK covers those).
 */

const ACCOUNT = "123456789012";
const REGION = "us-east-1";
const ALICE = {
  accessKeyId: "AKIAALICEINSPECTOR01",
  secretAccessKey: "alice-secret-0123456789",
  user: "alice",
};
const OPS = { accessKeyId: "AKIAOPSINSPECTOR0001", secretAccessKey: "ops-secret-0123456789", user: "ops" };
const AWS_CLI = "/usr/bin/aws";

describe("Inspector2 API with real clients", () => {
  let app: FastifyInstance;
  let url: string;
  let backend: MemoryInspector2Backend;
  let work: string;
  let meta: MetaStore;
  const sdk = (k: { accessKeyId: string; secretAccessKey: string }) =>
    new Inspector2Client({ endpoint: url, region: REGION, credentials: k, maxAttempts: 1 });

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "drydock-inspector2-wire-"));
    backend = new MemoryInspector2Backend({ accountId: ACCOUNT, region: REGION }, () => 1_700_000_500_000);
    // Mounted as drydock serve mounts the AWS APIs: buildServer's extraRoutes, beside /v2.
    meta = await openSqliteMetaStore(":memory:");
    const service = new RegistryService(meta, await FsBlobStore.open(work), {
      maxManifestBytes: 1 << 20,
      createRepositoryOnPush: true,
      aws: { accountId: ACCOUNT, region: REGION },
    });
    const config = {
      aws: { accountId: ACCOUNT, region: REGION, credentials: [ALICE, OPS] },
      auth: {
        users: [
          { username: "alice", passwordHash: "x", access: [{ repository: "team/*", actions: ["pull"] }] },
          {
            username: "ops",
            passwordHash: "x",
            access: [{ repository: "**", actions: ["pull", "push", "delete", "admin"] }],
          },
        ],
      },
    } as unknown as Config;
    const routes = setupInspector2Api(config, { backend, log: createLogger("silent") });
    app = buildServer({
      service,
      auth: openAuthorizer,
      log: createLogger("silent"),
      maxManifestBytes: 1 << 20,
      extraRoutes: routes,
    }).app;
    await app.listen({ host: "127.0.0.1", port: 0 });
    url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await app?.close();
    await meta?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });
  beforeEach(() => {
    backend.findings.length = 0;
    backend.filters.clear();
    let i = 0;
    for (const repo of ["team/app", "team/db", "other/x"])
      for (const sev of ["CRITICAL", "HIGH", "LOW"] as const)
        backend.findings.push(
          findingRecord({
            repositoryName: repo,
            reportedSeverity: sev,
            firstObservedAt: 1_700_000_000_000 + ++i * 60_000,
            epss: { score: i / 10, percentile: 0.5 },
            vulnerabilityId: `CVE-2024-${1000 + i}`,
          }),
        );
  });

  it("the registry's /v2 routes answer beside the Inspector2 routes", async () => {
    expect((await fetch(`${url}/v2/`)).status).toBe(200);
    expect((await fetch(`${url}/v2/_catalog`)).status).toBe(200);
  });

  describe("@aws-sdk/client-inspector2", () => {
    it("paginateListFindings walks every visible finding, newest first, with Date timestamps", async () => {
      const alice = sdk(ALICE);
      const seen: Finding[] = [];
      let pages = 0;
      for await (const page of paginateListFindings({ client: alice, pageSize: 2 }, {})) {
        pages++;
        seen.push(...(page.findings ?? []));
      }
      expect(pages).toBe(3);
      expect(seen).toHaveLength(6);
      expect(
        new Set(seen.map((f) => f.resources![0]!.details!.awsEcrContainerImage!.repositoryName)),
      ).toEqual(new Set(["team/app", "team/db"]));
      expect(seen[0]!.firstObservedAt).toBeInstanceOf(Date);
      const times = seen.map((f) => f.firstObservedAt!.getTime());
      expect(times).toEqual([...times].sort((a, b) => b - a));
      expect(seen[0]!.remediation!.recommendation!.Url).toMatch(/^https:/);
      alice.destroy();
    });

    it("filterCriteria with Date ranges and epssScore, sortCriteria", async () => {
      const ops = sdk(OPS);
      const r = await ops.send(
        new ListFindingsCommand({
          filterCriteria: {
            firstObservedAt: [{ startInclusive: new Date(1_700_000_000_000 + 3 * 60_000) }],
            severity: [
              { comparison: "EQUALS", value: "CRITICAL" },
              { comparison: "EQUALS", value: "HIGH" },
            ],
            epssScore: [{ lowerInclusive: 0.35 }],
          },
          sortCriteria: { field: "EPSS_SCORE", sortOrder: "ASC" },
        }),
      );
      expect(r.findings!.map((f) => [f.packageVulnerabilityDetails!.vulnerabilityId, f.severity])).toEqual([
        ["CVE-2024-1004", "CRITICAL"],
        ["CVE-2024-1005", "HIGH"],
        ["CVE-2024-1007", "CRITICAL"],
        ["CVE-2024-1008", "HIGH"],
      ]);
      expect(r.findings![0]!.epss!.score).toBeCloseTo(0.4);
      ops.destroy();
    });

    it("errors arrive as the SDK's modeled classes: ValidationException with fields, AccessDenied, ResourceNotFound", async () => {
      const ops = sdk(OPS);
      const v = await ops.send(new ListFindingsCommand({ maxResults: 500 })).catch((e: unknown) => e);
      expect(v).toBeInstanceOf(ValidationException);
      expect(v).toMatchObject({
        name: "ValidationException",
        reason: "FIELD_VALIDATION_FAILED",
        fields: [{ name: "maxResults", message: "Member must have value less than or equal to 100" }],
        $metadata: { httpStatusCode: 400 },
      });
      const alice = sdk(ALICE);
      const denied = await alice
        .send(
          new CreateFilterCommand({
            name: "x",
            action: "SUPPRESS",
            filterCriteria: { severity: [{ comparison: "EQUALS", value: "LOW" }] },
          }),
        )
        .catch((e: unknown) => e);
      expect(denied).toMatchObject({ name: "AccessDeniedException", $metadata: { httpStatusCode: 403 } });
      expect((denied as Error).message).toMatch(
        /alice is not authorized to perform: inspector2:CreateFilter/,
      );
      const missing = await ops
        .send(
          new DeleteFilterCommand({
            arn: `arn:aws:inspector2:${REGION}:${ACCOUNT}:owner/${ACCOUNT}/filter/none`,
          }),
        )
        .catch((e: unknown) => e);
      expect(missing).toMatchObject({
        name: "ResourceNotFoundException",
        $metadata: { httpStatusCode: 404 },
      });
      const wrong = await sdk({ ...ALICE, secretAccessKey: "not-alice-secret-000000" })
        .send(new ListFindingsCommand({}))
        .catch((e: unknown) => e);
      expect(wrong).toMatchObject({ name: "InvalidSignatureException", $metadata: { httpStatusCode: 403 } });
      ops.destroy();
      alice.destroy();
    });

    it("filters, their tags through the URI label, and the ListFilters paginator", async () => {
      const ops = sdk(OPS);
      const arns: string[] = [];
      for (const name of ["a", "b", "c"])
        arns.push(
          (
            await ops.send(
              new CreateFilterCommand({
                name,
                action: "NONE",
                filterCriteria: {
                  vulnerablePackages: [{ name: { comparison: "EQUALS", value: "openssl" } }],
                },
                tags: { owner: "ops" },
              }),
            )
          ).arn!,
        );
      const listed: string[] = [];
      for await (const page of paginateListFilters({ client: ops, pageSize: 2 }, {}))
        for (const f of page.filters ?? []) {
          listed.push(f.arn!);
          expect(f.criteria!.vulnerablePackages![0]!.name!.value).toBe("openssl");
          expect(f.createdAt).toBeInstanceOf(Date);
        }
      expect(listed.sort()).toEqual([...arns].sort());
      await ops.send(
        new TagResourceCommand({ resourceArn: arns[0], tags: { "drydock:expires-at": "2030-01-01" } }),
      );
      await ops.send(new UntagResourceCommand({ resourceArn: arns[0], tagKeys: ["owner"] }));
      expect((await ops.send(new ListTagsForResourceCommand({ resourceArn: arns[0] }))).tags).toEqual({
        "drydock:expires-at": "2030-01-01",
      });
      ops.destroy();
    });

    it("aggregations page; finding details; SBOM exports; pull-date rescan settings", async () => {
      const ops = sdk(OPS);
      const repos: string[] = [];
      for await (const page of paginateListFindingAggregations(
        { client: ops, pageSize: 1 },
        {
          aggregationType: "REPOSITORY",
          aggregationRequest: { repositoryAggregation: { sortBy: "ALL", sortOrder: "ASC" } },
        },
      ))
        for (const r of page.responses ?? []) repos.push(r.repositoryAggregation!.repository!);
      expect(repos).toEqual(["other/x", "team/app", "team/db"]);
      const arn = backend.findings[0]!.findingArn;
      const d = await ops.send(new BatchGetFindingDetailsCommand({ findingArns: [arn] }));
      expect(d.findingDetails![0]).toMatchObject({ findingArn: arn, epssScore: 0.1 });
      const { reportId } = await ops.send(
        new CreateSbomExportCommand({
          reportFormat: "CYCLONEDX_1_4",
          s3Destination: { bucketName: "sboms", kmsKeyArn: "arn:aws:kms:us-east-1:123456789012:key/x" },
          resourceFilterCriteria: { ecrRepositoryName: [{ comparison: "EQUALS", value: "team/app" }] },
        }),
      );
      expect((await ops.send(new GetSbomExportCommand({ reportId }))).status).toBe("IN_PROGRESS");
      await ops.send(
        new UpdateConfigurationCommand({
          ecrConfiguration: {
            rescanDuration: "DAYS_30",
            pullDateRescanDuration: "DAYS_14",
            pullDateRescanMode: "LAST_PULL_DATE",
          },
        }),
      );
      const cfg = await ops.send(new GetConfigurationCommand({}));
      expect(cfg.ecrConfiguration!.rescanDurationState).toMatchObject({
        rescanDuration: "DAYS_30",
        pullDateRescanDuration: "DAYS_14",
        pullDateRescanMode: "LAST_PULL_DATE",
        status: "SUCCESS",
      });
      expect(cfg.ecrConfiguration!.rescanDurationState!.updatedAt).toBeInstanceOf(Date);
      ops.destroy();
    });
  });

  describe.skipIf(!existsSync(AWS_CLI))("the AWS CLI (awscli 2.9)", () => {
    const cli = async (key: typeof ALICE, ...args: string[]) => {
      const home = join(work, key.user);
      await mkdir(home, { recursive: true });
      await writeFile(join(home, "config"), `[default]\nregion = ${REGION}\n`);
      return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
        execFile(
          AWS_CLI,
          ["inspector2", ...args, "--endpoint-url", url, "--output", "json"],
          {
            env: {
              PATH: process.env.PATH,
              HOME: home,
              AWS_CONFIG_FILE: join(home, "config"),
              AWS_SHARED_CREDENTIALS_FILE: join(home, "credentials"),
              AWS_ACCESS_KEY_ID: key.accessKeyId,
              AWS_SECRET_ACCESS_KEY: key.secretAccessKey,
              AWS_PAGER: "",
            },
            timeout: 120_000,
          },
          (err, stdout, stderr) =>
            resolve({ code: err ? (typeof err.code === "number" ? err.code : 1) : 0, stdout, stderr }),
        );
      });
    };

    it("list-findings --filter-criteria, auto-paginated with --page-size", async () => {
      const r = await cli(
        OPS,
        "list-findings",
        "--filter-criteria",
        JSON.stringify({
          severity: [{ comparison: "EQUALS", value: "CRITICAL" }],
          ecrImageRepositoryName: [{ comparison: "PREFIX", value: "team/" }],
          vulnerablePackages: [{ name: { comparison: "EQUALS", value: "openssl" } }],
        }),
        "--sort-criteria",
        "field=ECR_IMAGE_REPOSITORY_NAME,sortOrder=ASC",
        "--page-size",
        "1",
      );
      expect(r.code, r.stderr).toBe(0);
      const out = JSON.parse(r.stdout) as {
        findings: {
          resources: { details: { awsEcrContainerImage: { repositoryName: string } } }[];
          severity: string;
          firstObservedAt: unknown;
        }[];
      };
      expect(
        out.findings.map((f) => [f.resources[0]!.details.awsEcrContainerImage.repositoryName, f.severity]),
      ).toEqual([
        ["team/app", "CRITICAL"],
        ["team/db", "CRITICAL"],
      ]);
    });

    it("a user without pull sees nothing of those repositories; without admin, create-filter is denied", async () => {
      const r = await cli(
        ALICE,
        "list-findings",
        "--filter-criteria",
        '{"ecrImageRepositoryName":[{"comparison":"EQUALS","value":"other/x"}]}',
      );
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout).findings).toEqual([]);
      const d = await cli(
        ALICE,
        "create-filter",
        "--name",
        "mine",
        "--action",
        "SUPPRESS",
        "--filter-criteria",
        '{"severity":[{"comparison":"EQUALS","value":"LOW"}]}',
      );
      expect(d.code).toBe(254);
      expect(d.stderr).toMatch(
        /An error occurred \(AccessDeniedException\) when calling the CreateFilter operation: User: arn:aws:iam::123456789012:user\/alice is not authorized to perform: inspector2:CreateFilter/,
      );
    });

    it("validation errors name the field", async () => {
      const r = await cli(
        OPS,
        "list-findings",
        "--max-results",
        "500",
        "--filter-criteria",
        '{"title":[{"comparison":"EQUALS","value":"x"}]}',
      );
      expect(r.code).toBe(254);
      expect(r.stderr).toMatch(
        /An error occurred \(ValidationException\) when calling the ListFindings operation: 1 validation error detected: Value at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 100/,
      );
    });

    // Three tests, not one: each spawns a handful of AWS CLI processes (about 1 s each, more on
    // a loaded machine), well inside the per-test timeout.
    it("a SUPPRESS filter: listed, suppressing, seen by aggregations, deleted", async () => {
      const c = await cli(
        OPS,
        "create-filter",
        "--name",
        "accepted",
        "--action",
        "SUPPRESS",
        "--reason",
        "accepted risk",
        "--filter-criteria",
        '{"severity":[{"comparison":"EQUALS","value":"LOW"}]}',
      );
      expect(c.code, c.stderr).toBe(0);
      const arn = JSON.parse(c.stdout).arn as string;
      const l = await cli(OPS, "list-filters");
      expect(JSON.parse(l.stdout).filters).toEqual([
        expect.objectContaining({
          arn,
          name: "accepted",
          action: "SUPPRESS",
          criteria: { severity: [{ comparison: "EQUALS", value: "LOW" }] },
        }),
      ]);
      const suppressed = await cli(
        OPS,
        "list-findings",
        "--filter-criteria",
        '{"findingStatus":[{"comparison":"EQUALS","value":"SUPPRESSED"}]}',
      );
      expect(JSON.parse(suppressed.stdout).findings).toHaveLength(3);
      const agg = await cli(OPS, "list-finding-aggregations", "--aggregation-type", "AWS_ECR_CONTAINER");
      expect(agg.code, agg.stderr).toBe(0);
      expect(JSON.parse(agg.stdout).responses).toHaveLength(3);
      expect((await cli(OPS, "delete-filter", "--arn", arn)).code).toBe(0);
    });

    it("filter tags: tag-resource, list-tags-for-resource, untag-resource", async () => {
      const c = await cli(
        OPS,
        "create-filter",
        "--name",
        "tagged",
        "--action",
        "NONE",
        "--filter-criteria",
        '{"severity":[{"comparison":"EQUALS","value":"LOW"}]}',
      );
      expect(c.code, c.stderr).toBe(0);
      const arn = JSON.parse(c.stdout).arn as string;
      expect((await cli(OPS, "tag-resource", "--resource-arn", arn, "--tags", "owner=ops")).code).toBe(0);
      expect(
        JSON.parse((await cli(OPS, "list-tags-for-resource", "--resource-arn", arn)).stdout).tags,
      ).toEqual({ owner: "ops" });
      expect((await cli(OPS, "untag-resource", "--resource-arn", arn, "--tag-keys", "owner")).code).toBe(0);
      expect((await cli(OPS, "delete-filter", "--arn", arn)).code).toBe(0);
    });

    it("configuration and activation", async () => {
      expect(
        (await cli(OPS, "update-configuration", "--ecr-configuration", "rescanDuration=DAYS_90")).code,
      ).toBe(0);
      expect(
        JSON.parse((await cli(ALICE, "get-configuration")).stdout).ecrConfiguration.rescanDurationState
          .rescanDuration,
      ).toBe("DAYS_90");
      const e = await cli(OPS, "enable", "--resource-types", "ECR");
      expect(e.code, e.stderr).toBe(0);
      expect(JSON.parse(e.stdout).accounts[0].resourceStatus.ecr).toBe("ENABLED");
      expect(JSON.parse((await cli(ALICE, "batch-get-account-status")).stdout).accounts[0].state.status).toBe(
        "ENABLED",
      );
    });
  });
});
