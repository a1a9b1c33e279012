import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFile, mkdir, mkdtemp, readFile, rename, rm, writeFile } from "node:fs/promises";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  freePort,
  manifestDigestOfLayout,
  missingShared,
  ociLayout,
  repoRoot,
  run,
  serverProblems,
  skopeo,
  type Drydock,
} from "./harness.js";
import { admissionReview, podSpec, workload } from "../../src/policy/admission/testing.js";

/**
 * `drydock serve` with tls.certFile and tls.keyFile: skopeo pushes and pulls over HTTPS,
 * verifying the registry's certificate against a CA it is given (--dest-cert-dir, as
 * /etc/containers/certs.d/HOST:PORT/ca.crt would), and a renewed certificate is served
 * without a restart.
 */

const skip = missingShared();
if (skip) console.warn(`TLS tests skipped: ${skip}`);

const IMAGE = "debian-bookworm-minimal";

/** A self-signed certificate for 127.0.0.1 in `dir`: tls.crt, tls.key, and ca/ca.crt (the same certificate). */
async function makeCert(dir: string): Promise<{ certFile: string; keyFile: string; caDir: string }> {
  await mkdir(join(dir, "ca"), { recursive: true });
  const certFile = join(dir, "tls.crt");
  const keyFile = join(dir, "tls.key");
  const r = await run("openssl", [
    ...["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"],
    ...["-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
    ...["-keyout", keyFile, "-out", certFile],
  ]);
  expect(r.code, r.stderr).toBe(0);
  await copyFile(certFile, join(dir, "ca", "ca.crt"));
  return { certFile, keyFile, caDir: join(dir, "ca") };
}

/** GET over HTTPS trusting only the CA in `caDir`. */
async function httpsGet(url: string, caDir: string): Promise<{ status: number; body: string }> {
  const ca = await readFile(join(caDir, "ca.crt"));
  return new Promise((resolve, reject) => {
    const req = request(url, { ca, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}

/** POST JSON over HTTPS trusting only the CA in `caDir` (as the API server calls a webhook with its caBundle). */
async function httpsPostJson(
  url: string,
  caDir: string,
  body: unknown,
): Promise<{ status: number; body: string }> {
  const ca = await readFile(join(caDir, "ca.crt"));
  const data = Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: "POST",
        ca,
        agent: false,
        headers: { "content-type": "application/json", "content-length": data.length },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(data);
  });
}

/**
 * startDrydock of the harness, for HTTPS: the same `node dist/cli/main.js serve`, waiting
 * for /healthz over HTTPS with the given CA.
 */
async function startTlsDrydock(tls: { certFile: string; keyFile: string }, caDir: string): Promise<Drydock> {
  const dataDir = await mkdtemp(join(tmpdir(), "drydock-e2e-tls-"));
  const port = await freePort();
  const addr = `127.0.0.1:${port}`;
  const configFile = join(dataDir, "..", `drydock-config-${port}.json`);
  await writeFile(configFile, JSON.stringify({ tls }));
  const args = [join(repoRoot, "dist/cli/main.js"), "serve", "--listen", addr, "--data", dataDir];
  const child: ChildProcess = spawn(
    process.execPath,
    [...args, "--log-level", "info", "--config", configFile],
    {
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let out = "";
  child.stdout!.on("data", (c: Buffer) => (out += c.toString()));
  child.stderr!.on("data", (c: Buffer) => (out += c.toString()));
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`drydock exited with ${child.exitCode}:\n${out}`);
    if ((await httpsGet(`https://${addr}/healthz`, caDir).catch(() => null))?.status === 200) break;
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`drydock did not start:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const d: Drydock = {
    addr,
    url: `https://${addr}`,
    dataDir,
    process: child,
    logs: () => out,
    async stop() {
      if (child.exitCode === null) child.kill("SIGTERM");
      await exited;
    },
    async kill9() {
      if (child.exitCode === null) child.kill("SIGKILL");
      await exited;
    },
    async destroy() {
      await d.stop();
      await rm(dataDir, { recursive: true, force: true });
      await rm(configFile, { force: true });
    },
  };
  return d;
}

describe.skipIf(skip !== null)("TLS on the listener", () => {
  let dd: Drydock;
  let work: string;
  let first: Awaited<ReturnType<typeof makeCert>>;
  let tls: { certFile: string; keyFile: string };

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "drydock-tls-"));
    first = await makeCert(join(work, "first"));
    // The files drydock reads; renewal replaces them.
    await mkdir(join(work, "live"));
    tls = { certFile: join(work, "live", "tls.crt"), keyFile: join(work, "live", "tls.key") };
    await copyFile(first.certFile, tls.certFile);
    await copyFile(first.keyFile, tls.keyFile);
    dd = await startTlsDrydock(tls, first.caDir);
  });

  afterAll(async () => {
    if (dd) {
      expect(serverProblems(dd)).toEqual([]);
      await dd.destroy();
    }
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("says so at start-up and listens with HTTPS", () => {
    expect(dd.logs()).toMatch(/"msg":"TLS on the listener"/);
    // The address Fastify reports, in the "listening" line.
    expect(dd.logs()).toMatch(/"address":"https:\/\/127\.0\.0\.1:\d+"/);
  });

  it("skopeo pushes and pulls over verified TLS with the same manifest digest", async () => {
    const layout = ociLayout(IMAGE);
    const ref = `docker://${dd.addr}/tls/${IMAGE}:latest`;
    const push = await skopeo([
      ...["copy", "--quiet", "--preserve-digests", "--dest-cert-dir", first.caDir],
      `oci:${layout}:latest`,
      ref,
    ]);
    expect(push.code, push.stderr).toBe(0);
    const expected = manifestDigestOfLayout(layout);

    const inspect = await skopeo(["inspect", "--raw", "--cert-dir", first.caDir, ref]);
    expect(inspect.code, inspect.stderr).toBe(0);
    expect(`sha256:${createHash("sha256").update(inspect.stdout).digest("hex")}`).toBe(expected);

    const out = join(work, "pulled");
    const pull = await skopeo([
      ...["copy", "--quiet", "--preserve-digests", "--src-cert-dir", first.caDir],
      ref,
      `oci:${out}:latest`,
    ]);
    expect(pull.code, pull.stderr).toBe(0);
    expect(manifestDigestOfLayout(out)).toBe(expected);
  });

  it("the admission webhook answers over the listener's TLS: mutate pins the pushed tag to its digest", async () => {
    const image = `${dd.addr}/tls/${IMAGE}:latest`;
    const review = admissionReview("Pod", workload("Pod", podSpec({ containers: [image] })), {
      uid: "tls-1",
    });
    const v = await httpsPostJson(`${dd.url}/admission/v1/validate`, first.caDir, review);
    expect(v.status, v.body).toBe(200);
    expect(JSON.parse(v.body)).toMatchObject({
      apiVersion: "admission.k8s.io/v1",
      kind: "AdmissionReview",
      response: { uid: "tls-1", allowed: true },
    });
    const m = await httpsPostJson(`${dd.url}/admission/v1/mutate`, first.caDir, review);
    expect(m.status, m.body).toBe(200);
    const patch = (JSON.parse(m.body) as { response: { patch: string; patchType: string } }).response;
    expect(patch.patchType).toBe("JSONPatch");
    expect(JSON.parse(Buffer.from(patch.patch, "base64").toString("utf8"))).toEqual([
      {
        op: "replace",
        path: "/spec/containers/0/image",
        value: `${dd.addr}/tls/${IMAGE}@${manifestDigestOfLayout(ociLayout(IMAGE))}`,
      },
    ]);
  });

  it("a client that does not trust the certificate is refused by its own check", async () => {
    const other = await makeCert(join(work, "untrusted"));
    const r = await skopeo([
      "inspect",
      "--raw",
      "--cert-dir",
      other.caDir,
      `docker://${dd.addr}/tls/${IMAGE}:latest`,
    ]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/certificate/i);
  });

  it("a renewed certificate is served without a restart", async () => {
    const renewed = await makeCert(join(work, "renewed"));
    // As renewal tools do: written beside, then renamed over the files in use.
    await copyFile(renewed.keyFile, `${tls.keyFile}.new`);
    await copyFile(renewed.certFile, `${tls.certFile}.new`);
    await rename(`${tls.keyFile}.new`, tls.keyFile);
    await rename(`${tls.certFile}.new`, tls.certFile);
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      if ((await httpsGet(`${dd.url}/v2/`, renewed.caDir).catch(() => null))?.status === 200) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(dd.logs()).toMatch(/"msg":"TLS certificate reloaded"/);
    const inspect = await skopeo([
      ...["inspect", "--raw", "--cert-dir", renewed.caDir],
      `docker://${dd.addr}/tls/${IMAGE}:latest`,
    ]);
    expect(inspect.code, inspect.stderr).toBe(0);
    // The old certificate is no longer served.
    const old = await skopeo([
      "inspect",
      "--raw",
      "--cert-dir",
      first.caDir,
      `docker://${dd.addr}/tls/${IMAGE}:latest`,
    ]);
    expect(old.code).not.toBe(0);
  });
});
