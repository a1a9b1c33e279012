import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  clientsDir,
  fixturesDir,
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
import { awsCli, awsEnv, type AwsCli, type Json } from "./aws-cli.js";

/**
 * Registry scanning rules and `get-login-password | docker login` with the real AWS CLI
 * (Debian's awscli 2.9 at /usr/bin/aws), commands verbatim apart from --endpoint-url:
 *
 * 1. put-registry-scanning-configuration with a BASIC scan-on-push WILDCARD filter: the same
 *    image pushed with skopeo into a matching and a non-matching repository is scanned in the
 *    first only; then ENHANCED with a CONTINUOUS_SCAN rule reports the Go modules of java-app
 *    that BASIC does not. The database is built from the shared Debian DSA/DLA lists and the
 *    Go OSV feed.
 * 2. `aws ecr get-login-password | docker login --username AWS --password-stdin` against a
 *    REAL dockerd, then docker push; a wrong password is refused.
 */

const cli = join(repoRoot, "dist/cli/main.js");
const feeds = [
  join(sharedDir, "vulndata/distro/debian/DSA-list.gz"),
  join(sharedDir, "vulndata/distro/debian/DLA-list.gz"),
  join(sharedDir, "vulndata/osv/Go/all.zip"),
];
const dockerArchive = join(fixturesDir, "docker-archive/debian-bookworm-minimal.tar");

function whySkip(): string | null {
  const missing = missingShared();
  if (missing) return missing;
  for (const f of [
    ...feeds,
    ociLayout("java-app"),
    ociLayout("debian-bookworm-minimal"),
    dockerArchive,
    "/usr/bin/aws",
  ]) {
    if (!existsSync(f)) return `${f} missing`;
  }
  return null;
}
const skip = whySkip();
if (skip) console.warn(`ECR scanning configuration / docker login tests skipped: ${skip}`);

const AKID = "AKIAECRSCANCONFIG0001";
const SECRET = "ecr-scan-config-secret-0123456789";

describe.skipIf(skip !== null)("registry scanning rules with the real AWS CLI", () => {
  let dd: Drydock;
  let work: string;
  let env: NodeJS.ProcessEnv;
  let aws: AwsCli;
  const minimalDigest = manifestDigestOfLayout(ociLayout("debian-bookworm-minimal"));
  const javaDigest = manifestDigestOfLayout(ociLayout("java-app"));
  /** Package names reported by the BASIC scan of java-app. */
  let basicJavaPackages: Set<string>;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "drydock-ecr-scan-config-"));
    const dataDir = join(work, "data");
    const imp = await run(process.execPath, [
      cli,
      "db",
      "import",
      "--db",
      join(dataDir, "vulndb", "vulndb.sqlite"),
      ...feeds,
    ]);
    if (imp.code !== 0) throw new Error(`db import failed: ${imp.stdout}${imp.stderr}`);
    dd = await startDrydock({
      dataDir,
      config: {
        aws: { accountId: "123456789012", credentials: [{ accessKeyId: AKID, secretAccessKey: SECRET }] },
      },
    });
    env = await awsEnv(work, AKID, SECRET);
    aws = awsCli(dd.url, env);
  }, 120_000);
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
      `oci:${ociLayout(layout)}`,
      `docker://${dd.addr}/${ref}`,
    ]);

  /** Polls describe-image-scan-findings until the status is one of `done`. */
  async function waitStatus(repo: string, digest: string, done: string[], ms = 90_000): Promise<Json> {
    const end = Date.now() + ms;
    for (;;) {
      const r = await aws(
        "ecr",
        "describe-image-scan-findings",
        "--repository-name",
        repo,
        "--image-id",
        `imageDigest=${digest}`,
      );
      if (r.code === 0 && done.includes(r.json().imageScanStatus.status)) return r.json();
      if (Date.now() > end) throw new Error(`scan of ${repo}@${digest} not done: ${r.stdout}${r.stderr}`);
      await new Promise((res) => setTimeout(res, 500));
    }
  }

  it("BASIC scan-on-push filter 'prod': team/prod-api is scanned, team/dev-api is not", async () => {
    const put = await aws(
      "ecr",
      "put-registry-scanning-configuration",
      "--scan-type",
      "BASIC",
      "--rules",
      '[{"scanFrequency":"SCAN_ON_PUSH","repositoryFilters":[{"filter":"prod","filterType":"WILDCARD"}]}]',
    );
    expect(put.code, put.stderr).toBe(0);
    expect(put.json().registryScanningConfiguration).toEqual({
      scanType: "BASIC",
      rules: [
        {
          scanFrequency: "SCAN_ON_PUSH",
          repositoryFilters: [{ filter: "prod", filterType: "WILDCARD" }],
        },
      ],
    });

    for (const ref of ["team/prod-api:1", "team/dev-api:1"]) {
      const r = await push("debian-bookworm-minimal", ref);
      expect(r.code, r.stderr).toBe(0);
    }

    // The CLI's own waiter polls DescribeImageScanFindings until COMPLETE (FAILED → exit 255).
    const wait = await run(
      "/usr/bin/aws",
      [
        "ecr",
        "wait",
        "image-scan-complete",
        "--repository-name",
        "team/prod-api",
        "--image-id",
        "imageTag=1",
        "--endpoint-url",
        dd.url,
      ],
      { env, timeoutMs: 120_000 },
    );
    expect(wait.code, wait.stderr).toBe(0);

    const prod = await aws(
      "ecr",
      "describe-image-scan-findings",
      "--repository-name",
      "team/prod-api",
      "--image-id",
      "imageTag=1",
    );
    expect(prod.code, prod.stderr).toBe(0);
    expect(prod.json()).toMatchObject({
      repositoryName: "team/prod-api",
      imageId: { imageDigest: minimalDigest, imageTag: "1" },
      imageScanStatus: { status: "COMPLETE" },
    });
    expect(typeof prod.json().imageScanFindings.imageScanCompletedAt).toBe("string");
    const prodImages = await aws("ecr", "describe-images", "--repository-name", "team/prod-api");
    expect(prodImages.code, prodImages.stderr).toBe(0);
    expect(prodImages.json().imageDetails).toHaveLength(1);
    expect(prodImages.json().imageDetails[0]).toMatchObject({
      imageDigest: minimalDigest,
      imageTags: ["1"],
      imageScanStatus: { status: "COMPLETE" },
    });
    expect(prodImages.json().imageDetails[0].imageScanFindingsSummary).toBeDefined();

    // No scan of the same image in the repository the filter does not match (give a
    // wrongly queued scan time to show up first).
    await new Promise((res) => setTimeout(res, 1000));
    const dev = await aws(
      "ecr",
      "describe-image-scan-findings",
      "--repository-name",
      "team/dev-api",
      "--image-id",
      "imageTag=1",
    );
    expect(dev.code).toBe(254);
    expect(dev.stderr).toMatch(/ScanNotFoundException/);
    const devImages = await aws("ecr", "describe-images", "--repository-name", "team/dev-api");
    expect(devImages.code, devImages.stderr).toBe(0);
    expect(devImages.json().imageDetails).toHaveLength(1);
    expect(devImages.json().imageDetails[0].imageDigest).toBe(minimalDigest);
    expect(devImages.json().imageDetails[0].imageScanStatus).toBeUndefined();
    expect(devImages.json().imageDetails[0].imageScanFindingsSummary).toBeUndefined();

    const b = await aws(
      "ecr",
      "batch-get-repository-scanning-configuration",
      "--repository-names",
      "team/prod-api",
      "team/dev-api",
    );
    expect(b.code, b.stderr).toBe(0);
    expect(b.json().failures ?? []).toEqual([]);
    expect(b.json().scanningConfigurations).toEqual([
      {
        repositoryArn: "arn:aws:ecr:us-east-1:123456789012:repository/team/prod-api",
        repositoryName: "team/prod-api",
        scanOnPush: false,
        scanFrequency: "SCAN_ON_PUSH",
        appliedScanFilters: [{ filter: "prod", filterType: "WILDCARD" }],
      },
      {
        repositoryArn: "arn:aws:ecr:us-east-1:123456789012:repository/team/dev-api",
        repositoryName: "team/dev-api",
        scanOnPush: false,
        scanFrequency: "MANUAL",
        appliedScanFilters: [],
      },
    ]);
  });

  it("BASIC scan of java-app reports OS packages only", async () => {
    const r = await push("java-app", "team/prod-java:1");
    expect(r.code, r.stderr).toBe(0);
    const body = await waitStatus("team/prod-java", javaDigest, ["COMPLETE", "FAILED", "UNSUPPORTED_IMAGE"]);
    expect(body.imageScanStatus.status).toBe("COMPLETE");
    const all = await aws(
      "ecr",
      "describe-image-scan-findings",
      "--repository-name",
      "team/prod-java",
      "--image-id",
      "imageTag=1",
    );
    expect(all.code, all.stderr).toBe(0);
    const findings: Json[] = all.json().imageScanFindings.findings ?? [];
    expect(all.json().enhancedFindings).toBeUndefined();
    basicJavaPackages = new Set(
      findings.map((f) => f.attributes.find((a: Json) => a.key === "package_name").value as string),
    );
    for (const name of basicJavaPackages) expect(name).not.toMatch(/^(stdlib|golang\.org\/|github\.com\/)/);
  });

  it("ENHANCED with CONTINUOUS_SCAN '*java*' reports java-app's Go modules", async () => {
    const put = await aws(
      "ecr",
      "put-registry-scanning-configuration",
      "--scan-type",
      "ENHANCED",
      "--rules",
      '[{"scanFrequency":"CONTINUOUS_SCAN","repositoryFilters":[{"filter":"*java*","filterType":"WILDCARD"}]}]',
    );
    expect(put.code, put.stderr).toBe(0);
    expect(put.json().registryScanningConfiguration.scanType).toBe("ENHANCED");

    const r = await push("java-app", "team/java-app:1");
    expect(r.code, r.stderr).toBe(0);
    const body = await waitStatus("team/java-app", javaDigest, [
      "ACTIVE",
      "COMPLETE",
      "FINDINGS_UNAVAILABLE",
    ]);
    expect(body.imageScanStatus.status).toBe("ACTIVE");

    const all = await aws(
      "ecr",
      "describe-image-scan-findings",
      "--repository-name",
      "team/java-app",
      "--image-id",
      "imageTag=1",
      "--no-paginate",
      "--max-results",
      "1000",
    );
    expect(all.code, all.stderr).toBe(0);
    const enhanced: Json[] = all.json().imageScanFindings.enhancedFindings ?? [];
    expect(enhanced.length).toBeGreaterThan(0);
    const goPackages = enhanced
      .flatMap((f) => f.packageVulnerabilityDetails.vulnerablePackages as Json[])
      // Inspector's names: GOBINARY for modules read from a compiled binary, GOMOD from go.mod.
      .filter((p) => p.packageManager === "GOBINARY" || p.packageManager === "GOMOD");
    expect(goPackages.length, JSON.stringify(enhanced.slice(0, 3))).toBeGreaterThan(0);
    const goNames = new Set(goPackages.map((p) => p.name as string));
    expect([...goNames]).toEqual(expect.arrayContaining(["stdlib", "golang.org/x/net"]));
    // Reported by ENHANCED, not by BASIC on the same image.
    for (const n of goNames) expect(basicJavaPackages.has(n)).toBe(false);
    expect(enhanced[0].resources[0].details.awsEcrContainerImage).toMatchObject({
      repositoryName: "team/java-app",
      imageHash: javaDigest,
    });

    const b = await aws(
      "ecr",
      "batch-get-repository-scanning-configuration",
      "--repository-names",
      "team/java-app",
      "team/prod-api",
    );
    expect(b.code, b.stderr).toBe(0);
    expect(
      b
        .json()
        .scanningConfigurations.map((c: Json) => [c.repositoryName, c.scanFrequency, c.appliedScanFilters]),
    ).toEqual([
      ["team/java-app", "CONTINUOUS_SCAN", [{ filter: "*java*", filterType: "WILDCARD" }]],
      ["team/prod-api", "MANUAL", []],
    ]);
  });
});

describe.skipIf(skip !== null)("aws ecr get-login-password | docker login with a real dockerd", () => {
  let dd: Drydock;
  let work: string;
  let dockerDir: string;
  let env: NodeJS.ProcessEnv;
  const PASSWORD = "ci-password-for-docker-login";

  beforeAll(async () => {
    // Short path: dockerd and containerd put unix sockets under it.
    work = await mkdtemp("/tmp/drydock-ecr-login-");
    const hash = await run(process.execPath, [cli, "hash-password"], { input: PASSWORD });
    if (hash.code !== 0) throw new Error(`hash-password failed: ${hash.stderr}`);
    dd = await startDrydock({
      config: {
        auth: {
          users: [
            {
              username: "ci",
              passwordHash: hash.stdout.trim(),
              access: [{ repository: "team/**", actions: ["pull", "push"] }],
            },
          ],
        },
        aws: { credentials: [{ accessKeyId: AKID, secretAccessKey: SECRET, user: "ci" }] },
      },
    });
    dockerDir = join(work, "dockerd");
    const dockerConfig = join(work, "docker-config");
    await mkdir(dockerConfig);
    await writeFile(join(dockerConfig, "config.json"), "{}\n");
    const started = await run(join(clientsDir, "start-dockerd.sh"), [dockerDir], { timeoutMs: 60_000 });
    const host = /export DOCKER_HOST=(\S+)/.exec(started.stdout)?.[1];
    if (started.code !== 0 || !host) {
      throw new Error(`start-dockerd.sh failed (${started.code}):\n${started.stdout}${started.stderr}`);
    }
    env = {
      ...(await awsEnv(work, AKID, SECRET)),
      DOCKER_HOST: host,
      DOCKER_CONFIG: dockerConfig,
      URL: dd.url,
      ADDR: dd.addr,
    };
  }, 120_000);
  afterAll(async () => {
    if (dockerDir) await run(join(clientsDir, "stop-dockerd.sh"), [dockerDir, "--wipe"]);
    await dd?.destroy();
    if (work) await rm(work, { recursive: true, force: true });
  });

  const sh = (script: string, extraEnv: NodeJS.ProcessEnv = {}) =>
    run("bash", ["-c", `set -o pipefail; ${script}`], { env: { ...env, ...extraEnv }, timeoutMs: 240_000 });

  it("a wrong password and a wrong secret key are refused", async () => {
    const forged = await sh(
      'printf %s dd1.forged.token | docker login --username AWS --password-stdin "$ADDR"',
    );
    expect(forged.code).not.toBe(0);
    expect(forged.stdout + forged.stderr).not.toMatch(/Login Succeeded/);
    const wrongUser = await sh(
      `printf %s wrong-password | docker login --username ci --password-stdin "$ADDR"`,
    );
    expect(wrongUser.code).not.toBe(0);
    const wrongKey = await sh(
      '/usr/bin/aws ecr get-login-password --endpoint-url "$URL" | docker login --username AWS --password-stdin "$ADDR"',
      { AWS_SECRET_ACCESS_KEY: "not-the-secret-0123456789" },
    );
    expect(wrongKey.code).not.toBe(0);
    expect(wrongKey.stderr).toMatch(/InvalidSignatureException/);
  });

  it("get-login-password | docker login, then docker load, tag, push", async () => {
    const login = await sh(
      '/usr/bin/aws ecr get-login-password --endpoint-url "$URL" | docker login --username AWS --password-stdin "$ADDR"',
    );
    expect(login.code, login.stderr).toBe(0);
    expect(login.stdout).toMatch(/Login Succeeded/);

    const load = await sh(`docker load -q -i ${dockerArchive}`);
    expect(load.code, load.stderr).toBe(0);
    const loaded = /Loaded image: (\S+)/.exec(load.stdout)?.[1];
    expect(loaded, load.stdout).toBeDefined();
    const ref = `${dd.addr}/team/app:1`;
    const tag = await sh(`docker tag ${loaded} ${ref}`);
    expect(tag.code, tag.stderr).toBe(0);
    const pushed = await sh(`docker push -q ${ref}`);
    expect(pushed.code, pushed.stdout + pushed.stderr).toBe(0);

    // The registry has it (as the user the key names), and the ECR API lists it.
    const basic = Buffer.from(`ci:${PASSWORD}`).toString("base64");
    const tags = await fetch(`${dd.url}/v2/team/app/tags/list`, {
      headers: { Authorization: `Basic ${basic}` },
    });
    expect(tags.status).toBe(200);
    expect(((await tags.json()) as { tags: string[] }).tags).toEqual(["1"]);
    const images = await sh(
      '/usr/bin/aws ecr describe-images --repository-name team/app --endpoint-url "$URL" --output json',
    );
    expect(images.code, images.stderr).toBe(0);
    expect((JSON.parse(images.stdout) as Json).imageDetails[0].imageTags).toEqual(["1"]);

    // The user's rules still apply to the AWS login: team/** only.
    const otherRef = `${dd.addr}/other/app:1`;
    expect((await sh(`docker tag ${loaded} ${otherRef}`)).code).toBe(0);
    const denied = await sh(`docker push -q ${otherRef}`);
    expect(denied.code).not.toBe(0);
  });
});
