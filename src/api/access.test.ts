import { createHash } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import Fastify, { type FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AwsLoginTokens } from "../auth/aws-login.js";
import { AccessRules } from "../auth/rules.js";
import type { AccessRule } from "../config/schema.js";
import { createLogger } from "../core/logger.js";
import { RegistryService } from "../registry/service.js";
import type { ScanService } from "../scan/types.js";
import { RepositorySettingsService } from "../settings/service.js";
import { FsBlobStore } from "../storage/blob/fs.js";
import { openSqliteMetaStore } from "../storage/meta/sqlite.js";
import type { MetaStore } from "../storage/meta/store.js";
import { authorize, AwsPrincipal, ecrAccess, type Need } from "./access.js";
import { AwsError, type AwsAuthOptions } from "./aws-json.js";
import type { EcrDeps } from "./ecr/context.js";
import { awsAuth, ecrService, registerEcrApi } from "./ecr/protocol.js";

const ACCOUNT = "123456789012";
const REGION = "eu-west-1";
const arn = (name: string) => `arn:aws:ecr:${REGION}:${ACCOUNT}:repository/${name}`;
const table = ecrAccess({ region: REGION, accountId: ACCOUNT });

const ALICE: AccessRule[] = [
  { repository: "team/*", actions: ["pull"] },
  { repository: "alice/**", actions: ["pull", "push", "delete"] },
  { repository: "ci/*", actions: ["pull", "push"] },
];
const ADMIN: AccessRule[] = [{ repository: "**", actions: ["pull", "push", "delete", "admin"] }];

const alice = AwsPrincipal.user(ACCOUNT, "alice", new AccessRules(ALICE), "AKIAALICE");
const admin = AwsPrincipal.user(ACCOUNT, "root-ops", new AccessRules(ADMIN), "AKIAADMIN");
const adminOnly = AwsPrincipal.user(
  ACCOUNT,
  "ops",
  new AccessRules([{ repository: "**", actions: ["admin"] }]),
);
const open = AwsPrincipal.unrestricted(ACCOUNT);

/** The error `authorize` throws, or null when allowed. */
function check(p: AwsPrincipal, op: string, input: Record<string, unknown>): AwsError | null {
  try {
    authorize(p, table, "ecr", op, input);
    return null;
  } catch (e) {
    if (e instanceof AwsError) return e;
    throw e;
  }
}

describe("AwsPrincipal", () => {
  it("acts with its user's rules", () => {
    expect(alice.arn).toBe(`arn:aws:iam::${ACCOUNT}:user/alice`);
    expect(alice.restricted).toBe(true);
    expect(alice.may("pull", "team/app")).toBe(true);
    expect(alice.may("push", "team/app")).toBe(false);
    expect(alice.may("pull", "team/app/dev")).toBe(false);
    expect(alice.may("pull", "other/x")).toBe(false);
    expect(alice.may("delete", "alice/a/b")).toBe(true);
    expect(alice.admin).toBe(false);
    expect(alice.pullsEverything).toBe(false);
    expect(admin.admin).toBe(true);
    expect(admin.pullsEverything).toBe(true);
  });

  it("admin implies no repository action", () => {
    expect(adminOnly.admin).toBe(true);
    expect(adminOnly.may("pull", "team/app")).toBe(false);
    expect(adminOnly.pullsEverything).toBe(false);
  });

  it("without auth.users, is unrestricted", () => {
    expect(open.restricted).toBe(false);
    expect(open.arn).toBe(`arn:aws:iam::${ACCOUNT}:root`);
    expect(open.may("delete", "anything/at/all")).toBe(true);
    expect(open.admin).toBe(true);
    expect(open.pullsEverything).toBe(true);
    expect(AwsPrincipal.unrestricted(ACCOUNT, "AKIA1", "ci").arn).toBe(`arn:aws:iam::${ACCOUNT}:user/ci`);
  });
});

describe("the ECR access table", () => {
  const repo = { repositoryName: "team/app" };
  /** The documented table (docs/access.md): operation → what it needs on `team/app`. */
  const expected: [string, Record<string, unknown>, string][] = [
    ["CreateRepository", repo, "push team/app"],
    ["DescribeRepositories", { repositoryNames: ["team/app", "team/lib"] }, "pull team/app, pull team/lib"],
    ["DescribeRepositories", {}, "any"],
    ["DeleteRepository", repo, "delete team/app"],
    ["PutImageScanningConfiguration", repo, "push team/app"],
    ["PutImageTagMutability", repo, "delete team/app"],
    ["BatchGetRepositoryScanningConfiguration", { repositoryNames: ["team/app"] }, "pull team/app"],
    ["ListImages", repo, "pull team/app"],
    ["DescribeImages", repo, "pull team/app"],
    ["BatchGetImage", repo, "pull team/app"],
    ["BatchDeleteImage", repo, "delete team/app"],
    ["PutImage", repo, "push team/app"],
    ["BatchCheckLayerAvailability", repo, "pull team/app"],
    ["GetDownloadUrlForLayer", repo, "pull team/app"],
    ["InitiateLayerUpload", repo, "push team/app"],
    ["UploadLayerPart", repo, "push team/app"],
    ["CompleteLayerUpload", repo, "push team/app"],
    ["StartImageScan", repo, "push team/app"],
    ["DescribeImageScanFindings", repo, "pull team/app"],
    ["GetLifecyclePolicy", repo, "pull team/app"],
    ["GetLifecyclePolicyPreview", repo, "pull team/app"],
    ["StartLifecyclePolicyPreview", repo, "pull team/app"],
    ["PutLifecyclePolicy", repo, "delete team/app"],
    ["DeleteLifecyclePolicy", repo, "delete team/app"],
    ["GetRepositoryPolicy", repo, "pull team/app"],
    ["SetRepositoryPolicy", repo, "admin *"],
    ["DeleteRepositoryPolicy", repo, "admin *"],
    ["GetAuthorizationToken", {}, "any"],
    ["DescribeRegistry", {}, "any"],
    ["GetRegistryScanningConfiguration", {}, "any"],
    ["PutRegistryScanningConfiguration", { scanType: "ENHANCED" }, "admin *"],
    ["GetRegistryPolicy", {}, "admin *"],
    ["PutRegistryPolicy", {}, "admin *"],
    ["DeleteRegistryPolicy", {}, "admin *"],
    ["PutReplicationConfiguration", {}, "admin *"],
  ];
  const show = (needs: Need[]) =>
    needs.length === 0
      ? "any"
      : needs
          .map((n) => (n.action === "admin" ? `admin ${n.resource}` : `${n.action} ${n.repository}`))
          .join(", ");

  it.each(expected)("%s %j needs %s", (op, input, needs) => {
    expect(show(table[op]!(input))).toBe(needs);
  });

  it("lists every operation once and nothing else", () => {
    expect(new Set(expected.map(([op]) => op))).toEqual(new Set(Object.keys(table)));
  });

  it("covers every implemented ECR operation", () => {
    const ops = Object.keys(ecrService({ accountId: ACCOUNT, region: REGION } as EcrDeps).operations);
    expect(ops.length).toBeGreaterThan(10);
    for (const op of ops) expect(Object.keys(table), op).toContain(op);
  });

  it("names repository resources by ARN", () => {
    expect(table.DescribeImages!(repo)).toEqual([
      { action: "pull", repository: "team/app", resource: arn("team/app") },
    ]);
  });

  it("needs nothing for names the operation will refuse as invalid (never a result)", () => {
    expect(table.DescribeImages!({})).toEqual([]);
    expect(table.DescribeImages!({ repositoryName: 42 })).toEqual([]);
    expect(table.DescribeRepositories!({ repositoryNames: "team/app" })).toEqual([]);
    expect(show(table.DescribeRepositories!({ repositoryNames: [1, "other/x"] }))).toBe("pull other/x");
  });
});

describe("authorize", () => {
  it("allows what the rules allow", () => {
    expect(check(alice, "DescribeImages", { repositoryName: "team/app" })).toBeNull();
    expect(check(alice, "BatchDeleteImage", { repositoryName: "alice/x" })).toBeNull();
    expect(check(alice, "CreateRepository", { repositoryName: "ci/new" })).toBeNull();
    expect(check(alice, "StartImageScan", { repositoryName: "ci/new" })).toBeNull();
    expect(check(alice, "DescribeRepositories", {})).toBeNull();
    expect(check(alice, "GetRegistryScanningConfiguration", {})).toBeNull();
    expect(check(alice, "GetAuthorizationToken", {})).toBeNull();
    expect(check(admin, "PutRegistryScanningConfiguration", {})).toBeNull();
    expect(check(adminOnly, "PutRegistryScanningConfiguration", {})).toBeNull();
    expect(check(open, "DeleteRepository", { repositoryName: "x/y" })).toBeNull();
  });

  it("refuses with AccessDeniedException naming the user, the IAM action, the resource and the rule", () => {
    const e = check(alice, "DescribeImages", { repositoryName: "other/x" });
    expect(e).toMatchObject({ code: "AccessDeniedException", status: 400 });
    expect(e!.message).toBe(
      `User: arn:aws:iam::${ACCOUNT}:user/alice is not authorized to perform: ecr:DescribeImages on resource: ` +
        `${arn("other/x")} because no access rule of user alice allows pull on other/x`,
    );
    const reg = check(alice, "PutRegistryScanningConfiguration", { scanType: "BASIC" });
    expect(reg!.message).toBe(
      `User: arn:aws:iam::${ACCOUNT}:user/alice is not authorized to perform: ecr:PutRegistryScanningConfiguration ` +
        `on resource: * because no access rule of user alice allows admin (a rule {repository: "**", actions: [admin]})`,
    );
  });

  it("refuses per action and per repository", () => {
    expect(check(alice, "PutImageScanningConfiguration", { repositoryName: "team/app" })?.code).toBe(
      "AccessDeniedException",
    );
    expect(check(alice, "PutImageTagMutability", { repositoryName: "ci/app" })?.message).toMatch(
      /ecr:PutImageTagMutability .* allows delete on ci\/app$/,
    );
    expect(check(alice, "DescribeImages", { repositoryName: "team/app/dev" })?.code).toBe(
      "AccessDeniedException",
    );
    expect(check(adminOnly, "DescribeImages", { repositoryName: "team/app" })?.code).toBe(
      "AccessDeniedException",
    );
  });

  it("refuses a list naming one repository the caller may not pull, naming that one", () => {
    const e = check(alice, "DescribeRepositories", { repositoryNames: ["team/app", "other/x", "other/y"] });
    expect(e?.message).toMatch(
      /on resource: arn:aws:ecr:eu-west-1:123456789012:repository\/other\/x because/,
    );
    expect(
      check(alice, "BatchGetRepositoryScanningConfiguration", { repositoryNames: ["team/a", "secret/b"] })
        ?.code,
    ).toBe("AccessDeniedException");
  });

  it("fails closed for an operation missing from the table, even when unrestricted", () => {
    const e = check(open, "LaunchRocket", {});
    expect(e?.code).toBe("AccessDeniedException");
    expect(e?.message).toMatch(
      /ecr:LaunchRocket on resource: \* because ecr:LaunchRocket is not in Drydock's access table/,
    );
    expect(check(open, "toString", {})?.code).toBe("AccessDeniedException");
  });
});

describe("awsAuth: whom a key acts as", () => {
  const users = [
    { username: "alice", access: ALICE },
    { username: "admin", access: ADMIN },
  ];
  const keys = [
    { accessKeyId: "AKIAALICE0000000", secretAccessKey: "s".repeat(16), user: "alice" },
    { accessKeyId: "AKIAADMIN0000000", secretAccessKey: "t".repeat(16), user: "admin" },
  ];

  it("with users and keys: SigV4, each key as its user", () => {
    const a = awsAuth({ credentials: keys, users, accountId: ACCOUNT });
    expect(a.mode).toBe("sigv4");
    expect(a.secretFor("AKIAALICE0000000")).toBe("s".repeat(16));
    const p = a.principal("AKIAALICE0000000")!;
    expect([p.user, p.accessKeyId, p.restricted, p.may("pull", "team/x"), p.admin]).toEqual([
      "alice",
      "AKIAALICE0000000",
      true,
      true,
      false,
    ]);
    expect(a.principal("AKIAADMIN0000000")!.admin).toBe(true);
    expect(a.principal("AKIAUNKNOWN00000")).toBeUndefined();
    expect(a.principal(undefined)).toBeUndefined();
  });

  it("a key naming no configured user acts as nobody", () => {
    const a = awsAuth({
      credentials: [{ accessKeyId: "AKIAGHOST0000000", secretAccessKey: "u".repeat(16), user: "ghost" }],
      users,
      accountId: ACCOUNT,
    });
    expect(a.principal("AKIAGHOST0000000")).toBeUndefined();
  });

  it("with users and no keys: closed", () => {
    expect(awsAuth({ credentials: [], users, accountId: ACCOUNT }).mode).toBe("closed");
  });

  it("without users: open (no keys) or SigV4 (keys), unrestricted either way", () => {
    const o = awsAuth({ credentials: [], users: [], accountId: ACCOUNT });
    expect(o.mode).toBe("open");
    expect(o.principal(undefined)!.restricted).toBe(false);
    const s = awsAuth({ credentials: keys, users: [], accountId: ACCOUNT });
    expect(s.mode).toBe("sigv4");
    const p = s.principal("AKIAALICE0000000")!;
    expect([p.restricted, p.user, p.admin]).toEqual([false, "alice", true]);
  });

  it("refuses an admin rule with a narrower pattern (ConfigError)", () => {
    expect(() =>
      awsAuth({
        credentials: keys,
        users: [{ username: "bob", access: [{ repository: "team/**", actions: ["admin"] }] }],
        accountId: ACCOUNT,
      }),
    ).toThrow(/access rule of user bob .* must be "\*\*"/);
  });
});

describe("the ECR API as a user (Fastify inject)", () => {
  let dir: string;
  let meta: MetaStore;
  let app: FastifyInstance;
  let registry: RegistryService;
  let as: AwsPrincipal;
  const loginTokens = new AwsLoginTokens({ ttlSeconds: 60 });
  const scanConfig = { scanType: "BASIC", rules: [] as unknown[] };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "drydock-access-unit-"));
    meta = await openSqliteMetaStore(join(dir, "meta.db"));
    const blobs = await FsBlobStore.open(dir);
    const settings = new RepositorySettingsService(meta);
    registry = new RegistryService(
      meta,
      blobs,
      {
        maxManifestBytes: 1 << 20,
        createRepositoryOnPush: true,
        aws: { accountId: ACCOUNT, region: REGION },
      },
      [settings.registryHooks()],
    );
    const scan = {
      getRegistryScanningConfiguration: async () => scanConfig,
      putRegistryScanningConfiguration: async (c: typeof scanConfig) => Object.assign(scanConfig, c),
      repositoryScanningConfiguration: async (names: string[]) =>
        names.map((repositoryName) => ({
          repositoryName,
          scanOnPush: false,
          scanFrequency: "MANUAL",
          appliedScanFilters: [],
        })),
      imageScanState: async () => null,
      imageScanSummaries: async () => new Map(),
      repositoryCreated: async () => {},
    } as unknown as ScanService;
    // Requests act as `as`: the dispatch path after SigV4 (which sigv4.test.ts and e2e cover).
    const auth: AwsAuthOptions = { mode: "open", secretFor: () => undefined, principal: () => as };
    app = Fastify();
    app.removeAllContentTypeParsers();
    app.addContentTypeParser("*", (_r, _p, done) => done(null, undefined));
    registerEcrApi(app, {
      deps: {
        accountId: ACCOUNT,
        region: REGION,
        settings,
        registry,
        scan,
        loginTokens,
      },
      auth,
      log: createLogger("silent"),
    });
    as = open;
    for (const name of ["alice/app", "ci/app", "other/x", "other/y", "team/a", "team/a/deep", "team/b", "zz"])
      await settings.createRepository(name, {});
    const cfg = Buffer.from("{}");
    const cfgDigest = await registry.monolithicUpload(
      "team/a",
      `sha256:${createHash("sha256").update(cfg).digest("hex")}`,
      Readable.from([cfg]),
    );
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: cfgDigest, size: cfg.length },
      layers: [],
    });
    await registry.putManifest(
      "team/a",
      "v1",
      Buffer.from(manifest),
      "application/vnd.oci.image.manifest.v1+json",
    );
  });
  afterAll(async () => {
    await app?.close();
    await meta?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const call = async (op: string, body: unknown) => {
    const r = await app.inject({
      method: "POST",
      url: "/",
      headers: {
        "x-amz-target": `AmazonEC2ContainerRegistry_V20150921.${op}`,
        "content-type": "application/x-amz-json-1.1",
      },
      payload: JSON.stringify(body),
    });
    return { status: r.statusCode, body: r.json() as Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any
  };

  /** Every page of DescribeRepositories with maxResults `n`: the names per page. */
  async function pages(n: number): Promise<string[][]> {
    const out: string[][] = [];
    let token: string | undefined;
    do {
      const r = await call("DescribeRepositories", { maxResults: n, ...(token ? { nextToken: token } : {}) });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      out.push(r.body.repositories.map((x: { repositoryName: string }) => x.repositoryName));
      token = r.body.nextToken;
    } while (token);
    return out;
  }

  it("a denied call is HTTP 400 AccessDeniedException and changes nothing", async () => {
    as = alice;
    const r = await call("DescribeImages", { repositoryName: "other/x" });
    expect(r.status).toBe(400);
    expect(r.body).toEqual({
      __type: "AccessDeniedException",
      message: `User: arn:aws:iam::${ACCOUNT}:user/alice is not authorized to perform: ecr:DescribeImages on resource: ${arn("other/x")} because no access rule of user alice allows pull on other/x`,
    });
    const put = await call("PutRegistryScanningConfiguration", { scanType: "ENHANCED" });
    expect(put.body.__type).toBe("AccessDeniedException");
    expect(scanConfig.scanType).toBe("BASIC");
    const create = await call("CreateRepository", { repositoryName: "other/new" });
    expect(create.body.__type).toBe("AccessDeniedException");
    expect(await meta.settings.repository("other/new")).toBeNull();
    const del = await call("DeleteRepository", { repositoryName: "team/a", force: true });
    expect(del.body.__type).toBe("AccessDeniedException");
    expect(await meta.settings.repository("team/a")).not.toBeNull();
  });

  it("authorization comes before existence: an unknown repository the caller may not pull is denied", async () => {
    as = alice;
    expect((await call("DescribeImages", { repositoryName: "other/none" })).body.__type).toBe(
      "AccessDeniedException",
    );
    expect((await call("DescribeImages", { repositoryName: "team/none" })).body.__type).toBe(
      "RepositoryNotFoundException",
    );
    // An invalid request is still the operation's InvalidParameterException.
    expect((await call("DescribeImages", { repositoryName: 7 })).body.__type).toBe(
      "InvalidParameterException",
    );
  });

  it("allowed calls answer as before", async () => {
    as = alice;
    const r = await call("DescribeImages", { repositoryName: "team/a" });
    expect(r.status).toBe(200);
    expect(r.body.imageDetails[0].imageTags).toEqual(["v1"]);
    expect((await call("GetRegistryScanningConfiguration", {})).status).toBe(200);
    expect((await call("CreateRepository", { repositoryName: "ci/made" })).status).toBe(200);
    as = admin;
    expect((await call("PutRegistryScanningConfiguration", { scanType: "BASIC" })).status).toBe(200);
  });

  it("DescribeRepositories lists only repositories the caller may pull, in full pages", async () => {
    as = alice;
    const visible = ["alice/app", "ci/app", "ci/made", "team/a", "team/b"];
    expect(await pages(1)).toEqual(visible.map((n) => [n]));
    expect(await pages(2)).toEqual([visible.slice(0, 2), visible.slice(2, 4), visible.slice(4)]);
    expect(await pages(100)).toEqual([visible]);
    expect((await call("DescribeRepositories", { repositoryNames: ["team/a", "team/b"] })).status).toBe(200);
    expect((await call("DescribeRepositories", { repositoryNames: ["team/a", "other/x"] })).body.__type).toBe(
      "AccessDeniedException",
    );
    // A caller who may pull nothing gets an empty list, not an error.
    as = adminOnly;
    expect(await pages(1)).toEqual([[]]);
    // A caller who may pull everything sees everything.
    as = admin;
    expect((await pages(3)).flat()).toEqual([
      "alice/app",
      "ci/app",
      "ci/made",
      "other/x",
      "other/y",
      "team/a",
      "team/a/deep",
      "team/b",
      "zz",
    ]);
  });

  it("GetAuthorizationToken mints a password for the key's user", async () => {
    as = alice;
    const r = await call("GetAuthorizationToken", {});
    expect(r.status).toBe(200);
    const token = Buffer.from(r.body.authorizationData[0].authorizationToken, "base64").toString();
    expect(token).toMatch(/^AWS:dd1\./);
    expect(loginTokens.verify(token.slice(4))).toBe("alice");
  });
});
