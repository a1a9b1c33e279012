import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { awsCli, awsEnv, type AwsCli, type Json } from "./aws-cli.js";
import { repoRoot, run, startDrydock, type Drydock } from "./harness.js";
import { Client, sha256 } from "./registry-http.js";

/**
 * ECR lifecycle policies end to end (docs/lifecycle.md), with the real AWS CLI (Debian's awscli
 * at /usr/bin/aws) and `drydock lifecycle run`:
 *
 * 1. put-lifecycle-policy / get-lifecycle-policy; an invalid policy is InvalidParameterException
 *    naming the rule and the field, and changes nothing.
 * 2. start-lifecycle-policy-preview answers IN_PROGRESS, `aws ecr wait
 *    lifecycle-policy-preview-complete` returns, get-lifecycle-policy-preview lists what would
 *    expire by which rule; nothing is deleted.
 * 3. `drydock lifecycle run --dry-run` prints the same and deletes nothing; `drydock lifecycle
 *    run` deletes the images pushed over HTTP (a cosign signature tag goes with its image), each
 *    with an `ECR Image Action` DELETE event in the event log; lastEvaluatedAt is set.
 * 4. delete-lifecycle-policy, then LifecyclePolicyNotFoundException.
 */

const cli = join(repoRoot, "dist/cli/main.js");
const skip = existsSync("/usr/bin/aws") ? null : "/usr/bin/aws missing";
if (skip) console.warn(`lifecycle e2e skipped: ${skip}`);

const AKID = "AKIALIFECYCLE0000001";
const SECRET = "lifecycle-e2e-secret-0123456789";
const REPO = "lc/app";
const MANIFEST = "application/vnd.oci.image.manifest.v1+json";

const rules = [
  {
    rulePriority: 1,
    description: "keep the two newest releases",
    selection: {
      tagStatus: "tagged",
      tagPatternList: ["v*"],
      countType: "imageCountMoreThan",
      countNumber: 2,
    },
    action: { type: "expire" },
  },
  {
    rulePriority: 2,
    description: "keep one untagged image",
    selection: { tagStatus: "untagged", countType: "imageCountMoreThan", countNumber: 1 },
    action: { type: "expire" },
  },
];
const policyText = JSON.stringify({ rules });

describe.skipIf(skip !== null)(
  "ECR lifecycle policies with the real AWS CLI and drydock lifecycle run",
  () => {
    let dd: Drydock;
    let work: string;
    let aws: AwsCli;
    let configFile: string;
    const reg = () => new Client(dd.url);
    /** name → digest */
    const images: Record<string, string> = {};

    let n = 0;
    async function push(tag: string | null): Promise<string> {
      const config = Buffer.from(JSON.stringify({ architecture: "amd64", os: "linux", n: n++ }));
      expect((await reg().pushBlob(REPO, config)).status).toBe(201);
      const body = JSON.stringify({
        schemaVersion: 2,
        mediaType: MANIFEST,
        config: {
          mediaType: "application/vnd.oci.image.config.v1+json",
          digest: sha256(config),
          size: config.length,
        },
        layers: [],
      });
      const digest = sha256(body);
      expect((await reg().pushManifest(REPO, tag ?? digest, body, MANIFEST)).status).toBe(201);
      // Distinct push times (the count rules sort by push).
      await new Promise((r) => setTimeout(r, 15));
      return digest;
    }
    const drydock = (...args: string[]) =>
      run(process.execPath, [cli, ...args, "--config", configFile, "--data", dd.dataDir], {
        timeoutMs: 60_000,
      });
    const exists = async (digest: string) =>
      (await reg().req("HEAD", `/v2/${REPO}/manifests/${digest}`)).status === 200;

    beforeAll(async () => {
      work = await mkdtemp(join(tmpdir(), "drydock-lifecycle-"));
      dd = await startDrydock({
        config: {
          aws: { accountId: "123456789012", credentials: [{ accessKeyId: AKID, secretAccessKey: SECRET }] },
          lifecycle: { intervalHours: 0 },
        },
      });
      configFile = join(dd.dataDir, "..", `drydock-config-${dd.addr.split(":")[1]}.json`);
      aws = awsCli(dd.url, await awsEnv(work, AKID, SECRET));
      for (const v of ["v1", "v2", "v3", "v4"]) images[v] = await push(v);
      images.untagged1 = await push(null);
      images.untagged2 = await push(null);
      // A cosign signature of v1, in the tag form: it goes with v1.
      images.sig = await push(`sha256-${images.v1!.slice("sha256:".length)}.sig`);
    }, 60_000);
    afterAll(async () => {
      await dd?.destroy();
      if (work) await rm(work, { recursive: true, force: true });
    });

    it("puts and gets a policy; an invalid one is InvalidParameterException naming the rule and field", async () => {
      const put = await aws(
        "ecr",
        "put-lifecycle-policy",
        "--repository-name",
        REPO,
        "--lifecycle-policy-text",
        policyText,
      );
      expect(put.code, put.stderr).toBe(0);
      expect(put.json()).toEqual({
        registryId: "123456789012",
        repositoryName: REPO,
        lifecyclePolicyText: policyText,
      });

      const bad = JSON.stringify({
        rules: [{ ...rules[0], selection: { ...rules[0]!.selection, countNumber: 0 } }],
      });
      const refused = await aws(
        "ecr",
        "put-lifecycle-policy",
        "--repository-name",
        REPO,
        "--lifecycle-policy-text",
        bad,
      );
      expect(refused.code).toBe(254);
      expect(refused.stderr).toContain(
        "An error occurred (InvalidParameterException) when calling the PutLifecyclePolicy operation",
      );
      expect(refused.stderr).toContain(
        "rules[0] (rulePriority 1): selection.countNumber: must be an integer from 1",
      );

      const got = await aws("ecr", "get-lifecycle-policy", "--repository-name", REPO);
      expect(got.code, got.stderr).toBe(0);
      expect(got.json()).toMatchObject({ repositoryName: REPO, lifecyclePolicyText: policyText });
      expect(got.json().lastEvaluatedAt).toBeUndefined();
    });

    it("previews: IN_PROGRESS, the waiter, then the results by rule; nothing deleted", async () => {
      const start = await aws("ecr", "start-lifecycle-policy-preview", "--repository-name", REPO);
      expect(start.code, start.stderr).toBe(0);
      expect(start.json()).toMatchObject({
        repositoryName: REPO,
        lifecyclePolicyText: policyText,
        status: "IN_PROGRESS",
      });
      const wait = await aws("ecr", "wait", "lifecycle-policy-preview-complete", "--repository-name", REPO);
      expect(wait.code, wait.stderr).toBe(0);
      const preview = await aws("ecr", "get-lifecycle-policy-preview", "--repository-name", REPO);
      expect(preview.code, preview.stderr).toBe(0);
      const p: Json = preview.json();
      expect(p.status).toBe("COMPLETE");
      expect(p.summary).toEqual({ expiringImageTotalCount: 3 });
      const byDigest = Object.fromEntries(
        p.previewResults.map((r: Json) => [
          r.imageDigest,
          [r.appliedRulePriority, r.action.type, r.imageTags ?? []],
        ]),
      );
      expect(byDigest).toEqual({
        [images.v1!]: [1, "EXPIRE", ["v1"]],
        [images.v2!]: [1, "EXPIRE", ["v2"]],
        [images.untagged1!]: [2, "EXPIRE", []],
      });
      for (const d of Object.values(images)) expect(await exists(d)).toBe(true);
    });

    it("drydock lifecycle run deletes what the policy expires, with a DELETE event each (a dry run first)", async () => {
      const dry = await drydock("lifecycle", "run", "--dry-run");
      expect(dry.code, dry.stderr).toBe(0);
      expect(dry.stdout).toContain(`${REPO}: 3 images would expire`);
      expect(dry.stdout).toContain(`    ${images.v1} [v1] pushed`);
      expect(dry.stdout).toContain("(+1 attached)");
      for (const d of Object.values(images)) expect(await exists(d)).toBe(true);

      const real = await drydock("lifecycle", "run", "--repository", REPO);
      expect(real.code, real.stderr).toBe(0);
      expect(real.stdout).toContain(`${REPO}: 3 images expired, 4 manifests deleted`);
      expect(real.stdout).toMatch(/ {2}rule 1: 2 expired\n/);
      expect(real.stdout).toMatch(/ {2}rule 2: 1 expired\n/);
      for (const k of ["v1", "v2", "untagged1", "sig"]) expect(await exists(images[k]!), k).toBe(false);
      for (const k of ["v3", "v4", "untagged2"]) expect(await exists(images[k]!), k).toBe(true);

      const tail = await drydock("events", "tail", "-n", "1000");
      expect(tail.code, tail.stderr).toBe(0);
      const deletes = tail.stdout
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Json)
        .filter((e) => e["detail-type"] === "ECR Image Action" && e.detail["action-type"] === "DELETE");
      expect(deletes.map((e) => e.detail["image-digest"]).sort()).toEqual(
        [images.v1, images.v2, images.untagged1, images.sig].sort(),
      );
      expect(
        deletes.every((e) => e.detail.result === "SUCCESS" && e.detail["repository-name"] === REPO),
      ).toBe(true);

      const got = await aws("ecr", "get-lifecycle-policy", "--repository-name", REPO);
      // The CLI prints the epoch-seconds timestamp as a date.
      expect(Date.parse(got.json().lastEvaluatedAt)).toBeGreaterThan(Date.now() - 120_000);
    });

    it("deletes the policy; then there is none", async () => {
      const del = await aws("ecr", "delete-lifecycle-policy", "--repository-name", REPO);
      expect(del.code, del.stderr).toBe(0);
      expect(del.json()).toMatchObject({ repositoryName: REPO, lifecyclePolicyText: policyText });
      const gone = await aws("ecr", "get-lifecycle-policy", "--repository-name", REPO);
      expect(gone.code).toBe(254);
      expect(gone.stderr).toContain("LifecyclePolicyNotFoundException");
      const preview = await aws("ecr", "start-lifecycle-policy-preview", "--repository-name", REPO);
      expect(preview.stderr).toContain("LifecyclePolicyNotFoundException");
    });
  },
);
