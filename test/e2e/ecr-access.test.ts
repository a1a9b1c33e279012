import { afterAll, beforeAll, describe, expect, it } from "vitest";
import bcrypt from "bcryptjs";
import {
  CreateRepositoryCommand,
  DescribeImagesCommand,
  DescribeRepositoriesCommand,
  ECRClient,
  ECRServiceException,
} from "@aws-sdk/client-ecr";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { missingShared, ociLayout, skopeo, startDrydock, type Drydock } from "./harness.js";
import { awsCli, awsEnv, type AwsCli, type Json } from "./aws-cli.js";

/**
 * AWS access keys act as their auth user, with that user's repository rules, on the ECR API
 * (docs/access.md): the real AWS CLI (Debian's awscli 2.9 at /usr/bin/aws) and
 * @aws-sdk/client-ecr, each key signing as alice (pull on team/*, everything on alice/**) or
 * as admin (everything, and `admin`).
 */

const skip = missingShared();
if (skip) console.warn(`ECR access tests skipped: ${skip}`);

const ACCOUNT = "123456789012";
const ALICE_KEY = {
  accessKeyId: "AKIAALICEACCESS00001",
  secretAccessKey: "alice-secret-0123456789",
  user: "alice",
};
const ADMIN_KEY = {
  accessKeyId: "AKIAADMINACCESS00001",
  secretAccessKey: "admin-secret-0123456789",
  user: "admin",
};
const ADMIN_PASSWORD = "admin-password-for-skopeo";
const minimal = ociLayout("debian-bookworm-minimal");

/** The repositories, and those alice may pull (team/* is one level: not team/a/deep). */
const REPOSITORIES = ["alice/app", "other/x", "other/y", "team/a", "team/a/deep", "team/b", "team/c", "zz"];
const ALICE_SEES = ["alice/app", "team/a", "team/b", "team/c"];

describe.skipIf(skip !== null)("ECR API authorization as the key's user", () => {
  let dd: Drydock;
  let work: string;
  let alice: AwsCli;
  let admin: AwsCli;
  let sdkAlice: ECRClient;
  let sdkAdmin: ECRClient;
  const sdk = (k: { accessKeyId: string; secretAccessKey: string }) =>
    new ECRClient({ endpoint: dd.url, region: "us-east-1", credentials: k, maxAttempts: 1 });

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "drydock-ecr-access-"));
    dd = await startDrydock({
      dataDir: join(work, "data"),
      config: {
        auth: {
          users: [
            {
              username: "alice",
              passwordHash: bcrypt.hashSync("alice-password-not-used", 4),
              access: [
                { repository: "team/*", actions: ["pull"] },
                { repository: "alice/**", actions: ["pull", "push", "delete"] },
              ],
            },
            {
              username: "admin",
              passwordHash: bcrypt.hashSync(ADMIN_PASSWORD, 4),
              access: [{ repository: "**", actions: ["pull", "push", "delete", "admin"] }],
            },
          ],
        },
        aws: { accountId: ACCOUNT, credentials: [ALICE_KEY, ADMIN_KEY] },
      },
    });
    alice = awsCli(
      dd.url,
      await awsEnv(join(work, "alice"), ALICE_KEY.accessKeyId, ALICE_KEY.secretAccessKey),
    );
    admin = awsCli(
      dd.url,
      await awsEnv(join(work, "admin"), ADMIN_KEY.accessKeyId, ADMIN_KEY.secretAccessKey),
    );
    sdkAlice = sdk(ALICE_KEY);
    sdkAdmin = sdk(ADMIN_KEY);
    for (const repositoryName of REPOSITORIES)
      await sdkAdmin.send(new CreateRepositoryCommand({ repositoryName }));
    const pushed = await skopeo([
      "copy",
      "--quiet",
      "--dest-tls-verify=false",
      "--dest-creds",
      `admin:${ADMIN_PASSWORD}`,
      `oci:${minimal}`,
      `docker://${dd.addr}/team/a:v1`,
    ]);
    if (pushed.code !== 0) throw new Error(`skopeo push failed: ${pushed.stderr}`);
  });
  afterAll(async () => {
    sdkAlice?.destroy();
    sdkAdmin?.destroy();
    await dd?.destroy();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("alice describes the images of team/*, not those of other/x (AccessDeniedException)", async () => {
    const ok = await alice("ecr", "describe-images", "--repository-name", "team/a");
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.json().imageDetails.map((d: Json) => d.imageTags)).toEqual([["v1"]]);

    const denied = await alice("ecr", "describe-images", "--repository-name", "other/x");
    expect(denied.code).toBe(254);
    expect(denied.stderr.trim()).toBe(
      "An error occurred (AccessDeniedException) when calling the DescribeImages operation: " +
        `User: arn:aws:iam::${ACCOUNT}:user/alice is not authorized to perform: ecr:DescribeImages ` +
        `on resource: arn:aws:ecr:us-east-1:${ACCOUNT}:repository/other/x because no access rule of user alice allows pull on other/x`,
    );
    // team/* is one level deep; pull does not give push.
    const deep = await alice("ecr", "list-images", "--repository-name", "team/a/deep");
    expect(deep.stderr).toMatch(/AccessDeniedException/);
    const scan = await alice(
      "ecr",
      "start-image-scan",
      "--repository-name",
      "team/a",
      "--image-id",
      "imageTag=v1",
    );
    expect(scan.stderr).toMatch(/not authorized to perform: ecr:StartImageScan .* allows push on team\/a$/m);
    // Her own namespace is hers.
    const own = await alice("ecr", "create-repository", "--repository-name", "alice/new");
    expect(own.code, own.stderr).toBe(0);
    const foreign = await alice("ecr", "create-repository", "--repository-name", "other/new");
    expect(foreign.stderr).toMatch(/AccessDeniedException.*ecr:CreateRepository/);
    const del = await alice("ecr", "delete-repository", "--repository-name", "alice/new");
    expect(del.code, del.stderr).toBe(0);
  });

  it("PutRegistryScanningConfiguration needs admin; reading it does not", async () => {
    const args = [
      "ecr",
      "put-registry-scanning-configuration",
      "--scan-type",
      "BASIC",
      "--rules",
      '[{"scanFrequency":"SCAN_ON_PUSH","repositoryFilters":[{"filter":"team/*","filterType":"WILDCARD"}]}]',
    ];
    const denied = await alice(...args);
    expect(denied.code).toBe(254);
    expect(denied.stderr).toMatch(
      /AccessDeniedException\) when calling the PutRegistryScanningConfiguration operation: User: arn:aws:iam::123456789012:user\/alice is not authorized to perform: ecr:PutRegistryScanningConfiguration on resource: \*/,
    );
    const before = await alice("ecr", "get-registry-scanning-configuration");
    expect(before.code, before.stderr).toBe(0);
    expect(before.json().scanningConfiguration.rules).toEqual([]);

    const ok = await admin(...args);
    expect(ok.code, ok.stderr).toBe(0);
    const after = await alice("ecr", "get-registry-scanning-configuration");
    expect(after.json().scanningConfiguration.rules[0].repositoryFilters).toEqual([
      { filter: "team/*", filterType: "WILDCARD" },
    ]);
  });

  it("describe-repositories lists only what the caller may pull, one repository per page", async () => {
    const names = (r: { json: () => Json }) => r.json().repositories.map((x: Json) => x.repositoryName);
    // --page-size 1: the CLI calls with maxResults 1 and follows every nextToken.
    const all = await alice("ecr", "describe-repositories", "--page-size", "1");
    expect(all.code, all.stderr).toBe(0);
    expect(names(all)).toEqual(ALICE_SEES);
    // Two items, then the CLI's token resumes after them.
    const first = await alice("ecr", "describe-repositories", "--page-size", "1", "--max-items", "2");
    expect(names(first)).toEqual(ALICE_SEES.slice(0, 2));
    expect(first.json().NextToken).toBeTruthy();
    const rest = await alice(
      "ecr",
      "describe-repositories",
      "--page-size",
      "1",
      "--starting-token",
      first.json().NextToken,
    );
    expect(names(rest)).toEqual(ALICE_SEES.slice(2));
    expect(rest.json().NextToken).toBeUndefined();
    // Named: each must be visible.
    const named = await alice("ecr", "describe-repositories", "--repository-names", "team/b", "team/a");
    expect(names(named)).toEqual(["team/b", "team/a"]);
    const hidden = await alice("ecr", "describe-repositories", "--repository-names", "team/a", "other/y");
    expect(hidden.stderr).toMatch(/AccessDeniedException.*repository\/other\/y because/);

    const everything = await admin("ecr", "describe-repositories", "--page-size", "1");
    expect(names(everything)).toEqual(REPOSITORIES);
  });

  it("SDK: each page of maxResults 1 holds one visible repository, nextToken until the last", async () => {
    const pages: { names: string[]; token: boolean }[] = [];
    let nextToken: string | undefined;
    do {
      const r = await sdkAlice.send(new DescribeRepositoriesCommand({ maxResults: 1, nextToken }));
      nextToken = r.nextToken;
      pages.push({
        names: (r.repositories ?? []).map((x) => x.repositoryName!),
        token: nextToken !== undefined,
      });
    } while (nextToken);
    expect(pages).toEqual(ALICE_SEES.map((n, i) => ({ names: [n], token: i < ALICE_SEES.length - 1 })));
  });

  it("SDK: a denied call rejects with name AccessDeniedException (HTTP 400)", async () => {
    const e = await sdkAlice.send(new DescribeImagesCommand({ repositoryName: "other/x" })).then(
      () => null,
      (err: unknown) => err,
    );
    expect(e).toBeInstanceOf(ECRServiceException);
    expect(e).toMatchObject({
      name: "AccessDeniedException",
      $metadata: { httpStatusCode: 400 },
      message: expect.stringMatching(
        /^User: arn:aws:iam::123456789012:user\/alice is not authorized to perform: ecr:DescribeImages on resource: arn:aws:ecr:us-east-1:123456789012:repository\/other\/x/,
      ),
    });
    // The admin's key may.
    const ok = await sdkAdmin.send(new DescribeImagesCommand({ repositoryName: "other/x" }));
    expect(ok.imageDetails).toEqual([]);
  });
});
