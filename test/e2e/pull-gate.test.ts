import { generateKeyPairSync } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { admissionReview, podSpec, workload } from "../../src/policy/admission/testing.js";
import {
  cosignSignatureManifest,
  sha256,
  signBlob,
  simpleSigningPayload,
} from "../../src/policy/signatures/testing.js";
import { awsCli, awsEnv } from "./aws-cli.js";
import {
  clientsDir,
  importVulnDb,
  manifestDigestOfLayout,
  missingShared,
  ociLayout,
  repoRoot,
  run,
  sharedDir,
  skopeo,
  startDrydock,
  type Drydock,
  type RunResult,
} from "./harness.js";

/**
 * The pull gate and the admission webhook end to end: a real `drydock serve` with users, a
 * vulnerability database from the shared nodejs-security-wg feed (node-app: lodash 4.17.15,
 * NSWG-ECO-516 HIGH), the pull policy set at run time with `drydock policy set`, and pulls by
 * the real clients: skopeo, podman and docker (a real dockerd). The gate starts the scan of an
 * unscanned image and holds the pull until it is done; the clients print the DENIED reason.
 */

const skip = missingShared();
if (skip) console.warn(`pull gate e2e skipped: ${skip}`);
const cli = join(repoRoot, "dist/cli/main.js");
const PASSWORD = "correct horse battery staple";
const basic = (user: string) => `Basic ${Buffer.from(`${user}:${PASSWORD}`).toString("base64")}`;
const NODE_APP = ociLayout("node-app");
const REASON = /NSWG-ECO-516 \(HIGH, lodash\)/;
const AKID = "AKIAPULLGATE00000001";
const SECRET = "pull-gate-secret-access-key-0001";
const signingKey = generateKeyPairSync("ec", { namedCurve: "P-256" });

describe.skipIf(skip !== null)("pull gate and admission webhook (drydock serve)", () => {
  let dd: Drydock;
  let data: string;
  let work: string;
  let digest: string;

  const drydock = (...args: string[]) => run(process.execPath, [cli, ...args, "--data", data]);

  function configureScanning(config: object): void {
    const db = new Database(join(data, "meta.db"));
    try {
      db.pragma("busy_timeout = 5000");
      db.prepare(
        "INSERT INTO scan_settings (key, value, updated_at) VALUES ('registry', ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
      ).run(JSON.stringify(config), Date.now());
    } finally {
      db.close();
    }
  }

  async function setPolicy(policy: object): Promise<void> {
    // the server's configuration file (startDrydock writes it beside the data directory): its signature keys
    const config = join(data, "..", `drydock-config-${dd.addr.split(":")[1]}.json`);
    const r = await run(process.execPath, [cli, "policy", "set", "-", "--data", data, "--config", config], {
      input: JSON.stringify(policy),
    });
    expect(r.code, r.stderr).toBe(0);
    // every node looks at the policy's version once a second
    await new Promise((ok) => setTimeout(ok, 1200));
  }

  const push = (dest: string) =>
    skopeo([
      "copy",
      "--dest-tls-verify=false",
      "--dest-creds",
      `admin:${PASSWORD}`,
      `oci:${NODE_APP}`,
      `docker://${dd.addr}/${dest}`,
    ]);

  const inspect = (ref: string, user = "admin") =>
    skopeo([
      "inspect",
      "--raw",
      "--tls-verify=false",
      "--creds",
      `${user}:${PASSWORD}`,
      `docker://${dd.addr}/${ref}`,
    ]);

  async function events(type: string): Promise<{ detail: Record<string, unknown> }[]> {
    const r = await drydock("events", "tail", "-n", "1000");
    expect(r.code, r.stderr).toBe(0);
    return r.stdout
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { "detail-type": string; detail: Record<string, unknown> })
      .filter((e) => e["detail-type"] === type);
  }

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "drydock-gate-e2e-"));
    data = join(work, "data");
    await mkdir(data);
    await importVulnDb(data, join(sharedDir, "vulndata/raw/nodejs-security-wg-vuln.tar.gz"));
    const hashed = await run(process.execPath, [cli, "hash-password"], { input: `${PASSWORD}\n` });
    expect(hashed.code, hashed.stderr).toBe(0);
    const passwordHash = hashed.stdout.trim();
    dd = await startDrydock({
      dataDir: data,
      config: {
        auth: {
          users: [
            { username: "admin", passwordHash, access: [{ repository: "**", actions: ["pull", "push"] }] },
            { username: "deployer", passwordHash, access: [{ repository: "**", actions: ["pull"] }] },
          ],
        },
        scan: { pollIntervalMs: 100 },
        aws: { credentials: [{ accessKeyId: AKID, secretAccessKey: SECRET, user: "admin" }] },
        signatures: {
          keys: { ci: { publicKey: signingKey.publicKey.export({ type: "spki", format: "pem" }) as string } },
        },
      },
    });
    // ENHANCED scanning without rules: nothing is scanned on push, language packages are read.
    configureScanning({ scanType: "ENHANCED", rules: [] });
    digest = manifestDigestOfLayout(NODE_APP);
    for (const dest of ["prod/node-app:1", "staging/node-app:1", "hold/node-app:1", "signed/node-app:1"]) {
      const r = await push(dest);
      expect(r.code, r.stderr).toBe(0);
    }
    await setPolicy({
      pull: [
        { repositories: ["prod/**"], requireScan: true, blockSeverity: "HIGH", bypassUsers: ["deployer"] },
        { repositories: ["staging/**"], requireScan: true, blockSeverity: "CRITICAL" },
        { repositories: ["hold/**"], requireScan: true },
        { repositories: ["signed/**"], requireSignature: { keys: ["ci"] } },
      ],
      scanWaitSeconds: 30,
    });
  }, 120_000);
  afterAll(async () => {
    await dd?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("an unscanned image is held until scanned, then served (staging) or denied with the reason (skopeo)", async () => {
    const served = await inspect("staging/node-app:1");
    expect(served.code, served.stderr).toBe(0);
    const denied = await inspect("prod/node-app:1");
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toMatch(/denied/i);
    expect(denied.stderr).toMatch(REASON);
    expect(denied.stderr).toContain("pull of prod/node-app denied by the pull policy (rule 1, prod/**)");
    const policy = await drydock("policy", "get");
    expect(policy.code, policy.stderr).toBe(0);
    expect(JSON.parse(policy.stdout)).toMatchObject({ scanWaitSeconds: 30 });
    expect(policy.stderr).toContain("the database's pull policy, version 1");
  }, 60_000);

  it("a bypass user passes, with an audit event; denials are on the event log", async () => {
    const r = await inspect("prod/node-app:1", "deployer");
    expect(r.code, r.stderr).toBe(0);
    const [bypassed] = await events("Drydock Pull Gate Bypassed");
    expect(bypassed!.detail).toMatchObject({
      "repository-name": "prod/node-app",
      "image-digest": digest,
      "image-tag": "1",
      user: "deployer",
      via: "registry",
    });
    const denied = await events("Drydock Pull Denied");
    expect(denied.length).toBeGreaterThan(0);
    expect(denied[0]!.detail).toMatchObject({
      "repository-name": "prod/node-app",
      "image-digest": digest,
      user: "admin",
      vulnerabilities: [{ id: "NSWG-ECO-516", severity: "HIGH", package: "lodash" }],
    });
  }, 30_000);

  it("429 TOOMANYREQUESTS with Retry-After while the scan outlasts scanWaitSeconds", async () => {
    await setPolicy({ pull: [{ repositories: ["hold/**"], requireScan: true }], scanWaitSeconds: 0 });
    const r = await fetch(`${dd.url}/v2/hold/node-app/manifests/1`, {
      headers: { authorization: basic("admin"), accept: "application/vnd.oci.image.manifest.v1+json" },
    });
    expect(r.status).toBe(429);
    expect(r.headers.get("retry-after")).toBe("10");
    const body = (await r.json()) as { errors: { code: string; message: string }[] };
    expect(body.errors[0]!.code).toBe("TOOMANYREQUESTS");
    expect(body.errors[0]!.message).toContain("has not finished");
    // HEAD is not gated (clients resolve with it, then GET)
    const head = await fetch(`${dd.url}/v2/hold/node-app/manifests/1`, {
      method: "HEAD",
      headers: { authorization: basic("admin"), accept: "application/vnd.oci.image.manifest.v1+json" },
    });
    expect(head.status).toBe(200);
    await setPolicy({
      pull: [
        { repositories: ["prod/**"], requireScan: true, blockSeverity: "HIGH" },
        { repositories: ["signed/**"], requireSignature: { keys: ["ci"] } },
      ],
      scanWaitSeconds: 30,
    });
  }, 30_000);

  it("ECR BatchGetImage (the real AWS CLI) reports a gated image as a failure with the reason", async () => {
    const aws = awsCli(dd.url, await awsEnv(work, AKID, SECRET));
    const r = await aws(
      "ecr",
      "batch-get-image",
      "--repository-name",
      "prod/node-app",
      "--image-ids",
      "imageTag=1",
    );
    expect(r.code, r.stderr).toBe(0);
    const out = r.json();
    expect(out.images).toEqual([]);
    expect(out.failures[0].failureCode).toBe("UpstreamAccessDenied");
    expect(out.failures[0].failureReason).toMatch(REASON);
    const ok = await aws(
      "ecr",
      "batch-get-image",
      "--repository-name",
      "staging/node-app",
      "--image-ids",
      "imageTag=1",
    );
    expect(ok.json().images[0].imageId.imageDigest).toBe(digest);
  }, 60_000);

  it("requireSignature: refused until a cosign signature by the configured key is pushed", async () => {
    const unsigned = await inspect("signed/node-app:1");
    expect(unsigned.code).not.toBe(0);
    expect(unsigned.stderr).toContain("no valid signature by key ci");
    // a cosign simple-signing signature in tag form (sha256-<hex>.sig), pushed over HTTP
    const payload = simpleSigningPayload(`${dd.addr}/signed/node-app`, digest);
    const sig = cosignSignatureManifest([{ payload, signature: signBlob(signingKey.privateKey, payload) }]);
    const auth = { authorization: basic("admin") };
    for (const b of sig.blobs) {
      const r = await fetch(`${dd.url}/v2/signed/node-app/blobs/uploads/?digest=${sha256(b)}`, {
        method: "POST",
        headers: auth,
        body: new Uint8Array(b),
      });
      expect(r.status).toBe(201);
    }
    const put = await fetch(`${dd.url}/v2/signed/node-app/manifests/${digest.replace(":", "-")}.sig`, {
      method: "PUT",
      headers: { ...auth, "content-type": sig.mediaType },
      body: new Uint8Array(sig.manifest),
    });
    expect(put.status).toBe(201);
    const signed = await inspect("signed/node-app:1");
    expect(signed.code, signed.stderr).toBe(0);
  }, 30_000);

  it("podman pull is refused with the reason", async () => {
    const root = join(work, "podman");
    const r = await run(
      "podman",
      [
        "--root",
        join(root, "root"),
        "--runroot",
        join(root, "run"),
        "--tmpdir",
        join(root, "tmp"),
        // vfs: nothing is mounted (the pull is refused before any layer), nothing to unmount after
        "--storage-driver",
        "vfs",
        "pull",
        "--tls-verify=false",
        "--creds",
        `admin:${PASSWORD}`,
        `${dd.addr}/prod/node-app:1`,
      ],
      { env: { CONTAINERS_CONF: join(clientsDir, "containers.conf") }, timeoutMs: 60_000 },
    );
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(REASON);
  }, 90_000);

  it("docker pull (a real dockerd) is refused with the reason", async () => {
    const dockerDir = join("/tmp", `drydock-gate-docker-${process.pid}`);
    const config = join(work, "docker-config");
    await mkdir(config);
    await writeFile(join(config, "config.json"), "{}\n");
    const started = await run(join(clientsDir, "start-dockerd.sh"), [dockerDir], { timeoutMs: 60_000 });
    const host = /export DOCKER_HOST=(\S+)/.exec(started.stdout)?.[1];
    try {
      expect(started.code, started.stdout + started.stderr).toBe(0);
      const docker = (args: string[], input?: string): Promise<RunResult> =>
        run("docker", args, { env: { DOCKER_HOST: host, DOCKER_CONFIG: config }, input, timeoutMs: 60_000 });
      const login = await docker(["login", dd.addr, "-u", "admin", "--password-stdin"], PASSWORD);
      expect(login.code, login.stderr).toBe(0);
      const r = await docker(["pull", `${dd.addr}/prod/node-app:1`]);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(REASON);
    } finally {
      await run(join(clientsDir, "stop-dockerd.sh"), [dockerDir, "--wipe"]);
    }
  }, 120_000);

  it("the admission webhook on the listener: denies the vulnerable image, mutate pins tags to digests", async () => {
    const pod = workload(
      "Pod",
      podSpec({
        containers: [`${dd.addr}/staging/node-app:1`, "docker.io/library/busybox:1"],
        initContainers: [`${dd.addr}/prod/node-app:1`],
      }),
    );
    const post = (path: string, body: unknown, auth = basic("admin")) =>
      fetch(`${dd.url}${path}`, {
        method: "POST",
        headers: { authorization: auth, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    const v = await post(
      "/admission/v1/validate",
      admissionReview("Pod", pod, { uid: "e2e-1", username: "kube-admin" }),
    );
    expect(v.status).toBe(200);
    const review = (await v.json()) as {
      response: { uid: string; allowed: boolean; status?: { message: string } };
    };
    expect(review.response.uid).toBe("e2e-1");
    expect(review.response.allowed).toBe(false);
    expect(review.response.status!.message).toContain(`image ${dd.addr}/prod/node-app:1 (container init0)`);
    expect(review.response.status!.message).toMatch(REASON);
    const [event] = (await events("Drydock Pull Denied")).filter((e) => e.detail.via === "admission");
    expect(event!.detail).toMatchObject({ user: "kube-admin", "repository-name": "prod/node-app" });

    const m = await post("/admission/v1/mutate", admissionReview("Pod", pod, { uid: "e2e-2" }));
    const mutated = (await m.json()) as { response: { allowed: boolean; patch: string } };
    expect(mutated.response.allowed).toBe(true);
    expect(JSON.parse(Buffer.from(mutated.response.patch, "base64").toString("utf8"))).toEqual([
      { op: "replace", path: "/spec/initContainers/0/image", value: `${dd.addr}/prod/node-app@${digest}` },
      { op: "replace", path: "/spec/containers/0/image", value: `${dd.addr}/staging/node-app@${digest}` },
    ]);
    // callers need credentials; a bad body is 400 and decides nothing
    expect((await post("/admission/v1/validate", {}, "")).status).toBe(401);
    const bad = await post("/admission/v1/validate", {
      apiVersion: "admission.k8s.io/v1",
      kind: "AdmissionReview",
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { message: string }).message).toContain("request is missing");
  }, 30_000);
});
