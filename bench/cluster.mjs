#!/usr/bin/env node
// Cluster benchmark: Drydock on PostgreSQL + S3 (a real Ceph radosgw) against CNCF Distribution 2.8.2
// on the same radosgw, and against Drydock's embedded default (SQLite + files), in one run.
//
//   npm run bench:cluster     (as root: skopeo with a private blob-info cache, pg-up.sh, ceph-up.sh)
//
// One PostgreSQL 15 and one radosgw (buckets `drydock` and `distribution`) serve the whole run;
// every registry below starts empty (a fresh database and key prefix for Drydock, a fresh
// rootdirectory for Distribution). Sections:
//
// 1. push/pull: skopeo copy of IMAGE (default debian-bookworm-multi: 3 layers, 98 MiB) into and
//    out of one Drydock node (role all, storage.meta.url + storage.blobs.url) and Distribution
//    (s3 driver), each streaming blobs through itself and with redirects to presigned radosgw
//    URLs (Drydock storage.blobs.redirect; Distribution storage.redirect.disable). RUNS rounds
//    (default 2, to stay within about 3 minutes; RUNS=3 for the figures in docs/benchmarks.md);
//    each round runs the four registries in a rotating order, each fresh; skopeo gets an empty
//    blob-info cache as in bench/registry.mjs. Medians, Drydock / Distribution ratios, paired
//    ratios (median of the per-round ratios), CPU seconds of the registry process.
// 2. scans: a burst of BURST (50) distinct images (the Debian base plus one unique tiny layer
//    each, as bench/scan-on-push.mjs does), scan on push (ENHANCED), on a 1 api + 1 worker
//    cluster versus the embedded default (one process, role all, SQLite + files): scans per
//    second (first push -> last scan's completed_at as the server records it) and CPU-seconds
//    per scan (Drydock processes, pushes included; for the cluster also PostgreSQL's and Ceph's).
// 3. ECR read API: a repository of ECR_IMAGES (1,000) images (one real image with findings,
//    FINDINGS_IMAGE (java-app), scanned on push; the rest small manifests sharing two blobs,
//    pushed over the registry API, not scanned); then DescribeImages, ListImages and
//    DescribeImageScanFindings through @aws-sdk/client-ecr in this process (the API is open on
//    loopback: no users, no keys) on the cluster's api node (PostgreSQL) and on the embedded
//    server (SQLite), same deployments as section 2. Median and p90 latency.
// 4. memory: BIG_BLOBS (5) x BIG_MIB (100) MiB of random bytes pushed over the HTTP API
//    (monolithic POST ?digest=, the file streamed as the body) to the cluster's api node: VmRSS
//    sampled every 20 ms and VmHWM (reset through clear_refs, also before each blob) of each node.
//
// Environment: RUNS (2), IMAGE, FINDINGS_IMAGE, BURST (50), ECR_IMAGES (1000), ECR_CALLS (20),
// BIG_BLOBS (5), BIG_MIB (100), SKIP_PUSHPULL=1, SKIP_SCAN=1, SKIP_ECR=1, SKIP_RSS=1,
// SKIP_CLUSTER=1 (sections 2 and 3 on the embedded server only; no PostgreSQL or Ceph when the
// other sections are skipped too), DRYDOCK_ENTRY (default dist/cli/main.js: another build, e.g.
// an older commit), BENCH_WORKDIR (/tmp/drydock-bench-cluster), DRYDOCK_FIXTURES
// (/tmp/drydock-fixtures), DRYDOCK_SHARED (../shared), CPU_PROF_DIR (run the Drydock nodes with
// --cpu-prof into that directory), PROBE=N (after each pull, N sequential GETs of the manifest,
// the config and the largest layer, timed one by one).
// Exits 0 whatever the ratios (a ratio above 1.0 is flagged); 1 only when it cannot run.
import { Buffer } from "node:buffer";
import { execFileSync, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import {
  copyFileSync,
  createReadStream,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { request as httpRequest } from "node:http";
import { cpus, totalmem } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import {
  freePort,
  loadavg,
  log,
  median,
  procCpuSeconds,
  procMemory,
  resetHwm,
  run,
  sharedDir,
  sleep,
  startCeph,
  startPostgres,
  table,
  tinyLayer,
  writeResults,
} from "./common.mjs";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");
// Another build (an older commit compiled elsewhere) can be measured with the same harness.
const cli = resolve(process.env.DRYDOCK_ENTRY ?? join(repoRoot, "dist/cli/main.js"));
const fixtures = resolve(process.env.DRYDOCK_FIXTURES ?? "/tmp/drydock-fixtures");
const work = resolve(process.env.BENCH_WORKDIR ?? "/tmp/drydock-bench-cluster");
const RUNS = Number(process.env.RUNS ?? 2);
const IMAGE = process.env.IMAGE ?? "debian-bookworm-multi";
const BASE_IMAGE = "debian-bookworm-minimal";
const FINDINGS_IMAGE = process.env.FINDINGS_IMAGE ?? "java-app";
const BURST = Number(process.env.BURST ?? 50);
const ECR_IMAGES = Number(process.env.ECR_IMAGES ?? 1000);
const ECR_CALLS = Number(process.env.ECR_CALLS ?? 20);
const BIG_BLOBS = Number(process.env.BIG_BLOBS ?? 5);
const BIG_MIB = Number(process.env.BIG_MIB ?? 100);
const CPU_PROF_DIR = process.env.CPU_PROF_DIR;
const PROBE = Number(process.env.PROBE ?? 0);
const MiB = 1024 * 1024;
const sha = (b) => `sha256:${createHash("sha256").update(b).digest("hex")}`;
const skip = (s) => process.env[`SKIP_${s}`] === "1";

// @aws-sdk v3 warns once that its releases after January 2027 need Node 22: not this benchmark's concern.
const emitWarning = process.emitWarning.bind(process);
process.emitWarning = (w, ...rest) =>
  String(w?.name ?? rest[0]?.type ?? rest[0]).includes("NodeVersionSupportWarning") ||
  String(w).includes("NodeVersionSupportWarning")
    ? undefined
    : emitWarning(w, ...rest);

/** Every process this run started and has not stopped yet (stopped on the way out, by pid). */
const children = new Set();

// ------------------------------------------------------------------------ registries ----

async function waitHttp(url, child, what) {
  for (let i = 0; i < 600; i++) {
    if (child && child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode}`);
    try {
      const r = await fetch(url);
      if (r.status === 200) return;
    } catch {
      /* not up yet */
    }
    await sleep(50);
  }
  throw new Error(`${what}: ${url} did not answer 200`);
}

function spawnLogged(cmd, args, logFile, env = process.env) {
  const child = spawn(cmd, args, { stdio: ["ignore", "ignore", "pipe"], env });
  let tail = "";
  child.stderr.on("data", (c) => {
    tail = (tail + c).slice(-8000);
  });
  child.on("exit", () => writeFileSync(logFile, tail));
  children.add(child);
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await Promise.race([exited, sleep(10_000)]);
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    }
    children.delete(child);
  };
  return { child, pid: child.pid, stop, tail: () => tail };
}

const nodeEnv = () => {
  const env = { ...process.env, NODE_NO_WARNINGS: "1" };
  for (const k of Object.keys(env)) if (k.startsWith("DRYDOCK_")) delete env[k];
  return env;
};

/**
 * `drydock serve` with a config object; resolves when /readyz answers 200 (/healthz for an
 * embedded server without a config, which older builds, without /readyz and --role, also run).
 */
async function startDrydock(name, config, { role = "all", data } = {}) {
  const port = await freePort();
  const addr = `127.0.0.1:${port}`;
  const dir = data ?? join(work, "nodes", name);
  if (!data) rmSync(dir, { recursive: true, force: true }); // a given directory is prepared by the caller
  mkdirSync(dir, { recursive: true });
  const cfgFile = join(work, "nodes", `${name}.json`);
  writeFileSync(cfgFile, JSON.stringify(config, null, 2));
  const plain = role === "all" && Object.keys(config).length === 0;
  const flags = CPU_PROF_DIR
    ? ["--cpu-prof", `--cpu-prof-dir=${CPU_PROF_DIR}`, `--cpu-prof-name=${name}.cpuprofile`]
    : [];
  const p = spawnLogged(
    process.execPath,
    [
      ...flags,
      cli,
      "serve",
      ...(plain ? [] : ["--config", cfgFile, "--role", role]),
      "--data",
      dir,
      "--listen",
      addr,
      "--log-level",
      "warn",
    ],
    join(work, "nodes", `${name}.log`),
    nodeEnv(),
  );
  try {
    await waitHttp(`http://${addr}/${plain ? "healthz" : "readyz"}`, p.child, `drydock ${name}`);
  } catch (e) {
    await p.stop();
    throw new Error(`${e.message}\n${p.tail()}`);
  }
  return { name, addr, pid: p.pid, data: dir, stop: p.stop };
}

/** Distribution 2.8.2 with its s3 driver on radosgw, rootdirectory `root` in bucket `distribution`. */
async function startDistribution(name, s3, root, redirect) {
  const port = await freePort();
  const addr = `127.0.0.1:${port}`;
  const cfgFile = join(work, "nodes", `${name}.yml`);
  mkdirSync(dirname(cfgFile), { recursive: true });
  // 2.8.2 has no forcepathstyle parameter (it came with v3: the binary has no such key): it
  // addresses the bucket path-style whenever regionendpoint is set, which radosgw needs here.
  writeFileSync(
    cfgFile,
    `version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  s3:
    accesskey: ${s3.accessKey}
    secretkey: ${s3.secretKey}
    region: us-east-1
    regionendpoint: ${s3.endpoint}
    bucket: distribution
    rootdirectory: /${root}
    secure: false
    v4auth: true
  redirect:
    disable: ${!redirect}
  delete:
    enabled: true
  cache:
    blobdescriptor: inmemory
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: ${addr}
`,
  );
  // AWS_CA_BUNDLE (set on this machine) makes aws-sdk-go 1.x in 2.8.2 panic at start-up
  // ("LoadCustomCABundleError: ... unsupported transport"); the endpoint is plain http anyway.
  const env = { ...process.env };
  delete env.AWS_CA_BUNDLE;
  const p = spawnLogged("docker-registry", ["serve", cfgFile], join(work, "nodes", `${name}.log`), env);
  try {
    await waitHttp(`http://${addr}/v2/`, p.child, `distribution ${name}`);
  } catch (e) {
    await p.stop();
    throw new Error(`${e.message}\n${p.tail()}`);
  }
  return { name, addr, pid: p.pid, stop: p.stop };
}

// ------------------------------------------------------------------------- cluster ----

let dbCounter = 0;

/** A fresh database on the run's PostgreSQL, migrated with `drydock migrate`; returns its URL. */
async function freshDatabase(pg, cfgFor) {
  const name = `bench_${++dbCounter}`;
  await pg.psql(`CREATE DATABASE ${name}`);
  const url = pg.url.replace(/\/[^/]*$/, `/${name}`);
  const cfgFile = join(work, "nodes", `migrate-${name}.json`);
  mkdirSync(dirname(cfgFile), { recursive: true });
  writeFileSync(cfgFile, JSON.stringify(cfgFor(url)));
  await run(process.execPath, [cli, "migrate", "--config", cfgFile], { env: nodeEnv() });
  return url;
}

const tokenSecret = createHash("sha256").update(`bench ${Date.now()}`).digest("hex");

function clusterConfig(s3, dbUrl, prefix, { redirect = false, vulndb } = {}) {
  return {
    storage: {
      meta: { url: dbUrl },
      blobs: {
        url: `s3://drydock/${prefix}`,
        endpoint: s3.endpoint,
        accessKeyId: s3.accessKey,
        secretAccessKey: s3.secretKey,
        redirect,
      },
    },
    auth: { tokenSecret },
    ...(vulndb ? { vulndb: { path: vulndb } } : {}),
  };
}

// ------------------------------------------------------------------ skopeo push/pull ----

/** A command with an empty containers/image blob-info cache (as the baseline script does). */
function fresh(cmd, args) {
  mkdirSync("/var/lib/containers/cache", { recursive: true });
  return run("unshare", [
    "-m",
    "--",
    "sh",
    "-c",
    'mount -t tmpfs tmpfs /var/lib/containers/cache && exec "$@"',
    "sh",
    cmd,
    ...args,
  ]);
}

async function timed(fn) {
  const t0 = performance.now();
  await fn();
  return (performance.now() - t0) / 1000;
}

async function pushPull(reg, image) {
  const repo = `bench/${image}`;
  const c0 = procCpuSeconds(reg.pid);
  const push = await timed(() =>
    fresh("skopeo", [
      "copy",
      "--quiet",
      "--preserve-digests",
      "--dest-tls-verify=false",
      `oci:${join(fixtures, "oci", image)}:latest`,
      `docker://${reg.addr}/${repo}:latest`,
    ]),
  );
  const pushCpu = procCpuSeconds(reg.pid) - c0;
  const dest = join(work, "pull");
  rmSync(dest, { recursive: true, force: true });
  execFileSync("sync");
  const c1 = procCpuSeconds(reg.pid);
  const pull = await timed(() =>
    fresh("skopeo", [
      "copy",
      "--quiet",
      "--preserve-digests",
      "--src-tls-verify=false",
      `docker://${reg.addr}/${repo}:latest`,
      `oci:${dest}:latest`,
    ]),
  );
  const pullCpu = procCpuSeconds(reg.pid) - c1;
  rmSync(dest, { recursive: true, force: true });
  return { push, pull, pushCpu, pullCpu, ...(PROBE ? { probe: await probe(reg, repo) } : {}) };
}

/**
 * PROBE=N: after the pull, N sequential requests of each kind a pull makes, over one
 * keep-alive connection, timed one by one (ms): the manifest by tag, the config blob, and the
 * largest layer (read whole when streamed; the redirect alone when redirected).
 */
async function probe(reg, repo) {
  const accept =
    "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json";
  const base = `http://${reg.addr}/v2/${repo}`;
  const manifest = await (await fetch(`${base}/manifests/latest`, { headers: { accept } })).json();
  const largest = [...manifest.layers].sort((a, b) => b.size - a.size)[0].digest;
  const once = async (url, headers = {}) => {
    const t0 = performance.now();
    const r = await fetch(url, { headers, redirect: "manual" });
    await r.arrayBuffer();
    if (r.status !== 200 && r.status !== 307) throw new Error(`${url}: ${r.status}`);
    return performance.now() - t0;
  };
  const out = { manifest: [], config: [], layer: [] };
  for (let i = 0; i < PROBE; i++) {
    out.manifest.push(await once(`${base}/manifests/latest`, { accept }));
    out.config.push(await once(`${base}/blobs/${manifest.config.digest}`));
    out.layer.push(await once(`${base}/blobs/${largest}`));
  }
  return out;
}

const VARIANTS = ["distribution-stream", "drydock-stream", "distribution-redirect", "drydock-redirect"];

async function pushPullSection(pg, s3) {
  const per = Object.fromEntries(VARIANTS.map((v) => [v, []]));
  for (let r = 1; r <= RUNS; r++) {
    // Rotate the order so that no variant always runs first (or last) in a round.
    const order = VARIANTS.map((_, i) => VARIANTS[(i + r - 1) % VARIANTS.length]);
    for (const v of order) {
      const redirect = v.endsWith("redirect");
      const prefix = `pp-${r}-${v}`;
      let reg;
      if (v.startsWith("drydock")) {
        const url = await freshDatabase(pg, (u) => clusterConfig(s3, u, prefix));
        reg = await startDrydock(`pp-${r}-${v}`, clusterConfig(s3, url, prefix, { redirect }));
      } else {
        reg = await startDistribution(`pp-${r}-${v}`, s3, prefix, redirect);
      }
      try {
        const t = await pushPull(reg, IMAGE);
        log(
          `round ${r}/${RUNS} ${v}: push ${t.push.toFixed(2)} s, pull ${t.pull.toFixed(2)} s (load ${loadavg()})`,
        );
        per[v].push(t);
      } finally {
        await reg.stop();
      }
    }
  }
  return per;
}

// --------------------------------------------------------------------- scan burst ----

function baseImage() {
  const base = join(fixtures, "oci", BASE_IMAGE);
  const idx = JSON.parse(readFileSync(join(base, "index.json"), "utf8"));
  const blob = (d) => readFileSync(join(base, "blobs", ...d.split(":")));
  const manifestBytes = blob(idx.manifests[0].digest);
  const manifest = JSON.parse(manifestBytes);
  return { dir: base, manifestBytes, manifest, config: JSON.parse(blob(manifest.config.digest)) };
}

async function upload(addr, repo, bytes) {
  const d = sha(bytes);
  const r = await fetch(`http://${addr}/v2/${repo}/blobs/uploads/?digest=${d}`, {
    method: "POST",
    body: bytes,
    headers: { "content-type": "application/octet-stream" },
  });
  if (r.status !== 201) throw new Error(`upload to ${repo}: ${r.status} ${await r.text()}`);
  return d;
}

async function putManifest(addr, repo, ref, bytes, mediaType) {
  const r = await fetch(`http://${addr}/v2/${repo}/manifests/${ref}`, {
    method: "PUT",
    body: bytes,
    headers: { "content-type": mediaType ?? "application/vnd.oci.image.manifest.v1+json" },
  });
  if (r.status !== 201) throw new Error(`manifest ${repo}:${ref}: ${r.status} ${await r.text()}`);
}

async function mount(addr, repo, digest, from) {
  const r = await fetch(`http://${addr}/v2/${repo}/blobs/uploads/?mount=${digest}&from=${from}`, {
    method: "POST",
  });
  if (r.status !== 201) throw new Error(`mount ${digest} into ${repo}: ${r.status}`);
}

/** One image of the burst: the base's layers mounted, one unique layer, its config, the manifest. */
async function pushBurstImage(addr, base, i, salt) {
  const repo = `burst/app-${i}`;
  for (const l of base.manifest.layers) await mount(addr, repo, l.digest, "base");
  const { tar, gz } = tinyLayer(`etc/burst-${i}`, `burst ${i} ${salt}\n`);
  const layerDigest = await upload(addr, repo, gz);
  const config = Buffer.from(
    JSON.stringify({
      ...base.config,
      rootfs: { type: "layers", diff_ids: [...base.config.rootfs.diff_ids, sha(tar)] },
    }),
  );
  const configDigest = await upload(addr, repo, config);
  const manifest = Buffer.from(
    JSON.stringify({
      ...base.manifest,
      config: { ...base.manifest.config, digest: configDigest, size: config.length },
      layers: [
        ...base.manifest.layers,
        { mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: layerDigest, size: gz.length },
      ],
    }),
  );
  await putManifest(addr, repo, "v1", manifest, base.manifest.mediaType);
}

/** Reads image_scans of a deployment, SQLite file or PostgreSQL URL. */
async function scanReader(target) {
  const doneWhere = (like) =>
    `FROM image_scans s JOIN repositories r ON r.id = s.repository_id
     WHERE s.status NOT IN ('IN_PROGRESS','PENDING') AND r.name LIKE '${like}'`;
  if (target.startsWith("postgres")) {
    const { default: pg } = await import("pg");
    const c = new pg.Client({ connectionString: target });
    await c.connect();
    return {
      async done(like) {
        const r = await c.query(
          `SELECT count(*)::int AS n, (count(*) FILTER (WHERE s.status = 'COMPLETE'))::int AS complete,
                  max(s.completed_at)::float8 AS last ${doneWhere(like)}`,
        );
        return r.rows[0];
      },
      close: () => c.end(),
    };
  }
  const { default: Database } = await import("better-sqlite3");
  const db = new Database(target, { readonly: true });
  db.pragma("busy_timeout = 5000");
  return {
    async done(like) {
      return db
        .prepare(
          `SELECT count(*) AS n, coalesce(sum(s.status = 'COMPLETE'), 0) AS complete,
                  max(s.completed_at) AS last ${doneWhere(like)}`,
        )
        .get();
    },
    async close() {
      db.close();
    },
  };
}

async function waitScans(reader, like, n, timeoutMs = 300_000) {
  const t0 = Date.now();
  for (;;) {
    const d = await reader.done(like);
    if (d.n >= n) {
      if (d.complete !== d.n)
        throw new Error(`${d.n - d.complete} of ${d.n} scans of ${like} did not COMPLETE`);
      return d;
    }
    if (Date.now() - t0 > timeoutMs) throw new Error(`only ${d.n} of ${n} scans of ${like} finished`);
    await sleep(100);
  }
}

async function ecrClient(addr) {
  const ecr = await import("@aws-sdk/client-ecr");
  const client = new ecr.ECRClient({
    endpoint: `http://${addr}`,
    region: "us-east-1",
    // The API is open on loopback without users and keys: any signature is accepted.
    credentials: { accessKeyId: "AKIDBENCHBENCHBENCH", secretAccessKey: "bench-secret-not-checked" },
  });
  return { ecr, client, send: (Cmd, input) => client.send(new Cmd(input)) };
}

/** PostgreSQL's processes (the postmaster and its children) and their CPU seconds so far. */
function pgCpu(pgDir) {
  const pm = Number(readFileSync(join(pgDir, "data/postmaster.pid"), "utf8").split("\n")[0]);
  let total = procCpuSeconds(pm);
  for (const p of readdirSync("/proc")) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const f = readFileSync(`/proc/${p}/stat`, "utf8").split(") ")[1].split(" ");
      if (Number(f[1]) === pm) total += procCpuSeconds(Number(p));
    } catch {
      /* gone */
    }
  }
  return total;
}

/**
 * A deployment for sections 2 and 3: the cluster (api + worker on a fresh database and prefix) or
 * the embedded default (one process on a data directory). Returns {api addr, pids, reader, stop}.
 */
async function deploy(kind, pg, s3, vulndbFile) {
  if (kind === "cluster") {
    const prefix = "scan";
    const url = await freshDatabase(pg, (u) => clusterConfig(s3, u, prefix));
    const workerDb = join(work, "vulndb-worker.sqlite");
    copyFileSync(vulndbFile, workerDb);
    const api = await startDrydock("scan-api", clusterConfig(s3, url, prefix), { role: "api" });
    const worker = await startDrydock("scan-worker", clusterConfig(s3, url, prefix, { vulndb: workerDb }), {
      role: "worker",
    });
    return {
      kind,
      addr: api.addr,
      nodes: [api, worker],
      reader: await scanReader(url),
      stop: async () => {
        await api.stop();
        await worker.stop();
      },
    };
  }
  const data = join(work, "nodes", "embedded");
  rmSync(data, { recursive: true, force: true });
  mkdirSync(join(data, "vulndb"), { recursive: true });
  copyFileSync(vulndbFile, join(data, "vulndb", "vulndb.sqlite"));
  const node = await startDrydock("embedded", {}, { role: "all", data });
  return {
    kind,
    addr: node.addr,
    nodes: [node],
    reader: await scanReader(join(data, "meta.db")),
    stop: node.stop,
  };
}

async function scanBurst(dep, pgDir, ceph) {
  const { ecr, send } = await ecrClient(dep.addr);
  await send(ecr.PutRegistryScanningConfigurationCommand, {
    scanType: "ENHANCED",
    rules: [
      {
        scanFrequency: "SCAN_ON_PUSH",
        repositoryFilters: [
          { filter: "base", filterType: "WILDCARD" },
          { filter: "burst/*", filterType: "WILDCARD" },
        ],
      },
    ],
  });
  // The base image first (its layer's inventory is then cached, as in bench/scan-on-push.mjs).
  await fresh("skopeo", [
    "copy",
    "--quiet",
    "--dest-tls-verify=false",
    `oci:${join(fixtures, "oci", BASE_IMAGE)}:latest`,
    `docker://${dep.addr}/base:latest`,
  ]);
  await waitScans(dep.reader, "base", 1);
  const base = baseImage();
  const pids = dep.nodes.map((n) => n.pid);
  const cpu = () => pids.reduce((a, p) => a + procCpuSeconds(p), 0);
  const infraCpu = () =>
    dep.kind === "cluster" ? pgCpu(pgDir) + ceph.pids().reduce((a, p) => a + procCpuSeconds(p), 0) : 0;
  const cpu0 = cpu();
  const perNode0 = dep.nodes.map((n) => procCpuSeconds(n.pid));
  const infra0 = infraCpu();
  const t0 = Date.now();
  const salt = `${t0}`;
  await Promise.all(Array.from({ length: BURST }, (_, i) => pushBurstImage(dep.addr, base, i, salt)));
  const pushedMs = Date.now() - t0;
  const done = await waitScans(dep.reader, "burst/%", BURST);
  const cpuS = cpu() - cpu0;
  const nodeCpuSeconds = Object.fromEntries(
    dep.nodes.map((n, i) => [n.name, procCpuSeconds(n.pid) - perNode0[i]]),
  );
  const infraS = infraCpu() - infra0;
  const seconds = (done.last - t0) / 1000;
  return {
    pushedSeconds: pushedMs / 1000,
    seconds,
    scansPerSecond: BURST / seconds,
    drydockCpuPerScan: cpuS / BURST,
    infraCpuPerScan: infraS / BURST,
    totalCpuPerScan: (cpuS + infraS) / BURST,
    nodeCpuSeconds,
    infraCpuSeconds: infraS,
    load: loadavg(),
  };
}

// ------------------------------------------------------------------------ ECR reads ----

async function fillRepository(addr) {
  const repo = "ecr/many";
  // Images 1..ECR_IMAGES-1: small manifests sharing one config and one layer, distinct by an annotation.
  const { gz } = tinyLayer("etc/shared", "shared\n");
  const layer = await upload(addr, repo, gz);
  const configBytes = Buffer.from(
    JSON.stringify({
      architecture: "amd64",
      os: "linux",
      rootfs: { type: "layers", diff_ids: [] },
      config: {},
    }),
  );
  const config = await upload(addr, repo, configBytes);
  let next = 1;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < ECR_IMAGES) {
        const i = next++;
        const m = Buffer.from(
          JSON.stringify({
            schemaVersion: 2,
            mediaType: "application/vnd.oci.image.manifest.v1+json",
            config: {
              mediaType: "application/vnd.oci.image.config.v1+json",
              digest: config,
              size: configBytes.length,
            },
            layers: [
              { mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: layer, size: gz.length },
            ],
            annotations: { "bench.index": String(i) },
          }),
        );
        await putManifest(addr, repo, `i${i}`, m);
      }
    }),
  );
  return { repo, putSeconds: (performance.now() - t0) / 1000 };
}

async function latency(fn, calls) {
  for (let i = 0; i < 3; i++) await fn(); // warm-up
  const ms = [];
  for (let i = 0; i < calls; i++) {
    const t0 = performance.now();
    await fn();
    ms.push(performance.now() - t0);
  }
  const s = [...ms].sort((a, b) => a - b);
  return { median: median(ms), p90: s[Math.min(s.length - 1, Math.ceil(s.length * 0.9) - 1)], calls };
}

async function ecrSection(dep) {
  const { ecr, send } = await ecrClient(dep.addr);
  const repo = "ecr/many";
  // Image 0 is a real image with findings, scanned on push (ENHANCED: no manual scans); then no
  // rule matches the repository, so that the other images are not scanned.
  const rules = (filters) =>
    filters.length
      ? [
          {
            scanFrequency: "SCAN_ON_PUSH",
            repositoryFilters: filters.map((filter) => ({ filter, filterType: "WILDCARD" })),
          },
        ]
      : [];
  await send(ecr.PutRegistryScanningConfigurationCommand, { scanType: "ENHANCED", rules: rules([repo]) });
  await fresh("skopeo", [
    "copy",
    "--quiet",
    "--dest-tls-verify=false",
    `oci:${join(fixtures, "oci", FINDINGS_IMAGE)}:latest`,
    `docker://${dep.addr}/${repo}:i0`,
  ]);
  await waitScans(dep.reader, repo, 1);
  await send(ecr.PutRegistryScanningConfigurationCommand, {
    scanType: "ENHANCED",
    rules: rules(["burst/*"]),
  });
  const { putSeconds } = await fillRepository(dep.addr);
  const found = await send(ecr.DescribeImageScanFindingsCommand, {
    repositoryName: repo,
    imageId: { imageTag: "i0" },
  });
  const counted = await send(ecr.ListImagesCommand, { repositoryName: repo, maxResults: 1000 });
  if (counted.imageIds.length !== ECR_IMAGES)
    throw new Error(`ListImages gave ${counted.imageIds.length} images`);
  const allPages = async () => {
    let token;
    let n = 0;
    do {
      const r = await send(ecr.DescribeImagesCommand, {
        repositoryName: repo,
        maxResults: 100,
        nextToken: token,
      });
      n += r.imageDetails.length;
      token = r.nextToken;
    } while (token);
    if (n !== ECR_IMAGES) throw new Error(`DescribeImages walked ${n} images`);
  };
  const ops = {
    "DescribeImages, first page (100)": () =>
      send(ecr.DescribeImagesCommand, { repositoryName: repo, maxResults: 100 }),
    [`DescribeImages, all ${ECR_IMAGES} (pages of 100)`]: allPages,
    "DescribeImages, one image by tag": () =>
      send(ecr.DescribeImagesCommand, { repositoryName: repo, imageIds: [{ imageTag: "i500" }] }),
    "ListImages, first page (100)": () =>
      send(ecr.ListImagesCommand, { repositoryName: repo, maxResults: 100 }),
    [`ListImages, all ${ECR_IMAGES} (maxResults 1000)`]: () =>
      send(ecr.ListImagesCommand, { repositoryName: repo, maxResults: 1000 }),
    "DescribeImageScanFindings (first 100)": () =>
      send(ecr.DescribeImageScanFindingsCommand, { repositoryName: repo, imageId: { imageTag: "i0" } }),
  };
  const out = {};
  for (const [name, fn] of Object.entries(ops))
    out[name] = await latency(fn, name.includes("all") ? Math.ceil(ECR_CALLS / 2) : ECR_CALLS);
  return {
    putSeconds,
    findings: (found.imageScanFindings?.findings ?? found.imageScanFindings?.enhancedFindings ?? []).length,
    findingsTotal: Object.values(found.imageScanFindings?.findingSeverityCounts ?? {}).reduce(
      (a, b) => a + b,
      0,
    ),
    ops: out,
  };
}

// ------------------------------------------------------------------------ memory ----

async function bigBlobs() {
  const dir = join(work, "big");
  mkdirSync(dir, { recursive: true });
  const out = [];
  for (let i = 0; i < BIG_BLOBS; i++) {
    const path = join(dir, `blob-${i}-${BIG_MIB}mib.bin`);
    if (!existsSync(path) || statSync(path).size !== BIG_MIB * MiB) {
      const key = (i + 1).toString(16).padStart(32, "0");
      await run("sh", [
        "-c",
        `{ openssl enc -aes-128-ctr -nosalt -K ${key} -iv ${"0".repeat(32)} -in /dev/zero 2>/dev/null || true; } | head -c ${BIG_MIB * MiB} > '${path}.tmp' && mv '${path}.tmp' '${path}'`,
      ]);
    }
    const h = createHash("sha256");
    for await (const c of createReadStream(path, { highWaterMark: 4 * MiB })) h.update(c);
    out.push({ path, digest: `sha256:${h.digest("hex")}` });
  }
  return out;
}

/** A monolithic upload: POST with the file streamed as the body (Content-Length set); the status. */
function postFile(url, path) {
  return new Promise((res, rej) => {
    const req = httpRequest(
      url,
      {
        method: "POST",
        headers: { "content-type": "application/octet-stream", "content-length": statSync(path).size },
      },
      (r) => {
        r.resume();
        r.on("end", () => res(r.statusCode));
      },
    );
    req.on("error", rej);
    createReadStream(path, { highWaterMark: MiB }).on("error", rej).pipe(req);
  });
}

async function memorySection(pg, s3) {
  const blobs = await bigBlobs();
  const prefix = "rss";
  const url = await freshDatabase(pg, (u) => clusterConfig(s3, u, prefix));
  const api = await startDrydock("rss-api", clusterConfig(s3, url, prefix), { role: "api" });
  const worker = await startDrydock("rss-worker", clusterConfig(s3, url, prefix), { role: "worker" });
  const nodes = [api, worker];
  try {
    await fetch(`http://${api.addr}/v2/`);
    await sleep(200);
    const before = Object.fromEntries(nodes.map((n) => [n.name, procMemory(n.pid).rss]));
    for (const n of nodes) resetHwm(n.pid);
    const peak = { ...before };
    const timer = setInterval(() => {
      for (const n of nodes) peak[n.name] = Math.max(peak[n.name], procMemory(n.pid).rss);
    }, 20);
    const cpu0 = procCpuSeconds(api.pid);
    const perBlob = [];
    // Peak of each node during each blob (VmHWM reset before it): flat means it does not grow per blob.
    const perBlobPeak = Object.fromEntries(nodes.map((n) => [n.name, []]));
    const t0 = performance.now();
    try {
      for (const b of blobs) {
        for (const n of nodes) resetHwm(n.pid);
        const t = performance.now();
        const code = await postFile(
          `http://${api.addr}/v2/bench/big/blobs/uploads/?digest=${b.digest}`,
          b.path,
        );
        if (code !== 201) throw new Error(`monolithic upload answered ${code}`);
        perBlob.push((performance.now() - t) / 1000);
        for (const n of nodes) perBlobPeak[n.name].push(procMemory(n.pid).hwm);
      }
    } finally {
      clearInterval(timer);
    }
    const seconds = (performance.now() - t0) / 1000;
    const cpu = procCpuSeconds(api.pid) - cpu0;
    const nodesOut = {};
    for (const n of nodes) {
      const m = procMemory(n.pid);
      nodesOut[n.name] = {
        rssBefore: before[n.name],
        rssPeak: Math.max(peak[n.name], m.rss, ...perBlobPeak[n.name]),
        rssPeakPerBlob: perBlobPeak[n.name],
        rssAfter: m.rss,
      };
    }
    return {
      blobBytes: BIG_MIB * MiB,
      blobs: BIG_BLOBS,
      seconds,
      perBlobSeconds: perBlob,
      apiCpuSeconds: cpu,
      nodes: nodesOut,
    };
  } finally {
    await api.stop();
    await worker.stop();
  }
}

// -------------------------------------------------------------------------- main ----

function preflight() {
  const problems = [];
  if (process.getuid?.() !== 0) problems.push("run as root (skopeo's private cache, pg-up.sh, ceph-up.sh)");
  if (!existsSync(cli)) problems.push(`${cli} missing: npm run build`);
  for (const img of [IMAGE, BASE_IMAGE, FINDINGS_IMAGE])
    if (!existsSync(join(fixtures, "oci", img, "index.json")))
      problems.push(`fixture ${img} missing: run ${sharedDir}/tools/images/build-images.sh ${fixtures}`);
  for (const t of ["skopeo", "docker-registry", "curl", "openssl", "unshare", "aws", "psql", "radosgw"]) {
    try {
      execFileSync("sh", ["-c", `command -v ${t}`], { stdio: "ignore" });
    } catch {
      problems.push(`missing tool: ${t}`);
    }
  }
  if (problems.length) {
    for (const p of problems) process.stderr.write(`bench:cluster cannot run: ${p}\n`);
    process.exit(1);
  }
}

const f2 = (x) => (Number.isFinite(x) ? x.toFixed(2) : "-");
const f3 = (x) => (Number.isFinite(x) ? x.toFixed(3) : "-");
const fMiB = (b) => (Number.isFinite(b) ? `${(b / MiB).toFixed(0)} MiB` : "-");

async function main() {
  preflight();
  rmSync(join(work, "nodes"), { recursive: true, force: true });
  mkdirSync(join(work, "nodes"), { recursive: true });
  const started = Date.now();
  const report = {
    command: "npm run bench:cluster",
    started: new Date(started).toISOString(),
    machine: {
      cores: cpus().length,
      cpu: cpus()[0]?.model,
      memGiB: Math.round(totalmem() / 1024 ** 3),
      node: process.version,
      skopeo: execFileSync("sh", ["-c", "skopeo --version | awk '{print $3}'"], { encoding: "utf8" }).trim(),
      distribution: execFileSync("sh", ["-c", "docker-registry --version | awk '{print $3}'"], {
        encoding: "utf8",
      }).trim(),
      drydockEntry: cli,
      drydockCommit: execFileSync(
        "git",
        ["-C", resolve(dirname(cli), "../.."), "rev-parse", "--short", "HEAD"],
        {
          encoding: "utf8",
        },
      ).trim(),
      loadStart: loadavg(),
    },
    runs: RUNS,
    image: IMAGE,
  };
  log(
    `load average ${report.machine.loadStart}; starting PostgreSQL and Ceph, building the vulnerability database`,
  );
  const pgDir = join(work, "pg");
  const cephDir = join(work, "ceph");
  const vulndbFile = join(work, "vulndb.sqlite");
  const buildVulndb = async () => {
    if (skip("SCAN") && skip("ECR")) return;
    rmSync(vulndbFile, { force: true });
    await run(process.execPath, [
      cli,
      "db",
      "import",
      join(sharedDir, "vulndata/distro/debian"),
      join(sharedDir, "vulndata/osv"),
      "--db",
      vulndbFile,
    ]);
  };
  const infra = !skip("PUSHPULL") || !skip("RSS") || (!skip("CLUSTER") && (!skip("SCAN") || !skip("ECR")));
  const [pgR, cephR, vdbR] = await Promise.allSettled([
    infra ? startPostgres(pgDir) : undefined,
    infra ? startCeph(cephDir, ["drydock", "distribution"]) : undefined,
    buildVulndb(),
  ]);
  const pg = pgR.status === "fulfilled" ? pgR.value : undefined;
  const s3 = cephR.status === "fulfilled" ? cephR.value : undefined;
  try {
    for (const r of [pgR, cephR, vdbR]) if (r.status === "rejected") throw r.reason;
    if (infra) log(`PostgreSQL at ${pg.url}, radosgw at ${s3.endpoint} (load ${loadavg()})`);

    if (!skip("PUSHPULL")) {
      log(`push/pull of ${IMAGE}: ${RUNS} rounds x 4 registries`);
      report.pushPull = await pushPullSection(pg, s3);
    }
    if (!skip("SCAN") || !skip("ECR")) {
      for (const kind of skip("CLUSTER") ? ["embedded"] : ["embedded", "cluster"]) {
        log(`${kind}: starting`);
        const dep = await deploy(kind, pg, s3, vulndbFile);
        try {
          if (!skip("SCAN")) {
            log(`${kind}: burst of ${BURST} images (load ${loadavg()})`);
            (report.scan ??= {})[kind] = await scanBurst(dep, pgDir, s3);
            log(`${kind}: ${JSON.stringify(report.scan[kind])}`);
          }
          if (!skip("ECR")) {
            log(`${kind}: ECR reads on ${ECR_IMAGES} images (load ${loadavg()})`);
            (report.ecr ??= {})[kind] = await ecrSection(dep);
          }
        } finally {
          await dep.reader.close();
          await dep.stop();
        }
      }
    }
    if (!skip("RSS")) {
      log(`memory: ${BIG_BLOBS} x ${BIG_MIB} MiB pushed to the cluster's api node (load ${loadavg()})`);
      report.memory = await memorySection(pg, s3);
    }
  } finally {
    for (const c of children) c.kill("SIGKILL");
    await pg?.stop().catch((e) => log(`pg-down: ${e.message}`));
    await s3?.stop().catch((e) => log(`ceph-down: ${e.message}`));
  }
  report.loadEnd = loadavg();
  report.seconds = Math.round((Date.now() - started) / 1000);

  // ------------------------------------------------------------------------ report ----
  const lines = [];
  const p = (s = "") => lines.push(s);
  const m = report.machine;
  p();
  p(
    `Drydock cluster (PostgreSQL 15 + Ceph radosgw 16) vs CNCF Distribution ${m.distribution} and vs the embedded default`,
  );
  p(
    `machine: ${m.cores} cores ${m.cpu}, ${m.memGiB} GiB; node ${m.node}; skopeo ${m.skopeo}; drydock ${m.drydockCommit}`,
  );
  p(`load average at start ${m.loadStart}, at end ${report.loadEnd}`);
  const above = [];
  if (report.pushPull) {
    const pp = report.pushPull;
    p();
    p(`skopeo push/pull of ${IMAGE} through one node on radosgw, ${RUNS} rounds, medians in seconds`);
    p("ratio = Drydock median / Distribution median; paired = median over rounds of the per-round ratio;");
    p("CPU s = CPU seconds of the registry process during the push or pull (median)");
    const rows = [
      [
        "blobs",
        "measurement",
        "Distribution",
        "Drydock",
        "ratio",
        "paired",
        "Dist CPU s",
        "Drydock CPU s",
        "",
      ],
    ];
    for (const mode of ["stream", "redirect"]) {
      for (const what of ["push", "pull"]) {
        const d = pp[`distribution-${mode}`].map((x) => x[what]);
        const y = pp[`drydock-${mode}`].map((x) => x[what]);
        const ratio = median(y) / median(d);
        const paired = median(y.map((t, i) => t / d[i]));
        const flag = ratio > 1 ? "<-- ABOVE 1.0 (Drydock slower)" : "";
        if (flag) above.push(`${mode} ${what}: ${ratio.toFixed(3)} (paired ${paired.toFixed(3)})`);
        const cpu = (v) => f2(median(pp[`${v}-${mode}`].map((x) => x[`${what}Cpu`])));
        rows.push([
          mode,
          `skopeo ${what}`,
          f3(median(d)),
          f3(median(y)),
          f3(ratio),
          f3(paired),
          cpu("distribution"),
          cpu("drydock"),
          flag,
        ]);
      }
    }
    p(table(rows, 2));
    if (PROBE) {
      p();
      p(`PROBE: ${PROBE} sequential requests of each kind after each pull, median of all rounds, ms`);
      const probeRows = [["blobs", "request", "Distribution", "Drydock", "ratio"]];
      for (const mode of ["stream", "redirect"])
        for (const what of ["manifest", "config", "layer"]) {
          const d = median(pp[`distribution-${mode}`].flatMap((x) => x.probe[what]));
          const y = median(pp[`drydock-${mode}`].flatMap((x) => x.probe[what]));
          probeRows.push([mode, what, f2(d), f2(y), f3(y / d)]);
        }
      p(table(probeRows, 2));
    }
  }
  if (report.scan) {
    p();
    p(`scan on push (ENHANCED), burst of ${BURST} distinct images; first push -> last scan completed`);
    const rows = [
      [
        "deployment",
        "pushed in s",
        "all scanned s",
        "scans/s",
        "Drydock CPU-s/scan",
        "+ PG + Ceph CPU-s/scan",
        "load",
      ],
    ];
    for (const [k, label] of [
      ["embedded", "embedded (SQLite + files, role all)"],
      ["cluster", "cluster (1 api + 1 worker, PostgreSQL + radosgw)"],
    ]) {
      const s = report.scan[k];
      if (s)
        rows.push([
          label,
          f2(s.pushedSeconds),
          f2(s.seconds),
          f2(s.scansPerSecond),
          f3(s.drydockCpuPerScan),
          f3(s.totalCpuPerScan),
          s.load,
        ]);
    }
    p(table(rows));
    if (report.scan.embedded && report.scan.cluster)
      p(
        `cluster / embedded: time ${f2(report.scan.cluster.seconds / report.scan.embedded.seconds)}x, Drydock CPU per scan ${f2(report.scan.cluster.drydockCpuPerScan / report.scan.embedded.drydockCpuPerScan)}x, with PostgreSQL and Ceph ${f2(report.scan.cluster.totalCpuPerScan / report.scan.embedded.totalCpuPerScan)}x`,
      );
  }
  if (report.ecr) {
    p();
    p(
      `ECR read API on a repository of ${ECR_IMAGES} images, in-process @aws-sdk/client-ecr; ms (median / p90)`,
    );
    const e = report.ecr.embedded;
    const c = report.ecr.cluster;
    const rows = [["operation", "SQLite", "PostgreSQL", "PG / SQLite"]];
    for (const op of Object.keys((e ?? c).ops)) {
      const a = e?.ops[op];
      const b = c?.ops[op];
      rows.push([
        op,
        a ? `${a.median.toFixed(1)} / ${a.p90.toFixed(1)}` : "-",
        b ? `${b.median.toFixed(1)} / ${b.p90.toFixed(1)}` : "-",
        a && b ? f2(b.median / a.median) : "-",
      ]);
    }
    p(table(rows));
    p(
      `inserting ${ECR_IMAGES - 1} small manifests (8 concurrent PUTs): SQLite ${f2(e?.putSeconds)} s, PostgreSQL ${f2(c?.putSeconds)} s; ` +
        `findings of the scanned image: ${e?.findingsTotal ?? c?.findingsTotal} (first page ${e?.findings ?? c?.findings})`,
    );
  }
  if (report.memory) {
    const mm = report.memory;
    p();
    p(
      `memory: ${mm.blobs} x ${fMiB(mm.blobBytes)} random blobs, monolithic POST ?digest= (streamed body) to the cluster's api node, ` +
        `${f2(mm.seconds)} s (${((mm.blobs * mm.blobBytes) / MiB / mm.seconds).toFixed(0)} MiB/s), api CPU ${f2(mm.apiCpuSeconds)} s`,
    );
    const rows = [["node", "RSS before", "peak (VmHWM, 20 ms samples)", "peak during blob 1..n", "after"]];
    for (const [n, v] of Object.entries(mm.nodes))
      rows.push([
        n,
        fMiB(v.rssBefore),
        fMiB(v.rssPeak),
        v.rssPeakPerBlob.map((x) => (x / MiB).toFixed(0)).join(", "),
        fMiB(v.rssAfter),
      ]);

    p(table(rows));
  }
  p();
  if (above.length) {
    p(`RATIO ABOVE 1.0 (Drydock slower than Distribution) on ${above.length} measurement(s):`);
    for (const a of above) p(`  ${a}`);
  } else if (report.pushPull) p("push/pull: every ratio at or below 1.0");
  p(`(${report.seconds} s)`);
  process.stdout.write(lines.join("\n") + "\n");
  log(`wrote ${writeResults("cluster", report)}`);
}

main().then(
  () => process.exit(0),
  (e) => {
    for (const c of children) c.kill("SIGKILL");
    process.stderr.write(`bench:cluster failed: ${e.stack ?? e}\n`);
    process.exit(1);
  },
);
