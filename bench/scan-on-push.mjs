// Scan on push, measured: for each fixture image, the time from the manifest PUT to a finished
// scan in `drydock serve` (manifests.created_at → image_scans.completed_at, both written by the
// server) against `drydock scan` of the same image in this run (cold caches on both sides);
// then a burst of 50 pushes of distinct images (a unique layer each on a shared base): scans per
// minute, queue depth over time and the server's peak RSS. Usage: npm run bench:scan-on-push
import { Buffer } from "node:buffer";
import { execFileSync, spawn } from "node:child_process";
import { performance } from "node:perf_hooks";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { freePort, tinyLayer } from "./common.mjs";

const root = new URL("..", import.meta.url).pathname;
const cli = join(root, "dist/cli/main.js");
const shared = join(root, "../shared");
const fixtures = process.env.DRYDOCK_FIXTURES ?? "/tmp/drydock-fixtures";
const IMAGES = ["debian-bookworm-minimal", "java-app", "node-app", "python-app"].filter((n) =>
  existsSync(join(fixtures, "oci", n, "index.json")),
);
const SCAN_TYPE = process.env.SCAN_TYPE ?? "ENHANCED";
const sha = (b) => `sha256:${createHash("sha256").update(b).digest("hex")}`;
const sleep = (ms) => new Promise((r) => globalThis.setTimeout(r, ms));

const dbFile = join(mkdtempSync(join(tmpdir(), "dd-bench-db-")), "vulndb.sqlite");
execFileSync(
  process.execPath,
  [cli, "db", "import", join(shared, "vulndata/distro/debian"), join(shared, "vulndata/osv"), "--db", dbFile],
  {
    stdio: "ignore",
  },
);

async function serve(data) {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [cli, "serve", "--data", data, "--listen", `127.0.0.1:${port}`, "--log-level", "warn"],
    {
      env: { ...process.env, DRYDOCK_CONFIG: "" },
      stdio: ["ignore", "ignore", "inherit"],
    },
  );
  for (let i = 0; i < 200; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/healthz`)).ok) break;
    } catch {
      // not listening yet
    }
    await sleep(50);
  }
  return { child, addr: `127.0.0.1:${port}` };
}

function setup(data) {
  execFileSync("mkdir", ["-p", join(data, "vulndb")]);
  execFileSync("cp", [dbFile, join(data, "vulndb", "vulndb.sqlite")]);
}

function configure(data) {
  const db = new Database(join(data, "meta.db"));
  db.pragma("busy_timeout = 5000");
  const cfg = {
    scanType: SCAN_TYPE,
    rules: [{ scanFrequency: "SCAN_ON_PUSH", repositoryFilters: [{ filter: "*", filterType: "WILDCARD" }] }],
  };
  db.prepare("INSERT OR REPLACE INTO scan_settings (key, value, updated_at) VALUES ('registry', ?, ?)").run(
    JSON.stringify(cfg),
    Date.now(),
  );
  db.close();
}

async function waitDone(data, where, n, onTick) {
  const db = new Database(join(data, "meta.db"), { readonly: true });
  try {
    for (;;) {
      const done = db
        .prepare(
          `SELECT count(*) AS n FROM image_scans WHERE status NOT IN ('IN_PROGRESS','PENDING') AND ${where}`,
        )
        .get().n;
      onTick?.(db);
      if (done >= n) return;
      await sleep(20);
    }
  } finally {
    db.close();
  }
}

function rssOf(pid) {
  try {
    return Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))[1]) * 1024;
  } catch {
    return 0;
  }
}

// --- 1. per image: PUT → COMPLETE versus drydock scan --------------------------------------
const rows = [];
for (const name of IMAGES) {
  const data = mkdtempSync(join(tmpdir(), "dd-bench-srv-"));
  setup(data);
  const { child, addr } = await serve(data);
  configure(data);
  execFileSync(
    "skopeo",
    [
      "copy",
      "--dest-tls-verify=false",
      `oci:${join(fixtures, "oci", name)}`,
      `docker://${addr}/bench/${name}:latest`,
    ],
    { stdio: "ignore" },
  );
  await waitDone(data, "1=1", 1);
  const db = new Database(join(data, "meta.db"), { readonly: true });
  const r = db
    .prepare(
      "SELECT s.completed_at - m.created_at AS ms, s.status FROM image_scans s JOIN manifests m ON m.digest = s.digest AND m.repository_id = s.repository_id",
    )
    .get();
  db.close();
  child.kill("SIGTERM");
  const cliData = mkdtempSync(join(tmpdir(), "dd-bench-cli-"));
  const t0 = performance.now();
  try {
    execFileSync(
      process.execPath,
      [
        cli,
        "scan",
        `oci:${join(fixtures, "oci", name)}`,
        "--db",
        dbFile,
        "--data",
        cliData,
        "-f",
        "json",
        "-o",
        "/dev/null",
      ],
      { stdio: "ignore" },
    );
  } catch {
    // exit 1 means findings were reported: the time is what counts here
  }
  const cliMs = performance.now() - t0;
  rows.push({
    image: name,
    status: r.status,
    serverMs: r.ms,
    cliMs: Math.round(cliMs),
    goal: Math.round(cliMs * 1.2 + 100),
    ok: r.ms <= cliMs * 1.2 + 100,
  });
  rmSync(data, { recursive: true, force: true });
  rmSync(cliData, { recursive: true, force: true });
}
console.log(
  `scan type ${SCAN_TYPE}: manifest PUT → scan finished (server) vs drydock scan (CLI), cold caches`,
);
console.table(rows);

// --- 2. burst of 50 distinct images ------------------------------------------------------------
const base = join(fixtures, "oci", "debian-bookworm-minimal");
const data = mkdtempSync(join(tmpdir(), "dd-bench-burst-"));
setup(data);
const { child, addr } = await serve(data);
configure(data);
execFileSync("skopeo", ["copy", "--dest-tls-verify=false", `oci:${base}`, `docker://${addr}/base:latest`], {
  stdio: "ignore",
});
await waitDone(data, "1=1", 1);
const idx = JSON.parse(readFileSync(join(base, "index.json"), "utf8"));
const blob = (d) => readFileSync(join(base, "blobs", ...d.split(":")));
const baseManifest = JSON.parse(blob(idx.manifests[0].digest));
const baseConfig = JSON.parse(blob(baseManifest.config.digest));
const url = `http://${addr}/v2`;
async function upload(repo, bytes) {
  const d = sha(bytes);
  const r = await fetch(`${url}/${repo}/blobs/uploads/?digest=${d}`, {
    method: "POST",
    body: bytes,
    headers: { "content-type": "application/octet-stream" },
  });
  if (r.status !== 201) throw new Error(`upload ${r.status}`);
  return d;
}
const N = 50;
const depth = [];
let peakRss = 0;
const t0 = Date.now();
const pushes = [];
for (let i = 0; i < N; i++) {
  const repo = `burst/app-${i}`;
  pushes.push(
    (async () => {
      for (const l of baseManifest.layers)
        await fetch(`${url}/${repo}/blobs/uploads/?mount=${l.digest}&from=base`, { method: "POST" });
      // A unique layer: a file whose content is the index.
      const { tar, gz } = tinyLayer(`etc/burst-${i}`, `burst ${i} ${t0}\n`);
      const layerDigest = await upload(repo, gz);
      const config = Buffer.from(
        JSON.stringify({
          ...baseConfig,
          rootfs: { type: "layers", diff_ids: [...baseConfig.rootfs.diff_ids, sha(tar)] },
        }),
      );
      const configDigest = await upload(repo, config);
      const manifest = Buffer.from(
        JSON.stringify({
          ...baseManifest,
          config: { ...baseManifest.config, digest: configDigest, size: config.length },
          layers: [
            ...baseManifest.layers,
            {
              mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
              digest: layerDigest,
              size: gz.length,
            },
          ],
        }),
      );
      const r = await fetch(`${url}/${repo}/manifests/v1`, {
        method: "PUT",
        body: manifest,
        headers: { "content-type": baseManifest.mediaType ?? "application/vnd.oci.image.manifest.v1+json" },
      });
      if (r.status !== 201) throw new Error(`manifest ${r.status} ${await r.text()}`);
    })(),
  );
}
await Promise.all(pushes);
const pushedMs = Date.now() - t0;
await waitDone(data, "repository_id IN (SELECT id FROM repositories WHERE name LIKE 'burst/%')", N, (db) => {
  const q = db
    .prepare(
      "SELECT state, count(*) AS n FROM jobs WHERE kind = 'scan' AND state IN ('queued','running') GROUP BY state",
    )
    .all();
  depth.push({
    t: Date.now() - t0,
    queued: q.find((x) => x.state === "queued")?.n ?? 0,
    running: q.find((x) => x.state === "running")?.n ?? 0,
  });
  peakRss = Math.max(peakRss, rssOf(child.pid));
});
const totalMs = Date.now() - t0;
peakRss = Math.max(peakRss, rssOf(child.pid));
child.kill("SIGTERM");
const sampled = depth.filter((_, i) => i % Math.max(1, Math.floor(depth.length / 10)) === 0);
console.log(`burst: ${N} distinct images pushed in ${pushedMs} ms, all scans finished after ${totalMs} ms`);
console.log(
  `throughput: ${((N / totalMs) * 60_000).toFixed(0)} scans/min; server peak RSS ${(peakRss / 2 ** 20).toFixed(0)} MiB`,
);
console.log("queue depth over time (ms since the first push):");
console.table(sampled);
rmSync(data, { recursive: true, force: true });
