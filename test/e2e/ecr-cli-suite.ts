import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { beforeAll, expect, it } from "vitest";
import { awsCli, type AwsCli, type Json } from "./aws-cli.js";
import { manifestDigestOfLayout, ociLayout, run, skopeo } from "./harness.js";

/**
 * The ECR API with the real AWS CLI (Debian's awscli 2.9 at /usr/bin/aws; a pyenv shim may
 * shadow `aws` on PATH), SigV4-signed with configured keys, as one scenario on one repository:
 * create and describe it, push two images with skopeo, list (page by page), describe and get
 * them, scan them (StartImageScan and the CLI's waiter, then scan on push set with
 * put-image-scanning-configuration), findings, tag immutability, the registry's scanning rules,
 * batch-delete-image, delete-repository, refused signatures. The scan commands are the ECR user
 * guide's, verbatim apart from --endpoint-url.
 *
 * `describeEcrCli` registers the scenario's tests against a target: one `drydock serve`
 * (ecr-cli.test.ts) or the cluster through a load balancer (cluster.test.ts). The target's
 * vulnerability database must hold TEST_ADVISORY (writeTestAdvisoryFeed) and nothing else
 * that matches debian-bookworm-minimal, so that the findings are known; its AWS account is
 * 123456789012 in us-east-1, the registry scanning configuration BASIC without rules when the
 * scenario starts, and the scenario's key may do everything. It leaves the scanning
 * configuration with its own rules (`prod*` and the repository's name).
 */

export const TEST_ADVISORY = {
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

/** Writes TEST_ADVISORY as an OSV feed in DIR/osv, for `drydock db import`; returns that directory. */
export async function writeTestAdvisoryFeed(dir: string): Promise<string> {
  const feed = join(dir, "osv");
  await mkdir(feed, { recursive: true });
  await writeFile(join(feed, "CVE-2099-0001.json"), JSON.stringify(TEST_ADVISORY));
  return feed;
}

export interface EcrTarget {
  /** The ECR endpoint (--endpoint-url). */
  url: string;
  /** HOST:PORT of the registry for skopeo (plain HTTP, pushes without credentials accepted). */
  addr: string;
  /** The AWS CLI's environment (awsEnv) with the scenario's key. */
  env: NodeJS.ProcessEnv;
}

const minimal = ociLayout("debian-bookworm-minimal");
const uncompressed = ociLayout("debian-bookworm-minimal-uncompressed");

/**
 * The scenario's tests, in order, on repository `repo` (and `REPO-scan-on-push`) of the
 * target `target()` names when they run (read in a beforeAll).
 */
export function describeEcrCli(target: () => EcrTarget, repo: string): void {
  let aws: AwsCli;
  const digestV1 = manifestDigestOfLayout(minimal);
  const digestV2 = manifestDigestOfLayout(uncompressed);

  beforeAll(() => {
    aws = awsCli(target().url, target().env);
  });

  const push = (layout: string, ref: string) =>
    skopeo([
      "copy",
      "--quiet",
      "--dest-tls-verify=false",
      "--preserve-digests",
      `oci:${layout}`,
      `docker://${target().addr}/${ref}`,
    ]);

  it("create-repository, describe-repositories, duplicate refused", async () => {
    const c = await aws("ecr", "create-repository", "--repository-name", repo, "--region", "us-east-2");
    expect(c.code, c.stderr).toBe(0);
    expect(c.json().repository).toMatchObject({
      repositoryName: repo,
      registryId: "123456789012",
      repositoryArn: `arn:aws:ecr:us-east-1:123456789012:repository/${repo}`,
      imageTagMutability: "MUTABLE",
      imageScanningConfiguration: { scanOnPush: false },
    });
    const d = await aws("ecr", "describe-repositories", "--repository-names", repo);
    expect(d.code, d.stderr).toBe(0);
    expect(d.json().repositories.map((r: { repositoryName: string }) => r.repositoryName)).toEqual([repo]);
    const dup = await aws("ecr", "create-repository", "--repository-name", repo);
    expect(dup.code).toBe(254);
    expect(dup.stderr).toMatch(/RepositoryAlreadyExistsException/);
    const missing = await aws("ecr", "describe-repositories", "--repository-names", "nope");
    expect(missing.stderr).toMatch(/RepositoryNotFoundException/);
  });

  it("describe-images, list-images, batch-get-image after a skopeo push", async () => {
    expect((await push(minimal, `${repo}:tag_name`)).code).toBe(0);
    expect((await push(uncompressed, `${repo}:other`)).code).toBe(0);
    const li = await aws("ecr", "list-images", "--repository-name", repo);
    expect(li.code, li.stderr).toBe(0);
    expect(li.json().imageIds).toHaveLength(2);
    const ids = (r: { json: () => Json }) =>
      r
        .json()
        .imageIds.map((i: Json) => `${i.imageTag}@${i.imageDigest}`)
        .sort();
    expect(ids(li)).toEqual([`other@${digestV2}`, `tag_name@${digestV1}`]);
    // The server's pages, one call each (--no-paginate): one image, then the rest from its token.
    const page = (...more: string[]) =>
      aws("ecr", "list-images", "--repository-name", repo, "--no-paginate", "--max-results", "1", ...more);
    const first = await page();
    expect(first.code, first.stderr).toBe(0);
    expect(first.json().imageIds).toHaveLength(1);
    expect(first.json().nextToken).toBeTruthy();
    const second = await page("--next-token", first.json().nextToken);
    expect(second.code, second.stderr).toBe(0);
    expect(second.json().imageIds).toHaveLength(1);
    expect(second.json().nextToken).toBeUndefined();
    expect([...ids(first), ...ids(second)].sort()).toEqual(ids(li));
    // The CLI's own paging (--page-size) follows the tokens to the same list.
    const paged = await aws("ecr", "list-images", "--repository-name", repo, "--page-size", "1");
    expect(paged.code, paged.stderr).toBe(0);
    expect(ids(paged)).toEqual(ids(li));
    const di = await aws(
      "ecr",
      "describe-images",
      "--repository-name",
      repo,
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
      repo,
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
      repo,
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
      repo,
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
        repo,
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
      repo,
      "--image-id",
      "imageTag=tag_name",
    );
    expect(again.stderr).toMatch(/LimitExceededException/);

    const f = await aws(
      "ecr",
      "describe-image-scan-findings",
      "--repository-name",
      repo,
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
      repo,
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
      repo,
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
      repo,
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
      repo,
      "--image-tag-mutability",
      "IMMUTABLE",
    );
    expect(p.code, p.stderr).toBe(0);
    expect(p.json()).toMatchObject({ repositoryName: repo, imageTagMutability: "IMMUTABLE" });
    const retag = await push(uncompressed, `${repo}:tag_name`);
    expect(retag.code).not.toBe(0);
    expect(retag.stderr).toMatch(/tag invalid|TAG_INVALID|already exists/i);
    const li = await aws(
      "ecr",
      "describe-images",
      "--repository-name",
      repo,
      "--image-ids",
      "imageTag=tag_name",
    );
    expect(li.json().imageDetails[0].imageDigest).toBe(digestV1);
    // Pushing the same manifest under the same tag is no move: allowed.
    expect((await push(minimal, `${repo}:tag_name`)).code).toBe(0);
    // A new tag is fine too.
    expect((await push(uncompressed, `${repo}:fresh`)).code).toBe(0);
    expect(
      (
        await aws(
          "ecr",
          "put-image-tag-mutability",
          "--repository-name",
          repo,
          "--image-tag-mutability",
          "MUTABLE",
        )
      ).code,
    ).toBe(0);
  });

  it("put-image-scanning-configuration scanOnPush=true: a skopeo push is scanned, describe-images shows it", async () => {
    const sop = `${repo}-scan-on-push`;
    const c = await aws("ecr", "create-repository", "--repository-name", sop);
    expect(c.code, c.stderr).toBe(0);
    expect(c.json().repository.imageScanningConfiguration).toEqual({ scanOnPush: false });
    const p = await aws(
      "ecr",
      "put-image-scanning-configuration",
      "--repository-name",
      sop,
      "--image-scanning-configuration",
      "scanOnPush=true",
    );
    expect(p.code, p.stderr).toBe(0);
    expect(p.json()).toEqual({
      registryId: "123456789012",
      repositoryName: sop,
      imageScanningConfiguration: { scanOnPush: true },
    });
    const d = await aws("ecr", "describe-repositories", "--repository-names", sop);
    expect(d.json().repositories[0].imageScanningConfiguration).toEqual({ scanOnPush: true });
    const b = await aws("ecr", "batch-get-repository-scanning-configuration", "--repository-names", sop);
    expect(b.json().scanningConfigurations).toEqual([
      {
        repositoryArn: `arn:aws:ecr:us-east-1:123456789012:repository/${sop}`,
        repositoryName: sop,
        scanOnPush: true,
        scanFrequency: "SCAN_ON_PUSH",
        appliedScanFilters: [],
      },
    ]);

    const pushed = await push(minimal, `${sop}:1`);
    expect(pushed.code, pushed.stderr).toBe(0);
    // No StartImageScan: the push queued the scan; describe-images reports it until it is done.
    const end = Date.now() + 120_000;
    let detail: Json;
    for (;;) {
      const di = await aws("ecr", "describe-images", "--repository-name", sop, "--image-ids", "imageTag=1");
      expect(di.code, di.stderr).toBe(0);
      detail = di.json().imageDetails[0];
      const status = detail.imageScanStatus?.status;
      expect(status, JSON.stringify(detail)).toBeDefined();
      if (!["IN_PROGRESS", "PENDING"].includes(status)) break;
      if (Date.now() > end) throw new Error(`scan on push not done: ${JSON.stringify(detail)}`);
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(detail).toMatchObject({
      imageDigest: digestV1,
      imageScanStatus: { status: "COMPLETE" },
      imageScanFindingsSummary: { findingSeverityCounts: { CRITICAL: 1 } },
    });
    const f = await aws(
      "ecr",
      "describe-image-scan-findings",
      "--repository-name",
      sop,
      "--image-id",
      "imageTag=1",
    );
    expect(f.code, f.stderr).toBe(0);
    expect(f.json().imageScanFindings.findings.map((x: Json) => [x.name, x.severity])).toEqual([
      ["CVE-2099-0001", "CRITICAL"],
    ]);
    // The scan on push counts as the image's one scan of the day.
    const again = await aws("ecr", "start-image-scan", "--repository-name", sop, "--image-id", "imageTag=1");
    expect(again.stderr).toMatch(/LimitExceededException/);
  });

  it("registry scanning configuration with rules and filters; per-repository view; limits", async () => {
    const rules = JSON.stringify([
      {
        scanFrequency: "SCAN_ON_PUSH",
        repositoryFilters: [
          { filter: "prod*", filterType: "WILDCARD" },
          { filter: repo, filterType: "WILDCARD" },
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
      repo,
      "missing-repo",
    );
    expect(b.code, b.stderr).toBe(0);
    const out = b.json();
    expect(out.scanningConfigurations).toEqual([
      {
        repositoryArn: `arn:aws:ecr:us-east-1:123456789012:repository/${repo}`,
        repositoryName: repo,
        scanOnPush: false,
        scanFrequency: "SCAN_ON_PUSH",
        appliedScanFilters: [{ filter: repo, filterType: "WILDCARD" }],
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
      repo,
      "--image-ids",
      "imageTag=fresh",
      "imageTag=nope",
    );
    expect(del.code, del.stderr).toBe(0);
    expect(del.json().imageIds).toEqual([{ imageDigest: digestV2, imageTag: "fresh" }]);
    expect(del.json().failures[0]).toMatchObject({ failureCode: "ImageNotFound" });
    const tagged = await aws("ecr", "list-images", "--repository-name", repo, "--filter", "tagStatus=TAGGED");
    expect(
      tagged
        .json()
        .imageIds.map((i: { imageTag: string }) => i.imageTag)
        .sort(),
    ).toEqual(["other", "tag_name"]);

    const notEmpty = await aws("ecr", "delete-repository", "--repository-name", repo);
    expect(notEmpty.stderr).toMatch(/RepositoryNotEmptyException/);
    const forced = await aws("ecr", "delete-repository", "--repository-name", repo, "--force");
    expect(forced.code, forced.stderr).toBe(0);
    expect((await aws("ecr", "describe-repositories", "--repository-names", repo)).stderr).toMatch(
      /RepositoryNotFoundException/,
    );
  });

  it("wrong secret key → InvalidSignatureException; unknown key → UnrecognizedClientException", async () => {
    const bad = await run("/usr/bin/aws", ["ecr", "describe-repositories", "--endpoint-url", target().url], {
      env: { ...target().env, AWS_SECRET_ACCESS_KEY: "wrong-wrong-wrong-wrong" },
    });
    expect(bad.stderr).toMatch(/InvalidSignatureException/);
    const unknown = await run(
      "/usr/bin/aws",
      ["ecr", "describe-repositories", "--endpoint-url", target().url],
      {
        env: { ...target().env, AWS_ACCESS_KEY_ID: "AKIAUNKNOWNUNKNOWN00" },
      },
    );
    expect(unknown.stderr).toMatch(/UnrecognizedClientException/);
  });
}
