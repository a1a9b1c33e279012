import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import {
  clientsDir,
  fixturesDir,
  missingShared,
  run,
  scrapeMetric,
  serverProblems,
  sha256Digest,
  startDrydock,
  type Drydock,
  type RunResult,
} from "./harness.js";

/**
 * The docker CLI against a REAL Docker engine (Debian's dockerd 20.10, started by
 * ../shared/tools/clients/start-dockerd.sh on a private socket and data root) pushing to
 * and pulling from Drydock. dockerd treats registries on 127.0.0.0/8 as plain HTTP.
 */

const skip = missingShared();
if (skip) console.warn(`docker against a real dockerd skipped: ${skip}`);

const DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";
const archive = join(fixturesDir, "docker-archive", "node-app.tar");

interface Manifest {
  mediaType: string;
  config: { mediaType: string; digest: string; size: number };
  layers: { mediaType: string; digest: string; size: number }[];
}

describe.skipIf(skip !== null)("docker CLI with a real dockerd", () => {
  let dd: Drydock;
  let work: string;
  let dockerDir: string;
  let docker: (args: string[]) => Promise<RunResult>;
  let imageId: string;
  let pushed: { digest: string; manifest: Manifest };

  beforeAll(async () => {
    dd = await startDrydock();
    // Short path: dockerd and containerd put unix sockets under it.
    work = await mkdtemp("/tmp/drydock-docker-");
    dockerDir = join(work, "dockerd");
    const config = join(work, "config");
    await mkdir(config);
    await writeFile(join(config, "config.json"), "{}\n");
    const started = await run(join(clientsDir, "start-dockerd.sh"), [dockerDir], { timeoutMs: 60_000 });
    const host = /export DOCKER_HOST=(\S+)/.exec(started.stdout)?.[1];
    if (started.code !== 0 || !host) {
      throw new Error(`start-dockerd.sh failed (${started.code}):\n${started.stdout}${started.stderr}`);
    }
    docker = (args) =>
      run("docker", args, { env: { DOCKER_HOST: host, DOCKER_CONFIG: config }, timeoutMs: 240_000 });
  });
  afterAll(async () => {
    if (dockerDir) await run(join(clientsDir, "stop-dockerd.sh"), [dockerDir, "--wipe"]);
    if (work) await rm(work, { recursive: true, force: true });
    await dd?.destroy();
  });

  async function getManifest(repo: string, ref: string) {
    const r = await fetch(`${dd.url}/v2/${repo}/manifests/${ref}`, { headers: { Accept: DOCKER_MANIFEST } });
    const body = Buffer.from(await r.arrayBuffer());
    return { r, body };
  }

  it("docker load + docker push store a Docker v2 schema 2 manifest", async () => {
    const load = await docker(["load", "-q", "-i", archive]);
    expect(load.code, load.stderr).toBe(0);
    const loaded = /Loaded image: (\S+)/.exec(load.stdout)?.[1];
    expect(loaded, load.stdout).toBeDefined();
    const id = await docker(["image", "inspect", "--format", "{{.Id}}", loaded!]);
    expect(id.code, id.stderr).toBe(0);
    imageId = id.stdout.trim();
    expect(imageId).toMatch(/^sha256:[0-9a-f]{64}$/);

    const ref = `${dd.addr}/a/node-app:latest`;
    expect((await docker(["tag", loaded!, ref])).code).toBe(0);
    const push = await docker(["push", ref]);
    expect(push.code, push.stdout + push.stderr).toBe(0);
    const m = /latest: digest: (sha256:[0-9a-f]{64}) size: (\d+)/.exec(push.stdout);
    expect(m, push.stdout).not.toBeNull();
    const digest = m![1]!;

    const { r, body } = await getManifest("a/node-app", "latest");
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toBe(DOCKER_MANIFEST);
    expect(r.headers.get("docker-content-digest")).toBe(digest);
    expect(sha256Digest(body)).toBe(digest);
    expect(body.length).toBe(Number(m![2]));
    const manifest = JSON.parse(body.toString("utf8")) as Manifest;
    expect(manifest.mediaType).toBe(DOCKER_MANIFEST);
    expect(manifest.config.mediaType).toBe("application/vnd.docker.container.image.v1+json");
    expect(manifest.config.digest).toBe(imageId);
    expect(manifest.layers).toHaveLength(3);
    for (const l of manifest.layers) {
      expect(l.mediaType).toBe("application/vnd.docker.image.rootfs.diff.tar.gzip");
    }
    pushed = { digest, manifest };
  });

  it("pushing the same image to a second repository mounts its layers from the first", async () => {
    expect(pushed, "needs the push of the previous test").toBeDefined();
    const uploads = { route: "uploads", method: "POST" };
    const mountsBefore = await scrapeMetric(dd, "drydock_http_requests_total", { ...uploads, status: "201" });
    const chunksBefore = await scrapeMetric(dd, "drydock_http_requests_total", { method: "PATCH" });

    const ref = `${dd.addr}/b/node-app:latest`;
    expect((await docker(["tag", imageId, ref])).code).toBe(0);
    const push = await docker(["push", ref]);
    expect(push.code, push.stdout + push.stderr).toBe(0);
    expect(push.stdout).toContain(`latest: digest: ${pushed.digest}`);

    // The client's view: every layer was "Mounted from a/node-app" (dockerd remembers where
    // it pushed each layer and asks POST /v2/b/node-app/blobs/uploads/?mount=<digest>&from=a/node-app).
    const mountedLines = push.stdout.split("\n").filter((l) => /: Mounted from a\/node-app$/.test(l.trim()));
    expect(mountedLines, push.stdout).toHaveLength(pushed.manifest.layers.length);
    // The server's view: one 201 mount answer per layer, and no layer bytes sent again
    // (at most one chunked upload: the 1.3 kB config, which dockerd does not mount).
    const mounts =
      (await scrapeMetric(dd, "drydock_http_requests_total", { ...uploads, status: "201" })) - mountsBefore;
    const chunks =
      (await scrapeMetric(dd, "drydock_http_requests_total", { method: "PATCH" })) - chunksBefore;
    expect(mounts).toBe(pushed.manifest.layers.length);
    expect(chunks).toBeLessThanOrEqual(1);

    const { r, body } = await getManifest("b/node-app", "latest");
    expect(r.status).toBe(200);
    expect(sha256Digest(body)).toBe(pushed.digest);
    for (const d of [pushed.manifest.config, ...pushed.manifest.layers]) {
      const h = await fetch(`${dd.url}/v2/b/node-app/blobs/${d.digest}`, { method: "HEAD" });
      expect(h.status, d.digest).toBe(200);
      expect(h.headers.get("content-length")).toBe(String(d.size));
    }
  });

  it("docker rmi + docker pull bring back the same image ID", async () => {
    expect(pushed, "needs the push of the first test").toBeDefined();
    const tags = await docker(["image", "inspect", "--format", "{{json .RepoTags}}", imageId]);
    expect(tags.code, tags.stderr).toBe(0);
    const rmi = await docker(["rmi", ...(JSON.parse(tags.stdout) as string[])]);
    expect(rmi.code, rmi.stderr).toBe(0);
    expect((await docker(["image", "inspect", imageId])).code).not.toBe(0);

    const blobGets = { method: "GET", route: "blob", status: "200" };
    const getsBefore = await scrapeMetric(dd, "drydock_http_requests_total", blobGets);
    const ref = `${dd.addr}/a/node-app:latest`;
    const pull = await docker(["pull", ref]);
    expect(pull.code, pull.stdout + pull.stderr).toBe(0);
    expect(pull.stdout).toContain(`Digest: ${pushed.digest}`);
    // Every layer and the config really came from Drydock.
    const gets = (await scrapeMetric(dd, "drydock_http_requests_total", blobGets)) - getsBefore;
    expect(gets).toBeGreaterThanOrEqual(pushed.manifest.layers.length + 1);

    const inspect = await docker(["image", "inspect", "--format", "{{.Id}} {{json .RepoDigests}}", ref]);
    expect(inspect.code, inspect.stderr).toBe(0);
    const [id, digests] = inspect.stdout.trim().split(" ", 2);
    expect(id).toBe(imageId);
    expect(JSON.parse(digests!) as string[]).toContain(`${dd.addr}/a/node-app@${pushed.digest}`);
  });

  it("the server logged no errors", () => {
    expect(serverProblems(dd)).toEqual([]);
  });
});
