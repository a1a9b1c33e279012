import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { connect } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { cephUnavailable } from "../../src/storage/blob/s3-testing.js";
import { awsCli, awsEnv, type AwsCli, type Json } from "./aws-cli.js";
import {
  clusterUnavailable,
  startCluster,
  startProxy,
  type Cluster,
  type ClusterNode,
  type Proxy,
} from "./cluster-harness.js";
import { describeConformance } from "./conformance-suite.js";
import { describeEcrCli, writeTestAdvisoryFeed } from "./ecr-cli-suite.js";
import {
  clientsDir,
  fixturesDir,
  manifestDigestOfLayout,
  missingShared,
  ociLayout,
  repoRoot,
  run,
  sha256Digest,
  sharedDir,
  skopeo,
  type RunResult,
} from "./harness.js";

/**
 * The cluster of docs/cluster.md proved with real components: a PostgreSQL 15, a Ceph
 * radosgw bucket, two API nodes (A, B) and two workers sharing one configuration file with
 * users, AWS keys, a token secret and a vulnerability database built from ../shared/vulndata;
 * driven by skopeo, the AWS CLI, a real dockerd and this file's own HTTP client. The cluster
 * starts once (beforeAll); only the fault tests kill and restart things, and each test leaves
 * every node running for the next. The PostgreSQL is this file's own (not the run's shared
 * server) because the fault test crashes and restarts it.
 */

const skip = missingShared() ?? clusterUnavailable() ?? cephUnavailable();
if (skip) console.warn(`cluster e2e skipped: ${skip}`);

const cli = join(repoRoot, "dist/cli/main.js");
const USER = "admin";
const PASSWORD = "cluster-e2e-password";
const BASIC = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString("base64")}`;
const AKID = "AKIACLUSTERE2E000001";
const SECRET = "cluster-e2e-secret-0123456789";
const MiB = 1024 * 1024;

const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
const ACCEPT = [
  OCI_MANIFEST,
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.docker.distribution.manifest.v2+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
].join(", ");

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let cluster: Cluster;
let A: ClusterNode;
let B: ClusterNode;
let work: string;
let aws: AwsCli;
let awsEnvironment: NodeJS.ProcessEnv;
const timings: [string, number][] = [];

/** Every tag a test pushed successfully: checked again after GC and after the faults. */
const pushed: { node: () => ClusterNode; repo: string; tag: string; digest: string }[] = [];

// --- HTTP client ------------------------------------------------------------------------------

interface Res {
  status: number;
  headers: Headers;
  body: Buffer;
}

async function http(
  node: ClusterNode | string,
  method: string,
  path: string,
  o: { headers?: Record<string, string>; body?: Buffer; timeoutMs?: number; auth?: string | null } = {},
): Promise<Res> {
  const base = typeof node === "string" ? node : node.url;
  const headers: Record<string, string> = { ...(o.headers ?? {}) };
  if (o.auth !== null) headers.authorization = o.auth ?? BASIC;
  const r = await fetch(new URL(path, base), {
    method,
    headers,
    body: o.body as unknown as BodyInit | undefined,
    redirect: "manual",
    signal: AbortSignal.timeout(o.timeoutMs ?? 60_000),
  });
  return { status: r.status, headers: r.headers, body: Buffer.from(await r.arrayBuffer()) };
}

const show = (r: Res) => `${r.status} ${r.body.toString("utf8").slice(0, 300)}`;

/** A path and query of a Location header (relative or absolute), to send to any node. */
const pathOf = (location: string) => {
  const u = new URL(location, "http://x");
  return u.pathname + u.search;
};

/** POST then PUT with the whole blob (the spec's monolithic upload). */
async function pushBlob(node: ClusterNode, repo: string, data: Buffer): Promise<Res> {
  const post = await http(node, "POST", `/v2/${repo}/blobs/uploads/`);
  if (post.status !== 202) return post;
  const loc = new URL(post.headers.get("location")!, node.url);
  loc.searchParams.set("digest", sha256Digest(data));
  return http(node, "PUT", loc.pathname + loc.search, {
    headers: { "content-type": "application/octet-stream" },
    body: data,
  });
}

/** An OCI image manifest over the given blobs (the first is the config). */
function manifestOf(config: Buffer, layers: Buffer[]): Buffer {
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: {
        mediaType: "application/vnd.oci.image.config.v1+json",
        digest: sha256Digest(config),
        size: config.length,
      },
      layers: layers.map((l) => ({
        mediaType: "application/vnd.oci.image.layer.v1.tar",
        digest: sha256Digest(l),
        size: l.length,
      })),
    }),
  );
}

function randomConfig(layers: Buffer[]): Buffer {
  return Buffer.from(
    JSON.stringify({
      architecture: "amd64",
      os: "linux",
      rootfs: { type: "layers", diff_ids: layers.map((l) => sha256Digest(l)) },
      config: { Labels: { nonce: randomBytes(8).toString("hex") } },
    }),
  );
}

interface PushOutcome {
  repo: string;
  tag: string;
  digest: string;
  ok: boolean;
  /** The failing step and its answer. */
  failure?: { step: string; status: number | string; body: string };
}

/** Pushes a small image of fresh random layers; never throws (the outcome says what happened). */
async function pushRandomImage(
  node: ClusterNode,
  repo: string,
  tag: string,
  layerBytes = 256 * 1024,
): Promise<PushOutcome> {
  const layers = [randomBytes(layerBytes), randomBytes(layerBytes / 2)];
  const config = randomConfig(layers);
  const manifest = manifestOf(config, layers);
  const out: PushOutcome = { repo, tag, digest: sha256Digest(manifest), ok: false };
  const step = async (name: string, p: () => Promise<Res>, want: number) => {
    try {
      const r = await p();
      if (r.status !== want) {
        out.failure = { step: name, status: r.status, body: r.body.toString("utf8").slice(0, 200) };
        return false;
      }
      return true;
    } catch (e) {
      out.failure = {
        step: name,
        status: "network",
        body: String((e as Error).cause ?? (e as Error).message),
      };
      return false;
    }
  };
  for (const [i, b] of [config, ...layers].entries())
    if (!(await step(`blob ${i}`, () => pushBlob(node, repo, b), 201))) return out;
  out.ok = await step(
    "manifest",
    () =>
      http(node, "PUT", `/v2/${repo}/manifests/${tag}`, {
        headers: { "content-type": OCI_MANIFEST },
        body: manifest,
      }),
    201,
  );
  return out;
}

/** Blobs whose bytes were hashed whole once: later checks read one byte (the object exists). */
const hashedBlobs = new Set<string>();

/**
 * GETs a tag's manifest through `node` and every blob it references (recursively for an index):
 * the manifest hashes to its digest (= `digest` when given) and every blob to its digest.
 */
async function verifyTag(node: ClusterNode, repo: string, tag: string, digest?: string): Promise<string> {
  const m = await http(node, "GET", `/v2/${repo}/manifests/${tag}`, { headers: { accept: ACCEPT } });
  expect(m.status, `GET ${repo}:${tag} on ${node.name}: ${show(m)}`).toBe(200);
  const actual = sha256Digest(m.body);
  expect(m.headers.get("docker-content-digest"), `${repo}:${tag}`).toBe(actual);
  if (digest) expect(actual, `${repo}:${tag} on ${node.name}`).toBe(digest);
  const doc = JSON.parse(m.body.toString("utf8")) as {
    manifests?: { digest: string }[];
    config?: { digest: string; size: number };
    layers?: { digest: string; size: number }[];
  };
  for (const sub of doc.manifests ?? []) await verifyTag(node, repo, sub.digest, sub.digest);
  for (const d of [...(doc.config ? [doc.config] : []), ...(doc.layers ?? [])]) {
    if (hashedBlobs.has(d.digest)) {
      const r = await http(node, "GET", `/v2/${repo}/blobs/${d.digest}`, { headers: { range: "bytes=0-0" } });
      expect(r.status, `${repo}@${d.digest} on ${node.name}: ${show(r)}`).toBe(206);
      expect(r.body.length).toBe(1);
    } else {
      const r = await http(node, "GET", `/v2/${repo}/blobs/${d.digest}`, { timeoutMs: 120_000 });
      expect(r.status, `${repo}@${d.digest} on ${node.name}: ${show(r)}`).toBe(200);
      expect(r.body.length).toBe(d.size);
      expect(sha256Digest(r.body), `${repo}@${d.digest} on ${node.name}`).toBe(d.digest);
      hashedBlobs.add(d.digest);
    }
  }
  return actual;
}

// --- real clients -------------------------------------------------------------------------------

const CREDS = `${USER}:${PASSWORD}`;

function skopeoPush(
  layout: string,
  node: ClusterNode,
  ref: string,
  extra: string[] = [],
): Promise<RunResult> {
  const isIndex = /index/.test(
    (JSON.parse(readFileSync(join(layout, "index.json"), "utf8")) as { manifests: { mediaType: string }[] })
      .manifests[0]!.mediaType,
  );
  return skopeo([
    "copy",
    "--quiet",
    ...(isIndex ? ["--all"] : []),
    "--preserve-digests",
    "--dest-tls-verify=false",
    "--dest-creds",
    CREDS,
    ...extra,
    `oci:${layout}:latest`,
    `docker://${node.addr}/${ref}`,
  ]);
}

function skopeoPull(node: ClusterNode, ref: string, out: string, all = false): Promise<RunResult> {
  return skopeo([
    "copy",
    "--quiet",
    ...(all ? ["--all"] : []),
    "--preserve-digests",
    "--src-tls-verify=false",
    "--src-creds",
    CREDS,
    `docker://${node.addr}/${ref}`,
    `oci:${out}:latest`,
  ]);
}

/**
 * The scan events of the cluster's event log for an image: `ECR Image Scan` (BASIC), or
 * `Inspector2 Scan` (ENHANCED: its repository-name is the repository's ARN).
 */
async function scanEvents(repo: string, digest: string): Promise<Json[]> {
  const r = await cluster.cli(["events", "tail", "-n", "100000"]);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout
    .trim()
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Json)
    .filter(
      (e) =>
        e.detail["image-digest"] === digest &&
        ((e["detail-type"] === "ECR Image Scan" && e.detail["repository-name"] === repo) ||
          (e["detail-type"] === "Inspector2 Scan" &&
            String(e.detail["repository-name"]).endsWith(`:repository/${repo}`))),
    );
}

async function scanStatus(repo: string, digest: string): Promise<string | undefined> {
  const rows = await cluster.sql<{ status: string }>(
    "SELECT s.status FROM image_scans s JOIN repositories r ON r.id = s.repository_id WHERE r.name = $1 AND s.digest = $2",
    [repo, digest],
  );
  return rows[0]?.status;
}

/** Times a test body and adds the cluster's logs to any failure. */
function timed(name: string, fn: () => Promise<void>): () => Promise<void> {
  return async () => {
    const t0 = performance.now();
    try {
      await fn();
    } catch (e) {
      (e as Error).message += `\n\n${cluster?.report(25) ?? "(no cluster)"}`;
      throw e;
    } finally {
      timings.push([name, Math.round(performance.now() - t0)]);
    }
  };
}

describe.skipIf(skip !== null)("a Drydock cluster with real components", () => {
  beforeAll(async () => {
    const t0 = performance.now();
    work = join("/tmp", `drydock-cluster-work-${process.pid}`);
    await mkdir(work, { recursive: true });
    // A small vulnerability database: OSV Go advisories (java-app carries Go binaries) and the
    // ECR scenario's one advisory (ecr-cli-suite.ts: bash in Debian 12 is critical).
    const vulndb = join(work, "vulndb.sqlite");
    const feeds = [join(sharedDir, "vulndata/osv/Go"), await writeTestAdvisoryFeed(work)];
    const [imp, hash] = await Promise.all([
      run(process.execPath, [cli, "db", "import", "--db", vulndb, ...feeds]),
      run(process.execPath, [cli, "hash-password"], { input: `${PASSWORD}\n` }),
    ]);
    if (imp.code !== 0) throw new Error(`db import failed: ${imp.stdout}${imp.stderr}`);
    if (hash.code !== 0) throw new Error(`hash-password failed: ${hash.stderr}`);
    cluster = await startCluster({
      config: {
        auth: {
          users: [
            {
              username: USER,
              passwordHash: hash.stdout.trim(),
              access: [{ repository: "**", actions: ["pull", "push", "delete", "admin"] }],
            },
          ],
        },
        aws: {
          accountId: "123456789012",
          credentials: [{ accessKeyId: AKID, secretAccessKey: SECRET, user: USER }],
        },
        vulndb: { path: vulndb },
        // Short leases: a dead worker's scan is taken over within seconds.
        scan: { leaseSeconds: 3, pollIntervalMs: 200 },
      },
    });
    [A, B] = cluster.api as [ClusterNode, ClusterNode];
    awsEnvironment = await awsEnv(work, AKID, SECRET);
    aws = awsCli(A.url, awsEnvironment);
    timings.push(["beforeAll: vulndb, PostgreSQL, Ceph, 4 nodes", Math.round(performance.now() - t0)]);
  }, 240_000);

  afterAll(async () => {
    const t0 = performance.now();
    await cluster?.destroy();
    if (work) await rm(work, { recursive: true, force: true });
    timings.push(["afterAll", Math.round(performance.now() - t0)]);
    console.log(
      `cluster e2e timings (ms):\n${timings.map(([n, ms]) => `  ${String(ms).padStart(7)}  ${n}`).join("\n")}`,
    );
  });

  it(
    "1. skopeo pushes to node A and pulls from node B with the same digests (manifest, index, blobs)",
    timed("1 skopeo A -> B", async () => {
      for (const name of ["debian-bookworm-minimal", "debian-bookworm-multiarch"]) {
        const layout = ociLayout(name);
        const expected = manifestDigestOfLayout(layout);
        const ref = `t1/${name}:1`;
        const push = await skopeoPush(layout, A, ref);
        expect(push.code, push.stderr).toBe(0);
        const out = join(work, `t1-${name}`);
        const pull = await skopeoPull(B, ref, out, name.includes("multiarch"));
        expect(pull.code, pull.stderr).toBe(0);
        expect(manifestDigestOfLayout(out)).toBe(expected);
        // The same blobs, byte for byte: every blob of the source layout is in the pulled one.
        const src = readdirSync(join(layout, "blobs/sha256")).sort();
        const got = readdirSync(join(out, "blobs/sha256")).sort();
        expect(got).toEqual(src);
        for (const hex of got)
          expect(sha256Digest(readFileSync(join(out, "blobs/sha256", hex)))).toBe(`sha256:${hex}`);
        // And over HTTP on B: the manifest and every blob hash to their digests.
        await verifyTag(B, `t1/${name}`, "1", expected);
        pushed.push({ node: () => A, repo: `t1/${name}`, tag: "1", digest: expected });
      }
    }),
  );

  it(
    "2. a chunked upload whose PATCHes alternate between A and B, completed on the other node",
    timed("2 chunked upload across nodes", async () => {
      const repo = "t2/chunked";
      const sizes = [3 * MiB + 17, 9 * MiB, 1, 5 * MiB + 7, 2 * MiB];
      const data = randomBytes(sizes.reduce((a, b) => a + b, 0));
      const nodes = [A, B];
      const post = await http(A, "POST", `/v2/${repo}/blobs/uploads/`);
      expect(post.status, show(post)).toBe(202);
      let location = pathOf(post.headers.get("location")!);
      let offset = 0;
      let last = A;
      for (const [i, size] of sizes.entries()) {
        const node = nodes[i % 2]!;
        const chunk = data.subarray(offset, offset + size);
        const r = await http(node, "PATCH", location, {
          headers: {
            "content-type": "application/octet-stream",
            "content-range": `${offset}-${offset + size - 1}`,
          },
          body: chunk,
        });
        expect(r.status, `PATCH ${i} on ${node.name}: ${show(r)}`).toBe(202);
        offset += size;
        expect(r.headers.get("range"), `PATCH ${i} on ${node.name}`).toBe(`0-${offset - 1}`);
        location = pathOf(r.headers.get("location")!);
        last = node;
        // The other node sees the session where this one left it.
        const other = nodes[(i + 1) % 2]!;
        const status = await http(other, "GET", location);
        expect(status.status, `status on ${other.name}: ${show(status)}`).toBe(204);
        expect(status.headers.get("range")).toBe(`0-${offset - 1}`);
      }
      // An out-of-order chunk on the other node: 416 with where the session stands.
      const other = last === A ? B : A;
      const bad = await http(other, "PATCH", location, {
        headers: { "content-type": "application/octet-stream", "content-range": `0-9` },
        body: Buffer.alloc(10),
      });
      expect(bad.status, show(bad)).toBe(416);
      expect(bad.headers.get("range")).toBe(`0-${offset - 1}`);

      const digest = sha256Digest(data);
      const u = new URL(location, "http://x");
      u.searchParams.set("digest", digest);
      const put = await http(other, "PUT", u.pathname + u.search);
      expect(put.status, `PUT on ${other.name}: ${show(put)}`).toBe(201);
      expect(put.headers.get("docker-content-digest")).toBe(digest);
      for (const node of [A, B]) {
        const head = await http(node, "HEAD", `/v2/${repo}/blobs/${digest}`);
        expect(head.status, node.name).toBe(200);
        expect(head.headers.get("content-length")).toBe(String(data.length));
        const get = await http(node, "GET", `/v2/${repo}/blobs/${digest}`);
        expect(get.status, node.name).toBe(200);
        expect(sha256Digest(get.body), node.name).toBe(digest);
      }
      // Referenced by a manifest, so that GC keeps it and the later checks cover it.
      const config = randomConfig([data]);
      expect((await pushBlob(B, repo, config)).status).toBe(201);
      const manifest = manifestOf(config, [data]);
      const m = await http(A, "PUT", `/v2/${repo}/manifests/1`, {
        headers: { "content-type": OCI_MANIFEST },
        body: manifest,
      });
      expect(m.status, show(m)).toBe(201);
      hashedBlobs.add(digest);
      pushed.push({ node: () => B, repo, tag: "1", digest: sha256Digest(manifest) });
    }),
  );

  /**
   * 2b. The OCI conformance port and the ECR scenario (conformance-suite.ts, ecr-cli-suite.ts:
   * the suites the single-server tests run) through two load balancers with the run's basic
   * credentials added, on repositories of their own. Before test 3: the ECR scenario starts
   * from the default scanning configuration (BASIC, no rules); test 3 replaces the one it
   * leaves.
   */
  describe("2b. through load balancers over A and B", () => {
    /** Conformance: every request goes to the other node than the one before. */
    let alternating: Proxy;
    /**
     * ECR: the AWS requests alternate between A and B (a request and the next, such as two
     * pages of a listing, are served by different nodes); registry requests go to the node the
     * last AWS request did not, so that a repository setting made through one node is enforced
     * by the other (tag immutability, scan on push).
     */
    let ecrLb: Proxy;
    /** The ECR balancer's choices in request order: "Operation api-X" or "METHOD path api-X". */
    const ecrRouted: string[] = [];
    const ECR_REPO = "ecr/name";
    let t0 = 0;

    beforeAll(async () => {
      t0 = performance.now();
      let i = 0;
      alternating = await startProxy(() => (i++ % 2 ? B : A), { authorization: BASIC });
      let lastAws = B;
      ecrLb = await startProxy(
        (req) => {
          const op = req.headers["x-amz-target"]; // AmazonEC2ContainerRegistry_V20150921.Operation
          const other = lastAws === A ? B : A;
          if (typeof op === "string") {
            lastAws = other;
            ecrRouted.push(`${op.split(".").pop()} ${other.name}`);
          } else ecrRouted.push(`${req.method} ${req.url} ${other.name}`);
          return other;
        },
        { authorization: BASIC },
      );
    });
    afterAll(async () => {
      await alternating?.close();
      await ecrLb?.close();
      timings.push([
        "2b conformance port + ECR scenario through load balancers",
        Math.round(performance.now() - t0),
      ]);
    });
    beforeEach(({ onTestFailed }) => onTestFailed(() => console.error(cluster.report(25))));

    describe("the OCI conformance port, each request to the other node", () => {
      describeConformance(() => alternating.url);
    });

    describe("the ECR scenario with the AWS CLI, settings and pushes on different nodes", () => {
      describeEcrCli(() => ({ url: ecrLb.url, addr: ecrLb.addr, env: awsEnvironment }), ECR_REPO);
    });

    it("both nodes served both suites; the immutable tag was refused by the other node than the one that set it", () => {
      const total = (p: Proxy) => (p.counts.get(A.name) ?? 0) + (p.counts.get(B.name) ?? 0);
      expect(total(alternating)).toBeGreaterThan(100);
      expect(
        Math.abs((alternating.counts.get(A.name) ?? 0) - (alternating.counts.get(B.name) ?? 0)),
      ).toBeLessThanOrEqual(1);
      for (const node of [A, B]) {
        expect(
          ecrRouted.filter((l) => /^[A-Z]\w+ api-/.test(l) && l.endsWith(node.name)).length,
        ).toBeGreaterThan(5);
        expect(
          ecrRouted.filter((l) => l.startsWith("PUT /v2/") && l.endsWith(node.name)).length,
        ).toBeGreaterThan(0);
      }
      const set = ecrRouted.findIndex((l) => l.startsWith("PutImageTagMutability "));
      expect(set, "no PutImageTagMutability went through the balancer").toBeGreaterThanOrEqual(0);
      const setter = ecrRouted[set]!.split(" ")[1];
      const other = setter === A.name ? B.name : A.name;
      const refusedPut = `PUT /v2/${ECR_REPO}/manifests/tag_name`;
      expect(ecrRouted.slice(set).find((l) => l.startsWith(`${refusedPut} `))).toBe(`${refusedPut} ${other}`);
      expect(ecrLb.log).toContain(`${refusedPut} -> ${other} 400`);
    });
  });

  it(
    "3. the AWS CLI on node A sees the scan a worker did of an image pushed through node B",
    timed("3 scan on push, AWS CLI", async () => {
      const put = await aws(
        "ecr",
        "put-registry-scanning-configuration",
        "--scan-type",
        "ENHANCED",
        "--rules",
        '[{"scanFrequency":"SCAN_ON_PUSH","repositoryFilters":[{"filter":"scan/*","filterType":"WILDCARD"}]}]',
      );
      expect(put.code, put.stderr).toBe(0);
      const layout = ociLayout("java-app");
      const digest = manifestDigestOfLayout(layout);
      const push = await skopeoPush(layout, B, "scan/java-app:1");
      expect(push.code, push.stderr).toBe(0);
      pushed.push({ node: () => B, repo: "scan/java-app", tag: "1", digest });

      const end = Date.now() + 120_000;
      let body: Json;
      for (;;) {
        const r = await aws(
          "ecr",
          "describe-image-scan-findings",
          "--repository-name",
          "scan/java-app",
          "--image-id",
          `imageDigest=${digest}`,
        );
        if (r.code === 0) {
          body = r.json();
          if (!["IN_PROGRESS", "PENDING"].includes(body.imageScanStatus.status)) break;
        }
        if (Date.now() > end) throw new Error(`scan not done: ${r.stdout}${r.stderr}`);
        await sleep(500);
      }
      expect(body.imageScanStatus.status, JSON.stringify(body.imageScanStatus)).toBe("COMPLETE");
      const findings: Json[] = body.imageScanFindings?.enhancedFindings ?? [];
      expect(findings.length).toBeGreaterThan(0);
      expect(
        findings.some((f) =>
          (f.packageVulnerabilityDetails?.vulnerablePackages ?? []).some((p: Json) => p.name === "stdlib"),
        ),
        JSON.stringify(findings[0]),
      ).toBe(true);
      // Node B answers the same.
      const images = await awsCli(B.url, await awsEnv(join(work, "b"), AKID, SECRET))(
        "ecr",
        "describe-images",
        "--repository-name",
        "scan/java-app",
      );
      expect(images.code, images.stderr).toBe(0);
      expect(images.json().imageDetails[0]).toMatchObject({
        imageDigest: digest,
        imageScanStatus: { status: "COMPLETE" },
      });
      expect(await scanEvents("scan/java-app", digest)).toHaveLength(1);
    }),
  );

  it(
    "4. kill -9 of a worker mid-scan: the other worker finishes the scan, once",
    timed("4 worker kill -9 mid-scan", async () => {
      const [w1, w2] = cluster.workers as [ClusterNode, ClusterNode];
      // Which worker claims a job is not visible (the jobs table has no holder column), so the
      // test makes it certain: worker 2 is frozen (SIGSTOP) until worker 1 has claimed the job,
      // then worker 1 is killed as soon as the job's row turns `running` (polled every 10 ms; a
      // scan of python-app reads 80 MB of layers from S3 and takes seconds), and worker 2 is
      // thawed. The scan must be unfinished at the kill (checked), and worker 2 takes it over
      // when worker 1's lease (scan.leaseSeconds = 3) runs out.
      const repo = "scan/python-app";
      const layout = ociLayout("python-app");
      const digest = manifestDigestOfLayout(layout);
      w2.freeze();
      let claimedAt = 0;
      try {
        const push = await skopeoPush(layout, A, `${repo}:1`);
        expect(push.code, push.stderr).toBe(0);
        pushed.push({ node: () => A, repo, tag: "1", digest });
        const end = Date.now() + 60_000;
        for (;;) {
          const jobs = await cluster.sql<{ state: string }>("SELECT state FROM jobs WHERE key LIKE $1", [
            `%${digest}`,
          ]);
          if (jobs.some((j) => j.state === "running")) break;
          if (Date.now() > end) throw new Error(`no running scan job: ${JSON.stringify(jobs)}`);
          await sleep(10);
        }
        await w1.kill9();
        claimedAt = Date.now();
        const status = await scanStatus(repo, digest);
        expect(status, "the scan finished before worker 1 was killed: not a mid-scan kill").not.toBe(
          "COMPLETE",
        );
        expect(await scanEvents(repo, digest)).toHaveLength(0);
      } finally {
        w2.thaw();
      }
      const end = Date.now() + 90_000;
      let status: string | undefined;
      while ((status = await scanStatus(repo, digest)) !== "COMPLETE") {
        if (Date.now() > end) throw new Error(`scan not taken over: ${status}`);
        await sleep(200);
      }
      timings.push(["4   takeover after kill -9 (lease 3 s)", Date.now() - claimedAt]);
      expect(await cluster.sql("SELECT * FROM jobs WHERE key LIKE $1", [`%${digest}`])).toEqual([]);
      const events = await scanEvents(repo, digest);
      expect(events, JSON.stringify(events)).toHaveLength(1);
      expect(events[0].detail["scan-status"]).toMatch(/^(COMPLETE|INITIAL_SCAN_COMPLETE)$/);
      await w1.start();
    }),
  );

  it(
    "5. kill -9 of an API node mid-chunk: the upload resumes on the other node; a skopeo push retried through B succeeds",
    timed("5 API node kill -9 mid-upload", async () => {
      const repo = "t5/resumed";
      const chunk1 = randomBytes(6 * MiB);
      const chunk2 = randomBytes(24 * MiB);
      const chunk3 = randomBytes(2 * MiB + 3);
      const post = await http(A, "POST", `/v2/${repo}/blobs/uploads/`);
      expect(post.status, show(post)).toBe(202);
      const p1 = await http(A, "PATCH", pathOf(post.headers.get("location")!), {
        headers: { "content-type": "application/octet-stream", "content-range": `0-${chunk1.length - 1}` },
        body: chunk1,
      });
      expect(p1.status, show(p1)).toBe(202);
      const location = pathOf(p1.headers.get("location")!);

      // A skopeo push through A, in flight when A dies (or done already: its retry through B
      // must succeed either way).
      const layout = ociLayout("node-app");
      const skopeoOnA = skopeoPush(layout, A, "t5/node-app:1");

      // The second chunk: 18 of its 24 MiB sent over a raw socket, then A is killed mid-body.
      const sock = connect(A.port, "127.0.0.1");
      sock.on("error", () => undefined);
      await new Promise<void>((r) => sock.once("connect", () => r()));
      const u = new URL(location, A.url);
      sock.write(
        `PATCH ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${A.addr}\r\nAuthorization: ${BASIC}\r\n` +
          `Content-Type: application/octet-stream\r\nContent-Length: ${chunk2.length}\r\n` +
          `Content-Range: ${chunk1.length}-${chunk1.length + chunk2.length - 1}\r\n\r\n`,
      );
      await new Promise<void>((r) => sock.write(chunk2.subarray(0, 18 * MiB), () => r()));
      await sleep(1500); // parts of the dead append reach S3 (8 MiB each, sent while streaming)
      await A.kill9();
      const killedAt = Date.now();
      sock.destroy();

      const status = await http(B, "GET", location);
      const waited = Date.now() - killedAt;
      timings.push(["5   status on B after A's death (upload lease)", waited]);
      expect(status.status, show(status)).toBe(204);
      expect(status.headers.get("range"), "the dead chunk added nothing").toBe(`0-${chunk1.length - 1}`);

      let loc = pathOf(status.headers.get("location") ?? location);
      let offset = chunk1.length;
      for (const c of [chunk2, chunk3]) {
        const r = await http(B, "PATCH", loc, {
          headers: {
            "content-type": "application/octet-stream",
            "content-range": `${offset}-${offset + c.length - 1}`,
          },
          body: c,
        });
        expect(r.status, show(r)).toBe(202);
        offset += c.length;
        loc = pathOf(r.headers.get("location")!);
      }
      const all = Buffer.concat([chunk1, chunk2, chunk3]);
      const digest = sha256Digest(all);
      const done = new URL(loc, "http://x");
      done.searchParams.set("digest", digest);
      const put = await http(B, "PUT", done.pathname + done.search);
      expect(put.status, show(put)).toBe(201);
      const get = await http(B, "GET", `/v2/${repo}/blobs/${digest}`);
      expect(get.status).toBe(200);
      expect(get.body.length).toBe(all.length);
      expect(sha256Digest(get.body)).toBe(digest);
      const config = randomConfig([all]);
      expect((await pushBlob(B, repo, config)).status).toBe(201);
      const manifest = manifestOf(config, [all]);
      const m = await http(B, "PUT", `/v2/${repo}/manifests/1`, {
        headers: { "content-type": OCI_MANIFEST },
        body: manifest,
      });
      expect(m.status, show(m)).toBe(201);
      hashedBlobs.add(digest);
      pushed.push({ node: () => B, repo, tag: "1", digest: sha256Digest(manifest) });

      const first = await skopeoOnA;
      const retry = await skopeoPush(layout, B, "t5/node-app:1");
      expect(retry.code, `retry through B after skopeo through A gave ${first.code}: ${retry.stderr}`).toBe(
        0,
      );
      const expected = manifestDigestOfLayout(layout);
      await verifyTag(B, "t5/node-app", "1", expected);
      pushed.push({ node: () => B, repo: "t5/node-app", tag: "1", digest: expected });

      await A.start();
      await verifyTag(A, "t5/node-app", "1", expected);
    }),
  );

  it(
    "6. GC on one node while pushes go to the other deletes garbage and nothing in use",
    timed("6 GC during pushes", async () => {
      // Grace period 3 s (0.05 min): blobs unused for longer and referenced by no manifest go.
      const GRACE_MIN = "0.05";
      const gc = async () => {
        const r = await cluster.cli(["gc", "--grace-period", GRACE_MIN]);
        expect(r.code, r.stderr).toBe(0);
        return JSON.parse(r.stdout) as { blobsDeleted: number };
      };
      const deleted: string[] = [];
      const kept: string[] = [];
      let gcDeleted = 0;
      for (let round = 0; round < 2; round++) {
        // Garbage: blobs uploaded and referenced by no manifest, older than the grace period.
        const garbage = Array.from({ length: 6 }, () => randomBytes(64 * 1024 + round));
        for (const g of garbage) expect((await pushBlob(B, "t6/garbage", g)).status).toBe(201);
        await sleep(3500);
        // Concurrently: GC (a separate process, as on another host), fresh pushes through B,
        // and pushes through B that reuse half of the garbage as a client does (HEAD: exists,
        // so not uploaded again; re-uploaded when GC got it first), spread over the GC's run.
        const gcRun = gc();
        const fresh = (async () => {
          const out: PushOutcome[] = [];
          for (let i = 0; i < 4; i++) out.push(await pushRandomImage(B, "t6/fresh", `r${round}-${i}`));
          return out;
        })();
        const reuse = garbage.slice(0, 3).map(async (g, i) => {
          await sleep(i * 700);
          const d = sha256Digest(g);
          const head = await http(B, "HEAD", `/v2/t6/garbage/blobs/${d}`);
          if (head.status === 404) expect((await pushBlob(B, "t6/garbage", g)).status).toBe(201);
          else expect(head.status).toBe(200);
          const config = randomConfig([g]);
          expect((await pushBlob(B, "t6/garbage", config)).status).toBe(201);
          const manifest = manifestOf(config, [g]);
          const tag = `reuse-${round}-${i}`;
          const m = await http(B, "PUT", `/v2/t6/garbage/manifests/${tag}`, {
            headers: { "content-type": OCI_MANIFEST },
            body: manifest,
          });
          expect(m.status, `${tag} (HEAD said ${head.status}): ${show(m)}`).toBe(201);
          pushed.push({ node: () => A, repo: "t6/garbage", tag, digest: sha256Digest(manifest) });
          kept.push(d);
        });
        const [report, outcomes] = await Promise.all([gcRun, fresh, ...reuse]);
        gcDeleted += (report as { blobsDeleted: number }).blobsDeleted;
        for (const o of outcomes as PushOutcome[]) {
          expect(o.ok, JSON.stringify(o)).toBe(true);
          pushed.push({ node: () => A, repo: o.repo, tag: o.tag, digest: o.digest });
        }
        deleted.push(...garbage.slice(3).map((g) => sha256Digest(g)));
      }
      // Once more, now that nothing runs: the unused garbage is gone by now for certain.
      await sleep(3500);
      gcDeleted += (await gc()).blobsDeleted;
      expect(gcDeleted).toBeGreaterThanOrEqual(deleted.length);
      for (const d of deleted) {
        const r = await http(A, "GET", `/v2/t6/garbage/blobs/${d}`);
        expect(r.status, `garbage ${d}`).toBe(404);
      }
      for (const d of kept) expect((await http(A, "HEAD", `/v2/t6/garbage/blobs/${d}`)).status).toBe(200);
      // Everything pushed so far, by every test, pulls back whole through A.
      for (const p of pushed) await verifyTag(A, p.repo, p.tag, p.digest);
    }),
  );

  it(
    "7. docker login through a load balancer on node A, docker push through node B, with cross-repository mounts",
    timed("7 docker login A, push B", async () => {
      const dockerDir = join(work, "dockerd");
      const config = join(work, "docker-config");
      await mkdir(config, { recursive: true });
      await writeFile(join(config, "config.json"), "{}\n");
      const started = await run(join(clientsDir, "start-dockerd.sh"), [dockerDir], { timeoutMs: 60_000 });
      const host = /export DOCKER_HOST=(\S+)/.exec(started.stdout)?.[1];
      if (started.code !== 0 || !host)
        throw new Error(`start-dockerd.sh failed: ${started.stdout}${started.stderr}`);
      // The load balancer: during the login everything goes to A; during the pushes the
      // token endpoint is A's and the registry B's, so B must accept the tokens A issued.
      let phase: "login" | "push" = "login";
      const lb = await startProxy((req) => (phase === "login" || req.url!.startsWith("/token") ? A : B));
      const docker = (args: string[], input?: string) =>
        run("docker", args, { env: { DOCKER_HOST: host, DOCKER_CONFIG: config }, timeoutMs: 240_000, input });
      try {
        const login = await docker(["login", "-u", USER, "--password-stdin", lb.addr], PASSWORD);
        expect(login.code, login.stdout + login.stderr).toBe(0);
        expect(lb.counts.get(B.name) ?? 0).toBe(0);
        expect(lb.counts.get(A.name)).toBeGreaterThan(0);
        phase = "push";

        const load = await docker([
          "load",
          "-q",
          "-i",
          join(fixturesDir, "docker-archive", "debian-bookworm-minimal.tar"),
        ]);
        expect(load.code, load.stderr).toBe(0);
        const loaded = /Loaded image: (\S+)/.exec(load.stdout)?.[1];
        expect(loaded, load.stdout).toBeDefined();
        const one = `${lb.addr}/t7/one:1`;
        expect((await docker(["tag", loaded!, one])).code).toBe(0);
        const p1 = await docker(["push", one]);
        expect(p1.code, p1.stdout + p1.stderr + lb.log.slice(-20).join("\n")).toBe(0);
        const digest = /1: digest: (sha256:[0-9a-f]{64})/.exec(p1.stdout)?.[1];
        expect(digest, p1.stdout).toBeDefined();
        const blobWrites = lb.log.filter((l) => /^(POST|PATCH|PUT) \/v2\//.test(l));
        expect(blobWrites.length).toBeGreaterThan(0);
        expect(blobWrites.every((l) => l.includes(`-> ${B.name}`))).toBe(true);
        expect(lb.log.some((l) => l.startsWith("GET /token") && l.endsWith(`${A.name} 200`))).toBe(true);

        const two = `${lb.addr}/t7/two:1`;
        expect((await docker(["tag", loaded!, two])).code).toBe(0);
        const p2 = await docker(["push", two]);
        expect(p2.code, p2.stdout + p2.stderr).toBe(0);
        expect(p2.stdout).toContain(`1: digest: ${digest}`);
        const mounted = p2.stdout.split("\n").filter((l) => /: Mounted from t7\/one$/.test(l.trim()));
        expect(mounted.length, p2.stdout).toBe(1); // the image's one layer
        expect(
          lb.log.some((l) =>
            /^POST \/v2\/t7\/two\/blobs\/uploads\/\?\S*mount=sha256\S* -> api-B 201$/.test(l),
          ),
          lb.log.join("\n"),
        ).toBe(true);

        for (const repo of ["t7/one", "t7/two"]) {
          await verifyTag(A, repo, "1", digest);
          pushed.push({ node: () => A, repo, tag: "1", digest: digest! });
        }
        // A's bearer token is accepted by B directly too; without one B challenges with its realm.
        const tok = await http(A, "GET", "/token?service=drydock&scope=repository:t7/one:pull");
        expect(tok.status, show(tok)).toBe(200);
        const token = (JSON.parse(tok.body.toString()) as { token: string }).token;
        const viaB = await http(B, "GET", "/v2/t7/one/manifests/1", {
          auth: `Bearer ${token}`,
          headers: { accept: ACCEPT },
        });
        expect(viaB.status, show(viaB)).toBe(200);
        expect(sha256Digest(viaB.body)).toBe(digest);
        const anon = await http(B, "GET", "/v2/t7/one/manifests/1", { auth: null });
        expect(anon.status).toBe(401);
      } finally {
        await lb.close();
        await run(join(clientsDir, "stop-dockerd.sh"), [dockerDir, "--wipe"]);
      }
    }),
  );

  /**
   * Pushes small random images in a loop through A and B until stopped; every answer is kept.
   */
  function pushLoop(prefix: string) {
    let stop = false;
    const outcomes: PushOutcome[] = [];
    const done = (async () => {
      for (let i = 0; !stop; i++) {
        const node = i % 2 ? B : A;
        const o = await pushRandomImage(node, `${prefix}/${node.name.toLowerCase()}`, `p${i}`, 64 * 1024);
        outcomes.push(o);
        if (!o.ok) await sleep(200);
      }
    })();
    return {
      outcomes,
      async stop() {
        stop = true;
        await done;
        return outcomes;
      },
    };
  }

  /** During an outage: what the nodes answer to reads and writes (must be 5xx or 429, or right). */
  async function probeDuringOutage(label: string): Promise<string[]> {
    const bad: string[] = [];
    const ref = pushed[0]!;
    for (const node of [A, B]) {
      for (const [method, path] of [
        ["GET", `/v2/${ref.repo}/manifests/${ref.tag}`],
        ["POST", `/v2/${label}/blobs/uploads/`],
        ["GET", "/readyz"],
      ] as const) {
        try {
          const r = await http(node, method, path, { headers: { accept: ACCEPT }, timeoutMs: 45_000 });
          const ok =
            r.status === 429 ||
            r.status >= 500 ||
            (method === "GET" &&
              path.includes("manifests") &&
              r.status === 200 &&
              sha256Digest(r.body) === ref.digest) ||
            (method === "POST" && r.status === 202);
          if (!ok) bad.push(`${method} ${path} on ${node.name}: ${show(r)}`);
          if (r.status >= 500 && path !== "/readyz" && !/^\{/.test(r.body.toString()))
            bad.push(`${method} ${path} on ${node.name}: not a JSON error: ${show(r)}`);
        } catch (e) {
          bad.push(
            `${method} ${path} on ${node.name}: ${(e as Error).message} ${String((e as Error).cause ?? "")}`,
          );
        }
      }
    }
    return bad;
  }

  /**
   * After an outage: waits for every node's /readyz without restarting any; a node that died
   * (it must not) is restarted so that the data checks can go on, and named in the result.
   */
  async function readyAgain(): Promise<string[]> {
    const died: string[] = [];
    for (const n of cluster.nodes) {
      if (!n.running()) {
        died.push(
          `${n.name}: ${n.problems().slice(-1)[0] ?? ""}${n
            .logs()
            .split("\n")
            .filter((l) => !l.startsWith("{") && /Error|throw/.test(l))
            .slice(0, 3)
            .join(" | ")}`,
        );
        await n.start();
      } else await n.waitReady(60_000);
    }
    return died;
  }

  /** `died`: nodes that died (reported on their own), whose refused connections are not counted. */
  async function checkOutcomes(outcomes: PushOutcome[], label: string, died: string[] = []) {
    expect(outcomes.length, label).toBeGreaterThan(0);
    const dead = died.map((d) => `/${d.split(":")[0]!.toLowerCase()}`);
    const unclean = outcomes
      .filter((o) => !(o.failure?.status === "network" && dead.some((d) => o.repo.endsWith(d))))
      .filter(
        (o) =>
          !o.ok &&
          !(o.failure!.status === 429 || (typeof o.failure!.status === "number" && o.failure!.status >= 500)),
      );
    expect(unclean, `${label}: failures that are not 5xx/429`).toEqual([]);
    for (const o of outcomes.filter((x) => x.ok)) {
      await verifyTag(A, o.repo, o.tag, o.digest);
      pushed.push({ node: () => A, repo: o.repo, tag: o.tag, digest: o.digest });
    }
    // A failed push left no tag behind, or a whole one (the manifest committed, the answer lost).
    for (const o of outcomes.filter((x) => !x.ok)) {
      const r = await http(A, "GET", `/v2/${o.repo}/manifests/${o.tag}`, { headers: { accept: ACCEPT } });
      if (r.status === 200) await verifyTag(A, o.repo, o.tag, o.digest);
      else expect([404], `${o.repo}:${o.tag}: ${show(r)}`).toContain(r.status);
    }
  }

  it(
    "8a. PostgreSQL crashes and restarts during pushes: clean failures, nothing half-written, service resumes",
    timed("8a PostgreSQL restart", async () => {
      const loop = pushLoop("t8/pg");
      const layout = ociLayout("python-app");
      const skopeoDuring = skopeoPush(layout, B, "t8/pg-skopeo:1");
      await sleep(1500);
      await cluster.pg.crash();
      const downAt = Date.now();
      await sleep(1000);
      const bad = await probeDuringOutage("t8/pg-probe");
      await sleep(Math.max(0, 3000 - (Date.now() - downAt)));
      await cluster.pg.start();
      const upAt = Date.now();
      const died = await readyAgain();
      timings.push(["8a  all nodes ready after PostgreSQL restart", Date.now() - upAt]);
      expect
        .soft(died, "nodes that died in the PostgreSQL outage (restarted by the test to go on)")
        .toEqual([]);
      await sleep(1000);
      const outcomes = await loop.stop();
      const sk = await skopeoDuring;
      expect.soft(bad, `answers during the outage:\n${bad.join("\n")}`).toEqual([]);
      expect(
        outcomes.some((o) => !o.ok),
        "some push failed while PostgreSQL was down",
      ).toBe(true);
      await checkOutcomes(outcomes, "pushes around the PostgreSQL restart", died);
      if (sk.code === 0) {
        await verifyTag(A, "t8/pg-skopeo", "1", manifestDigestOfLayout(layout));
      }
      // Service resumed by itself: pushes through both nodes, skopeo too.
      for (const node of [A, B]) {
        const o = await pushRandomImage(node, "t8/pg-after", node.name.toLowerCase());
        expect(o.ok, JSON.stringify(o)).toBe(true);
        pushed.push({ node: () => A, repo: o.repo, tag: o.tag, digest: o.digest });
      }
      const again = await skopeoPush(layout, A, "t8/pg-skopeo:2");
      expect(again.code, again.stderr).toBe(0);
      await verifyTag(B, "t8/pg-skopeo", "2", manifestDigestOfLayout(layout));
      // The workers too: a scan queued after the restart completes.
      const mini = ociLayout("debian-bookworm-minimal");
      expect((await skopeoPush(mini, B, "scan/after-pg:1")).code).toBe(0);
      const d = manifestDigestOfLayout(mini);
      const end = Date.now() + 90_000;
      while ((await scanStatus("scan/after-pg", d)) !== "COMPLETE") {
        if (Date.now() > end)
          throw new Error(`scan after the PostgreSQL restart: ${await scanStatus("scan/after-pg", d)}`);
        await sleep(300);
      }
    }),
  );

  it(
    "8b. radosgw stops and restarts during pushes: clean failures, nothing half-written, service resumes",
    timed("8b radosgw restart", async () => {
      for (const n of cluster.nodes) if (!n.running()) await n.start(); // whatever 8a left
      const loop = pushLoop("t8/rgw");
      await sleep(1500);
      await cluster.stopRgw();
      const downAt = Date.now();
      await sleep(1000);
      const bad = await probeDuringOutage("t8/rgw-probe");
      await sleep(Math.max(0, 3000 - (Date.now() - downAt)));
      await cluster.startRgw();
      const upAt = Date.now();
      const died = await readyAgain();
      timings.push(["8b  all nodes ready after radosgw restart", Date.now() - upAt]);
      expect.soft(died, "nodes that died in the radosgw outage (restarted by the test to go on)").toEqual([]);
      await sleep(1000);
      const outcomes = await loop.stop();
      expect.soft(bad, `answers during the outage:\n${bad.join("\n")}`).toEqual([]);
      expect(
        outcomes.some((o) => !o.ok),
        "some push failed while radosgw was down",
      ).toBe(true);
      await checkOutcomes(outcomes, "pushes around the radosgw restart", died);
      for (const node of [A, B]) {
        const o = await pushRandomImage(node, "t8/rgw-after", node.name.toLowerCase());
        expect(o.ok, JSON.stringify(o)).toBe(true);
      }
      const layout = ociLayout("debian-bookworm-minimal-zstd");
      const sk = await skopeoPush(layout, B, "t8/rgw-skopeo:1");
      expect(sk.code, sk.stderr).toBe(0);
      await verifyTag(A, "t8/rgw-skopeo", "1", manifestDigestOfLayout(layout));
      // Nothing pushed by any test was lost to the faults.
      for (const p of pushed) await verifyTag(B, p.repo, p.tag, p.digest);
    }),
  );
});
