#!/usr/bin/env node
// Registry benchmark: Drydock versus CNCF Distribution 2.8.2 (Debian's docker-registry), same run.
//
//   npm run bench:registry            (needs root, skopeo, docker-registry, the built fixtures)
//
// Environment: RUNS (default 7), BENCH_WORKDIR (default /tmp/drydock-bench), DRYDOCK_FIXTURES
// (default /tmp/drydock-fixtures), DRYDOCK_SHARED (default ../shared), SKIP_RSS=1, SKIP_SPEED=1,
// IDLE_SECONDS (default 20; 0 skips the after-idle GETs), DRYDOCK_ENTRY (default dist/cli/main.js:
// another build of Drydock, e.g. an older commit, for before/after figures).
//
// How it is fair (see docs/benchmarks.md):
// - Speed: ../shared/tools/bench/registry-baseline.sh is run once per run and per registry with
//   RUNS=1, alternating which registry goes first. Distribution is run by the script itself (it
//   wipes its storage before the run); Drydock is started here on a fresh, empty data directory
//   before each run and stopped after it (EXTERNAL=1). So both registries start every run empty
//   and every push uploads every byte (the script also gives skopeo an empty blob-info cache).
//   Medians are taken here over the runs.
// - Memory: each registry is started fresh and sampled (/proc/PID/status VmRSS every 20 ms, and
//   VmHWM after resetting it through /proc/PID/clear_refs) while skopeo pushes the 5 x 100 MiB
//   synthetic image, while curl uploads one 500 MiB blob in a single streamed PATCH
//   (POST, PATCH with Transfer-Encoding: chunked, PUT ?digest=), while curl GETs it back, and
//   while curl GETs the 5 layers of the synthetic image 5 times after the registry sat idle for
//   IDLE_SECONDS (a Node.js server that allocates a buffer per chunk degrades after idling:
//   docs/benchmarks.md).
//
// Exits 0 whatever the ratios (a benchmark reports, it does not fail); a ratio above 1.0
// (Drydock slower) is flagged in the output. Exits 1 only when it cannot run at all.
import { execFileSync, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import {
  createReadStream,
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:net";
import os, { cpus, totalmem } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { log, median, writeResults } from "./common.mjs";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const shared = resolve(process.env.DRYDOCK_SHARED ?? join(repoRoot, "../shared"));
const fixtures = resolve(process.env.DRYDOCK_FIXTURES ?? "/tmp/drydock-fixtures");
const work = resolve(process.env.BENCH_WORKDIR ?? "/tmp/drydock-bench");
const RUNS = Number(process.env.RUNS ?? 7);
const baseline = join(shared, "tools/bench/registry-baseline.sh");
const clients = join(shared, "tools/clients");
const REF_ADDR = "127.0.0.1:5000";
const drydockEntry = resolve(process.env.DRYDOCK_ENTRY ?? join(repoRoot, "dist/cli/main.js"));
const IDLE_SECONDS = Number(process.env.IDLE_SECONDS ?? 20);
const MiB = 1024 * 1024;
const BIG_BYTES = 500 * MiB;
const clockTicks = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function preflight() {
  const problems = [];
  if (process.getuid?.() !== 0) problems.push("run as root (the baseline script needs unshare -m and mount)");
  if (!existsSync(baseline)) problems.push(`${baseline} not found (set DRYDOCK_SHARED)`);
  if (!existsSync(join(fixtures, "oci/debian-bookworm-multi/index.json")))
    problems.push(`fixtures missing: run ${shared}/tools/images/build-images.sh ${fixtures}`);
  if (!existsSync(drydockEntry)) problems.push(`${drydockEntry} missing: npm run build`);
  for (const t of ["skopeo", "docker-registry", "curl", "openssl", "unshare"]) {
    try {
      execFileSync("sh", ["-c", `command -v ${t}`], { stdio: "ignore" });
    } catch {
      problems.push(`missing tool: ${t}`);
    }
  }
  if (!Number.isInteger(RUNS) || RUNS < 1) problems.push("RUNS must be a positive integer");
  if (problems.length) {
    for (const p of problems) process.stderr.write(`bench:registry cannot run: ${p}\n`);
    process.exit(1);
  }
}

function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once("error", rej);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

async function waitUp(addr, child) {
  for (let i = 0; i < 200; i++) {
    if (child && child.exitCode !== null) throw new Error(`registry exited with ${child.exitCode}`);
    try {
      const r = await fetch(`http://${addr}/v2/`);
      if (r.status === 200) return;
    } catch {
      /* not up yet */
    }
    await sleep(50);
  }
  throw new Error(`registry at ${addr} did not come up`);
}

// ------------------------------------------------------------------ registries ----

/** Starts Drydock on a fresh data directory; returns {addr, pid, stop()}. */
async function startDrydock(dataDir) {
  rmSync(dataDir, { recursive: true, force: true });
  const port = await freePort();
  const addr = `127.0.0.1:${port}`;
  const logs = [];
  const child = spawn(
    process.execPath,
    [drydockEntry, "serve", "--listen", addr, "--data", dataDir, "--log-level", "warn"],
    { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, NODE_NO_WARNINGS: "1" } },
  );
  child.stderr.on("data", (c) => logs.push(String(c)));
  await waitUp(addr, child);
  return {
    name: "drydock",
    addr,
    pid: child.pid,
    logs: () => logs.join(""),
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once("exit", r));
        child.kill("SIGTERM");
        await Promise.race([exited, sleep(10_000)]);
        if (child.exitCode === null) child.kill("SIGKILL");
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Starts the reference registry (Distribution) with start-registry.sh on a wiped directory. */
async function startDistribution(dataDir) {
  execFileSync(join(clients, "stop-registry.sh"), [dataDir, "--wipe"], { stdio: "ignore" });
  const pid = Number(
    execFileSync(join(clients, "start-registry.sh"), [dataDir, REF_ADDR], { encoding: "utf8" }).trim(),
  );
  await waitUp(REF_ADDR);
  return {
    name: "distribution",
    addr: REF_ADDR,
    pid,
    logs: () =>
      existsSync(join(dataDir, "registry.log")) ? readFileSync(join(dataDir, "registry.log"), "utf8") : "",
    async stop() {
      execFileSync(join(clients, "stop-registry.sh"), [dataDir, "--wipe"], { stdio: "ignore" });
    },
  };
}

// ------------------------------------------------------------------- processes ----

/** Runs a command, streaming its stderr to ours with a prefix; resolves with stdout. */
function runCmd(cmd, args, { env = {}, quiet = false } = {}) {
  return new Promise((res, rej) => {
    const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (c) => (out += c));
    child.stderr.on("data", (c) => {
      err += c;
      if (!quiet) process.stderr.write(String(c).replace(/^(?=.)/gm, "    "));
    });
    child.once("error", rej);
    child.once("exit", (code) =>
      code === 0 ? res(out) : rej(new Error(`${cmd} ${args.join(" ")} exited ${code}\n${err.slice(-2000)}`)),
    );
  });
}

/** User + system CPU seconds used so far by pid (from /proc/PID/stat). */
function cpuSeconds(pid) {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    return (Number(f[11]) + Number(f[12])) / clockTicks;
  } catch {
    return NaN;
  }
}

function procStatus(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (k) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, "m").exec(s)?.[1] ?? NaN);
    return { rss: kb("VmRSS") * 1024, hwm: kb("VmHWM") * 1024 };
  } catch {
    return { rss: NaN, hwm: NaN };
  }
}

/** Resets VmHWM to the current RSS (Linux >= 4.0); false when not possible. */
function resetHwm(pid) {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, "5");
    return true;
  } catch {
    return false;
  }
}

/** Runs fn while sampling the RSS of pid every 20 ms; returns fn's result and the memory figures. */
async function withRss(pid, fn) {
  const hwmReset = resetHwm(pid);
  const before = procStatus(pid).rss;
  let peak = before;
  const cpu0 = cpuSeconds(pid);
  const timer = setInterval(() => {
    const { rss } = procStatus(pid);
    if (rss > peak) peak = rss;
  }, 20);
  const t0 = performance.now();
  try {
    const result = await fn();
    const seconds = (performance.now() - t0) / 1000;
    const end = procStatus(pid);
    return {
      result,
      seconds,
      cpuSeconds: cpuSeconds(pid) - cpu0,
      rssBefore: before,
      rssPeakSampled: Math.max(peak, end.rss),
      rssAfter: end.rss,
      hwm: hwmReset ? end.hwm : null,
    };
  } finally {
    clearInterval(timer);
  }
}

// ------------------------------------------------------------------------ speed ----

function parseTsv(path) {
  const lines = readFileSync(path, "utf8").trim().split("\n");
  const header = lines.shift().split("\t");
  return lines.map((l) => Object.fromEntries(l.split("\t").map((v, i) => [header[i], v])));
}

async function baselineRun(which, i) {
  const dir = join(work, "runs");
  mkdirSync(dir, { recursive: true });
  let reg = null;
  const env = {};
  if (which === "drydock") {
    reg = await startDrydock(join(work, "drydock-data"));
    Object.assign(env, { EXTERNAL: "1", REGISTRY_ADDR: reg.addr });
  }
  log(`run ${i}/${RUNS}: ${which}${reg ? ` at ${reg.addr} (fresh data dir)` : " (script starts it, wiped)"}`);
  let hwm = null;
  try {
    await runCmd(baseline, [fixtures, work, "1"], { env, quiet: true });
    if (reg) hwm = procStatus(reg.pid).hwm;
  } catch (e) {
    if (reg) process.stderr.write(reg.logs().slice(-4000));
    throw e;
  } finally {
    await reg?.stop();
  }
  const out = join(dir, `${which}-${i}.tsv`);
  writeFileSync(out, readFileSync(join(work, "results.tsv")));
  return { rows: parseTsv(out), hwm };
}

async function speed() {
  const per = { distribution: [], drydock: [] };
  const hwms = [];
  for (let i = 1; i <= RUNS; i++) {
    // Alternate who goes first so that neither always runs on a warmer (or more tired) machine.
    const order = i % 2 ? ["distribution", "drydock"] : ["drydock", "distribution"];
    for (const which of order) {
      const { rows, hwm } = await baselineRun(which, i);
      per[which].push(rows);
      if (hwm !== null) hwms.push(hwm);
    }
  }
  const key = (r) => `${r.image}\t${r.measurement}`;
  const keys = [...new Set(per.distribution.flat().map(key))];
  const values = (which, k) => per[which].map((rows) => Number(rows.find((r) => key(r) === k)?.median_s));
  const registryRows = [];
  const floorRows = [];
  for (const k of keys) {
    const [image, measurement] = k.split("\t");
    const bytes = Number(per.distribution[0].find((r) => key(r) === k).bytes);
    const dist = values("distribution", k);
    const dry = values("drydock", k);
    if (/^(skopeo|curl)/.test(measurement)) {
      const d = median(dist);
      const y = median(dry);
      registryRows.push({
        image,
        measurement,
        bytes,
        distribution_s: d,
        drydock_s: y,
        ratio: y / d,
        // Run i of each registry ran back to back: the median of per-run ratios cancels slow drifts.
        paired_ratio: median(dry.map((t, i) => t / dist[i])),
        distribution_runs_s: dist,
        drydock_runs_s: dry,
      });
    } else {
      // Floors do not involve a registry: median over every invocation of the script.
      const all = [...dist, ...dry];
      floorRows.push({ image, measurement, bytes, median_s: median(all), runs_s: all });
    }
  }
  return { registryRows, floorRows, drydockPeakRssWholeRun: hwms.length ? Math.max(...hwms) : null };
}

// ----------------------------------------------------------------------- memory ----

function fresh(cmd, args) {
  // Same as the baseline script: an empty containers/image blob-info cache, so every byte is sent.
  mkdirSync("/var/lib/containers/cache", { recursive: true });
  return runCmd(
    "unshare",
    [
      "-m",
      "--",
      "sh",
      "-c",
      'mount -t tmpfs tmpfs /var/lib/containers/cache && exec "$@"',
      "sh",
      cmd,
      ...args,
    ],
    { quiet: true },
  );
}

async function bigBlob() {
  const path = join(work, "big-500mib.bin");
  if (!existsSync(path) || statSync(path).size !== BIG_BYTES) {
    log("building a 500 MiB pseudo-random blob (AES-CTR keystream)");
    await runCmd("sh", [
      "-c",
      `{ openssl enc -aes-128-ctr -nosalt -K ${"0".repeat(31)}9 -iv ${"0".repeat(32)} -in /dev/zero 2>/dev/null || true; } | head -c ${BIG_BYTES} > '${path}.tmp' && mv '${path}.tmp' '${path}'`,
    ]);
  }
  const h = createHash("sha256");
  for await (const c of createReadStream(path, { highWaterMark: 4 * MiB })) h.update(c);
  return { path, digest: `sha256:${h.digest("hex")}` };
}

async function curlBigPush(addr, big, repo) {
  // POST -> Location; one streamed PATCH (chunked transfer encoding, no Content-Length); PUT ?digest=.
  const base = `http://${addr}`;
  const post = await fetch(`${base}/v2/${repo}/blobs/uploads/`, { method: "POST" });
  if (post.status !== 202) throw new Error(`POST upload: ${post.status}`);
  const loc = new URL(post.headers.get("location"), base);
  const headers = await runCmd("curl", [
    "-fsS",
    "-X",
    "PATCH",
    "-T",
    big.path,
    "-H",
    "Transfer-Encoding: chunked",
    "-H",
    "Content-Type: application/octet-stream",
    "-D",
    "-",
    "-o",
    "/dev/null",
    loc.href,
  ]);
  const next = /^location:\s*(\S+)/im.exec(headers)?.[1];
  if (!next) throw new Error(`PATCH gave no Location:\n${headers}`);
  const put = new URL(next, base);
  put.searchParams.set("digest", big.digest);
  const r = await fetch(put, { method: "PUT" });
  if (r.status !== 201) throw new Error(`PUT upload: ${r.status} ${await r.text()}`);
}

async function memory(big) {
  const syn = join(work, "synthetic");
  const synIndex = JSON.parse(readFileSync(join(syn, "index.json"), "utf8"));
  const synManifest = JSON.parse(
    readFileSync(join(syn, "blobs/sha256", synIndex.manifests[0].digest.slice("sha256:".length)), "utf8"),
  );
  const synLayers = synManifest.layers.map((l) => l.digest);
  const results = {};
  for (const which of ["distribution", "drydock"]) {
    log(`memory: ${which}`);
    const reg =
      which === "drydock"
        ? await startDrydock(join(work, "drydock-data"))
        : await startDistribution(join(work, "ref-mem"));
    try {
      await fetch(`http://${reg.addr}/v2/`); // one request, so the idle figure includes a warm server
      await sleep(200);
      const idle = procStatus(reg.pid).rss;
      const synPush = await withRss(reg.pid, () =>
        fresh("skopeo", [
          "copy",
          "--quiet",
          "--preserve-digests",
          "--dest-tls-verify=false",
          `oci:${syn}:latest`,
          `docker://${reg.addr}/bench/mem-synthetic:latest`,
        ]),
      );
      const bigPush = await withRss(reg.pid, () => curlBigPush(reg.addr, big, "bench/mem-big"));
      const bigGet = await withRss(reg.pid, () =>
        runCmd("curl", [
          "-fsS",
          "-o",
          "/dev/null",
          `http://${reg.addr}/v2/bench/mem-big/blobs/${big.digest}`,
        ]),
      );
      let afterIdle = null;
      if (IDLE_SECONDS > 0) {
        log(`memory: ${which} idle for ${IDLE_SECONDS} s, then 5 rounds of GETs of the 5 x 100 MiB layers`);
        await sleep(IDLE_SECONDS * 1000);
        afterIdle = await withRss(reg.pid, async () => {
          for (let i = 0; i < 5; i++)
            for (const layer of synLayers)
              await runCmd("curl", [
                "-fsS",
                "-o",
                "/dev/null",
                `http://${reg.addr}/v2/bench/mem-synthetic/blobs/${layer}`,
              ]);
        });
      }
      const strip = (x) => {
        if (!x) return x;
        const { result: _r, ...rest } = x;
        return rest;
      };
      results[which] = {
        rssIdle: idle,
        synthetic5x100Push: strip(synPush),
        blob500Push: strip(bigPush),
        blob500Get: strip(bigGet),
        layersGetX5AfterIdle: strip(afterIdle),
        peakRssProcessLifetime: procStatus(reg.pid).hwm,
      };
    } catch (e) {
      process.stderr.write(reg.logs().slice(-4000));
      throw e;
    } finally {
      await reg.stop();
    }
  }
  return results;
}

// ----------------------------------------------------------------------- report ----

const fmtS = (s) => (Number.isFinite(s) ? s.toFixed(3) : "-");
const fmtMiB = (b) => (b === null || !Number.isFinite(b) ? "-" : `${(b / MiB).toFixed(0)} MiB`);
const mibps = (bytes, s) => (Number.isFinite(s) && s > 0 ? (bytes / MiB / s).toFixed(0) : "-");

/** Plain-text table; the first `textColumns` columns are left-aligned, the rest right-aligned. */
function table(rows, textColumns = 1) {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => (i < textColumns ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i])))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

function machine() {
  const sh = (c) => {
    try {
      return execFileSync("sh", ["-c", c], { encoding: "utf8" }).trim();
    } catch {
      return "?";
    }
  };
  return {
    cores: cpus().length,
    cpu: cpus()[0]?.model ?? "?",
    memGiB: Math.round(totalmem() / 1024 ** 3),
    kernel: sh("uname -r"),
    filesystem: sh(`df -T '${work}' | awk 'NR==2 {print $2}'`),
    node: process.version,
    skopeo: sh("skopeo --version | awk '{print $3}'"),
    distribution: sh("docker-registry --version | awk '{print $3}'"),
    loadStart: os
      .loadavg()
      .map((x) => x.toFixed(1))
      .join(" "),
    drydockEntry,
    drydockCommit: sh(`git -C '${repoRoot}' rev-parse --short HEAD`),
    drydockDirty: sh(`git -C '${repoRoot}' status --porcelain -- src | wc -l`) !== "0",
  };
}

async function main() {
  preflight();
  mkdirSync(work, { recursive: true });
  const started = new Date();
  const m = machine();
  log(
    `machine: ${m.cores} cores (${m.cpu}), ${m.memGiB} GiB, ${m.filesystem}, node ${m.node}, skopeo ${m.skopeo}`,
  );
  const report = {
    command: "npm run bench:registry",
    started: started.toISOString(),
    runs: RUNS,
    machine: m,
    method:
      "registry-baseline.sh once per run and registry with RUNS=1, order alternating; Distribution wiped by " +
      "the script, Drydock restarted on an empty data dir before each run; medians over runs. Memory: fresh " +
      "registry, VmRSS sampled every 20 ms and VmHWM reset via clear_refs, during a skopeo push of the " +
      "5 x 100 MiB image, a 500 MiB single streamed PATCH upload and a 500 MiB GET.",
  };

  if (process.env.SKIP_SPEED !== "1") {
    Object.assign(report, await speed());
  }
  if (process.env.SKIP_RSS !== "1") {
    if (!existsSync(join(work, "synthetic/index.json"))) {
      log("synthetic image not built yet: running the baseline script once to build it");
      await runCmd(baseline, [fixtures, work, "1"], { quiet: true });
    }
    report.memory = await memory(await bigBlob());
  }
  report.seconds = Math.round((Date.now() - started.getTime()) / 1000);

  const lines = [];
  const p = (s = "") => lines.push(s);
  p();
  p(`Drydock vs CNCF Distribution ${m.distribution}: ${RUNS} runs each, medians in seconds`);
  p(
    `machine: ${m.cores} cores ${m.cpu}, ${m.memGiB} GiB, ${m.filesystem}, loopback; node ${m.node}; skopeo ${m.skopeo}`,
  );
  p(
    `load average at start ${m.loadStart}, at end ${os
      .loadavg()
      .map((x) => x.toFixed(1))
      .join(" ")}`,
  );
  p(
    process.env.DRYDOCK_ENTRY
      ? `drydock: ${drydockEntry} (DRYDOCK_ENTRY)`
      : `drydock: ${m.drydockCommit}${m.drydockDirty ? " + uncommitted changes in src/" : ""}`,
  );
  p("fairness: every run starts both registries empty (Distribution wiped by the script, Drydock");
  p("restarted on a fresh data dir), skopeo runs with an empty blob-info cache, order alternates.");
  p("ratio = Drydock median / Distribution median; paired = median over runs of the per-run ratio.");
  const above = [];
  if (report.registryRows) {
    p();
    const rows = [
      [
        "image",
        "measurement",
        "Distribution",
        "Drydock",
        "ratio",
        "paired",
        "Dist MiB/s",
        "Drydock MiB/s",
        "",
      ],
    ];
    for (const r of report.registryRows) {
      const flag = r.ratio > 1.0 ? "<-- ABOVE 1.0 (Drydock slower)" : "";
      if (flag)
        above.push(
          `${r.image} ${r.measurement}: ${r.ratio.toFixed(3)} (paired ${r.paired_ratio.toFixed(3)})`,
        );
      rows.push([
        r.image,
        r.measurement,
        fmtS(r.distribution_s),
        fmtS(r.drydock_s),
        r.ratio.toFixed(3),
        r.paired_ratio.toFixed(3),
        mibps(r.bytes, r.distribution_s),
        mibps(r.bytes, r.drydock_s),
        flag,
      ]);
    }
    p(table(rows, 2));
    p();
    p("floors (same bytes, no registry; median over all script invocations):");
    p(
      table(
        [
          ["image", "measurement", "seconds", "MiB/s"],
          ...report.floorRows.map((r) => [
            r.image,
            r.measurement,
            fmtS(r.median_s),
            mibps(r.bytes, r.median_s),
          ]),
        ],
        2,
      ),
    );
    if (report.drydockPeakRssWholeRun !== null)
      p(
        `\nDrydock peak RSS over a whole script run (VmHWM, max over runs): ${fmtMiB(report.drydockPeakRssWholeRun)}`,
      );
  }
  if (report.memory) {
    p();
    p("memory and CPU of the registry process (peak = max of 20 ms VmRSS samples and VmHWM after a reset):");
    const rows = [
      [
        "phase",
        "Dist RSS before",
        "peak",
        "Drydock RSS before",
        "peak",
        "Dist s",
        "Drydock s",
        "Dist CPU s",
        "Drydock CPU s",
      ],
    ];
    const peak = (x) => Math.max(x.rssPeakSampled, x.hwm ?? 0);
    const d = report.memory.distribution;
    const y = report.memory.drydock;
    rows.push([
      "idle (after start + one request)",
      fmtMiB(d.rssIdle),
      "",
      fmtMiB(y.rssIdle),
      "",
      "",
      "",
      "",
      "",
    ]);
    for (const [label, k] of [
      ["skopeo push 5 x 100 MiB", "synthetic5x100Push"],
      ["curl 500 MiB blob, one streamed PATCH", "blob500Push"],
      ["curl GET 500 MiB blob", "blob500Get"],
      [`curl GET 5 x 100 MiB layers x5, after ${IDLE_SECONDS} s idle`, "layersGetX5AfterIdle"],
    ]) {
      if (!d[k] || !y[k]) continue;
      rows.push([
        label,
        fmtMiB(d[k].rssBefore),
        fmtMiB(peak(d[k])),
        fmtMiB(y[k].rssBefore),
        fmtMiB(peak(y[k])),
        fmtS(d[k].seconds),
        fmtS(y[k].seconds),
        fmtS(d[k].cpuSeconds),
        fmtS(y[k].cpuSeconds),
      ]);
    }
    p(table(rows));
  }
  p();
  if (above.length) {
    p(`RATIO ABOVE 1.0 (Drydock slower than Distribution) on ${above.length} measurement(s):`);
    for (const a of above) p(`  ${a}`);
  } else if (report.registryRows) {
    p("all ratios at or below 1.0: Drydock at least as fast as Distribution on every measurement");
  }
  p(`(${report.seconds} s; raw per-run results in ${join(work, "runs")})`);
  process.stdout.write(lines.join("\n") + "\n");

  log(`wrote ${writeResults("registry", report)}`);
}

main().catch((e) => {
  process.stderr.write(`bench:registry failed: ${e.stack ?? e}\n`);
  // A benchmark that could not complete has no figures to report.
  process.exit(1);
});
