import { createHash } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { Readable } from "node:stream";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Fastify, { type FastifyInstance } from "fastify";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AwsLoginTokens } from "../../auth/aws-login.js";
import { createLogger } from "../../core/logger.js";
import { RegistryService } from "../../registry/service.js";
import type {
  ImageScanState,
  ImageScanSummary,
  RegistryScanningConfiguration,
  ScanService,
} from "../../scan/types.js";
import { ScanError } from "../../scan/types.js";
import { FsBlobStore } from "../../storage/blob/fs.js";
import { openSqliteMetaStore } from "../../storage/meta/sqlite.js";
import type { MetaStore } from "../../storage/meta/store.js";
import { isImmutableTag } from "../../settings/tags.js";
import { RepositorySettingsService } from "../../settings/service.js";
import { awsAuth, registerEcrApi } from "./protocol.js";

/** A small in-memory ScanService: configuration stored as given, scans complete at once. */
function fakeScan(): ScanService {
  let config: RegistryScanningConfiguration = { scanType: "BASIC", rules: [] };
  const states = new Map<string, ImageScanState>();
  return {
    getRegistryScanningConfiguration: async () => config,
    putRegistryScanningConfiguration: async (c) => (config = c),
    repositoryCreated: async () => {},
    repositoryScanningConfiguration: async (names) =>
      names.map((repositoryName) => ({
        repositoryName,
        scanOnPush: false,
        scanFrequency: "MANUAL",
        appliedScanFilters: [],
      })),
    startImageScan: async (repositoryName, imageDigest) => {
      const key = `${repositoryName}@${imageDigest}`;
      if (states.has(key))
        throw new ScanError(
          "LimitExceeded",
          "The scan quota per image has been exceeded. Wait and try again.",
        );
      states.set(key, {
        repositoryName,
        imageDigest,
        status: "COMPLETE",
        completedAt: 1_700_000_000_500,
        scanType: "BASIC",
      });
      return { repositoryName, imageDigest, status: "IN_PROGRESS", scanType: "BASIC" };
    },
    imageScanState: async (r, d) => states.get(`${r}@${d}`) ?? null,
    imageScanSummaries: async (r, digests) => {
      const out = new Map<string, ImageScanSummary>();
      for (const d of digests) {
        const state = states.get(`${r}@${d}`);
        if (state) out.set(d, { state, severityCounts: { HIGH: 1 } });
      }
      return out;
    },
    imageScanFindings: async (r, d) => {
      const state = states.get(`${r}@${d}`);
      if (!state) throw new ScanError("ScanNotFound", "no scan");
      return {
        state,
        severityCounts: { HIGH: 1 },
        findings: [
          {
            vulnerabilityId: "CVE-2024-0001",
            aliases: [],
            severity: "HIGH",
            severitySource: "cvss-v3",
            description: "d",
            package: {
              name: "openssl",
              version: "3.0.1",
              ecosystem: "deb",
              purl: "",
              layer: "sha256:aa",
              path: "",
            },
            fixAvailable: "YES",
            status: "affected",
            cvss: [{ type: "CVSS_V3", vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N", score: 7.5 }],
            kev: false,
            references: [],
            source: "test",
            explanation: {
              advisory: "x",
              source: "x",
              ecosystem: "x",
              package: "x",
              version: "x",
              scheme: "deb",
              matched: "range",
            },
          },
        ],
      };
    },
    onManifestPushed: async () => undefined,
  } as ScanService;
}

describe("ECR JSON 1.1 protocol (Fastify inject, fake scan engine)", () => {
  let dir: string;
  let meta: MetaStore;
  let app: FastifyInstance;
  let registry: RegistryService;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "drydock-ecr-unit-"));
    meta = await openSqliteMetaStore(join(dir, "meta.db"));
    const blobs = await FsBlobStore.open(dir);
    const settings = new RepositorySettingsService(meta);
    registry = new RegistryService(
      meta,
      blobs,
      {
        maxManifestBytes: 1 << 20,
        createRepositoryOnPush: true,
        aws: { accountId: "123456789012", region: "eu-west-1" },
      },
      [settings.registryHooks()],
    );
    app = Fastify();
    app.removeAllContentTypeParsers();
    app.addContentTypeParser("*", (_r, _p, done) => done(null, undefined));
    registerEcrApi(app, {
      deps: {
        accountId: "123456789012",
        region: "eu-west-1",
        settings,
        registry,
        scan: fakeScan(),
        loginTokens: new AwsLoginTokens({ ttlSeconds: 60 }),
      },
      auth: awsAuth({ credentials: [], users: [], accountId: "123456789012" }),
      log: createLogger("silent"),
    });
  });
  afterEach(async () => {
    await app.close();
    await meta.close();
    await rm(dir, { recursive: true, force: true });
  });

  const call = async (op: string, body: unknown) => {
    const r = await app.inject({
      method: "POST",
      url: "/",
      headers: {
        "x-amz-target": `AmazonEC2ContainerRegistry_V20150921.${op}`,
        "content-type": "application/x-amz-json-1.1",
      },
      payload: typeof body === "string" ? body : JSON.stringify(body),
    });
    return { status: r.statusCode, body: r.json() as Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any
  };

  async function pushImage(repo: string, tag: string, config = "{}") {
    const cfg = Buffer.from(config);
    const cfgDigest = await registry.monolithicUpload(
      repo,
      `sha256:${createHash("sha256").update(cfg).digest("hex")}`,
      Readable.from([cfg]),
    );
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        config: {
          mediaType: "application/vnd.oci.image.config.v1+json",
          digest: cfgDigest,
          size: cfg.length,
        },
        layers: [],
      }),
    );
    return (await registry.putManifest(repo, tag, manifest, "application/vnd.oci.image.manifest.v1+json"))
      .digest;
  }

  it("creates, describes with epoch-second timestamps and ARNs in the configured region", async () => {
    const c = await call("CreateRepository", {
      repositoryName: "a/b",
      imageScanningConfiguration: { scanOnPush: true },
      tags: [{ Key: "k", Value: "v" }],
    });
    expect(c.status).toBe(200);
    expect(c.body.repository).toMatchObject({
      repositoryArn: "arn:aws:ecr:eu-west-1:123456789012:repository/a/b",
      repositoryUri: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/a/b",
      imageScanningConfiguration: { scanOnPush: true },
    });
    expect(typeof c.body.repository.createdAt).toBe("number");
    expect((await meta.settings.repository("a/b"))?.scanOnPush).toBe(true);
  });

  it("scan, findings in the basic shape, then the quota error", async () => {
    const digest = await pushImage("repo1", "v1");
    expect(
      (await call("StartImageScan", { repositoryName: "repo1", imageId: { imageTag: "v1" } })).body
        .imageScanStatus,
    ).toEqual({ status: "IN_PROGRESS" });
    const f = await call("DescribeImageScanFindings", {
      repositoryName: "repo1",
      imageId: { imageDigest: digest },
    });
    expect(f.body.imageScanFindings).toMatchObject({
      imageScanCompletedAt: 1_700_000_000.5,
      findingSeverityCounts: { HIGH: 1 },
      findings: [
        {
          name: "CVE-2024-0001",
          severity: "HIGH",
          uri: "https://nvd.nist.gov/vuln/detail/CVE-2024-0001",
          attributes: [
            { key: "package_name", value: "openssl" },
            { key: "package_version", value: "3.0.1" },
            { key: "CVSS3_VECTOR", value: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N" },
            { key: "CVSS3_SCORE", value: "7.5" },
          ],
        },
      ],
    });
    const again = await call("StartImageScan", { repositoryName: "repo1", imageId: { imageTag: "v1" } });
    expect(again).toMatchObject({ status: 400, body: { __type: "LimitExceededException" } });
    const other = await call("DescribeImageScanFindings", {
      repositoryName: "repo1",
      imageId: { imageTag: "v1", imageDigest: "sha256:" + "1".repeat(64) },
    });
    expect(other.body.__type).toBe("ImageNotFoundException");
  });

  it("IMMUTABLE refuses a tag move in the registry (the settings service's registry hook)", async () => {
    await pushImage("imm", "v1", '{"a":1}');
    await call("PutImageTagMutability", { repositoryName: "imm", imageTagMutability: "IMMUTABLE" });
    await expect(pushImage("imm", "v1", '{"a":2}')).rejects.toMatchObject({ code: "TAG_INVALID" });
    await expect(pushImage("imm", "v2", '{"a":2}')).resolves.toMatch(/^sha256:/);
  });

  it("pages ListImages with nextToken and rejects a forged token", async () => {
    for (const t of ["a", "b", "c"]) await pushImage("pg", t, `{"t":"${t}"}`);
    const seen: string[] = [];
    let token: string | undefined;
    do {
      const r = await call("ListImages", {
        repositoryName: "pg",
        maxResults: 2,
        ...(token ? { nextToken: token } : {}),
      });
      seen.push(...r.body.imageIds.map((i: { imageTag: string }) => i.imageTag));
      token = r.body.nextToken;
    } while (token);
    expect(seen.sort()).toEqual(["a", "b", "c"]);
    expect((await call("ListImages", { repositoryName: "pg", nextToken: "garbage" })).body.__type).toBe(
      "InvalidParameterException",
    );
  });
});

describe("tag mutability with exclusions", () => {
  it("follows ECR's four modes", () => {
    const ex = [{ filter: "latest" }, { filter: "dev-*" }];
    expect(isImmutableTag("MUTABLE", null, "v1")).toBe(false);
    expect(isImmutableTag("IMMUTABLE", null, "v1")).toBe(true);
    expect(isImmutableTag("IMMUTABLE_WITH_EXCLUSION", ex, "latest")).toBe(false);
    expect(isImmutableTag("IMMUTABLE_WITH_EXCLUSION", ex, "v1")).toBe(true);
    expect(isImmutableTag("MUTABLE_WITH_EXCLUSION", ex, "dev-1")).toBe(true);
    expect(isImmutableTag("MUTABLE_WITH_EXCLUSION", ex, "v1")).toBe(false);
  });
});
