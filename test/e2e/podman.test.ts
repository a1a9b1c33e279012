import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  clientsDir,
  missingShared,
  ociLayout,
  run,
  serverProblems,
  sha256Digest,
  startDrydock,
  type Drydock,
  type RunResult,
} from "./harness.js";

/**
 * podman push and pull against Drydock. podman works on a private storage root (its own
 * --root/--runroot/--tmpdir under a temporary directory), so the pull back really downloads
 * every blob and nothing is left in, or taken from, the machine's shared image store.
 */

const skip = missingShared();
if (skip) console.warn(`podman push/pull skipped: ${skip}`);

const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
const DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";

interface Manifest {
  mediaType: string;
  config: { mediaType: string; digest: string; size: number };
  layers: { mediaType: string; digest: string; size: number }[];
}

describe.skipIf(skip !== null)("podman push and pull", () => {
  let dd: Drydock;
  let work: string;
  let podman: (args: string[]) => Promise<RunResult>;
  /** Image ID (config digest, hex) of the fixture as podman stores it. */
  let imageId: string;
  let ociDigest: string;

  beforeAll(async () => {
    dd = await startDrydock();
    work = await mkdtemp(join(tmpdir(), "drydock-podman-"));
    const global = [
      "--root",
      join(work, "root"),
      "--runroot",
      join(work, "run"),
      "--tmpdir",
      join(work, "tmp"),
    ];
    podman = (args) =>
      run("podman", [...global, "--storage-driver", "overlay", ...args], {
        env: { CONTAINERS_CONF: join(clientsDir, "containers.conf") },
        timeoutMs: 240_000,
      });
  });
  afterAll(async () => {
    if (podman) await podman(["rmi", "--all", "--force"]);
    if (work) await rm(work, { recursive: true, force: true });
    await dd?.destroy();
  });

  async function getManifest(repo: string, ref: string, accept: string) {
    const r = await fetch(`${dd.url}/v2/${repo}/manifests/${ref}`, { headers: { Accept: accept } });
    const body = Buffer.from(await r.arrayBuffer());
    return { r, body, json: JSON.parse(body.toString("utf8")) as Manifest };
  }

  async function expectBlobs(repo: string, m: Manifest) {
    for (const d of [m.config, ...m.layers]) {
      const h = await fetch(`${dd.url}/v2/${repo}/blobs/${d.digest}`, { method: "HEAD" });
      expect(h.status, `${repo} ${d.digest}`).toBe(200);
      expect(h.headers.get("content-length")).toBe(String(d.size));
    }
  }

  it("podman push (OCI) of a fixture and podman pull back keep the image ID and digest", async () => {
    const pulled = await podman(["pull", "-q", `oci:${ociLayout("node-app")}:latest`]);
    expect(pulled.code, pulled.stderr).toBe(0);
    imageId = pulled.stdout.trim();
    expect(imageId).toMatch(/^[0-9a-f]{64}$/);

    const ref = `${dd.addr}/podman/node-app:oci`;
    expect((await podman(["tag", imageId, ref])).code).toBe(0);
    const digestFile = join(work, "oci.digest");
    const push = await podman(["push", "--tls-verify=false", "--digestfile", digestFile, ref]);
    expect(push.code, push.stderr).toBe(0);
    ociDigest = readFileSync(digestFile, "utf8").trim();
    expect(ociDigest).toMatch(/^sha256:[0-9a-f]{64}$/);

    // What the registry holds is what podman says it pushed, byte for byte.
    const { r, body, json } = await getManifest("podman/node-app", "oci", OCI_MANIFEST);
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toBe(OCI_MANIFEST);
    expect(r.headers.get("docker-content-digest")).toBe(ociDigest);
    expect(sha256Digest(body)).toBe(ociDigest);
    expect(json.mediaType).toBe(OCI_MANIFEST);
    expect(json.config.digest).toBe(`sha256:${imageId}`);
    expect(json.layers).toHaveLength(3);
    await expectBlobs("podman/node-app", json);

    // Remove every local copy, then pull it back from Drydock.
    expect((await podman(["rmi", "--all", "--force"])).code).toBe(0);
    expect((await podman(["image", "exists", imageId])).code).toBe(1);
    const back = await podman(["pull", "-q", "--tls-verify=false", ref]);
    expect(back.code, back.stderr).toBe(0);
    expect(back.stdout.trim()).toBe(imageId);
    const inspect = await podman(["image", "inspect", "--format", "{{json .RepoDigests}}", ref]);
    expect(inspect.code, inspect.stderr).toBe(0);
    expect(JSON.parse(inspect.stdout) as string[]).toContain(`${dd.addr}/podman/node-app@${ociDigest}`);
  });

  it("podman push --format v2s2 to another repository stores a Docker v2 schema 2 manifest", async () => {
    expect(imageId, "needs the image of the previous test").toBeDefined();
    const src = `${dd.addr}/podman/node-app:oci`;
    const ref = `${dd.addr}/podman/node-app-docker:v2s2`;
    const digestFile = join(work, "v2s2.digest");
    const push = await podman([
      "push",
      "--tls-verify=false",
      "--format",
      "v2s2",
      "--digestfile",
      digestFile,
      src,
      ref,
    ]);
    expect(push.code, push.stderr).toBe(0);
    const digest = readFileSync(digestFile, "utf8").trim();
    expect(digest).not.toBe(ociDigest);

    const { r, body, json } = await getManifest("podman/node-app-docker", "v2s2", DOCKER_MANIFEST);
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toBe(DOCKER_MANIFEST);
    expect(sha256Digest(body)).toBe(digest);
    expect(json.mediaType).toBe(DOCKER_MANIFEST);
    expect(json.config.mediaType).toBe("application/vnd.docker.container.image.v1+json");
    expect(json.config.digest).toBe(`sha256:${imageId}`);
    expect(json.layers.map((l) => l.mediaType)).toEqual(
      Array(3).fill("application/vnd.docker.image.rootfs.diff.tar.gzip"),
    );
    await expectBlobs("podman/node-app-docker", json);

    expect((await podman(["rmi", "--all", "--force"])).code).toBe(0);
    const back = await podman(["pull", "-q", "--tls-verify=false", ref]);
    expect(back.code, back.stderr).toBe(0);
    expect(back.stdout.trim()).toBe(imageId);
    const inspect = await podman(["image", "inspect", "--format", "{{json .RepoDigests}}", ref]);
    expect(JSON.parse(inspect.stdout) as string[]).toContain(`${dd.addr}/podman/node-app-docker@${digest}`);
  });

  it("the server logged no errors", () => {
    expect(serverProblems(dd)).toEqual([]);
  });
});
