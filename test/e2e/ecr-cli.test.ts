import { afterAll, beforeAll, describe, expect, it } from "vitest";
import bcrypt from "bcryptjs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  manifestDigestOfLayout,
  missingShared,
  ociLayout,
  repoRoot,
  run,
  skopeo,
  startDrydock,
  type Drydock,
} from "./harness.js";
import { awsCli, awsEnv, type AwsCli } from "./aws-cli.js";

/**
 * The ECR API with the real AWS CLI (Debian's awscli 2.9 at /usr/bin/aws; a pyenv shim may
 * shadow `aws` on PATH), SigV4-signed with configured keys. The scan commands are the ECR
 * user guide's, verbatim apart from --endpoint-url. The vulnerability database is built here
 * from one OSV document written for this test (bash in Debian 12 is "critical"), so that the
 * findings are known.
 */

const skip = missingShared();
if (skip) console.warn(`ECR CLI tests skipped: ${skip}`);

const AKID = "AKIAECRCLITEST0000001";
const SECRET = "ecr-cli-test-secret-0123456789";
const minimal = ociLayout("debian-bookworm-minimal");
const uncompressed = ociLayout("debian-bookworm-minimal-uncompressed");

const TEST_ADVISORY = {
  schema_version: "1.6.0",
  id: "CVE-2099-0001",
  modified: "2026-01-01T00:00:00Z",
  published: "2026-01-01T00:00:00Z",
  summary: "test advisory: bash before 99 is critical",
  details: "A vulnerability written for Drydock's ECR end-to-end tests.",
  severity: [{ type: "CVSS_V3", score: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H" }],
  affected: [
    {
      package: { ecosystem: "Debian:12", name: "bash" },
      ranges: [{ type: "ECOSYSTEM", events: [{ introduced: "0" }, { fixed: "99.0" }] }],
    },
  ],
  references: [{ type: "WEB", url: "https://example.com/CVE-2099-0001" }],
};

/** Builds DATA/vulndb/vulndb.sqlite from the test advisory with `drydock db import`. */
async function buildVulnDb(dataDir: string, work: string): Promise<void> {
  const feed = join(work, "osv");
  await mkdir(feed, { recursive: true });
  await writeFile(join(feed, "CVE-2099-0001.json"), JSON.stringify(TEST_ADVISORY));
  const r = await run(process.execPath, [
    join(repoRoot, "dist/cli/main.js"),
    "db",
    "import",
    "--db",
    join(dataDir, "vulndb", "vulndb.sqlite"),
    feed,
  ]);
  if (r.code !== 0) throw new Error(`db import failed: ${r.stdout}${r.stderr}`);
}

describe.skipIf(skip !== null)("ECR API with the real AWS CLI", () => {
  let dd: Drydock;
  let work: string;
  let env: NodeJS.ProcessEnv;
  let aws: AwsCli;
  const digestV1 = manifestDigestOfLayout(minimal);
  const digestV2 = manifestDigestOfLayout(uncompressed);

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "drydock-ecr-cli-"));
    const dataDir = join(work, "data");
    await buildVulnDb(dataDir, work);
    dd = await startDrydock({
      dataDir,
      config: {
        aws: { accountId: "123456789012", credentials: [{ accessKeyId: AKID, secretAccessKey: SECRET }] },
      },
    });
    env = await awsEnv(work, AKID, SECRET);
    aws = awsCli(dd.url, env);
  });
  afterAll(async () => {
    await dd?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  const push = (layout: string, ref: string) =>
    skopeo([
      "copy",
      "--quiet",
      "--dest-tls-verify=false",
      "--preserve-digests",
      `oci:${layout}`,
      `docker://${dd.addr}/${ref}`,
    ]);

  it("create-repository, describe-repositories, duplicate refused", async () => {
    const c = await aws("ecr", "create-repository", "--repository-name", "name", "--region", "us-east-2");
    expect(c.code, c.stderr).toBe(0);
    expect(c.json().repository).toMatchObject({
      repositoryName: "name",
      registryId: "123456789012",
      repositoryArn: "arn:aws:ecr:us-east-1:123456789012:repository/name",
      imageTagMutability: "MUTABLE",
      imageScanningConfiguration: { scanOnPush: false },
    });
    const d = await aws("ecr", "describe-repositories", "--repository-names", "name");
    expect(d.code, d.stderr).toBe(0);
    expect(d.json().repositories.map((r: { repositoryName: string }) => r.repositoryName)).toEqual(["name"]);
    const dup = await aws("ecr", "create-repository", "--repository-name", "name");
    expect(dup.code).toBe(254);
    expect(dup.stderr).toMatch(/RepositoryAlreadyExistsException/);
    const missing = await aws("ecr", "describe-repositories", "--repository-names", "nope");
    expect(missing.stderr).toMatch(/RepositoryNotFoundException/);
  });

  it("describe-images, list-images, batch-get-image after a skopeo push", async () => {
    expect((await push(minimal, "name:tag_name")).code).toBe(0);
    expect((await push(uncompressed, "name:other")).code).toBe(0);
    const li = await aws("ecr", "list-images", "--repository-name", "name");
    expect(li.code, li.stderr).toBe(0);
    expect(li.json().imageIds).toHaveLength(2);
    const di = await aws(
      "ecr",
      "describe-images",
      "--repository-name",
      "name",
      "--image-ids",
      "imageTag=tag_name",
    );
    expect(di.code, di.stderr).toBe(0);
    const detail = di.json().imageDetails[0];
    expect(detail).toMatchObject({
      imageDigest: digestV1,
      imageTags: ["tag_name"],
      imageManifestMediaType: "application/vnd.oci.image.manifest.v1+json",
    });
    expect(detail.imageSizeInBytes).toBeGreaterThan(40_000_000);
    const bg = await aws(
      "ecr",
      "batch-get-image",
      "--repository-name",
      "name",
      "--image-ids",
      "imageTag=tag_name",
      "imageTag=nope",
    );
    expect(bg.code, bg.stderr).toBe(0);
    const out = bg.json();
    expect(out.images[0].imageId).toEqual({ imageDigest: digestV1, imageTag: "tag_name" });
    expect(JSON.parse(out.images[0].imageManifest).schemaVersion).toBe(2);
    expect(out.failures).toEqual([
      {
        imageId: { imageTag: "nope" },
        failureCode: "ImageNotFound",
        failureReason: "Requested image not found",
      },
    ]);
  });

  it("start-image-scan by tag and by digest (user guide commands), then findings", async () => {
    const byTag = await aws(
      "ecr",
      "start-image-scan",
      "--repository-name",
      "name",
      "--image-id",
      "imageTag=tag_name",
      "--region",
      "us-east-2",
    );
    expect(byTag.code, byTag.stderr).toBe(0);
    expect(byTag.json()).toMatchObject({
      imageId: { imageDigest: digestV1, imageTag: "tag_name" },
      imageScanStatus: { status: "IN_PROGRESS" },
    });
    const byDigest = await aws(
      "ecr",
      "start-image-scan",
      "--repository-name",
      "name",
      "--image-id",
      `imageDigest=${digestV2}`,
      "--region",
      "us-east-2",
    );
    expect(byDigest.code, byDigest.stderr).toBe(0);
    // The CLI's own waiter polls DescribeImageScanFindings until COMPLETE.
    for (const id of ["imageTag=tag_name", `imageDigest=${digestV2}`]) {
      const w = await aws(
        "ecr",
        "wait",
        "image-scan-complete",
        "--repository-name",
        "name",
        "--image-id",
        id,
        "--region",
        "us-east-2",
      );
      expect(w.code, w.stderr).toBe(0);
    }
    const again = await aws(
      "ecr",
      "start-image-scan",
      "--repository-name",
      "name",
      "--image-id",
      "imageTag=tag_name",
    );
    expect(again.stderr).toMatch(/LimitExceededException/);

    const f = await aws(
      "ecr",
      "describe-image-scan-findings",
      "--repository-name",
      "name",
      "--image-id",
      "imageTag=tag_name",
      "--region",
      "us-east-2",
    );
    expect(f.code, f.stderr).toBe(0);
    const body = f.json();
    expect(body.imageScanStatus.status).toBe("COMPLETE");
    expect(body.imageScanFindings.findingSeverityCounts).toEqual({ CRITICAL: 1 });
    expect(typeof body.imageScanFindings.imageScanCompletedAt).toBe("string"); // CLI renders epoch numbers
    const finding = body.imageScanFindings.findings[0];
    expect(finding).toMatchObject({
      name: "CVE-2099-0001",
      severity: "CRITICAL",
      uri: "https://example.com/CVE-2099-0001",
    });
    const attrs = Object.fromEntries(
      finding.attributes.map((a: { key: string; value: string }) => [a.key, a.value]),
    );
    expect(attrs).toMatchObject({
      package_name: "bash",
      CVSS3_SCORE: "9.8",
      CVSS3_VECTOR: TEST_ADVISORY.severity[0]!.score,
    });
    expect(attrs.package_version).toMatch(/^5\./);

    const byDigestFindings = await aws(
      "ecr",
      "describe-image-scan-findings",
      "--repository-name",
      "name",
      "--image-id",
      `imageDigest=${digestV2}`,
      "--region",
      "us-east-2",
    );
    expect(byDigestFindings.code, byDigestFindings.stderr).toBe(0);
    expect(byDigestFindings.json().imageScanFindings.findings).toHaveLength(1);

    const critical = await aws(
      "ecr",
      "describe-image-scan-findings",
      "--repository-name",
      "name",
      "--image-id",
      "imageTag=tag_name",
      "--region",
      "us-east-2",
      "--query",
      "imageScanFindings.findings[?severity==`CRITICAL`]",
    );
    expect(critical.code, critical.stderr).toBe(0);
    expect(critical.json().map((x: { name: string }) => x.name)).toEqual(["CVE-2099-0001"]);

    const di = await aws(
      "ecr",
      "describe-images",
      "--repository-name",
      "name",
      "--image-ids",
      "imageTag=tag_name",
    );
    expect(di.json().imageDetails[0]).toMatchObject({
      imageScanStatus: { status: "COMPLETE" },
      imageScanFindingsSummary: { findingSeverityCounts: { CRITICAL: 1 } },
    });
  });

  it("put-image-tag-mutability IMMUTABLE: a re-tag push is refused, nothing changes", async () => {
    const p = await aws(
      "ecr",
      "put-image-tag-mutability",
      "--repository-name",
      "name",
      "--image-tag-mutability",
      "IMMUTABLE",
    );
    expect(p.code, p.stderr).toBe(0);
    expect(p.json()).toMatchObject({ repositoryName: "name", imageTagMutability: "IMMUTABLE" });
    const retag = await push(uncompressed, "name:tag_name");
    expect(retag.code).not.toBe(0);
    expect(retag.stderr).toMatch(/tag invalid|TAG_INVALID|already exists/i);
    const li = await aws(
      "ecr",
      "describe-images",
      "--repository-name",
      "name",
      "--image-ids",
      "imageTag=tag_name",
    );
    expect(li.json().imageDetails[0].imageDigest).toBe(digestV1);
    // Pushing the same manifest under the same tag is no move: allowed.
    expect((await push(minimal, "name:tag_name")).code).toBe(0);
    // A new tag is fine too.
    expect((await push(uncompressed, "name:fresh")).code).toBe(0);
    expect(
      (
        await aws(
          "ecr",
          "put-image-tag-mutability",
          "--repository-name",
          "name",
          "--image-tag-mutability",
          "MUTABLE",
        )
      ).code,
    ).toBe(0);
  });

  it("registry scanning configuration with rules and filters; per-repository view; limits", async () => {
    const rules = JSON.stringify([
      {
        scanFrequency: "SCAN_ON_PUSH",
        repositoryFilters: [
          { filter: "prod*", filterType: "WILDCARD" },
          { filter: "name", filterType: "WILDCARD" },
        ],
      },
    ]);
    const put = await aws(
      "ecr",
      "put-registry-scanning-configuration",
      "--scan-type",
      "BASIC",
      "--rules",
      rules,
    );
    expect(put.code, put.stderr).toBe(0);
    expect(put.json().registryScanningConfiguration.rules).toHaveLength(1);
    const get = await aws("ecr", "get-registry-scanning-configuration");
    expect(get.json()).toEqual({
      registryId: "123456789012",
      scanningConfiguration: { scanType: "BASIC", rules: JSON.parse(rules) },
    });

    const b = await aws(
      "ecr",
      "batch-get-repository-scanning-configuration",
      "--repository-names",
      "name",
      "missing-repo",
    );
    expect(b.code, b.stderr).toBe(0);
    const out = b.json();
    expect(out.scanningConfigurations).toEqual([
      {
        repositoryArn: "arn:aws:ecr:us-east-1:123456789012:repository/name",
        repositoryName: "name",
        scanOnPush: false,
        scanFrequency: "SCAN_ON_PUSH",
        appliedScanFilters: [{ filter: "name", filterType: "WILDCARD" }],
      },
    ]);
    expect(out.failures).toEqual([
      {
        repositoryName: "missing-repo",
        failureCode: "REPOSITORY_NOT_FOUND",
        failureReason: "REPOSITORY_NOT_FOUND",
      },
    ]);

    // Three rules: refused, nothing changed.
    const three = JSON.stringify(Array.from({ length: 3 }, () => JSON.parse(rules)[0]));
    const bad = await aws(
      "ecr",
      "put-registry-scanning-configuration",
      "--scan-type",
      "BASIC",
      "--rules",
      three,
    );
    expect(bad.code).toBe(254);
    expect(bad.stderr).toMatch(/InvalidParameterException.*rules/);
    expect(
      (await aws("ecr", "get-registry-scanning-configuration")).json().scanningConfiguration.rules,
    ).toEqual(JSON.parse(rules));
  });

  it("batch-delete-image, then delete-repository (force needed while images remain)", async () => {
    const del = await aws(
      "ecr",
      "batch-delete-image",
      "--repository-name",
      "name",
      "--image-ids",
      "imageTag=fresh",
      "imageTag=nope",
    );
    expect(del.code, del.stderr).toBe(0);
    expect(del.json().imageIds).toEqual([{ imageDigest: digestV2, imageTag: "fresh" }]);
    expect(del.json().failures[0]).toMatchObject({ failureCode: "ImageNotFound" });
    const tagged = await aws(
      "ecr",
      "list-images",
      "--repository-name",
      "name",
      "--filter",
      "tagStatus=TAGGED",
    );
    expect(
      tagged
        .json()
        .imageIds.map((i: { imageTag: string }) => i.imageTag)
        .sort(),
    ).toEqual(["other", "tag_name"]);

    const notEmpty = await aws("ecr", "delete-repository", "--repository-name", "name");
    expect(notEmpty.stderr).toMatch(/RepositoryNotEmptyException/);
    const forced = await aws("ecr", "delete-repository", "--repository-name", "name", "--force");
    expect(forced.code, forced.stderr).toBe(0);
    expect((await aws("ecr", "describe-repositories", "--repository-names", "name")).stderr).toMatch(
      /RepositoryNotFoundException/,
    );
  });

  it("wrong secret key → InvalidSignatureException; unknown key → UnrecognizedClientException", async () => {
    const bad = await run("/usr/bin/aws", ["ecr", "describe-repositories", "--endpoint-url", dd.url], {
      env: { ...env, AWS_SECRET_ACCESS_KEY: "wrong-wrong-wrong-wrong" },
    });
    expect(bad.stderr).toMatch(/InvalidSignatureException/);
    const unknown = await run("/usr/bin/aws", ["ecr", "describe-repositories", "--endpoint-url", dd.url], {
      env: { ...env, AWS_ACCESS_KEY_ID: "AKIAUNKNOWNUNKNOWN00" },
    });
    expect(unknown.stderr).toMatch(/UnrecognizedClientException/);
  });
});

describe.skipIf(skip !== null)("aws ecr get-login-password | login --password-stdin, then a push", () => {
  let dd: Drydock;
  let work: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "drydock-ecr-login-"));
    dd = await startDrydock({
      config: {
        auth: {
          users: [
            {
              username: "ci",
              passwordHash: bcrypt.hashSync("not-used-here", 4),
              access: [{ repository: "team/**", actions: ["pull", "push"] }],
            },
          ],
        },
        aws: { credentials: [{ accessKeyId: AKID, secretAccessKey: SECRET, user: "ci" }] },
      },
    });
    env = await awsEnv(work, AKID, SECRET);
  });
  afterAll(async () => {
    await dd?.destroy();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("podman login with the password, then skopeo pushes with the stored credentials", async () => {
    const pw = await run(
      "/usr/bin/aws",
      ["ecr", "get-login-password", "--endpoint-url", dd.url, "--region", "us-east-2"],
      { env },
    );
    expect(pw.code, pw.stderr).toBe(0);
    const password = pw.stdout.trim();
    expect(password).not.toContain(":");
    const authfile = join(work, "auth.json");
    // `docker login` and `podman login` speak the same token flow; podman needs no daemon.
    const login = await run(
      "podman",
      ["login", "--tls-verify=false", "--authfile", authfile, "-u", "AWS", "--password-stdin", dd.addr],
      {
        input: password + "\n",
      },
    );
    expect(login.code, login.stderr).toBe(0);
    expect(login.stdout).toMatch(/Login Succeeded/);
    const pushed = await skopeo([
      "copy",
      "--quiet",
      "--dest-tls-verify=false",
      "--dest-authfile",
      authfile,
      "--preserve-digests",
      `oci:${minimal}`,
      `docker://${dd.addr}/team/app:v1`,
    ]);
    expect(pushed.code, pushed.stderr).toBe(0);
    // The access rules of the user the key names still apply.
    const denied = await skopeo([
      "copy",
      "--quiet",
      "--dest-tls-verify=false",
      "--dest-authfile",
      authfile,
      `oci:${minimal}`,
      `docker://${dd.addr}/other/app:v1`,
    ]);
    expect(denied.code).not.toBe(0);
    const wrong = await run("podman", [
      "login",
      "--tls-verify=false",
      "--authfile",
      join(work, "x.json"),
      "-u",
      "AWS",
      "-p",
      "dd1.forged.token",
      dd.addr,
    ]);
    expect(wrong.code).not.toBe(0);
  });
});
