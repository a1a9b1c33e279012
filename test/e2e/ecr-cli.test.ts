import { afterAll, beforeAll, describe, expect, it } from "vitest";
import bcrypt from "bcryptjs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { missingShared, ociLayout, repoRoot, run, skopeo, startDrydock, type Drydock } from "./harness.js";
import { awsEnv } from "./aws-cli.js";
import { describeEcrCli, writeTestAdvisoryFeed } from "./ecr-cli-suite.js";

/**
 * The ECR API with the real AWS CLI (Debian's awscli 2.9 at /usr/bin/aws) on one `drydock
 * serve`: the scenario of ecr-cli-suite.ts (cluster.test.ts runs it against the cluster), with
 * a vulnerability database built from its one OSV document (bash in Debian 12 is "critical"),
 * so that the findings are known; then `aws ecr get-login-password` with podman and skopeo.
 */

const skip = missingShared();
if (skip) console.warn(`ECR CLI tests skipped: ${skip}`);

const AKID = "AKIAECRCLITEST0000001";
const SECRET = "ecr-cli-test-secret-0123456789";
const minimal = ociLayout("debian-bookworm-minimal");

describe.skipIf(skip !== null)("ECR API with the real AWS CLI", () => {
  let dd: Drydock;
  let work: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "drydock-ecr-cli-"));
    const dataDir = join(work, "data");
    const r = await run(process.execPath, [
      join(repoRoot, "dist/cli/main.js"),
      "db",
      "import",
      "--db",
      join(dataDir, "vulndb", "vulndb.sqlite"),
      await writeTestAdvisoryFeed(work),
    ]);
    if (r.code !== 0) throw new Error(`db import failed: ${r.stdout}${r.stderr}`);
    dd = await startDrydock({
      dataDir,
      config: {
        aws: { accountId: "123456789012", credentials: [{ accessKeyId: AKID, secretAccessKey: SECRET }] },
      },
    });
    env = await awsEnv(work, AKID, SECRET);
  });
  afterAll(async () => {
    await dd?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  describeEcrCli(() => ({ url: dd.url, addr: dd.addr, env }), "name");
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
