// Helpers shared by the benchmarks in this folder.
import { Buffer } from "node:buffer";
import { gzipSync } from "node:zlib";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { execFileSync, spawn } from "node:child_process";
import { readdirSync } from "node:fs";
import { createServer } from "node:net";
import os from "node:os";
import { resolve } from "node:path";

/** The lower median of the finite values (NaN when there are none). */
export const median = (xs) => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  return s.length ? s[Math.floor((s.length - 1) / 2)] : NaN;
};

/** The nearest-rank p-th percentile of the values (NaN when there are none). */
export const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] : NaN;
};

/** A number for a report: grouped thousands, `d` decimals; "-" when not finite. */
export const fmt = (n, d = 0) =>
  Number.isFinite(n)
    ? n.toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d })
    : "-";

/** Bytes in a MiB (the reports say MiB). */
export const MB = 1024 * 1024;

/** A progress line on stderr (stdout carries the results). */
export const log = (msg) =>
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

/**
 * The built fixture images (../shared/tools/images/build-images.sh writes images.tsv) that have an
 * OCI layout, restricted to the comma-separated IMAGES environment variable when it is set.
 */
export function fixtureImageNames(fixtures) {
  const wanted = process.env.IMAGES?.split(",").filter(Boolean);
  return readFileSync(join(fixtures, "images.tsv"), "utf8")
    .trim()
    .split("\n")
    .slice(1)
    .map((l) => l.split("\t")[0])
    .filter((n) => existsSync(join(fixtures, "oci", n, "index.json")) && (!wanted || wanted.includes(n)));
}

/** bench/results (git-ignored), where each benchmark leaves its latest figures. */
export const resultsDir = join(dirname(fileURLToPath(import.meta.url)), "results");

/** Writes bench/results/NAME-latest.json; returns its path. */
export function writeResults(name, report) {
  mkdirSync(resultsDir, { recursive: true });
  const file = join(resultsDir, `${name}-latest.json`);
  writeFileSync(file, JSON.stringify(report, null, 2) + "\n");
  return file;
}

// ---- added for bench/queue.mjs and bench/cluster.mjs --------------------------------------------

/** Resolves after ms milliseconds. */
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The 1, 5 and 15 minute load averages as "a b c". */
export const loadavg = () =>
  os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(" ");

/** A free TCP port on 127.0.0.1 (free when asked; bind it soon). */
export function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once("error", rej);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

/** Plain-text table; the first `textColumns` columns are left-aligned, the rest right-aligned. */
export function table(rows, textColumns = 1) {
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

/** Runs a command; resolves with its stdout, rejects with the end of its stderr. */
export function run(cmd, args, { env = {}, input, quiet = true } = {}) {
  return new Promise((res, rej) => {
    const child = spawn(cmd, args, {
      env: { ...process.env, ...env },
      stdio: [input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (c) => (out += c));
    child.stderr.on("data", (c) => {
      err += c;
      if (!quiet) process.stderr.write(String(c).replace(/^(?=.)/gm, "    "));
    });
    if (input !== undefined) child.stdin.end(input);
    child.once("error", rej);
    child.once("exit", (code) =>
      code === 0 ? res(out) : rej(new Error(`${cmd} ${args.join(" ")} exited ${code}\n${err.slice(-2000)}`)),
    );
  });
}

/** User + system CPU seconds used so far by a process (its threads included), from /proc/PID/stat. */
export function procCpuSeconds(pid) {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    return (Number(f[11]) + Number(f[12])) / clockTicks();
  } catch {
    return NaN;
  }
}

let ticks;
const clockTicks = () =>
  (ticks ??= Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100);

/** VmRSS and VmHWM of a process in bytes (NaN when it is gone). */
export function procMemory(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (k) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, "m").exec(s)?.[1] ?? NaN);
    return { rss: kb("VmRSS") * 1024, hwm: kb("VmHWM") * 1024 };
  } catch {
    return { rss: NaN, hwm: NaN };
  }
}

/** Resets VmHWM to the current RSS (Linux >= 4.0); false when not possible. */
export function resetHwm(pid) {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, "5");
    return true;
  } catch {
    return false;
  }
}

/** ../shared (DRYDOCK_SHARED), where the throwaway PostgreSQL and Ceph scripts live. */
export const sharedDir = resolve(
  process.env.DRYDOCK_SHARED ?? join(dirname(fileURLToPath(import.meta.url)), "../../shared"),
);

/**
 * A throwaway PostgreSQL 15 (../shared/tools/postgres/pg-up.sh) on a free port under `dir`;
 * returns {url, stop()}. stop() deletes `dir`.
 */
export async function startPostgres(dir, database = "drydock") {
  const port = await freePort();
  const env = { D: dir, PGPORT: String(port), PGDATABASE: database };
  const url = (await run(join(sharedDir, "tools/postgres/pg-up.sh"), [], { env })).trim();
  return {
    url,
    port,
    /** psql -c SQL against the database, as the postgres user. */
    psql: (q) => run("psql", ["-X", "-q", "-tA", url, "-c", q]),
    stop: () => run(join(sharedDir, "tools/postgres/pg-down.sh"), [], { env: { D: dir } }),
  };
}

/**
 * A single-node Ceph radosgw (../shared/tools/s3/ceph-up.sh, BlueStore) on free ports under
 * `dir`, with the given buckets created; returns {endpoint, accessKey, secretKey, stop()}.
 */
export async function startCeph(dir, buckets = []) {
  const rgwPort = await freePort();
  const monPort = await freePort();
  const env = { D: dir, RGW_PORT: String(rgwPort), MON_PORT: String(monPort) };
  let lastError;
  // ceph-up.sh fails now and then on a loaded machine (the tests retry too): up to three attempts.
  for (let attempt = 1; attempt <= 3; attempt++) {
    try {
      await run(join(sharedDir, "tools/s3/ceph-up.sh"), [], { env });
      lastError = undefined;
      break;
    } catch (e) {
      lastError = e;
      await run(join(sharedDir, "tools/s3/ceph-down.sh"), [], { env: { D: dir } }).catch(() => undefined);
    }
  }
  if (lastError) throw lastError;
  const endpoint = `http://127.0.0.1:${rgwPort}`;
  const awsEnv = {
    AWS_ACCESS_KEY_ID: "ciaccesskey",
    AWS_SECRET_ACCESS_KEY: "cisecretkey",
    AWS_DEFAULT_REGION: "us-east-1",
  };
  for (const b of buckets)
    await run("aws", ["--endpoint-url", endpoint, "s3api", "create-bucket", "--bucket", b], { env: awsEnv });
  return {
    endpoint,
    accessKey: "ciaccesskey",
    secretKey: "cisecretkey",
    /** PIDs of the mon, osd and rgw daemons. */
    pids: () =>
      readdirSync(join(dir, "run"))
        .filter((f) => f.endsWith(".pid"))
        .map((f) => Number(readFileSync(join(dir, "run", f), "utf8").trim())),
    stop: () => run(join(sharedDir, "tools/s3/ceph-down.sh"), [], { env: { D: dir } }),
  };
}

/** A seeded PRNG (mulberry32): the same rules, events or registry for the same seed. */
export function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A gzip tar with one small file (a unique layer). */
export function tinyLayer(name, content) {
  const body = Buffer.from(content);
  const h = Buffer.alloc(512);
  h.write(name, 0);
  h.write("0000644\0", 100);
  h.write("0000000\0", 108);
  h.write("0000000\0", 116);
  h.write(body.length.toString(8).padStart(11, "0") + "\0", 124);
  h.write("00000000000\0", 136);
  h.write("        ", 148);
  h.write("0", 156);
  h.write("ustar\0" + "00", 257);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, "0") + "\0 ", 148);
  const pad = Buffer.alloc((512 - (body.length % 512)) % 512);
  const tar = Buffer.concat([h, body, pad, Buffer.alloc(1024)]);
  return { tar, gz: gzipSync(tar) };
}
